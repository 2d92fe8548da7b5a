/* General-purpose events (ACPI 6.4 §4.8.4.1, §5.6.4) for hot-plug:
 * q35's GPE0 block, GPE0_STS (bits set by the event, write 1 to clear)
 * and GPE0_EN, 16 GPEs, the FADT's GPE0_BLK; the SCI is raised while a
 * status bit and its enable bit are both set, and the OS runs
 * \_GPE._Exx for it.  microvm is hardware-reduced (no GPE blocks): the
 * same events go through the GED selector (acpi_pm.c). */
#include "acpi.h"

void acpi_pm_hotplug_event(struct acpi_pm *pm, unsigned gpe, uint8_t ged_evt)
{
	if (pm->hw_reduced)
		pm->ged_sel |= ged_evt;
	else if (gpe < 16)
		pm->gpe0_sts |= (uint16_t)(1u << gpe);
	acpi_pm_update_sci(pm);
}

int acpi_gpe_access(void *dev, uint64_t offset, void *data, unsigned len,
		    bool is_write)
{
	struct acpi_pm *pm = dev;
	uint8_t *b = data;
	if (offset >= ACPI_GPE0_IO_SIZE || len > ACPI_GPE0_IO_SIZE - offset)
		return -1;
	for (unsigned i = 0; i < len; i++) {
		unsigned off = (unsigned)offset + i;
		uint16_t *reg = off < 2 ? &pm->gpe0_sts : &pm->gpe0_en;
		unsigned sh = 8 * (off & 1);
		if (!is_write)
			b[i] = (uint8_t)(*reg >> sh);
		else if (off < 2)
			*reg &= (uint16_t)~((unsigned)b[i] << sh);
		else
			*reg = (uint16_t)((*reg & ~(0xffu << sh)) | (unsigned)b[i] << sh);
	}
	acpi_pm_update_sci(pm);
	return 0;
}
