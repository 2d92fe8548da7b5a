/* virtio-mem-pci hot-added in the simulator (issue 17, as Kata resizes
 * with it): object-add and device_add's steps on a q35 board with
 * "-m 128M,slots=2,maxmem=1G" and a pcie-root-port.  The function shows
 * up behind the port by PCIe native hot-plug; the sim guest driver binds
 * it, finds its region at the start of the memory-device window (first
 * fit, as QEMU places it), plugs the requested blocks and uses them as
 * RAM; qom-set's path raises requested_size.  A second virtio-mem finds
 * its region after the first one's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "devices/pci/pci.h"
#include "devices/virtio/mem.h"
#include "devices/virtio/virtio.h"
#include "machine/board.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "sim/vdriver_queue.h"
#include "pci_fixture.h"

#define RP_SLOT 2u
#define WIN 0x100000000ull
#define BS (2ull << 20)

struct vfix {
	struct machine_config cfg;
	struct layout l;
	struct sim *s;
	struct board *b;
	struct board_host host;
	char err[512];
};

static struct vfix *mk(void)
{
	struct vfix *f = calloc(1, sizeof(*f));
	char *argv[] = { "vmm", "-machine", "q35", "-m", "128M,slots=2,maxmem=1G",
			 "-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=4,addr=2",
			 "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=2,slot=5,addr=3",
			 NULL };
	if (config_parse(&f->cfg, 9, argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	f->s = sim_new(&sc);
	f->host = (struct board_host){ .wall_epoch = 1767225600 };
	f->b = board_new(&f->s->m, &f->cfg, &f->l, &f->host, f->err, sizeof(f->err));
	if (!f->b)
		fail_msg("board_new: %s", f->err);
	return f;
}

static void rm(struct vfix *f)
{
	board_free(f->b);
	sim_free(f->s);
	free(f);
}

/* device_add's steps (kvm_hotplug.c; the KVM backend maps the region
 * with its memory slot first, the simulator's board maps it itself). */
static int hot_add(struct vfix *f, const char *opts)
{
	if (config_add_device(&f->cfg, opts, f->err, sizeof(f->err)) < 0)
		return -1;
	if (layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)) < 0 ||
	    board_hotplug_add(f->b, f->cfg.ndevices - 1, f->err, sizeof(f->err)) < 0) {
		f->cfg.ndevices--;
		layout_build(&f->l, &f->cfg, NULL, 0);
		return -1;
	}
	return 0;
}

static uint64_t cfg64(struct vdriver *d, size_t off)
{
	return d->bus->config_read(d, (uint32_t)off, 4) |
	       (uint64_t)d->bus->config_read(d, (uint32_t)off + 4, 4) << 32;
}

static int plug(struct vfix *f, struct vdriver *d, struct vdq *vq, uint64_t addr,
		uint16_t nb)
{
	struct virtio_mem_req r = { .type = htole16(VIRTIO_MEM_REQ_PLUG),
				    .addr = htole64(addr), .nb_blocks = htole16(nb) };
	uint64_t rp = vdriver_alloc(d, sizeof(r), 16);
	uint64_t sp = vdriver_alloc(d, sizeof(struct virtio_mem_resp), 16);
	assert_int_equal(gm_write(f->s->m.gm, rp, &r, sizeof(r)), 0);
	struct vdq_buf b[2] = { { rp, sizeof(r), false },
				{ sp, sizeof(struct virtio_mem_resp), true } };
	assert_true(vdq_add(vq, b, 2, false) >= 0);
	vdq_publish(vq);
	vdriver_kick(d, 0, vq);
	uint16_t id;
	uint32_t len;
	int got = 0;
	for (int i = 0; i < 100 && (got = vdq_get_used(vq, &id, &len)) == 0; i++) {
		uint64_t next = sim_next_deadline(f->s);
		if (next == UINT64_MAX)
			break;
		sim_clock_step(f->s, next > f->s->now_ns ? next - f->s->now_ns : 0);
	}
	assert_int_equal(got, 1);
	struct virtio_mem_resp resp;
	assert_int_equal(gm_read(f->s->m.gm, sp, &resp, sizeof(resp)), 0);
	return le16toh(resp.type);
}

static void test_hot_add_and_plug(void **state)
{
	(void)state;
	struct vfix *f = mk();
	unsigned before = board_device_count(f->b);
	assert_int_equal(config_add_object(&f->cfg, "memory-backend-ram,id=vm1,size=64M",
					   f->err, sizeof(f->err)), 0);
	/* No room in the window: refused, nothing left behind. */
	assert_int_equal(config_add_object(&f->cfg, "memory-backend-ram,id=big,size=2G",
					   f->err, sizeof(f->err)), 0);
	assert_int_equal(hot_add(f, "virtio-mem-pci,id=vb,memdev=big,bus=rp0"), -1);
	assert_non_null(strstr(f->err, "not enough space"));
	assert_int_equal(board_device_count(f->b), before);
	assert_null(board_vmem(f->b, "vb"));

	assert_int_equal(hot_add(f, "virtio-mem-pci,id=v1,memdev=vm1,bus=rp0,requested-size=4M"), 0);
	assert_int_equal(board_device_count(f->b), before + 1);
	struct vmem *m = board_vmem(f->b, "v1");
	assert_non_null(m);
	/* Presence Detect on the port: the function is there to bind. */
	struct vdriver d;
	assert_int_equal(vdriver_pci_probe_bus(&d, f->s, 1, 0, 0, false), 0);
	assert_int_equal(vdriver_pci_virtio_id(&d), VIRTIO_ID_MEM);
	vdriver_set_memory(&d, 0x100000, 0x100000);
	assert_int_equal(vdriver_negotiate(&d, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	assert_int_equal(cfg64(&d, offsetof(struct virtio_mem_config, addr)), WIN);
	assert_int_equal(cfg64(&d, offsetof(struct virtio_mem_config, region_size)), 64ull << 20);
	assert_int_equal(cfg64(&d, offsetof(struct virtio_mem_config, block_size)), BS);
	assert_int_equal(cfg64(&d, offsetof(struct virtio_mem_config, requested_size)), 4ull << 20);
	struct vdq vq;
	assert_int_equal(vdriver_setup_queue(&d, 0, &vq, 8), 0);
	vdriver_driver_ok(&d);
	assert_int_equal(plug(f, &d, &vq, WIN, 2), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(vmem_plugged(m), 4ull << 20);
	/* Past requested_size: NACK (virtio 1.2 §5.15.6.2). */
	assert_int_equal(plug(f, &d, &vq, WIN + 2 * BS, 1), VIRTIO_MEM_RESP_NACK);
	/* The plugged blocks are guest RAM. */
	uint64_t v = 0x1122334455667788ull;
	assert_int_equal(gm_write_u64le(f->s->m.gm, WIN + BS + 8, v), 0);
	v = 0;
	assert_int_equal(gm_read_u64le(f->s->m.gm, WIN + BS + 8, &v), 0);
	assert_int_equal(v, 0x1122334455667788ull);
	/* qom-set requested-size (kvm_memhp.c's path): more to plug. */
	assert_int_equal(vmem_set_requested(m, 8ull << 20), 0);
	assert_int_equal(plug(f, &d, &vq, WIN + 2 * BS, 2), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(vmem_plugged(m), 8ull << 20);

	/* A second one, behind the other port, right after the first. */
	assert_int_equal(config_add_object(&f->cfg, "memory-backend-ram,id=vm2,size=32M",
					   f->err, sizeof(f->err)), 0);
	assert_int_equal(hot_add(f, "virtio-mem-pci,id=v2,memdev=vm2,bus=rp1"), 0);
	struct vdriver d2;
	assert_int_equal(vdriver_pci_probe_bus(&d2, f->s, 2, 0, 0, false), 0);
	assert_int_equal(vdriver_pci_virtio_id(&d2), VIRTIO_ID_MEM);
	assert_int_equal(vdriver_negotiate(&d2, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	assert_int_equal(cfg64(&d2, offsetof(struct virtio_mem_config, addr)), WIN + (64ull << 20));
	rm(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hot_add_and_plug),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
