/* AML emitter: PkgLength encoding at every width boundary (ACPI 6.4
 * §20.2.4), NameString forms (§20.2.2), integer/string/EISA ID/UUID
 * encodings, nested scopes, resource descriptors (§6.4), and rejection
 * of bad input (which latches a->err instead of emitting garbage). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "devices/acpi/aml.h"

static void expect_bytes(const struct aml *a, const uint8_t *want, size_t n)
{
	assert_false(a->err);
	assert_int_equal(a->len, n);
	assert_memory_equal(a->buf, want, n);
}

static void test_pkglen_boundaries(void **state)
{
	(void)state;
	uint8_t o[4];
	/* 1 byte holds up to 63 including itself. */
	assert_int_equal(aml_pkglen_encode(0, o), 1);
	assert_int_equal(o[0], 1);
	assert_int_equal(aml_pkglen_encode(62, o), 1);
	assert_int_equal(o[0], 63);
	/* 63 bytes of body: 2-byte form, value 65 = 0x41: lead 0x41, 0x04. */
	assert_int_equal(aml_pkglen_encode(63, o), 2);
	assert_int_equal(o[0], 0x41);
	assert_int_equal(o[1], 0x04);
	/* 4093 + 2 = 4095, the largest 2-byte value. */
	assert_int_equal(aml_pkglen_encode(4093, o), 2);
	assert_int_equal(o[0], 0x4f);
	assert_int_equal(o[1], 0xff);
	/* 4094 + 3 = 4097 = 0x1001: 3 bytes 0x81 0x00 0x01. */
	assert_int_equal(aml_pkglen_encode(4094, o), 3);
	assert_int_equal(o[0], 0x81);
	assert_int_equal(o[1], 0x00);
	assert_int_equal(o[2], 0x01);
	assert_int_equal(aml_pkglen_encode((1u << 20) - 4, o), 3);
	assert_int_equal(aml_pkglen_encode((1u << 20) - 3, o), 4);
	assert_int_equal(o[0] >> 6, 3);
	/* Beyond 2^28 - 1: not encodable. */
	assert_int_equal(aml_pkglen_encode((1u << 28) - 4, o), 0);
	assert_int_equal(aml_pkglen_encode((size_t)1 << 40, o), 0);
}

static void test_pkglen_raw(void **state)
{
	(void)state;
	uint8_t o[4];
	assert_int_equal(aml_pkglen_encode_raw(0x3f, o), 1);
	assert_int_equal(o[0], 0x3f);
	/* 1 Mbit field (128 KiB label): 0x100000 = 4 bytes: 0xC0 0 0 1. */
	assert_int_equal(aml_pkglen_encode_raw(0x100000, o), 4);
	assert_int_equal(o[0], 0xc0);
	assert_int_equal(o[1], 0x00);
	assert_int_equal(o[2], 0x00);
	assert_int_equal(o[3], 0x01);
	assert_int_equal(aml_pkglen_encode_raw(1u << 28, o), 0);
	/* Each width's last value and the next one (ACPI 6.4 §20.2.4:
	 * 12 bits in two bytes, 20 in three). */
	assert_int_equal(aml_pkglen_encode_raw((1u << 12) - 1, o), 2);
	assert_int_equal(aml_pkglen_encode_raw(1u << 12, o), 3);
	assert_int_equal(o[0], 0x80);
	assert_int_equal(o[1], 0x00);
	assert_int_equal(o[2], 0x01);
	assert_int_equal(aml_pkglen_encode_raw((1u << 20) - 1, o), 3);
	assert_int_equal(aml_pkglen_encode_raw(1u << 20, o), 4);
}

static void test_scope_pkglen_fixup(void **state)
{
	(void)state;
	struct aml a;
	aml_init(&a);
	size_t m = aml_scope_begin(&a, "\\_SB");
	aml_name_int(&a, "_UID", 5);
	aml_end(&a, m);
	/* Scope: 0x10 PkgLength(1 + 5 + 1 + 4 + 2 = 13) '\' _SB_ 08 _UID 0A 05 */
	static const uint8_t want[] = { 0x10, 0x0d, '\\', '_', 'S', 'B', '_',
					0x08, '_', 'U', 'I', 'D', 0x0a, 0x05 };
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);
}

static void test_large_body_two_byte_pkglen(void **state)
{
	(void)state;
	struct aml a;
	aml_init(&a);
	size_t m = aml_package_begin(&a, 100);
	for (int i = 0; i < 100; i++)
		aml_int(&a, 0x80); /* 2 bytes each */
	aml_end(&a, m);
	assert_false(a.err);
	/* 0x12, 2-byte PkgLength for 1 + 200 + 2 = 203 = 0xCB, count. */
	assert_int_equal(a.len, 1 + 2 + 1 + 200);
	assert_int_equal(a.buf[0], 0x12);
	assert_int_equal(a.buf[1], 0x40 | (203 & 0xf));
	assert_int_equal(a.buf[2], 203 >> 4);
	assert_int_equal(a.buf[3], 100);
	assert_int_equal(a.buf[4], 0x0a);
	aml_free(&a);
}

static void test_names(void **state)
{
	(void)state;
	struct aml a;
	aml_init(&a);
	aml_name(&a, "_HI");
	expect_bytes(&a, (const uint8_t *)"_HI_", 4);
	aml_free(&a);

	aml_init(&a);
	aml_name(&a, "\\_SB.PCI0");
	static const uint8_t dual[] = { '\\', 0x2e, '_', 'S', 'B', '_',
					'P', 'C', 'I', '0' };
	expect_bytes(&a, dual, sizeof(dual));
	aml_free(&a);

	aml_init(&a);
	aml_name(&a, "^^A.B.C");
	static const uint8_t multi[] = { '^', '^', 0x2f, 3, 'A', '_', '_', '_',
					 'B', '_', '_', '_', 'C', '_', '_', '_' };
	expect_bytes(&a, multi, sizeof(multi));
	aml_free(&a);
}

static void test_bad_names_latch_error(void **state)
{
	(void)state;
	static const char *const bad[] = { "", "abcd", "TOOLONG", "1ABC",
					   "A..B", "ABC.", "A-B", ".A" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aml a;
		aml_init(&a);
		aml_name(&a, bad[i]);
		assert_true(a.err);
		/* Once latched, nothing more is emitted. */
		size_t len = a.len;
		aml_int(&a, 0x1234);
		assert_int_equal(a.len, len);
		aml_free(&a);
	}
	struct aml a;
	aml_init(&a);
	aml_name(&a, NULL);
	assert_true(a.err);
	aml_free(&a);
}

static void test_integers(void **state)
{
	(void)state;
	struct aml a;
	aml_init(&a);
	aml_int(&a, 0);
	aml_int(&a, 1);
	aml_int(&a, UINT64_MAX);
	aml_int(&a, 0xff);
	aml_int(&a, 0x100);
	aml_int(&a, 0x10000);
	aml_int(&a, 0x100000000ull);
	aml_dword(&a, 7);
	static const uint8_t want[] = {
		0x00, 0x01, 0xff, 0x0a, 0xff, 0x0b, 0x00, 0x01,
		0x0c, 0x00, 0x00, 0x01, 0x00,
		0x0e, 0, 0, 0, 0, 1, 0, 0, 0,
		0x0c, 7, 0, 0, 0,
	};
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);
}

static void test_string_and_eisaid(void **state)
{
	(void)state;
	struct aml a;
	aml_init(&a);
	aml_string(&a, "LNRO0005");
	aml_eisaid(&a, "PNP0501");
	static const uint8_t want[] = { 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0',
					'5', 0, 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);

	static const char *const bad[] = { "pnp0501", "PNP050", "PNP05011",
					   "PNP05G1" };
	for (size_t i = 0; i < 4; i++) {
		aml_init(&a);
		aml_eisaid(&a, bad[i]);
		assert_true(a.err);
		aml_free(&a);
	}
	aml_init(&a);
	aml_string(&a, "caf\xc3\xa9");
	assert_true(a.err);
	aml_free(&a);
}

static void test_uuid(void **state)
{
	(void)state;
	uint8_t b[16];
	static const uint8_t pm[16] = { 0x79, 0xd3, 0xf0, 0x66, 0xf3, 0xb4,
					0x74, 0x40, 0xac, 0x43, 0x0d, 0x33,
					0x18, 0xb7, 0x8c, 0xdb };
	assert_int_equal(aml_uuid_bytes("66F0D379-B4F3-4074-AC43-0D3318B78CDB", b), 0);
	assert_memory_equal(b, pm, 16);
	assert_int_equal(aml_uuid_bytes("66f0d379-b4f3-4074-ac43-0d3318b78cdb", b), 0);
	assert_memory_equal(b, pm, 16);
	assert_int_equal(aml_uuid_bytes("66F0D379B4F3-4074-AC43-0D3318B78CDB0", b), -1);
	assert_int_equal(aml_uuid_bytes("66F0D379-B4F3-4074-AC43-0D3318B78CDX", b), -1);
	assert_int_equal(aml_uuid_bytes("66F0D379", b), -1);
	assert_int_equal(aml_uuid_bytes(NULL, b), -1);

	struct aml a;
	aml_init(&a);
	aml_uuid(&a, "66F0D379-B4F3-4074-AC43-0D3318B78CDB");
	assert_false(a.err);
	/* Buffer: 0x11 PkgLength(1 + 2 + 16 = 19) BytePrefix 16 bytes */
	assert_int_equal(a.len, 1 + 1 + 2 + 16);
	assert_int_equal(a.buf[0], 0x11);
	assert_int_equal(a.buf[1], 19);
	assert_int_equal(a.buf[2], 0x0a);
	assert_int_equal(a.buf[3], 16);
	assert_memory_equal(a.buf + 4, pm, 16);
	aml_free(&a);
}

static void test_method_device_if(void **state)
{
	(void)state;
	struct aml a;
	aml_init(&a);
	size_t d = aml_device_begin(&a, "DEV0");
	size_t m = aml_method_begin(&a, "_STA", 0, false);
	size_t i = aml_if_begin(&a);
	aml_op(&a, AML_OP_LEQUAL);
	aml_arg(&a, 0);
	aml_int(&a, 0);
	aml_return(&a);
	aml_int(&a, 0x0f);
	aml_end(&a, i);
	aml_end(&a, m);
	aml_end(&a, d);
	static const uint8_t want[] = {
		0x5b, 0x82, 20, 'D', 'E', 'V', '0',
		0x14, 14, '_', 'S', 'T', 'A', 0x00,
		0xa0, 7, 0x93, 0x68, 0x00, 0xa4, 0x0a, 0x0f,
	};
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);

	aml_init(&a);
	aml_method_begin(&a, "_FOO", 8, true);
	assert_true(a.err);
	aml_free(&a);
	aml_init(&a);
	aml_package_begin(&a, 256);
	assert_true(a.err);
	aml_free(&a);
	aml_init(&a);
	aml_arg(&a, 7);
	assert_true(a.err);
	aml_free(&a);
	aml_init(&a);
	aml_local(&a, 8);
	assert_true(a.err);
	aml_free(&a);
}

static void test_end_with_bad_mark(void **state)
{
	(void)state;
	struct aml a;
	aml_init(&a);
	aml_byte(&a, 1);
	aml_end(&a, 5); /* a mark past the end is a programming error */
	assert_true(a.err);
	aml_free(&a);
}

static void test_opregion_field(void **state)
{
	(void)state;
	struct aml a;
	aml_init(&a);
	aml_opregion(&a, "LREG", AML_REGION_SYSTEM_MEMORY, 0x1000, 0x20);
	aml_field1(&a, "LREG", "LDAT", 0x100);
	static const uint8_t want[] = {
		0x5b, 0x80, 'L', 'R', 'E', 'G', 0x00, 0x0b, 0x00, 0x10, 0x0a, 0x20,
		/* Field: PkgLength(1+4+1+4+2 = 12), flags ByteAcc, LDAT, 256 bits
		 * raw-encoded as 0x40 0x10. */
		0x5b, 0x81, 12, 'L', 'R', 'E', 'G', 0x01, 'L', 'D', 'A', 'T',
		0x40, 0x10,
	};
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);

	aml_init(&a);
	aml_field1(&a, "LREG", "LD", 8); /* a NameSeg must be 4 chars */
	assert_true(a.err);
	aml_free(&a);
}

static void test_resource_descriptors(void **state)
{
	(void)state;
	struct aml rt;
	aml_init(&rt);
	aml_rt_io(&rt, 0x3f8, 0x3f8, 1, 8);
	aml_rt_irq_noflags(&rt, 4);
	aml_rt_memory32_fixed(&rt, 0xd0000000, 0x1000, true);
	aml_rt_interrupt(&rt, 5, true, false, false, false);
	aml_rt_end_tag(&rt);
	static const uint8_t want[] = {
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
		0x22, 0x10, 0x00,
		0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00,
		0x89, 0x06, 0x00, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00,
		0x79, 0x00,
	};
	expect_bytes(&rt, want, sizeof(want));
	aml_free(&rt);

	aml_init(&rt);
	aml_rt_word_space(&rt, AML_RT_SPACE_BUS, 0, 0xff);
	static const uint8_t bus[] = { 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00,
				       0, 0, 0, 0, 0xff, 0, 0, 0, 0x00, 0x01 };
	expect_bytes(&rt, bus, sizeof(bus));
	aml_free(&rt);

	aml_init(&rt);
	aml_rt_qword_memory(&rt, 0xc0000000, 0xcfffffff, false);
	assert_false(rt.err);
	assert_int_equal(rt.len, 46);
	assert_int_equal(rt.buf[0], 0x8a);
	assert_int_equal(rt.buf[1], 43);
	assert_int_equal(rt.buf[5], 0x01); /* read-write, non-cacheable */
	uint64_t len;
	memcpy(&len, rt.buf + 38, 8);
	assert_int_equal(len, 0x10000000);
	aml_free(&rt);
}

static void test_resource_hostile(void **state)
{
	(void)state;
	struct aml rt;
	aml_init(&rt);
	aml_rt_irq_noflags(&rt, 16);
	assert_true(rt.err);
	aml_free(&rt);
	aml_init(&rt);
	aml_rt_word_space(&rt, AML_RT_SPACE_IO, 0x100, 0xff);
	assert_true(rt.err);
	aml_free(&rt);
	aml_init(&rt);
	aml_rt_qword_memory(&rt, 0x2000, 0x1000, false);
	assert_true(rt.err);
	aml_free(&rt);
	/* 0..2^64-1 has a length that does not fit the descriptor. */
	aml_init(&rt);
	aml_rt_qword_memory(&rt, 0, UINT64_MAX, false);
	assert_true(rt.err);
	aml_free(&rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglen_boundaries),
		cmocka_unit_test(test_pkglen_raw),
		cmocka_unit_test(test_scope_pkglen_fixup),
		cmocka_unit_test(test_large_body_two_byte_pkglen),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_names_latch_error),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_string_and_eisaid),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_method_device_if),
		cmocka_unit_test(test_end_with_bad_mark),
		cmocka_unit_test(test_opregion_field),
		cmocka_unit_test(test_resource_descriptors),
		cmocka_unit_test(test_resource_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
