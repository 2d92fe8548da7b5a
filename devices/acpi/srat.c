/* System Resource Affinity Table (ACPI 6.4 §5.2.16), built when -m has
 * a memory hot-plug window: Linux sizes its memory map for hot-added
 * memory from the SRAT's hot-pluggable ranges (QEMU builds one for the
 * same reason, with a NUMA node it creates itself).  One Processor
 * Local APIC/x2APIC affinity per possible vCPU, one Memory Affinity per
 * RAM range, and the device memory window marked Hot Pluggable (it is
 * not in the e820 map: QEMU leaves it out too, the SRAT and the DIMMs'
 * _CRS are how the guest learns of it).  Everything is node 0, or the
 * last -numa node for the window, as QEMU. */
#include "acpi_int.h"

#include <string.h>

#define SRAT_LAPIC 0
#define SRAT_MEMORY 1
#define SRAT_X2APIC 2
#define SRAT_MEM_ENABLED 0x1
#define SRAT_MEM_HOTPLUGGABLE 0x2

struct srat_lapic {        /* §5.2.16.1 */
	uint8_t type, length, pxm_lo, apic_id;
	uint32_t flags;
	uint8_t sapic_eid, pxm_hi[3];
	uint32_t clock_domain;
} ACPI_PACKED;

struct srat_x2apic {       /* §5.2.16.3 */
	uint8_t type, length;
	uint16_t reserved;
	uint32_t pxm, x2apic_id, flags, clock_domain, reserved2;
} ACPI_PACKED;

struct srat_mem {          /* §5.2.16.2 */
	uint8_t type, length;
	uint32_t pxm;
	uint16_t reserved;
	uint64_t base, len;
	uint32_t reserved2, flags;
	uint64_t reserved3;
} ACPI_PACKED;

uint64_t acpi_build_srat(struct acpi_builder *bld)
{
	const struct machine_config *cfg = bld->cfg;
	const struct layout *l = bld->l;
	unsigned ncpu = cfg->smp.maxcpus > cfg->smp.cpus ? cfg->smp.maxcpus : cfg->smp.cpus;
	if (!ncpu)
		ncpu = 1;
	size_t len = sizeof(struct acpi_header) + 12 +
		     (size_t)ncpu * sizeof(struct srat_x2apic) +
		     (l->nram + 1) * sizeof(struct srat_mem);
	uint64_t gpa = 0;
	uint8_t *t = acpi_table_new(bld, "SRAT", len, 3, &gpa);
	if (!t)
		return 0;
	size_t off = sizeof(struct acpi_header);
	t[off] = 1;   /* reserved, 1 for backward compatibility */
	off += 12;
	for (unsigned i = 0; i < ncpu; i++) {
		uint32_t id = acpi_apic_id_smp(&cfg->smp, i);
		if (id < 255) {
			struct srat_lapic e = { .type = SRAT_LAPIC, .length = sizeof(e),
						.apic_id = (uint8_t)id, .flags = 1 };
			memcpy(t + off, &e, sizeof(e));
			off += sizeof(e);
		} else {
			struct srat_x2apic e = { .type = SRAT_X2APIC, .length = sizeof(e),
						 .x2apic_id = id, .flags = 1 };
			memcpy(t + off, &e, sizeof(e));
			off += sizeof(e);
		}
	}
	for (unsigned i = 0; i < l->nram; i++) {
		struct srat_mem e = { .type = SRAT_MEMORY, .length = sizeof(e),
				      .base = l->ram[i].gpa, .len = l->ram[i].size,
				      .flags = SRAT_MEM_ENABLED };
		memcpy(t + off, &e, sizeof(e));
		off += sizeof(e);
	}
	struct srat_mem w = { .type = SRAT_MEMORY, .length = sizeof(w),
			      .pxm = cfg->nnuma ? cfg->nnuma - 1 : 0,
			      .base = l->devmem_base, .len = l->devmem_size,
			      .flags = SRAT_MEM_ENABLED | SRAT_MEM_HOTPLUGGABLE };
	memcpy(t + off, &w, sizeof(w));
	off += sizeof(w);
	/* Shrink to what was written (LAPIC entries are smaller). */
	((struct acpi_header *)t)->length = (uint32_t)off;
	acpi_table_done(bld, t);
	return gpa;
}
