/* core/layout: RAM around the 32-bit hole, the nvdimm window, virtio-mmio
 * slots and GSIs, PCI slot assignment, INTx swizzle, and the errors. */
#include "config_fixture.h"
#include "core/layout.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static struct layout *lay(const struct machine_config *cfg)
{
	struct layout *l = calloc(1, sizeof(*l));
	char err[256];

	assert_non_null(l);
	if (layout_build(l, cfg, err, sizeof(err)))
		fail_msg("layout_build: %s", err);
	return l;
}

static void lay_bad(const struct machine_config *cfg, const char *want)
{
	struct layout *l = calloc(1, sizeof(*l));
	char err[256];

	assert_non_null(l);
	assert_int_equal(layout_build(l, cfg, err, sizeof(err)), -1);
	if (strncmp(err, "vmm: ", 5) || !strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
	free(l);
}

static void test_ram_small(void **state)
{
	struct machine_config *cfg = CFG_OK("-m", "512M", "-smp", "2");
	struct layout *l = lay(cfg);

	(void)state;
	assert_int_equal(l->nram, 1);
	assert_int_equal(l->ram[0].gpa, 0);
	assert_int_equal(l->ram[0].size, 512 * MiB);
	assert_int_equal(l->ram_top, 512 * MiB);
	assert_int_equal(l->ncpus, 2);
	assert_false(l->pci);
	assert_int_equal(l->mmio64_size, 0);
	/* Device memory always starts above 4 GiB, 1 GiB aligned. */
	assert_int_equal(l->devmem_base, 4 * GiB);
	assert_int_equal(l->devmem_size, 0);
	free(l);
	free(cfg);
}

static void test_ram_split(void **state)
{
	struct machine_config *cfg = CFG_OK("-m", "3G");
	struct layout *l = lay(cfg);

	(void)state;
	assert_int_equal(l->nram, 1);
	assert_int_equal(l->ram[0].size, 3 * GiB);
	free(l);
	free(cfg);

	cfg = CFG_OK("-m", "3073M");  /* one MiB over: it goes above 4 GiB */
	l = lay(cfg);
	assert_int_equal(l->nram, 2);
	assert_int_equal(l->ram[0].size, LAYOUT_LOW_RAM_END);
	assert_int_equal(l->ram[1].gpa, LAYOUT_HOLE_END);
	assert_int_equal(l->ram[1].size, MiB);
	assert_int_equal(l->ram_top, 4 * GiB + MiB);
	assert_int_equal(l->devmem_base, 5 * GiB);
	free(l);
	free(cfg);

	cfg = CFG_OK("-m", "4608M", "-machine", "q35");
	l = lay(cfg);
	assert_int_equal(l->ram[1].size, 1536 * MiB);
	assert_int_equal(l->ram_top, 5632 * MiB);
	assert_int_equal(l->devmem_base, 6 * GiB);
	assert_true(l->pci);
	assert_int_equal(l->mmio64_base, 6 * GiB);
	assert_int_equal(l->mmio64_size, LAYOUT_MMIO64_SIZE);
	/* No RAM range touches the hole. */
	for (unsigned i = 0; i < l->nram; i++)
		assert_true(l->ram[i].gpa + l->ram[i].size <= LAYOUT_LOW_RAM_END ||
			    l->ram[i].gpa >= LAYOUT_HOLE_END);
	free(l);
	free(cfg);
}

static void test_nvdimm_window(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-machine", "microvm,nvdimm=on", "-m", "512M",
		"-object", "memory-backend-file,id=a,mem-path=a.img,size=256M",
		"-object", "memory-backend-file,id=b,mem-path=b.img,size=3M",
		"-object", "memory-backend-ram,id=c,size=4M",
		"-device", "nvdimm,memdev=a", "-device", "nvdimm,memdev=b",
		"-device", "nvdimm,memdev=c,label-size=128K");
	struct layout *l = lay(cfg);

	(void)state;
	assert_int_equal(l->devs[0].pmem_base, 4 * GiB);
	assert_int_equal(l->devs[0].pmem_size, 256 * MiB);
	assert_int_equal(l->devs[1].pmem_base, 4 * GiB + 256 * MiB);
	assert_int_equal(l->devs[1].pmem_size, 3 * MiB);
	/* 2 MiB alignment for the next one (DAX huge pages). */
	assert_int_equal(l->devs[2].pmem_base, 4 * GiB + 260 * MiB);
	/* The label area is the backend's tail: the guest sees the rest. */
	assert_int_equal(l->devs[2].pmem_size, 4 * MiB - 128 * 1024);
	/* Without maxmem the window is just big enough. */
	assert_int_equal(l->devmem_size, 264 * MiB);
	assert_false(l->devs[0].has_gsi);
	assert_int_equal(l->devs[0].pci_slot, -1);
	free(l);
	free(cfg);
}

static void test_nvdimm_maxmem(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-machine", "q35,nvdimm=on", "-m", "2048M,slots=10,maxmem=16811M",
		"-object", "memory-backend-file,id=mem0,mem-path=r.img,size=268435456,readonly=on",
		"-device", "nvdimm,id=nv0,memdev=mem0,unarmed=on");
	struct layout *l = lay(cfg);

	(void)state;
	assert_int_equal(l->devmem_base, 4 * GiB);
	assert_int_equal(l->devmem_size, (16811 - 2048) * MiB);
	assert_int_equal(l->devs[0].pmem_base, 4 * GiB);
	/* MMIO64 follows the device-memory window, 1 GiB aligned. */
	assert_int_equal(l->mmio64_base, (4 * GiB + (16811 - 2048) * MiB + GiB - 1) & ~(GiB - 1));
	free(l);
	free(cfg);

	/* maxmem - m smaller than the nvdimms: refused. */
	cfg = CFG_OK("-machine", "microvm,nvdimm=on", "-m", "1G,slots=1,maxmem=1100M",
		     "-object", "memory-backend-file,id=m,mem-path=x,size=256M",
		     "-device", "nvdimm,memdev=m");
	lay_bad(cfg, "the nvdimms need 256 MiB of device memory but maxmem - size leaves 76 MiB");
	free(cfg);
	/* Exactly fitting is fine. */
	cfg = CFG_OK("-machine", "microvm,nvdimm=on", "-m", "1G,slots=1,maxmem=1280M",
		     "-object", "memory-backend-file,id=m,mem-path=x,size=256M",
		     "-device", "nvdimm,memdev=m");
	l = lay(cfg);
	assert_int_equal(l->devmem_size, 256 * MiB);
	free(l);
	free(cfg);
}

static void test_nvdimm_too_many(void **state)
{
	const char *args[64];
	static const char *const objs[] = {
		"memory-backend-ram,id=m0,size=2M", "memory-backend-ram,id=m1,size=2M",
		"memory-backend-ram,id=m2,size=2M", "memory-backend-ram,id=m3,size=2M",
		"memory-backend-ram,id=m4,size=2M", "memory-backend-ram,id=m5,size=2M",
		"memory-backend-ram,id=m6,size=2M", "memory-backend-ram,id=m7,size=2M",
		"memory-backend-ram,id=m8,size=2M" };
	static const char *const devs[] = {
		"nvdimm,memdev=m0", "nvdimm,memdev=m1", "nvdimm,memdev=m2",
		"nvdimm,memdev=m3", "nvdimm,memdev=m4", "nvdimm,memdev=m5",
		"nvdimm,memdev=m6", "nvdimm,memdev=m7", "nvdimm,memdev=m8" };
	struct machine_config *cfg;
	int n = 0;

	(void)state;
	args[n++] = "-machine";
	args[n++] = "microvm,nvdimm=on";
	for (int i = 0; i < 9; i++) {
		args[n++] = "-object";
		args[n++] = objs[i];
		args[n++] = "-device";
		args[n++] = devs[i];
	}
	args[n] = NULL;
	cfg = cfgt_ok(args);
	lay_bad(cfg, "too many nvdimms (at most 8)");
	free(cfg);
}

static void test_virtio_mmio_gsis(void **state)
{
	static const unsigned want[] = { 5, 6, 7, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23 };
	const char *args[64];
	struct machine_config *cfg;
	struct layout *l;
	int n = 0;

	(void)state;
	args[n++] = "-device";
	args[n++] = "isa-debug-exit";  /* takes no slot */
	for (int i = 0; i < 13; i++) {
		args[n++] = "-device";
		args[n++] = "virtio-serial-device";
	}
	args[n] = NULL;
	cfg = cfgt_ok(args);
	l = lay(cfg);
	assert_int_equal(l->ndevs, 14);
	assert_int_equal(l->nvirtio_mmio, 13);
	assert_int_equal(l->devs[0].mmio_size, 0);
	assert_false(l->devs[0].has_gsi);
	for (int i = 0; i < 13; i++) {
		const struct layout_dev *ld = layout_dev_for(l, i + 1);

		assert_int_equal(ld->cfg_index, i + 1);
		assert_int_equal(ld->mmio_base, LAYOUT_VIRTIO_MMIO_BASE + (uint64_t)i * 0x1000);
		assert_int_equal(ld->mmio_size, LAYOUT_VIRTIO_MMIO_SIZE);
		assert_int_equal(ld->gsi, want[i]);
		assert_true(ld->has_gsi);
		/* Never a legacy or PCI INTx line. */
		assert_true(ld->gsi != LAYOUT_GSI_PIT && ld->gsi != LAYOUT_GSI_COM1 &&
			    ld->gsi != LAYOUT_GSI_COM2 && ld->gsi != LAYOUT_GSI_RTC &&
			    ld->gsi != LAYOUT_GSI_ACPI_SCI && ld->gsi < LAYOUT_IOAPIC_PINS &&
			    (ld->gsi < 16 || ld->gsi > 19));
	}
	free(l);
	free(cfg);
	args[n++] = "-device";
	args[n++] = "virtio-balloon-device";
	args[n] = NULL;
	cfg = cfgt_ok(args);
	lay_bad(cfg, "too many virtio-mmio devices (at most 13");
	free(cfg);
	assert_null(layout_dev_for(l = calloc(1, sizeof(*l)), 0));
	assert_null(layout_dev_for(l, -1));
	free(l);
}

static void test_pci_slots(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-machine", "q35", "-device", "virtio-balloon-pci,addr=2",
		"-netdev", "tap,id=n,ifname=t", "-device", "virtio-net-pci,netdev=n",
		"-object", "rng-random,id=r", "-device", "virtio-rng-pci,rng=r",
		"-device", "virtio-serial-pci,addr=5.0,multifunction=on",
		"-chardev", "null,id=c", "-device", "virtconsole,chardev=c",
		"-drive", "id=d,file=f", "-device", "virtio-blk-pci,drive=d,addr=5.1",
		"-device", "virtio-serial-device");
	struct layout *l = lay(cfg);

	(void)state;
	/* Explicit addresses stay; the rest take the first free slot from 1. */
	assert_int_equal(l->devs[0].pci_slot, 2);
	assert_int_equal(l->devs[1].pci_slot, 1);
	assert_int_equal(l->devs[2].pci_slot, 3);
	assert_int_equal(l->devs[3].pci_slot, 5);
	assert_int_equal(l->devs[5].pci_slot, 5);
	assert_int_equal(l->devs[5].pci_func, 1);
	for (int i = 0; i < 6; i++)
		if (i != 4)
			assert_int_equal(l->devs[i].pci_bus, 0);
	/* virtconsole sits on its virtio-serial: no slot, no interrupt. */
	assert_int_equal(l->devs[4].pci_slot, -1);
	assert_false(l->devs[4].has_gsi);
	/* INTA of slot S on bus 0 -> GSI 16 + S % 4. */
	assert_int_equal(l->devs[0].gsi, 18);
	assert_int_equal(l->devs[1].gsi, 17);
	assert_int_equal(l->devs[2].gsi, 19);
	assert_int_equal(l->devs[3].gsi, 17);
	assert_int_equal(l->devs[5].gsi, 17);
	/* The mmio device on q35 still gets a window. */
	assert_int_equal(l->devs[6].mmio_base, LAYOUT_VIRTIO_MMIO_BASE);
	assert_int_equal(l->devs[6].gsi, 5);
	assert_int_equal(l->devs[6].pci_slot, -1);
	assert_int_equal(l->npci_buses, 1);
	free(l);
	free(cfg);
}

static void test_pci_bridge(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-machine", "q35",
		"-device", "pci-bridge,id=b1,addr=2,chassis_nr=1",
		"-device", "pci-bridge,id=b2,shpc=on,chassis_nr=2",
		"-device", "virtio-balloon-pci,bus=b1",
		"-device", "virtio-serial-pci,bus=b1,addr=3",
		"-device", "virtio-serial-pci,bus=b2",
		"-device", "virtio-serial-pci");
	struct layout *l = lay(cfg);

	(void)state;
	assert_int_equal(l->npci_buses, 3);
	assert_int_equal(l->devs[0].bridge_bus, 1);
	assert_int_equal(l->devs[1].bridge_bus, 2);
	assert_int_equal(l->devs[0].pci_slot, 2);
	assert_int_equal(l->devs[1].pci_slot, 1);
	/* Behind b1 (no SHPC) slot 0 is free; behind b2 (SHPC) it is not. */
	assert_int_equal(l->devs[2].pci_bus, 1);
	assert_int_equal(l->devs[2].pci_slot, 0);
	assert_int_equal(l->devs[3].pci_bus, 1);
	assert_int_equal(l->devs[3].pci_slot, 3);
	assert_int_equal(l->devs[4].pci_bus, 2);
	assert_int_equal(l->devs[4].pci_slot, 1);
	assert_int_equal(l->devs[5].pci_bus, 0);
	assert_int_equal(l->devs[5].pci_slot, 3);
	assert_int_equal(l->devs[2].bridge_bus, -1);
	/* Swizzle: pin' = (0 + dev slot) % 4, GSI = 16 + (bridge slot + pin') % 4. */
	assert_int_equal(l->devs[2].gsi, 16 + (2 + 0) % 4);
	assert_int_equal(l->devs[3].gsi, 16 + (2 + 3) % 4);
	assert_int_equal(l->devs[4].gsi, 16 + (1 + 1) % 4);
	assert_int_equal(layout_intx_gsi(5, 3), 16);
	free(l);
	free(cfg);
}

/* Kata's seed command line (/work/shared/seeds/kata-qemu-command-line.txt):
 * the pci-bridge at pcie.0 slot 2 with shpc=on and the cold-plugged
 * functions on pcie.0, plus what Kata hot-plugs as bus=pci-bridge-0,addr=N
 * (a block device and an rng here): the bridge owns bus 1, bus 0 slots skip
 * its slot, the functions behind it sit at their addr= on bus 1, and their
 * INTx goes through both swizzles as Linux's pci_swizzle_interrupt_pin
 * then the bus 0 _PRT resolve it. */
static void test_kata_bridge(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-machine", "q35,accel=kvm,kernel_irqchip=on,nvdimm=on",
		"-m", "2048M,slots=10,maxmem=16811M",
		"-device", "pci-bridge,bus=pcie.0,id=pci-bridge-0,chassis_nr=1,shpc=on,addr=2",
		"-device", "virtio-serial-pci,disable-modern=true,id=serial0",
		"-device", "virtconsole,chardev=charconsole0,id=console0",
		"-chardev", "socket,id=charconsole0,path=/tmp/console.sock,server=on,wait=off",
		"-object", "rng-random,id=rng0,filename=/dev/urandom",
		"-device", "virtio-rng-pci,rng=rng0",
		"-netdev", "tap,id=network-0,vhost=off,fds=5",
		"-device", "driver=virtio-net-pci,netdev=network-0,mac=2a:2b:c6:b9:b8:28,disable-modern=true,mq=off,vectors=4",
		"-object", "memory-backend-file,id=mem0,mem-path=/kata.img,size=268435456,readonly=on",
		"-device", "nvdimm,id=nv0,memdev=mem0,unarmed=on",
		"-drive", "id=drive-0,file=/c.img,if=none,format=raw",
		"-device", "virtio-blk-pci,drive=drive-0,bus=pci-bridge-0,addr=1",
		"-object", "rng-random,id=rng1,filename=/dev/urandom",
		"-device", "virtio-rng-pci,rng=rng1,bus=pci-bridge-0,addr=3");
	struct layout *l = lay(cfg);

	(void)state;
	assert_int_equal(cfg->devices[0].type, CFG_DEV_PCI_BRIDGE);
	assert_int_equal(l->npci_buses, 2);
	assert_int_equal(l->devs[0].pci_bus, 0);
	assert_int_equal(l->devs[0].pci_slot, 2);
	assert_int_equal(l->devs[0].bridge_bus, 1);
	/* pcie.0: serial0 slot 1, rng slot 3 (2 is the bridge), net slot 4. */
	assert_int_equal(l->devs[1].pci_slot, 1);
	assert_int_equal(l->devs[3].pci_slot, 3);
	assert_int_equal(l->devs[4].pci_slot, 4);
	for (unsigned i = 1; i <= 4; i++)
		if (cfg->devices[i].transport == CFG_TRANSPORT_PCI)
			assert_int_equal(l->devs[i].pci_bus, 0);
	/* Behind the bridge. */
	assert_int_equal(cfg->devices[6].parent, 0);
	assert_int_equal(l->devs[6].pci_bus, 1);
	assert_int_equal(l->devs[6].pci_slot, 1);
	assert_int_equal(l->devs[6].pci_func, 0);
	assert_int_equal(l->devs[6].bridge_bus, -1);
	assert_int_equal(l->devs[7].pci_bus, 1);
	assert_int_equal(l->devs[7].pci_slot, 3);
	/* INTA at slot 1 -> INTB on the bridge -> 16 + (2 + 1) % 4; slot 3
	 * -> INTD -> 16 + (2 + 3) % 4. */
	assert_true(l->devs[6].has_gsi && l->devs[7].has_gsi);
	assert_int_equal(l->devs[6].gsi, 19);
	assert_int_equal(l->devs[7].gsi, 17);
	assert_int_equal(l->devs[6].gsi, layout_intx_gsi(2, (0 + 1) % 4));
	/* Bus 0 functions keep the single swizzle. */
	assert_int_equal(l->devs[3].gsi, layout_intx_gsi(3, 0));
	free(l);
	free(cfg);
}

static void test_pci_full(void **state)
{
	const char *args[80];
	struct machine_config *cfg;
	struct layout *l;
	int n = 0;

	(void)state;
	args[n++] = "-machine";
	args[n++] = "q35";
	for (int i = 0; i < 31; i++) {
		args[n++] = "-device";
		args[n++] = "virtio-serial-pci";
	}
	args[n] = NULL;
	cfg = cfgt_ok(args);
	l = lay(cfg);
	for (int i = 0; i < 31; i++)
		assert_int_equal(l->devs[i].pci_slot, i + 1);
	free(l);
	free(cfg);
	args[n++] = "-device";
	args[n++] = "virtio-serial-pci";
	args[n] = NULL;
	cfg = cfgt_ok(args);
	lay_bad(cfg, "no free PCI slot on pcie.0");
	free(cfg);
}

/* A hand-made config that skipped config_parse's checks. */
static void test_pci_on_microvm(void **state)
{
	struct machine_config *cfg = CFG_OK("-machine", "q35", "-device", "virtio-serial-pci");

	(void)state;
	cfg->machine.type = CFG_MACHINE_MICROVM;
	lay_bad(cfg, "virtio-*-pci needs -machine q35");
	free(cfg);
}

static void test_legacy_helpers(void **state)
{
	(void)state;
	assert_int_equal(layout_com_port(0), 0x3f8);
	assert_int_equal(layout_com_port(1), 0x2f8);
	assert_int_equal(layout_com_port(2), 0x3e8);
	assert_int_equal(layout_com_port(3), 0x2e8);
	assert_int_equal(layout_com_gsi(0), 4);
	assert_int_equal(layout_com_gsi(1), 3);
	assert_int_equal(layout_com_gsi(2), 4);
	/* The fixed windows do not overlap each other. */
	assert_true(LAYOUT_PCI_MMIO32_BASE + LAYOUT_PCI_MMIO32_SIZE <= LAYOUT_VIRTIO_MMIO_BASE);
	assert_true(LAYOUT_VIRTIO_MMIO_BASE + LAYOUT_VIRTIO_MMIO_SLOTS * LAYOUT_VIRTIO_MMIO_SIZE <= LAYOUT_ECAM_BASE);
	assert_true(LAYOUT_ECAM_BASE + LAYOUT_ECAM_SIZE <= LAYOUT_IOAPIC_BASE);
	assert_true(LAYOUT_ACPI_BASE + LAYOUT_ACPI_SIZE <= LAYOUT_BIOS_END);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ram_small),
		cmocka_unit_test(test_ram_split),
		cmocka_unit_test(test_nvdimm_window),
		cmocka_unit_test(test_nvdimm_maxmem),
		cmocka_unit_test(test_nvdimm_too_many),
		cmocka_unit_test(test_virtio_mmio_gsis),
		cmocka_unit_test(test_pci_slots),
		cmocka_unit_test(test_pci_bridge),
		cmocka_unit_test(test_kata_bridge),
		cmocka_unit_test(test_pci_full),
		cmocka_unit_test(test_pci_on_microvm),
		cmocka_unit_test(test_legacy_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
