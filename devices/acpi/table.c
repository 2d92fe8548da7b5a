/* Table image helpers: space in the image, the common header (ACPI 6.4
 * §5.2.6) and checksums. */
#include "acpi_int.h"

#include <string.h>

#include "core/log.h"

uint8_t acpi_checksum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0x100 - sum);
}

void *acpi_alloc(struct acpi_builder *bld, size_t len, size_t align,
		 uint64_t *gpa)
{
	struct acpi_blob *b = bld->b;
	size_t off = (b->len + align - 1) & ~(align - 1);
	if (bld->err || off < b->len || len > bld->max || off > bld->max - len) {
		if (!bld->err)
			log_err(bld->log, "acpi: tables exceed %zu bytes", bld->max);
		bld->err = true;
		return NULL;
	}
	b->len = off + len;
	memset(b->data + off, 0, len);
	if (gpa)
		*gpa = b->gpa + off;
	return b->data + off;
}

void *acpi_table_new(struct acpi_builder *bld, const char sig[4],
		     size_t len, uint8_t revision, uint64_t *gpa)
{
	/* 16-byte alignment: not required by the spec for tables other than
	 * the RSDP/FACS, but it keeps every table on a natural boundary. */
	struct acpi_header *h = acpi_alloc(bld, len, 16, gpa);
	if (!h)
		return NULL;
	memcpy(h->signature, sig, 4);
	h->length = (uint32_t)len;
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(h->oem_table_id));
	memcpy(h->oem_table_id + 4, sig, 4); /* "VMM DSDT" style, unique */
	h->oem_revision = 1;
	memcpy(h->creator_id, "VMM ", 4);
	h->creator_revision = 1;
	return h;
}

void acpi_record(struct acpi_builder *bld, const char *sig, const void *p,
		 size_t len)
{
	struct acpi_blob *b = bld->b;
	if (b->ntables == ACPI_MAX_TABLES) {
		log_err(bld->log, "acpi: more than %d tables", ACPI_MAX_TABLES);
		bld->err = true;
		return;
	}
	struct acpi_table_ref *r = &b->tables[b->ntables++];
	memset(r, 0, sizeof(*r));
	memcpy(r->sig, sig, strnlen(sig, 4));
	r->off = (size_t)((const uint8_t *)p - b->data);
	r->len = len;
	r->gpa = b->gpa + r->off;
}

void acpi_table_done(struct acpi_builder *bld, void *t)
{
	struct acpi_header *h = t;
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
	acpi_record(bld, h->signature, h, h->length);
}
