/* PCIe Root Port native hot-plug (devices/pci/pcie_port.h) driven
 * through ECAM the way Linux's pciehp drives it: the capability layout
 * pciehp probes, hot-add (Presence Detect Changed + DLL State Changed
 * interrupt, the function appearing on the secondary bus), hot-remove as
 * a request (Attention Button Pressed; the device stays until the guest
 * powers the slot off with the Power Indicator off), Command Completed on
 * every Slot Control write, MSI edges vs INTx level, RW1C status bits,
 * and a guest that never answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/layout.h"
#include "devices/pci/pcie_port.h"
#include "sim/sim.h"
#include "pci_fixture.h"

#define RP_SLOT 3u
#define RP_DEVFN PCI_DEVFN(RP_SLOT, 0)
#define SEC_BUS 5u

struct fix {
	struct sim *s;
	struct pci_host *h;
	struct pcie_port *p;
	struct pci_dev child;
	unsigned exp;
	int removed;
	struct pci_dev *removed_dev;
};

static void on_removed(void *opaque, struct pcie_port *p, struct pci_dev *dev)
{
	struct fix *f = opaque;
	(void)p;
	f->removed++;
	f->removed_dev = dev;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sim_config sc = { .ram_size = 32 << 20 };
	f->s = sim_new(&sc);
	struct pci_host_windows w = {
		.mmio32_base = LAYOUT_PCI_MMIO32_BASE, .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
		.io_base = LAYOUT_PCI_IO_BASE, .io_size = LAYOUT_PCI_IO_SIZE,
	};
	f->h = pci_host_new(f->s->m.pio, f->s->m.mmio, LAYOUT_ECAM_BASE, &w,
			    f->s->m.irqchip, NULL);
	f->p = pcie_port_new(1, 7, f->s->m.irqchip, "rp0", NULL);
	*state = f;
	if (!f->h || !f->p)
		return -1;
	pcie_port_set_removed(f->p, on_removed, f);
	f->exp = pcie_port_exp_off(f->p);
	struct pci_dev_info info = { .vendor_id = 0x1af4, .device_id = 0x1042,
				     .class_code = 0x010000, .irq_pin = 1 };
	pci_dev_init(&f->child, &info, "blk", NULL);
	int r = pci_host_attach(f->h, pcie_port_dev(f->p), RP_SLOT, 0);
	pci_bridge_set_buses(pcie_port_bridge(f->p), 0, SEC_BUS, SEC_BUS);
	return r;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	pcie_port_free(f->p);
	pci_host_free(f->h);
	sim_free(f->s);
	free(f);
	return 0;
}

static uint32_t rd(struct fix *f, uint32_t off, unsigned len)
{
	return (uint32_t)sim_mmio_read(f->s, pcifx_ecam(0, RP_DEVFN, off), len);
}

static void wr(struct fix *f, uint32_t off, unsigned len, uint32_t v)
{
	sim_mmio_write(f->s, pcifx_ecam(0, RP_DEVFN, off), len, v);
}

static uint16_t sltsta(struct fix *f) { return (uint16_t)rd(f, f->exp + PCI_EXP_SLTSTA, 2); }
static uint16_t sltctl(struct fix *f) { return (uint16_t)rd(f, f->exp + PCI_EXP_SLTCTL, 2); }
static void ctl_write(struct fix *f, uint16_t v) { wr(f, f->exp + PCI_EXP_SLTCTL, 2, v); }
static uint32_t child_id(struct fix *f)
{
	return (uint32_t)sim_mmio_read(f->s, pcifx_ecam(SEC_BUS, 0, 0), 4);
}

/* pciehp's probe: a Root Port with a hot-plug capable slot. */
static void test_capability_layout(void **state)
{
	struct fix *f = *state;
	assert_int_equal(rd(f, PCI_VENDOR_ID, 4), 0x000c1b36u);
	assert_int_equal(rd(f, PCI_CLASS_DEVICE, 2), 0x0604);
	assert_int_equal(rd(f, PCI_HEADER_TYPE, 1) & 0x7f, PCI_HEADER_TYPE_BRIDGE);
	/* Walk the list: PCIe and MSI capabilities are both on it. */
	bool exp = false, msi = false;
	for (unsigned off = rd(f, PCI_CAPABILITY_LIST, 1), n = 0; off && n < 48; n++) {
		unsigned id = rd(f, off, 1);
		exp |= id == PCI_CAP_ID_EXP && off == f->exp;
		msi |= id == PCI_CAP_ID_MSI;
		off = rd(f, off + 1, 1);
	}
	assert_true(exp);
	assert_true(msi);
	uint16_t flags = (uint16_t)rd(f, f->exp + PCI_EXP_FLAGS, 2);
	assert_int_equal(flags & PCI_EXP_FLAGS_VERS, 2);
	assert_int_equal((flags & PCI_EXP_FLAGS_TYPE) >> 4, PCI_EXP_TYPE_ROOT_PORT);
	assert_true(flags & PCI_EXP_FLAGS_SLOT);
	uint32_t cap = rd(f, f->exp + PCI_EXP_SLTCAP, 4);
	assert_true(cap & PCI_EXP_SLTCAP_HPC);
	assert_true(cap & PCI_EXP_SLTCAP_ABP);
	assert_true(cap & PCI_EXP_SLTCAP_PCP);
	assert_false(cap & PCI_EXP_SLTCAP_NCCS); /* command completion is reported */
	assert_int_equal(cap >> 19, 7);          /* slot=7 */
	assert_true(rd(f, f->exp + PCI_EXP_LNKCAP, 4) & PCI_EXP_LNKCAP_DLLLARC);
	/* Empty slot: no presence, link down, the secondary bus empty. */
	assert_false(sltsta(f) & PCI_EXP_SLTSTA_PDS);
	assert_false(rd(f, f->exp + PCI_EXP_LNKSTA, 2) & PCI_EXP_LNKSTA_DLLLA);
	assert_int_equal(child_id(f), 0xffffffffu);
	/* Read-only bits stay: Slot Capabilities and Presence Detect State. */
	wr(f, f->exp + PCI_EXP_SLTCAP, 4, 0);
	assert_int_equal(rd(f, f->exp + PCI_EXP_SLTCAP, 4), cap);
	wr(f, f->exp + PCI_EXP_SLTSTA, 2, 0xffff);
	assert_int_equal(sltsta(f), 0);
}

/* pciehp's init: enable the events, hot-plug interrupt on INTx. */
static void enable_events(struct fix *f)
{
	wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ctl_write(f, PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_PDCE | PCI_EXP_SLTCTL_CCIE |
		  PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_DLLSCE | PCI_EXP_SLTCTL_ATTN_IND_OFF |
		  PCI_EXP_SLTCTL_PWR_IND_OFF);
	/* Command Completed at once, with the interrupt. */
	assert_true(sltsta(f) & PCI_EXP_SLTSTA_CC);
	wr(f, f->exp + PCI_EXP_SLTSTA, 2, PCI_EXP_SLTSTA_CC); /* RW1C */
	assert_false(sltsta(f) & PCI_EXP_SLTSTA_CC);
}

static unsigned port_gsi(void) { return LAYOUT_GSI_PCI_INTX + (RP_SLOT + 0) % 4; }

static void test_hot_add_and_remove_intx(void **state)
{
	struct fix *f = *state;
	enable_events(f);
	assert_int_equal(f->s->gsi_level[port_gsi()], 0);
	/* device_add: the function appears, presence and link change. */
	assert_int_equal(pcie_port_plug(f->p, &f->child, true), 0);
	assert_int_equal(pcie_port_plug(f->p, &f->child, true), -EBUSY);
	uint16_t st = sltsta(f);
	assert_true(st & PCI_EXP_SLTSTA_PDS);
	assert_true(st & PCI_EXP_SLTSTA_PDC);
	assert_true(st & PCI_EXP_SLTSTA_DLLSC);
	assert_true(rd(f, f->exp + PCI_EXP_LNKSTA, 2) & PCI_EXP_LNKSTA_DLLLA);
	assert_int_equal(f->s->gsi_level[port_gsi()], 1);
	assert_int_equal(child_id(f), 0x10421af4u);
	/* The handler acknowledges; the level drops. */
	wr(f, f->exp + PCI_EXP_SLTSTA, 2, PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_DLLSC);
	assert_int_equal(f->s->gsi_level[port_gsi()], 0);
	/* Power indicator on (pciehp after binding): a command, no removal. */
	ctl_write(f, (sltctl(f) & ~PCI_EXP_SLTCTL_PIC) | PCI_EXP_SLTCTL_PWR_IND_ON);
	wr(f, f->exp + PCI_EXP_SLTSTA, 2, PCI_EXP_SLTSTA_CC);

	/* device_del: the button is pressed; the device stays. */
	assert_int_equal(pcie_port_request_unplug(f->p), 0);
	assert_true(sltsta(f) & PCI_EXP_SLTSTA_ABP);
	assert_int_equal(f->s->gsi_level[port_gsi()], 1);
	assert_true(pcie_port_unplug_pending(f->p));
	wr(f, f->exp + PCI_EXP_SLTSTA, 2, PCI_EXP_SLTSTA_ABP);
	/* Power indicator blinking (pciehp's 5 s window): still there. */
	ctl_write(f, (sltctl(f) & ~PCI_EXP_SLTCTL_PIC) | PCI_EXP_SLTCTL_PWR_IND_BLINK);
	assert_int_equal(f->removed, 0);
	/* Power off alone is not yet safe (QEMU waits for the indicator). */
	ctl_write(f, sltctl(f) | PCI_EXP_SLTCTL_PCC);
	assert_int_equal(f->removed, 0);
	assert_int_equal(child_id(f), 0x10421af4u);
	/* Power indicator off: the device goes, the owner is told. */
	ctl_write(f, (sltctl(f) & ~PCI_EXP_SLTCTL_PIC) | PCI_EXP_SLTCTL_PWR_IND_OFF);
	assert_int_equal(f->removed, 1);
	assert_ptr_equal(f->removed_dev, &f->child);
	assert_null(pcie_port_child(f->p));
	assert_false(pcie_port_unplug_pending(f->p));
	assert_int_equal(child_id(f), 0xffffffffu);
	st = sltsta(f);
	assert_false(st & PCI_EXP_SLTSTA_PDS);
	assert_true(st & PCI_EXP_SLTSTA_PDC);
	assert_false(rd(f, f->exp + PCI_EXP_LNKSTA, 2) & PCI_EXP_LNKSTA_DLLLA);
	/* Unplugging an empty slot is refused. */
	assert_int_equal(pcie_port_request_unplug(f->p), -ENODEV);
	/* A new device after a removal: plugged with the slot powered off,
	 * the link comes up only when the guest powers it on. */
	pci_dev_init(&f->child, &(struct pci_dev_info){ .vendor_id = 0x1af4, .device_id = 0x1041,
				 .class_code = 0x020000 }, "net", NULL);
	wr(f, f->exp + PCI_EXP_SLTSTA, 2, 0xffff);
	assert_int_equal(pcie_port_plug(f->p, &f->child, true), 0);
	assert_false(rd(f, f->exp + PCI_EXP_LNKSTA, 2) & PCI_EXP_LNKSTA_DLLLA);
	ctl_write(f, sltctl(f) & ~PCI_EXP_SLTCTL_PCC);
	assert_true(rd(f, f->exp + PCI_EXP_LNKSTA, 2) & PCI_EXP_LNKSTA_DLLLA);
	assert_true(sltsta(f) & PCI_EXP_SLTSTA_DLLSC);
	assert_int_equal(child_id(f), 0x10411af4u);
}

static void test_msi_edges(void **state)
{
	struct fix *f = *state;
	enable_events(f);
	wr(f, f->exp + PCI_EXP_SLTSTA, 2, 0xffff);
	/* Find the MSI capability and program it as Linux does. */
	unsigned msi = 0;
	for (unsigned off = rd(f, PCI_CAPABILITY_LIST, 1); off; off = rd(f, off + 1, 1))
		if (rd(f, off, 1) == PCI_CAP_ID_MSI)
			msi = off;
	assert_true(msi);
	assert_true(rd(f, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_64BIT);
	wr(f, msi + PCI_MSI_ADDRESS_LO, 4, 0xfee01000u);
	wr(f, msi + PCI_MSI_ADDRESS_HI, 4, 0);
	wr(f, msi + PCI_MSI_DATA_64, 2, 0x4041);
	wr(f, msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	uint64_t n0 = f->s->msi_count;
	assert_int_equal(pcie_port_plug(f->p, &f->child, true), 0);
	assert_int_equal(f->s->msi_count, n0 + 1);
	assert_int_equal(f->s->last_msi_addr, 0xfee01000u);
	assert_int_equal(f->s->last_msi_data, 0x4041);
	assert_int_equal(f->s->gsi_level[port_gsi()], 0); /* not INTx too */
	/* Events while one is pending are no new edge... */
	assert_int_equal(pcie_port_request_unplug(f->p), 0);
	assert_int_equal(f->s->msi_count, n0 + 1);
	/* ...until the handler clears everything and one is set again. */
	wr(f, f->exp + PCI_EXP_SLTSTA, 2, 0xffff);
	assert_int_equal(pcie_port_request_unplug(f->p), 0);
	assert_int_equal(f->s->msi_count, n0 + 2);
	/* A second press while ABP is still latched is a new message. */
	assert_int_equal(pcie_port_request_unplug(f->p), 0);
	assert_int_equal(f->s->msi_count, n0 + 3);
	/* Without Bus Master Enable the port sends nothing. */
	wr(f, f->exp + PCI_EXP_SLTSTA, 2, 0xffff);
	wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(pcie_port_request_unplug(f->p), 0);
	assert_int_equal(f->s->msi_count, n0 + 3);
}

/* A guest without pciehp (or one that ignores the button): the device
 * stays, requests repeat harmlessly, reset keeps it present. */
static void test_guest_never_answers(void **state)
{
	struct fix *f = *state;
	assert_int_equal(pcie_port_plug(f->p, &f->child, false), 0);
	/* Cold: present and powered, no event latched. */
	assert_int_equal(sltsta(f), PCI_EXP_SLTSTA_PDS);
	assert_true(rd(f, f->exp + PCI_EXP_LNKSTA, 2) & PCI_EXP_LNKSTA_DLLLA);
	for (int i = 0; i < 100; i++)
		assert_int_equal(pcie_port_request_unplug(f->p), 0);
	assert_int_equal(f->removed, 0);
	assert_ptr_equal(pcie_port_child(f->p), &f->child);
	assert_int_equal(f->s->gsi_level[port_gsi()], 0); /* HPIE off: no interrupt */
	pcie_port_reset(f->p);
	assert_int_equal(sltsta(f), PCI_EXP_SLTSTA_PDS);
	assert_false(pcie_port_unplug_pending(f->p));
	assert_int_equal(child_id(f), 0x10421af4u);
	/* All-ones over the whole capability: slot power off with the
	 * indicator off is the guest releasing the slot (as in QEMU), and
	 * every enabled event now interrupts; nothing else breaks. */
	for (unsigned off = f->exp; off < f->exp + 0x3c; off += 4)
		wr(f, off, 4, 0xffffffffu);
	assert_int_equal(f->removed, 1);
	assert_null(pcie_port_child(f->p));
	assert_int_equal(f->s->gsi_level[port_gsi()], 1);
	wr(f, f->exp + PCI_EXP_SLTSTA, 2, 0xffff);
	assert_int_equal(f->s->gsi_level[port_gsi()], 0);
}

/* Firmware-style assignment opens an empty port's windows (SeaBIOS's
 * hot-plug reservation), so a device plugged later has room. */
static void test_empty_port_windows_reserved(void **state)
{
	struct fix *f = *state;
	assert_int_equal(pci_host_assign_resources(f->h), 0);
	struct pci_bridge_windows w;
	pci_bridge_get_windows(pcie_port_bridge(f->p), &w);
	assert_true(w.io_base <= w.io_limit);
	assert_true(w.io_limit - w.io_base + 1 >= PCIE_PORT_RSV_IO);
	assert_true(w.mem_base <= w.mem_limit);
	assert_true(w.mem_limit - w.mem_base + 1 >= PCIE_PORT_RSV_MEM);
	assert_true(rd(f, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hot_add_and_remove_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_never_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_port_windows_reserved, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
