/* testguest.action=shpc: the guest side of SHPC hot-plug on a pci-bridge
 * (PCI Standard Hot-Plug Controller 1.0), in the order Linux's shpchp
 * does it, with the controller interrupt polled where shpchp takes it:
 * the bridge's INTx shows in its Status register (PCI 3.0 §6.2.3,
 * Interrupt Status), then the Interrupt Locator says which slot.
 *   - find the pci-bridge on bus 0 with the SHPC capability (0x0C), read
 *     the Base Offset and Slot Configuration through the DWORD Select /
 *     Data window, map the register set at BAR 0 + Base Offset, unmask
 *     the slot events and the command interrupt; "shpc waiting on 00:DD
 *     slots N";
 *   - on the interrupt, a slot whose Presence latch is set with a card
 *     present: power it (Slot Operation power-only, bus speed 33 MHz,
 *     enable with the Power Indicator blinking, then on; each command
 *     waited for through Command Detected), enumerate the function on
 *     the secondary bus, give it BARs from the bridge's window and read
 *     sector 0 of the virtio-blk-pci there ("shpc virtio-blk pci
 *     BB:DD.0 sector0 '...'");
 *   - on the Attention Button of that slot: the driver lets go, then one
 *     Slot Operation disables the slot with both indicators off
 *     (shpchp's hpc_slot_disable); check the function is gone and the
 *     Presence latch tells so ("shpc released BB:DD.0"). */
#include "guest.h"

#define CAP_SHPC 0x0c
#define SEL 2
#define DATA 4
#define R_CMD 0x14
#define R_CMD_STATUS 0x16
#define R_INT_LOC 0x18
#define R_SERR_INT 0x20
#define R_SLOT(i) (0x24u + 4u * (i))
#define SERR_INT_CMD_DETECTED 0x10000u
/* Slot Operation codes (§4.3.1): state | power LED << 2 | attn LED << 4. */
#define OP_PWR_ONLY 0x01
#define OP_ENABLE_BLINK_ATTN_OFF 0x3a
#define OP_PWR_LED_ON 0x04
#define OP_DISABLE_ALL_OFF 0x3f
#define OP_BUS_33 0x40
#define EV_PRESENCE 0x01
#define EV_BUTTON 0x04
#define STS_PRSNT_EMPTY 0x0c00

static uint8_t sec[512] __attribute__((aligned(16)));

/* "BB:DD.0" */
static void put_bdf(unsigned bus, unsigned dev)
{
	char b[8] = { "0123456789abcdef"[(bus >> 4) & 15], "0123456789abcdef"[bus & 15], ':',
		      "0123456789abcdef"[(dev >> 4) & 15], "0123456789abcdef"[dev & 15], '.', '0', 0 };
	con_puts(b);
}

static void w8(unsigned dev, unsigned off, uint8_t v)
{
	outl(0xcf8, 0x80000000u | (dev << 11) | (off & 0xfc));
	outb((uint16_t)(0xcfc + (off & 3)), v);
}

static unsigned find_cap(unsigned dev, uint8_t id)
{
	if (!(pci_read16(dev, 0, 0x06) & 0x10))
		return 0;
	unsigned p = pci_read8(dev, 0, 0x34) & 0xfc;
	for (unsigned n = 0; p >= 0x40 && n < 48; n++) {
		if (pci_read8(dev, 0, p) == id)
			return p;
		p = pci_read8(dev, 0, p + 1) & 0xfc;
	}
	return 0;
}

/* shpchp's shpc_indirect_read. */
static uint32_t ind_read(unsigned br, unsigned cap, unsigned dword)
{
	w8(br, cap + SEL, (uint8_t)dword);
	return pci_read32(br, 0, cap + DATA);
}

/* shpc_write_cmd: code + target in one write, wait for Command Detected,
 * acknowledge it.  Returns Command Status (0 = done). */
static uint16_t cmd(uint64_t regs, unsigned slot, uint8_t code)
{
	mmio_write16(regs + R_CMD, (uint16_t)(slot << 8 | code));
	for (unsigned i = 0; i < 1000000 && !(mmio_read32(regs + R_SERR_INT) & SERR_INT_CMD_DETECTED); i++)
		;
	uint16_t st = mmio_read16(regs + R_CMD_STATUS);
	mmio_write32(regs + R_SERR_INT, (mmio_read32(regs + R_SERR_INT) & 0xffffu) |
		     SERR_INT_CMD_DETECTED);
	return st;
}

/* Wait for the controller's interrupt (Interrupt Status of the bridge)
 * with an event in `ev` latched on some slot; returns that slot (1-based)
 * with its latch cleared. */
static unsigned wait_event(unsigned br, uint64_t regs, uint8_t ev)
{
	for (;;) {
		if (!(pci_read16(br, 0, 0x06) & 0x08))
			continue;
		uint32_t loc = mmio_read32(regs + R_INT_LOC);
		for (unsigned s = 1; s < 32; s++) {
			if (!(loc & (1u << s)))
				continue;
			uint8_t e = mmio_read8(regs + R_SLOT(s - 1) + 2);
			mmio_write8(regs + R_SLOT(s - 1) + 2, e);   /* RW1C */
			if (e & ev)
				return s;
		}
	}
}

unsigned shpc_action(void)
{
	unsigned br = 0, cap = 0;
	for (unsigned d = 1; d < 32 && !cap; d++) {
		if ((pci_read32(d, 0, 0) & 0xffff) == 0xffff ||
		    (pci_read8(d, 0, 0x0e) & 0x7f) != 1)
			continue;
		unsigned c = find_cap(d, CAP_SHPC);
		if (c) {
			br = d;
			cap = c;
		}
	}
	if (!cap) {
		say("shpc no pci-bridge with an SHPC\n");
		return 1;
	}
	unsigned bus = pci_read8(br, 0, 0x19);
	uint32_t base_off = ind_read(br, cap, 0);
	uint32_t slot_cfg = ind_read(br, cap, 3);
	uint64_t regs = pci_bar(br, 0, 0) + base_off;
	unsigned nslots = slot_cfg & 0x1f;
	if (!bus || !nslots || regs == base_off || regs >= GUEST_MAPPED_TOP) {
		say("shpc FAIL bus, slots or BAR 0 missing\n");
		return 1;
	}
	pci_write16(br, 0, 0x04, 0x6);
	/* Unmask what shpchp handles: every slot's events (no SERR), then
	 * the controller interrupt and command completion. */
	for (unsigned i = 0; i < nslots; i++)
		mmio_write8(regs + R_SLOT(i) + 3, 0x60);
	mmio_write32(regs + R_SERR_INT, 0x2 | 0x8);
	uint64_t next = (uint64_t)(pci_read16(br, 0, 0x20) & 0xfff0) << 16;
	uint64_t limit = ((uint64_t)(pci_read16(br, 0, 0x22) & 0xfff0) << 16) | 0xfffff;
	say("shpc waiting on ");
	put_bdf(0, br);
	con_puts(" slots ");
	con_dec(nslots);
	con_puts("\n");
	unsigned slot;
	do
		slot = wait_event(br, regs, EV_PRESENCE);
	while (mmio_read16(regs + R_SLOT(slot - 1)) & STS_PRSNT_EMPTY);
	unsigned fails = 0;
	uint16_t st = cmd(regs, slot, OP_PWR_ONLY);
	st |= cmd(regs, 0, OP_BUS_33);
	st |= cmd(regs, slot, OP_ENABLE_BLINK_ATTN_OFF);
	st |= cmd(regs, slot, OP_PWR_LED_ON);
	unsigned dev = bus << 5 | slot;
	uint32_t id = pci_read32(dev, 0, 0);
	say("shpc slot ");
	con_dec(slot);
	con_puts(" powered, status ");
	con_hex(st);
	con_puts(" id ");
	con_hex(id);
	con_puts("\n");
	/* On a pci-bridge (no PCIe port) virtio-blk-pci is transitional
	 * (1af4:1001) by default, as in QEMU; its modern interface is read. */
	if (st || (id != 0x10421af4u && id != 0x10011af4u) ||
	    hp_assign_bars(dev, &next, limit) != 0) {
		say("shpc FAIL no virtio-blk, a command failed or no room for its BARs\n");
		return 1;
	}
	memset(sec, 0, sizeof(sec));
	int r = vblk_read_pci(dev, 0, sec);
	/* Events from here on are new; cleared before the line that tells
	 * the host we are bound. */
	for (unsigned i = 0; i < nslots; i++)
		mmio_write8(regs + R_SLOT(i) + 2, 0xff);
	say("shpc virtio-blk pci ");
	put_bdf(bus, slot);
	if (r == 0) {
		con_puts(" sector0 ");
		con_text(sec, 48);
		con_puts("\n");
	} else {
		con_puts(" FAIL step ");
		con_dec((uint64_t)-r);
		con_puts("\n");
		fails++;
	}
	/* Release on request: the Attention Button of that slot. */
	while (wait_event(br, regs, EV_BUTTON) != slot)
		;
	pci_write16(dev, 0, 0x04, 0);           /* the driver lets go */
	st = cmd(regs, slot, OP_DISABLE_ALL_OFF);
	id = pci_read32(dev, 0, 0);
	uint8_t ev = mmio_read8(regs + R_SLOT(slot - 1) + 2);
	bool gone = id == 0xffffffffu && (ev & EV_PRESENCE) &&
		    (mmio_read16(regs + R_SLOT(slot - 1)) & STS_PRSNT_EMPTY) == STS_PRSNT_EMPTY;
	say(gone && !st ? "shpc released " : "shpc FAIL still there ");
	put_bdf(bus, slot);
	con_puts("\n");
	return fails + !(gone && !st);
}
