/* virtio-pci behind a PCI-to-PCI bridge, end to end: found and driven by
 * the sim driver through type 1 config (MSI-X and INTx on the double-
 * swizzled GSI, memory forwarding gated by the bridge), and the board's
 * accel=sim self-test with Kata's pci-bridge line and functions behind it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/config.h"
#include "core/layout.h"
#include "machine/board.h"
#include "devices/pci/bridge.h"
#include "devices/pci/pci.h"
#include "sim/sim.h"
#include "sim/vdriver_queue.h"
#include "vdev_dummy.h"
#include "pci_fixture.h"
#include "sim/selftest.h"

#define BR_SLOT 2u
#define BR_DEVFN PCI_DEVFN(BR_SLOT, 0)

/* virtio-pci behind the bridge, found and driven by the sim driver (type 1
 * config, BARs in the bridge window it opens), a request completed with
 * an MSI-X message or an INTx level on the double-swizzled GSI. */
static void virtio_behind(bool msix)
{
	struct sim_config sc = { .ram_size = 32 << 20 };
	struct sim *s = sim_new(&sc);
	struct pci_host *h = pci_host_new(s->m.pio, s->m.mmio, LAYOUT_ECAM_BASE,
					  NULL, s->m.irqchip, NULL);
	struct pci_bridge *br = pci_bridge_new(1, true, "br", NULL);
	assert_int_equal(pci_host_attach(h, pci_bridge_dev(br), BR_SLOT, 0), 0);
	pci_bridge_set_buses(br, 0, 1, 1);
	struct dummy dev;
	dummy_init(&dev, s->m.gm);
	dev.complete_on_kick = true;
	struct virtio_pci *vp = virtio_pci_new(s->m.gm, NULL, s->m.irqchip, &dev.vd);
	assert_int_equal(pci_bridge_attach(br, virtio_pci_dev(vp), DUMMY_SLOT, 0), 0);
	/* Not on bus 0, and no bridge leads to bus 2. */
	struct vdriver drv;
	assert_int_equal(vdriver_pci_probe(&drv, s, DUMMY_SLOT, 0, msix), -ENODEV);
	assert_int_equal(vdriver_pci_probe_bus(&drv, s, 2, DUMMY_SLOT, 0, msix), -ENODEV);
	assert_int_equal(vdriver_pci_probe_bus(&drv, s, 1, DUMMY_SLOT, 0, msix), 0);
	assert_int_equal(drv.msix, msix);
	struct pci_bridge_windows w;
	pci_bridge_get_windows(br, &w);
	assert_true(drv.common >= w.mem_base && drv.common <= w.mem_limit);
	unsigned gsi = LAYOUT_GSI_PCI_INTX + (BR_SLOT + DUMMY_SLOT) % 4;
	assert_int_equal(drv.gsi, gsi);

	vdriver_set_memory(&drv, 0x100000, 0x100000);
	assert_int_equal(vdriver_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	struct vdq vq;
	assert_int_equal(vdriver_setup_queue(&drv, 0, &vq, 16), 0);
	vdriver_driver_ok(&drv);
	uint64_t buf = vdriver_alloc(&drv, 64, 16);
	struct vdq_buf b = { .gpa = buf, .len = 64, .write = true };
	assert_true(vdq_add(&vq, &b, 1, false) >= 0);
	vdq_publish(&vq);
	uint64_t msis = s->msi_count;
	assert_true(vdriver_kick(&drv, 0, &vq));
	assert_int_equal(dev.completed, 1);
	uint16_t id;
	uint32_t len;
	assert_int_equal(vdq_get_used(&vq, &id, &len), 1);
	assert_int_equal(len, 4);
	uint8_t mark[4];
	assert_int_equal(gm_read(s->m.gm, buf, mark, 4), 0);
	assert_int_equal(mark[0], 0xd0);
	if (msix) {
		assert_true(s->msi_count > msis);
		assert_int_equal(s->gsi_level[gsi], 0);
	} else {
		assert_int_equal(s->gsi_level[gsi], 1);
		assert_true(drv.bus->isr_ack(&drv) & 1);
		assert_int_equal(s->gsi_level[gsi], 0);
	}
	/* The bridge stops forwarding memory: the device is unreachable and
	 * its doorbell goes nowhere; re-enabled, it answers again. */
	uint64_t be = pcifx_ecam(0, BR_DEVFN, PCI_COMMAND);
	uint16_t cmd = (uint16_t)sim_mmio_read(s, be, 2);
	sim_mmio_write(s, be, 2, cmd & ~PCI_COMMAND_MEMORY);
	assert_int_equal(sim_mmio_read(s, drv.common, 4), 0xffffffff);
	sim_mmio_write(s, be, 2, cmd);
	assert_int_not_equal(sim_mmio_read(s, drv.common, 4), 0xffffffff);
	/* The bridge's Bus Master Enable gates what is behind it: with it
	 * off a request waits (no memory touched, no message); back on, it
	 * completes. */
	assert_true(vdq_add(&vq, &b, 1, false) >= 0);
	vdq_publish(&vq);
	sim_mmio_write(s, be, 2, cmd & ~PCI_COMMAND_MASTER);
	msis = s->msi_count;
	assert_true(vdriver_kick(&drv, 0, &vq));
	assert_int_equal(dev.completed, 1);
	assert_int_equal(vdq_get_used(&vq, &id, &len), 0);
	sim_mmio_write(s, be, 2, cmd);
	assert_int_equal(dev.completed, 2);
	assert_int_equal(vdq_get_used(&vq, &id, &len), 1);
	if (msix)
		assert_true(s->msi_count > msis);
	else
		drv.bus->isr_ack(&drv);
	/* Secondary Bus Reset resets the virtio function too: DRIVER_OK and
	 * the queue are gone, a kick does nothing. */
	assert_true(drv.bus->get_status(&drv) & VIRTIO_STATUS_DRIVER_OK);
	struct vdev *vd = virtio_pci_vdev(vp);
	assert_true(vd->vqs[0].cfg.size != 0);
	uint64_t bc = pcifx_ecam(0, BR_DEVFN, PCI_BRIDGE_CONTROL);
	uint16_t ctl = (uint16_t)sim_mmio_read(s, bc, 2);
	sim_mmio_write(s, bc, 2, ctl | PCI_BRIDGE_CTL_BUS_RESET);
	sim_mmio_write(s, bc, 2, ctl);
	assert_int_equal(vd->status, 0);
	assert_int_equal(vd->vqs[0].cfg.size, 0);
	assert_false(pci_bus_master(virtio_pci_dev(vp)));
	vdriver_reset(&drv);
	virtio_pci_free(vp);
	pci_bridge_free(br);
	pci_host_free(h);
	sim_free(s);
}

static void test_virtio_behind_bridge_msix(void **state)
{
	(void)state;
	virtio_behind(true);
}

static void test_virtio_behind_bridge_intx(void **state)
{
	(void)state;
	virtio_behind(false);
}

/* The board (machine/board_virtio.c) with Kata's pci-bridge line and
 * functions behind it, run through the accel=sim self-test: the bridge
 * line is an ok line naming its header and the functions it reaches, the
 * disk and rng behind it are driven through it, and nothing FAILs. */
static void test_board_kata_bridge(void **state)
{
	(void)state;
	char disk[] = "/tmp/vmm-bridge-disk.XXXXXX";
	int fd = mkstemp(disk);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "BRIDGED", 7), 7);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	char drive[128];
	snprintf(drive, sizeof(drive), "id=drive-0,file=%s,if=none,format=raw", disk);
	char *argv[] = {
		"vmm", "-machine", "q35,accel=sim", "-m", "256M",
		"-device", "pci-bridge,bus=pcie.0,id=pci-bridge-0,chassis_nr=1,shpc=on,addr=2",
		"-object", "rng-random,id=rng0,filename=/dev/urandom",
		"-device", "virtio-rng-pci,rng=rng0",
		"-drive", drive,
		"-device", "virtio-blk-pci,drive=drive-0,bus=pci-bridge-0,addr=1",
		"-object", "rng-random,id=rng1,filename=/dev/urandom",
		"-device", "virtio-rng-pci,rng=rng1,bus=pci-bridge-0,addr=3",
		NULL,
	};
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	char err[256] = "";
	assert_int_equal(config_parse(cfg, (int)(sizeof(argv) / sizeof(argv[0])) - 1,
				      argv, err, sizeof(err)), 0);
	char *out = NULL;
	size_t outlen = 0;
	FILE *m = open_memstream(&out, &outlen);
	int rc = selftest_run(cfg, NULL, m, err, sizeof(err));
	fclose(m);
	unlink(disk);
	if (rc != 0)
		print_message("%s\n%s\n", out, err);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "ok: pci-bridge pci-bridge-0 at 00:02.0: class 0604 "
			       "header type 1, buses 00/01/01, chassis 1, 2 of 2 "
			       "functions behind it answer on bus 01"));
	assert_non_null(strstr(out, "ok: virtio-blk over virtio-pci behind a bridge: "
			       "sector 0 \"BRIDGED"));
	assert_non_null(strstr(out, "ok: virtio-rng over virtio-pci behind a bridge"));
	assert_non_null(strstr(out, "ok: virtio-rng over virtio-pci: "));
	assert_null(strstr(out, "FAIL"));
	free(out);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_virtio_behind_bridge_msix),
		cmocka_unit_test(test_virtio_behind_bridge_intx),
		cmocka_unit_test(test_board_kata_bridge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
