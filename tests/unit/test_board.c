/* The board on a simulated machine: every device the configuration names
 * answers at its address, machine requests reach the machine, bad host
 * backends fail cleanly, and the accel=sim self-test passes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/chardev.h"
#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "devices/acpi/acpi.h"
#include "machine/board.h"
#include "sim/sim.h"
#include "sim/selftest.h"

struct bfix {
	char disk[64], pmem[64];
	struct machine_config cfg;
	struct layout l;
	struct sim *sim;
	struct board *b;
	struct chr *com1;
	char err[512];
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

static int parse(struct bfix *f, const char *const *args)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)"vmm";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	memset(&f->cfg, 0, sizeof(f->cfg));
	if (config_parse(&f->cfg, argc, argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	f->sim = sim_new(&sc);
	assert_non_null(f->sim);
	f->com1 = chr_mem_new("com1", 0);
	struct board_host host = { .wall_epoch = 1767225600, .utc_offset = 3600 };
	host.serial[0] = f->com1;
	f->b = board_new(&f->sim->m, &f->cfg, &f->l, &host, f->err, sizeof(f->err));
	if (!f->b)
		print_message("board_new: %s\n", f->err);
	return f->b ? 0 : -1;
}
#define PARSE(f, ...) parse((f), (const char *const[]){ __VA_ARGS__, NULL })

static void done(struct bfix *f)
{
	board_free(f->b);
	sim_free(f->sim);
	chr_close(f->com1);
	if (f->disk[0])
		unlink(f->disk);
	if (f->pmem[0])
		unlink(f->pmem);
	free(f);
}

static struct bfix *q35_fixture(void)
{
	struct bfix *f = calloc(1, sizeof(*f));
	make_file(f->disk, "/tmp/vmm-board-disk.XXXXXX", "BOARD-DISK", 1 << 20);
	make_file(f->pmem, "/tmp/vmm-board-pmem.XXXXXX", "BOARD-PMEM", 2 << 20);
	char drive[128], drive1[128], obj[160];
	snprintf(drive, sizeof(drive), "id=d0,file=%s", f->disk);
	snprintf(drive1, sizeof(drive1), "id=d1,file=%s,readonly=on", f->disk);
	snprintf(obj, sizeof(obj),
		 "memory-backend-file,id=m0,mem-path=%s,size=2M,readonly=on", f->pmem);
	assert_int_equal(PARSE(f, "-machine", "q35,accel=sim,nvdimm=on",
			       "-m", "64M,slots=2,maxmem=1G", "-serial", "stdio",
			       /* One image, two drives: writers share it
				* only with share-rw=on on both (QEMU's lock
				* rule, core/imglock.h). */
			       "-drive", drive, "-device",
			       "virtio-blk-device,drive=d0,share-rw=on",
			       "-drive", drive1,
			       "-device", "virtio-blk-pci,drive=d1,addr=0x4,share-rw=on",
			       "-object", obj, "-device", "nvdimm,id=nv0,memdev=m0",
			       "-device", "isa-debug-exit,iobase=0xf4,iosize=4"), 0);
	return f;
}

static void test_devices_answer(void **state)
{
	(void)state;
	struct bfix *f = q35_fixture();
	struct sim *s = f->sim;
	/* COM1: LSR says transmitter empty; a byte reaches the backend. */
	assert_int_equal(sim_pio_read(s, 0x3f8 + 5, 1) & 0x60, 0x60);
	sim_pio_write(s, 0x3f8, 1, 'Z');
	uint8_t c = 0;
	assert_int_equal(chr_mem_take_output(f->com1, &c, 1), 1);
	assert_int_equal(c, 'Z');
	/* RTC register D: valid RAM and time. */
	sim_pio_write(s, 0x70, 1, 0x0d);
	assert_int_equal(sim_pio_read(s, 0x71, 1) & 0x80, 0x80);
	/* CMOS memory size: 64 MiB -> 48 MiB above 16 MiB in 64 KiB units. */
	sim_pio_write(s, 0x70, 1, 0x34);
	uint64_t lo = sim_pio_read(s, 0x71, 1);
	sim_pio_write(s, 0x70, 1, 0x35);
	uint64_t hi = sim_pio_read(s, 0x71, 1);
	assert_int_equal(lo | hi << 8, (48u << 20) >> 16);
	/* PIT read-back of channel 0 status answers (not all-ones). */
	sim_pio_write(s, 0x43, 1, 0xe2);
	assert_int_not_equal(sim_pio_read(s, 0x40, 1), 0xff);
	/* virtio-mmio window 0 is a block device. */
	assert_int_equal(sim_mmio_read(s, LAYOUT_VIRTIO_MMIO_BASE, 4), 0x74726976);
	assert_int_equal(sim_mmio_read(s, LAYOUT_VIRTIO_MMIO_BASE + 8, 4), 2);
	/* PCI: host bridge at 00.0, virtio-blk at 04.0 (mechanism #1). */
	sim_pio_write(s, 0xcf8, 4, 0x80000000u);
	assert_int_equal(sim_pio_read(s, 0xcfc, 4), 0x29c08086u);
	sim_pio_write(s, 0xcf8, 4, 0x80000000u | (4u << 11));
	assert_int_equal(sim_pio_read(s, 0xcfc, 4), 0x10421af4u);
	/* nvdimm mapped as guest memory with the file's bytes. */
	char sig[11] = "";
	const struct layout_dev *nv = NULL;
	for (unsigned i = 0; i < f->l.ndevs; i++)
		if (f->l.devs[i].pmem_size)
			nv = &f->l.devs[i];
	assert_non_null(nv);
	assert_int_equal(gm_read(s->m.gm, nv->pmem_base, sig, 10), 0);
	assert_string_equal(sig, "BOARD-PMEM");
	assert_true(board_device_count(f->b) >= 9);
	assert_null(board_balloon(f->b));
	done(f);
}

static void test_machine_requests(void **state)
{
	(void)state;
	struct bfix *f = q35_fixture();
	struct sim *s = f->sim;
	sim_pio_write(s, 0xf4, 1, 0x10);       /* debug-exit: (v << 1) | 1 */
	assert_int_equal(s->last_request, MACHINE_EXIT);
	assert_int_equal(s->last_request_status, 33);
	sim_pio_write(s, 0x64, 1, 0xfe);       /* i8042 reset pulse */
	assert_int_equal(s->last_request, MACHINE_RESET);
	/* q35 ACPI PM1a_CNT: SLP_TYP=S5 with SLP_EN. */
	sim_pio_write(s, ACPI_PM_IO_BASE + ACPI_PM1_CNT_OFF, 2,
		      (ACPI_SLP_TYP_S5 << 10) | (1u << 13));
	assert_int_equal(s->last_request, MACHINE_SHUTDOWN);
	board_shutdown(f->b);
	done(f);
}

static void test_balloon_found(void **state)
{
	(void)state;
	struct bfix *f = calloc(1, sizeof(*f));
	assert_int_equal(PARSE(f, "-machine", "microvm,accel=sim", "-m", "32M",
			       "-device", "virtio-balloon-device"), 0);
	assert_non_null(board_balloon(f->b));
	done(f);
}

/* board_check finds before any build what board_new would fail on
 * half-way: the address map, debug-exit on the board's own ports. */
static void test_board_check(void **state)
{
	(void)state;
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	char err[256];
	char *ok[] = { "vmm", "-serial", "null", "-device", "isa-debug-exit,iobase=0xf4", NULL };
	assert_int_equal(config_parse(cfg, 5, ok, err, sizeof(err)), 0);
	assert_int_equal(board_check(cfg, true, err, sizeof(err)), 0);
	char *com1[] = { "vmm", "-serial", "null", "-device", "isa-debug-exit,iobase=0x3fc", NULL };
	assert_int_equal(config_parse(cfg, 5, com1, err, sizeof(err)), 0);
	assert_int_equal(board_check(cfg, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "overlap the serial port COM1 at 0x3f8-0x3ff"));
	/* Without the serial port, those ports are free. */
	char *free_[] = { "vmm", "-device", "isa-debug-exit,iobase=0x3fc", NULL };
	assert_int_equal(config_parse(cfg, 3, free_, err, sizeof(err)), 0);
	assert_int_equal(board_check(cfg, false, err, sizeof(err)), 0);
	char *pit[] = { "vmm", "-device", "isa-debug-exit,iobase=0x43,iosize=1", NULL };
	assert_int_equal(config_parse(cfg, 3, pit, err, sizeof(err)), 0);
	assert_int_equal(board_check(cfg, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the PIT"));
	free(cfg);
}

static void test_bad_backends(void **state)
{
	(void)state;
	struct bfix *f = calloc(1, sizeof(*f));
	assert_int_equal(PARSE(f, "-machine", "microvm,accel=sim", "-m", "32M",
			       "-drive", "id=d0,file=/nonexistent/disk.img",
			       "-device", "virtio-blk-device,drive=d0"), -1);
	assert_non_null(strstr(f->err, "/nonexistent/disk.img"));
	assert_null(f->b);
	done(f);
	/* A debug-exit on COM1's ports: it cannot claim them. */
	f = calloc(1, sizeof(*f));
	assert_int_equal(PARSE(f, "-machine", "microvm,accel=sim", "-m", "32M",
			       "-serial", "stdio",
			       "-device", "isa-debug-exit,iobase=0x3f8,iosize=4"), -1);
	assert_non_null(strstr(f->err, "overlaps another device"));
	done(f);
}

static void test_rtc_base(void **state)
{
	(void)state;
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	struct board_host h = { .wall_epoch = 1000000, .utc_offset = -7200 };
	cfg->rtc.base = CFG_RTC_UTC;
	assert_int_equal(board_rtc_base(cfg, &h), 1000000);
	cfg->rtc.base = CFG_RTC_LOCALTIME;
	assert_int_equal(board_rtc_base(cfg, &h), 1000000 - 7200);
	cfg->rtc.base = CFG_RTC_DATE;
	cfg->rtc.date_epoch = 42;
	assert_int_equal(board_rtc_base(cfg, &h), 42);
	free(cfg);
}

/* What `vmm -machine accel=sim` runs; deterministic across runs. */
static void test_selftest(void **state)
{
	(void)state;
	struct bfix *f = q35_fixture();
	char *out1 = NULL, *out2 = NULL;
	size_t n1 = 0, n2 = 0;
	FILE *m = open_memstream(&out1, &n1);
	assert_int_equal(selftest_run(&f->cfg, NULL, m, f->err, sizeof(f->err)), 0);
	fclose(m);
	m = open_memstream(&out2, &n2);
	assert_int_equal(selftest_run(&f->cfg, NULL, m, f->err, sizeof(f->err)), 0);
	fclose(m);
	assert_string_equal(out1, out2);
	assert_non_null(strstr(out1, "ok: serial"));
	assert_non_null(strstr(out1, "ok: rtc: 2026-01-01"));
	assert_non_null(strstr(out1, "ok: virtio-blk over virtio-mmio: sector 0 \"BOARD-DISK"));
	assert_non_null(strstr(out1, "ok: virtio-blk over virtio-pci"));
	assert_non_null(strstr(out1, "ok: nvdimm at 0x"));
	assert_non_null(strstr(out1, "BOARD-PMEM"));
	assert_non_null(strstr(out1, ", 0 failed"));
	assert_null(strstr(out1, "FAIL"));
	free(out1);
	free(out2);
	done(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_devices_answer),
		cmocka_unit_test(test_machine_requests),
		cmocka_unit_test(test_balloon_found),
		cmocka_unit_test(test_bad_backends),
		cmocka_unit_test(test_board_check),
		cmocka_unit_test(test_rtc_base),
		cmocka_unit_test(test_selftest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
