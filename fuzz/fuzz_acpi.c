/* libFuzzer target: ACPI tables for any command line that parses and lays
 * out.  The input is split at NUL and newline bytes into argv (as
 * fuzz_cmdline).  The builder either fails cleanly or produces tables that
 * each sum to zero, lie inside the image, and are all reachable from the
 * RSDP through the XSDT; the layout's biggest machines must fit
 * LAYOUT_ACPI_SIZE.  Seeds: fuzz/corpus/acpi. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "fuzz_argv.h"
#include "core/layout.h"
#include "devices/acpi/acpi.h"
#include "devices/acpi/acpi_spec.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void check(const struct acpi_blob *b)
{
	const struct acpi_rsdp *r = (const void *)b->data;
	if (b->len < sizeof(*r) || sum(b->data, 20) || sum(b->data, 36))
		abort();
	const struct acpi_table_ref *x = acpi_blob_find(b, "XSDT");
	if (!x || r->xsdt_address != x->gpa)
		abort();
	for (unsigned i = 0; i < b->ntables; i++) {
		const struct acpi_table_ref *t = &b->tables[i];
		if (t->off > b->len || t->len > b->len - t->off)
			abort();
		if (strcmp(t->sig, "RSDP") && strcmp(t->sig, "FACS") &&
		    sum(b->data + t->off, t->len))
			abort();
	}
	size_t n = (x->len - sizeof(struct acpi_header)) / 8;
	for (size_t i = 0; i < n; i++) {
		uint64_t gpa;
		memcpy(&gpa, b->data + x->off + sizeof(struct acpi_header) + 8 * i, 8);
		if (gpa < b->gpa || gpa - b->gpa + sizeof(struct acpi_header) > b->len)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	struct fuzz_argv a;

	fuzz_argv_split(&a, data, size);

	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	struct layout *l = calloc(1, sizeof(*l));
	char err[512];
	int rc = fuzz_argv_parse(&a, cfg, err, sizeof(err));
	if (rc == 0 && layout_build(l, cfg, err, sizeof(err)) == 0) {
		struct acpi_blob b;
		if (acpi_blob_build(&b, cfg, l, LAYOUT_ACPI_BASE, LAYOUT_ACPI_SIZE,
				    NULL) == 0) {
			check(&b);
			acpi_blob_free(&b);
		}
	}
	free(l);
	free(cfg);
	fuzz_argv_free(&a);
	return 0;
}
