/* ACPI tables for real command lines (microvm, q35, nvdimm): checksums,
 * the RSDP -> XSDT -> table pointer chain, FADT register blocks per
 * machine type, every MADT entry, MCFG, and the DSDT's device names.
 *
 * With ACPI_DUMP_DIR set, the binary instead writes every table of every
 * fixture to DIR/<machine>-<SIG>.dat for tests/integration/test_acpi_iasl.sh
 * to feed to `iasl -d` and acpiexec. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_fixture.h"
#include "core/gm.h"
#include "core/log.h"
#include "devices/acpi/acpi.h"
#include "devices/acpi/acpi_spec.h"

static const char *const fix_microvm[] = { ACPI_FIX_MICROVM };
static const char *const fix_q35[] = { ACPI_FIX_Q35 };
static const char *const fix_nvdimm[] = { ACPI_FIX_NVDIMM };

struct built {
	struct acpi_fixture *f;
	struct acpi_blob b;
};

static struct built *build(const char *const *args)
{
	struct built *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	x->f = acpi_fixture_new(args);
	assert_non_null(x->f);
	assert_int_equal(acpi_blob_build(&x->b, &x->f->cfg, &x->f->l,
					 LAYOUT_ACPI_BASE, LAYOUT_ACPI_SIZE, NULL), 0);
	return x;
}

static void done(struct built *x)
{
	acpi_blob_free(&x->b);
	free(x->f);
	free(x);
}

static const void *table(const struct built *x, const char *sig)
{
	const struct acpi_table_ref *r = acpi_blob_find(&x->b, sig);
	return r ? x->b.data + r->off : NULL;
}

static uint8_t sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *b++);
	return s;
}

/* Every checksummed table sums to 0; the RSDP's two checksums hold. */
static void check_checksums(const struct built *x)
{
	for (unsigned i = 0; i < x->b.ntables; i++) {
		const struct acpi_table_ref *r = &x->b.tables[i];
		const uint8_t *p = x->b.data + r->off;
		assert_true(r->off + r->len <= x->b.len);
		if (!strcmp(r->sig, "RSDP")) {
			assert_int_equal(sum(p, 20), 0);
			assert_int_equal(sum(p, 36), 0);
		} else if (strcmp(r->sig, "FACS") != 0) {
			const struct acpi_header *h = (const void *)p;
			assert_int_equal(h->length, r->len);
			assert_int_equal(sum(p, r->len), 0);
			assert_memory_equal(h->oem_id, ACPI_OEM_ID, 6);
		}
		assert_int_equal(r->gpa, LAYOUT_ACPI_BASE + r->off);
	}
}

/* RSDP at the base -> XSDT -> each listed table, which must exist. */
static void check_pointer_chain(const struct built *x, const char *const *want,
				unsigned nwant)
{
	const struct acpi_rsdp *rsdp = (const void *)x->b.data;
	assert_memory_equal(rsdp->signature, "RSD PTR ", 8);
	assert_int_equal(rsdp->revision, 2);
	assert_int_equal(rsdp->length, 36);
	const struct acpi_table_ref *xr = acpi_blob_find(&x->b, "XSDT");
	assert_non_null(xr);
	assert_int_equal(rsdp->xsdt_address, xr->gpa);
	size_t n = (xr->len - sizeof(struct acpi_header)) / 8;
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++) {
		uint64_t gpa;
		memcpy(&gpa, x->b.data + xr->off + 36 + 8 * i, 8);
		assert_true(gpa >= x->b.gpa && gpa < x->b.gpa + x->b.len);
		const struct acpi_header *h = (const void *)(x->b.data + (gpa - x->b.gpa));
		assert_memory_equal(h->signature, want[i], 4);
	}
}

static void test_microvm_tables(void **state)
{
	(void)state;
	struct built *x = build(fix_microvm);
	check_checksums(x);
	static const char *const want[] = { "FACP", "APIC" };
	check_pointer_chain(x, want, 2);
	assert_null(table(x, "MCFG"));
	assert_null(table(x, "NFIT"));
	assert_null(table(x, "FACS"));

	const struct acpi_fadt *f = table(x, "FACP");
	assert_int_equal(f->h.revision, 6);
	assert_int_equal(f->minor_version, 4);
	assert_true(f->flags & ACPI_FADT_HW_REDUCED);
	assert_true(f->flags & ACPI_FADT_RESET_REG_SUP);
	assert_int_equal(f->sci_int, 0);
	assert_int_equal(f->pm1a_evt_blk, 0);
	assert_int_equal(f->x_pm1a_cnt_blk.address, 0);
	assert_int_equal(f->sleep_control_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(f->sleep_control_reg.bit_width, 8);
	assert_int_equal(f->sleep_control_reg.address, ACPI_PM_IO_BASE + ACPI_SLEEP_CTL_OFF);
	assert_int_equal(f->sleep_status_reg.address, ACPI_PM_IO_BASE + ACPI_SLEEP_STS_OFF);
	assert_int_equal(f->reset_reg.address, ACPI_PM_IO_BASE + ACPI_RESET_OFF);
	assert_int_equal(f->reset_value, ACPI_RESET_VALUE);
	assert_int_equal(f->x_dsdt, acpi_blob_find(&x->b, "DSDT")->gpa);
	assert_int_equal(f->x_firmware_ctrl, 0);
	done(x);
}

static void test_q35_tables(void **state)
{
	(void)state;
	struct built *x = build(fix_q35);
	check_checksums(x);
	static const char *const want[] = { "FACP", "APIC", "MCFG" };
	check_pointer_chain(x, want, 3);

	const struct acpi_fadt *f = table(x, "FACP");
	assert_false(f->flags & ACPI_FADT_HW_REDUCED);
	assert_int_equal(f->sci_int, LAYOUT_GSI_ACPI_SCI);
	assert_int_equal(f->smi_cmd, 0);
	assert_int_equal(f->pm1a_evt_blk, ACPI_PM_IO_BASE + ACPI_PM1_EVT_OFF);
	assert_int_equal(f->pm1a_cnt_blk, ACPI_PM_IO_BASE + ACPI_PM1_CNT_OFF);
	assert_int_equal(f->pm_tmr_blk, ACPI_PM_IO_BASE + ACPI_PM_TMR_OFF);
	assert_int_equal(f->pm1_evt_len, 4);
	assert_int_equal(f->pm1_cnt_len, 2);
	assert_int_equal(f->pm_tmr_len, 4);
	assert_int_equal(f->x_pm1a_evt_blk.address, f->pm1a_evt_blk);
	assert_int_equal(f->x_pm1a_evt_blk.bit_width, 32);
	assert_int_equal(f->x_pm_tmr_blk.bit_width, 32);
	assert_true(f->iapc_boot_arch & ACPI_IAPC_8042);
	const struct acpi_table_ref *facs = acpi_blob_find(&x->b, "FACS");
	assert_non_null(facs);
	assert_int_equal(f->x_firmware_ctrl, facs->gpa);
	assert_int_equal(facs->gpa % 64, 0);
	const struct acpi_facs *fc = table(x, "FACS");
	assert_int_equal(fc->length, 64);

	const struct acpi_mcfg *m = table(x, "MCFG");
	const struct acpi_mcfg_alloc *a = (const void *)(m + 1);
	assert_int_equal(m->h.length, sizeof(*m) + sizeof(*a));
	assert_int_equal(a->base, LAYOUT_ECAM_BASE);
	assert_int_equal(a->segment, 0);
	assert_int_equal(a->start_bus, 0);
	assert_int_equal(a->end_bus, 255);
	done(x);
}

/* Walk every MADT entry; lengths must tile the table exactly. */
/* Returns how many CPUs were x2APIC entries. */
static unsigned check_madt(const struct built *x, unsigned ncpus, bool q35)
{
	const struct acpi_madt *m = table(x, "APIC");
	assert_int_equal(m->lapic_address, LAYOUT_LAPIC_BASE);
	assert_int_equal(m->flags, 1);
	const uint8_t *p = (const uint8_t *)(m + 1), *end = (const uint8_t *)m + m->h.length;
	unsigned ncpu = 0, nio = 0, niso = 0, nnmi = 0, nx2 = 0;
	bool irq0 = false, sci = false;
	while (p < end) {
		const struct acpi_madt_sub *s = (const void *)p;
		assert_true(s->length >= 2 && p + s->length <= end);
		switch (s->type) {
		case ACPI_MADT_LAPIC: {
			const struct acpi_madt_lapic *c = (const void *)p;
			assert_int_equal(s->length, 8);
			assert_int_equal(c->processor_uid, ncpu);
			assert_int_equal(c->apic_id, acpi_apic_id_smp(&x->f->cfg.smp, ncpu));
			assert_true(c->apic_id < 0xff);
			assert_int_equal(c->flags, 1);
			ncpu++;
			break;
		}
		case ACPI_MADT_X2APIC: {
			const struct acpi_madt_x2apic *c = (const void *)p;
			assert_int_equal(s->length, 16);
			assert_int_equal(c->reserved, 0);
			assert_int_equal(c->processor_uid, ncpu);
			assert_int_equal(c->x2apic_id, acpi_apic_id_smp(&x->f->cfg.smp, ncpu));
			assert_true(c->x2apic_id >= 0xff);
			assert_int_equal(c->flags, 1);
			ncpu++;
			nx2++;
			break;
		}
		case ACPI_MADT_IOAPIC: {
			const struct acpi_madt_ioapic *io = (const void *)p;
			assert_int_equal(s->length, 12);
			assert_int_equal(io->address, LAYOUT_IOAPIC_BASE);
			assert_int_equal(io->gsi_base, 0);
			nio++;
			break;
		}
		case ACPI_MADT_ISO: {
			const struct acpi_madt_iso *iso = (const void *)p;
			assert_int_equal(s->length, 10);
			assert_int_equal(iso->bus, 0);
			if (iso->source == 0) {
				assert_int_equal(iso->gsi, 2);
				assert_int_equal(iso->flags, 0);
				irq0 = true;
			} else {
				assert_int_equal(iso->source, LAYOUT_GSI_ACPI_SCI);
				assert_int_equal(iso->gsi, LAYOUT_GSI_ACPI_SCI);
				/* level (0b11 << 2), active high (0b01) */
				assert_int_equal(iso->flags, 0xd);
				sci = true;
			}
			niso++;
			break;
		}
		case ACPI_MADT_LAPIC_NMI: {
			const struct acpi_madt_lapic_nmi *n = (const void *)p;
			assert_int_equal(s->length, 6);
			assert_int_equal(n->processor_uid, 0xff);
			assert_int_equal(n->lint, 1);
			nnmi++;
			break;
		}
		default:
			fail_msg("unexpected MADT entry type %u", s->type);
		}
		p += s->length;
	}
	assert_ptr_equal(p, end);
	assert_int_equal(ncpu, ncpus);
	assert_int_equal(nio, 1);
	assert_int_equal(nnmi, 1);
	assert_true(irq0);
	assert_int_equal(sci, q35);
	assert_int_equal(niso, q35 ? 2 : 1);
	return nx2;
}

static void test_madt_entries(void **state)
{
	(void)state;
	struct built *x = build(fix_microvm);
	check_madt(x, 2, false);
	done(x);
	x = build(fix_q35);
	check_madt(x, 4, true);
	done(x);
}

static void test_madt_topology_ids(void **state)
{
	(void)state;
	/* 3 cores per socket: the core field is 2 bits wide, so IDs skip 3
	 * (Intel SDM Vol. 3A §9.9.1), as the CPUID leaves say. */
	static const char *const odd[] = { "-machine", "microvm,accel=sim", "-smp",
					   "6,sockets=2,cores=3,threads=1", NULL };
	struct built *x = build(odd);
	assert_int_equal(check_madt(x, 6, false), 0);
	static const uint32_t want[6] = { 0, 1, 2, 4, 5, 6 };
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(acpi_apic_id_smp(&x->f->cfg.smp, i), want[i]);
	done(x);

	/* 50 sockets x 5 cores: IDs reach 49 << 3 | 4 = 396, past the 8-bit
	 * xAPIC field, so those CPUs are x2APIC entries. */
	static const char *const big[] = { "-machine", "microvm,accel=sim", "-smp",
					   "250,sockets=50,cores=5,threads=1", NULL };
	x = build(big);
	unsigned nx2 = check_madt(x, 250, false);
	unsigned want_x2 = 0;
	for (unsigned i = 0; i < 250; i++)
		want_x2 += acpi_apic_id_smp(&x->f->cfg.smp, i) >= 0xff;
	assert_true(want_x2 > 0);
	assert_int_equal(nx2, want_x2);
	assert_int_equal(acpi_apic_id_smp(&x->f->cfg.smp, 249), 396);
	done(x);
	/* Plain -smp N: dense IDs, equal to acpi_apic_id(). */
	struct cfg_smp smp = { .cpus = 8, .sockets = 8, .cores = 1, .threads = 1 };
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(acpi_apic_id_smp(&smp, i), acpi_apic_id(NULL, i));
}

static unsigned count_bytes(const struct built *x, const char *sig,
			    const void *needle, size_t n)
{
	const struct acpi_table_ref *r = acpi_blob_find(&x->b, sig);
	unsigned c = 0;
	for (size_t i = 0; r && i + n <= r->len; i++)
		if (!memcmp(x->b.data + r->off + i, needle, n))
			c++;
	return c;
}

static bool contains(const struct built *x, const char *sig, const char *needle,
		     unsigned *count)
{
	unsigned c = count_bytes(x, sig, needle, strlen(needle));
	if (count)
		*count = c;
	return c > 0;
}

static void test_dsdt_devices(void **state)
{
	(void)state;
	unsigned n;
	struct built *x = build(fix_microvm);
	assert_true(contains(x, "DSDT", "LNRO0005", &n));
	assert_int_equal(n, 2); /* both virtio-blk-device */
	assert_true(contains(x, "DSDT", "COM1", NULL));
	assert_false(contains(x, "DSDT", "COM2", NULL));
	assert_true(contains(x, "DSDT", "KBD_", NULL));
	assert_true(contains(x, "DSDT", "_S5_", NULL));
	assert_false(contains(x, "DSDT", "PCI0", NULL));
	assert_false(contains(x, "DSDT", "ACPI0012", NULL));
	/* Each virtio-mmio window and GSI from the layout is in a _CRS:
	 * Memory32Fixed(ReadWrite, base, size) and Interrupt(consumer,
	 * level, active high, exclusive) {gsi}. */
	unsigned seen = 0;
	for (unsigned i = 0; i < x->f->cfg.ndevices; i++) {
		const struct layout_dev *d = layout_dev_for(&x->f->l, (int)i);
		if (!d || !d->mmio_size)
			continue;
		uint8_t mem[12] = { 0x86, 0x09, 0x00, 0x01 };
		uint32_t base = (uint32_t)d->mmio_base, size = (uint32_t)d->mmio_size;
		memcpy(mem + 4, &base, 4);
		memcpy(mem + 8, &size, 4);
		assert_int_equal(count_bytes(x, "DSDT", mem, sizeof(mem)), 1);
		uint8_t irq[9] = { 0x89, 0x06, 0x00, 0x01, 0x01 };
		uint32_t gsi = d->gsi;
		memcpy(irq + 5, &gsi, 4);
		assert_int_equal(count_bytes(x, "DSDT", irq, sizeof(irq)), 1);
		seen++;
	}
	assert_int_equal(seen, 2);
	done(x);

	x = build(fix_q35);
	assert_true(contains(x, "DSDT", "PCI0", NULL));
	assert_true(contains(x, "DSDT", "_PRT", NULL));
	assert_true(contains(x, "DSDT", "KBD_", NULL));
	assert_true(contains(x, "DSDT", "COM2", NULL));
	assert_false(contains(x, "DSDT", "COM3", NULL));
	assert_false(contains(x, "DSDT", "LNRO0005", NULL));
	done(x);

	x = build(fix_nvdimm);
	assert_true(contains(x, "DSDT", "ACPI0012", NULL));
	assert_true(contains(x, "DSDT", "NV00", NULL));
	assert_true(contains(x, "DSDT", "NV01", NULL));
	/* Only nv1 has label-size: one set of label methods. */
	assert_true(contains(x, "DSDT", "_LSR", &n));
	assert_int_equal(n, 1);
	done(x);
}

static void test_serial_none_drops_com1(void **state)
{
	(void)state;
	static const char *const args[] = { "-machine", "microvm,accel=sim",
					    "-serial", "none", NULL };
	struct built *x = build(args);
	assert_false(contains(x, "DSDT", "COM1", NULL));
	assert_true(contains(x, "DSDT", "RTC_", NULL));
	done(x);
}

static void test_too_small_space_fails(void **state)
{
	(void)state;
	struct acpi_fixture *f = acpi_fixture_new(fix_q35);
	assert_non_null(f);
	struct acpi_blob b;
	for (size_t max = 0; max < 600; max += 37)
		assert_int_equal(acpi_blob_build(&b, &f->cfg, &f->l, LAYOUT_ACPI_BASE,
						 max, NULL), -1);
	assert_null(b.data);
	/* The reason is logged, once, and names the space problem. */
	struct log *log = log_new_memory(LOG_DEBUG);
	assert_non_null(log);
	assert_int_equal(acpi_blob_build(&b, &f->cfg, &f->l, LAYOUT_ACPI_BASE, 300,
					 log), -1);
	const char *text = log_memory_text(log);
	assert_non_null(text);
	assert_non_null(strstr(text, "tables exceed 300 bytes"));
	assert_null(strstr(text, "encoding"));
	/* Only one line: the first failure latches, the rest stay quiet. */
	assert_null(strchr(strchr(text, '\n') + 1, '\n'));
	log_free(log);
	free(f);
}

static void test_build_into_guest_memory(void **state)
{
	(void)state;
	struct acpi_fixture *f = acpi_fixture_new(fix_q35);
	assert_non_null(f);
	struct gm *gm = gm_new();
	assert_non_null(gm);
	/* No RAM at LAYOUT_ACPI_BASE yet: a clean failure. */
	assert_int_equal(acpi_build(gm, &f->cfg, &f->l, NULL), -1);
	assert_int_equal(gm_add_heap(gm, 0, 1 << 20, 0, "low"), 0);
	assert_int_equal(acpi_build(gm, &f->cfg, &f->l, NULL), 0);
	uint8_t rsdp[36];
	assert_int_equal(gm_read(gm, ACPI_RSDP_ADDR, rsdp, sizeof(rsdp)), 0);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 36), 0);
	uint64_t xsdt;
	memcpy(&xsdt, rsdp + offsetof(struct acpi_rsdp, xsdt_address), 8);
	struct acpi_header h;
	assert_int_equal(gm_read(gm, xsdt, &h, sizeof(h)), 0);
	assert_memory_equal(h.signature, "XSDT", 4);
	assert_true(xsdt + h.length <= LAYOUT_ACPI_BASE + LAYOUT_ACPI_SIZE);
	gm_free(gm);
	free(f);
}

static int dump(const char *dir)
{
	/* 250 vCPUs in 50 x 5: MADT with x2APIC entries. */
	static const char *const fix_big[] = { "-machine", "q35,accel=sim", "-smp",
					       "250,sockets=50,cores=5,threads=1", NULL };
	static const char *const fix_cpuhp_q35[] = { "-machine", "q35,accel=sim", "-smp",
						     "2,maxcpus=4", NULL };
	static const char *const fix_cpuhp_microvm[] = { "-machine", "microvm,accel=sim",
							 "-smp", "1,maxcpus=3", NULL };
	/* Memory hot-plug window: SRAT, MHPD/MHPC, GPE / GED (issue 17). */
	static const char *const fix_memq[] = { "-machine", "q35,accel=sim", "-m",
						"256M,slots=4,maxmem=2G", NULL };
	static const char *const fix_memm[] = { "-machine", "microvm,accel=sim", "-m",
						"256M,slots=2,maxmem=1G", NULL };
	static const struct { const char *name; const char *const *args; } m[] = {
		{ "microvm", fix_microvm }, { "q35", fix_q35 }, { "nvdimm", fix_nvdimm },
		{ "smp250", fix_big },
		/* vCPU hot-plug: the CPUS container, GPE0 / GED (dsdt_cpu.c). */
		{ "cpuhp-q35", fix_cpuhp_q35 }, { "cpuhp-microvm", fix_cpuhp_microvm },
		{ "memhpq35", fix_memq }, { "memhpmvm", fix_memm },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct acpi_fixture *f = acpi_fixture_new(m[i].args);
		struct acpi_blob b;
		if (!f || acpi_blob_build(&b, &f->cfg, &f->l, LAYOUT_ACPI_BASE,
					  LAYOUT_ACPI_SIZE, NULL) < 0)
			return 1;
		for (unsigned t = 0; t < b.ntables; t++) {
			char path[512];
			snprintf(path, sizeof(path), "%s/%s-%s.dat", dir, m[i].name,
				 b.tables[t].sig);
			FILE *o = fopen(path, "wb");
			if (!o || fwrite(b.data + b.tables[t].off, 1, b.tables[t].len, o) !=
					  b.tables[t].len || fclose(o) != 0)
				return 1;
		}
		acpi_blob_free(&b);
		free(f);
	}
	return 0;
}

int main(void)
{
	const char *dir = getenv("ACPI_DUMP_DIR");
	if (dir)
		return dump(dir);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_microvm_tables),
		cmocka_unit_test(test_q35_tables),
		cmocka_unit_test(test_madt_entries),
		cmocka_unit_test(test_madt_topology_ids),
		cmocka_unit_test(test_dsdt_devices),
		cmocka_unit_test(test_serial_none_drops_com1),
		cmocka_unit_test(test_too_small_space_fails),
		cmocka_unit_test(test_build_into_guest_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
