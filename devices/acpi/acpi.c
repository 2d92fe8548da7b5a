/* Build the whole ACPI table set for a machine, into a host image or into
 * guest memory at LAYOUT_ACPI_BASE. */
#include "acpi_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/gm.h"
#include "core/log.h"

static bool want_nfit(const struct machine_config *cfg)
{
	/* pmem-legacy=on describes the ranges as e820 type 12 instead. */
	return cfg->machine.nvdimm && !cfg->machine.pmem_legacy;
}

int acpi_blob_build(struct acpi_blob *b, const struct machine_config *cfg,
		    const struct layout *l, uint64_t gpa, size_t max,
		    struct log *log)
{
	memset(b, 0, sizeof(*b));
	struct acpi_builder bld = {
		.b = b, .max = max, .cfg = cfg, .l = l, .log = log,
	};
	char err[160] = "";

	if (want_nfit(cfg)) {
		int n = nvdimm_describe(cfg, l, bld.nv, err, sizeof(err));
		if (n < 0) {
			log_err(log, "acpi: %s", err);
			return -1;
		}
		bld.nnv = (unsigned)n;
	}
	b->data = calloc(1, max ? max : 1);
	if (!b->data) {
		log_err(log, "acpi: out of memory");
		return -1;
	}
	b->gpa = gpa;

	/* The RSDP first, at the base; it is filled in last. */
	acpi_alloc(&bld, sizeof(struct acpi_rsdp), 16, NULL);
	uint64_t dsdt = acpi_build_dsdt(&bld);
	uint64_t facs = acpi_is_q35(&bld) ? acpi_build_facs(&bld) : 0;
	uint64_t tables[ACPI_MAX_TABLES];
	unsigned n = 0;
	tables[n++] = acpi_build_fadt(&bld, dsdt, facs);
	tables[n++] = acpi_build_madt(&bld);
	if (acpi_is_q35(&bld))
		tables[n++] = acpi_build_mcfg(&bld);
	if (bld.nnv)
		tables[n++] = acpi_build_nfit(&bld);
	if (layout_memhp(cfg))
		tables[n++] = acpi_build_srat(&bld);
	uint64_t xsdt = acpi_build_xsdt(&bld, tables, n);
	acpi_build_rsdp(&bld, xsdt);

	if (bld.err) {
		acpi_blob_free(b);
		return -1;
	}
	return 0;
}

void acpi_blob_free(struct acpi_blob *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

const struct acpi_table_ref *acpi_blob_find(const struct acpi_blob *b,
					    const char *sig)
{
	for (unsigned i = 0; i < b->ntables; i++)
		if (strncmp(b->tables[i].sig, sig, 4) == 0)
			return &b->tables[i];
	return NULL;
}

int acpi_build(const struct gm *gm, const struct machine_config *cfg,
	       const struct layout *l, struct log *log)
{
	struct acpi_blob b;
	if (acpi_blob_build(&b, cfg, l, LAYOUT_ACPI_BASE, LAYOUT_ACPI_SIZE,
			    log) < 0)
		return -1;
	int rc = gm_write(gm, b.gpa, b.data, b.len);
	if (rc < 0)
		log_err(log, "acpi: cannot write %zu bytes of tables at 0x%llx "
			"(not RAM?)", b.len, (unsigned long long)b.gpa);
	else
		log_debug(log, "acpi: %u tables, %zu bytes at 0x%llx",
			  b.ntables, b.len, (unsigned long long)b.gpa);
	acpi_blob_free(&b);
	return rc < 0 ? -1 : 0;
}
