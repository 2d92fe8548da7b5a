/* The PCI host bridge: config mechanism #1 (0xCF8/0xCFC) and ECAM agree
 * at every offset and width, absent functions read all-ones,
 * multifunction, BAR mapping on the sim buses following the guest's BAR
 * and command writes, shared INTx lines, resource assignment. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/layout.h"
#include "devices/pci/pci.h"
#include "sim/sim.h"
#include "pci_fixture.h"

struct tdev {
	struct pci_dev pci;
	unsigned hits;
	uint64_t last_off;
	uint32_t reg;
};

static int tdev_access(void *opaque, uint64_t off, void *data, unsigned len,
		       bool is_write)
{
	struct tdev *t = opaque;
	t->hits++;
	t->last_off = off;
	if (is_write)
		memcpy(&t->reg, data, len < 4 ? len : 4);
	else
		memset(data, 0x5a, len);
	return 0;
}

static void tdev_init(struct tdev *t, uint16_t devid, bool io, bool mem64)
{
	struct pci_dev_info info = { .vendor_id = 0x1b36, .device_id = devid,
				     .class_code = 0xff0000, .irq_pin = 1 };
	memset(t, 0, sizeof(*t));
	pci_dev_init(&t->pci, &info, "tdev", NULL);
	pci_dev_set_bar(&t->pci, 0, PCI_BAR_MEM32, 0x1000, false, tdev_access, t, "m");
	if (io)
		pci_dev_set_bar(&t->pci, 1, PCI_BAR_IO, 0x10, false, tdev_access, t, "io");
	if (mem64)
		pci_dev_set_bar(&t->pci, 2, PCI_BAR_MEM64, 0x4000, true, tdev_access, t, "m64");
	pci_dev_add_cap(&t->pci, PCI_CAP_ID_VNDR, 8);
}

struct fix {
	struct sim *s;
	struct pci_host *h;
	struct tdev a, b, c;
};

#define MMIO64_BASE 0x8000000000ull

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	f->s = sim_new(NULL);
	struct pci_host_windows w = {
		.mmio32_base = LAYOUT_PCI_MMIO32_BASE, .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
		.mmio64_base = MMIO64_BASE, .mmio64_size = 1ull << 30,
		.io_base = LAYOUT_PCI_IO_BASE, .io_size = LAYOUT_PCI_IO_SIZE,
	};
	f->h = pci_host_new(f->s->m.pio, f->s->m.mmio, LAYOUT_ECAM_BASE, &w,
			    f->s->m.irqchip, NULL);
	tdev_init(&f->a, 1, true, true);
	tdev_init(&f->b, 2, false, false);
	tdev_init(&f->c, 3, false, false);
	*state = f;
	return f->h ? 0 : -1;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	pci_host_free(f->h);
	sim_free(f->s);
	free(f);
	return 0;
}

static void test_host_bridge_identity(void **state)
{
	struct fix *f = *state;
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(0, 0, 0), 4), 0x29c08086);
	assert_int_equal(pcifx_cf8_read(f->s, 0, 0, PCI_CLASS_DEVICE, 2), 0x0600);
	/* The bridge's slot is taken. */
	assert_int_equal(pci_host_attach(f->h, &f->a.pci, 0, 0), -EINVAL);
	assert_non_null(pci_host_dev(f->h, 0, 0));
	assert_null(pci_host_dev(f->h, 32, 0));
	assert_null(pci_host_dev(f->h, 1, 1));
}

static void test_ecam_and_cf8_agree(void **state)
{
	struct fix *f = *state;
	assert_int_equal(pci_host_attach(f->h, &f->a.pci, 5, 0), 0);
	unsigned devfn = PCI_DEVFN(5, 0);
	for (uint32_t off = 0; off < PCI_CFG_LEGACY_SIZE; off++)
		for (unsigned len = 1; len <= 4; len *= 2) {
			if ((off & 3) + len > 4)
				continue;
			uint32_t e = (uint32_t)sim_mmio_read(f->s, pcifx_ecam(0, devfn, off), len);
			uint32_t c = pcifx_cf8_read(f->s, 0, devfn, off, len);
			assert_int_equal(e, c);
			assert_int_equal(e, pci_host_cfg_read(f->h, 0, devfn, off, len));
		}
	/* A write through one is seen through the other. */
	pcifx_cf8_write(f->s, 0, devfn, PCI_INTERRUPT_LINE, 1, 0x0b);
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(0, devfn, PCI_INTERRUPT_LINE), 1), 0x0b);
	sim_mmio_write(f->s, pcifx_ecam(0, devfn, PCI_CACHE_LINE_SIZE), 1, 0x10);
	assert_int_equal(pcifx_cf8_read(f->s, 0, devfn, PCI_CACHE_LINE_SIZE, 1), 0x10);
	/* ECAM reaches the extended space (reads 0 here), CF8 cannot. */
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(0, devfn, 0x100), 4), 0);
	/* Crossing a dword through ECAM: all-ones. */
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(0, devfn, 3), 2), 0xffff);
	/* 8-byte ECAM accesses are refused. */
	assert_true(sim_mmio_read(f->s, pcifx_ecam(0, devfn, 0), 8) == ~0ull);
	sim_mmio_write(f->s, pcifx_ecam(0, devfn, PCI_INTERRUPT_LINE), 8, 0);
	assert_int_equal(pcifx_cf8_read(f->s, 0, devfn, PCI_INTERRUPT_LINE, 1), 0x0b);
}

static void test_absent_reads_all_ones(void **state)
{
	struct fix *f = *state;
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(0, PCI_DEVFN(7, 0), 0), 4), 0xffffffff);
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(0, PCI_DEVFN(7, 0), 0), 2), 0xffff);
	assert_int_equal(pcifx_cf8_read(f->s, 0, PCI_DEVFN(31, 7), 0, 1), 0xff);
	/* Only bus 0 exists. */
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(1, 0, 0), 4), 0xffffffff);
	assert_int_equal(pcifx_cf8_read(f->s, 9, 0, 0, 4), 0xffffffff);
	sim_mmio_write(f->s, pcifx_ecam(3, 0, PCI_COMMAND), 2, 7);
	pcifx_cf8_write(f->s, 3, 0, PCI_COMMAND, 2, 7);
	pci_host_cfg_write(f->h, 0, PCI_DEVFN(9, 0), PCI_COMMAND, 2, 7);
	assert_int_equal(pci_host_cfg_read(f->h, 0, 256, 0, 4), 0xffffffff);
	pci_host_cfg_write(f->h, 0, 256, 0, 4, 0);
}

static void test_cf8_register(void **state)
{
	struct fix *f = *state;
	/* Reserved bits read 0; the enable bit and address stick. */
	sim_pio_write(f->s, 0xcf8, 4, 0xffffffff);
	assert_int_equal(sim_pio_read(f->s, 0xcf8, 4), 0x80fffffc);
	/* Byte/word accesses to 0xCF8 are not CONFIG_ADDRESS. */
	sim_pio_write(f->s, 0xcf8, 1, 0);
	sim_pio_write(f->s, 0xcf9, 2, 0);
	assert_int_equal(sim_pio_read(f->s, 0xcf8, 4), 0x80fffffc);
	assert_int_equal(sim_pio_read(f->s, 0xcf8, 1), 0xff);
	assert_int_equal(sim_pio_read(f->s, 0xcfa, 2), 0xffff);
	/* Without the enable bit, data reads are all-ones, writes dropped. */
	pci_host_attach(f->h, &f->b.pci, 2, 0);
	sim_pio_write(f->s, 0xcf8, 4, PCI_DEVFN(2, 0) << 8);
	assert_int_equal(sim_pio_read(f->s, 0xcfc, 4), 0xffffffff);
	sim_pio_write(f->s, 0xcf8, 4, PCI_DEVFN(2, 0) << 8 | PCI_INTERRUPT_LINE);
	sim_pio_write(f->s, 0xcfc, 1, 0x33);
	assert_int_equal(pcifx_cf8_read(f->s, 0, PCI_DEVFN(2, 0), PCI_INTERRUPT_LINE, 1),
			 pci_host_intx_gsi(2, 1));
	/* Data port accesses at every byte lane. */
	assert_int_equal(pcifx_cf8_read(f->s, 0, PCI_DEVFN(2, 0), 1, 1), 0x1b);
	assert_int_equal(pcifx_cf8_read(f->s, 0, PCI_DEVFN(2, 0), 2, 2), 2);
	assert_int_equal(pcifx_cf8_read(f->s, 0, PCI_DEVFN(2, 0), 3, 1), 0);
	/* 4 bytes at 0xCFE straddle the data port: unclaimed (all-ones). */
	sim_pio_write(f->s, 0xcf8, 4, 0x80000000u | PCI_DEVFN(2, 0) << 8);
	assert_int_equal(sim_pio_read(f->s, 0xcfe, 4), 0xffffffff);
}

static void test_attach_rules_and_multifunction(void **state)
{
	struct fix *f = *state;
	assert_int_equal(pci_host_attach(f->h, &f->b.pci, 4, 1), 0);
	assert_int_equal(pci_host_attach(f->h, &f->c.pci, 4, 1), -EEXIST);
	assert_int_equal(pci_host_attach(f->h, &f->c.pci, 32, 0), -EINVAL);
	assert_int_equal(pci_host_attach(f->h, &f->c.pci, 4, 8), -EINVAL);
	assert_int_equal(pci_host_attach(f->h, &f->b.pci, 6, 0), -EINVAL); /* twice */
	/* Function 0 arriving after function 1 still gets the bit. */
	assert_int_equal(pci_host_attach(f->h, &f->a.pci, 4, 0), 0);
	assert_int_equal(pcifx_cf8_read(f->s, 0, PCI_DEVFN(4, 0), PCI_HEADER_TYPE, 1), 0x80);
	assert_int_equal(pcifx_cf8_read(f->s, 0, PCI_DEVFN(4, 1), PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(pcifx_cf8_read(f->s, 0, PCI_DEVFN(4, 1), PCI_DEVICE_ID, 2), 2);
	/* A lone function 0 elsewhere has no bit. */
	assert_int_equal(pci_host_attach(f->h, &f->c.pci, 31, 0), 0);
	assert_int_equal(pcifx_cf8_read(f->s, 0, PCI_DEVFN(31, 0), PCI_HEADER_TYPE, 1), 0);
	assert_ptr_equal(pci_host_dev(f->h, 4, 1), &f->b.pci);
	/* Detach frees the slot. */
	pci_host_detach(f->h, &f->b.pci);
	assert_null(pci_host_dev(f->h, 4, 1));
	assert_int_equal(pcifx_cf8_read(f->s, 0, PCI_DEVFN(4, 1), 0, 4), 0xffffffff);
	pci_host_detach(f->h, &f->b.pci);  /* again: no-op */
}

static void test_bar_mapping_follows_guest(void **state)
{
	struct fix *f = *state;
	struct sim *s = f->s;
	unsigned fn = PCI_DEVFN(6, 0);
	pci_host_attach(f->h, &f->a.pci, 6, 0);
	uint64_t m = LAYOUT_PCI_MMIO32_BASE + 0x10000;
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_BASE_ADDRESS_0), 4, m);
	/* Not decoded until memory space is enabled. */
	assert_int_equal(sim_mmio_read(s, m, 4), 0xffffffff);
	assert_int_equal(f->a.hits, 0);
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_COMMAND), 2, PCI_COMMAND_MEMORY);
	assert_int_equal(sim_mmio_read(s, m + 0x10, 4), 0x5a5a5a5a);
	assert_int_equal(f->a.last_off, 0x10);
	assert_true(f->a.pci.bars[0].mapped);
	/* Moving the BAR moves the mapping. */
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_BASE_ADDRESS_0), 4, m + 0x1000);
	assert_int_equal(sim_mmio_read(s, m, 4), 0xffffffff);
	assert_int_equal(sim_mmio_read(s, m + 0x1000, 4), 0x5a5a5a5a);
	/* Sizing with decode on: all-ones is outside the window, unmapped. */
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_BASE_ADDRESS_0), 4, 0xffffffff);
	assert_false(f->a.pci.bars[0].mapped);
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_BASE_ADDRESS_0), 4, m);
	assert_true(f->a.pci.bars[0].mapped);
	/* Disabling decode unmaps. */
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_COMMAND), 2, 0);
	assert_int_equal(sim_mmio_read(s, m, 4), 0xffffffff);
	/* I/O BAR needs I/O decode, lands on the port bus. */
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_BASE_ADDRESS_1), 4, LAYOUT_PCI_IO_BASE + 0x100);
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_COMMAND), 2, PCI_COMMAND_MEMORY);
	assert_int_equal(sim_pio_read(s, LAYOUT_PCI_IO_BASE + 0x100, 1), 0xff);
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_COMMAND), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	sim_pio_write(s, LAYOUT_PCI_IO_BASE + 0x104, 2, 0xbeef);
	assert_int_equal(f->a.reg, 0xbeef);
	assert_int_equal(f->a.last_off, 4);
	/* An I/O BAR outside the I/O window is not decoded. */
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_BASE_ADDRESS_1), 4, 0x3f0);
	assert_false(f->a.pci.bars[1].mapped);
	/* 64-bit BAR: in the 64-bit window, or below 4 GiB in the 32-bit one. */
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_BASE_ADDRESS_2), 4, (uint32_t)MMIO64_BASE);
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_BASE_ADDRESS_3), 4, (uint32_t)(MMIO64_BASE >> 32));
	assert_int_equal(sim_mmio_read(s, MMIO64_BASE + 8, 2), 0x5a5a);
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_BASE_ADDRESS_3), 4, 0);
	sim_mmio_write(s, pcifx_ecam(0, fn, PCI_BASE_ADDRESS_2), 4,
		       LAYOUT_PCI_MMIO32_BASE + 0x20000);
	assert_int_equal(sim_mmio_read(s, LAYOUT_PCI_MMIO32_BASE + 0x20000, 2), 0x5a5a);
	assert_int_equal(sim_mmio_read(s, MMIO64_BASE + 8, 2), 0xffff);
	/* Memory BARs pointed at RAM, the ECAM window or past the windows are
	 * never decoded. */
	static const uint64_t bad[] = { 0x1000, LAYOUT_ECAM_BASE, 0xfffff000,
					LAYOUT_PCI_MMIO32_BASE - 0x1000 };
	for (unsigned i = 0; i < 4; i++) {
		sim_mmio_write(s, pcifx_ecam(0, fn, PCI_BASE_ADDRESS_0), 4, bad[i]);
		assert_false(f->a.pci.bars[0].mapped);
	}
	assert_int_equal(sim_mmio_read(s, pcifx_ecam(0, fn, PCI_VENDOR_ID), 2), 0x1b36);
	/* Detach unmaps everything. */
	pci_host_detach(f->h, &f->a.pci);
	assert_int_equal(sim_mmio_read(s, LAYOUT_PCI_MMIO32_BASE + 0x20000, 2), 0xffff);
}

static void test_overlapping_bars(void **state)
{
	struct fix *f = *state;
	pci_host_attach(f->h, &f->b.pci, 8, 0);
	pci_host_attach(f->h, &f->c.pci, 9, 0);
	uint64_t m = LAYOUT_PCI_MMIO32_BASE + 0x40000;
	pci_host_cfg_write(f->h, 0, PCI_DEVFN(8, 0), PCI_BASE_ADDRESS_0, 4, (uint32_t)m);
	pci_host_cfg_write(f->h, 0, PCI_DEVFN(8, 0), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	pci_host_cfg_write(f->h, 0, PCI_DEVFN(9, 0), PCI_BASE_ADDRESS_0, 4, (uint32_t)m);
	pci_host_cfg_write(f->h, 0, PCI_DEVFN(9, 0), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	/* The second claim fails; the first device keeps the range. */
	assert_true(f->b.pci.bars[0].mapped);
	assert_false(f->c.pci.bars[0].mapped);
	sim_mmio_read(f->s, m, 4);
	assert_int_equal(f->b.hits, 1);
	assert_int_equal(f->c.hits, 0);
	/* Once the guest moves it, it maps. */
	pci_host_cfg_write(f->h, 0, PCI_DEVFN(9, 0), PCI_BASE_ADDRESS_0, 4,
			   (uint32_t)m + 0x1000);
	assert_true(f->c.pci.bars[0].mapped);
}

static void test_shared_intx(void **state)
{
	struct fix *f = *state;
	/* Slots 1 and 5 with pin A both swizzle to the same GSI. */
	assert_int_equal(pci_host_intx_gsi(1, 1), pci_host_intx_gsi(5, 1));
	assert_int_equal(pci_host_intx_gsi(0, 1), LAYOUT_GSI_PCI_INTX);
	assert_int_equal(pci_host_intx_gsi(1, 4), LAYOUT_GSI_PCI_INTX);
	assert_int_equal(pci_host_intx_gsi(2, 0), LAYOUT_GSI_PCI_INTX + 2);
	unsigned gsi = pci_host_intx_gsi(1, 1);
	pci_host_attach(f->h, &f->b.pci, 1, 0);
	pci_host_attach(f->h, &f->c.pci, 5, 0);
	pci_set_irq(&f->b.pci, 1);
	pci_set_irq(&f->c.pci, 1);
	assert_int_equal(f->s->gsi_level[gsi], 1);
	pci_set_irq(&f->b.pci, 0);
	assert_int_equal(f->s->gsi_level[gsi], 1);   /* c still holds it */
	pci_host_cfg_write(f->h, 0, PCI_DEVFN(5, 0), PCI_COMMAND, 2,
			   PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(f->s->gsi_level[gsi], 0);
	pci_host_cfg_write(f->h, 0, PCI_DEVFN(5, 0), PCI_COMMAND, 2, 0);
	assert_int_equal(f->s->gsi_level[gsi], 1);
	/* Detaching an asserting device releases its share. */
	pci_host_detach(f->h, &f->c.pci);
	assert_int_equal(f->s->gsi_level[gsi], 0);
}

static void test_assign_resources(void **state)
{
	struct fix *f = *state;
	pci_host_attach(f->h, &f->a.pci, 1, 0);
	pci_host_attach(f->h, &f->b.pci, 2, 0);
	assert_int_equal(pci_host_assign_resources(f->h), 0);
	uint64_t a0 = pci_bar_addr(&f->a.pci, 0), b0 = pci_bar_addr(&f->b.pci, 0);
	uint64_t a1 = pci_bar_addr(&f->a.pci, 1), a2 = pci_bar_addr(&f->a.pci, 2);
	assert_true(a0 >= LAYOUT_PCI_MMIO32_BASE && (a0 & 0xfff) == 0);
	assert_true(b0 >= LAYOUT_PCI_MMIO32_BASE && b0 != a0);
	assert_true(a1 >= LAYOUT_PCI_IO_BASE && (a1 & 0xf) == 0);
	assert_true(a2 >= MMIO64_BASE);
	assert_true(f->a.pci.bars[0].mapped && f->a.pci.bars[1].mapped &&
		    f->a.pci.bars[2].mapped && f->b.pci.bars[0].mapped);
	assert_true(pci_bus_master(&f->a.pci));
	assert_int_equal(sim_mmio_read(f->s, b0, 1), 0x5a);
	/* pci_dev_reset undoes it all. */
	pci_dev_reset(&f->a.pci);
	assert_false(f->a.pci.bars[0].mapped || f->a.pci.bars[2].mapped);
}

static void test_assign_exhausted(void **state)
{
	struct fix *f = *state;
	struct sim *s = sim_new(NULL);
	struct pci_host_windows w = { .mmio32_base = LAYOUT_PCI_MMIO32_BASE,
				      .mmio32_size = 0x1000,
				      .io_base = 0x6000, .io_size = 0x10 };
	struct pci_host *h = pci_host_new(s->m.pio, s->m.mmio, LAYOUT_ECAM_BASE, &w,
					  s->m.irqchip, NULL);
	pci_host_attach(h, &f->b.pci, 1, 0);
	pci_host_attach(h, &f->c.pci, 2, 0);
	assert_int_equal(pci_host_assign_resources(h), -ENOSPC);
	pci_host_free(h);
	/* I/O exhausted too. */
	h = pci_host_new(s->m.pio, s->m.mmio, LAYOUT_ECAM_BASE, &w, s->m.irqchip, NULL);
	struct tdev *t = calloc(2, sizeof(*t));
	tdev_init(&t[0], 1, true, false);
	tdev_init(&t[1], 2, true, false);
	pci_dev_reset(&t[0].pci);
	pci_host_attach(h, &t[0].pci, 1, 0);
	pci_host_attach(h, &t[1].pci, 2, 0);
	assert_int_equal(pci_host_assign_resources(h), -ENOSPC);
	pci_host_free(h);
	free(t);
	/* Default windows; and two hosts cannot claim one machine's ports. */
	h = pci_host_new(s->m.pio, s->m.mmio, LAYOUT_ECAM_BASE, NULL, s->m.irqchip, NULL);
	assert_non_null(h);
	assert_null(pci_host_new(s->m.pio, NULL, LAYOUT_ECAM_BASE, NULL, NULL, NULL));
	assert_null(pci_host_new(NULL, s->m.mmio, LAYOUT_ECAM_BASE, NULL, NULL, NULL));
	pci_host_free(h);
	pci_host_free(NULL);
	sim_free(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_host_bridge_identity),
		T(test_ecam_and_cf8_agree),
		T(test_absent_reads_all_ones),
		T(test_cf8_register),
		T(test_attach_rules_and_multifunction),
		T(test_bar_mapping_follows_guest),
		T(test_overlapping_bars),
		T(test_shared_intx),
		T(test_assign_resources),
		T(test_assign_exhausted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
