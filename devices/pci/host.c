/* The PCI host bridge: bus 0 with 32 slots x 8 functions, config access
 * through configuration mechanism #1 (0xCF8 address / 0xCFC data, PCI 3.0
 * §3.2.2.3.2) and through PCIe ECAM (PCIe Base 4.0 §7.2.2: bus << 20 |
 * device << 15 | function << 12 | register), BAR placement on the machine
 * buses, and INTx routing with the standard swizzle.  Requests for other
 * buses go to the PCI-to-PCI bridge on bus 0 whose bus range holds them
 * (bridge.h), and a BAR behind a bridge decodes only through its windows.
 *
 * Resource assignment is in host_assign.c, the snapshot in host_snap.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/layout.h"
#include "bridge.h"
#include "host_priv.h"
#include "pci.h"
#include "pci_snap.h"

unsigned pci_host_intx_gsi(unsigned slot, unsigned pin)
{
	if (pin < 1 || pin > 4)
		pin = 1;
	return LAYOUT_GSI_PCI_INTX + ((pin - 1 + slot) % NUM_INTX);
}

static uint32_t all_ones(unsigned len)
{
	return len >= 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
}

struct irq pci_host_intx_line(struct pci_host *h, unsigned gsi)
{
	return irq_line(h->chip, gsi);
}

/* Who answers a config request: bus 0 directly (type 0), any other bus
 * through the first bridge whose secondary..subordinate range holds it
 * (type 1, PCI-to-PCI Bridge 1.2 §3.1.2.1).  NULL: master abort. */
static struct pci_dev *cfg_target(struct pci_host *h, unsigned bus,
				  unsigned devfn)
{
	if (devfn >= PCI_SLOTS * PCI_FUNCS)
		return NULL;
	if (bus == 0)
		return h->devs[devfn];
	for (unsigned i = 0; i < PCI_SLOTS * PCI_FUNCS; i++) {
		struct pci_dev *b = h->devs[i];
		if (b && b->bridge && pci_bridge_claims_bus(b->bridge, bus))
			return pci_bridge_route(b->bridge, bus, devfn);
	}
	return NULL;
}

uint32_t pci_host_cfg_read(struct pci_host *h, unsigned bus, unsigned devfn,
			   uint32_t off, unsigned len)
{
	/* Absent functions (and buses no bridge claims) terminate with a
	 * master abort: all-ones, which is how the OS sees "no device". */
	struct pci_dev *d = cfg_target(h, bus, devfn);
	return d ? pci_cfg_read(d, off, len) : all_ones(len);
}

void pci_host_cfg_write(struct pci_host *h, unsigned bus, unsigned devfn,
			uint32_t off, unsigned len, uint32_t val)
{
	struct pci_dev *d = cfg_target(h, bus, devfn);
	if (d)
		pci_cfg_write(d, off, len, val);
}

static void put_le(void *data, unsigned len, uint32_t v)
{
	uint8_t *p = data;
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(i < 4 ? v >> (8 * i) : 0xff);
}

static uint32_t get_le(const void *data, unsigned len)
{
	const uint8_t *p = data;
	uint32_t v = 0;
	for (unsigned i = 0; i < len && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

/* 0xCF8: only whole-dword accesses latch the address (§3.2.2.3.2); byte
 * and word accesses to these ports are other devices' on a PC and are
 * dropped here. */
static int cf8_access(void *opaque, uint64_t off, void *data, unsigned len,
		      bool is_write)
{
	struct pci_host *h = opaque;
	if (len != 4 || off != 0) {
		if (!is_write)
			put_le(data, len, all_ones(len));
		return 0;
	}
	if (is_write)
		h->cf8 = get_le(data, 4) & CF8_MASK;
	else
		put_le(data, 4, h->cf8);
	return 0;
}

static int cfc_access(void *opaque, uint64_t off, void *data, unsigned len,
		      bool is_write)
{
	struct pci_host *h = opaque;
	if (!(h->cf8 & CF8_ENABLE) || len > 4) {
		if (!is_write)
			put_le(data, len, all_ones(len));
		return 0;
	}
	unsigned bus = (h->cf8 >> 16) & 0xff, devfn = (h->cf8 >> 8) & 0xff;
	uint32_t reg = (h->cf8 & 0xfc) + (uint32_t)off;
	if (is_write)
		pci_host_cfg_write(h, bus, devfn, reg, len, get_le(data, len));
	else
		put_le(data, len, pci_host_cfg_read(h, bus, devfn, reg, len));
	return 0;
}

static int ecam_access(void *opaque, uint64_t off, void *data, unsigned len,
		       bool is_write)
{
	struct pci_host *h = opaque;
	unsigned bus = (unsigned)(off >> 20) & 0xff;
	unsigned devfn = (unsigned)(off >> 12) & 0xff;
	uint32_t reg = (uint32_t)off & 0xfff;
	if (len > 4) {
		/* ECAM accesses are at most a dword (PCIe §7.2.2). */
		log_rl(h->log, &h->rl, LOG_WARN, "pci: ECAM access len %u at 0x%llx",
		       len, (unsigned long long)off);
		if (!is_write)
			put_le(data, len, 0xffffffffu);
		return 0;
	}
	if (is_write)
		pci_host_cfg_write(h, bus, devfn, reg, len, get_le(data, len));
	else
		put_le(data, len, pci_host_cfg_read(h, bus, devfn, reg, len));
	return 0;
}

struct pci_host *pci_host_new(struct bus *pio, struct bus *mmio,
			      uint64_t ecam_base, const struct pci_host_windows *w,
			      struct irq_chip *chip, struct log *log)
{
	struct pci_host *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->pio = pio;
	h->mmio = mmio;
	h->ecam_base = ecam_base;
	h->chip = chip;
	h->log = log;
	if (w) {
		h->win = *w;
	} else {
		h->win.mmio32_base = LAYOUT_PCI_MMIO32_BASE;
		h->win.mmio32_size = LAYOUT_PCI_MMIO32_SIZE;
		h->win.io_base = LAYOUT_PCI_IO_BASE;
		h->win.io_size = LAYOUT_PCI_IO_SIZE;
	}
	/* 00.0 is the host bridge itself (Q35 MCH identity, class 06.00). */
	static const struct pci_dev_info bridge_info = {
		.vendor_id = 0x8086, .device_id = 0x29c0,
		.subsys_vendor_id = 0x1af4, .subsys_id = 0x1100,
		.class_code = 0x060000,
	};
	pci_dev_init(&h->bridge, &bridge_info, "pci-host", log);
	h->bridge.host = h;
	h->devs[0] = &h->bridge;
	if (pio && (bus_register(pio, CF8_PORT, 4, cf8_access, h, "pci-cf8") ||
		    bus_register(pio, CFC_PORT, 4, cfc_access, h, "pci-cfc"))) {
		pci_host_free(h);
		return NULL;
	}
	if (mmio && bus_register(mmio, ecam_base, LAYOUT_ECAM_SIZE, ecam_access,
				 h, "pci-ecam")) {
		pci_host_free(h);
		return NULL;
	}
	return h;
}

static void unmap_all(struct pci_dev *d);

void pci_host_free(struct pci_host *h)
{
	if (!h)
		return;
	for (unsigned i = 1; i < PCI_SLOTS * PCI_FUNCS; i++)
		if (h->devs[i])
			pci_host_detach(h, h->devs[i]);
	if (h->pio) {
		bus_unregister(h->pio, CF8_PORT, h);
		bus_unregister(h->pio, CFC_PORT, h);
	}
	if (h->mmio)
		bus_unregister(h->mmio, h->ecam_base, h);
	free(h);
}

/* Function 0 of a slot advertises the multifunction bit whenever another
 * function of the slot exists, or the OS would never scan them (PCI 3.0
 * §6.2.1, Header Type bit 7). */
static void update_multifunction(struct pci_host *h, unsigned slot)
{
	struct pci_dev *f0 = h->devs[PCI_DEVFN(slot, 0)];
	if (!f0)
		return;
	bool others = false;
	for (unsigned f = 1; f < PCI_FUNCS; f++)
		others |= h->devs[PCI_DEVFN(slot, f)] != NULL;
	if (others)
		f0->cfg[PCI_HEADER_TYPE] |= 0x80;
}

int pci_host_attach(struct pci_host *h, struct pci_dev *d, unsigned slot,
		    unsigned func)
{
	if (slot >= PCI_SLOTS || func >= PCI_FUNCS || (slot == 0 && func == 0) ||
	    d->host)
		return -EINVAL;
	unsigned devfn = PCI_DEVFN(slot, func);
	if (h->devs[devfn])
		return -EEXIST;
	h->devs[devfn] = d;
	d->host = h;
	d->devfn = devfn;
	uint8_t pin = pci_cfg_get8(d, PCI_INTERRUPT_PIN);
	if (pin) {
		unsigned gsi = pci_host_intx_gsi(slot, pin);
		d->intx = irq_line(h->chip, gsi);
		/* What firmware would have written: the GSI the pin routes to
		 * (the DSDT's _PRT uses the same swizzle). */
		pci_cfg_set8(d, PCI_INTERRUPT_LINE, (uint8_t)gsi);
	}
	update_multifunction(h, slot);
	pci_host_update_mappings(d);
	return 0;
}

static void drop_host_side(struct pci_dev *d)
{
	unmap_all(d);
	bool was = d->intx_asserted;
	d->intx_asserted = false;
	if (was)
		pci_host_intx_changed(d);
}

void pci_host_detach(struct pci_host *h, struct pci_dev *d)
{
	if (!h || d->host != h || d == &h->bridge)
		return;
	if (d->parent) {
		/* Behind a bridge: the bridge keeps the slot table. */
		drop_host_side(d);
		pci_bridge_unlink(d->parent, d);
		d->parent = NULL;
		d->host = NULL;
		return;
	}
	if (h->devs[d->devfn] != d)
		return;
	if (d->bridge)
		for (unsigned i = 0; i < PCI_SLOTS * PCI_FUNCS; i++) {
			struct pci_dev *c = pci_bridge_child(d->bridge, i);
			if (c)
				pci_host_detach(h, c);
		}
	drop_host_side(d);
	h->devs[d->devfn] = NULL;
	d->host = NULL;
}

struct pci_dev *pci_host_dev(struct pci_host *h, unsigned slot, unsigned func)
{
	if (slot >= PCI_SLOTS || func >= PCI_FUNCS)
		return NULL;
	return h->devs[PCI_DEVFN(slot, func)];
}

static int drives_line(const struct pci_dev *o, unsigned gsi)
{
	return o->intx.gsi == gsi && o->intx_asserted &&
	       pci_cfg_get8(o, PCI_INTERRUPT_PIN) &&
	       !(pci_cfg_get16(o, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
}

void pci_host_intx_changed(struct pci_dev *d)
{
	struct pci_host *h = d->host;
	if (!h || !pci_cfg_get8(d, PCI_INTERRUPT_PIN))
		return;
	unsigned gsi = d->intx.gsi;
	if (gsi < LAYOUT_GSI_PCI_INTX || gsi >= LAYOUT_GSI_PCI_INTX + NUM_INTX)
		return;
	/* Wired-OR of every function on the line, behind bridges too: a
	 * bridge forwards INTx whatever its command register says. */
	int level = 0;
	for (unsigned i = 0; i < PCI_SLOTS * PCI_FUNCS && !level; i++) {
		struct pci_dev *o = h->devs[i];
		if (!o)
			continue;
		level = drives_line(o, gsi);
		for (unsigned j = 0; o->bridge && j < PCI_SLOTS * PCI_FUNCS &&
				     !level; j++) {
			struct pci_dev *c = pci_bridge_child(o->bridge, j);
			level = c && drives_line(c, gsi);
		}
	}
	int *last = &h->line_level[gsi - LAYOUT_GSI_PCI_INTX];
	if (level != *last) {
		*last = level;
		irq_set_level(&d->intx, level);
	}
}

static bool in_window(uint64_t addr, uint64_t size, uint64_t base, uint64_t wsize)
{
	return wsize && addr >= base && size <= wsize && addr - base <= wsize - size;
}

/* Also what a snapshot's BARs are checked against (pci_snap.h). */
bool pci_host_window_ok(const struct pci_host *h, bool io, bool mem64,
			uint64_t addr, uint64_t size)
{
	const struct pci_host_windows *w = &h->win;
	if (io)
		return in_window(addr, size, w->io_base, w->io_size);
	return in_window(addr, size, w->mmio32_base, w->mmio32_size) ||
	       (mem64 && in_window(addr, size, w->mmio64_base, w->mmio64_size));
}

/* Where BAR b of d should be mapped now, if anywhere: decode enabled for
 * its space, an address inside one of the host's windows (a BAR left at 0
 * or mid-sizing is not decoded). */
static bool bar_target(const struct pci_dev *d, unsigned i, uint64_t *addr)
{
	const struct pci_bar *b = &d->bars[i];
	uint64_t a = pci_bar_addr(d, i);
	*addr = a;
	if (a == 0)
		return false;
	if (d->parent && !pci_bridge_forwards(d->parent, b->kind == PCI_BAR_IO,
					      a, b->size))
		return false;
	bool io = b->kind == PCI_BAR_IO;
	if (io ? !pci_io_enabled(d) : !pci_mem_enabled(d))
		return false;
	return pci_host_window_ok(d->host, io, b->kind == PCI_BAR_MEM64, a, b->size);
}

static struct bus *bar_bus(const struct pci_dev *d, unsigned i)
{
	return d->bars[i].kind == PCI_BAR_IO ? d->host->pio : d->host->mmio;
}

static void unmap_bar(struct pci_dev *d, unsigned i)
{
	struct pci_bar *b = &d->bars[i];
	if (!b->mapped)
		return;
	bus_unregister(bar_bus(d, i), b->mapped_addr, b->opaque);
	b->mapped = false;
}

static void unmap_all(struct pci_dev *d)
{
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		unmap_bar(d, i);
}

void pci_host_update_mappings(struct pci_dev *d)
{
	if (!d->host)
		return;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bars[i];
		if (b->kind == PCI_BAR_NONE)
			continue;
		uint64_t addr;
		bool want = bar_target(d, i, &addr);
		if (b->mapped && want && b->mapped_addr == addr)
			continue;
		unmap_bar(d, i);
		if (!want)
			continue;
		struct bus *bus = bar_bus(d, i);
		if (!bus)
			continue;
		int rc = bus_register(bus, addr, b->size, b->fn, b->opaque, b->name);
		if (rc) {
			/* Overlapping BARs are a guest mistake: that BAR stays
			 * unmapped until the guest moves it. */
			log_rl(d->log, &d->rl, LOG_WARN,
			       "%s: BAR%u at 0x%llx not mapped (%d)", d->name, i,
			       (unsigned long long)addr, rc);
			continue;
		}
		b->mapped = true;
		b->mapped_addr = addr;
	}
	/* A bridge's windows or decode enables changed: what its children
	 * decode may have too. */
	for (unsigned i = 0; d->bridge && i < PCI_SLOTS * PCI_FUNCS; i++) {
		struct pci_dev *c = pci_bridge_child(d->bridge, i);
		if (c)
			pci_host_update_mappings(c);
	}
}
