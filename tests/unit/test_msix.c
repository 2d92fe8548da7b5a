/* MSI-X (PCI Local Bus 3.0 §6.8.2): capability, vector table, PBA,
 * per-vector and function masking with pending delivery on unmask. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "devices/pci/msix.h"
#include "devices/pci/pci.h"

struct rec {
	struct irq_chip chip;
	unsigned n;
	uint64_t addr;
	uint32_t data;
};

static void rec_level(void *o, unsigned gsi, int level)
{
	(void)o, (void)gsi, (void)level;
}

static int rec_msi(void *o, uint64_t addr, uint32_t data)
{
	struct rec *r = o;
	r->n++;
	r->addr = addr;
	r->data = data;
	return 0;
}

static const struct irq_chip_ops rec_ops = { rec_level, rec_msi };

static int bar_fn(void *dev, uint64_t off, void *data, unsigned len, bool w)
{
	return msix_bar_access(dev, off, data, len, w);
}

struct fix {
	struct pci_dev d;
	struct msix m;
	struct rec r;
	int cap;
};

#define NVEC 4
#define TABLE 0x0
#define PBA 0x800

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct pci_dev_info info = { .vendor_id = 1, .device_id = 2 };
	pci_dev_init(&f->d, &info, "msix", NULL);
	f->r.chip = (struct irq_chip){ &rec_ops, &f->r };
	pci_dev_set_bar(&f->d, 1, PCI_BAR_MEM32, 0x1000, false, bar_fn, &f->m, "msix");
	assert_int_equal(msix_init(&f->m, &f->d, &f->r.chip, NVEC, 1, TABLE, PBA), 0);
	f->cap = f->m.cap;
	/* A message is a memory write: the function masters the bus, as
	 * the OS sets it up before enabling MSI-X. */
	pci_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static uint32_t tr(struct fix *f, uint32_t off, unsigned len)
{
	uint32_t v = 0;
	assert_int_equal(msix_bar_access(&f->m, off, &v, len, false), 0);
	return v;
}

static void tw(struct fix *f, uint32_t off, unsigned len, uint32_t v)
{
	assert_int_equal(msix_bar_access(&f->m, off, &v, len, true), 0);
}

static void program(struct fix *f, unsigned v, uint32_t data)
{
	uint32_t e = TABLE + v * PCI_MSIX_ENTRY_SIZE;
	tw(f, e + PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xfee00000);
	tw(f, e + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
	tw(f, e + PCI_MSIX_ENTRY_DATA, 4, data);
}

static void set_ctl(struct fix *f, uint16_t ctl)
{
	pci_cfg_write(&f->d, f->cap + PCI_MSIX_FLAGS, 2, ctl);
}

static void test_capability(void **state)
{
	struct fix *f = *state;
	assert_int_equal(pci_cfg_read(&f->d, f->cap, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(pci_cfg_read(&f->d, f->cap + PCI_MSIX_FLAGS, 2), NVEC - 1);
	assert_int_equal(pci_cfg_read(&f->d, f->cap + PCI_MSIX_TABLE, 4), TABLE | 1);
	assert_int_equal(pci_cfg_read(&f->d, f->cap + PCI_MSIX_PBA, 4), PBA | 1);
	/* Only Enable and Function Mask are writable. */
	set_ctl(f, 0xffff);
	assert_int_equal(pci_cfg_read(&f->d, f->cap + PCI_MSIX_FLAGS, 2),
			 PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | (NVEC - 1));
	pci_cfg_write(&f->d, f->cap + PCI_MSIX_TABLE, 4, 0x12345678);
	assert_int_equal(pci_cfg_read(&f->d, f->cap + PCI_MSIX_TABLE, 4), TABLE | 1);
	assert_int_equal(msix_table_size(NVEC), NVEC * 16);
	assert_int_equal(msix_pba_size(NVEC), 8);
	assert_int_equal(msix_pba_size(65), 16);
}

static void test_init_errors(void **state)
{
	struct fix *f = *state;
	struct msix m2;
	assert_int_equal(msix_init(&m2, &f->d, &f->r.chip, 0, 1, 0, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m2, &f->d, &f->r.chip, MSIX_MAX_VECTORS + 1, 1, 0, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m2, &f->d, &f->r.chip, 4, 6, 0, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m2, &f->d, &f->r.chip, 4, 1, 4, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m2, &f->d, &f->r.chip, 4, 1, 0, 0x804), -EINVAL);
	assert_int_equal(msix_init(&m2, &f->d, &f->r.chip, 4, 1, 0, 0x20), -EINVAL);
	/* Config space full. */
	while (pci_dev_add_cap(&f->d, PCI_CAP_ID_VNDR, 16) > 0)
		;
	assert_int_equal(msix_init(&m2, &f->d, &f->r.chip, 4, 1, 0, 0x800), -ENOSPC);
}

static void test_table_defaults_and_access(void **state)
{
	struct fix *f = *state;
	for (unsigned v = 0; v < NVEC; v++) {
		assert_int_equal(tr(f, v * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4), 1);
		assert_true(msix_vector_masked(&f->m, v));
	}
	program(f, 2, 0x1234);
	assert_int_equal(tr(f, 2 * 16 + PCI_MSIX_ENTRY_DATA, 4), 0x1234);
	/* 8-byte access covers address low and high. */
	uint64_t a = 0x00000001fee01000ull;
	assert_int_equal(msix_bar_access(&f->m, 3 * 16, &a, 8, true), 0);
	assert_int_equal(tr(f, 3 * 16, 4), 0xfee01000);
	assert_int_equal(tr(f, 3 * 16 + 4, 4), 1);
	/* Byte accesses work; reserved control bits stay 0. */
	tw(f, 2 * 16 + PCI_MSIX_ENTRY_DATA + 1, 1, 0xab);
	assert_int_equal(tr(f, 2 * 16 + PCI_MSIX_ENTRY_DATA, 4), 0xab34);
	tw(f, 2 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0xfffffffe);
	assert_int_equal(tr(f, 2 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4), 0);
	/* Past the table end: reads 0, writes dropped. */
	uint64_t big = ~0ull;
	assert_int_equal(msix_bar_access(&f->m, NVEC * 16 - 4, &big, 8, false), 0);
	assert_true(big == 0);
	big = ~0ull;
	assert_int_equal(msix_bar_access(&f->m, NVEC * 16 - 4, &big, 8, true), 0);
	assert_int_equal(tr(f, NVEC * 16 - 4, 4), 1);
	/* Outside table and PBA: not ours. */
	uint32_t v = 0;
	assert_int_equal(msix_bar_access(&f->m, 0x400, &v, 4, false), -ENOENT);
	assert_int_equal(msix_bar_access(&f->m, PBA + 8, &v, 4, false), -ENOENT);
}

static void test_disabled_does_not_deliver(void **state)
{
	struct fix *f = *state;
	program(f, 0, 0x40);
	tw(f, PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(msix_notify(&f->m, 0), -EINVAL);
	assert_int_equal(f->r.n, 0);
	set_ctl(f, PCI_MSIX_FLAGS_ENABLE);
	assert_true(msix_enabled(&f->m));
	assert_int_equal(msix_notify(&f->m, 0), 1);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.data, 0x40);
	assert_true(f->r.addr == 0xfee00000);
	assert_int_equal(msix_notify(&f->m, NVEC), -EINVAL);
	assert_int_equal(msix_notify(&f->m, 1000), -EINVAL);
	assert_false(msix_pending(&f->m, 1000));
	assert_true(msix_vector_masked(&f->m, 1000));
	assert_int_equal(f->m.delivered, 1);
}

static void test_vector_mask_pending(void **state)
{
	struct fix *f = *state;
	set_ctl(f, PCI_MSIX_FLAGS_ENABLE);
	program(f, 1, 0x41);
	/* Masked (the reset state): pending, PBA shows it. */
	assert_int_equal(msix_notify(&f->m, 1), 0);
	assert_int_equal(f->r.n, 0);
	assert_true(msix_pending(&f->m, 1));
	assert_int_equal(tr(f, PBA, 4), 2);
	assert_int_equal(tr(f, PBA, 1), 2);
	assert_int_equal(tr(f, PBA + 4, 4), 0);
	/* The PBA is read-only. */
	tw(f, PBA, 4, 0);
	assert_true(msix_pending(&f->m, 1));
	/* A second notification while masked still delivers once. */
	msix_notify(&f->m, 1);
	/* Unmask: delivered, pending cleared. */
	tw(f, 1 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.data, 0x41);
	assert_false(msix_pending(&f->m, 1));
	assert_int_equal(tr(f, PBA, 4), 0);
	/* Unmasking with nothing pending sends nothing. */
	tw(f, 1 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 1);
	tw(f, 1 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(f->r.n, 1);
}

static void test_function_mask(void **state)
{
	struct fix *f = *state;
	set_ctl(f, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	for (unsigned v = 0; v < NVEC; v++) {
		program(f, v, 0x50 + v);
		tw(f, v * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	}
	assert_int_equal(msix_notify(&f->m, 0), 0);
	assert_int_equal(msix_notify(&f->m, 3), 0);
	assert_int_equal(tr(f, PBA, 4), 9);
	/* Unmasking one entry does not help while the function is masked. */
	tw(f, 0 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(f->r.n, 0);
	/* Vector 3 individually masked: stays pending after the function
	 * mask clears; vector 0 goes. */
	tw(f, 3 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 1);
	set_ctl(f, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.data, 0x50);
	assert_true(msix_pending(&f->m, 3));
	tw(f, 3 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(f->r.n, 2);
	assert_int_equal(f->r.data, 0x53);
	/* Pending bits survive disable; enabling delivers them. */
	set_ctl(f, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	msix_notify(&f->m, 2);
	set_ctl(f, 0);
	assert_int_equal(f->r.n, 2);
	set_ctl(f, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(f->r.n, 3);
}

static void test_reset(void **state)
{
	struct fix *f = *state;
	set_ctl(f, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	program(f, 0, 0x40);
	tw(f, PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	msix_notify(&f->m, 0);
	pci_dev_reset(&f->d);  /* resets MSI-X through d->msix */
	assert_false(msix_enabled(&f->m));
	assert_false(msix_pending(&f->m, 0));
	assert_true(msix_vector_masked(&f->m, 0));
	assert_int_equal(tr(f, PCI_MSIX_ENTRY_DATA, 4), 0);
	assert_int_equal(pci_cfg_read(&f->d, f->cap + PCI_MSIX_FLAGS, 2), NVEC - 1);
}

/* Without Bus Master Enable a function sends no message (PCI 3.0
 * §6.2.2, §6.8): it is held in the PBA and sent once BME is set again. */
static void test_bus_master_off_holds_messages(void **state)
{
	struct fix *f = *state;
	program(f, 1, 0x41);
	tw(f, 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	set_ctl(f, PCI_MSIX_FLAGS_ENABLE);
	pci_cfg_write(&f->d, PCI_COMMAND, 2, 0);
	assert_int_equal(msix_notify(&f->m, 1), 0);
	assert_int_equal(f->r.n, 0);
	assert_true(msix_pending(&f->m, 1));
	/* Unmasking while BME is off sends nothing either. */
	tw(f, 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 1);
	tw(f, 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(f->r.n, 0);
	pci_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.data, 0x41);
	assert_false(msix_pending(&f->m, 1));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_capability),
		T(test_init_errors),
		T(test_table_defaults_and_access),
		T(test_disabled_does_not_deliver),
		T(test_vector_mask_pending),
		T(test_function_mask),
		T(test_reset),
		T(test_bus_master_off_holds_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
