/* Bounded work per entry point (devices/virtio/virtio.h VDEV_BUDGET_*):
 * for each device that loops over guest-supplied chains and lengths (rng,
 * blk, net, console, balloon), a hostile driver's request that would take
 * unbounded work is served in bounded slices, one per kick or resume
 * timer on the simulator's virtual clock, and every byte / chain still
 * arrives.  Nothing here measures time: a slice is counted in bytes and
 * chains. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/blockdev.h"
#include "core/entropy.h"
#include "core/netdev.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/blk_priv.h"
#include "devices/virtio/console.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"
#include "vdev_fixture.h"

#define QSZ 256u
#define MANY 200u
#define MIB (1u << 20)
/* Resume steps a hostile request may take before we call it stuck. */
#define MAX_STEPS 100000u

static unsigned used_all(struct vfx *f, unsigned q, uint32_t *lens)
{
	uint16_t id;
	uint32_t len;
	unsigned n = 0;
	while (vfx_used(f, q, &id, &len)) {
		if (lens)
			lens[id] = len;
		n++;
	}
	return n;
}

/* Step virtual time one resume at a time until `want` chains of q came
 * back (counting those already seen); the number of steps it took. */
static unsigned step_until_used(struct vfx *f, unsigned q, unsigned seen,
				unsigned want, uint32_t *lens)
{
	unsigned steps = 0;
	while (seen < want) {
		assert_true(steps++ < MAX_STEPS);
		sim_clock_step(f->sim, VDEV_RESUME_NS);
		seen += used_all(f, q, lens);
	}
	return steps;
}

static void add_many(struct vfx *f, unsigned q, uint32_t len, bool write)
{
	uint64_t a = vfx_alloc(f, len);
	for (unsigned i = 0; i < MANY; i++) {
		struct vdq_buf b = { a, len, write };
		assert_true(vdq_add(&f->q[q], &b, 1, false) >= 0);
	}
	vdq_publish(&f->q[q]);
	vfx_kick(f, q);
}

/* One chain of n descriptors all naming the same `len` bytes. */
static void add_huge(struct vfx *f, unsigned q, unsigned n, uint32_t len,
		     bool write)
{
	struct vdq_buf b[64];
	uint64_t a = vfx_alloc(f, len);
	assert_true(n <= 64);
	for (unsigned i = 0; i < n; i++)
		b[i] = (struct vdq_buf){ a, len, write };
	assert_true(vdq_add(&f->q[q], b, n, false) >= 0);
	vdq_publish(&f->q[q]);
	vfx_kick(f, q);
}

static void test_rng(void **state)
{
	(void)state;
	struct vfx *f = vfx_new(VFX_MMIO);
	struct entropy *src = entropy_prng_new("e", 7);
	struct vrng_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f),
				 .src = src, .queue_size = QSZ };
	struct vrng *r = vrng_new(&c);
	vfx_attach(f, vrng_vdev(r));
	vfx_start(f, 0, 1, QSZ);
	/* 64 x 1 MiB at one address asks for 64 MiB in one chain: one
	 * kick serves a bounded answer (short answers are valid, §5.4). */
	add_huge(f, 0, 64, MIB, true);
	assert_true(vrng_get_stats(r)->bytes <= VDEV_BUDGET_BYTES);
	assert_int_equal(used_all(f, 0, NULL), 1);
	/* Many chains at once: a slice per kick or resume, all answered. */
	uint32_t lens[QSZ] = { 0 };
	add_many(f, 0, 4096, true);
	unsigned seen = used_all(f, 0, lens);
	assert_true(seen <= VDEV_BUDGET_CHAINS);
	assert_true(step_until_used(f, 0, seen, MANY, lens) > 1);
	for (unsigned i = 0; i < MANY; i++)
		assert_int_equal(lens[i], 4096);
	vfx_detach(f);
	vrng_free(r);
	vfx_free(f);
	entropy_close(src);
}

static void test_blk(void **state)
{
	(void)state;
	struct vfx *f = vfx_new(VFX_MMIO);
	struct blockdev *bd = blockdev_mem_new("d", 64 * MIB, false);
	struct vblk_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f),
				 .bd = bd, .queue_size = QSZ };
	struct vblk *b = vblk_new(&c);
	vfx_attach(f, vblk_vdev(b));
	vfx_start(f, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC), 1, QSZ);
	/* MANY reads of 64 KiB each: header, data, status. */
	struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_IN) };
	uint64_t hdr = vfx_put(f, &h, sizeof(h));
	uint64_t data = vfx_alloc(f, 64 * 1024), st = vfx_alloc(f, MANY);
	for (unsigned i = 0; i < MANY; i++) {
		struct vdq_buf v[3] = { { hdr, sizeof(h), false },
					{ data, 64 * 1024, true },
					{ st + i, 1, true } };
		/* Indirect: MANY chains of 3 fit the ring. */
		assert_true(vdq_add(&f->q[0], v, 3, true) >= 0);
	}
	vdq_publish(&f->q[0]);
	vfx_kick(f, 0);
	uint32_t lens[QSZ] = { 0 };
	unsigned seen = used_all(f, 0, lens);
	assert_true(seen * 64u * 1024u <= VDEV_BUDGET_BYTES + 64u * 1024u);
	step_until_used(f, 0, seen, MANY, lens);
	for (unsigned i = 0; i < MANY; i++)
		assert_int_equal(lens[i], 64 * 1024 + 1);
	assert_int_equal(vblk_get_stats(b)->ok, MANY);
	/* One read of 64 MiB, all 64 descriptors naming the same 1 MiB
	 * (the 49 s rng request, for blk): no kick or resume does more than
	 * a budget's worth, and the whole request still completes. */
	uint8_t *pat = malloc(MIB);
	for (unsigned i = 0; i < 64; i++) {
		memset(pat, (int)i + 1, MIB);
		assert_int_equal(blockdev_write(bd, (uint64_t)i * MIB, pat, MIB), 0);
	}
	uint64_t big = vfx_alloc(f, MIB);
	struct vdq_buf v[66];
	v[0] = (struct vdq_buf){ hdr, sizeof(h), false };
	for (unsigned i = 1; i <= 64; i++)
		v[i] = (struct vdq_buf){ big, MIB, true };
	v[65] = (struct vdq_buf){ st, 1, true };
	assert_true(vdq_add(&f->q[0], v, 66, false) >= 0);
	vdq_publish(&f->q[0]);
	uint64_t before = vblk_get_stats(b)->bytes_read;
	vfx_kick(f, 0);
	assert_int_equal(used_all(f, 0, NULL), 0);
	assert_true(step_until_used(f, 0, 0, 1, lens) >= 64 * MIB / VDEV_BUDGET_BYTES - 1);
	assert_int_equal(vblk_get_stats(b)->bytes_read - before, 64ull * MIB);
	assert_int_equal(gm_read(vfx_gm(f), big, pat, MIB), 0);
	assert_int_equal(pat[0], 64);
	assert_int_equal(pat[MIB - 1], 64);
	/* Write-zeroes of the whole disk: VBLK_ZERO_SLICE per entry. */
	struct virtio_blk_outhdr wz = { .type = htole32(VIRTIO_BLK_T_WRITE_ZEROES) };
	struct virtio_blk_discard_write_zeroes seg = {
		.sector = 0, .num_sectors = htole32(64 * MIB / 512) };
	struct vdq_buf z[3] = { { vfx_put(f, &wz, sizeof(wz)), sizeof(wz), false },
				{ vfx_put(f, &seg, sizeof(seg)), sizeof(seg), false },
				{ st, 1, true } };
	assert_true(vdq_add(&f->q[0], z, 3, false) >= 0);
	vdq_publish(&f->q[0]);
	vfx_kick(f, 0);
	assert_int_equal(used_all(f, 0, NULL), 0);
	assert_true(step_until_used(f, 0, 0, 1, NULL) >= 64 * MIB / VBLK_ZERO_SLICE - 1);
	assert_int_equal(blockdev_read(bd, 63 * MIB, pat, MIB), 0);
	assert_int_equal(pat[0], 0);
	assert_int_equal(pat[MIB - 1], 0);
	uint8_t status = 0xff;
	assert_int_equal(gm_read(vfx_gm(f), st, &status, 1), 0);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	free(pat);
	vfx_detach(f);
	vblk_free(b);
	vfx_free(f);
	blockdev_close(bd);
}

/* virtio-net on a loopback netdev, both queues live on the fixture. */
static struct vnet *net_start(struct vfx *f, struct netdev *nd)
{
	struct vnet_config c = { .gm = vfx_gm(f), .log = f->log, .nd = nd,
				 .clk = vfx_clk(f), .queue_size = QSZ };
	struct vnet *n = vnet_new(&c);
	vfx_attach(f, vnet_vdev(n));
	vfx_start(f, 0, 2, QSZ);
	return n;
}

static void net_stop(struct vfx *f, struct vnet *n, struct netdev *nd)
{
	vfx_detach(f);
	vnet_free(n);
	vfx_free(f);
	netdev_close(nd);
}

static void test_net_tx(void **state)
{
	(void)state;
	struct vfx *f = vfx_new(VFX_MMIO);
	struct netdev *nd = netdev_loop_new("n", false);
	struct vnet *n = net_start(f, nd);
	add_many(f, VNET_TXQ, 1500, false);
	unsigned seen = used_all(f, VNET_TXQ, NULL);
	assert_true(seen <= VDEV_BUDGET_CHAINS);
	step_until_used(f, VNET_TXQ, seen, MANY, NULL);
	assert_int_equal(vnet_get_stats(n)->tx_frames, MANY);
	net_stop(f, n, nd);
}

/* Frames held while the guest had no buffers (VNET_RX_QLEN of 60 KiB)
 * go out a budget at a time once buffers come, all of them. */
static void test_net_rx(void **state)
{
	(void)state;
	struct vfx *f = vfx_new(VFX_MMIO);
	struct netdev *nd = netdev_loop_new("n", false);
	struct vnet *n = net_start(f, nd);
	const size_t len = sizeof(struct virtio_net_hdr_v1) + 60000;
	uint8_t *fr = calloc(1, len);
	for (unsigned i = 0; i < VNET_RX_QLEN; i++)
		assert_int_equal(netdev_loop_inject(nd, fr, len), 0);
	assert_int_equal(vnet_rx_pending(n), VNET_RX_QLEN);
	uint64_t a = vfx_alloc(f, 65536);
	for (unsigned i = 0; i < VNET_RX_QLEN; i++) {
		struct vdq_buf b = { a, 65536, true };
		assert_true(vdq_add(&f->q[VNET_RXQ], &b, 1, false) >= 0);
	}
	vdq_publish(&f->q[VNET_RXQ]);
	vfx_kick(f, VNET_RXQ);
	unsigned seen = used_all(f, VNET_RXQ, NULL);
	assert_true(seen * len <= VDEV_BUDGET_BYTES + len);
	step_until_used(f, VNET_RXQ, seen, VNET_RX_QLEN, NULL);
	assert_int_equal(vnet_get_stats(n)->rx_frames, VNET_RX_QLEN);
	assert_int_equal(vnet_get_stats(n)->rx_dropped, 0);
	free(fr);
	net_stop(f, n, nd);
}

static void test_console_tx(void **state)
{
	(void)state;
	struct vfx *f = vfx_new(VFX_MMIO);
	struct vcon_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f),
				 .queue_size = QSZ };
	struct vcon *con = vcon_new(&c);
	/* A port with no backend discards: nothing ever pushes back, so
	 * only the budget stops a 64 MiB chain. */
	assert_int_equal(vcon_add_port(con, 0, NULL, true, NULL), 0);
	vfx_attach(f, vcon_vdev(con));
	vfx_start(f, 0, 2, QSZ);
	add_huge(f, 1, 64, MIB, false);
	assert_true(vcon_get_stats(con)->discarded <= VDEV_BUDGET_BYTES);
	assert_int_equal(used_all(f, 1, NULL), 0);
	assert_true(step_until_used(f, 1, 0, 1, NULL) >= 64 * MIB / VDEV_BUDGET_BYTES - 1);
	assert_int_equal(vcon_get_stats(con)->discarded, 64ull * MIB);
	vfx_detach(f);
	vcon_free(con);
	vfx_free(f);
}

static void test_balloon(void **state)
{
	(void)state;
	struct vfx *f = vfx_new(VFX_MMIO);
	struct balloon_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f),
				    .queue_size = QSZ };
	struct balloon *bl = balloon_new(&c);
	vfx_attach(f, balloon_vdev(bl));
	vfx_start(f, 0, 2, QSZ);
	/* MANY chains, each inflating one page (pfn 1000 + i). */
	for (unsigned i = 0; i < MANY; i++) {
		uint32_t pfn = htole32(1000 + i);
		struct vdq_buf b = { vfx_put(f, &pfn, 4), 4, false };
		assert_true(vdq_add(&f->q[BALLOON_INFLATEQ], &b, 1, false) >= 0);
	}
	vdq_publish(&f->q[BALLOON_INFLATEQ]);
	vfx_kick(f, BALLOON_INFLATEQ);
	unsigned seen = used_all(f, BALLOON_INFLATEQ, NULL);
	assert_true(seen <= VDEV_BUDGET_CHAINS);
	step_until_used(f, BALLOON_INFLATEQ, seen, MANY, NULL);
	assert_int_equal(balloon_inflated_pages(bl), MANY);
	vfx_detach(f);
	balloon_free(bl);
	vfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_blk),
		cmocka_unit_test(test_net_tx),
		cmocka_unit_test(test_net_rx),
		cmocka_unit_test(test_console_tx),
		cmocka_unit_test(test_balloon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
