/* The board's NVDIMM wiring (machine/board_nvdimm.c) on a simulated
 * machine: flush hints at NVDIMM_FLUSH_BASE answer every width and offset
 * the guest may use, a readonly=on NVDIMM's range drops writes (one log
 * line, the rest counted) and serves reads from the file, shared mappings
 * reach the file and are written back when the board shuts down, and
 * pmem-legacy=on (no NFIT) claims no flush hints. */
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
#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "core/log.h"
#include "machine/board.h"
#include "devices/nvdimm.h"
#include "sim/sim.h"

struct nfix {
	char ro[64], sh[64];
	struct machine_config cfg;
	struct layout l;
	struct log *log;
	struct sim *sim;
	struct board *b;
	char err[512];
};

static void make_file(char *path, const char *text)
{
	strcpy(path, "/tmp/vmm-board-nvdimm.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(ftruncate(fd, 2 << 20), 0);
	close(fd);
}

/* Two NVDIMMs: nv0 readonly=on, nv1 share=on. */
static struct nfix *fixture(const char *machine)
{
	struct nfix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	make_file(f->ro, "RO-NVDIMM-BYTES!");
	make_file(f->sh, "SHARED-NVDIMM---");
	char o0[160], o1[160];
	snprintf(o0, sizeof(o0), "memory-backend-file,id=m0,mem-path=%s,size=2M,"
		 "readonly=on", f->ro);
	snprintf(o1, sizeof(o1), "memory-backend-file,id=m1,mem-path=%s,size=2M,"
		 "share=on", f->sh);
	char *argv[] = { "vmm", "-machine", (char *)machine,
		"-m", "64M,slots=3,maxmem=1G", "-object", o0,
		"-device", "nvdimm,id=nv0,memdev=m0", "-object", o1,
		"-device", "nvdimm,id=nv1,memdev=m1", NULL };
	assert_int_equal(config_parse(&f->cfg, 13, argv, f->err, sizeof(f->err)), 0);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	f->log = log_new_memory(LOG_INFO);
	assert_non_null(f->log);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1,
				 .log = f->log };
	f->sim = sim_new(&sc);
	assert_non_null(f->sim);
	struct board_host host = { .wall_epoch = 1767225600 };
	f->b = board_new(&f->sim->m, &f->cfg, &f->l, &host, f->err, sizeof(f->err));
	if (!f->b)
		fail_msg("board_new: %s", f->err);
	return f;
}

static void done(struct nfix *f)
{
	board_free(f->b);
	sim_free(f->sim);
	log_free(f->log);
	unlink(f->ro);
	unlink(f->sh);
	free(f);
}

static uint64_t nv_base(const struct nfix *f, unsigned which)
{
	unsigned k = 0;
	for (unsigned i = 0; i < f->l.ndevs; i++)
		if (f->l.devs[i].pmem_size && k++ == which)
			return f->l.devs[i].pmem_base;
	fail_msg("no nvdimm %u", which);
	return 0;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void read_file(const char *path, char *buf, size_t n)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(buf, 1, n, fp), n);
	fclose(fp);
}

/* A file one byte shorter than the memdev's size= cannot back it (a
 * mapping past EOF faults when touched): the board refuses it. */
static void test_file_one_byte_short(void **state)
{
	(void)state;
	char path[64], obj[160], err[512];
	make_file(path, "SHORT-NVDIMM");
	assert_int_equal(truncate(path, (2 << 20) - 1), 0);
	snprintf(obj, sizeof(obj), "memory-backend-file,id=m0,mem-path=%s,size=2M", path);
	char *argv[] = { "vmm", "-machine", "q35,nvdimm=on", "-m", "64M,slots=1,maxmem=1G",
			 "-object", obj, "-device", "nvdimm,id=nv0,memdev=m0", NULL };
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	struct layout l;
	assert_int_equal(config_parse(cfg, 9, argv, err, sizeof(err)), 0);
	assert_int_equal(layout_build(&l, cfg, err, sizeof(err)), 0);
	struct sim_config sc = { .ram_size = l.ram[0].size, .seed = 1 };
	struct sim *s = sim_new(&sc);
	struct board_host host = { .wall_epoch = 1767225600 };
	err[0] = '\0';
	assert_null(board_new(&s->m, cfg, &l, &host, err, sizeof(err)));
	assert_non_null(strstr(err, "does not equal the size of"));
	sim_free(s);
	free(cfg);
	unlink(path);
}

/* Hostile guest: any width, any offset inside every hint page; reads are
 * zero; nothing past the last page is claimed. */
static void test_flush_hints(void **state)
{
	(void)state;
	struct nfix *f = fixture("q35,accel=sim,nvdimm=on");
	struct sim *s = f->sim;
	uint64_t unclaimed = bus_unclaimed_count(s->m.mmio);
	static const unsigned widths[] = { 1, 2, 4, 8 };
	for (unsigned p = 0; p < 2; p++)
		for (unsigned w = 0; w < 4; w++) {
			uint64_t a = NVDIMM_FLUSH_BASE + p * NVDIMM_FLUSH_STRIDE +
				     NVDIMM_FLUSH_STRIDE - widths[w];
			sim_mmio_write(s, a, widths[w], ~0ull);
			assert_int_equal(sim_mmio_read(s, a, widths[w]), 0);
		}
	assert_int_equal(bus_unclaimed_count(s->m.mmio), unclaimed);
	/* The page after the last NVDIMM's is not ours. */
	sim_mmio_write(s, NVDIMM_FLUSH_BASE + 2 * NVDIMM_FLUSH_STRIDE, 4, 1);
	assert_int_equal(bus_unclaimed_count(s->m.mmio), unclaimed + 1);
	board_shutdown(f->b);
	assert_non_null(strstr(log_memory_text(f->log),
			       "nvdimm: 8 guest flush(es) through the flush hints, 0 failed"));
	done(f);
}

static void test_readonly_writes_dropped(void **state)
{
	(void)state;
	struct nfix *f = fixture("q35,accel=sim,nvdimm=on");
	struct sim *s = f->sim;
	uint64_t ro = nv_base(f, 0);
	uint64_t unclaimed = bus_unclaimed_count(s->m.mmio);
	/* What KVM turns a write to a read-only slot into: MMIO exits at
	 * the first byte, the last byte, every width. */
	sim_mmio_write(s, ro, 8, 0x4141414141414141ull);
	sim_mmio_write(s, ro + (2u << 20) - 1, 1, 0x42);
	for (unsigned i = 0; i < 100; i++)
		sim_mmio_write(s, ro + 8 * i, 4, i);
	assert_int_equal(bus_unclaimed_count(s->m.mmio), unclaimed);
	/* An emulated read sees the file, not the dropped writes. */
	uint64_t v = sim_mmio_read(s, ro, 8);
	assert_memory_equal(&v, "RO-NVDIM", 8);      /* little-endian bytes */
	char b[16];
	assert_int_equal(gm_read(s->m.gm, ro, b, 16), 0);
	assert_memory_equal(b, "RO-NVDIMM-BYTES!", 16);
	read_file(f->ro, b, 16);
	assert_memory_equal(b, "RO-NVDIMM-BYTES!", 16);
	/* One line for 102 writes; the count at shutdown. */
	const char *text = log_memory_text(f->log);
	assert_int_equal(count(text, "to read-only memory dropped (readonly=on"), 1);
	board_shutdown(f->b);
	assert_non_null(strstr(log_memory_text(f->log),
			       "nvdimm nv0: 102 guest write(s) to read-only memory dropped"));
	done(f);
}

/* share=on: what the guest writes is in the file, and shutdown writes it
 * back (msync) and says so. */
static void test_shared_written_back(void **state)
{
	(void)state;
	struct nfix *f = fixture("microvm,accel=sim,nvdimm=on");
	uint64_t sh = nv_base(f, 1);
	assert_int_equal(gm_write(f->sim->m.gm, sh, "GUEST-DATA", 10), 0);
	sim_mmio_write(f->sim, NVDIMM_FLUSH_BASE + NVDIMM_FLUSH_STRIDE, 8, 1);
	board_shutdown(f->b);
	char b[10];
	read_file(f->sh, b, 10);
	assert_memory_equal(b, "GUEST-DATA", 10);
	const char *text = log_memory_text(f->log);
	assert_non_null(strstr(text, "nvdimm: 1 shared mapping(s) written back at exit"));
	assert_non_null(strstr(text, "nvdimm: 1 guest flush(es)"));
	done(f);
}

/* No NFIT, no flush hints: the page stays unclaimed. */
static void test_pmem_legacy_no_hints(void **state)
{
	(void)state;
	struct nfix *f = fixture("microvm,accel=sim,nvdimm=on,pmem-legacy=on");
	uint64_t unclaimed = bus_unclaimed_count(f->sim->m.mmio);
	sim_mmio_write(f->sim, NVDIMM_FLUSH_BASE, 8, 1);
	assert_int_equal(bus_unclaimed_count(f->sim->m.mmio), unclaimed + 1);
	board_shutdown(f->b);
	assert_null(strstr(log_memory_text(f->log), "flush hints"));
	done(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flush_hints),
		cmocka_unit_test(test_readonly_writes_dropped),
		cmocka_unit_test(test_shared_written_back),
		cmocka_unit_test(test_pmem_legacy_no_hints),
		cmocka_unit_test(test_file_one_byte_short),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
