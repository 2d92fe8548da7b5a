/* gm: region table, overflow checks, spanning, holes, read-only, faults. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include "core/gm.h"

static struct gm *gm_two(void)
{
	/* [0x1000,0x3000) heap, [0x3000,0x4000) heap adjacent, hole, then
	 * [0x10000,0x11000) read-only. */
	struct gm *gm = gm_new();
	assert_non_null(gm);
	assert_int_equal(gm_add_heap(gm, 0x3000, 0x1000, 0, "b"), 0);
	assert_int_equal(gm_add_heap(gm, 0x1000, 0x2000, 0, "a"), 0);
	assert_int_equal(gm_add_heap(gm, 0x10000, 0x1000, GM_READONLY, "ro"), 0);
	return gm;
}

static void test_regions_sorted(void **state)
{
	(void)state;
	struct gm *gm = gm_two();
	assert_int_equal(gm_region_count(gm), 3);
	assert_int_equal(gm_region_at(gm, 0)->gpa, 0x1000);
	assert_int_equal(gm_region_at(gm, 1)->gpa, 0x3000);
	assert_int_equal(gm_region_at(gm, 2)->gpa, 0x10000);
	assert_null(gm_region_at(gm, 3));
	assert_string_equal(gm_region_at(gm, 0)->name, "a");
	assert_int_equal(gm_region_at(gm, 0)->backing, GM_BACKING_HEAP);
	assert_ptr_equal(gm_region_find(gm, 0x2fff), gm_region_at(gm, 0));
	assert_ptr_equal(gm_region_find(gm, 0x3000), gm_region_at(gm, 1));
	assert_null(gm_region_find(gm, 0x4000));
	assert_null(gm_region_find(gm, 0xfff));
	assert_null(gm_region_find(gm, UINT64_MAX));
	gm_free(gm);
}

static void test_add_errors(void **state)
{
	(void)state;
	struct gm *gm = gm_two();
	uint8_t buf[16];
	assert_int_equal(gm_add_region(gm, 0x5000, 0, buf, 0, "z"), -EINVAL);
	assert_int_equal(gm_add_region(gm, 0x5000, 16, NULL, 0, "z"), -EINVAL);
	/* Wrapping, and ending exactly at 2^64. */
	assert_int_equal(gm_add_region(gm, UINT64_MAX - 7, 16, buf, 0, "w"), -EINVAL);
	assert_int_equal(gm_add_region(gm, UINT64_MAX - 15, 16, buf, 0, "w"), -EINVAL);
	/* Overlaps: inside, straddling start, straddling end, covering. */
	assert_int_equal(gm_add_region(gm, 0x1800, 16, buf, 0, "o"), -EEXIST);
	assert_int_equal(gm_add_region(gm, 0xff8, 16, buf, 0, "o"), -EEXIST);
	assert_int_equal(gm_add_region(gm, 0x3ff8, 16, buf, 0, "o"), -EEXIST);
	assert_int_equal(gm_add_heap(gm, 0, 0x100000, 0, "o"), -EEXIST);
	/* Adjacent on both sides is fine. */
	assert_int_equal(gm_add_region(gm, 0xff0, 16, buf, 0, NULL), 0);
	assert_string_equal(gm_region_find(gm, 0xff0)->name, "ram");
	assert_int_equal(gm_add_heap(gm, 0, 0, 0, "z"), -EINVAL);
	assert_int_equal(gm_add_heap(gm, UINT64_MAX, 2, 0, "z"), -EINVAL);
	/* Fill the table. */
	int rc = 0;
	for (unsigned i = 0; rc == 0; i++)
		rc = gm_add_region(gm, 0x100000 + 0x100 * (uint64_t)i, 16, buf, 0, "f");
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(gm_region_count(gm), GM_MAX_REGIONS);
	assert_int_equal(gm_add_heap(gm, 0x900000, 16, 0, "f"), -ENOSPC);
	gm_free(gm);
}

static void test_rw_basic(void **state)
{
	(void)state;
	struct gm *gm = gm_two();
	uint8_t in[64], out[64];
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(gm_write(gm, 0x1000, in, sizeof(in)), 0);
	assert_int_equal(gm_read(gm, 0x1000, out, sizeof(out)), 0);
	assert_memory_equal(in, out, sizeof(in));
	/* Last byte of a region. */
	assert_int_equal(gm_write(gm, 0x3fff, in, 1), 0);
	assert_int_equal(gm_read(gm, 0x3fff, out, 1), 0);
	assert_int_equal(out[0], in[0]);
	/* One past the end of the last adjacent region. */
	assert_int_equal(gm_read(gm, 0x3fff, out, 2), -EFAULT);
	assert_int_equal(gm_read(gm, 0x4000, out, 1), -EFAULT);
	assert_int_equal(gm_read(gm, 0xfff, out, 1), -EFAULT);
	assert_int_equal(gm_read(gm, 0xfff, out, 2), -EFAULT);
	gm_free(gm);
}

static void test_zero_length(void **state)
{
	(void)state;
	struct gm *gm = gm_two();
	uint8_t b = 0;
	/* Zero length succeeds anywhere and touches nothing. */
	assert_int_equal(gm_read(gm, 0xdead0000, &b, 0), 0);
	assert_int_equal(gm_write(gm, UINT64_MAX, &b, 0), 0);
	assert_int_equal(gm_write(gm, 0x10000, &b, 0), 0); /* read-only */
	assert_int_equal(gm_fill(gm, 0, 0, 0), 0);
	assert_true(gm_range_valid(gm, 0xdead0000, 0));
	/* ... but there is no zero-length raw pointer. */
	assert_null(gm_map(gm, 0x1000, 0, false));
	gm_free(gm);
}

static void test_wrap(void **state)
{
	(void)state;
	struct gm *gm = gm_new();
	static uint8_t top[0x1000];
	/* A region right below 2^64 (ending at 2^64 - 0x1000). */
	assert_int_equal(gm_add_region(gm, UINT64_MAX - 0x1fff, 0x1000, top, 0, "top"), 0);
	uint8_t b[16] = { 0 };
	assert_int_equal(gm_write(gm, UINT64_MAX - 0x1fff, b, 16), 0);
	assert_int_equal(gm_read(gm, UINT64_MAX - 0x100f, b, 16), 0);
	assert_int_equal(gm_read(gm, UINT64_MAX - 0x100f, b, 17), -EFAULT);
	/* gpa + len wraps: must fail, not wrap into low memory. */
	assert_int_equal(gm_read(gm, UINT64_MAX - 0x1fff, b, SIZE_MAX), -EFAULT);
	assert_int_equal(gm_write(gm, UINT64_MAX - 0x1fff, b, (size_t)0x2000 + 1), -EFAULT);
	assert_int_equal(gm_read(gm, UINT64_MAX, b, 2), -EFAULT);
	assert_int_equal(gm_read(gm, UINT64_MAX, b, 1), -EFAULT);
	assert_null(gm_map(gm, UINT64_MAX - 0x1fff, SIZE_MAX, false));
	assert_false(gm_range_valid(gm, UINT64_MAX - 0x1fff, SIZE_MAX));
	assert_false(gm_range_valid(gm, UINT64_MAX - 0xfff, 0x1000));
	assert_true(gm_range_valid(gm, UINT64_MAX - 0x1fff, 0x1000));
	/* Low memory region + wrap into it. */
	assert_int_equal(gm_add_heap(gm, 0, 0x1000, 0, "low"), 0);
	assert_int_equal(gm_read(gm, UINT64_MAX - 0x1fff, b, (size_t)-(UINT64_MAX - 0x1fff) + 8), -EFAULT);
	assert_int_equal(gm_fill(gm, UINT64_MAX - 4, 0, 16), -EFAULT);
	gm_free(gm);
}

static void test_span(void **state)
{
	(void)state;
	struct gm *gm = gm_two();
	uint8_t in[256], out[256];
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(255 - i);
	/* Across the a/b boundary at 0x3000. */
	assert_int_equal(gm_write(gm, 0x3000 - 100, in, sizeof(in)), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(gm_read(gm, 0x3000 - 100, out, sizeof(out)), 0);
	assert_memory_equal(in, out, sizeof(in));
	/* The bytes really landed in both regions' host memory. */
	const struct gm_region *a = gm_region_find(gm, 0x1000);
	const struct gm_region *b = gm_region_find(gm, 0x3000);
	assert_int_equal(a->host[0x2000 - 100], in[0]);
	assert_int_equal(b->host[0], in[100]);
	assert_true(gm_range_valid(gm, 0x1000, 0x3000));
	assert_false(gm_range_valid(gm, 0x1000, 0x3001));
	/* A raw pointer never spans regions. */
	assert_null(gm_map(gm, 0x3000 - 100, sizeof(in), false));
	assert_non_null(gm_map(gm, 0x3000 - 100, 100, true));
	/* Fill across the boundary. */
	assert_int_equal(gm_fill(gm, 0x2ff0, 0xab, 32), 0);
	assert_int_equal(gm_read(gm, 0x2ff0, out, 32), 0);
	for (int i = 0; i < 32; i++)
		assert_int_equal(out[i], 0xab);
	gm_free(gm);
}

static void test_hole(void **state)
{
	(void)state;
	struct gm *gm = gm_two();
	uint8_t in[32], out[32];
	memset(in, 0x5a, sizeof(in));
	memset(out, 0x11, sizeof(out));
	/* Into the hole after b: fails and copies nothing (no partial write). */
	assert_int_equal(gm_write(gm, 0x3ff0, in, sizeof(in)), -EFAULT);
	assert_int_equal(gm_read(gm, 0x3ff0, out, 16), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(out[i], 0);
	memset(out, 0x11, sizeof(out));
	assert_int_equal(gm_read(gm, 0x3ff0, out, sizeof(out)), -EFAULT);
	assert_int_equal(out[0], 0x11); /* buffer untouched */
	assert_int_equal(gm_read(gm, 0x8000, out, 4), -EFAULT);
	assert_false(gm_range_valid(gm, 0x3ff0, 32));
	assert_false(gm_range_valid(gm, 0x8000, 1));
	assert_null(gm_map(gm, 0x8000, 1, false));
	/* A huge length starting in RAM. */
	assert_int_equal(gm_read(gm, 0x1000, out, SIZE_MAX / 2), -EFAULT);
	/* Empty gm: everything is a hole. */
	struct gm *e = gm_new();
	assert_int_equal(gm_read(e, 0, out, 1), -EFAULT);
	assert_null(gm_region_find(e, 0));
	gm_free(e);
	gm_free(gm);
}

static void test_readonly(void **state)
{
	(void)state;
	struct gm *gm = gm_two();
	uint8_t v = 1;
	assert_int_equal(gm_write(gm, 0x10000, &v, 1), -EFAULT);
	assert_int_equal(gm_fill(gm, 0x10000, 1, 1), -EFAULT);
	assert_int_equal(gm_write_u32le(gm, 0x10004, 5), -EFAULT);
	assert_int_equal(gm_read(gm, 0x10000, &v, 1), 0);
	assert_int_equal(v, 0);
	assert_null(gm_map(gm, 0x10000, 16, true));
	assert_non_null(gm_map(gm, 0x10000, 16, false));
	/* ROM implies read-only. */
	assert_int_equal(gm_add_heap(gm, 0x20000, 0x1000, GM_ROM, "rom"), 0);
	assert_true(gm_region_find(gm, 0x20000)->flags & GM_READONLY);
	assert_int_equal(gm_write_u8(gm, 0x20000, 1), -EFAULT);
	/* A write spanning a writable and a read-only region fails whole. */
	assert_int_equal(gm_add_heap(gm, 0x11000, 0x1000, 0, "rw"), 0);
	uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_int_equal(gm_write(gm, 0x10ffc, buf, 8), -EFAULT);
	assert_int_equal(gm_read(gm, 0x10ffc, buf, 8), 0);
	assert_int_equal(buf[4], 0);
	gm_free(gm);
}

static void test_typed(void **state)
{
	(void)state;
	struct gm *gm = gm_two();
	assert_int_equal(gm_write_u64le(gm, 0x1000, 0x0807060504030201ull), 0);
	uint8_t raw[8];
	assert_int_equal(gm_read(gm, 0x1000, raw, 8), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(raw[i], i + 1);
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	assert_int_equal(gm_read_u8(gm, 0x1001, &u8), 0);
	assert_int_equal(u8, 2);
	assert_int_equal(gm_read_u16le(gm, 0x1001, &u16), 0);
	assert_int_equal(u16, 0x0302);
	assert_int_equal(gm_read_u32le(gm, 0x1003, &u32), 0);
	assert_int_equal(u32, 0x07060504);
	assert_int_equal(gm_read_u64le(gm, 0x1000, &u64), 0);
	assert_int_equal(u64, 0x0807060504030201ull);
	assert_int_equal(gm_write_u8(gm, 0x2000, 0xee), 0);
	assert_int_equal(gm_write_u16le(gm, 0x2002, 0xbeef), 0);
	assert_int_equal(gm_write_u32le(gm, 0x2ffe, 0xcafef00d), 0); /* spans */
	assert_int_equal(gm_read_u32le(gm, 0x2ffe, &u32), 0);
	assert_int_equal(u32, 0xcafef00d);
	assert_int_equal(gm_read_u16le(gm, 0x2002, &u16), 0);
	assert_int_equal(u16, 0xbeef);
	/* Failures leave the output untouched. */
	u64 = 42;
	u32 = 42;
	u16 = 42;
	u8 = 42;
	assert_int_equal(gm_read_u64le(gm, 0x3ffc, &u64), -EFAULT);
	assert_int_equal(gm_read_u32le(gm, 0x3ffe, &u32), -EFAULT);
	assert_int_equal(gm_read_u16le(gm, 0x3fff, &u16), -EFAULT);
	assert_int_equal(gm_read_u8(gm, 0x4000, &u8), -EFAULT);
	assert_int_equal(u64 + u32 + u16 + u8, 4 * 42);
	assert_int_equal(gm_write_u64le(gm, UINT64_MAX - 3, 1), -EFAULT);
	assert_int_equal(gm_write_u16le(gm, 0x3fff, 1), -EFAULT);
	gm_free(gm);
}

static void test_map(void **state)
{
	(void)state;
	struct gm *gm = gm_two();
	uint8_t *p = gm_map(gm, 0x1010, 16, true);
	assert_non_null(p);
	p[0] = 0x77;
	uint8_t v;
	assert_int_equal(gm_read_u8(gm, 0x1010, &v), 0);
	assert_int_equal(v, 0x77);
	assert_non_null(gm_map(gm, 0x1000, 0x2000, false));
	assert_null(gm_map(gm, 0x1000, 0x2001, false));
	gm_free(gm);
}

static void test_faults(void **state)
{
	(void)state;
	struct gm *gm = gm_two();
	uint8_t b[16] = { 0 };
	assert_int_equal(gm_inject_fault(gm, 0x1100, 0x10, GM_FAULT_READ), 0);
	assert_int_equal(gm_inject_fault(gm, 0x1200, 0x10, GM_FAULT_WRITE), 0);
	/* Read fault: reads overlapping fail, writes pass. */
	assert_int_equal(gm_read(gm, 0x10f8, b, 16), -EFAULT);
	assert_int_equal(gm_read(gm, 0x110f, b, 1), -EFAULT);
	assert_int_equal(gm_read(gm, 0x1110, b, 16), 0);
	assert_int_equal(gm_read(gm, 0x10f0, b, 16), 0);
	assert_int_equal(gm_write(gm, 0x1100, b, 16), 0);
	assert_null(gm_map(gm, 0x1100, 4, false));
	assert_null(gm_map(gm, 0x1100, 4, true)); /* writable maps are read too */
	/* Write fault. */
	assert_int_equal(gm_write(gm, 0x1208, b, 16), -EFAULT);
	assert_int_equal(gm_fill(gm, 0x1208, 0, 1), -EFAULT);
	assert_int_equal(gm_read(gm, 0x1208, b, 16), 0);
	assert_null(gm_map(gm, 0x1200, 4, true));
	assert_non_null(gm_map(gm, 0x1200, 4, false));
	/* Faults do not change validity of the range itself. */
	assert_true(gm_range_valid(gm, 0x1100, 16));
	assert_int_equal(gm_inject_fault(gm, 0x1300, 0, GM_FAULT_READ), -EINVAL);
	assert_int_equal(gm_inject_fault(gm, 0x1300, 1, 0), -EINVAL);
	/* A fault reaching past 2^64 is clamped, not wrapped. */
	assert_int_equal(gm_inject_fault(gm, UINT64_MAX - 1, 16, GM_FAULT_READ), 0);
	assert_int_equal(gm_read(gm, 0x1000, b, 1), 0);
	gm_clear_faults(gm);
	assert_int_equal(gm_read(gm, 0x1100, b, 16), 0);
	assert_int_equal(gm_write(gm, 0x1200, b, 16), 0);
	for (int i = 0; i < GM_MAX_FAULTS; i++)
		assert_int_equal(gm_inject_fault(gm, 0x1000 + 0x10 * (uint64_t)i, 1,
						 GM_FAULT_READ | GM_FAULT_WRITE), 0);
	assert_int_equal(gm_inject_fault(gm, 0x2000, 1, GM_FAULT_READ), -ENOSPC);
	assert_int_equal(gm_read(gm, 0x1070, b, 1), -EFAULT);
	assert_int_equal(gm_write(gm, 0x1070, b, 1), -EFAULT);
	gm_free(gm);
}

static void test_external_and_free_null(void **state)
{
	(void)state;
	uint8_t mem[64] = { 0 };
	struct gm *gm = gm_new();
	assert_int_equal(gm_add_region(gm, 0x40, sizeof(mem), mem, 0, "ext"), 0);
	assert_int_equal(gm_write_u32le(gm, 0x44, 0x11223344), 0);
	assert_int_equal(mem[4], 0x44);
	assert_int_equal(gm_region_find(gm, 0x40)->fd, -1);
	assert_int_equal(gm_sync(gm), 0); /* nothing to sync */
	gm_free(gm); /* must not free mem */
	gm_free(NULL);
	assert_int_equal(mem[7], 0x11);
}

static bool gate_of(void *opaque)
{
	return *(bool *)opaque;
}

/* A gated view (a PCI function's Bus Master Enable): closed, no byte
 * moves either way and no raw pointer is handed out; layout queries still
 * answer; open, it is the parent. */
static void test_view(void **state)
{
	(void)state;
	struct gm *gm = gm_new();
	assert_int_equal(gm_add_heap(gm, 0x1000, 0x2000, 0, "ram"), 0);
	assert_int_equal(gm_write_u32le(gm, 0x1000, 0x11223344), 0);
	bool open = false;
	struct gm *v = gm_view_new(gm, gate_of, &open);
	assert_non_null(v);
	assert_null(gm_view_new(NULL, gate_of, &open));
	assert_false(gm_enabled(v));
	assert_true(gm_enabled(gm));
	uint32_t x = 0;
	uint8_t buf[4] = { 1, 2, 3, 4 };
	assert_int_equal(gm_read_u32le(v, 0x1000, &x), -EFAULT);
	assert_int_equal(gm_write(v, 0x1000, buf, 4), -EFAULT);
	assert_int_equal(gm_fill(v, 0x1000, 0, 4), -EFAULT);
	assert_null(gm_map(v, 0x1000, 4, false));
	assert_int_equal(gm_read_u32le(gm, 0x1000, &x), 0);
	assert_int_equal(x, 0x11223344);
	assert_true(gm_range_valid(v, 0x1000, 0x2000));
	assert_int_equal(gm_region_count(v), 1);
	assert_non_null(gm_region_find(v, 0x1800));
	/* No regions of its own. */
	assert_int_equal(gm_add_heap(v, 0x8000, 0x1000, 0, "x"), -EINVAL);
	open = true;
	assert_true(gm_enabled(v));
	assert_int_equal(gm_write(v, 0x1000, buf, 4), 0);
	assert_int_equal(gm_read_u32le(gm, 0x1000, &x), 0);
	assert_int_equal(x, 0x04030201);
	assert_non_null(gm_map(v, 0x1000, 4, true));
	gm_free(v);
	/* The parent is intact after the view goes. */
	assert_int_equal(gm_read_u32le(gm, 0x1000, &x), 0);
	gm_free(gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regions_sorted),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_rw_basic),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_span),
		cmocka_unit_test(test_hole),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_typed),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_external_and_free_null),
		cmocka_unit_test(test_view),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
