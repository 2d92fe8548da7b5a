/* NVDIMM Firmware Interface Table, ACPI 6.4 §5.2.25.  For each NVDIMM:
 *   an SPA Range Structure (§5.2.25.2) typed with the persistent-memory
 *     GUID over its pmem range (label area excluded),
 *   an NVDIMM Region Mapping Structure (§5.2.25.3) tying the device
 *     handle to that range, whose state flags carry NOT_ARMED for
 *     unarmed=on or readonly=on (Linux then makes the region read-only),
 *   an NVDIMM Control Region Structure (§5.2.25.6) identifying the DIMM
 *     (byte-addressable, no block windows),
 *   a Flush Hint Address Structure (§5.2.25.8) with its hint page, which
 *     the guest writes to make its pmem writes durable (nvdimm.h).
 * Structure indices are 1-based (0 means "none" in the mapping fields). */
#include "acpi_int.h"

#include <string.h>

#define NFIT_PM_GUID "66F0D379-B4F3-4074-AC43-0D3318B78CDB"
/* JEDEC byte-addressable persistent memory, no energy source needed
 * (the region format interface code QEMU and Linux's nfit_test use). */
#define NFIT_DCR_CODE_BYTE 0x0301
/* PCI vendor/device identifying the emulated DIMM; 0x1af4 is the
 * paravirtual device vendor the other virtual devices here use. */
#define NFIT_DCR_VENDOR 0x1af4
#define NFIT_DCR_DEVICE 0x0001
#define NFIT_DCR_SERIAL_BASE 0x564d4d00u /* "VMM" + index */

uint64_t acpi_build_nfit(struct acpi_builder *bld)
{
	size_t per = sizeof(struct acpi_nfit_spa) +
		     sizeof(struct acpi_nfit_memdev) +
		     sizeof(struct acpi_nfit_dcr) +
		     sizeof(struct acpi_nfit_flush);
	size_t len = sizeof(struct acpi_nfit) + bld->nnv * per;
	uint64_t gpa = 0;
	uint8_t guid[16];
	if (aml_uuid_bytes(NFIT_PM_GUID, guid) < 0) {
		bld->err = true;
		return 0;
	}
	struct acpi_nfit *n = acpi_table_new(bld, "NFIT", len, 1, &gpa);
	if (!n)
		return 0;
	uint8_t *p = (uint8_t *)(n + 1);

	for (unsigned i = 0; i < bld->nnv; i++) {
		const struct nvdimm_desc *d = &bld->nv[i];
		uint16_t idx = (uint16_t)(i + 1);

		struct acpi_nfit_spa *spa = (struct acpi_nfit_spa *)p;
		spa->type = ACPI_NFIT_TYPE_SPA;
		spa->length = sizeof(*spa);
		spa->range_index = idx;
		spa->flags = 0;
		spa->proximity_domain = 0;
		memcpy(spa->range_guid, guid, sizeof(guid));
		spa->address = d->base;
		spa->size = d->pmem_size;
		spa->memory_mapping = ACPI_EFI_MEMORY_WB | ACPI_EFI_MEMORY_NV;
		p += sizeof(*spa);
	}
	for (unsigned i = 0; i < bld->nnv; i++) {
		const struct nvdimm_desc *d = &bld->nv[i];
		uint16_t idx = (uint16_t)(i + 1);

		struct acpi_nfit_memdev *md = (struct acpi_nfit_memdev *)p;
		md->type = ACPI_NFIT_TYPE_MEMDEV;
		md->length = sizeof(*md);
		md->device_handle = d->handle;
		md->physical_id = (uint16_t)i;
		md->region_id = 0;
		md->range_index = idx;
		md->region_index = idx;
		md->region_size = d->pmem_size;
		md->region_offset = 0;
		md->address = 0;
		md->interleave_index = 0;
		md->interleave_ways = 1;
		md->flags = d->unarmed ? ACPI_NFIT_MEM_NOT_ARMED : 0;
		p += sizeof(*md);
	}
	for (unsigned i = 0; i < bld->nnv; i++) {
		uint16_t idx = (uint16_t)(i + 1);

		struct acpi_nfit_dcr *dcr = (struct acpi_nfit_dcr *)p;
		dcr->type = ACPI_NFIT_TYPE_DCR;
		dcr->length = sizeof(*dcr);
		dcr->region_index = idx;
		dcr->vendor_id = NFIT_DCR_VENDOR;
		dcr->device_id = NFIT_DCR_DEVICE;
		dcr->revision_id = 1;
		dcr->subsystem_vendor_id = NFIT_DCR_VENDOR;
		dcr->subsystem_device_id = NFIT_DCR_DEVICE;
		dcr->subsystem_revision_id = 1;
		dcr->valid_fields = 0;
		dcr->serial_number = NFIT_DCR_SERIAL_BASE + i;
		dcr->code = NFIT_DCR_CODE_BYTE;
		dcr->windows = 0;
		p += sizeof(*dcr);
	}
	for (unsigned i = 0; i < bld->nnv; i++) {
		struct acpi_nfit_flush *fl = (struct acpi_nfit_flush *)p;
		fl->type = ACPI_NFIT_TYPE_FLUSH;
		fl->length = sizeof(*fl);
		fl->device_handle = bld->nv[i].handle;
		fl->hint_count = 1;
		fl->hint_address[0] = NVDIMM_FLUSH_BASE + i * NVDIMM_FLUSH_STRIDE;
		p += sizeof(*fl);
	}
	acpi_table_done(bld, n);
	return gpa;
}
