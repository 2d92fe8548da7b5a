/* A virtio-pci function with Bus Master Enable clear neither reads nor
 * writes guest memory nor sends an MSI-X message, whatever triggers the
 * work (PCI 3.0 §6.2.2): host-side work (net and console input, the rng
 * and blk timers, balloon target changes) waits, and goes on, nothing
 * lost, once the driver sets BME again.  One test per device, played by
 * the sim guest driver on virtio-pci; the guest RAM is compared byte for
 * byte across the BME-off window. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/blockdev.h"
#include "core/chardev.h"
#include "core/entropy.h"
#include "core/netdev.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"
#include "vdev_fixture.h"

#define QSZ 16u

struct ram {
	const uint8_t *host;
	size_t size;
	uint8_t *copy;
	uint64_t msis;
};

static void bme(struct vfx *f, bool on)
{
	uint32_t cmd = vdriver_pci_cfg_read(&f->d, PCI_COMMAND, 2);
	cmd = on ? cmd | PCI_COMMAND_MASTER : cmd & ~PCI_COMMAND_MASTER;
	vdriver_pci_cfg_write(&f->d, PCI_COMMAND, 2, cmd);
}

/* Clear BME and remember all of guest RAM and the MSI count. */
static void off_and_snapshot(struct vfx *f, struct ram *r)
{
	bme(f, false);
	const struct gm_region *g = gm_region_at(vfx_gm(f), 0);
	r->host = g->host;
	r->size = (size_t)g->size;
	r->copy = malloc(r->size);
	assert_non_null(r->copy);
	memcpy(r->copy, r->host, r->size);
	r->msis = f->sim->msi_count;
}

/* Nothing was written and nothing signalled while BME was off. */
static void assert_untouched(struct vfx *f, struct ram *r)
{
	assert_int_equal(memcmp(r->copy, r->host, r->size), 0);
	assert_int_equal(f->sim->msi_count, r->msis);
	free(r->copy);
}

static int used(struct vfx *f, unsigned q, uint32_t *len)
{
	uint16_t id;
	return vfx_used(f, q, &id, len);
}

static void test_rng_timer(void **state)
{
	(void)state;
	struct vfx *f = vfx_new(VFX_PCI);
	struct entropy *src = entropy_prng_new("e", 3);
	/* 64 bytes a second: the second buffer waits for the timer. */
	struct vrng_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f),
				 .src = src, .max_bytes = 64, .period_ms = 1000 };
	struct vrng *r = vrng_new(&c);
	vfx_attach(f, vrng_vdev(r));
	vfx_start(f, 0, 1, QSZ);
	struct vdq_buf b = { vfx_alloc(f, 64), 64, true };
	vfx_add(f, 0, &b, 1);
	struct vdq_buf b2 = { vfx_alloc(f, 64), 64, true };
	vfx_add(f, 0, &b2, 1);
	uint32_t len;
	assert_int_equal(used(f, 0, &len), 1);
	assert_int_equal(used(f, 0, &len), 0);
	struct ram ram;
	off_and_snapshot(f, &ram);
	sim_clock_step(f->sim, 3000000000ull); /* the refill timer fires */
	assert_untouched(f, &ram);
	uint64_t msis = f->sim->msi_count;
	bme(f, true);
	assert_int_equal(used(f, 0, &len), 1);
	assert_int_equal(len, 64);
	assert_true(f->sim->msi_count > msis);
	vfx_detach(f);
	vrng_free(r);
	vfx_free(f);
	entropy_close(src);
}

static void test_blk_throttle_timer(void **state)
{
	(void)state;
	struct vfx *f = vfx_new(VFX_PCI);
	struct blockdev *bd = blockdev_mem_new("d", 1 << 20, false);
	/* One request per second: the second waits for the timer. */
	struct vblk_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f),
				 .bd = bd, .iops_total = 1 };
	struct vblk *v = vblk_new(&c);
	vfx_attach(f, vblk_vdev(v));
	vfx_start(f, 0, 1, QSZ);
	struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_IN) };
	uint64_t hdr = vfx_put(f, &h, sizeof(h));
	for (int i = 0; i < 2; i++) {
		struct vdq_buf s[3] = { { hdr, sizeof(h), false },
					{ vfx_alloc(f, 512), 512, true },
					{ vfx_alloc(f, 1), 1, true } };
		vfx_add(f, 0, s, 3);
	}
	uint32_t len;
	assert_int_equal(used(f, 0, &len), 1);
	assert_int_equal(used(f, 0, &len), 0);
	struct ram ram;
	off_and_snapshot(f, &ram);
	sim_clock_step(f->sim, 3000000000ull);
	assert_untouched(f, &ram);
	bme(f, true);
	assert_int_equal(used(f, 0, &len), 1);
	assert_int_equal(len, 513);
	assert_int_equal(vblk_get_stats(v)->ok, 2);
	vfx_detach(f);
	vblk_free(v);
	vfx_free(f);
	blockdev_close(bd);
}

static void test_net_rx(void **state)
{
	(void)state;
	struct vfx *f = vfx_new(VFX_PCI);
	struct netdev *nd = netdev_loop_new("n", false);
	struct vnet_config c = { .gm = vfx_gm(f), .log = f->log, .nd = nd,
				 .clk = vfx_clk(f) };
	struct vnet *n = vnet_new(&c);
	vfx_attach(f, vnet_vdev(n));
	vfx_start(f, 0, 2, QSZ);
	struct vdq_buf b = { vfx_alloc(f, 2048), 2048, true };
	vfx_add(f, VNET_RXQ, &b, 1);
	struct ram ram;
	off_and_snapshot(f, &ram);
	uint8_t fr[sizeof(struct virtio_net_hdr_v1) + 60] = { 0 };
	memset(fr + sizeof(struct virtio_net_hdr_v1), 0x5a, 60);
	assert_int_equal(netdev_loop_inject(nd, fr, sizeof(fr)), 0);
	assert_untouched(f, &ram);
	assert_int_equal(vnet_get_stats(n)->rx_dropped, 0);
	bme(f, true);
	uint32_t len;
	assert_int_equal(used(f, VNET_RXQ, &len), 1);
	assert_int_equal(len, sizeof(fr));
	uint8_t got[60];
	assert_int_equal(gm_read(vfx_gm(f), b.gpa + sizeof(struct virtio_net_hdr_v1),
				 got, 60), 0);
	assert_memory_equal(got, fr + sizeof(struct virtio_net_hdr_v1), 60);
	vfx_detach(f);
	vnet_free(n);
	vfx_free(f);
	netdev_close(nd);
}

static void test_console_rx(void **state)
{
	(void)state;
	struct vfx *f = vfx_new(VFX_PCI);
	struct chr *chr = chr_mem_new("c", 0);
	struct vcon_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f) };
	struct vcon *con = vcon_new(&c);
	assert_int_equal(vcon_add_port(con, 0, chr, true, NULL), 0);
	vfx_attach(f, vcon_vdev(con));
	vfx_start(f, 0, 2, QSZ);
	struct vdq_buf b = { vfx_alloc(f, 64), 64, true };
	vfx_add(f, 0, &b, 1);
	struct ram ram;
	off_and_snapshot(f, &ram);
	assert_int_equal(chr_mem_push_input(chr, (const uint8_t *)"typed", 5), 5);
	assert_untouched(f, &ram);
	bme(f, true);
	uint32_t len;
	assert_int_equal(used(f, 0, &len), 1);
	assert_int_equal(len, 5);
	char got[5];
	assert_int_equal(gm_read(vfx_gm(f), b.gpa, got, 5), 0);
	assert_memory_equal(got, "typed", 5);
	vfx_detach(f);
	vcon_free(con);
	vfx_free(f);
	chr_close(chr);
}

static void test_balloon_host_requests(void **state)
{
	(void)state;
	struct vfx *f = vfx_new(VFX_PCI);
	struct balloon_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f),
				    .stats = true };
	struct balloon *bl = balloon_new(&c);
	vfx_attach(f, balloon_vdev(bl));
	f->d.bus->config_irq_setup(&f->d);
	vfx_start(f, VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ), 3, QSZ);
	/* The driver's stats buffer, held by the device until the host asks. */
	struct virtio_balloon_stat st = { .tag = htole16(0), .val = htole64(7) };
	struct vdq_buf b = { vfx_put(f, &st, sizeof(st)), sizeof(st), false };
	vfx_add(f, BALLOON_STATSQ, &b, 1);
	struct ram ram;
	off_and_snapshot(f, &ram);
	/* The host asks for stats and changes the target: no used ring
	 * write, no config interrupt message. */
	assert_false(balloon_request_stats(bl));
	balloon_set_target(bl, 100);
	assert_untouched(f, &ram);
	uint64_t msis = f->sim->msi_count;
	bme(f, true);
	/* The held config-change message goes out; the stats request can
	 * be made again and now hands the buffer back. */
	assert_true(f->sim->msi_count > msis);
	assert_true(balloon_request_stats(bl));
	uint32_t len;
	assert_int_equal(used(f, BALLOON_STATSQ, &len), 1);
	vfx_detach(f);
	balloon_free(bl);
	vfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_timer),
		cmocka_unit_test(test_blk_throttle_timer),
		cmocka_unit_test(test_net_rx),
		cmocka_unit_test(test_console_rx),
		cmocka_unit_test(test_balloon_host_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
