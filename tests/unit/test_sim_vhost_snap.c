/* Saving and restoring vhost-user devices in the simulator (issue 18
 * item 1, issue 16): vhost-user-blk and -fs on virtio-mmio, the sim
 * guest driver on one side and the fake backend (vhost_fake.h, a real
 * socketpair) playing the backend that serves the rings.
 *
 * A save stops the rings with GET_VRING_BASE and keeps the bases; the
 * restoring side is a fresh device on a fresh backend connection, which
 * is told the loaded features, memory table, ring addresses and bases
 * only when the guest runs (vdev_ops.resume), and the driver's I/O goes
 * on where it was.  A backend that lies or stalls during the save makes
 * the save fail with one line; one that fails after a restore leaves the
 * device DEVICE_NEEDS_RESET.  The loader gets hostile fields. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/bus.h"
#include "core/gm.h"
#include "core/irq.h"
#include "core/log.h"
#include "core/snapshot.h"
#include "core/vhost_user.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/vhost_user_dev.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "vhost_fake.h"

#define MMIO_BASE 0xd0000000ull
#define GSI 5
#define RAM (16u << 20)
#define QS 16u
#define DATA 0x200000ull

struct side {
	struct fake_be be;
	bool be_live;
	struct sim *s;
	struct log *log;
	struct vhud *dev;
	struct virtio_mmio *t;
	struct vdriver d;
	struct vdq q[2];
};

static void side_new(struct side *x, enum vhud_kind kind, enum fake_mode mode)
{
	char err[256];
	int front = -1;
	memset(x, 0, sizeof(*x));
	x->log = log_new_memory(LOG_INFO);
	struct sim_config sc = { .ram_size = RAM, .log = x->log, .ram_shared = true };
	x->s = sim_new(&sc);
	assert_non_null(x->s);
	assert_int_equal(fake_start(&x->be, mode, &front), 0);
	x->be_live = true;
	struct vhu *c = vhu_new_fd(front, "snap", x->log);
	assert_non_null(c);
	vhu_set_timeout(c, 200);
	assert_int_equal(vhu_handshake(c), 0);
	struct vhud_cfg vc = { .kind = kind, .id = "vhu", .queues = 1, .tag = "simfs" };
	x->dev = vhud_new(x->s->m.gm, x->log, c, &vc, err, sizeof(err));
	assert_non_null(x->dev);
	struct vhu_handlers h;
	vhud_handlers(x->dev, &h);
	assert_int_equal(vhu_attach(c, NULL, &h), 0);
	x->t = virtio_mmio_new(x->s->m.gm, x->log, irq_line(x->s->m.irqchip, GSI),
			       vhud_vdev(x->dev));
	assert_non_null(x->t);
	assert_int_equal(bus_register(x->s->m.mmio, MMIO_BASE, 0x200, virtio_mmio_access,
				      x->t, "vhost-user"), 0);
	assert_int_equal(vdriver_mmio_probe(&x->d, x->s, MMIO_BASE, GSI), 0);
}

static void side_free(struct side *x)
{
	if (x->be_live)
		fake_stop(&x->be);
	sim_free(x->s);
	virtio_mmio_free(x->t);
	vhud_free(x->dev);
	log_free(x->log);
}

static struct vdev *vd(struct side *x)
{
	return vhud_vdev(x->dev);
}

/* The driver: features, queue q (blk 0, fs 1 = the request queue), OK. */
static void drive(struct side *x, unsigned q)
{
	assert_int_equal(vdriver_negotiate(&x->d, 1ull << 32), 0);
	assert_int_equal(vdriver_setup_queue(&x->d, q, &x->q[q], QS), 0);
	vdriver_driver_ok(&x->d);
	assert_int_equal(x->be.vring_num[q], QS);
}

/* The driver posts n one-buffer chains on queue q and kicks. */
static void post(struct side *x, unsigned q, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct vdq_buf b = { DATA + 4096u * i, 512, true };
		assert_true(vdq_add(&x->q[q], &b, 1, false) >= 0);
	}
	vdq_publish(&x->q[q]);
	vdriver_kick(&x->d, q, &x->q[q]);
}

/* Play the backend serving queue q: chain `id` used with len, and the
 * used index set to `idx` (virtio 1.2 §2.7.8). */
static void backend_use(struct side *x, unsigned q, uint16_t slot, uint32_t id,
			uint16_t idx)
{
	const struct gm *gm = x->s->m.gm;
	uint64_t used = x->q[q].device;
	assert_int_equal(gm_write_u32le(gm, used + 4 + 8ull * slot, id), 0);
	assert_int_equal(gm_write_u32le(gm, used + 8 + 8ull * slot, 512), 0);
	assert_int_equal(gm_write_u16le(gm, used + 2, idx), 0);
}

static uint8_t *save(struct side *x, size_t *len, int *rc)
{
	struct snap_w *w = snap_w_new();
	const uint8_t *buf;
	*rc = virtio_mmio_save(x->t, w);
	uint8_t *copy = NULL;
	if (*rc == 0) {
		assert_int_equal(snap_w_finish(w, &buf, len), 0);
		copy = malloc(*len);
		memcpy(copy, buf, *len);
	}
	snap_w_free(w);
	return copy;
}

static void copy_ram(struct side *to, struct side *from)
{
	const struct gm_region *a = gm_region_at(from->s->m.gm, 0);
	const struct gm_region *b = gm_region_at(to->s->m.gm, 0);
	assert_int_equal(a->size, b->size);
	memcpy(b->host, a->host, a->size);
}

static int load(struct side *x, const uint8_t *buf, size_t len, char *err, size_t n)
{
	struct snap_r *r;
	assert_int_equal(snap_r_open(&r, buf, len, err, n), 0);
	int rc = virtio_mmio_load(x->t, r);
	if (rc == 0)
		rc = snap_r_done(r);
	snprintf(err, n, "%s", snap_r_error(r));
	snap_r_free(r);
	return rc;
}

static bool kicked(struct side *x, unsigned q)
{
	struct pollfd p = { x->be.kick_fd[q], POLLIN, 0 };
	return x->be.kick_fd[q] >= 0 && poll(&p, 1, 2000) == 1;
}

/* Saved mid-I/O, restored on a new backend: the driver's chains go on. */
static void round_trip(enum vhud_kind kind, unsigned q)
{
	struct side a, b;
	side_new(&a, kind, FAKE_GOOD);
	drive(&a, q);
	post(&a, q, 3);
	/* The backend took two of the three chains and used them. */
	backend_use(&a, q, 0, 0, 1);
	backend_use(&a, q, 1, 1, 2);
	a.be.base[q] = 2;
	size_t len = 0;
	int rc;
	uint8_t *st = save(&a, &len, &rc);
	assert_int_equal(rc, 0);
	assert_true(a.be.get_vring_base >= 1);
	/* The saving side goes on: its rings start again from the base. */
	unsigned sets = a.be.set_vring_base;
	vd(&a)->ops->resume(vd(&a));
	assert_int_equal(a.be.set_vring_base, sets + 1);
	assert_int_equal(a.be.base[q], 2);
	assert_false(a.d.bus->get_status(&a.d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

	side_new(&b, kind, FAKE_GOOD);
	char err[SNAP_ERR_LEN];
	assert_int_equal(load(&b, st, len, err, sizeof(err)), 0);
	assert_int_equal(b.d.bus->get_status(&b.d) & VIRTIO_STATUS_DRIVER_OK,
			 VIRTIO_STATUS_DRIVER_OK);
	/* Nothing reaches the new backend before the guest runs (guest RAM
	 * is loaded after the devices). */
	assert_int_equal(b.be.set_vring_base, 0);
	assert_false(fake_saw(&b.be, VHU_SET_MEM_TABLE));
	copy_ram(&b, &a);
	vd(&b)->ops->resume(vd(&b));
	assert_int_equal(b.be.memtable_fds, 1);
	assert_int_equal(b.be.vring_num[q], QS);
	assert_int_equal(b.be.set_vring_base, 1);
	assert_int_equal(b.be.base[q], 2);
	/* Kicked, so the third chain, posted before the save and never
	 * taken, is seen; the driver is interrupted to look at its ring. */
	assert_true(kicked(&b, q));
	assert_true(b.d.bus->irq_pending(&b.d));
	/* The restored driver (its ring bookkeeping as saved in RAM) gets
	 * the two the old backend used, then the new backend's. */
	b.q[q] = a.q[q];
	b.q[q].gm = b.s->m.gm;
	uint16_t id;
	uint32_t ulen;
	assert_int_equal(vdq_get_used(&b.q[q], &id, &ulen), 1);
	assert_int_equal(id, 0);
	assert_int_equal(vdq_get_used(&b.q[q], &id, &ulen), 1);
	assert_int_equal(id, 1);
	assert_int_equal(vdq_get_used(&b.q[q], &id, &ulen), 0);
	backend_use(&b, q, 2, 2, 3);
	assert_int_equal(vdq_get_used(&b.q[q], &id, &ulen), 1);
	assert_int_equal(id, 2);
	/* A second resume does nothing more. */
	vd(&b)->ops->resume(vd(&b));
	assert_int_equal(b.be.set_vring_base, 1);
	free(st);
	side_free(&a);
	side_free(&b);
}

static void test_blk_round_trip(void **s) { (void)s; round_trip(VHUD_BLK, 0); }
static void test_fs_round_trip(void **s) { (void)s; round_trip(VHUD_FS, 1); }

/* A device the driver never started saves no bases and restarts nothing. */
static void test_not_started(void **state)
{
	(void)state;
	struct side a, b;
	side_new(&a, VHUD_BLK, FAKE_GOOD);
	size_t len = 0;
	int rc;
	uint8_t *st = save(&a, &len, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(a.be.get_vring_base, 0);
	side_new(&b, VHUD_BLK, FAKE_GOOD);
	char err[SNAP_ERR_LEN];
	assert_int_equal(load(&b, st, len, err, sizeof(err)), 0);
	vd(&b)->ops->resume(vd(&b));
	assert_false(fake_saw(&b.be, VHU_SET_MEM_TABLE));
	/* The driver starts it after the restore as on a fresh boot. */
	drive(&b, 0);
	free(st);
	side_free(&a);
	side_free(&b);
}

/* The backend's GET_VRING_BASE answer, falsified: the save fails with
 * one line naming the ring, and the liar is cut off (NEEDS_RESET). */
static void lying_base(uint32_t base, const char *want)
{
	struct side a;
	side_new(&a, VHUD_BLK, FAKE_GOOD);
	drive(&a, 0);
	post(&a, 0, 3);
	a.be.base[0] = base;
	size_t len = 0;
	int rc;
	uint8_t *st = save(&a, &len, &rc);
	assert_null(st);
	assert_int_equal(rc, -EIO);
	const char *why = vd(&a)->save_error;
	assert_non_null(why);
	assert_non_null(strstr(why, want));
	assert_null(strchr(why, '\n'));
	assert_true(a.d.bus->get_status(&a.d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* Nothing restarts on a broken connection. */
	vd(&a)->ops->resume(vd(&a));
	side_free(&a);
}

static void test_base_beyond_avail(void **s)
{
	(void)s;
	lying_base(7, "ring 0: the backend's GET_VRING_BASE answer is false: base 7");
}

static void test_base_reserved_bits(void **s)
{
	(void)s;
	lying_base(0x10002, "reserved bits");
}

/* Chains the backend took and never used: the save waits (bounded by
 * the connection timeout), then fails saying so; the backend was honest,
 * so its rings start again. */
static void test_backend_holds_requests(void **state)
{
	(void)state;
	struct side a;
	side_new(&a, VHUD_BLK, FAKE_GOOD);
	drive(&a, 0);
	post(&a, 0, 3);
	backend_use(&a, 0, 0, 0, 1);
	a.be.base[0] = 3;
	size_t len = 0;
	int rc;
	uint8_t *st = save(&a, &len, &rc);
	assert_null(st);
	assert_int_equal(rc, -EIO);
	assert_non_null(strstr(vd(&a)->save_error,
			       "ring 0: the backend still holds 2 requests after stopping"));
	assert_false(a.d.bus->get_status(&a.d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	unsigned sets = a.be.set_vring_base;
	vd(&a)->ops->resume(vd(&a));
	assert_int_equal(a.be.set_vring_base, sets + 1);
	assert_int_equal(a.be.base[0], 3);
	side_free(&a);
}

/* The backend went away before the save: bounded, one line, no crash. */
static void test_backend_gone_at_save(void **state)
{
	(void)state;
	struct side a;
	side_new(&a, VHUD_FS, FAKE_GOOD);
	drive(&a, 1);
	fake_stop(&a.be);
	a.be_live = false;
	size_t len = 0;
	int rc;
	uint8_t *st = save(&a, &len, &rc);
	/* Either GET_VRING_BASE finds it gone (save fails naming it) or the
	 * hang-up was noticed first and the device is already reset (its
	 * state saves as it is). */
	if (rc) {
		assert_int_equal(rc, -EIO);
		assert_non_null(strstr(vd(&a)->save_error, "GET_VRING_BASE"));
	}
	assert_true(a.d.bus->get_status(&a.d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	free(st);
	side_free(&a);
}

/* After a restore, a backend that refuses the memory table, or a saved
 * base the loaded RAM contradicts: DEVICE_NEEDS_RESET, the VMM goes on. */
static void test_restore_backend_fails(void **state)
{
	(void)state;
	struct side a, b, c;
	side_new(&a, VHUD_BLK, FAKE_GOOD);
	drive(&a, 0);
	post(&a, 0, 2);
	backend_use(&a, 0, 0, 0, 1);
	a.be.base[0] = 1;
	size_t len = 0;
	int rc;
	uint8_t *st = save(&a, &len, &rc);
	assert_int_equal(rc, 0);
	char err[SNAP_ERR_LEN];
	side_new(&b, VHUD_BLK, FAKE_NACK);
	assert_int_equal(load(&b, st, len, err, sizeof(err)), 0);
	copy_ram(&b, &a);
	vd(&b)->ops->resume(vd(&b));
	assert_true(b.d.bus->get_status(&b.d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_true(b.d.bus->isr_ack(&b.d) & VDRIVER_ISR_CONFIG);
	/* RAM not restored (all zero: avail and used index 0): base 1 is
	 * not between them. */
	side_new(&c, VHUD_BLK, FAKE_GOOD);
	assert_int_equal(load(&c, st, len, err, sizeof(err)), 0);
	vd(&c)->ops->resume(vd(&c));
	assert_true(c.d.bus->get_status(&c.d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(c.be.set_vring_base, 0);
	free(st);
	side_free(&a);
	side_free(&b);
	side_free(&c);
}

/* ---- hostile fields into the model's loader ---- */

struct vu_fields {
	uint8_t kind;
	bool live;
	uint32_t nq;
	uint32_t base[2];
	uint32_t cfg_len;
	bool cfg_spoil;
};

static void expect_refused(struct side *x, const struct vu_fields *f, const char *want)
{
	uint8_t cfg[64] = { 0 };
	struct vdev *v = vd(x);
	v->ops->config_read(v, 0, cfg, v->config_size);
	if (f->cfg_spoil)
		cfg[0] ^= 1;
	struct snap_w *w = snap_w_new();
	snap_w_begin(w, "vhost-user", 1);
	snap_w_u8(w, "kind", f->kind);
	snap_w_bool(w, "live", f->live);
	snap_w_u32(w, "nqueues", f->nq);
	for (unsigned q = 0; q < f->nq; q++) {
		char n[16];
		snprintf(n, sizeof(n), "base%u", q);
		snap_w_u32(w, n, f->base[q < 2 ? q : 1]);
	}
	snap_w_blob(w, "config", cfg, f->cfg_len);
	snap_w_end(w);
	const uint8_t *buf;
	size_t len;
	assert_int_equal(snap_w_finish(w, &buf, &len), 0);
	struct snap_r *r;
	char err[SNAP_ERR_LEN];
	assert_int_equal(snap_r_open(&r, buf, len, err, sizeof(err)), 0);
	assert_true(v->ops->load(v, r) < 0);
	if (!strstr(snap_r_error(r), want))
		fail_msg("wanted '%s', got '%s'", want, snap_r_error(r));
	snap_r_free(r);
	snap_w_free(w);
}

static void test_hostile_fields(void **state)
{
	(void)state;
	struct side x;
	side_new(&x, VHUD_FS, FAKE_GOOD);
	unsigned cl = vd(&x)->config_size;
	struct vu_fields ok = { VHUD_FS, true, 2, { 0, 0 }, cl, false };
	/* Before DRIVER_OK: live rings are a lie. */
	expect_refused(&x, &ok, "vhost-user.live: rings served before DRIVER_OK");
	drive(&x, 1);   /* queue 1 only: queue 0 (hiprio) never enabled */
	struct vu_fields f = ok;
	f.kind = VHUD_BLK;
	expect_refused(&x, &f, "vhost-user.kind");
	f = ok;
	f.nq = 3;
	expect_refused(&x, &f, "vhost-user.nqueues");
	f = ok;
	f.base[0] = 5;
	expect_refused(&x, &f, "vhost-user.base0: a base for a queue the driver did not enable");
	f = ok;
	f.base[1] = 0x12345;
	expect_refused(&x, &f, "vhost-user.base1: reserved bits set");
	f = ok;
	f.cfg_len = cl - 1;
	expect_refused(&x, &f, "vhost-user.config: another config space size");
	f = ok;
	f.cfg_spoil = true;
	expect_refused(&x, &f, "vhost-user.config: byte 0 differs");
	side_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_round_trip),
		cmocka_unit_test(test_fs_round_trip),
		cmocka_unit_test(test_not_started),
		cmocka_unit_test(test_base_beyond_avail),
		cmocka_unit_test(test_base_reserved_bits),
		cmocka_unit_test(test_backend_holds_requests),
		cmocka_unit_test(test_backend_gone_at_save),
		cmocka_unit_test(test_restore_backend_fails),
		cmocka_unit_test(test_hostile_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
