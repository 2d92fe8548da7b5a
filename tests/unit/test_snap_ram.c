/* Guest RAM in a snapshot (machine/board_snap_ram.c): the page map's runs
 * and their checks against hostile maps; a save of anonymous RAM that
 * neither reads nor faults in pages the guest never touched; a save of a
 * shared memfd that skips its holes; a load that writes the stream's
 * runs, makes every other page zero (dropping touched anonymous pages,
 * clearing shared ones) and refuses a map or byte count that disagrees
 * with the region before writing anything. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "core/gm.h"
#include "core/snapshot.h"
#include "machine/board_snap_ram.h"

#define PG SNAPRAM_PAGE

/* ---- runs over a map ---- */

static void test_runs(void **state)
{
	(void)state;
	/* pages 0-2 set, 3-10 clear, 11-18 set, 19 clear (20 pages) */
	uint8_t map[3] = { 0x07, 0xf8, 0x07 };
	uint64_t n, pg;
	pg = snapram_next_run(map, 20, 0, true, &n);
	assert_int_equal(pg, 0);
	assert_int_equal(n, 3);
	pg = snapram_next_run(map, 20, 3, true, &n);
	assert_int_equal(pg, 11);
	assert_int_equal(n, 8);
	pg = snapram_next_run(map, 20, 3, false, &n);
	assert_int_equal(pg, 3);
	assert_int_equal(n, 8);
	/* Page 19 is clear: the last clear run ends at npg, not past it. */
	pg = snapram_next_run(map, 20, 12, false, &n);
	assert_int_equal(pg, 19);
	assert_int_equal(n, 1);
	pg = snapram_next_run(map, 20, 20, true, &n);
	assert_int_equal(pg, 20);
	assert_int_equal(n, 0);
	/* Whole bytes: a run over several full bytes, cut at npg. */
	uint8_t full[4] = { 0xff, 0xff, 0xff, 0xff };
	pg = snapram_next_run(full, 27, 0, true, &n);
	assert_int_equal(pg, 0);
	assert_int_equal(n, 27);
	uint8_t none[4] = { 0 };
	pg = snapram_next_run(none, 27, 0, true, &n);
	assert_int_equal(n, 0);
	pg = snapram_next_run(none, 27, 5, false, &n);
	assert_int_equal(pg, 5);
	assert_int_equal(n, 22);
}

/* Hostile maps: the wrong length, a bit past the last page, a byte
 * count that is not what the set bits name (the short last page counts
 * its real bytes). */
static void test_check_map(void **state)
{
	(void)state;
	uint64_t size = 10 * PG + 100;           /* 11 pages, the last short */
	uint64_t npg = snapram_npages(size);
	assert_int_equal(npg, 11);
	uint8_t map[2] = { 0x01, 0x04 };         /* pages 0 and 10 */
	assert_int_equal(snapram_check_map(map, 2, npg, PG + 100, size), 0);
	assert_int_equal(snapram_check_map(map, 1, npg, PG + 100, size), -1);
	assert_int_equal(snapram_check_map(map, 3, npg, PG + 100, size), -1);
	assert_int_equal(snapram_check_map(map, 2, npg, 2 * PG, size), -2);
	assert_int_equal(snapram_check_map(map, 2, npg, PG + 99, size), -2);
	uint8_t past[2] = { 0x01, 0x08 };        /* page 11: not there */
	assert_int_equal(snapram_check_map(past, 2, npg, PG + PG, size), -2);
	uint8_t allset[2] = { 0xff, 0x07 };
	assert_int_equal(snapram_check_map(allset, 2, npg, 10 * PG + 100, size), 0);
	/* A byte count that wraps a size_t is no match either. */
	assert_int_equal(snapram_check_map(allset, 2, npg, SIZE_MAX, size), -2);
	/* Empty region. */
	assert_int_equal(snapram_check_map(map, 0, 0, 0, 0), 0);
}

/* ---- regions ---- */

static struct gm_region anon_region(uint8_t **host, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(p != MAP_FAILED);
	*host = p;
	struct gm_region g = { .gpa = 0, .size = size, .host = p,
			       .backing = GM_BACKING_MMAP, .fd = -1 };
	strcpy(g.name, "ram0");
	return g;
}

static unsigned resident(uint8_t *host, uint64_t size)
{
	unsigned char vec[1024];
	assert_true(size / PG <= sizeof(vec));
	assert_int_equal(mincore(host, size, vec), 0);
	unsigned n = 0;
	for (uint64_t i = 0; i < size / PG; i++)
		n += vec[i] & 1;
	return n;
}

static bool have_swap(void)
{
	struct sysinfo si;
	return sysinfo(&si) != 0 || si.totalswap != 0;
}

struct saved {
	uint8_t *buf;
	size_t len;
};

static struct saved save_region(const struct gm_region *g)
{
	struct snap_w *w = snap_w_new();
	snap_w_begin(w, "r", 1);
	snapram_save_region(w, g);
	snap_w_end(w);
	const uint8_t *b;
	size_t len;
	assert_int_equal(snap_w_finish(w, &b, &len), 0);
	struct saved s = { malloc(len), len };
	memcpy(s.buf, b, len);
	snap_w_free(w);
	return s;
}

static int load_region(const struct saved *s, const struct gm_region *g,
		       char *why, size_t whylen)
{
	struct snap_r *r;
	char e[SNAP_ERR_LEN];
	assert_int_equal(snap_r_open(&r, s->buf, s->len, e, sizeof(e)), 0);
	snap_r_begin(r, "r", 1, NULL);
	snapram_load_region(r, g);
	snap_r_end(r);
	int rc = snap_r_failed(r);
	snprintf(why, whylen, "%s", rc ? snap_r_error(r) : "");
	snap_r_free(r);
	return rc;
}

/* Two runs of touched pages in 256 pages of anonymous RAM: the stream
 * holds exactly those pages, and the save faulted in nothing else. */
static void test_anon_sparse_roundtrip(void **state)
{
	(void)state;
	uint64_t size = 256 * PG;
	uint8_t *a;
	struct gm_region g = anon_region(&a, size);
	memset(a + 3 * PG, 0x11, 2 * PG);        /* pages 3, 4 */
	a[200 * PG + 7] = 0x22;                  /* page 200 */
	memset(a + 201 * PG, 0, PG);             /* page 201: touched, zero */
	unsigned before = resident(a, size);
	struct saved s = save_region(&g);
	if (!have_swap())
		assert_int_equal(resident(a, size), before);   /* nothing faulted in */
	/* The stream: map + 3 pages of bytes, not 256. */
	assert_true(s.len < 4 * PG);
	assert_true(s.len > 3 * PG);

	/* Restore into RAM that had other things in it. */
	uint8_t *b;
	struct gm_region h = anon_region(&b, size);
	memset(b, 0x55, 8 * PG);                 /* pages 0-7: must become 0 or 0x11 */
	b[255 * PG + 5] = 0x66;                  /* the last page */
	char why[SNAP_ERR_LEN];
	assert_int_equal(load_region(&s, &h, why, sizeof(why)), 0);
	/* Only the stream's pages are in the restore target: the ones the
	 * map leaves out were dropped, not read or written (before the
	 * comparison below reads them all). */
	if (!have_swap() && resident(b, size) > 3)
		fail_msg("%u pages resident after the load, 3 written", resident(b, size));
	assert_memory_equal(a, b, size);
	free(s.buf);
	munmap(a, size);
	munmap(b, size);
}

/* Heap RAM (the simulator's) with a short last page: every page looked
 * at, the short one's real bytes only. */
static void test_heap_short_page(void **state)
{
	(void)state;
	uint64_t size = 5 * PG + 10;
	uint8_t *a = calloc(1, size), *b = malloc(size);
	struct gm_region g = { .size = size, .host = a, .backing = GM_BACKING_HEAP, .fd = -1 };
	struct gm_region h = { .size = size, .host = b, .backing = GM_BACKING_HEAP, .fd = -1 };
	a[PG] = 1;
	a[5 * PG + 9] = 2;
	memset(b, 0x77, size);
	struct saved s = save_region(&g);
	char why[SNAP_ERR_LEN];
	assert_int_equal(load_region(&s, &h, why, sizeof(why)), 0);
	assert_memory_equal(a, b, size);
	free(s.buf);
	free(a);
	free(b);
}

/* A shared memfd: its holes are skipped by SEEK_DATA, pages with data
 * saved, and on load a page that must be zero is cleared in the file. */
static void test_memfd(void **state)
{
	(void)state;
	uint64_t size = 64 * PG;
	int fd = memfd_create("snapram", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	uint8_t *a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(a != MAP_FAILED);
	struct gm_region g = { .size = size, .host = a, .flags = GM_SHARED,
			       .backing = GM_BACKING_MMAP, .fd = fd };
	a[10 * PG] = 9;
	a[40 * PG + 4095] = 8;
	struct saved s = save_region(&g);
	assert_true(s.len < 3 * PG);
	/* Into the same memfd after the guest wrote elsewhere. */
	memset(a + 20 * PG, 0x44, 2 * PG);
	a[10 * PG] = 0;
	char why[SNAP_ERR_LEN];
	assert_int_equal(load_region(&s, &g, why, sizeof(why)), 0);
	assert_int_equal(a[10 * PG], 9);
	assert_int_equal(a[40 * PG + 4095], 8);
	for (uint64_t i = 20 * PG; i < 22 * PG; i++)
		assert_int_equal(a[i], 0);
	free(s.buf);
	munmap(a, size);
	close(fd);
}

/* A stream edited the way a hostile file would be: each refused with the
 * field, and the target RAM left as it was. */
static struct saved handmade(const uint8_t *map, size_t mlen, size_t dlen)
{
	struct snap_w *w = snap_w_new();
	snap_w_begin(w, "r", 1);
	snap_w_blob(w, "page_map", map, mlen);
	uint8_t *d = calloc(1, dlen ? dlen : 1);
	memset(d, 0xab, dlen);
	snap_w_blob(w, "pages", d, dlen);
	free(d);
	snap_w_end(w);
	const uint8_t *b;
	size_t len;
	assert_int_equal(snap_w_finish(w, &b, &len), 0);
	struct saved s = { malloc(len), len };
	memcpy(s.buf, b, len);
	snap_w_free(w);
	return s;
}

static void test_hostile_streams(void **state)
{
	(void)state;
	uint64_t size = 16 * PG;
	uint8_t *b;
	struct gm_region h = anon_region(&b, size);
	memset(b, 0x5a, size);
	char why[SNAP_ERR_LEN];
	static const struct {
		uint8_t map[4];
		size_t mlen, dlen;
		const char *field;
	} cases[] = {
		{ { 0x01, 0x00 }, 1, PG, "page_map" },           /* map too short */
		{ { 0x01, 0x00, 0x00 }, 3, PG, "page_map" },     /* map too long */
		{ { 0x01, 0x00 }, 2, 2 * PG, "pages" },          /* bytes for 2 pages, 1 set */
		{ { 0x03, 0x00 }, 2, PG, "pages" },              /* too few bytes */
		{ { 0xff, 0xff }, 2, 16 * PG - 1, "pages" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct saved s = handmade(cases[i].map, cases[i].mlen, cases[i].dlen);
		assert_true(load_region(&s, &h, why, sizeof(why)) != 0);
		if (!strstr(why, cases[i].field))
			fail_msg("case %zu: '%s' does not name %s", i, why, cases[i].field);
		for (uint64_t j = 0; j < size; j++)
			if (b[j] != 0x5a)
				fail_msg("case %zu: RAM written at %llu", i, (unsigned long long)j);
		free(s.buf);
	}
	/* A region whose last page is short: a bit past it is refused. */
	uint8_t *c = malloc(3 * PG + 1);
	memset(c, 0x5a, 3 * PG + 1);
	struct gm_region k = { .size = 3 * PG + 1, .host = c, .backing = GM_BACKING_HEAP, .fd = -1 };
	uint8_t past[1] = { 0x10 };                      /* page 4 of 4 (0-3) */
	struct saved s = handmade(past, 1, PG);
	assert_true(load_region(&s, &k, why, sizeof(why)) != 0);
	assert_non_null(strstr(why, "pages"));
	free(s.buf);
	uint8_t last[1] = { 0x08 };                      /* page 3: 1 byte */
	s = handmade(last, 1, 1);
	assert_int_equal(load_region(&s, &k, why, sizeof(why)), 0);
	assert_int_equal(c[3 * PG], 0xab);
	assert_int_equal(c[0], 0);
	free(s.buf);
	free(c);
	munmap(b, size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_check_map),
		cmocka_unit_test(test_anon_sparse_roundtrip),
		cmocka_unit_test(test_heap_short_page),
		cmocka_unit_test(test_memfd),
		cmocka_unit_test(test_hostile_streams),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
