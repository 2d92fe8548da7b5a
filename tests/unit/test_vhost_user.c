/* core/vhost_user + devices/virtio/vhost_user_dev against a fake backend
 * over a real socketpair: the handshake and start sequence a good backend
 * sees, kicks and calls through the eventfds, and every way an untrusted
 * backend can misbehave -- each must break the connection (one log line,
 * the device DEVICE_NEEDS_RESET) within the deadline, never crash or
 * hang. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include "core/gm.h"
#include "core/log.h"
#include "core/vhost_user.h"
#include "devices/virtio/vhost_user_dev.h"
#include "vhost_fake.h"

#define RAM_SIZE (1u << 20)

struct fx {
	struct fake_be be;
	struct gm *gm;
	struct log *log;
	struct vhu *c;
	unsigned calls, cfg_irqs;
};

static void t_notify_queue(void *t, unsigned q)
{
	struct fx *x = t;
	(void)q;
	x->calls++;
}

static void t_notify_config(void *t)
{
	struct fx *x = t;
	x->cfg_irqs++;
}

static const struct vdev_transport_ops t_ops = { .notify_queue = t_notify_queue,
						 .notify_config = t_notify_config };

static struct fx *fx_new(enum fake_mode mode, bool shared)
{
	struct fx *x = calloc(1, sizeof(*x));
	int front = -1;
	assert_non_null(x);
	x->log = log_new_memory(LOG_INFO);
	x->gm = gm_new();
	struct gm_mmap_spec spec = { .kind = shared ? GM_MMAP_MEMFD : GM_MMAP_ANON };
	assert_int_equal(gm_add_mmap(x->gm, 0, RAM_SIZE, &spec, 0, "ram"), 0);
	assert_int_equal(fake_start(&x->be, mode, &front), 0);
	x->c = vhu_new_fd(front, "t", x->log);
	assert_non_null(x->c);
	vhu_set_timeout(x->c, 200);
	return x;
}

static void fx_free(struct fx *x)
{
	fake_stop(&x->be);
	if (x->c)
		vhu_free(x->c);
	gm_free(x->gm);
	log_free(x->log);
	free(x);
}

static unsigned count_lines(const char *text, const char *needle)
{
	unsigned n = 0;
	for (const char *p = text; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_shareable(void **state)
{
	(void)state;
	struct gm *gm = gm_new();
	struct gm_mmap_spec anon = { .kind = GM_MMAP_ANON };
	struct gm_mmap_spec memfd = { .kind = GM_MMAP_MEMFD };
	assert_int_equal(gm_add_mmap(gm, 0, RAM_SIZE, &memfd, 0, "a"), 0);
	assert_true(vhu_gm_shareable(gm));
	assert_int_equal(gm_add_mmap(gm, 0x100000000ull, RAM_SIZE, &anon, 0, "b"), 0);
	assert_false(vhu_gm_shareable(gm));
	gm_free(gm);
}

static void test_handshake(void **state)
{
	(void)state;
	struct fx *x = fx_new(FAKE_GOOD, true);
	assert_int_equal(vhu_handshake(x->c), 0);
	assert_int_equal(vhu_features(x->c), x->be.features);
	assert_int_equal(vhu_protocol_features(x->c), x->be.pfeatures);
	assert_int_equal(vhu_queue_num(x->c), 4);
	uint8_t cfg[8];
	assert_int_equal(vhu_get_config(x->c, 0, cfg, 8), 0);
	assert_int_equal(cfg[2], 0x02);
	assert_false(vhu_is_broken(x->c));
	fx_free(x);
}

/* A vhost-user-blk device through activation, a kick, a call and reset. */
static void test_blk_device_lifecycle(void **state)
{
	(void)state;
	char err[256];
	struct fx *x = fx_new(FAKE_GOOD, true);
	assert_int_equal(vhu_handshake(x->c), 0);
	struct vhud_cfg vc = { .kind = VHUD_BLK, .id = "blk", .queues = 2 };
	struct vhud *d = vhud_new(x->gm, x->log, x->c, &vc, err, sizeof(err));
	assert_non_null(d);
	struct vdev *vd = vhud_vdev(d);
	struct vhu_handlers h;
	vhud_handlers(d, &h);
	assert_int_equal(vhu_attach(x->c, NULL, &h), 0);
	assert_int_equal(vd->device_id, VIRTIO_ID_BLOCK);
	assert_int_equal(vd->nqueues, 2);
	/* Config from GET_CONFIG, num_queues overridden. */
	uint8_t b;
	vd->ops->config_read(vd, 2, &b, 1);
	assert_int_equal(b, 0x02);
	vd->ops->config_read(vd, 34, &b, 1);
	assert_int_equal(b, 2);
	/* MQ offered, PROTOCOL_FEATURES never shown to the guest, and no
	 * packed ring the backend lacks. */
	uint64_t f = vdev_offered_features(vd);
	assert_true(f & (1ull << 12));
	assert_false(f & (1ull << 30));
	assert_false(f & (1ull << 34));
	assert_true(f & (1ull << 32));
	/* A read-only export stays read-only: VIRTIO_BLK_F_RO passes. */
	assert_true(f & (1ull << 5));
	assert_true(f & (1ull << 29));   /* EVENT_IDX: the backend has it */
	assert_false(f & (1ull << 24));
	vd->tops = &t_ops;
	vd->transport = x;
	vd->features = (1ull << 32) | (1ull << 12);
	for (unsigned q = 0; q < 2; q++)
		vd->vqs[q].cfg = (struct vq_config){ 64, true, 0x1000 + q * 0x4000,
						     0x2000 + q * 0x4000, 0x3000 + q * 0x4000, 0 };
	assert_int_equal(vd->ops->activate(vd), 0);
	vd->status = VIRTIO_STATUS_DRIVER_OK;
	assert_int_equal(x->be.memtable_fds, 1);
	assert_int_equal(x->be.memtable_regions, 1);
	assert_int_equal(x->be.vring_num[1], 64);
	assert_true(x->be.acked_features & (1ull << 30));
	assert_true(x->be.acked_features & (1ull << 12));
	assert_true(fake_saw(&x->be, VHU_SET_VRING_ENABLE));
	assert_true(fake_saw(&x->be, VHU_SET_VRING_ERR));
	/* Kick: the backend's kick eventfd fires. */
	vd->ops->notify(vd, 1);
	struct pollfd p = { x->be.kick_fd[1], POLLIN, 0 };
	assert_int_equal(poll(&p, 1, 2000), 1);
	/* Call: the backend signals, the driver gets an interrupt. */
	uint64_t one = 1;
	assert_int_equal(write(x->be.call_fd[0], &one, 8), 8);
	vhu_poll(x->c);
	assert_int_equal(x->calls, 1);
	/* Reset: GET_VRING_BASE for both rings. */
	vd->ops->reset(vd);
	assert_int_equal(x->be.get_vring_base, 2);
	assert_false(vhu_is_broken(x->c));
	x->c = NULL;   /* the device owns it now */
	fake_stop(&x->be);
	vhud_free(d);
	gm_free(x->gm);
	log_free(x->log);
	free(x);
}

static void test_fs_config(void **state)
{
	(void)state;
	char err[256];
	struct fx *x = fx_new(FAKE_GOOD, true);
	assert_int_equal(vhu_handshake(x->c), 0);
	struct vhud_cfg vc = { .kind = VHUD_FS, .id = "fs", .queues = 2,
			       .queue_size = 1024, .tag = "kataShared" };
	struct vhud *d = vhud_new(x->gm, x->log, x->c, &vc, err, sizeof(err));
	assert_non_null(d);
	struct vdev *vd = vhud_vdev(d);
	assert_int_equal(vd->device_id, 26);
	assert_int_equal(vd->config_size, 40);
	assert_int_equal(vd->nqueues, 3);   /* hiprio + 2 request queues */
	assert_int_equal(vd->queue_max[2], 1024);
	char tag[36];
	vd->ops->config_read(vd, 0, tag, 36);
	assert_memory_equal(tag, "kataShared\0\0", 12);
	uint32_t nrq;
	vd->ops->config_read(vd, 36, &nrq, 4);
	assert_int_equal(nrq, 2);
	vhud_free(d);
	x->c = NULL;
	fake_stop(&x->be);
	gm_free(x->gm);
	log_free(x->log);
	free(x);
	/* 37 bytes: refused. */
	x = fx_new(FAKE_GOOD, true);
	vc.tag = "0123456789012345678901234567890123456";
	assert_null(vhud_new(x->gm, x->log, x->c, &vc, err, sizeof(err)));
	assert_non_null(strstr(err, "tag"));
	fx_free(x);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Each misbehaviour breaks the connection with exactly one log line,
 * quickly (the 200 ms deadline bounds every wait). */
static void bad_backend(enum fake_mode mode, bool during_start)
{
	char err[256];
	struct fx *x = fx_new(mode, true);
	int64_t t0 = mono_ms();
	int r = vhu_handshake(x->c);
	struct vhud *d = NULL;
	if (during_start) {
		assert_int_equal(r, 0);
		struct vhud_cfg vc = { .kind = VHUD_BLK, .id = "blk", .queues = 1 };
		d = vhud_new(x->gm, x->log, x->c, &vc, err, sizeof(err));
		assert_non_null(d);
		struct vdev *vd = vhud_vdev(d);
		struct vhu_handlers h;
		vhud_handlers(d, &h);
		vhu_attach(x->c, NULL, &h);
		vd->tops = &t_ops;
		vd->transport = x;
		vd->vqs[0].cfg = (struct vq_config){ 64, true, 0x1000, 0x2000, 0x3000, 0 };
		vd->status = VIRTIO_STATUS_DRIVER_OK;
		r = vd->ops->activate(vd);
		assert_true(vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
		assert_int_equal(x->cfg_irqs, 1);
		vd->ops->reset(vd);           /* nothing sent, no crash */
		vd->ops->notify(vd, 0);
	} else if (mode == FAKE_UNPROMPTED_ACK) {
		/* Handshake went fine; the stray ack is found on the next
		 * request or poll. */
		struct pollfd p = { x->be.fd, 0, 0 };
		(void)p;
		for (int i = 0; i < 100 && !vhu_is_broken(x->c); i++) {
			vhu_poll(x->c);
			usleep(0);
			struct timespec ts = { 0, 10000000 };
			if (!vhu_is_broken(x->c))
				nanosleep(&ts, NULL);
		}
		r = -1;
	}
	assert_int_equal(r, -1);
	assert_true(vhu_is_broken(x->c));
	assert_true(mono_ms() - t0 < 3000);
	assert_int_equal(count_lines(log_memory_text(x->log), "backend broken"), 1);
	/* Later requests fail at once. */
	uint8_t cfg[4];
	assert_int_equal(vhu_get_config(x->c, 0, cfg, 4), -1);
	if (d) {
		x->c = NULL;
		fake_stop(&x->be);
		vhud_free(d);
		gm_free(x->gm);
		log_free(x->log);
		free(x);
	} else {
		fx_free(x);
	}
}

static void test_oversized(void **s) { (void)s; bad_backend(FAKE_OVERSIZED, false); }
static void test_truncated(void **s) { (void)s; bad_backend(FAKE_TRUNCATED, false); }
static void test_wrong_id(void **s) { (void)s; bad_backend(FAKE_WRONG_ID, false); }
static void test_stall(void **s) { (void)s; bad_backend(FAKE_STALL, false); }
static void test_unprompted_ack(void **s) { (void)s; bad_backend(FAKE_UNPROMPTED_ACK, false); }
static void test_close_mid_setup(void **s) { (void)s; bad_backend(FAKE_CLOSE_AT_MEMTABLE, true); }
static void test_nack(void **s) { (void)s; bad_backend(FAKE_NACK, true); }

/* Fds passed with a reply are closed, not leaked, and the reply is
 * still taken (they are ignored, as the frontend asked for none). */
static void test_bogus_fds(void **state)
{
	(void)state;
	struct fx *x = fx_new(FAKE_BOGUS_FDS, true);
	int probe = dup(0);
	close(probe);
	assert_int_equal(vhu_handshake(x->c), 0);
	int after = dup(0);
	assert_int_equal(after, probe);   /* no fd leaked */
	close(after);
	fx_free(x);
}

/* Disconnect mid-I/O: the running device becomes NEEDS_RESET. */
static void test_disconnect_mid_io(void **state)
{
	(void)state;
	char err[256];
	struct fx *x = fx_new(FAKE_GOOD, true);
	assert_int_equal(vhu_handshake(x->c), 0);
	struct vhud_cfg vc = { .kind = VHUD_BLK, .id = "blk", .queues = 1 };
	struct vhud *d = vhud_new(x->gm, x->log, x->c, &vc, err, sizeof(err));
	struct vdev *vd = vhud_vdev(d);
	struct vhu_handlers h;
	vhud_handlers(d, &h);
	vhu_attach(x->c, NULL, &h);
	vd->tops = &t_ops;
	vd->transport = x;
	vd->vqs[0].cfg = (struct vq_config){ 64, true, 0x1000, 0x2000, 0x3000, 0 };
	assert_int_equal(vd->ops->activate(vd), 0);
	vd->status = VIRTIO_STATUS_DRIVER_OK;
	x->c = NULL;
	fake_stop(&x->be);      /* the backend goes away */
	vhu_poll(vhud_conn(d));
	assert_true(vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(x->cfg_irqs, 1);
	vd->ops->notify(vd, 0);
	vd->ops->reset(vd);
	assert_int_equal(count_lines(log_memory_text(x->log), "backend broken"), 1);
	vhud_free(d);
	gm_free(x->gm);
	log_free(x->log);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shareable),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_blk_device_lifecycle),
		cmocka_unit_test(test_fs_config),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_wrong_id),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_unprompted_ack),
		cmocka_unit_test(test_close_mid_setup),
		cmocka_unit_test(test_nack),
		cmocka_unit_test(test_bogus_fds),
		cmocka_unit_test(test_disconnect_mid_io),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
