/* The accel=sim self-test (sim/selftest*.c): every device type
 * on both machines gets its "ok" line and the run passes, deterministic
 * for a seed; broken devices (guest-memory faults under the drivers'
 * rings, the ACPI tables or an nvdimm; an empty disk) give FAIL lines and
 * a result of 1; the stand-in backends leave the host files untouched;
 * the copy-on-write drive stand-in holds writes within its bound. */
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

#include "core/blockdev.h"
#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "core/trace.h"
#include "machine/board.h"
#include "sim/selftest_int.h"
#include "sim/sim.h"
#include "sim/selftest.h"

struct fx {
	char disk[64], pmem[64], empty[64], dir[64];
	struct machine_config cfg;
	struct layout l;
	char err[512];
	char *out;
	size_t outlen;
};

static void make_file(char *path, const char *tmpl, const char *text, size_t size)
{
	strcpy(path, tmpl);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	make_file(f->disk, "/tmp/vmm-st-disk.XXXXXX", "SELFTEST-DISK", 1 << 20);
	make_file(f->pmem, "/tmp/vmm-st-pmem.XXXXXX", "SELFTEST-PMEM", 2 << 20);
	make_file(f->empty, "/tmp/vmm-st-empty.XXXXXX", "", 0);
	strcpy(f->dir, "/tmp/vmm-st-dir.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	return f;
}

static void fx_free(struct fx *f)
{
	unlink(f->disk);
	unlink(f->pmem);
	unlink(f->empty);
	rmdir(f->dir);
	free(f->out);
	free(f);
}

static void fx_parse(struct fx *f, const char *const *args)
{
	char *argv[96];
	int argc = 0;
	argv[argc++] = (char *)"vmm";
	for (; *args && argc < 95; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	if (config_parse(&f->cfg, argc, argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
}
#define PARSE(f, ...) fx_parse((f), (const char *const[]){ __VA_ARGS__, NULL })

/* Which guest-memory range to break before the checks (len 0: none). */
struct fault { uint64_t gpa, len; unsigned kinds; };

static int fx_run(struct fx *f, const struct fault *fault)
{
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = f->cfg.seed };
	struct sim *s = sim_new(&sc);
	assert_non_null(s);
	if (fault && fault->len)
		assert_int_equal(gm_inject_fault(s->m.gm, fault->gpa, fault->len,
						 fault->kinds), 0);
	free(f->out);
	f->out = NULL;
	FILE *m = open_memstream(&f->out, &f->outlen);
	assert_non_null(m);
	int rc = selftest_sim(s, &f->cfg, NULL, m, f->err, sizeof(f->err));
	fclose(m);
	sim_free(s);
	return rc;
}

static void has(const struct fx *f, const char *line)
{
	if (strstr(f->out, line))
		return;
	/* cmocka cuts long messages: the report line by line. */
	for (const char *p = f->out; *p;) {
		const char *e = strchr(p, '\n');
		int n = e ? (int)(e - p) : (int)strlen(p);
		print_message("%.*s\n", n, p);
		p += n + (e != NULL);
	}
	fail_msg("missing \"%s\"", line);
}

static unsigned count(const char *s, const char *what)
{
	unsigned n = 0;
	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void file_is(const char *path, const char *text, size_t size)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	char *buf = calloc(1, size + 1);
	assert_int_equal(fread(buf, 1, size + 1, fp), size);
	fclose(fp);
	assert_memory_equal(buf, text, strlen(text));
	for (size_t i = strlen(text); i < size; i++)
		if (buf[i])
			fail_msg("%s changed at byte %zu", path, i);
	free(buf);
}

/* Every device type q35 can have, on virtio-pci and virtio-mmio. */
static void q35_all(struct fx *f, const char *seed)
{
	char d0[128], d1[128], obj[160], sock[128];
	snprintf(d0, sizeof(d0), "id=d0,file=%s", f->disk);
	snprintf(d1, sizeof(d1), "id=d1,file=%s,readonly=on", f->disk);
	snprintf(obj, sizeof(obj), "memory-backend-file,id=mem0,mem-path=%s,"
		 "size=2M,readonly=on", f->pmem);
	snprintf(sock, sizeof(sock), "socket,id=c0,path=%s/con.sock,server,nowait",
		 f->dir);
	PARSE(f, "-machine", "q35,accel=sim,nvdimm=on", "-m", "128M,slots=2,maxmem=1G",
	      "-seed", seed, "-serial", "stdio",
	      "-drive", d0, "-device", "virtio-blk-pci,drive=d0,serial=SN-0001",
	      "-drive", d1, "-device", "virtio-blk-device,drive=d1",
	      "-netdev", "tap,id=n0,ifname=vmmst0",
	      "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56",
	      "-object", "rng-random,id=rng0,filename=/dev/urandom",
	      "-device", "virtio-rng-pci,rng=rng0",
	      "-chardev", sock, "-device", "virtio-serial-pci,id=vs0",
	      "-device", "virtconsole,chardev=c0,id=vc0",
	      "-device", "virtio-balloon-pci",
	      "-object", obj, "-device", "nvdimm,id=nv0,memdev=mem0",
	      "-device", "isa-debug-exit,iobase=0xf4,iosize=4");
}

static void test_q35_every_device(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	q35_all(f, "5");
	assert_int_equal(fx_run(f, NULL), 0);
	has(f, "ok: serial: COM1 at 0x3f8: scratch ok, THRE interrupt on GSI 4 ok, 24 of 24 "
	       "bytes transmitted, receive with interrupt ok");
	has(f, "ok: rtc: 2026-01-01");
	has(f, "ok: pit: IRQ0 mode 2 divisor 1193: 11 edges, intervals 999847-999848 ns");
	has(f, "channel 2 gate and OUT2 via port 0x61 ok");
	has(f, "ok: i8042: self-test 0x55, keyboard interface test 0x00, reset line requests");
	has(f, "ok: pci: 6 functions on bus 0, 5 virtio, 5 of 5 configured");
	has(f, "ok: acpi: RSDP at 0xe0000, XSDT lists 5 tables [FACP APIC MCFG NFIT SRAT], checksums ok");
	has(f, "ok: virtio-blk over virtio-pci: sector 0 \"SELFTEST-DISK");
	has(f, "GET_ID \"SN-0001\", write+flush+read back of sector 2047 ok");
	has(f, "ok: virtio-blk over virtio-mmio: sector 0 \"SELFTEST-DISK");
	has(f, "readonly=on: VIRTIO_BLK_F_RO offered, a write fails with IOERR");
	has(f, "ok: virtio-net over virtio-pci: netdev n0 (tap replaced by an in-memory "
	       "loop: no tap opened), mac 52:54:00:12:34:56, link up, TX 72 bytes "
	       "reached the backend, RX ok");
	has(f, "ok: virtio-rng over virtio-pci: read 64+64 bytes");
	has(f, "from the seeded source: ok");
	has(f, "ok: virtio-console over virtio-pci: 1 port(s): DEVICE_READY, PORT_ADD 1, "
	       "PORT_READY, CONSOLE_PORT 1, PORT_NAME 1 of 1, PORT_OPEN 1; port 0: 37 "
	       "bytes reached the chardev, 12 bytes back received");
	has(f, "ok: virtio-balloon over virtio-pci: target 4 pages (config interrupt ok), "
	       "inflated 4 marked released (4 pages handed back), actual reported, deflated ok");
	has(f, "ok: nvdimm at 0x100000000: \"SELFTEST-PMEM");
	has(f, "readonly: gm write refused, guest store dropped, flush hint ok");
	has(f, "ok: isa-debug-exit at 0xf4: writing 0x10 requests exit status 33");
	has(f, "ok: acpi-pm: PM timer at 0x608 counted");
	/* -m slots=: the memory hot-plug block is read like MHPD does. */
	has(f, "ok: acpi-memhp: 2 memory slots, 0 DIMMs at their layout places");
	has(f, "selftest: 16 checks, 0 failed");
	assert_int_equal(count(f->out, "selftest: ok: "), 16);
	assert_null(strstr(f->out, "FAIL"));
	/* Nothing reached the host: image and nvdimm files as they were, no
	 * socket created for the console's chardev. */
	file_is(f->disk, "SELFTEST-DISK", 1 << 20);
	file_is(f->pmem, "SELFTEST-PMEM", 2 << 20);
	char sock[96];
	snprintf(sock, sizeof(sock), "%s/con.sock", f->dir);
	assert_int_equal(access(sock, F_OK), -1);
	fx_free(f);
}

static void test_microvm_every_device(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	char d0[128], obj[160], c1[128];
	snprintf(d0, sizeof(d0), "id=d0,file=%s,throttling.iops-total=200", f->disk);
	snprintf(obj, sizeof(obj), "memory-backend-file,id=mem0,mem-path=%s,"
		 "size=2M,share=off", f->pmem);
	snprintf(c1, sizeof(c1), "file,id=c1,path=%s/out.txt", f->dir);
	PARSE(f, "-machine", "microvm,accel=sim,nvdimm=on", "-m", "64M,slots=2,maxmem=1G",
	      "-serial", "stdio", "-serial", "null",
	      "-drive", d0, "-device", "virtio-blk-device,drive=d0,serial=ABCDEFGHIJKLMNOPQRST",
	      "-netdev", "tap,id=n0,ifname=vmmst1", "-device", "virtio-net-device,netdev=n0",
	      "-object", "rng-random,id=rng0",
	      "-device", "virtio-rng-device,rng=rng0,max-bytes=64,period=1000",
	      "-chardev", "null,id=c0", "-chardev", c1,
	      "-device", "virtio-serial-device", "-device", "virtconsole,chardev=c0",
	      "-device", "virtconsole,chardev=c1,id=con1",
	      "-device", "virtio-balloon-device,deflate-on-oom=on",
	      "-object", obj, "-device", "nvdimm,id=nv0,memdev=mem0",
	      "-device", "isa-debug-exit");
	assert_int_equal(fx_run(f, NULL), 0);
	has(f, "ok: serial: COM2 at 0x2f8: scratch, THRE interrupt on GSI 3; output discarded");
	has(f, "ok: acpi: RSDP at 0xe0000, XSDT lists 4 tables [FACP APIC NFIT SRAT], checksums ok");
	has(f, "GET_ID \"ABCDEFGHIJKLMNOPQRST\", write+flush+read back of sector 2047 ok");
	has(f, "ok: virtio-net over virtio-mmio: netdev n0 (tap replaced");
	has(f, "(no mac=), link up");
	/* max-bytes=64 per second: the second read waits for the bucket. */
	has(f, "ok: virtio-rng over virtio-mmio: read 64+64 bytes");
	has(f, "2 port(s): DEVICE_READY, PORT_ADD 2, PORT_READY, CONSOLE_PORT 2, "
	       "PORT_NAME 1 of 1, PORT_OPEN 2; port 0: 37 bytes written (no chardev: "
	       "discarded); port 1: 37 bytes reached the chardev, 12 bytes back received");
	has(f, "ok: virtio-balloon over virtio-mmio");
	has(f, "writable (private mapping): store reads back, flush hint ok");
	has(f, "ok: isa-debug-exit at 0x501");
	has(f, "ok: acpi-memhp: 2 memory slots, 0 DIMMs at their layout places");
	assert_null(strstr(f->out, "FAIL"));
	assert_null(strstr(f->out, "pci:"));
	assert_null(strstr(f->out, "acpi-pm"));   /* hardware-reduced */
	file_is(f->disk, "SELFTEST-DISK", 1 << 20);
	file_is(f->pmem, "SELFTEST-PMEM", 2 << 20);
	char out[96];
	snprintf(out, sizeof(out), "%s/out.txt", f->dir);
	assert_int_equal(access(out, F_OK), -1);
	fx_free(f);
}

/* Same seed, same lines; another seed, other entropy. */
static void test_deterministic(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	q35_all(f, "5");
	assert_int_equal(fx_run(f, NULL), 0);
	char *first = strdup(f->out);
	assert_int_equal(fx_run(f, NULL), 0);
	assert_string_equal(first, f->out);
	q35_all(f, "6");
	assert_int_equal(fx_run(f, NULL), 0);
	const char *a = strstr(first, "virtio-rng"), *b = strstr(f->out, "virtio-rng");
	assert_non_null(a);
	assert_non_null(b);
	assert_false(strncmp(a, b, 60) == 0);
	free(first);
	fx_free(f);
}

/* The drivers' rings and buffers sit in guest memory that faults: every
 * virtio check fails, the platform checks still pass, the result is 1. */
static void test_fault_under_rings(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	q35_all(f, "5");
	struct fault fl = { ST_MEM_BASE, 8u << 20, GM_FAULT_READ | GM_FAULT_WRITE };
	assert_int_equal(fx_run(f, &fl), 1);
	assert_int_equal(count(f->out, "selftest: FAIL: virtio-"), 6);
	has(f, "ok: pit:");
	has(f, "ok: acpi:");
	has(f, "ok: nvdimm at");
	has(f, ", 6 failed");
	fx_free(f);
}

/* Tables that read back as garbage, and an nvdimm the guest cannot read. */
static void test_fault_acpi_and_nvdimm(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	q35_all(f, "5");
	struct fault fl = { LAYOUT_ACPI_BASE, 64, GM_FAULT_READ };
	assert_int_equal(fx_run(f, &fl), 1);
	has(f, "FAIL: acpi: RSDP at 0xe0000, XSDT lists 0 tables []: no valid RSDP");
	has(f, ", 1 failed");
	/* The nvdimm's first page unreadable (faults are address ranges, so
	 * they can be set before the board maps the nvdimm there). */
	struct fault nf = { 0x100000000ull, 4096, GM_FAULT_READ };
	assert_int_equal(fx_run(f, &nf), 1);
	has(f, "FAIL: nvdimm at 0x100000000: \"\" (id nv0)");
	has(f, "ok: acpi:");
	has(f, ", 1 failed");
	fx_free(f);
}

/* An empty image has no sector 0: the read fails, so does the check. */
static void test_empty_disk_fails(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	char d0[128];
	snprintf(d0, sizeof(d0), "id=d0,file=%s", f->empty);
	PARSE(f, "-machine", "microvm,accel=sim", "-m", "32M",
	      "-drive", d0, "-device", "virtio-blk-device,drive=d0");
	assert_int_equal(fx_run(f, NULL), 1);
	has(f, "FAIL: virtio-blk over virtio-mmio: sector 0");
	has(f, "0 sectors");
	/* No -serial: nothing answers at COM1, and that is what is checked. */
	has(f, "ok: serial: none configured, COM1 port reads 0xff");
	fx_free(f);
}

static void test_bad_backend(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	PARSE(f, "-machine", "microvm,accel=sim", "-m", "32M",
	      "-drive", "id=d0,file=/nonexistent/st.img",
	      "-device", "virtio-blk-device,drive=d0");
	assert_int_equal(fx_run(f, NULL), -1);
	assert_non_null(strstr(f->err, "/nonexistent/st.img"));
	assert_non_null(strstr(f->err, "No such file"));
	fx_free(f);
}

/* The drive stand-in: reads merge file and writes, writes never reach
 * the file, and a guest writing more sectors than the bound gets ENOSPC
 * instead of growing host memory. */
static void test_overlay_drive(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	char d0[128];
	snprintf(d0, sizeof(d0), "id=d0,file=%s", f->disk);
	PARSE(f, "-machine", "microvm,accel=sim", "-m", "32M",
	      "-drive", d0, "-device", "virtio-blk-device,drive=d0");
	struct selftest *t = calloc(1, sizeof(*t));
	t->cfg = &f->cfg;
	void *out = NULL;
	assert_int_equal(st_backend_hook(t, TRACE_BK_BLOCK, "d0", NULL, &out,
					 f->err, sizeof(f->err)), 0);
	struct blockdev *bd = out;
	assert_non_null(bd);
	assert_false(bd->readonly);
	assert_int_equal(bd->size, 1u << 20);
	uint8_t buf[1024];
	/* Straddle sectors 0 and 1 with an unaligned write. */
	memset(buf, 'X', 100);
	assert_int_equal(blockdev_write(bd, 500, buf, 100), 0);
	assert_int_equal(blockdev_read(bd, 0, buf, 1024), 0);
	assert_memory_equal(buf, "SELFTEST-DISK", 13);
	assert_int_equal(buf[499], 0);
	assert_int_equal(buf[500], 'X');
	assert_int_equal(buf[599], 'X');
	assert_int_equal(buf[600], 0);
	assert_int_equal(blockdev_flush(bd), 0);
	assert_int_equal(blockdev_write_zeroes(bd, 0, 8, false), 0);
	assert_int_equal(blockdev_read(bd, 0, buf, 16), 0);
	assert_int_equal(buf[0], 0);
	/* 64 sectors are held; sector 2 onwards fills it up. */
	int rc = 0;
	unsigned k;
	for (k = 2; k < 200 && rc == 0; k++)
		rc = blockdev_write(bd, (uint64_t)k * 512, buf, 512);
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(k - 1, 64);
	/* Past the end: refused by the front door, as for any drive. */
	assert_int_equal(blockdev_write(bd, 1u << 20, buf, 512), -EINVAL);
	/* Unknown kinds and ids are refused with a message. */
	assert_int_equal(st_backend_hook(t, TRACE_BK_ENTROPY, "notanrng", NULL, &out,
					 f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "notanrng"));
	assert_int_equal(st_backend_hook(t, 99, "x", NULL, &out, f->err,
					 sizeof(f->err)), -1);
	st_backends_close(t);
	free(t);
	file_is(f->disk, "SELFTEST-DISK", 1 << 20);
	fx_free(f);
}

/* virtio-scsi on both transports: a writable scsi-hd, a scsi-cd and a
 * read-only scsi-hd on one target; the image file is never written. */
static void test_scsi(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	char d0[128], d1[128], d2[128];
	snprintf(d0, sizeof(d0), "id=d0,file=%s", f->disk);
	snprintf(d1, sizeof(d1), "id=d1,file=%s", f->disk);
	snprintf(d2, sizeof(d2), "id=d2,file=%s,readonly=on", f->disk);
	PARSE(f, "-machine", "q35,accel=sim", "-m", "128M",
	      "-device", "virtio-scsi-pci,id=scsi0",
	      "-drive", d0, "-device", "scsi-hd,drive=d0,bus=scsi0.0,scsi-id=2,lun=0",
	      "-drive", d1, "-device", "scsi-cd,drive=d1,bus=scsi0.0,scsi-id=2,lun=1",
	      "-device", "virtio-scsi-device,id=scsi1",
	      "-drive", d2, "-device", "scsi-hd,drive=d2,bus=scsi1.0");
	assert_int_equal(fx_run(f, NULL), 0);
	has(f, "ok: virtio-scsi over virtio-pci: scsi-hd drive d0 at target 2 lun 0: "
	       "REPORT LUNS 2, INQUIRY type 0 \"VMM HARDDISK    \", power-on unit "
	       "attention, then ready, 2048 blocks of 512, block 0 \"SELFTEST-DISK");
	has(f, "write+sync+read back of block 2047 ok (kept in memory: the image "
	       "file is not written)");
	has(f, "ok: virtio-scsi over virtio-pci: scsi-cd drive d1 at target 2 lun 1: "
	       "REPORT LUNS 2, INQUIRY type 5 \"VMM CD-ROM      \", power-on unit "
	       "attention, then ready, 512 blocks of 2048");
	has(f, "ok: virtio-scsi over virtio-mmio: scsi-hd drive d2 at target 0 lun 0: "
	       "REPORT LUNS 1, INQUIRY type 0");
	assert_int_equal(count(f->out, "a write fails with DATA PROTECT"), 2);
	assert_null(strstr(f->out, "FAIL"));
	file_is(f->disk, "SELFTEST-DISK", 1 << 20);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_q35_every_device),
		cmocka_unit_test(test_microvm_every_device),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_fault_under_rings),
		cmocka_unit_test(test_fault_acpi_and_nvdimm),
		cmocka_unit_test(test_empty_disk_fails),
		cmocka_unit_test(test_bad_backend),
		cmocka_unit_test(test_overlay_drive),
		cmocka_unit_test(test_scsi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
