/* PCI type 0 config space (PCI Local Bus 3.0 §6.1-§6.2, §6.7): header
 * fields, BAR sizing for 32-bit, 64-bit and I/O BARs, command/status
 * masks, capability list, INTx pin/line/disable, every width at every
 * offset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "devices/pci/pci.h"

struct rec_chip {
	struct irq_chip chip;
	int level[64];
};

static void rec_set_level(void *opaque, unsigned gsi, int level)
{
	struct rec_chip *r = opaque;
	r->level[gsi % 64] = level;
}

static int rec_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
	return 0;
}

static const struct irq_chip_ops rec_ops = { rec_set_level, rec_msi };

static int bar_fn(void *dev, uint64_t off, void *data, unsigned len, bool w)
{
	(void)dev, (void)off, (void)data, (void)len, (void)w;
	return 0;
}

struct fix {
	struct pci_dev d;
	struct rec_chip rc;
};

static const struct pci_dev_info info = {
	.vendor_id = 0x1234, .device_id = 0x5678,
	.subsys_vendor_id = 0xabcd, .subsys_id = 0xef01,
	.class_code = 0x020000, .revision = 3, .irq_pin = 2,
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	pci_dev_init(&f->d, &info, "t", NULL);
	f->rc.chip = (struct irq_chip){ &rec_ops, &f->rc };
	f->d.intx = irq_line(&f->rc.chip, 17);
	assert_int_equal(pci_dev_set_bar(&f->d, 0, PCI_BAR_MEM32, 0x1000, false,
					 bar_fn, f, "m32"), 0);
	assert_int_equal(pci_dev_set_bar(&f->d, 2, PCI_BAR_MEM64, 0x100000, true,
					 bar_fn, f, "m64"), 0);
	assert_int_equal(pci_dev_set_bar(&f->d, 4, PCI_BAR_IO, 0x20, false,
					 bar_fn, f, "io"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void test_header(void **state)
{
	struct pci_dev *d = &((struct fix *)*state)->d;
	assert_int_equal(pci_cfg_read(d, PCI_VENDOR_ID, 2), 0x1234);
	assert_int_equal(pci_cfg_read(d, PCI_DEVICE_ID, 2), 0x5678);
	assert_int_equal(pci_cfg_read(d, PCI_VENDOR_ID, 4), 0x56781234);
	assert_int_equal(pci_cfg_read(d, PCI_CLASS_REVISION, 4), 0x02000003);
	assert_int_equal(pci_cfg_read(d, PCI_SUBSYSTEM_VENDOR_ID, 2), 0xabcd);
	assert_int_equal(pci_cfg_read(d, PCI_SUBSYSTEM_ID, 2), 0xef01);
	assert_int_equal(pci_cfg_read(d, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(pci_cfg_read(d, PCI_INTERRUPT_PIN, 1), 2);
	/* Identity is read-only. */
	pci_cfg_write(d, PCI_VENDOR_ID, 4, 0);
	pci_cfg_write(d, PCI_CLASS_REVISION, 4, 0);
	pci_cfg_write(d, PCI_INTERRUPT_PIN, 1, 1);
	pci_cfg_write(d, PCI_HEADER_TYPE, 1, 0x80);
	assert_int_equal(pci_cfg_read(d, PCI_VENDOR_ID, 4), 0x56781234);
	assert_int_equal(pci_cfg_read(d, PCI_CLASS_REVISION, 4), 0x02000003);
	assert_int_equal(pci_cfg_read(d, PCI_INTERRUPT_PIN, 1), 2);
	assert_int_equal(pci_cfg_read(d, PCI_HEADER_TYPE, 1), 0);
	/* Firmware/OS scratch registers are writable. */
	pci_cfg_write(d, PCI_INTERRUPT_LINE, 1, 11);
	pci_cfg_write(d, PCI_CACHE_LINE_SIZE, 1, 16);
	assert_int_equal(pci_cfg_read(d, PCI_INTERRUPT_LINE, 1), 11);
	assert_int_equal(pci_cfg_read(d, PCI_CACHE_LINE_SIZE, 1), 16);
	/* Multifunction bit from the info; pin beyond INTD is none. */
	struct pci_dev_info mf = info;
	mf.multifunction = true;
	mf.irq_pin = 9;
	struct pci_dev *d2 = calloc(1, sizeof(*d2));
	pci_dev_init(d2, &mf, NULL, NULL);
	assert_int_equal(pci_cfg_read(d2, PCI_HEADER_TYPE, 1), 0x80);
	assert_int_equal(pci_cfg_read(d2, PCI_INTERRUPT_PIN, 1), 0);
	free(d2);
}

static uint32_t size_bar(struct pci_dev *d, uint32_t reg)
{
	uint32_t old = pci_cfg_read(d, reg, 4);
	pci_cfg_write(d, reg, 4, 0xffffffff);
	uint32_t v = pci_cfg_read(d, reg, 4);
	pci_cfg_write(d, reg, 4, old);
	return v;
}

static void test_bar_sizing(void **state)
{
	struct pci_dev *d = &((struct fix *)*state)->d;
	/* 32-bit memory, 4 KiB. */
	assert_int_equal(size_bar(d, PCI_BASE_ADDRESS_0), 0xfffff000);
	/* 64-bit prefetchable, 1 MiB: low dword has type 64 + prefetch bits,
	 * the high dword is all writable. */
	assert_int_equal(size_bar(d, PCI_BASE_ADDRESS_2), 0xfff00000 | 0x4 | 0x8);
	assert_int_equal(size_bar(d, PCI_BASE_ADDRESS_3), 0xffffffff);
	/* I/O, 32 bytes. */
	assert_int_equal(size_bar(d, PCI_BASE_ADDRESS_4), 0xffffffe0 | 1);
	/* Unused BARs read 0 even after all-ones. */
	assert_int_equal(size_bar(d, PCI_BASE_ADDRESS_1), 0);
	assert_int_equal(size_bar(d, PCI_BASE_ADDRESS_5), 0);
	assert_int_equal(size_bar(d, PCI_ROM_ADDRESS), 0);
	/* Programming: flag bits stay, low address bits are dropped. */
	pci_cfg_write(d, PCI_BASE_ADDRESS_0, 4, 0xc0001fff);
	assert_int_equal(pci_cfg_read(d, PCI_BASE_ADDRESS_0, 4), 0xc0001000);
	assert_true(pci_bar_addr(d, 0) == 0xc0001000);
	pci_cfg_write(d, PCI_BASE_ADDRESS_2, 4, 0x00100000);
	pci_cfg_write(d, PCI_BASE_ADDRESS_3, 4, 0x2);
	assert_true(pci_bar_addr(d, 2) == 0x200100000ull);
	pci_cfg_write(d, PCI_BASE_ADDRESS_4, 4, 0x6043);
	assert_true(pci_bar_addr(d, 4) == 0x6040);
	assert_true(pci_bar_addr(d, 1) == 0);
	assert_true(pci_bar_addr(d, 9) == 0);
	/* Byte-wise BAR writes work too (some OSes do that). */
	pci_cfg_write(d, PCI_BASE_ADDRESS_0 + 3, 1, 0xd0);
	assert_true(pci_bar_addr(d, 0) == 0xd0001000);
}

static void test_bar_declaration_errors(void **state)
{
	struct pci_dev *d = &((struct fix *)*state)->d;
	assert_int_equal(pci_dev_set_bar(d, 6, PCI_BAR_MEM32, 0x1000, false, bar_fn, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 1, PCI_BAR_MEM32, 0x1000, false, NULL, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 1, PCI_BAR_NONE, 0x1000, false, bar_fn, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 1, PCI_BAR_MEM32, 0x1800, false, bar_fn, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 1, PCI_BAR_MEM32, 8, false, bar_fn, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 1, PCI_BAR_MEM32, 0, false, bar_fn, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 0, PCI_BAR_MEM32, 0x1000, false, bar_fn, d, NULL), -EINVAL);
	/* BAR 3 is the upper half of the 64-bit BAR 2. */
	assert_int_equal(pci_dev_set_bar(d, 3, PCI_BAR_MEM32, 0x1000, false, bar_fn, d, NULL), -EINVAL);
	/* 64-bit BAR in the last slot, or over a used one. */
	assert_int_equal(pci_dev_set_bar(d, 5, PCI_BAR_MEM64, 0x1000, false, bar_fn, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 1, PCI_BAR_MEM64, 0x1000, false, bar_fn, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 5, PCI_BAR_IO, 0x20000, false, bar_fn, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 5, PCI_BAR_IO, 2, false, bar_fn, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 5, 77, 0x1000, false, bar_fn, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 5, PCI_BAR_MEM32, 1ull << 32, false, bar_fn, d, NULL), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 5, PCI_BAR_MEM32, 16, false, bar_fn, d, NULL), 0);
	/* A 64-bit BAR larger than 4 GiB: low dword has no writable bits. */
	struct pci_dev *d2 = calloc(1, sizeof(*d2));
	pci_dev_init(d2, &info, "big", NULL);
	assert_int_equal(pci_dev_set_bar(d2, 0, PCI_BAR_MEM64, 1ull << 33, false, bar_fn, d2, NULL), 0);
	assert_int_equal(size_bar(d2, PCI_BASE_ADDRESS_0), 0x4);
	assert_int_equal(size_bar(d2, PCI_BASE_ADDRESS_1), 0xfffffffe);
	free(d2);
}

static void test_command_status(void **state)
{
	struct pci_dev *d = &((struct fix *)*state)->d;
	pci_cfg_write(d, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(pci_cfg_read(d, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	assert_true(pci_mem_enabled(d) && pci_io_enabled(d) && pci_bus_master(d));
	pci_cfg_write(d, PCI_COMMAND, 2, 0);
	assert_false(pci_mem_enabled(d) || pci_io_enabled(d) || pci_bus_master(d));
	/* Status: error bits are write-1-to-clear, the rest read-only. */
	pci_cfg_set16(d, PCI_STATUS, PCI_STATUS_SIG_SYSTEM_ERROR |
				     PCI_STATUS_DETECTED_PARITY | PCI_STATUS_66MHZ);
	pci_cfg_write(d, PCI_STATUS, 2, PCI_STATUS_SIG_SYSTEM_ERROR);
	assert_int_equal(pci_cfg_read(d, PCI_STATUS, 2),
			 PCI_STATUS_DETECTED_PARITY | PCI_STATUS_66MHZ);
	pci_cfg_write(d, PCI_STATUS, 2, 0xffff);
	assert_int_equal(pci_cfg_read(d, PCI_STATUS, 2), PCI_STATUS_66MHZ);
}

static void test_capability_list(void **state)
{
	struct pci_dev *d = &((struct fix *)*state)->d;
	assert_false(pci_cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	int a = pci_dev_add_cap(d, PCI_CAP_ID_VNDR, 6);
	int b = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, 12);
	assert_int_equal(a, 0x40);
	assert_int_equal(b, 0x48);  /* dword aligned after 0x46 */
	assert_true(pci_cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(pci_cfg_read(d, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(pci_cfg_read(d, 0x40, 2), (0x48 << 8) | PCI_CAP_ID_VNDR);
	assert_int_equal(pci_cfg_read(d, 0x48, 2), PCI_CAP_ID_MSIX);
	/* The list is read-only to the guest. */
	pci_cfg_write(d, PCI_CAPABILITY_LIST, 1, 0x80);
	pci_cfg_write(d, 0x41, 1, 0x40);
	assert_int_equal(pci_cfg_read(d, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(pci_cfg_read(d, 0x41, 1), 0x48);
	/* Full: the rest of the 256-byte space cannot hold 200 bytes. */
	assert_int_equal(pci_dev_add_cap(d, PCI_CAP_ID_VNDR, 200), -ENOSPC);
	assert_int_equal(pci_dev_add_cap(d, PCI_CAP_ID_VNDR, 1), -ENOSPC);
	while (pci_dev_add_cap(d, PCI_CAP_ID_VNDR, 16) > 0)
		;
	assert_true(d->cap_end <= PCI_CFG_LEGACY_SIZE);
	/* Filling config space to exactly 256 bytes must not wrap the
	 * free-space cursor back into the header. */
	struct pci_dev *d2 = calloc(1, sizeof(*d2));
	pci_dev_init(d2, &info, "full", NULL);
	assert_int_equal(pci_dev_add_cap(d2, PCI_CAP_ID_VNDR, 0xc0), 0x40);
	assert_int_equal(pci_dev_add_cap(d2, PCI_CAP_ID_VNDR, 4), -ENOSPC);
	assert_int_equal(pci_cfg_read(d2, PCI_VENDOR_ID, 2), 0x1234);
	free(d2);
}

/* Every width at every offset: aligned-within-a-dword accesses return the
 * bytes; anything crossing a dword, of width 3 or 8, or past 4 KiB reads
 * all-ones. */
static void test_every_width_every_offset(void **state)
{
	struct pci_dev *d = &((struct fix *)*state)->d;
	pci_dev_add_cap(d, PCI_CAP_ID_VNDR, 8);
	for (uint32_t off = 0; off < PCI_CFG_SIZE + 8; off++)
		for (unsigned len = 0; len <= 8; len++) {
			uint32_t v = pci_cfg_read(d, off, len);
			bool ok = (len == 1 || len == 2 || len == 4) &&
				  (off & 3) + len <= 4 && off < PCI_CFG_SIZE;
			uint32_t want = len >= 4 || len == 0 ? 0xffffffffu
							     : (1u << (8 * len)) - 1;
			if (ok) {
				want = 0;
				for (unsigned i = 0; i < len; i++)
					want |= (uint32_t)d->cfg[off + i] << (8 * i);
			}
			assert_int_equal(v, want);
		}
	/* Extended config space of a conventional function reads 0. */
	assert_int_equal(pci_cfg_read(d, 0x100, 4), 0);
	assert_int_equal(pci_cfg_read(d, 0xffc, 4), 0);
	/* Bad writes are dropped whole. */
	uint8_t before[PCI_CFG_SIZE];
	memcpy(before, d->cfg, sizeof(before));
	pci_cfg_write(d, PCI_COMMAND + 3, 2, 0xffff);
	pci_cfg_write(d, PCI_COMMAND, 3, 0xffffff);
	pci_cfg_write(d, PCI_COMMAND, 8, 0xffffffff);
	pci_cfg_write(d, PCI_CFG_SIZE, 1, 0xff);
	pci_cfg_write(d, 0xffffffff, 4, 0xff);
	pci_cfg_write(d, 0x100, 4, 0xffffffff);
	assert_memory_equal(before, d->cfg, sizeof(before));
	/* Host-side accessors tolerate out-of-range offsets. */
	pci_cfg_set8(d, PCI_CFG_SIZE, 1);
	assert_int_equal(pci_cfg_get8(d, PCI_CFG_SIZE), 0);
}

static void test_intx(void **state)
{
	struct fix *f = *state;
	struct pci_dev *d = &f->d;
	pci_set_irq(d, 1);
	assert_int_equal(f->rc.level[17], 1);
	assert_true(pci_cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Interrupt Disable drops the line, status still shows the pin. */
	pci_cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(f->rc.level[17], 0);
	assert_true(pci_cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_cfg_write(d, PCI_COMMAND, 2, 0);
	assert_int_equal(f->rc.level[17], 1);
	pci_set_irq(d, 0);
	assert_int_equal(f->rc.level[17], 0);
	assert_false(pci_cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Status interrupt bit is read-only to the guest. */
	pci_cfg_write(d, PCI_STATUS, 2, PCI_STATUS_INTERRUPT);
	assert_false(pci_cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
}

static void test_reset(void **state)
{
	struct fix *f = *state;
	struct pci_dev *d = &f->d;
	pci_cfg_write(d, PCI_BASE_ADDRESS_0, 4, 0xc0000000);
	pci_cfg_write(d, PCI_BASE_ADDRESS_4, 4, 0x6000);
	pci_cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	pci_cfg_write(d, PCI_INTERRUPT_LINE, 1, 10);
	pci_set_irq(d, 1);
	pci_dev_reset(d);
	assert_int_equal(pci_cfg_read(d, PCI_COMMAND, 2), 0);
	assert_int_equal(pci_cfg_read(d, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(pci_cfg_read(d, PCI_BASE_ADDRESS_2, 4), 0xc);
	assert_int_equal(pci_cfg_read(d, PCI_BASE_ADDRESS_4, 4), 1);
	assert_int_equal(f->rc.level[17], 0);
	assert_int_equal(pci_cfg_read(d, PCI_INTERRUPT_LINE, 1), 10);
	assert_int_equal(pci_cfg_read(d, PCI_VENDOR_ID, 2), 0x1234);
}

struct hook_rec {
	unsigned written, before;
	uint32_t off;
	unsigned len;
};

static void hook_written(struct pci_dev *d, uint32_t off, unsigned len)
{
	struct hook_rec *h = d->opaque;
	h->written++;
	h->off = off;
	h->len = len;
}

static void hook_before(struct pci_dev *d, uint32_t off, unsigned len)
{
	struct hook_rec *h = d->opaque;
	h->before++;
	d->cfg[0x50] = (uint8_t)(off + len);
}

static void test_device_hooks(void **state)
{
	struct pci_dev *d = &((struct fix *)*state)->d;
	static const struct pci_dev_ops ops = { .cfg_written = hook_written, .cfg_before_read = hook_before };
	struct hook_rec h = { 0 };
	d->ops = &ops;
	d->opaque = &h;
	pci_cfg_write(d, PCI_INTERRUPT_LINE, 1, 5);
	assert_int_equal(h.written, 1);
	assert_int_equal(h.off, PCI_INTERRUPT_LINE);
	assert_int_equal(pci_cfg_read(d, 0x50, 1), 0x51);
	assert_int_equal(h.before, 1);
	/* Rejected accesses never reach the device. */
	pci_cfg_write(d, 0x3f, 2, 5);
	(void)pci_cfg_read(d, 0x3f, 2);
	assert_int_equal(h.written, 1);
	assert_int_equal(h.before, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_header),
		T(test_bar_sizing),
		T(test_bar_declaration_errors),
		T(test_command_status),
		T(test_capability_list),
		T(test_every_width_every_offset),
		T(test_intx),
		T(test_reset),
		T(test_device_hooks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
