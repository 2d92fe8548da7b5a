/* PCI resource assignment for a machine without firmware that does it
 * (pci_host_assign_resources, pci.h): every function's BARs packed into
 * the host's windows, and bridges' windows set around what is behind
 * them, the way SeaBIOS leaves them. */
#include <errno.h>
#include "bridge.h"
#include "host_priv.h"
#include "pci.h"

static int alloc_from(uint64_t *next, uint64_t end, uint64_t size, uint64_t *out)
{
	uint64_t a = (*next + size - 1) & ~(size - 1);
	if (a < *next || a > end || end - a < size)
		return -ENOSPC;
	*out = a;
	*next = a + size;
	return 0;
}

/* Allocation cursors over the host's windows. */
struct cursors {
	uint64_t io, io_end, m32, m32_end, m64, m64_end;
};

/* BARs of d from the cursors, then decode and bus mastering on.  Behind a
 * bridge only its 32-bit memory window can carry a non-prefetchable BAR
 * (the prefetchable window is the only 64-bit one, §3.2.5.9), so a 64-bit
 * BAR goes above 4 GiB there only when it is prefetchable. */
static int assign_dev(struct pci_dev *d, struct cursors *c, bool has64)
{
	uint16_t cmd = PCI_COMMAND_MASTER;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bars[i];
		uint64_t a;
		int rc;
		if (b->kind == PCI_BAR_NONE)
			continue;
		if (b->kind == PCI_BAR_IO) {
			rc = alloc_from(&c->io, c->io_end, b->size, &a);
			cmd |= PCI_COMMAND_IO;
		} else {
			rc = -ENOSPC;
			if (b->kind == PCI_BAR_MEM64 && has64 &&
			    (!d->parent || b->prefetch))
				rc = alloc_from(&c->m64, c->m64_end, b->size, &a);
			if (rc)
				rc = alloc_from(&c->m32, c->m32_end, b->size, &a);
			cmd |= PCI_COMMAND_MEMORY;
		}
		if (rc)
			return rc;
		uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * i;
		pci_cfg_write(d, reg, 4, (uint32_t)a);
		if (b->kind == PCI_BAR_MEM64)
			pci_cfg_write(d, reg + 4, 4, (uint32_t)(a >> 32));
	}
	pci_cfg_write(d, PCI_COMMAND, 2, pci_cfg_get16(d, PCI_COMMAND) | cmd);
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* A bridge as SeaBIOS sets one up: each window starts on its granularity,
 * the children's BARs are packed inside, the window ends rounded up; a
 * window with nothing behind it stays closed (base > limit). */
static int assign_bridge(struct pci_bridge *br, struct cursors *c, bool has64)
{
	struct cursors start;
	/* The bridge's own BARs (a pci-bridge's SHPC registers, shpc.h)
	 * sit on the primary side, outside its windows. */
	int rc0 = assign_dev(pci_bridge_dev(br), c, has64);
	if (rc0)
		return rc0;
	c->io = align_up(c->io, PCI_BRIDGE_IO_ALIGN);
	c->m32 = align_up(c->m32, PCI_BRIDGE_MEM_ALIGN);
	c->m64 = align_up(c->m64, PCI_BRIDGE_MEM_ALIGN);
	start = *c;
	for (unsigned fn = 0; fn < PCI_SLOTS * PCI_FUNCS; fn++) {
		struct pci_dev *d = pci_bridge_child(br, fn);
		int rc = d ? assign_dev(d, c, has64) : 0;
		if (rc)
			return rc;
	}
	uint64_t rio, rmem, rpref;
	pci_bridge_get_reserve(br, &rio, &rmem, &rpref);
	if (c->io - start.io < rio)
		c->io = start.io + rio;
	if (c->m32 - start.m32 < rmem)
		c->m32 = start.m32 + rmem;
	/* Without a 64-bit host window the prefetchable reservation has
	 * nowhere to go (the 32-bit one already covers such BARs). */
	if (has64 && c->m64 - start.m64 < rpref)
		c->m64 = start.m64 + rpref;
	c->io = align_up(c->io, PCI_BRIDGE_IO_ALIGN);
	c->m32 = align_up(c->m32, PCI_BRIDGE_MEM_ALIGN);
	c->m64 = align_up(c->m64, PCI_BRIDGE_MEM_ALIGN);
	if (c->io > c->io_end || c->m32 > c->m32_end || c->m64 > c->m64_end)
		return -ENOSPC;
	struct pci_bridge_windows w = {
		.io_base = start.io, .io_limit = c->io - 1,
		.mem_base = start.m32, .mem_limit = c->m32 - 1,
		.pref_base = start.m64, .pref_limit = c->m64 - 1,
	};
	/* Empty windows: base > limit. */
	if (c->io == start.io)
		w.io_base = 1, w.io_limit = 0;
	if (c->m32 == start.m32)
		w.mem_base = 1, w.mem_limit = 0;
	if (c->m64 == start.m64)
		w.pref_base = 1, w.pref_limit = 0;
	pci_bridge_set_windows(br, &w);
	struct pci_dev *bd = pci_bridge_dev(br);
	pci_cfg_write(bd, PCI_COMMAND, 2, pci_cfg_get16(bd, PCI_COMMAND) |
		      PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return 0;
}

int pci_host_assign_resources(struct pci_host *h)
{
	struct cursors c = {
		.io = h->win.io_base, .io_end = h->win.io_base + h->win.io_size,
		.m32 = h->win.mmio32_base,
		.m32_end = h->win.mmio32_base + h->win.mmio32_size,
		.m64 = h->win.mmio64_base,
		.m64_end = h->win.mmio64_base + h->win.mmio64_size,
	};
	bool has64 = h->win.mmio64_size != 0;
	for (unsigned fn = 1; fn < PCI_SLOTS * PCI_FUNCS; fn++) {
		struct pci_dev *d = h->devs[fn];
		int rc = 0;
		if (d && d->bridge)
			rc = assign_bridge(d->bridge, &c, has64);
		else if (d)
			rc = assign_dev(d, &c, has64);
		if (rc)
			return rc;
	}
	return 0;
}
