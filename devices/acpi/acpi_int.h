/* Private to devices/acpi: the image being built and the per-table
 * builders acpi.c calls in order. */
#ifndef VMM_DEVICES_ACPI_INT_H
#define VMM_DEVICES_ACPI_INT_H

#include "acpi.h"
#include "acpi_spec.h"
#include "aml.h"
#include "core/config.h"
#include "core/layout.h"
#include "devices/nvdimm.h"

struct acpi_builder {
	struct acpi_blob *b;
	size_t max;               /* image capacity (b->data has max bytes) */
	const struct machine_config *cfg;
	const struct layout *l;
	struct log *log;
	struct nvdimm_desc nv[LAYOUT_MAX_NVDIMM];
	unsigned nnv;             /* NVDIMMs described by NFIT + ACPI0012 */
	bool err;
};

/* Reserve len zeroed bytes at `align`; NULL (and bld->err) when full. */
void *acpi_alloc(struct acpi_builder *bld, size_t len, size_t align,
		 uint64_t *gpa);
/* Reserve a table with its header filled (signature, length, revision,
 * OEM and creator fields); the checksum is set by acpi_table_done(). */
void *acpi_table_new(struct acpi_builder *bld, const char sig[4],
		     size_t len, uint8_t revision, uint64_t *gpa);
/* Set the checksum of the table at t and record it in the blob. */
void acpi_table_done(struct acpi_builder *bld, void *t);
/* Record a non-checksummed structure (RSDP, FACS) in the blob. */
void acpi_record(struct acpi_builder *bld, const char *sig, const void *p,
		 size_t len);

static inline bool acpi_is_q35(const struct acpi_builder *bld)
{
	return bld->cfg->machine.type == CFG_MACHINE_Q35;
}

/* The tables, each returns its guest address (0 on error, bld->err set). */
uint64_t acpi_build_dsdt(struct acpi_builder *bld);
uint64_t acpi_build_facs(struct acpi_builder *bld);
uint64_t acpi_build_fadt(struct acpi_builder *bld, uint64_t dsdt,
			 uint64_t facs);
uint64_t acpi_build_madt(struct acpi_builder *bld);
uint64_t acpi_build_mcfg(struct acpi_builder *bld);
uint64_t acpi_build_nfit(struct acpi_builder *bld);
uint64_t acpi_build_xsdt(struct acpi_builder *bld, const uint64_t *tables,
			 unsigned n);
void acpi_build_rsdp(struct acpi_builder *bld, uint64_t xsdt);

/* MADT Local APIC flags (ACPI 6.4 §5.2.12.2, Table 5.37). */
#define ACPI_MADT_ENABLED 1u
#define ACPI_MADT_ONLINE_CAPABLE 2u
/* Possible CPUs: -smp maxcpus, at least the nboot there at boot. */
unsigned acpi_possible_cpus(const struct machine_config *cfg, unsigned nboot);

/* DSDT pieces (dsdt.c, dsdt_nvdimm.c, dsdt_cpu.c). */
/* \_SB.CPUS, the processor devices and their hot-plug methods, when
 * -smp maxcpus leaves room for more CPUs than boot with. */
void acpi_dsdt_cpus(struct acpi_builder *bld, struct aml *a);
/* microvm's GED _EVT: If (Local0 & CPU hot-plug) { \_SB.CPUS.CSCN() }. */
void acpi_dsdt_cpus_ged(struct acpi_builder *bld, struct aml *a);
/* q35: \_GPE._E02 (at the root, after \_SB). */
void acpi_dsdt_cpus_gpe(struct acpi_builder *bld, struct aml *a);
bool acpi_cpu_hotplug(const struct acpi_builder *bld);
void acpi_dsdt_nvdimm(struct acpi_builder *bld, struct aml *a);
/* Memory hot-plug (dsdt_mem.c): the \_SB objects, q35's \_GPE._E03,
 * and the microvm GED _EVT clause (Local0 holds the selector). */
void acpi_dsdt_mem(struct acpi_builder *bld, struct aml *a);
void acpi_dsdt_mem_gpe(struct acpi_builder *bld, struct aml *a);
void acpi_dsdt_mem_ged(struct acpi_builder *bld, struct aml *a);
/* SRAT (srat.c), built when -m has a hot-plug window. */
uint64_t acpi_build_srat(struct acpi_builder *bld);
/* Emit `Method(_DSM, 4)` for a device that implements no _DSM function
 * beyond 0: function 0 of `uuid` returns the supported-functions bitmap
 * Buffer{0} (bit 0 clear: nothing else, ACPI 6.4 §9.1.1), as does any
 * query for another UUID, revision or function. */
void acpi_dsm_fn0_only(struct aml *a, const char *uuid);

#endif
