/* irq: dispatch to the chip, pulses, MSI, disconnected lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include "core/irq.h"

struct rec {
	int levels[8];
	unsigned gsis[8];
	int n;
	uint64_t msi_addr;
	uint32_t msi_data;
	int nmsi;
};

static void rec_set_level(void *opaque, unsigned gsi, int level)
{
	struct rec *r = opaque;
	if (r->n < 8) {
		r->gsis[r->n] = gsi;
		r->levels[r->n] = level;
	}
	r->n++;
}

static int rec_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct rec *r = opaque;
	r->msi_addr = addr;
	r->msi_data = data;
	r->nmsi++;
	return 0;
}

static const struct irq_chip_ops rec_ops = { rec_set_level, rec_msi };
static const struct irq_chip_ops level_only_ops = { rec_set_level, NULL };

static void test_level_and_pulse(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct irq_chip chip = { &rec_ops, &r };
	struct irq line = irq_line(&chip, 4);
	irq_set_level(&line, 1);
	irq_set_level(&line, 7); /* any non-zero is "high" */
	irq_set_level(&line, 0);
	irq_pulse(&line);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.gsis[0], 4);
	int want[5] = { 1, 1, 0, 1, 0 };
	for (int i = 0; i < 5; i++)
		assert_int_equal(r.levels[i], want[i]);
}

static void test_msi(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct irq_chip chip = { &rec_ops, &r };
	assert_int_equal(irq_msi(&chip, 0xfee00000, 0x4041), 0);
	assert_int_equal(r.nmsi, 1);
	assert_int_equal(r.msi_addr, 0xfee00000);
	assert_int_equal(r.msi_data, 0x4041);
	struct irq_chip nomsi = { &level_only_ops, &r };
	assert_int_equal(irq_msi(&nomsi, 0xfee00000, 1), -ENODEV);
	assert_int_equal(irq_msi(NULL, 0xfee00000, 1), -ENODEV);
}

static void test_disconnected(void **state)
{
	(void)state;
	struct irq none = irq_line(NULL, 3);
	irq_set_level(&none, 1);
	irq_pulse(&none);
	irq_set_level(NULL, 1);
	static const struct irq_chip_ops no_ops = { NULL, NULL };
	struct rec r = { 0 };
	struct irq_chip chip = { &no_ops, &r };
	struct irq l = irq_line(&chip, 1);
	irq_pulse(&l);
	assert_int_equal(r.n, 0);
	assert_int_equal(none.gsi, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_and_pulse),
		cmocka_unit_test(test_msi),
		cmocka_unit_test(test_disconnected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
