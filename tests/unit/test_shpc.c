/* The Standard Hot-Plug Controller of a pci-bridge (devices/pci/shpc.h)
 * driven through ECAM and its BAR the way Linux's shpchp drives it: the
 * capability and its DWORD Select/Data window, the working register set
 * in BAR 0, hot-add (Presence, MRL and Attention Button latched, the
 * interrupt only when unmasked), the Slot Operation commands and Command
 * Detected, hot-remove as a request (the device stays until the guest
 * disables the slot with its Power Indicator off), invalid commands, and
 * a guest that never answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/layout.h"
#include "devices/pci/shpc.h"
#include "sim/sim.h"
#include "pci_fixture.h"

#define BR_SLOT 4u
#define BR_DEVFN PCI_DEVFN(BR_SLOT, 0)
#define SEC_BUS 1u

struct fix {
	struct sim *s;
	struct pci_host *h;
	struct shpc *sh;
	struct pci_dev child, child2;
	unsigned cap, gsi;
	uint64_t bar;
	int removed;
	unsigned removed_slot;
	struct pci_dev *removed_dev;
};

static void on_removed(void *opaque, struct shpc *s, unsigned slot, struct pci_dev *dev)
{
	struct fix *f = opaque;
	(void)s;
	f->removed++;
	f->removed_slot = slot;
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
	f->sh = shpc_new(3, "br0", NULL);
	*state = f;
	if (!f->h || !f->sh)
		return -1;
	shpc_set_removed(f->sh, on_removed, f);
	f->cap = shpc_cap_off(f->sh);
	struct pci_dev_info info = { .vendor_id = 0x1af4, .device_id = 0x1042,
				     .class_code = 0x010000, .irq_pin = 1 };
	pci_dev_init(&f->child, &info, "blk", NULL);
	pci_dev_init(&f->child2, &info, "blk2", NULL);
	int r = pci_host_attach(f->h, pci_bridge_dev(shpc_bridge(f->sh)), BR_SLOT, 0);
	pci_bridge_set_buses(shpc_bridge(f->sh), 0, SEC_BUS, SEC_BUS);
	/* Firmware: BAR 0 assigned, memory decode on. */
	if (r == 0)
		r = pci_host_assign_resources(f->h);
	f->bar = pci_bar_addr(pci_bridge_dev(shpc_bridge(f->sh)), 0);
	f->gsi = pci_host_intx_gsi(BR_SLOT, 1);
	return r;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	shpc_free(f->sh);
	pci_host_free(f->h);
	sim_free(f->s);
	free(f);
	return 0;
}

static uint32_t rd(struct fix *f, uint32_t off, unsigned len)
{
	return (uint32_t)sim_mmio_read(f->s, pcifx_ecam(0, BR_DEVFN, off), len);
}

static void wr(struct fix *f, uint32_t off, unsigned len, uint32_t v)
{
	sim_mmio_write(f->s, pcifx_ecam(0, BR_DEVFN, off), len, v);
}

/* shpchp's shpc_readl/writel: through BAR 0. */
static uint32_t mr(struct fix *f, unsigned off, unsigned len)
{
	return (uint32_t)sim_mmio_read(f->s, f->bar + off, len);
}

static void mw(struct fix *f, unsigned off, unsigned len, uint32_t v)
{
	sim_mmio_write(f->s, f->bar + off, len, v);
}

/* The indirect path (shpc_indirect_read): DWORD Select, then Data. */
static uint32_t ind_rd(struct fix *f, unsigned dword)
{
	wr(f, f->cap + SHPC_CAP_SELECT, 1, dword);
	return rd(f, f->cap + SHPC_CAP_DATA, 4);
}

static uint16_t slot_sts(struct fix *f, unsigned slot)
{
	return (uint16_t)mr(f, SHPC_SLOT(slot - 1), 2);
}

static uint8_t slot_ev(struct fix *f, unsigned slot)
{
	return (uint8_t)mr(f, SHPC_SLOT(slot - 1) + SHPC_SLOT_EVENTS, 1);
}

static uint32_t child_id(struct fix *f, unsigned slot)
{
	return (uint32_t)sim_mmio_read(f->s, pcifx_ecam(SEC_BUS, PCI_DEVFN(slot, 0), 0), 4);
}

/* A command as shpchp writes it (one 16-bit write of code and target),
 * then Command Detected acknowledged; returns Command Status. */
static uint16_t cmd(struct fix *f, unsigned slot, uint8_t code)
{
	mw(f, SHPC_CMD, 2, (uint32_t)slot << 8 | code);
	assert_true(mr(f, SHPC_SERR_INT, 4) & SHPC_SERRINT_CMD_DETECTED);
	uint16_t st = (uint16_t)mr(f, SHPC_CMD_STATUS, 2);
	mw(f, SHPC_SERR_INT, 4, (mr(f, SHPC_SERR_INT, 4) & 0xffff) | SHPC_SERRINT_CMD_DETECTED);
	return st;
}

#define OP(state, pwr, attn) ((uint8_t)((state) | (pwr) << 2 | (attn) << 4))

/* shpchp's init: interrupts on for the slot events it handles and for
 * command completion. */
static void driver_init(struct fix *f)
{
	for (unsigned i = 0; i < SHPC_NSLOTS; i++)
		mw(f, SHPC_SLOT(i) + SHPC_SLOT_MASK, 1,
		   SHPC_EV_MRL_SERR_MASK | SHPC_EV_CONN_FAULT_SERR_MASK);
	mw(f, SHPC_SERR_INT, 4, SHPC_SERRINT_SERR_MASK | SHPC_SERRINT_ARB_SERR_MASK);
}

static void test_capability_and_registers(void **state)
{
	struct fix *f = *state;
	assert_int_equal(rd(f, PCI_VENDOR_ID, 4), 0x00011b36u);
	bool found = false;
	for (unsigned off = rd(f, PCI_CAPABILITY_LIST, 1), n = 0; off && n < 48; n++) {
		found |= rd(f, off, 1) == PCI_CAP_ID_SHPC && off == f->cap;
		off = rd(f, off + 1, 1);
	}
	assert_true(found);
	assert_int_equal(rd(f, PCI_INTERRUPT_PIN, 1), 1);
	/* BAR 0: 256 bytes of memory, assigned. */
	assert_true(f->bar >= LAYOUT_PCI_MMIO32_BASE);
	wr(f, PCI_BASE_ADDRESS_0, 4, 0xffffffffu);
	assert_int_equal(rd(f, PCI_BASE_ADDRESS_0, 4), (uint32_t)~(SHPC_BAR_SIZE - 1));
	wr(f, PCI_BASE_ADDRESS_0, 4, (uint32_t)f->bar);
	/* What shpchp's shpc_init reads, both ways. */
	assert_int_equal(ind_rd(f, 0), 0);                       /* Base Offset */
	uint32_t sc = ind_rd(f, SHPC_SLOT_CONFIG / 4);
	assert_int_equal(sc & 0x1f, SHPC_NSLOTS);                  /* slots */
	assert_int_equal((sc >> 8) & 0x1f, 1);                     /* first device */
	assert_int_equal((sc >> 16) & 0x7ff, 1);                   /* PSN */
	assert_true(sc & (1u << 29));                              /* PSN up */
	assert_true(sc & (1u << 30));                              /* MRL sensor */
	assert_true(sc & (1u << 31));                              /* button */
	assert_int_equal(mr(f, SHPC_SLOT_CONFIG, 4), sc);
	assert_int_equal(mr(f, SHPC_SLOTS_AVAIL1, 4) & 0x1f, SHPC_NSLOTS);
	assert_int_equal(mr(f, SHPC_PROG_IFC, 1), 1);
	assert_int_equal(mr(f, SHPC_SEC_BUS, 2) & 7, 0);           /* 33 MHz */
	/* Everything masked at reset; an empty slot is disabled, dark, MRL
	 * open, empty. */
	assert_int_equal(mr(f, SHPC_SERR_INT, 4) & 0xf, 0xf);
	uint16_t st = slot_sts(f, 5);
	assert_int_equal(st & SHPC_STATE_MASK, SHPC_STATE_DISABLED);
	assert_int_equal((st >> SHPC_PWR_LED_SHIFT) & 3, SHPC_LED_OFF);
	assert_int_equal((st >> SHPC_ATTN_LED_SHIFT) & 3, SHPC_LED_OFF);
	assert_true(st & SHPC_STS_MRL_OPEN);
	assert_int_equal(st & SHPC_STS_PRSNT_MASK, SHPC_STS_PRSNT_EMPTY);
	/* Writes through the Data window land in the register set; read-only
	 * registers do not move; a select past the end reads 0. */
	wr(f, f->cap + SHPC_CAP_SELECT, 1, SHPC_SERR_INT / 4);
	wr(f, f->cap + SHPC_CAP_DATA, 4, 0);
	assert_int_equal(mr(f, SHPC_SERR_INT, 4) & 0xf, 0);
	wr(f, f->cap + SHPC_CAP_SELECT, 1, SHPC_SLOT_CONFIG / 4);
	wr(f, f->cap + SHPC_CAP_DATA, 4, 0);
	assert_int_equal(mr(f, SHPC_SLOT_CONFIG, 4), sc);
	assert_int_equal(ind_rd(f, 0xff), 0);
	assert_int_equal(mr(f, SHPC_BAR_SIZE - 4, 4), 0);
}

static void test_hot_add_enable_remove(void **state)
{
	struct fix *f = *state;
	driver_init(f);
	assert_int_equal(f->s->gsi_level[f->gsi], 0);
	assert_int_equal(shpc_plug(f->sh, &f->child, 0, true), -EINVAL);
	assert_int_equal(shpc_plug(f->sh, &f->child, 32, true), -EINVAL);
	assert_int_equal(shpc_plug(f->sh, &f->child, 5, true), 0);
	assert_int_equal(shpc_plug(f->sh, &f->child2, 5, true), -EBUSY);
	/* Presence, MRL and the button latched; slot 5 in the locator; the
	 * controller's INTx up. */
	uint16_t st = slot_sts(f, 5);
	assert_false(st & SHPC_STS_MRL_OPEN);
	assert_int_equal(st & SHPC_STS_PRSNT_MASK, 0);
	assert_int_equal(st & SHPC_STATE_MASK, SHPC_STATE_DISABLED);
	assert_int_equal(slot_ev(f, 5), SHPC_EV_PRESENCE | SHPC_EV_MRL | SHPC_EV_BUTTON);
	assert_int_equal(mr(f, SHPC_INT_LOCATOR, 4), 1u << 5);
	assert_int_equal(f->s->gsi_level[f->gsi], 1);
	/* The latches are RW1C; the line follows. */
	mw(f, SHPC_SLOT(4) + SHPC_SLOT_EVENTS, 1, 0xff);
	assert_int_equal(slot_ev(f, 5), 0);
	assert_int_equal(mr(f, SHPC_INT_LOCATOR, 4), 0);
	assert_int_equal(f->s->gsi_level[f->gsi], 0);
	/* shpchp's board_added: power indicator blinking, enable, indicator
	 * on.  Each command completes at once with its interrupt. */
	mw(f, SHPC_CMD, 2, 5u << 8 | OP(0, SHPC_LED_BLINK, 0));
	assert_int_equal(mr(f, SHPC_INT_LOCATOR, 4), SHPC_INT_CMD);
	assert_int_equal(f->s->gsi_level[f->gsi], 1);
	mw(f, SHPC_SERR_INT, 4, SHPC_SERRINT_CMD_DETECTED | SHPC_SERRINT_SERR_MASK |
	   SHPC_SERRINT_ARB_SERR_MASK);
	assert_int_equal(f->s->gsi_level[f->gsi], 0);
	assert_int_equal(cmd(f, 5, OP(SHPC_STATE_ENABLED, 0, 0)), 0);
	assert_int_equal(cmd(f, 5, OP(0, SHPC_LED_ON, 0)), 0);
	st = slot_sts(f, 5);
	assert_int_equal(st & SHPC_STATE_MASK, SHPC_STATE_ENABLED);
	assert_int_equal((st >> SHPC_PWR_LED_SHIFT) & 3, SHPC_LED_ON);
	assert_int_equal(child_id(f, 5), 0x10421af4u);
	/* Enabled -> power-only is refused (§4.3.1). */
	assert_int_equal(cmd(f, 5, OP(SHPC_STATE_PWRONLY, 0, 0)), SHPC_CMDSTA_INVALID_CMD);

	/* device_del: the button; the device stays until the guest acts. */
	assert_int_equal(shpc_request_unplug(f->sh, 6), -ENODEV);
	assert_int_equal(shpc_request_unplug(f->sh, 5), 0);
	assert_true(shpc_unplug_pending(f->sh, 5));
	assert_true(slot_ev(f, 5) & SHPC_EV_BUTTON);
	assert_int_equal(f->s->gsi_level[f->gsi], 1);
	mw(f, SHPC_SLOT(4) + SHPC_SLOT_EVENTS, 1, SHPC_EV_BUTTON);
	assert_int_equal(f->s->gsi_level[f->gsi], 0);
	/* shpchp's remove_board: disable with the indicator still on does
	 * not release (QEMU looks at the indicator too) ... */
	assert_int_equal(cmd(f, 5, OP(0, SHPC_LED_BLINK, 0)), 0);
	assert_int_equal(shpc_request_unplug(f->sh, 5), -EBUSY);
	assert_int_equal(cmd(f, 5, OP(0, SHPC_LED_ON, 0)), 0);
	assert_int_equal(cmd(f, 5, OP(SHPC_STATE_DISABLED, 0, 0)), 0);
	assert_int_equal(f->removed, 0);
	assert_int_equal(child_id(f, 5), 0x10421af4u);
	/* ... disable with it off does. */
	assert_int_equal(cmd(f, 5, OP(SHPC_STATE_ENABLED, SHPC_LED_ON, 0)), 0);
	assert_int_equal(cmd(f, 5, OP(SHPC_STATE_DISABLED, SHPC_LED_OFF, 0)), 0);
	assert_int_equal(f->removed, 1);
	assert_int_equal(f->removed_slot, 5);
	assert_ptr_equal(f->removed_dev, &f->child);
	assert_null(shpc_child(f->sh, 5));
	assert_false(shpc_unplug_pending(f->sh, 5));
	assert_int_equal(child_id(f, 5), 0xffffffffu);
	st = slot_sts(f, 5);
	assert_true(st & SHPC_STS_MRL_OPEN);
	assert_int_equal(st & SHPC_STS_PRSNT_MASK, SHPC_STS_PRSNT_EMPTY);
	assert_int_equal(slot_ev(f, 5), SHPC_EV_MRL | SHPC_EV_PRESENCE);
	assert_int_equal(f->s->gsi_level[f->gsi], 1);
	/* Powering an empty slot (MRL open) is refused. */
	assert_int_equal(cmd(f, 5, OP(SHPC_STATE_ENABLED, 0, 0)), SHPC_CMDSTA_MRL_OPEN);
}

static void test_commands(void **state)
{
	struct fix *f = *state;
	assert_int_equal(cmd(f, 0, OP(SHPC_STATE_ENABLED, 0, 0)), SHPC_CMDSTA_INVALID_CMD);
	/* The target field is 5 bits: 0x3f reads as 31, a valid slot. */
	assert_int_equal(cmd(f, 31, OP(0, 0, SHPC_LED_BLINK)), 0);
	assert_int_equal((slot_sts(f, 31) >> SHPC_ATTN_LED_SHIFT) & 3, SHPC_LED_BLINK);
	/* Set Bus Segment Speed/Mode: 33 MHz conventional only. */
	assert_int_equal(cmd(f, 0, 0x40), 0);
	assert_int_equal(cmd(f, 0, 0x41), SHPC_CMDSTA_INVALID_MODE);
	assert_int_equal(cmd(f, 0, 0x50), SHPC_CMDSTA_INVALID_CMD);
	/* Enable All Slots: the occupied one comes up, empty ones stay. */
	assert_int_equal(shpc_plug(f->sh, &f->child, 2, true), 0);
	assert_int_equal(cmd(f, 0, 0x49), 0);
	assert_int_equal(slot_sts(f, 2) & SHPC_STATE_MASK, SHPC_STATE_ENABLED);
	assert_int_equal(slot_sts(f, 3) & SHPC_STATE_MASK, SHPC_STATE_DISABLED);
	assert_int_equal(cmd(f, 0, 0x48), SHPC_CMDSTA_INVALID_CMD);
	/* Command interrupt masked (reset state): no line. */
	mw(f, SHPC_SLOT(1) + SHPC_SLOT_EVENTS, 1, 0xff);
	mw(f, SHPC_CMD, 2, 0x40);
	assert_int_equal(f->s->gsi_level[f->gsi], 0);
}

/* A slot the guest never enabled goes at once on request (QEMU 7.2's
 * SHPC too); a guest that never answers a request on an enabled one
 * keeps it. */
static void test_unplug_unanswered(void **state)
{
	struct fix *f = *state;
	driver_init(f);
	assert_int_equal(shpc_plug(f->sh, &f->child, 7, true), 0);
	assert_int_equal(shpc_request_unplug(f->sh, 7), 1);
	assert_int_equal(f->removed, 1);
	assert_int_equal(f->removed_slot, 7);
	assert_int_equal(child_id(f, 7), 0xffffffffu);
	assert_int_equal(slot_ev(f, 7) & (SHPC_EV_PRESENCE | SHPC_EV_MRL),
			 SHPC_EV_PRESENCE | SHPC_EV_MRL);
	/* Cold: enabled and lit from power-on, no events. */
	assert_int_equal(shpc_plug(f->sh, &f->child2, 8, false), 0);
	assert_int_equal(slot_sts(f, 8) & SHPC_STATE_MASK, SHPC_STATE_ENABLED);
	assert_int_equal(slot_ev(f, 8), 0);
	for (int k = 0; k < 3; k++)
		assert_int_equal(shpc_request_unplug(f->sh, 8), 0);
	assert_int_equal(f->removed, 1);
	assert_int_equal(child_id(f, 8), 0x10421af4u);
	assert_true(shpc_unplug_pending(f->sh, 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability_and_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hot_add_enable_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_unanswered, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
