/* PCI Express memory-mapped configuration (MCFG), PCI Firmware Spec 3.2
 * §4.1.2: one ECAM allocation for segment 0 covering LAYOUT_ECAM_SIZE
 * (1 MiB of configuration space per bus). */
#include "acpi_int.h"

uint64_t acpi_build_mcfg(struct acpi_builder *bld)
{
	uint64_t gpa = 0;
	size_t len = sizeof(struct acpi_mcfg) + sizeof(struct acpi_mcfg_alloc);
	struct acpi_mcfg *m = acpi_table_new(bld, "MCFG", len, 1, &gpa);
	if (!m)
		return 0;
	struct acpi_mcfg_alloc *a = (struct acpi_mcfg_alloc *)(m + 1);
	a->base = LAYOUT_ECAM_BASE;
	a->segment = 0;
	a->start_bus = 0;
	a->end_bus = (uint8_t)((LAYOUT_ECAM_SIZE >> 20) - 1);
	acpi_table_done(bld, m);
	return gpa;
}
