/* Root System Description Pointer, ACPI 6.4 §5.2.5.3.  It sits at the start
 * of the image (LAYOUT_ACPI_BASE, 16-byte aligned inside 0xE0000-0xFFFFF)
 * so that an OS that scans the BIOS area finds it without being told. */
#include "acpi_int.h"

#include <string.h>

void acpi_build_rsdp(struct acpi_builder *bld, uint64_t xsdt)
{
	if (bld->err || bld->b->len < sizeof(struct acpi_rsdp))
		return;
	struct acpi_rsdp *r = (struct acpi_rsdp *)bld->b->data;
	memset(r, 0, sizeof(*r));
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, ACPI_OEM_ID, sizeof(r->oem_id));
	/* Revision 2: the XSDT is the root; no RSDT (its address stays 0,
	 * which ACPICA and Linux accept when an XSDT is given). */
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt_address = xsdt;
	/* The 1.0 checksum covers the first 20 bytes, the extended one all
	 * 36 (with the first checksum already in place). */
	r->checksum = acpi_checksum(r, offsetof(struct acpi_rsdp, length));
	r->ext_checksum = acpi_checksum(r, sizeof(*r));
	/* Recorded first: acpi.c reserved the RSDP before any table. */
	struct acpi_blob *b = bld->b;
	if (b->ntables == ACPI_MAX_TABLES) {
		bld->err = true;
		return;
	}
	memmove(&b->tables[1], &b->tables[0], b->ntables * sizeof(b->tables[0]));
	b->ntables++;
	memset(&b->tables[0], 0, sizeof(b->tables[0]));
	memcpy(b->tables[0].sig, "RSDP", 4);
	b->tables[0].off = 0;
	b->tables[0].len = sizeof(*r);
	b->tables[0].gpa = b->gpa;
}
