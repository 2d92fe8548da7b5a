/* testguest.action=hotplug: the guest side of PCIe native hot-plug, as
 * Linux's pciehp does it but polled (PCIe Base 4.0 §6.7, §7.5.3.9-11):
 *   - find the first PCIe Root Port on bus 0 with a hot-plug capable slot,
 *     number its secondary bus 1, say "hotplug waiting";
 *   - wait for Presence Detect State, acknowledge the events, wait for
 *     Data Link Layer Link Active, give the new function's memory BARs
 *     addresses from the port's 32-bit window, read sector 0 of the
 *     virtio-blk-pci there ("hotplug virtio-blk pci 01:00.0 sector0 ...");
 *   - wait for the Attention Button, then power the slot off with the
 *     Power Indicator off (the request completed); check the function
 *     is gone ("hotplug released 01:00.0") and end through debug-exit. */
#include "guest.h"

#define EXP_SLTCAP 0x14
#define EXP_SLTCTL 0x18
#define EXP_SLTSTA 0x1a
#define EXP_LNKSTA 0x12
#define SLTSTA_ABP 0x0001
#define SLTSTA_PDC 0x0008
#define SLTSTA_CC 0x0010
#define SLTSTA_PDS 0x0040
#define SLTSTA_DLLSC 0x0100
#define SLTCTL_PIC_ON 0x0100
#define SLTCTL_PIC_OFF 0x0300
#define SLTCTL_AIC_OFF 0x00c0
#define SLTCTL_PCC_OFF 0x0400
#define LNKSTA_DLLLA 0x2000

static uint8_t sec[512] __attribute__((aligned(16)));

static void cfg_addr(unsigned dev, unsigned off)
{
	outl(0xcf8, 0x80000000u | (dev << 11) | (off & 0xfc));
}
static void w32(unsigned dev, unsigned off, uint32_t v)
{
	cfg_addr(dev, off);
	outl(0xcfc, v);
}

/* The PCI Express capability of function dev.0, or 0. */
static unsigned exp_cap(unsigned dev)
{
	if (!(pci_read16(dev, 0, 0x06) & 0x10))
		return 0;
	unsigned p = pci_read8(dev, 0, 0x34) & 0xfc;
	for (unsigned n = 0; p >= 0x40 && n < 48; n++) {
		if (pci_read8(dev, 0, p) == 0x10)
			return p;
		p = pci_read8(dev, 0, p + 1) & 0xfc;
	}
	return 0;
}

static void slot_cmd(unsigned dev, unsigned cap, uint16_t ctl)
{
	pci_write16(dev, 0, cap + EXP_SLTCTL, ctl);
	/* Command Completed (§7.5.3.11), then acknowledge it. */
	for (unsigned i = 0; i < 1000000 && !(pci_read16(dev, 0, cap + EXP_SLTSTA) & SLTSTA_CC); i++)
		;
	pci_write16(dev, 0, cap + EXP_SLTSTA, SLTSTA_CC);
}

/* Memory BARs from [*next, limit] of the port's window, each aligned to
 * its size (PCI 3.0 §6.2.5.1 sizing).  Also shpc.c's. */
int hp_assign_bars(unsigned dev, uint64_t *next, uint64_t limit)
{
	for (unsigned b = 0; b < 6; b++) {
		unsigned off = 0x10 + 4 * b;
		uint32_t orig = pci_read32(dev, 0, off);
		if (orig & 1)
			continue;
		bool is64 = ((orig >> 1) & 3) == 2;
		w32(dev, off, 0xffffffffu);
		uint32_t sz = pci_read32(dev, 0, off) & ~0xfu;
		if (!sz) {
			if (is64)
				b++;
			continue;
		}
		uint64_t size = (uint64_t)(~sz) + 1 + 0;
		size &= 0xffffffffull;
		uint64_t a = (*next + size - 1) & ~(size - 1);
		if (a + size - 1 > limit)
			return -1;
		w32(dev, off, (uint32_t)a);
		if (is64) {
			w32(dev, off + 4, 0);
			b++;
		}
		*next = a + size;
	}
	pci_write16(dev, 0, 0x04, 0x6);     /* memory decode, bus master */
	return 0;
}

/* The first hot-plug capable Root Port on bus 0: its secondary bus
 * numbered 1, "hotplug waiting on 00:NN", then wait for a function to
 * arrive in its slot, power it and wait for the link.  Its slot and
 * capability into *port / *cap, the port's 32-bit window into *next /
 * *limit.  0, or -1 without such a port.  Also virtio_mem.c's. */
int hp_port_wait(unsigned *port_out, unsigned *cap_out, uint64_t *next, uint64_t *limit)
{
	unsigned port = 0, cap = 0;
	for (unsigned slot = 1; slot < 32 && !cap; slot++) {
		if ((pci_read32(slot, 0, 0) & 0xffff) == 0xffff)
			continue;
		unsigned c = exp_cap(slot);
		if (c && (pci_read32(slot, 0, c + EXP_SLTCAP) & 0x40)) {   /* HPC */
			port = slot;
			cap = c;
		}
	}
	if (!cap) {
		say("hotplug no hot-plug capable root port\n");
		return -1;
	}
	w32(port, 0x18, 1u << 16 | 1u << 8);    /* primary 0, secondary = subordinate = 1 */
	*next = (uint64_t)(pci_read16(port, 0, 0x20) & 0xfff0) << 16;
	*limit = ((uint64_t)(pci_read16(port, 0, 0x22) & 0xfff0) << 16) | 0xfffff;
	pci_write16(port, 0, 0x04, 0x6);
	pci_write16(port, 0, cap + EXP_SLTSTA, 0xffff);
	say("hotplug waiting on 00:");
	con_hex(port);
	con_puts("\n");
	while (!(pci_read16(port, 0, cap + EXP_SLTSTA) & SLTSTA_PDS))
		;
	pci_write16(port, 0, cap + EXP_SLTSTA, SLTSTA_PDC | SLTSTA_DLLSC);
	/* Power on (it may have been off), Power Indicator on. */
	slot_cmd(port, cap, SLTCTL_AIC_OFF | SLTCTL_PIC_ON);
	while (!(pci_read16(port, 0, cap + EXP_LNKSTA) & LNKSTA_DLLLA))
		;
	*port_out = port;
	*cap_out = cap;
	return 0;
}

/* Returns the number of failures. */
unsigned hotplug_action(void)
{
	unsigned port, cap;
	uint64_t next, limit;
	if (hp_port_wait(&port, &cap, &next, &limit) < 0)
		return 1;
	unsigned dev = 1u << 5;                 /* bus 1, device 0 */
	uint32_t id = pci_read32(dev, 0, 0);
	say("hotplug pci 01:00.0 ");
	con_hex(id);
	con_puts("\n");
	unsigned fails = 0;
	if (id != 0x10421af4u || hp_assign_bars(dev, &next, limit) != 0) {
		say("hotplug FAIL no virtio-blk or no room for its BARs\n");
		return 1;
	}
	memset(sec, 0, sizeof(sec));
	int r = vblk_read_pci(dev, 0, sec);
	/* Bound: events from here on are new.  (QEMU presses the button
	 * itself when a device arrives in a powered-off slot, which a
	 * driver takes as "power it on"; that press is not a release.)
	 * Cleared before the line that tells the host we are bound. */
	pci_write16(port, 0, cap + EXP_SLTSTA, 0xffff);
	say("hotplug virtio-blk pci 01:00.0");
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
	/* Release on request: the Attention Button. */
	while (!(pci_read16(port, 0, cap + EXP_SLTSTA) & SLTSTA_ABP))
		;
	pci_write16(port, 0, cap + EXP_SLTSTA, SLTSTA_ABP);
	pci_write16(dev, 0, 0x04, 0);           /* the driver lets go */
	slot_cmd(port, cap, SLTCTL_AIC_OFF | SLTCTL_PIC_ON | SLTCTL_PCC_OFF);
	slot_cmd(port, cap, SLTCTL_AIC_OFF | SLTCTL_PIC_OFF | SLTCTL_PCC_OFF);
	id = pci_read32(dev, 0, 0);
	say(id == 0xffffffffu ? "hotplug released 01:00.0\n" : "hotplug FAIL still there\n");
	return fails + (id != 0xffffffffu);
}
