/* The ACPI tables of a machine with room for hot-plugged CPUs (-smp
 * N,maxcpus=M): the MADT lists all M, the absent ones not enabled but
 * Online Capable (ACPI 6.4 §5.2.12.2); the DSDT has the CPUS container
 * with one ACPI0007 device per possible CPU and CSCN, run from GPE 2
 * (q35: the FADT's GPE0 block) or the GED (microvm); without maxcpus none
 * of it.  iasl and acpiexec check the same tables in
 * tests/integration/test_acpi_iasl.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "devices/acpi/acpi.h"
#include "devices/acpi/acpi_spec.h"
#include "acpi_fixture.h"

struct built {
	struct acpi_fixture *f;
	struct acpi_blob b;
};

static struct built build(const char *const *args)
{
	struct built x = { .f = acpi_fixture_new(args) };
	assert_non_null(x.f);
	assert_int_equal(acpi_blob_build(&x.b, &x.f->cfg, &x.f->l, LAYOUT_ACPI_BASE,
					 LAYOUT_ACPI_SIZE, NULL), 0);
	return x;
}

static void done(struct built *x)
{
	acpi_blob_free(&x->b);
	free(x->f);
}

static const uint8_t *tbl(const struct built *x, const char *sig, size_t *len)
{
	const struct acpi_table_ref *r = acpi_blob_find(&x->b, sig);
	assert_non_null(r);
	*len = r->len;
	return x->b.data + r->off;
}

static bool has(const struct built *x, const char *sig, const char *needle)
{
	size_t len, n = strlen(needle);
	const uint8_t *t = tbl(x, sig, &len);
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(t + i, needle, n))
			return true;
	return false;
}

/* The Local APIC entries' flags, in order. */
static unsigned madt_flags(const struct built *x, uint32_t *flags, unsigned max)
{
	size_t len;
	const uint8_t *t = tbl(x, "APIC", &len);
	unsigned n = 0;
	for (size_t off = sizeof(struct acpi_madt); off + 2 <= len && t[off + 1] >= 2;
	     off += t[off + 1]) {
		if (t[off] != ACPI_MADT_LAPIC)
			continue;
		struct acpi_madt_lapic e;
		memcpy(&e, t + off, sizeof(e));
		assert_int_equal(e.processor_uid, n);
		assert_int_equal(e.apic_id, n);
		if (n < max)
			flags[n] = e.flags;
		n++;
	}
	return n;
}

static void test_q35_maxcpus(void **state)
{
	(void)state;
	static const char *const args[] = { "-machine", "q35,accel=sim", "-smp",
					    "2,maxcpus=4", NULL };
	struct built x = build(args);
	uint32_t fl[8];
	assert_int_equal(madt_flags(&x, fl, 8), 4);
	assert_int_equal(fl[0], 1); /* enabled */
	assert_int_equal(fl[1], 1);
	assert_int_equal(fl[2], 2); /* online capable */
	assert_int_equal(fl[3], 2);
	assert_true(has(&x, "DSDT", "CPUS"));
	assert_true(has(&x, "DSDT", "ACPI0010"));
	assert_true(has(&x, "DSDT", "C003"));
	assert_false(has(&x, "DSDT", "C004"));
	assert_true(has(&x, "DSDT", "CSCN"));
	assert_true(has(&x, "DSDT", "_E02"));
	size_t len;
	const struct acpi_fadt *f = (const void *)tbl(&x, "FACP", &len);
	assert_int_equal(f->gpe0_blk, ACPI_GPE0_IO_BASE);
	assert_int_equal(f->gpe0_blk_len, ACPI_GPE0_IO_SIZE);
	assert_int_equal(f->x_gpe0_blk.address, ACPI_GPE0_IO_BASE);
	done(&x);
}

static void test_microvm_maxcpus(void **state)
{
	(void)state;
	static const char *const args[] = { "-machine", "microvm,accel=sim", "-smp",
					    "1,maxcpus=3", NULL };
	struct built x = build(args);
	uint32_t fl[8];
	assert_int_equal(madt_flags(&x, fl, 8), 3);
	assert_int_equal(fl[0], 1);
	assert_int_equal(fl[2], 2);
	assert_true(has(&x, "DSDT", "CSCN"));
	assert_false(has(&x, "DSDT", "_E02")); /* hardware-reduced: the GED */
	assert_true(has(&x, "DSDT", "_EVT"));
	done(&x);
}

/* A slot device_add filled (the description's cfg_smp.plugged): a
 * rebuild's MADT -- system_reset's -- lists it enabled, as QEMU's does;
 * the other free slots stay Online Capable. */
static void test_plugged_slot_enabled(void **state)
{
	(void)state;
	static const char *const args[] = { "-machine", "q35,accel=sim", "-smp",
					    "1,maxcpus=4", NULL };
	struct acpi_fixture *f = acpi_fixture_new(args);
	assert_non_null(f);
	config_cpu_set_plugged(&f->cfg, 2, true);
	struct built x = { .f = f };
	assert_int_equal(acpi_blob_build(&x.b, &f->cfg, &f->l, LAYOUT_ACPI_BASE,
					 LAYOUT_ACPI_SIZE, NULL), 0);
	uint32_t fl[8];
	assert_int_equal(madt_flags(&x, fl, 8), 4);
	assert_int_equal(fl[0], 1);
	assert_int_equal(fl[1], 2);
	assert_int_equal(fl[2], 1);
	assert_int_equal(fl[3], 2);
	done(&x);
}

static void test_no_maxcpus(void **state)
{
	(void)state;
	static const char *const args[] = { "-machine", "q35,accel=sim", "-smp", "3", NULL };
	struct built x = build(args);
	uint32_t fl[8];
	assert_int_equal(madt_flags(&x, fl, 8), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fl[i], 1);
	assert_false(has(&x, "DSDT", "CSCN"));
	assert_false(has(&x, "DSDT", "CPUS"));
	done(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_q35_maxcpus),
		cmocka_unit_test(test_microvm_maxcpus),
		cmocka_unit_test(test_no_maxcpus),
		cmocka_unit_test(test_plugged_slot_enabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
