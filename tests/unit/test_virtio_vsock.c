/* virtio-vsock through the sim guest driver on virtio-mmio and
 * virtio-pci, with the in-memory host backend playing the host peers:
 * connections both ways, data both ways under credit, and a hostile
 * guest (bad lengths, unknown ops and types, wrong CIDs, credit
 * overflow, floods without reading) that harms nothing and grows
 * nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include "core/vsock_host.h"
#include "devices/virtio/vsock.h"
#include "vdev_fixture.h"

#define QSZ 64u
#define CID 3u
#define RXBUF (sizeof(struct virtio_vsock_hdr) + 4096u)
#define HL sizeof(struct virtio_vsock_hdr)

struct vt {
	struct vfx *f;
	struct vsock_host *host;
	struct vvsock *v;
	uint64_t rxaddr[QSZ];
};

static enum vfx_kind kind(void **state)
{
	return (enum vfx_kind)(uintptr_t)*state;
}

static void give_rx(struct vt *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = vfx_alloc(t->f, RXBUF);
		/* Header and payload in separate descriptors, as Linux 6.1
		 * posts them. */
		struct vdq_buf b[2] = { { a, HL, true }, { a + HL, RXBUF - HL, true } };
		int id = vdq_add(&t->f->q[VVSOCK_RXQ], b, 2, false);
		assert_true(id >= 0);
		t->rxaddr[id] = a;
	}
	vdq_publish(&t->f->q[VVSOCK_RXQ]);
	vdriver_kick(&t->f->d, VVSOCK_RXQ, &t->f->q[VVSOCK_RXQ]);
}

static struct vt *vt_new(enum vfx_kind k, unsigned rx)
{
	struct vt *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = vfx_new(k);
	t->host = vsock_mem_new();
	assert_non_null(t->host);
	struct vvsock_config c = { .gm = vfx_gm(t->f), .log = t->f->log,
				   .clk = vfx_clk(t->f), .guest_cid = CID,
				   .host = t->host };
	t->v = vvsock_new(&c);
	assert_non_null(t->v);
	vfx_attach(t->f, vvsock_vdev(t->v));
	vfx_start(t->f, 0, 3, QSZ);
	give_rx(t, rx);
	return t;
}

static void vt_free(struct vt *t)
{
	vfx_detach(t->f);
	vvsock_free(t->v);
	vsock_host_free(t->host);
	vfx_free(t->f);
	free(t);
}

static struct virtio_vsock_hdr hdr(uint32_t sport, uint32_t dport, uint16_t op,
				   uint32_t len)
{
	struct virtio_vsock_hdr h = {
		.src_cid = htole64(CID), .dst_cid = htole64(VSOCK_HOST_CID),
		.src_port = htole32(sport), .dst_port = htole32(dport),
		.len = htole32(len), .type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
		.op = htole16(op), .buf_alloc = htole32(65536),
	};
	return h;
}

/* Put a packet (header + payload in one buffer of chain_len bytes) on
 * the tx queue. */
static void send_raw(struct vt *t, const struct virtio_vsock_hdr *h,
		     const void *data, uint32_t dlen, uint32_t chain_len)
{
	uint8_t *buf = calloc(1, chain_len + 1);
	assert_non_null(buf);
	memcpy(buf, h, chain_len < HL ? chain_len : HL);
	if (chain_len > HL && data)
		memcpy(buf + HL, data, dlen < chain_len - HL ? dlen : chain_len - HL);
	struct vdq_buf b = { vfx_put(t->f, buf, chain_len), chain_len, false };
	free(buf);
	vfx_add(t->f, VVSOCK_TXQ, &b, 1);
	uint16_t id;
	uint32_t len;
	while (vfx_used(t->f, VVSOCK_TXQ, &id, &len))
		;
}

static void send_pkt(struct vt *t, uint32_t sport, uint32_t dport, uint16_t op,
		     const void *data, uint32_t dlen)
{
	struct virtio_vsock_hdr h = hdr(sport, dport, op, dlen);
	send_raw(t, &h, data, dlen, (uint32_t)HL + dlen);
}

/* Next packet the device gave the guest: 1 with h (and payload), 0 none.
 * The buffer is posted again. */
static int recv_pkt(struct vt *t, struct virtio_vsock_hdr *h, void *data,
		    uint32_t *dlen)
{
	uint16_t id;
	uint32_t len;
	if (!vfx_used(t->f, VVSOCK_RXQ, &id, &len))
		return 0;
	assert_true(len >= HL);
	assert_int_equal(gm_read(vfx_gm(t->f), t->rxaddr[id], h, HL), 0);
	assert_int_equal(le32toh(h->len), len - HL);
	if (data)
		assert_int_equal(gm_read(vfx_gm(t->f), t->rxaddr[id] + HL, data,
					 len - HL), 0);
	if (dlen)
		*dlen = len - HL;
	assert_int_equal(le64toh(h->src_cid), VSOCK_HOST_CID);
	assert_int_equal(le64toh(h->dst_cid), CID);
	give_rx(t, 1);
	return 1;
}

static void expect_op(struct vt *t, uint16_t op, uint32_t gport, uint32_t hport)
{
	struct virtio_vsock_hdr h;
	assert_int_equal(recv_pkt(t, &h, NULL, NULL), 1);
	assert_int_equal(le16toh(h.op), op);
	assert_int_equal(le32toh(h.dst_port), gport);
	assert_int_equal(le32toh(h.src_port), hport);
}

static void expect_none(struct vt *t)
{
	struct virtio_vsock_hdr h;
	assert_int_equal(recv_pkt(t, &h, NULL, NULL), 0);
}

static void test_config_and_cid(void **state)
{
	struct vt *t = vt_new(kind(state), 4);
	assert_int_equal(t->f->d.bus->config_read(&t->f->d, 0, 4), CID);
	assert_int_equal(t->f->d.bus->config_read(&t->f->d, 4, 4), 0);
	vt_free(t);
	assert_false(vvsock_cid_valid(2));
	assert_false(vvsock_cid_valid(0xffffffffull));
	struct vvsock_config c = { .guest_cid = 2, .host = (void *)1 };
	assert_null(vvsock_new(&c));
}

static void test_guest_connects(void **state)
{
	struct vt *t = vt_new(kind(state), 8);
	vsock_mem_listen(t->host, 1234, true);
	send_pkt(t, 5000, 1234, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RESPONSE, 5000, 1234);
	int h = vsock_mem_find(t->host, 1234);
	assert_true(h >= 0);
	/* Guest -> host. */
	send_pkt(t, 5000, 1234, VIRTIO_VSOCK_OP_RW, "hello", 5);
	char got[16] = "";
	assert_int_equal(vsock_mem_read(t->host, h, got, sizeof(got)), 5);
	assert_memory_equal(got, "hello", 5);
	/* Host -> guest. */
	assert_int_equal(vsock_mem_write(t->host, h, "world!", 6), 6);
	struct virtio_vsock_hdr r;
	uint32_t n;
	assert_int_equal(recv_pkt(t, &r, got, &n), 1);
	assert_int_equal(le16toh(r.op), VIRTIO_VSOCK_OP_RW);
	assert_int_equal(n, 6);
	assert_memory_equal(got, "world!", 6);
	assert_int_equal(le32toh(r.buf_alloc), VVSOCK_BUF_ALLOC);
	assert_int_equal(le32toh(r.fwd_cnt), 5);
	/* The host peer closes: it sends no more (SHUTDOWN F_SEND: it
	 * might only have half-closed); the guest's next data finds it gone
	 * and gets RST. */
	vsock_mem_peer_close(t->host, h);
	assert_int_equal(recv_pkt(t, &r, NULL, NULL), 1);
	assert_int_equal(le16toh(r.op), VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(le32toh(r.flags), VIRTIO_VSOCK_SHUTDOWN_F_SEND);
	expect_none(t);
	send_pkt(t, 5000, 1234, VIRTIO_VSOCK_OP_RW, "late", 4);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 5000, 1234);
	assert_int_equal(vvsock_conn_count(t->v), 0);
	expect_none(t);
	vt_free(t);
}

static void test_refused_and_shutdown(void **state)
{
	struct vt *t = vt_new(kind(state), 8);
	/* Nobody listens on 99: RST. */
	send_pkt(t, 5001, 99, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 5001, 99);
	/* RW, SHUTDOWN, CREDIT_* on no connection: RST; an RST: nothing. */
	send_pkt(t, 5001, 99, VIRTIO_VSOCK_OP_RW, "x", 1);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 5001, 99);
	send_pkt(t, 5001, 99, VIRTIO_VSOCK_OP_RST, NULL, 0);
	expect_none(t);
	/* A guest SHUTDOWN of both directions ends the connection. */
	vsock_mem_listen(t->host, 7, true);
	send_pkt(t, 6000, 7, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RESPONSE, 6000, 7);
	int h = vsock_mem_find(t->host, 7);
	struct virtio_vsock_hdr s = hdr(6000, 7, VIRTIO_VSOCK_OP_SHUTDOWN, 0);
	s.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_F_SEND);
	send_raw(t, &s, NULL, 0, HL);
	struct vsock_mem_state st;
	assert_int_equal(vsock_mem_state(t->host, h, &st), 0);
	assert_true(st.send_shut && st.open);
	s.flags = htole32(3);
	send_raw(t, &s, NULL, 0, HL);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 6000, 7);
	assert_int_equal(vsock_mem_state(t->host, h, &st), 0);
	assert_true(st.closed_by_device);
	vt_free(t);
}

static void test_host_connects(void **state)
{
	struct vt *t = vt_new(kind(state), 8);
	int h = vsock_mem_host_connect(t->host, 52);
	assert_true(h >= 0);
	struct virtio_vsock_hdr r;
	assert_int_equal(recv_pkt(t, &r, NULL, NULL), 1);
	assert_int_equal(le16toh(r.op), VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(le32toh(r.dst_port), 52);
	uint32_t lp = le32toh(r.src_port);
	assert_true(lp >= VVSOCK_LOCAL_PORT_BASE);
	struct vsock_mem_state st;
	assert_int_equal(vsock_mem_state(t->host, h, &st), 0);
	assert_false(st.accepted);
	/* Data from the host before the guest accepted waits. */
	vsock_mem_write(t->host, h, "early", 5);
	expect_none(t);
	send_pkt(t, 52, lp, VIRTIO_VSOCK_OP_RESPONSE, NULL, 0);
	assert_int_equal(vsock_mem_state(t->host, h, &st), 0);
	assert_true(st.accepted);
	assert_int_equal(st.local_port, lp);
	char got[8];
	uint32_t n;
	assert_int_equal(recv_pkt(t, &r, got, &n), 1);
	assert_int_equal(le16toh(r.op), VIRTIO_VSOCK_OP_RW);
	assert_int_equal(n, 5);
	assert_memory_equal(got, "early", 5);
	/* A second connection to the same guest port gets another port. */
	int h2 = vsock_mem_host_connect(t->host, 52);
	assert_true(h2 >= 0);
	assert_int_equal(recv_pkt(t, &r, NULL, NULL), 1);
	assert_int_not_equal(le32toh(r.src_port), lp);
	/* The guest refuses it: the host peer sees it closed. */
	send_pkt(t, 52, le32toh(r.src_port), VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_int_equal(vsock_mem_state(t->host, h2, &st), 0);
	assert_true(st.closed_by_device);
	vt_free(t);
}

static void test_hostile_packets(void **state)
{
	struct vt *t = vt_new(kind(state), 8);
	const struct vvsock_stats *s = vvsock_get_stats(t->v);
	vsock_mem_listen(t->host, 1, true);
	send_pkt(t, 10, 1, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RESPONSE, 10, 1);
	int h = vsock_mem_find(t->host, 1);
	/* Shorter than a header. */
	struct virtio_vsock_hdr x = hdr(10, 1, VIRTIO_VSOCK_OP_RW, 0);
	send_raw(t, &x, NULL, 0, 20);
	assert_int_equal(s->bad_len, 1);
	/* len beyond the chain, and beyond a packet's maximum. */
	x = hdr(10, 1, VIRTIO_VSOCK_OP_RW, 100);
	send_raw(t, &x, "abc", 3, (uint32_t)HL + 3);
	x = hdr(10, 1, VIRTIO_VSOCK_OP_RW, 0xffffffffu);
	send_raw(t, &x, "abc", 3, (uint32_t)HL + 3);
	/* Payload on a control packet. */
	x = hdr(10, 1, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 3);
	send_raw(t, &x, "abc", 3, (uint32_t)HL + 3);
	assert_int_equal(s->bad_len, 4);
	expect_none(t);
	/* Wrong source or destination CID: dropped, no answer. */
	x = hdr(10, 1, VIRTIO_VSOCK_OP_RW, 1);
	x.src_cid = htole64(CID + 1);
	send_raw(t, &x, "z", 1, (uint32_t)HL + 1);
	x = hdr(10, 1, VIRTIO_VSOCK_OP_RW, 1);
	x.dst_cid = htole64(CID);
	send_raw(t, &x, "z", 1, (uint32_t)HL + 1);
	x = hdr(10, 1, VIRTIO_VSOCK_OP_REQUEST, 0);
	x.src_cid = htole64(0xffffffffffffffffull);
	send_raw(t, &x, NULL, 0, HL);
	assert_int_equal(s->bad_cid, 3);
	expect_none(t);
	char got[8];
	assert_int_equal(vsock_mem_read(t->host, h, got, sizeof(got)), 0);
	/* The connection survived all of that. */
	send_pkt(t, 10, 1, VIRTIO_VSOCK_OP_RW, "ok", 2);
	assert_int_equal(vsock_mem_read(t->host, h, got, sizeof(got)), 2);
	/* An unknown op resets it (as Linux does). */
	send_pkt(t, 10, 1, 99, NULL, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 10, 1);
	assert_int_equal(s->bad_op, 1);
	assert_int_equal(vvsock_conn_count(t->v), 0);
	/* SEQPACKET was not offered: RST. */
	x = hdr(11, 1, VIRTIO_VSOCK_OP_REQUEST, 0);
	x.type = htole16(VIRTIO_VSOCK_TYPE_SEQPACKET);
	send_raw(t, &x, NULL, 0, HL);
	expect_op(t, VIRTIO_VSOCK_OP_RST, 11, 1);
	/* An rx buffer too small for a header comes back empty. */
	uint64_t a = vfx_alloc(t->f, 8);
	struct vdq_buf small = { a, 8, true };
	vfx_add(t->f, VVSOCK_RXQ, &small, 1);
	vt_free(t);
}

static void test_credit_respected(void **state)
{
	struct vt *t = vt_new(kind(state), 16);
	vsock_mem_listen(t->host, 2, true);
	/* The guest has room for 1000 bytes. */
	struct virtio_vsock_hdr x = hdr(20, 2, VIRTIO_VSOCK_OP_REQUEST, 0);
	x.buf_alloc = htole32(1000);
	send_raw(t, &x, NULL, 0, HL);
	expect_op(t, VIRTIO_VSOCK_OP_RESPONSE, 20, 2);
	int h = vsock_mem_find(t->host, 2);
	static uint8_t big[VSOCK_MEM_CAP];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	assert_int_equal(vsock_mem_write(t->host, h, big, sizeof(big)), sizeof(big));
	uint32_t total = 0, n;
	struct virtio_vsock_hdr r;
	static uint8_t got[4096];
	while (recv_pkt(t, &r, got, &n)) {
		assert_memory_equal(got, big + total, n);
		total += n;
	}
	assert_int_equal(total, 1000);
	/* The guest read 600 of them: 600 more may come. */
	x = hdr(20, 2, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	x.buf_alloc = htole32(1000);
	x.fwd_cnt = htole32(600);
	send_raw(t, &x, NULL, 0, HL);
	while (recv_pkt(t, &r, got, &n))
		total += n;
	assert_int_equal(total, 1600);
	/* A guest claiming to have forwarded more than it got, or to go
	 * back, gets no credit out of it (credit overflow). */
	x.fwd_cnt = htole32(0x80000000u);
	send_raw(t, &x, NULL, 0, HL);
	expect_none(t);
	x.fwd_cnt = htole32(1601);
	send_raw(t, &x, NULL, 0, HL);
	expect_none(t);
	x.fwd_cnt = htole32(500);
	send_raw(t, &x, NULL, 0, HL);
	expect_none(t);
	/* A large buf_alloc is the guest's right: the rest comes, bounded
	 * by what the host has. */
	x.fwd_cnt = htole32(1600);
	x.buf_alloc = htole32(0xffffffffu);
	send_raw(t, &x, NULL, 0, HL);
	while (recv_pkt(t, &r, got, &n))
		total += n;
	assert_int_equal(total, VSOCK_MEM_CAP);
	/* CREDIT_REQUEST is answered with our fwd_cnt. */
	send_pkt(t, 20, 2, VIRTIO_VSOCK_OP_RW, "abc", 3);
	send_pkt(t, 20, 2, VIRTIO_VSOCK_OP_CREDIT_REQUEST, NULL, 0);
	assert_int_equal(recv_pkt(t, &r, NULL, NULL), 1);
	assert_int_equal(le16toh(r.op), VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(le32toh(r.fwd_cnt), 3);
	vt_free(t);
}

static void test_guest_flood_bounded(void **state)
{
	/* The host peer never reads: the device holds at most buf_alloc
	 * per connection, and a guest past its credit is reset. */
	struct vt *t = vt_new(kind(state), 8);
	vsock_mem_listen(t->host, 3, true);
	send_pkt(t, 30, 3, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RESPONSE, 30, 3);
	int h = vsock_mem_find(t->host, 3);
	static uint8_t chunk[4096];
	unsigned sent = 0;
	while (vvsock_conn_count(t->v) && sent < 200) {
		send_pkt(t, 30, 3, VIRTIO_VSOCK_OP_RW, chunk, sizeof(chunk));
		sent++;
		assert_true(vvsock_buffered(t->v) <= VVSOCK_BUF_ALLOC);
	}
	/* 16 KiB in the peer, 64 KiB held, then the credit ran out. */
	assert_int_equal(vvsock_conn_count(t->v), 0);
	assert_int_equal(sent, (VSOCK_MEM_CAP + VVSOCK_BUF_ALLOC) / 4096 + 1);
	assert_int_equal(vvsock_get_stats(t->v)->credit_violations, 1);
	struct virtio_vsock_hdr r;
	int got_rst = 0;
	while (recv_pkt(t, &r, NULL, NULL))
		got_rst |= le16toh(r.op) == VIRTIO_VSOCK_OP_RST;
	assert_true(got_rst);
	struct vsock_mem_state st;
	assert_int_equal(vsock_mem_state(t->host, h, &st), 0);
	assert_true(st.closed_by_device);
	vt_free(t);
}

static void test_slow_host_resumes(void **state)
{
	/* Within credit, data the peer could not take yet goes out when it
	 * reads, and the guest hears of the freed space. */
	struct vt *t = vt_new(kind(state), 8);
	vsock_mem_listen(t->host, 4, true);
	send_pkt(t, 40, 4, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	expect_op(t, VIRTIO_VSOCK_OP_RESPONSE, 40, 4);
	int h = vsock_mem_find(t->host, 4);
	static uint8_t chunk[4096], got[VSOCK_MEM_CAP];
	for (unsigned i = 0; i < 8; i++) {
		memset(chunk, (int)i, sizeof(chunk));
		send_pkt(t, 40, 4, VIRTIO_VSOCK_OP_RW, chunk, sizeof(chunk));
	}
	assert_int_equal(vvsock_buffered(t->v), 8 * 4096 - VSOCK_MEM_CAP);
	size_t total = 0, n;
	while ((n = vsock_mem_read(t->host, h, got, sizeof(got))) > 0) {
		for (size_t i = 0; i < n; i++)
			assert_int_equal(got[i], (uint8_t)((total + i) / 4096));
		total += n;
	}
	assert_int_equal(total, 8 * 4096);
	assert_int_equal(vvsock_buffered(t->v), 0);
	struct virtio_vsock_hdr r;
	uint32_t last = 0;
	while (recv_pkt(t, &r, NULL, NULL)) {
		assert_int_equal(le16toh(r.op), VIRTIO_VSOCK_OP_CREDIT_UPDATE);
		last = le32toh(r.fwd_cnt);
	}
	assert_int_equal(last, 8 * 4096);
	vt_free(t);
}

static void test_flood_without_reading(void **state)
{
	/* No rx buffers at all, and a stream of REQUESTs to ports nobody
	 * listens on: the tx queue stops once RST_QLEN answers wait, and
	 * goes on when the guest reads them. */
	struct vt *t = vt_new(kind(state), 0);
	for (unsigned i = 0; i < 40; i++) {
		struct virtio_vsock_hdr x = hdr(100 + i, 9, VIRTIO_VSOCK_OP_REQUEST, 0);
		struct vdq_buf b = { vfx_put(t->f, &x, HL), HL, false };
		vfx_add_nokick(t->f, VVSOCK_TXQ, &b, 1);
	}
	vfx_kick(t->f, VVSOCK_TXQ);
	const struct vvsock_stats *s = vvsock_get_stats(t->v);
	assert_int_equal(s->refused, VVSOCK_RST_QLEN);
	assert_true(s->tx_stalls >= 1);
	assert_int_equal(s->rst_dropped, 0);
	give_rx(t, 30);
	struct virtio_vsock_hdr r;
	unsigned rsts = 0;
	while (recv_pkt(t, &r, NULL, NULL)) {
		assert_int_equal(le16toh(r.op), VIRTIO_VSOCK_OP_RST);
		assert_int_equal(le32toh(r.dst_port), 100 + rsts);
		rsts++;
	}
	assert_int_equal(rsts, 40);
	vt_free(t);
}

static void test_connection_bound(void **state)
{
	struct vt *t = vt_new(kind(state), 30);
	vsock_mem_listen(t->host, 5, true);
	unsigned resp = 0, rst = 0;
	struct virtio_vsock_hdr r;
	for (unsigned i = 0; i < VVSOCK_MAX_CONNS + 6; i++) {
		send_pkt(t, 1000 + i, 5, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
		while (recv_pkt(t, &r, NULL, NULL)) {
			resp += le16toh(r.op) == VIRTIO_VSOCK_OP_RESPONSE;
			rst += le16toh(r.op) == VIRTIO_VSOCK_OP_RST;
		}
	}
	assert_int_equal(resp, VSOCK_HOST_MAX_CONNS);
	assert_int_equal(rst, 6);
	assert_int_equal(vvsock_conn_count(t->v), VVSOCK_MAX_CONNS);
	/* The host side is bounded too, and a device reset closes all. */
	assert_true(vsock_mem_host_connect(t->host, 1) < 0);
	vdriver_reset(&t->f->d);
	assert_int_equal(vvsock_conn_count(t->v), 0);
	assert_int_equal(vsock_mem_open_count(t->host), 0);
	vt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VFX_TESTS(test_config_and_cid),
		VFX_TESTS(test_guest_connects),
		VFX_TESTS(test_refused_and_shutdown),
		VFX_TESTS(test_host_connects),
		VFX_TESTS(test_hostile_packets),
		VFX_TESTS(test_credit_respected),
		VFX_TESTS(test_guest_flood_bounded),
		VFX_TESTS(test_slow_host_resumes),
		VFX_TESTS(test_flood_without_reading),
		VFX_TESTS(test_connection_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
