/* The NFIT (ACPI 6.4 §5.2.25) decoded field by field for the nvdimm
 * fixture: nv0 = 256 MiB read-only backend with unarmed=on, nv1 = 64 MiB
 * of pmem + a 128 KiB label area, share=on; each with a flush hint.  Also: which configurations
 * get no NFIT at all, and that the ACPI0012 _ADR values match handles. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_fixture.h"
#include "devices/acpi/acpi.h"
#include "devices/acpi/acpi_spec.h"
#include "devices/nvdimm.h"

static const char *const fix_nvdimm[] = { ACPI_FIX_NVDIMM };

/* 66F0D379-B4F3-4074-AC43-0D3318B78CDB in ACPI byte order. */
static const uint8_t pm_guid[16] = { 0x79, 0xd3, 0xf0, 0x66, 0xf3, 0xb4,
				     0x74, 0x40, 0xac, 0x43, 0x0d, 0x33,
				     0x18, 0xb7, 0x8c, 0xdb };

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

#define F16(p, type, field) rd16((p) + offsetof(type, field))
#define F32(p, type, field) rd32((p) + offsetof(type, field))
#define F64(p, type, field) rd64((p) + offsetof(type, field))

static void test_nfit_fields(void **state)
{
	(void)state;
	struct acpi_fixture *f = acpi_fixture_new(fix_nvdimm);
	assert_non_null(f);
	struct acpi_blob b;
	assert_int_equal(acpi_blob_build(&b, &f->cfg, &f->l, LAYOUT_ACPI_BASE,
					 LAYOUT_ACPI_SIZE, NULL), 0);
	const struct acpi_table_ref *r = acpi_blob_find(&b, "NFIT");
	assert_non_null(r);
	const uint8_t *t = b.data + r->off;

	/* Header: signature, revision 1, length, checksum, reserved. */
	assert_memory_equal(t, "NFIT", 4);
	size_t want_len = 40 + 2 * (56 + 48 + 80 + 24);
	assert_int_equal(F32(t, struct acpi_header, length), want_len);
	assert_int_equal(r->len, want_len);
	assert_int_equal(t[offsetof(struct acpi_header, revision)], 1);
	uint8_t s = 0;
	for (size_t i = 0; i < want_len; i++)
		s = (uint8_t)(s + t[i]);
	assert_int_equal(s, 0);
	assert_int_equal(F32(t, struct acpi_nfit, reserved), 0);

	const struct layout_dev *d0 = layout_dev_for(&f->l, 0);
	const struct layout_dev *d1 = layout_dev_for(&f->l, 1);
	assert_non_null(d0);
	assert_non_null(d1);
	const uint64_t base[2] = { d0->pmem_base, d1->pmem_base };
	const uint64_t size[2] = { 256ull << 20, 64ull << 20 };

	const uint8_t *p = t + 40;
	/* SPA Range Structures. */
	for (unsigned i = 0; i < 2; i++, p += 56) {
		assert_int_equal(F16(p, struct acpi_nfit_spa, type), 0);
		assert_int_equal(F16(p, struct acpi_nfit_spa, length), 56);
		assert_int_equal(F16(p, struct acpi_nfit_spa, range_index), i + 1);
		assert_int_equal(F16(p, struct acpi_nfit_spa, flags), 0);
		assert_int_equal(F32(p, struct acpi_nfit_spa, reserved), 0);
		assert_int_equal(F32(p, struct acpi_nfit_spa, proximity_domain), 0);
		assert_memory_equal(p + offsetof(struct acpi_nfit_spa, range_guid),
				    pm_guid, 16);
		assert_int_equal(F64(p, struct acpi_nfit_spa, address), base[i]);
		assert_int_equal(F64(p, struct acpi_nfit_spa, size), size[i]);
		/* Write-back cacheable, non-volatile (EFI_MEMORY_WB | _NV). */
		assert_int_equal(F64(p, struct acpi_nfit_spa, memory_mapping), 0x8008);
		/* 2 MiB alignment for DAX. */
		assert_int_equal(base[i] % (2u << 20), 0);
	}
	/* Memory device to SPA range maps. */
	for (unsigned i = 0; i < 2; i++, p += 48) {
		assert_int_equal(F16(p, struct acpi_nfit_memdev, type), 1);
		assert_int_equal(F16(p, struct acpi_nfit_memdev, length), 48);
		assert_int_equal(F32(p, struct acpi_nfit_memdev, device_handle), i + 1);
		assert_int_equal(F16(p, struct acpi_nfit_memdev, physical_id), i);
		assert_int_equal(F16(p, struct acpi_nfit_memdev, region_id), 0);
		assert_int_equal(F16(p, struct acpi_nfit_memdev, range_index), i + 1);
		assert_int_equal(F16(p, struct acpi_nfit_memdev, region_index), i + 1);
		assert_int_equal(F64(p, struct acpi_nfit_memdev, region_size), size[i]);
		assert_int_equal(F64(p, struct acpi_nfit_memdev, region_offset), 0);
		assert_int_equal(F64(p, struct acpi_nfit_memdev, address), 0);
		assert_int_equal(F16(p, struct acpi_nfit_memdev, interleave_index), 0);
		assert_int_equal(F16(p, struct acpi_nfit_memdev, interleave_ways), 1);
		/* nv0: unarmed=on (and readonly) -> bit 3; nv1 armed. */
		uint16_t flags = F16(p, struct acpi_nfit_memdev, flags);
		assert_int_equal(flags, i == 0 ? 0x8 : 0);
		assert_int_equal(flags & ACPI_NFIT_MEM_NOT_ARMED, i == 0 ? 8 : 0);
		assert_int_equal(F16(p, struct acpi_nfit_memdev, reserved), 0);
	}
	/* NVDIMM Control Region Structures. */
	uint32_t serial0 = 0;
	for (unsigned i = 0; i < 2; i++, p += 80) {
		assert_int_equal(F16(p, struct acpi_nfit_dcr, type), 4);
		assert_int_equal(F16(p, struct acpi_nfit_dcr, length), 80);
		assert_int_equal(F16(p, struct acpi_nfit_dcr, region_index), i + 1);
		assert_int_equal(F16(p, struct acpi_nfit_dcr, vendor_id), 0x1af4);
		assert_int_equal(F16(p, struct acpi_nfit_dcr, device_id), 0x0001);
		assert_int_equal(F16(p, struct acpi_nfit_dcr, revision_id), 1);
		assert_int_equal(F16(p, struct acpi_nfit_dcr, code), 0x0301);
		assert_int_equal(F16(p, struct acpi_nfit_dcr, windows), 0);
		assert_int_equal(F64(p, struct acpi_nfit_dcr, window_size), 0);
		assert_int_equal(F16(p, struct acpi_nfit_dcr, flags), 0);
		uint32_t serial = F32(p, struct acpi_nfit_dcr, serial_number);
		if (i == 0)
			serial0 = serial;
		else
			assert_int_not_equal(serial, serial0);
	}
	/* Flush Hint Address Structures: one hint page per DIMM. */
	for (unsigned i = 0; i < 2; i++, p += 24) {
		assert_int_equal(F16(p, struct acpi_nfit_flush, type), 6);
		assert_int_equal(F16(p, struct acpi_nfit_flush, length), 24);
		assert_int_equal(F32(p, struct acpi_nfit_flush, device_handle), i + 1);
		assert_int_equal(F16(p, struct acpi_nfit_flush, hint_count), 1);
		for (unsigned k = 0; k < 6; k++)
			assert_int_equal(p[offsetof(struct acpi_nfit_flush, reserved) + k], 0);
		assert_int_equal(F64(p, struct acpi_nfit_flush, hint_address),
				 NVDIMM_FLUSH_BASE + i * NVDIMM_FLUSH_STRIDE);
	}
	assert_ptr_equal(p, t + want_len);

	/* The ACPI0012 children carry the same handles as _ADR. */
	const struct acpi_table_ref *dr = acpi_blob_find(&b, "DSDT");
	static const uint8_t adr0[] = { 0x08, '_', 'A', 'D', 'R', 0x01 };
	static const uint8_t adr1[] = { 0x08, '_', 'A', 'D', 'R', 0x0a, 0x02 };
	assert_non_null(memmem(b.data + dr->off, dr->len, adr0, sizeof(adr0)));
	assert_non_null(memmem(b.data + dr->off, dr->len, adr1, sizeof(adr1)));
	acpi_blob_free(&b);
	free(f);
}

static void test_no_nfit_without_nvdimm_or_with_legacy(void **state)
{
	(void)state;
	static const char *const legacy[] = {
		"-machine", "microvm,accel=sim,nvdimm=on,pmem-legacy=on",
		"-m", "256M,slots=2,maxmem=1G", "-object",
		"memory-backend-file,id=mem0,mem-path=/x.img,size=256M",
		"-device", "nvdimm,id=nv0,memdev=mem0", NULL
	};
	static const char *const none[] = { "-machine", "microvm,accel=sim", NULL };
	const char *const *cases[] = { legacy, none };
	for (unsigned i = 0; i < 2; i++) {
		struct acpi_fixture *f = acpi_fixture_new(cases[i]);
		assert_non_null(f);
		struct acpi_blob b;
		assert_int_equal(acpi_blob_build(&b, &f->cfg, &f->l, LAYOUT_ACPI_BASE,
						 LAYOUT_ACPI_SIZE, NULL), 0);
		assert_null(acpi_blob_find(&b, "NFIT"));
		const struct acpi_table_ref *dr = acpi_blob_find(&b, "DSDT");
		assert_null(memmem(b.data + dr->off, dr->len, "ACPI0012", 8));
		acpi_blob_free(&b);
		free(f);
	}
}

static void test_readonly_forces_not_armed(void **state)
{
	(void)state;
	static const char *const args[] = {
		"-machine", "microvm,accel=sim,nvdimm=on",
		"-m", "256M,slots=1,maxmem=1G", "-object",
		"memory-backend-file,id=mem0,mem-path=/x.img,size=128M,readonly=on",
		"-device", "nvdimm,id=nv0,memdev=mem0,unarmed=off", NULL
	};
	struct acpi_fixture *f = acpi_fixture_new(args);
	assert_non_null(f);
	struct acpi_blob b;
	assert_int_equal(acpi_blob_build(&b, &f->cfg, &f->l, LAYOUT_ACPI_BASE,
					 LAYOUT_ACPI_SIZE, NULL), 0);
	const struct acpi_table_ref *r = acpi_blob_find(&b, "NFIT");
	const uint8_t *md = b.data + r->off + 40 + sizeof(struct acpi_nfit_spa);
	assert_int_equal(F16(md, struct acpi_nfit_memdev, type), 1);
	assert_true(F16(md, struct acpi_nfit_memdev, flags) & ACPI_NFIT_MEM_NOT_ARMED);
	acpi_blob_free(&b);
	free(f);
}

static void test_bad_nvdimm_config_fails_build(void **state)
{
	(void)state;
	/* 3 MiB is not a multiple of the 2 MiB DAX alignment. */
	static const char *const args[] = {
		"-machine", "microvm,accel=sim,nvdimm=on",
		"-m", "256M,slots=1,maxmem=1G", "-object",
		"memory-backend-file,id=mem0,mem-path=/x.img,size=3M",
		"-device", "nvdimm,id=nv0,memdev=mem0", NULL
	};
	struct acpi_fixture *f = acpi_fixture_new(args);
	assert_non_null(f);
	struct acpi_blob b;
	assert_int_equal(acpi_blob_build(&b, &f->cfg, &f->l, LAYOUT_ACPI_BASE,
					 LAYOUT_ACPI_SIZE, NULL), -1);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nfit_fields),
		cmocka_unit_test(test_no_nfit_without_nvdimm_or_with_legacy),
		cmocka_unit_test(test_readonly_forces_not_armed),
		cmocka_unit_test(test_bad_nvdimm_config_fails_build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
