/* Extended System Description Table, ACPI 6.4 §5.2.8: 64-bit pointers to
 * every table except the DSDT and FACS (reached through the FADT). */
#include "acpi_int.h"

uint64_t acpi_build_xsdt(struct acpi_builder *bld, const uint64_t *tables,
			 unsigned n)
{
	uint64_t gpa = 0;
	size_t len = sizeof(struct acpi_header) + 8 * (size_t)n;
	uint8_t *t = acpi_table_new(bld, "XSDT", len, 1, &gpa);
	if (!t)
		return 0;
	/* Entries are 8-byte fields at offset 36, not naturally aligned:
	 * write them byte by byte, little-endian. */
	uint8_t *e = t + sizeof(struct acpi_header);
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < 8; k++)
			e[8 * i + k] = (uint8_t)(tables[i] >> (8 * k));
	acpi_table_done(bld, t);
	return gpa;
}
