/* virtio-net through the sim guest driver on virtio-mmio and virtio-pci
 * with the in-memory loop backend: transmit, receive, MRG_RXBUF, offload
 * negotiation guards, link status, and the bounded receive backlog. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include "core/netdev.h"
#include "devices/virtio/net.h"
#include "vdev_fixture.h"

#define QSZ 64u
#define HL ((uint32_t)sizeof(struct virtio_net_hdr_v1))

struct nt {
	struct vfx *f;
	struct netdev *nd;
	struct vnet *n;
};

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static struct nt *nt_new(enum vfx_kind k, bool loopback, uint64_t want)
{
	struct nt *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = vfx_new(k);
	t->nd = netdev_loop_new("n0", loopback);
	assert_non_null(t->nd);
	struct vnet_config c = { .gm = vfx_gm(t->f), .log = t->f->log, .nd = t->nd,
				 .has_mac = true };
	memcpy(c.mac, MAC, 6);
	t->n = vnet_new(&c);
	assert_non_null(t->n);
	vfx_attach(t->f, vnet_vdev(t->n));
	vfx_start(t->f, want, 2, QSZ);
	return t;
}

static void nt_free(struct nt *t)
{
	vfx_detach(t->f);
	vnet_free(t->n);
	vfx_free(t->f);
	netdev_close(t->nd);
	free(t);
}

static enum vfx_kind kind(void **state)
{
	return (enum vfx_kind)(uintptr_t)*state;
}

/* Build hdr+payload of plen bytes with a recognisable pattern. */
static uint8_t *frame(struct virtio_net_hdr_v1 h, uint32_t plen, uint8_t seed)
{
	uint8_t *f = malloc(HL + plen);
	memcpy(f, &h, HL);
	for (uint32_t i = 0; i < plen; i++)
		f[HL + i] = (uint8_t)(seed + i * 3);
	return f;
}

static void tx(struct nt *t, const uint8_t *fr, uint32_t len)
{
	/* Header and payload in separate descriptors, as Linux does
	 * without any_layout. */
	uint64_t a = vfx_put(t->f, fr, len);
	struct vdq_buf b[2] = { { a, HL < len ? HL : len, false },
				{ a + HL, len > HL ? len - HL : 0, false } };
	vfx_add(t->f, VNET_TXQ, b, len > HL ? 2 : 1);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, VNET_TXQ, &id, &ul), 1);
	assert_int_equal(ul, 0);
}

static uint64_t rxbuf(struct nt *t, uint32_t len, bool kick)
{
	uint64_t a = vfx_alloc(t->f, len + 16);
	/* Guard bytes after the buffer must never be written. */
	assert_int_equal(gm_fill(vfx_gm(t->f), a, 0xee, len + 16), 0);
	struct vdq_buf b = { a, len, true };
	if (kick)
		vfx_add(t->f, VNET_RXQ, &b, 1);
	else
		vfx_add_nokick(t->f, VNET_RXQ, &b, 1);
	return a;
}

static void check_guard(struct nt *t, uint64_t a, uint32_t len)
{
	uint8_t g[16];
	assert_int_equal(gm_read(vfx_gm(t->f), a + len, g, 16), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(g[i], 0xee);
}

static void test_config(void **state)
{
	struct nt *t = nt_new(kind(state), false, ~0ull);
	uint64_t f = t->f->d.features;
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MAC));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_STATUS));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(vfx_cfg(t->f, i, 1), MAC[i]);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_net_config, status), 2),
			 VIRTIO_NET_S_LINK_UP);
	uint32_t gen = t->f->d.bus->config_generation(&t->f->d);
	t->f->d.bus->isr_ack(&t->f->d);
	vnet_set_link(t->n, false);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_net_config, status), 2), 0);
	if (kind(state) != VFX_PCI_LEGACY) /* legacy has no generation */
		assert_int_not_equal(t->f->d.bus->config_generation(&t->f->d), gen);
	assert_true(vfx_irq(t->f));
	vnet_set_link(t->n, false); /* no change: nothing */
	vnet_set_link(t->n, true);
	/* The mac is not writable by a modern driver. */
	t->f->d.bus->config_write(&t->f->d, 0, 1, 0xff);
	assert_int_equal(vfx_cfg(t->f, 0, 1), MAC[0]);
	assert_int_equal(t->nd->offload & NETDEV_OFF_TSO4, NETDEV_OFF_TSO4);
	nt_free(t);
}

static void test_tx(void **state)
{
	struct nt *t = nt_new(kind(state), false, ~0ull);
	struct virtio_net_hdr_v1 h = { 0 };
	h.num_buffers = htole16(7); /* meaningless on tx: cleared */
	uint8_t *fr = frame(h, 60, 1);
	tx(t, fr, HL + 60);
	uint8_t out[2048];
	assert_int_equal(netdev_loop_take(t->nd, out, sizeof(out)), HL + 60);
	assert_memory_equal(out + HL, fr + HL, 60);
	assert_int_equal(out[offsetof(struct virtio_net_hdr_v1, num_buffers)], 0);
	free(fr);
	/* Offloads the guest negotiated pass through. */
	h = (struct virtio_net_hdr_v1){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					.hdr_len = htole16(54), .gso_size = htole16(1448),
					.csum_start = htole16(34), .csum_offset = htole16(16) };
	fr = frame(h, 3000, 2);
	tx(t, fr, HL + 3000);
	assert_int_equal(netdev_loop_take(t->nd, out, sizeof(out)), -ENOSPC);
	uint8_t *big = malloc(NETDEV_MAX_FRAME);
	assert_int_equal(netdev_loop_take(t->nd, big, NETDEV_MAX_FRAME), HL + 3000);
	assert_memory_equal(big, fr, 10);
	free(big);
	free(fr);
	assert_int_equal(vnet_get_stats(t->n)->tx_frames, 2);
	assert_int_equal(vnet_get_stats(t->n)->tx_bytes, 3060);
	nt_free(t);
}

/* A legacy driver without MRG_RXBUF sends the 10-byte struct
 * virtio_net_hdr (virtio 1.2 §5.1.6.1 legacy note): the backend still
 * gets the 12-byte layout, payload intact; a frame shorter than that
 * header is dropped. */
static void test_tx_legacy_header(void **state)
{
	enum vfx_kind k = kind(state);
	struct nt *t = nt_new(k, false, ~0ull & ~VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	const uint32_t G = k == VFX_PCI_LEGACY ? 10 : HL;
	uint8_t fr[10 + HL + 64];
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       .csum_start = htole16(34),
				       .csum_offset = htole16(16) };
	memcpy(fr, &h, G);
	for (unsigned i = 0; i < 64; i++)
		fr[G + i] = (uint8_t)(0x40 + i);
	uint64_t a = vfx_put(t->f, fr, G + 64);
	struct vdq_buf b[2] = { { a, G, false }, { a + G, 64, false } };
	vfx_add(t->f, VNET_TXQ, b, 2);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, VNET_TXQ, &id, &ul), 1);
	uint8_t out[256];
	assert_int_equal(netdev_loop_take(t->nd, out, sizeof(out)), HL + 64);
	assert_memory_equal(out, &h, 10);
	assert_int_equal(out[10] | out[11], 0);
	assert_memory_equal(out + HL, fr + G, 64);
	/* Shorter than the guest's header: dropped. */
	a = vfx_put(t->f, fr, G - 1);
	struct vdq_buf s1 = { a, G - 1, false };
	vfx_add(t->f, VNET_TXQ, &s1, 1);
	assert_int_equal(vfx_used(t->f, VNET_TXQ, &id, &ul), 1);
	assert_int_equal(netdev_loop_take(t->nd, out, sizeof(out)), 0);
	assert_int_equal(vnet_get_stats(t->n)->tx_dropped, 1);
	nt_free(t);
}

static void test_tx_hostile(void **state)
{
	/* Negotiate no offloads at all. */
	struct nt *t = nt_new(kind(state), false, VIRTIO_BIT(VIRTIO_NET_F_MAC));
	struct virtio_net_hdr_v1 h = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4 };
	uint8_t *fr = frame(h, 100, 3);
	tx(t, fr, HL + 100);                 /* TSO not negotiated */
	((struct virtio_net_hdr_v1 *)fr)->gso_type = 0;
	((struct virtio_net_hdr_v1 *)fr)->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	tx(t, fr, HL + 100);                 /* CSUM not negotiated */
	((struct virtio_net_hdr_v1 *)fr)->flags = 0;
	((struct virtio_net_hdr_v1 *)fr)->gso_type = 0x42; /* unknown */
	tx(t, fr, HL + 100);
	((struct virtio_net_hdr_v1 *)fr)->gso_type = VIRTIO_NET_HDR_GSO_ECN;
	tx(t, fr, HL + 100);                 /* ECN alone */
	tx(t, fr, 5);                        /* shorter than the header */
	free(fr);
	/* Larger than any frame. */
	uint32_t huge = NETDEV_MAX_FRAME + 100;
	uint64_t a = vfx_alloc(t->f, huge);
	struct vdq_buf b = { a, huge, false };
	vfx_add(t->f, VNET_TXQ, &b, 1);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, VNET_TXQ, &id, &ul), 1);
	/* A chain with only writable buffers carries no frame. */
	b.write = true;
	b.len = 64;
	vfx_add(t->f, VNET_TXQ, &b, 1);
	assert_int_equal(vfx_used(t->f, VNET_TXQ, &id, &ul), 1);
	assert_int_equal(ul, 0);
	/* Backend refuses. */
	netdev_loop_fail_send(t->nd, -EAGAIN);
	h = (struct virtio_net_hdr_v1){ 0 };
	fr = frame(h, 10, 4);
	tx(t, fr, HL + 10);
	netdev_loop_fail_send(t->nd, 0);
	tx(t, fr, HL + 10);
	free(fr);
	assert_int_equal(vnet_get_stats(t->n)->tx_dropped, 8);
	assert_int_equal(vnet_get_stats(t->n)->tx_frames, 1);
	assert_int_equal(netdev_loop_pending_tx(t->nd), 1);
	assert_false(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	nt_free(t);
}

/* The device's own bound on a frame (NETDEV_MAX_FRAME, header
 * included): the largest frame reaches the backend, one byte more is dropped by the device before the
 * backend sees it (the backend's own check would count an error there,
 * and the copy would overrun the device's frame buffer first). */
static void test_tx_size_bound(void **state)
{
	struct nt *t = nt_new(kind(state), false, ~0ull);
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t *fr = frame(h, NETDEV_MAX_FRAME + 1 - HL, 5);
	tx(t, fr, NETDEV_MAX_FRAME + 1);
	assert_int_equal(vnet_get_stats(t->n)->tx_dropped, 1);
	assert_int_equal(t->nd->tx_errors, 0);
	assert_int_equal(netdev_loop_pending_tx(t->nd), 0);
	tx(t, fr, NETDEV_MAX_FRAME);
	assert_int_equal(vnet_get_stats(t->n)->tx_frames, 1);
	uint8_t *out = malloc(NETDEV_MAX_FRAME);
	assert_int_equal(netdev_loop_take(t->nd, out, NETDEV_MAX_FRAME), NETDEV_MAX_FRAME);
	assert_memory_equal(out + HL, fr + HL, NETDEV_MAX_FRAME - HL);
	free(out);
	free(fr);
	nt_free(t);
}

static void test_rx_basic(void **state)
{
	struct nt *t = nt_new(kind(state), false, ~0ull & ~VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	/* A legacy driver without MRG_RXBUF gets the 10-byte header. */
	const uint32_t G = kind(state) == VFX_PCI_LEGACY ? 10 : HL;
	uint64_t a = rxbuf(t, 1526, true);
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	uint8_t *fr = frame(h, 1000, 9);
	assert_int_equal(netdev_loop_inject(t->nd, fr, HL + 1000), 0);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, VNET_RXQ, &id, &ul), 1);
	assert_int_equal(ul, G + 1000);
	uint8_t got[HL + 1000];
	assert_int_equal(gm_read(vfx_gm(t->f), a, got, sizeof(got)), 0);
	assert_memory_equal(got + G, fr + HL, 1000);
	struct virtio_net_hdr_v1 gh;
	memcpy(&gh, got, HL);
	assert_int_equal(gh.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	if (G == HL)
		assert_int_equal(le16toh(gh.num_buffers), 1);
	assert_true(vfx_irq(t->f));
	free(fr);
	/* Too big for the one buffer without MRG_RXBUF: dropped, the buffer
	 * stays for the next frame. */
	a = rxbuf(t, 200, true);
	fr = frame(h, 500, 1);
	assert_int_equal(netdev_loop_inject(t->nd, fr, HL + 500), 0);
	assert_int_equal(vfx_used(t->f, VNET_RXQ, &id, &ul), 0);
	assert_int_equal(vnet_get_stats(t->n)->rx_dropped, 1);
	check_guard(t, a, 200);
	assert_int_equal(netdev_loop_inject(t->nd, fr, HL + 100), 0);
	assert_int_equal(vfx_used(t->f, VNET_RXQ, &id, &ul), 1);
	assert_int_equal(ul, G + 100);
	check_guard(t, a, 200);
	/* A GSO frame the guest did not negotiate is refused. */
	free(fr);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	fr = frame(h, 10, 1);
	rxbuf(t, 1526, true);
	assert_int_equal(netdev_loop_inject(t->nd, fr, HL + 10), 0);
	assert_int_equal(vfx_used(t->f, VNET_RXQ, &id, &ul), 0);
	assert_int_equal(vnet_get_stats(t->n)->rx_dropped, 2);
	/* Runt frame from the backend. */
	assert_int_equal(netdev_loop_inject(t->nd, fr, 4), -EINVAL);
	free(fr);
	nt_free(t);
}

static void test_rx_mergeable(void **state)
{
	struct nt *t = nt_new(kind(state), false, ~0ull);
	uint64_t a[4];
	for (int i = 0; i < 4; i++)
		a[i] = rxbuf(t, 1000, i == 3);
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t *fr = frame(h, 2500, 5);
	assert_int_equal(netdev_loop_inject(t->nd, fr, HL + 2500), 0);
	uint32_t lens[3];
	uint16_t id;
	for (int i = 0; i < 3; i++)
		assert_int_equal(vfx_used(t->f, VNET_RXQ, &id, &lens[i]), 1);
	assert_int_equal(lens[0] + lens[1] + lens[2], HL + 2500);
	uint8_t *got = malloc(3000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(gm_read(vfx_gm(t->f), a[i], got + i * 1000, 1000), 0);
	struct virtio_net_hdr_v1 gh;
	memcpy(&gh, got, HL);
	assert_int_equal(le16toh(gh.num_buffers), 3);
	assert_memory_equal(got + HL, fr + HL, 2500);
	check_guard(t, a[2], 1000);
	free(got);
	/* Not enough buffers now: the frame waits, nothing consumed. */
	assert_int_equal(netdev_loop_inject(t->nd, fr, HL + 2500), 0);
	assert_int_equal(vfx_used(t->f, VNET_RXQ, &id, &lens[0]), 0);
	assert_int_equal(vnet_rx_pending(t->n), 1);
	rxbuf(t, 1000, false);
	rxbuf(t, 1000, true);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vfx_used(t->f, VNET_RXQ, &id, &lens[i]), 1);
	assert_int_equal(vnet_rx_pending(t->n), 0);
	assert_int_equal(vnet_get_stats(t->n)->rx_frames, 2);
	free(fr);
	nt_free(t);
}

static void test_rx_bad_chain_midframe(void **state)
{
	struct nt *t = nt_new(kind(state), false, ~0ull);
	rxbuf(t, 100, false);
	/* A chain with no writable buffer cannot receive. */
	struct vdq_buf ro = { vfx_alloc(t->f, 64), 64, false };
	vfx_add_nokick(t->f, VNET_RXQ, &ro, 1);
	rxbuf(t, 2000, true);
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t *fr = frame(h, 500, 5);
	assert_int_equal(netdev_loop_inject(t->nd, fr, HL + 500), 0);
	/* The held buffer came back empty, the bad one too; the frame was
	 * dropped and the next one lands in the good buffer. */
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, VNET_RXQ, &id, &ul), 1);
	assert_int_equal(ul, 0);
	assert_int_equal(vfx_used(t->f, VNET_RXQ, &id, &ul), 1);
	assert_int_equal(ul, 0);
	assert_int_equal(vnet_get_stats(t->n)->rx_dropped, 1);
	assert_int_equal(netdev_loop_inject(t->nd, fr, HL + 500), 0);
	assert_int_equal(vfx_used(t->f, VNET_RXQ, &id, &ul), 1);
	assert_int_equal(ul, HL + 500);
	free(fr);
	nt_free(t);
}

static void test_rx_backlog_bounded(void **state)
{
	struct nt *t = nt_new(kind(state), false, ~0ull);
	struct virtio_net_hdr_v1 h = { 0 };
	const unsigned total = VNET_RX_QLEN + NETDEV_LOOP_QLEN + 10;
	for (unsigned i = 0; i < total; i++) {
		uint8_t *fr = frame(h, 60, (uint8_t)i);
		int r = netdev_loop_inject(t->nd, fr, HL + 60);
		assert_true(r == 0 || r == -ENOBUFS);
		free(fr);
	}
	/* The device holds VNET_RX_QLEN, the backend its own bound; the
	 * rest are dropped and counted, nothing written to the guest. */
	assert_int_equal(vnet_rx_pending(t->n), VNET_RX_QLEN);
	assert_int_equal(netdev_loop_pending_rx(t->nd), NETDEV_LOOP_QLEN);
	assert_int_equal(t->nd->rx_dropped, 10);
	/* Buffers arrive: frames come out in order. */
	unsigned seen = 0;
	for (unsigned round = 0; round < 20 && seen < total - 10; round++) {
		uint64_t a[QSZ / 2];
		for (unsigned i = 0; i < QSZ / 2; i++)
			a[i] = rxbuf(t, 1526, i == QSZ / 2 - 1);
		uint16_t id;
		uint32_t ul;
		unsigned k = 0;
		while (vfx_used(t->f, VNET_RXQ, &id, &ul)) {
			uint8_t b0;
			assert_int_equal(gm_read_u8(vfx_gm(t->f), a[k] + HL, &b0), 0);
			assert_int_equal(b0, (uint8_t)seen);
			k++;
			seen++;
		}
	}
	assert_int_equal(seen, total - 10);
	assert_true(vnet_get_stats(t->n)->rx_queued >= VNET_RX_QLEN);
	assert_int_equal(vnet_get_stats(t->n)->rx_frames, total - 10);
	nt_free(t);
}

static void test_loopback_and_reset(void **state)
{
	struct nt *t = nt_new(kind(state), true, ~0ull);
	rxbuf(t, 2048, true);
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t *fr = frame(h, 64, 8);
	tx(t, fr, HL + 64);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, VNET_RXQ, &id, &ul), 1);
	assert_int_equal(ul, HL + 64);
	/* Frames waiting at reset are dropped, and none arrive before
	 * DRIVER_OK. */
	tx(t, fr, HL + 64);
	tx(t, fr, HL + 64);
	assert_int_equal(vnet_rx_pending(t->n), 2);
	vdriver_reset(&t->f->d);
	assert_int_equal(vnet_rx_pending(t->n), 0);
	assert_int_equal(netdev_loop_inject(t->nd, fr, HL + 64), 0);
	assert_int_equal(vnet_rx_pending(t->n), 0);
	free(fr);
	nt_free(t);
}

#define BOTH(fn)                                                           \
	VFX_TESTS(fn)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_config),
		BOTH(test_tx),
		BOTH(test_tx_legacy_header),
		BOTH(test_tx_hostile),
		BOTH(test_tx_size_bound),
		BOTH(test_rx_basic),
		BOTH(test_rx_mergeable),
		BOTH(test_rx_bad_chain_midframe),
		BOTH(test_rx_backlog_bounded),
		BOTH(test_loopback_and_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
