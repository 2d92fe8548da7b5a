/* Saving and restoring virtio-vsock (issue 18 item 1) in the simulator,
 * on every transport: the queues and the guest CID come back, host
 * connections (sockets of the saving process) do not, and the sim guest
 * driver finds VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on its event queue
 * (virtio 1.2 §5.10.6.6) once the restored guest runs -- at once when it
 * left an event buffer posted, or as soon as it posts one.  A stream
 * with another CID, or counts beyond the device's, is refused naming
 * the field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <stdio.h>
#include "core/snapshot.h"
#include "core/vsock_host.h"
#include "devices/virtio/vsock.h"
#include "vdev_fixture.h"

#define QSZ 16u
#define CID 7u
#define HL sizeof(struct virtio_vsock_hdr)
#define RXBUF (HL + 1024u)

struct vs {
	struct vfx *f;
	struct vsock_host *host;
	struct vvsock *v;
	uint64_t ev[QSZ];
};

static struct vs *vs_new(enum vfx_kind k, uint64_t cid, bool start)
{
	struct vs *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = vfx_new(k);
	t->host = vsock_mem_new();
	struct vvsock_config c = { .gm = vfx_gm(t->f), .log = t->f->log,
				   .clk = vfx_clk(t->f), .guest_cid = cid,
				   .host = t->host, .queue_size = QSZ };
	t->v = vvsock_new(&c);
	assert_non_null(t->v);
	vfx_attach(t->f, vvsock_vdev(t->v));
	if (start)
		vfx_start(t->f, 0, 3, QSZ);
	return t;
}

static void vs_free(struct vs *t)
{
	vfx_detach(t->f);
	vvsock_free(t->v);
	vsock_host_free(t->host);
	vfx_free(t->f);
	free(t);
}

static void give(struct vs *t, unsigned q, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = vfx_alloc(t->f, len);
		struct vdq_buf b = { a, len, true };
		int id = vfx_add(t->f, q, &b, 1);
		if (q == VVSOCK_EVQ)
			t->ev[id] = a;
	}
}

static void send_pkt(struct vs *t, uint32_t sport, uint32_t dport, uint16_t op)
{
	struct virtio_vsock_hdr h = {
		.src_cid = htole64(CID), .dst_cid = htole64(VSOCK_HOST_CID),
		.src_port = htole32(sport), .dst_port = htole32(dport),
		.type = htole16(VIRTIO_VSOCK_TYPE_STREAM), .op = htole16(op),
		.buf_alloc = htole32(65536),
	};
	struct vdq_buf b = { vfx_put(t->f, &h, HL), HL, false };
	vfx_add(t->f, VVSOCK_TXQ, &b, 1);
	uint16_t id;
	uint32_t len;
	while (vfx_used(t->f, VVSOCK_TXQ, &id, &len))
		;
}

static uint8_t *save(struct vs *t, size_t *len)
{
	struct snap_w *w = snap_w_new();
	const uint8_t *buf;
	int rc = t->f->mmio ? virtio_mmio_save(t->f->mmio, w) :
			      virtio_pci_save(t->f->pci, w);
	assert_int_equal(rc, 0);
	assert_int_equal(snap_w_finish(w, &buf, len), 0);
	uint8_t *copy = malloc(*len);
	memcpy(copy, buf, *len);
	snap_w_free(w);
	return copy;
}

static int load(struct vs *t, const uint8_t *buf, size_t len, char *err)
{
	struct snap_r *r;
	assert_int_equal(snap_r_open(&r, buf, len, err, SNAP_ERR_LEN), 0);
	int rc = t->f->mmio ? virtio_mmio_load(t->f->mmio, r) :
			      virtio_pci_load(t->f->pci, r);
	if (rc == 0)
		rc = snap_r_done(r);
	snprintf(err, SNAP_ERR_LEN, "%s", snap_r_error(r));
	snap_r_free(r);
	return rc;
}

/* The restoring side: the saved RAM, and the driver's ring bookkeeping
 * as the saved guest had it. */
static void take_guest(struct vs *to, const struct vs *from)
{
	const struct gm_region *a = gm_region_at(vfx_gm(from->f), 0);
	const struct gm_region *b = gm_region_at(vfx_gm(to->f), 0);
	memcpy(b->host, a->host, a->size);
	for (unsigned q = 0; q < 3; q++) {
		to->f->q[q] = from->f->q[q];
		to->f->q[q].gm = vfx_gm(to->f);
	}
	to->f->data_next = from->f->data_next;
	memcpy(to->ev, from->ev, sizeof(to->ev));
}

static void resume(struct vs *t)
{
	struct vdev *vd = vvsock_vdev(t->v);
	vd->ops->resume(vd);
}

static void expect_reset_event(struct vs *t)
{
	uint16_t id;
	uint32_t len;
	assert_int_equal(vfx_used(t->f, VVSOCK_EVQ, &id, &len), 1);
	assert_int_equal(len, 4);
	uint32_t ev = 0xffffffffu;
	assert_int_equal(gm_read(vfx_gm(t->f), t->ev[id], &ev, 4), 0);
	assert_int_equal(le32toh(ev), VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	assert_int_equal(vfx_used(t->f, VVSOCK_EVQ, &id, &len), 0);
}

static void test_restore_resets_transport(void **state)
{
	enum vfx_kind k = (enum vfx_kind)(uintptr_t)*state;
	struct vs *a = vs_new(k, CID, true);
	give(a, VVSOCK_RXQ, 4, RXBUF);
	give(a, VVSOCK_EVQ, 2, 4);
	/* A live connection at the save. */
	vsock_mem_listen(a->host, 1234, true);
	send_pkt(a, 5000, 1234, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(vvsock_conn_count(a->v), 1);
	size_t len;
	uint8_t *st = save(a, &len);
	/* The saving side keeps its connection and sends no event. */
	resume(a);
	assert_int_equal(vvsock_conn_count(a->v), 1);
	uint16_t id;
	uint32_t ulen;
	assert_int_equal(vfx_used(a->f, VVSOCK_EVQ, &id, &ulen), 0);

	struct vs *b = vs_new(k, CID, false);
	char err[SNAP_ERR_LEN];
	assert_int_equal(load(b, st, len, err), 0);
	take_guest(b, a);
	/* Nothing before the guest runs (its RAM is loaded after). */
	assert_int_equal(vfx_used(b->f, VVSOCK_EVQ, &id, &ulen), 0);
	resume(b);
	expect_reset_event(b);
	assert_int_equal(vvsock_conn_count(b->v), 0);
	/* Once: a second resume sends nothing more. */
	resume(b);
	assert_int_equal(vfx_used(b->f, VVSOCK_EVQ, &id, &ulen), 0);
	/* The guest reconnects over the restored queues. */
	vsock_mem_listen(b->host, 1234, true);
	send_pkt(b, 5001, 1234, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(vvsock_conn_count(b->v), 1);
	assert_int_equal(vfx_used(b->f, VVSOCK_RXQ, &id, &ulen), 1);
	free(st);
	vs_free(a);
	vs_free(b);
}

/* No event buffer posted at the save: the event waits for one. */
static void test_event_waits_for_buffer(void **state)
{
	enum vfx_kind k = (enum vfx_kind)(uintptr_t)*state;
	struct vs *a = vs_new(k, CID, true);
	size_t len;
	uint8_t *st = save(a, &len);
	struct vs *b = vs_new(k, CID, false);
	char err[SNAP_ERR_LEN];
	assert_int_equal(load(b, st, len, err), 0);
	take_guest(b, a);
	resume(b);
	uint16_t id;
	uint32_t ulen;
	assert_int_equal(vfx_used(b->f, VVSOCK_EVQ, &id, &ulen), 0);
	give(b, VVSOCK_EVQ, 1, 4);
	expect_reset_event(b);
	free(st);
	vs_free(a);
	vs_free(b);
}

/* Owed at the save (saved before the guest took it): owed after. */
static void test_pending_event_saved(void **state)
{
	enum vfx_kind k = (enum vfx_kind)(uintptr_t)*state;
	struct vs *a = vs_new(k, CID, true);
	size_t len;
	uint8_t *st = save(a, &len);
	struct vs *b = vs_new(k, CID, false);
	char err[SNAP_ERR_LEN];
	assert_int_equal(load(b, st, len, err), 0);
	take_guest(b, a);
	size_t len2;
	uint8_t *st2 = save(b, &len2);
	struct vs *c = vs_new(k, CID, false);
	assert_int_equal(load(c, st2, len2, err), 0);
	take_guest(c, b);
	give(c, VVSOCK_EVQ, 1, 4);
	resume(c);
	expect_reset_event(c);
	free(st);
	free(st2);
	vs_free(a);
	vs_free(b);
	vs_free(c);
}

static void test_other_cid_refused(void **state)
{
	enum vfx_kind k = (enum vfx_kind)(uintptr_t)*state;
	struct vs *a = vs_new(k, CID, true);
	size_t len;
	uint8_t *st = save(a, &len);
	struct vs *b = vs_new(k, CID + 1, false);
	char err[SNAP_ERR_LEN];
	assert_true(load(b, st, len, err) < 0);
	if (!strstr(err, "virtio-vsock.guest_cid: saved with guest-cid=7, this device has guest-cid=8"))
		fail_msg("got '%s'", err);
	free(st);
	vs_free(a);
	vs_free(b);
}

/* Hostile fields into the model's loader. */
static void expect_refused(struct vs *t, uint64_t cid, uint32_t nconns,
			   uint32_t next_local, const char *want)
{
	struct snap_w *w = snap_w_new();
	snap_w_begin(w, "virtio-vsock", 1);
	snap_w_u64(w, "guest_cid", cid);
	snap_w_u32(w, "nconns", nconns);
	snap_w_u32(w, "next_local", next_local);
	snap_w_bool(w, "reset_pending", false);
	snap_w_end(w);
	const uint8_t *buf;
	size_t len;
	assert_int_equal(snap_w_finish(w, &buf, &len), 0);
	struct snap_r *r;
	char err[SNAP_ERR_LEN];
	assert_int_equal(snap_r_open(&r, buf, len, err, sizeof(err)), 0);
	struct vdev *vd = vvsock_vdev(t->v);
	int rc = vd->ops->load(vd, r);
	if (want) {
		assert_true(rc < 0);
		if (!strstr(snap_r_error(r), want))
			fail_msg("wanted '%s', got '%s'", want, snap_r_error(r));
	} else {
		assert_int_equal(rc, 0);
	}
	snap_r_free(r);
	snap_w_free(w);
}

static void test_hostile_fields(void **state)
{
	(void)state;
	struct vs *t = vs_new(VFX_MMIO, CID, true);
	expect_refused(t, 0, 0, VVSOCK_LOCAL_PORT_BASE, "virtio-vsock.guest_cid");
	expect_refused(t, 0xffffffffull + CID, 0, VVSOCK_LOCAL_PORT_BASE,
		       "virtio-vsock.guest_cid");
	expect_refused(t, CID, VVSOCK_MAX_CONNS + 1, VVSOCK_LOCAL_PORT_BASE,
		       "virtio-vsock.nconns: more connections than the device holds");
	expect_refused(t, CID, 0xffffffffu, VVSOCK_LOCAL_PORT_BASE, "virtio-vsock.nconns");
	expect_refused(t, CID, 0, 80, "virtio-vsock.next_local");
	expect_refused(t, CID, VVSOCK_MAX_CONNS, VVSOCK_LOCAL_PORT_BASE, NULL);
	vs_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VFX_TESTS(test_restore_resets_transport),
		VFX_TESTS(test_event_waits_for_buffer),
		VFX_TESTS(test_pending_event_saved),
		VFX_TESTS(test_other_cid_refused),
		cmocka_unit_test(test_hostile_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
