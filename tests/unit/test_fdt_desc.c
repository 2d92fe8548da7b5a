/* core/fdt_desc: build the machine description, read it back through
 * libfdt and check the memory map, device addresses and interrupts
 * against the layout; small buffers; -dump-dtb files dtc can read. */
#include "config_fixture.h"
#include "core/fdt_desc.h"
#include "core/layout.h"

#include <libfdt.h>
#include <errno.h>
#include <unistd.h>

struct built {
	struct machine_config *cfg;
	struct layout l;
	char fdt[FDT_DESC_MAX];
};

static struct built *build(const char *const *args)
{
	struct built *b = calloc(1, sizeof(*b));
	char err[256];
	int n;

	assert_non_null(b);
	b->cfg = cfgt_ok(args);
	if (layout_build(&b->l, b->cfg, err, sizeof(err)))
		fail_msg("layout: %s", err);
	n = fdt_desc_build(b->cfg, &b->l, b->fdt, sizeof(b->fdt));
	assert_true(n > 0);
	assert_int_equal(fdt_check_header(b->fdt), 0);
	assert_int_equal(fdt_totalsize(b->fdt), (uint32_t)n);
	return b;
}
#define BUILD(...) build((const char *const[]){ __VA_ARGS__, NULL })

static void done(struct built *b)
{
	free(b->cfg);
	free(b);
}

static int node(const struct built *b, const char *path)
{
	int off = fdt_path_offset(b->fdt, path);

	if (off < 0)
		fail_msg("no node %s: %s", path, fdt_strerror(off));
	return off;
}

static const char *str(const struct built *b, const char *path, const char *prop)
{
	int len;
	const char *v = fdt_getprop(b->fdt, node(b, path), prop, &len);

	if (!v)
		fail_msg("%s has no %s", path, prop);
	assert_int_equal(v[len - 1], '\0');
	return v;
}

static uint32_t cell(const struct built *b, const char *path, const char *prop,
		     int idx)
{
	int len;
	const fdt32_t *v = fdt_getprop(b->fdt, node(b, path), prop, &len);

	if (!v || len < (idx + 1) * 4)
		fail_msg("%s has no %s[%d]", path, prop, idx);
	return fdt32_to_cpu(v[idx]);
}

static uint64_t u64at(const struct built *b, const char *path, const char *prop,
		      int idx)
{
	return (uint64_t)cell(b, path, prop, idx) << 32 | cell(b, path, prop, idx + 1);
}

static bool has(const struct built *b, const char *path, const char *prop)
{
	return fdt_getprop(b->fdt, node(b, path), prop, NULL) != NULL;
}

static void test_microvm(void **state)
{
	struct built *b = BUILD(
		"-name", "sandbox-1", "-uuid", "977692f6-744c-4917-8ccd-ffad44020fe9",
		"-machine", "microvm,accel=kvm,nvdimm=on", "-smp", "2,maxcpus=8", "-m", "4G",
		"-kernel", "vmlinux", "-initrd", "initrd.img",
		"-append", "console=ttyS0 root=/dev/pmem0p1 rootflags=dax ro",
		"-object", "memory-backend-file,id=mem0,mem-path=rootfs.img,size=256M,readonly=on",
		"-device", "nvdimm,id=nv0,memdev=mem0,unarmed=on",
		"-drive", "id=d0,file=disk.img,throttling.iops-total=200",
		"-device", "virtio-blk-device,drive=d0,id=blk0",
		"-netdev", "tap,id=n0,ifname=tap0", "-device", "virtio-net-device,netdev=n0,mac=52:54:00:12:34:56",
		"-chardev", "socket,id=c0,path=console.sock,server,nowait", "-device", "virtconsole,chardev=c0",
		"-serial", "stdio", "-serial", "pty", "-device", "isa-debug-exit,iobase=0xf4,iosize=4");
	const uint8_t *uuid;
	const uint8_t *mac;
	int len;

	(void)state;
	assert_string_equal(str(b, "/", "compatible"), "vmm,microvm");
	assert_string_equal(str(b, "/", "vmm,name"), "sandbox-1");
	assert_string_equal(str(b, "/", "vmm,accel"), "kvm");
	uuid = fdt_getprop(b->fdt, 0, "vmm,uuid", &len);
	assert_int_equal(len, 16);
	assert_int_equal(uuid[0], 0x97);
	assert_true(has(b, "/", "vmm,nvdimm"));
	assert_false(has(b, "/", "vmm,seed"));
	assert_string_equal(str(b, "/chosen", "bootargs"), "console=ttyS0 root=/dev/pmem0p1 rootflags=dax ro");
	assert_string_equal(str(b, "/chosen", "vmm,kernel"), "vmlinux");
	/* cpus: one node per boot vCPU, the topology on /cpus. */
	assert_int_equal(cell(b, "/cpus/cpu@1", "reg", 0), 1);
	assert_int_equal(fdt_path_offset(b->fdt, "/cpus/cpu@2"), -FDT_ERR_NOTFOUND);
	assert_int_equal(cell(b, "/cpus", "vmm,maxcpus", 0), 8);
	/* Memory: both sides of the hole. */
	assert_string_equal(str(b, "/memory@0", "device_type"), "memory");
	assert_int_equal(u64at(b, "/memory@0", "reg", 0), 0);
	assert_int_equal(u64at(b, "/memory@0", "reg", 2), 3ull << 30);
	assert_int_equal(u64at(b, "/memory@100000000", "reg", 0), 4ull << 30);
	assert_int_equal(u64at(b, "/memory@100000000", "reg", 2), 1ull << 30);
	/* Interrupt controller: phandle the root points at. */
	assert_int_equal(cell(b, "/interrupt-controller@fec00000", "phandle", 0),
			 cell(b, "/", "interrupt-parent", 0));
	assert_int_equal(cell(b, "/interrupt-controller@fec00000", "#interrupt-cells", 0), 2);
	/* virtio-mmio devices at their layout windows and GSIs. */
	assert_string_equal(str(b, "/virtio_mmio@d0000000", "compatible"), "virtio,mmio");
	assert_string_equal(str(b, "/virtio_mmio@d0000000", "vmm,device"), "virtio-blk-device");
	assert_string_equal(str(b, "/virtio_mmio@d0000000", "vmm,id"), "blk0");
	assert_string_equal(str(b, "/virtio_mmio@d0000000", "vmm,file"), "disk.img");
	assert_int_equal(cell(b, "/virtio_mmio@d0000000", "vmm,iops-total", 0), 200);
	assert_int_equal(u64at(b, "/virtio_mmio@d0000000", "reg", 0), b->l.devs[1].mmio_base);
	assert_int_equal(u64at(b, "/virtio_mmio@d0000000", "reg", 2), 0x1000);
	assert_int_equal(cell(b, "/virtio_mmio@d0000000", "interrupts", 0), b->l.devs[1].gsi);
	assert_int_equal(cell(b, "/virtio_mmio@d0001000", "interrupts", 0), 6);
	mac = fdt_getprop(b->fdt, node(b, "/virtio_mmio@d0001000"), "local-mac-address", &len);
	assert_int_equal(len, 6);
	assert_int_equal(mac[5], 0x56);
	assert_string_equal(str(b, "/virtio_mmio@d0001000", "vmm,ifname"), "tap0");
	/* The implied virtio-serial and its console port. */
	assert_string_equal(str(b, "/virtio_mmio@d0002000", "vmm,device"), "virtio-serial-device");
	assert_string_equal(str(b, "/virtio_mmio@d0002000/port@0", "vmm,chardev"), "c0");
	assert_string_equal(str(b, "/virtio_mmio@d0002000/port@0", "vmm,path"), "console.sock");
	/* nvdimm: its SPA range. */
	assert_string_equal(str(b, "/pmem@140000000", "compatible"), "pmem-region");
	assert_int_equal(u64at(b, "/pmem@140000000", "reg", 0), b->l.devs[0].pmem_base);
	assert_int_equal(u64at(b, "/pmem@140000000", "reg", 2), 256ull << 20);
	assert_true(has(b, "/pmem@140000000", "vmm,unarmed"));
	assert_true(has(b, "/pmem@140000000", "vmm,readonly"));
	/* Legacy ISA devices with their ports and lines. */
	assert_int_equal(cell(b, "/isa/serial@i3f8", "reg", 1), 0x3f8);
	assert_int_equal(cell(b, "/isa/serial@i3f8", "interrupts", 0), 4);
	assert_string_equal(str(b, "/isa/serial@i3f8", "vmm,backend"), "stdio");
	assert_int_equal(cell(b, "/isa/serial@i2f8", "interrupts", 0), 3);
	assert_int_equal(cell(b, "/isa/rtc@i70", "interrupts", 0), 8);
	assert_int_equal(cell(b, "/isa/isa-debug-exit@if4", "reg", 2), 4);
	/* No PCI on microvm. */
	assert_int_equal(fdt_path_offset(b->fdt, "/pci@e0000000"), -FDT_ERR_NOTFOUND);
	done(b);
}

static void test_q35_pci(void **state)
{
	struct built *b = BUILD(
		"-machine", "q35,accel=sim", "-seed", "42",
		"-drive", "id=d0,file=a.img,readonly=on", "-device", "virtio-blk-pci,drive=d0,addr=3,id=blk",
		"-device", "pci-bridge,id=br,chassis_nr=1,addr=4",
		"-object", "rng-random,id=r", "-device", "virtio-rng-pci,rng=r,bus=br,addr=2,max-bytes=1024,period=500",
		"-device", "virtio-balloon-pci,addr=5.0,multifunction=on,deflate-on-oom=on",
		"-device", "virtio-serial-pci,addr=5.2,disable-modern=on",
		"-device", "virtio-serial-device,id=mmioser");

	(void)state;
	assert_string_equal(str(b, "/", "compatible"), "vmm,q35");
	assert_string_equal(str(b, "/", "vmm,accel"), "sim");
	assert_int_equal(u64at(b, "/", "vmm,seed", 0), 42);
	assert_string_equal(str(b, "/pci@e0000000", "compatible"), "pci-host-ecam-generic");
	assert_int_equal(u64at(b, "/pci@e0000000", "reg", 0), LAYOUT_ECAM_BASE);
	assert_int_equal(cell(b, "/pci@e0000000", "bus-range", 1), 1);
	/* ranges: I/O, MMIO32, MMIO64 (3 + 2 + 2 cells each). */
	assert_int_equal(cell(b, "/pci@e0000000", "ranges", 0), 0x01000000);
	assert_int_equal(cell(b, "/pci@e0000000", "ranges", 9), (uint32_t)LAYOUT_PCI_MMIO32_BASE);
	assert_int_equal((uint64_t)cell(b, "/pci@e0000000", "ranges", 15) << 32 |
			 cell(b, "/pci@e0000000", "ranges", 16), b->l.mmio64_base);
	/* Devices at bus<<16 | slot<<11 | fn<<8 with swizzled INTx. */
	assert_int_equal(cell(b, "/pci@e0000000/virtio@3", "reg", 0), 3 << 11);
	assert_int_equal(cell(b, "/pci@e0000000/virtio@3", "interrupts", 0), 19);
	assert_string_equal(str(b, "/pci@e0000000/virtio@3", "vmm,device"), "virtio-blk-pci");
	assert_true(has(b, "/pci@e0000000/virtio@3", "vmm,readonly"));
	assert_int_equal(cell(b, "/pci@e0000000/virtio@5,2", "reg", 0), 5 << 11 | 2 << 8);
	assert_true(has(b, "/pci@e0000000/virtio@5,2", "vmm,disable-modern"));
	assert_true(has(b, "/pci@e0000000/virtio@5", "vmm,multifunction"));
	assert_true(has(b, "/pci@e0000000/virtio@5", "vmm,deflate-on-oom"));
	assert_int_equal(cell(b, "/pci@e0000000/pci@4", "bus-range", 0), 1);
	assert_int_equal(cell(b, "/pci@e0000000/pci@4/virtio@2", "reg", 0), 1 << 16 | 2 << 11);
	assert_int_equal(cell(b, "/pci@e0000000/pci@4/virtio@2", "interrupts", 0), 16 + (4 + 2) % 4);
	assert_int_equal(u64at(b, "/pci@e0000000/pci@4/virtio@2", "vmm,max-bytes", 0), 1024);
	assert_int_equal(u64at(b, "/pci@e0000000/pci@4/virtio@2", "vmm,period-ms", 0), 500);
	/* And the virtio-mmio device on q35. */
	assert_string_equal(str(b, "/virtio_mmio@d0000000", "vmm,id"), "mmioser");
	/* No serial configured: no serial node, but rtc and pit are there. */
	assert_int_equal(fdt_path_offset(b->fdt, "/isa/serial@i3f8"), -FDT_ERR_NOTFOUND);
	assert_string_equal(str(b, "/isa/pit@i40", "vmm,lost-tick-policy"), "delay");
	assert_string_equal(str(b, "/isa/rtc@i70", "vmm,driftfix"), "none");
	done(b);
}

static void test_rtc_date(void **state)
{
	struct built *b = BUILD("-rtc", "base=2006-06-17T16:01:21,driftfix=slew", "-global", "kvm-pit.lost_tick_policy=discard");

	(void)state;
	assert_string_equal(str(b, "/isa/rtc@i70", "vmm,base"), "date");
	assert_string_equal(str(b, "/isa/rtc@i70", "vmm,driftfix"), "slew");
	assert_int_equal(u64at(b, "/isa/rtc@i70", "vmm,date-epoch", 0), 1150560081);
	assert_string_equal(str(b, "/isa/pit@i40", "vmm,lost-tick-policy"), "discard");
	done(b);
}

/* Deterministic: the same configuration gives the same bytes. */
static void test_deterministic_and_nospace(void **state)
{
	struct built *a = BUILD("-machine", "q35", "-device", "virtio-serial-pci", "-name", "x");
	struct built *b = BUILD("-machine", "q35", "-device", "virtio-serial-pci", "-name", "x");
	char small[256];

	(void)state;
	assert_int_equal(fdt_totalsize(a->fdt), fdt_totalsize(b->fdt));
	assert_memory_equal(a->fdt, b->fdt, fdt_totalsize(a->fdt));
	assert_int_equal(fdt_desc_build(a->cfg, &a->l, small, sizeof(small)), -ENOSPC);
	assert_int_equal(fdt_desc_build(a->cfg, &a->l, small, 0), -ENOSPC);
	done(a);
	done(b);
}

/* A large configuration (254 vCPUs, 31 PCI + 13 MMIO devices, 4 serial
 * ports) fits FDT_DESC_MAX. */
static void test_big_config_fits(void **state)
{
	const char *args[2 * CFG_MAX_ITEMS + 16];
	struct built *b;
	int n = 0;

	(void)state;
	args[n++] = "-machine";
	args[n++] = "q35";
	args[n++] = "-smp";
	args[n++] = "254";
	for (int i = 0; i < 31; i++) {
		args[n++] = "-device";
		args[n++] = "virtio-serial-pci";
	}
	for (int i = 0; i < 13; i++) {
		args[n++] = "-device";
		args[n++] = "virtio-serial-device";
	}
	for (int i = 0; i < 4; i++) {
		args[n++] = "-serial";
		args[n++] = "stdio";
	}
	args[n] = NULL;
	b = build(args);
	assert_true(fdt_totalsize(b->fdt) < FDT_DESC_MAX);
	assert_int_equal(cell(b, "/cpus/cpu@fd", "reg", 0), 253);
	assert_int_equal(cell(b, "/pci@e0000000/virtio@1f", "reg", 0), 31 << 11);
	assert_int_equal(cell(b, "/virtio_mmio@d000c000", "interrupts", 0), 23);
	assert_int_equal(cell(b, "/isa/serial@i2e8", "interrupts", 0), 3);
	done(b);
}

/* A virtio-scsi's LUs are child nodes at target << 16 | lun, after every
 * property of the adapter (also disable-modern, which comes last). */
static void test_scsi_luns(void **state)
{
	struct built *b = BUILD(
		"-machine", "q35,accel=sim",
		"-device", "virtio-scsi-pci,id=scsi0,addr=6,disable-modern=on",
		"-drive", "id=d0,file=a.img", "-device", "scsi-hd,drive=d0,scsi-id=3,lun=300,serial=S1",
		"-drive", "id=d1,file=b.iso", "-device", "scsi-cd,drive=d1,id=cd",
		"-device", "virtio-balloon-pci,free-page-reporting=on,addr=7");
	const char *lun = "/pci@e0000000/virtio@6/lun@3012c";

	(void)state;
	assert_string_equal(str(b, "/pci@e0000000/virtio@6", "vmm,device"), "virtio-scsi-pci");
	assert_string_equal(str(b, lun, "compatible"), "vmm,scsi-hd");
	assert_int_equal(cell(b, lun, "reg", 0), 3u << 16 | 300);
	assert_string_equal(str(b, lun, "vmm,serial"), "S1");
	assert_string_equal(str(b, lun, "vmm,file"), "a.img");
	assert_string_equal(str(b, "/pci@e0000000/virtio@6/lun@0", "compatible"), "vmm,scsi-cd");
	assert_true(has(b, "/pci@e0000000/virtio@7", "vmm,free-page-reporting"));
	/* Properties first: after the first child node of the adapter,
	 * nothing but nodes follow. */
	int parent = node(b, "/pci@e0000000/virtio@6"), child = fdt_first_subnode(b->fdt, parent);
	int prop;
	assert_true(child > 0);
	fdt_for_each_property_offset(prop, b->fdt, parent)
		assert_true(prop < child);
	assert_true(has(b, "/pci@e0000000/virtio@6", "vmm,disable-modern"));
	assert_int_equal(fdt_check_full(b->fdt, fdt_totalsize(b->fdt)), 0);
	done(b);
}

static void test_dump_file(void **state)
{
	struct built *b = BUILD("-machine", "q35,nvdimm=on", "-device", "virtio-serial-pci",
				"-serial", "stdio", "-device", "isa-debug-exit");
	char path[] = "/tmp/vmm-fdt-XXXXXX", cmd[512], err[256];
	char *buf = malloc(FDT_DESC_MAX);
	FILE *f;
	size_t n;
	int fd;

	(void)state;
	assert_non_null(buf);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fdt_desc_dump(b->cfg, &b->l, path, err, sizeof(err)), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, FDT_DESC_MAX, f);
	fclose(f);
	assert_int_equal(n, fdt_totalsize(b->fdt));
	assert_memory_equal(buf, b->fdt, n);
	/* dtc (device-tree-compiler) must read it back without a warning. */
	if (access("/usr/bin/dtc", X_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "dtc -q -I dtb -O dts -o /dev/null %s", path);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o /dev/null %s 2>&1 | grep -q .", path);
		assert_int_not_equal(system(cmd), 0);
	}
	unlink(path);
	assert_int_equal(fdt_desc_dump(b->cfg, &b->l, "/nonexistent-dir/x.dtb", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-dump-dtb: '/nonexistent-dir/x.dtb'"));
	assert_non_null(strstr(err, "No such file"));
	free(buf);
	done(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_microvm),
		cmocka_unit_test(test_q35_pci),
		cmocka_unit_test(test_rtc_date),
		cmocka_unit_test(test_deterministic_and_nospace),
		cmocka_unit_test(test_big_config_fits),
		cmocka_unit_test(test_dump_file),
		cmocka_unit_test(test_scsi_luns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
