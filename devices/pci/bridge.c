/* PCI-to-PCI bridge: the type 1 header (PCI-to-PCI Bridge Architecture
 * 1.2 §3.2), its windows and bus numbers, the Slot ID capability (§13.4)
 * and the secondary bus of functions behind it.  See bridge.h for what is
 * and is not modelled. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "bridge.h"
#include "pci_snap.h"
#include "core/snapshot.h"

/* Secondary status error bits are write-1-to-clear like the primary
 * status register's (§3.2.5.7). */
#define SEC_STATUS_W1C                                                   \
	(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |               \
	 PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |     \
	 PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)
/* Bridge control bits a guest may set (§3.2.5.18); VGA Enable and VGA
 * 16-bit decode stay 0: no legacy VGA range is forwarded. */
#define BRIDGE_CTL_WMASK                                                 \
	(PCI_BRIDGE_CTL_PARITY | PCI_BRIDGE_CTL_SERR |                   \
	 PCI_BRIDGE_CTL_ISA | PCI_BRIDGE_CTL_MASTER_ABORT |              \
	 PCI_BRIDGE_CTL_BUS_RESET)
/* Slot Numbering capability (§13.4): expansion slot register and
 * chassis number after the ID/next bytes. */
#define SLOTID_CAP_LEN 4u

struct pci_bridge {
	struct pci_dev dev;              /* type 1 header on the primary bus */
	struct pci_dev *devs[PCI_SLOTS * PCI_FUNCS]; /* the secondary bus */
	uint8_t chassis_nr;
	bool shpc;
	bool in_reset;                   /* Secondary Bus Reset held */
	/* A port built on this bridge (pcie_port.c) watching its config. */
	void (*ext_written)(void *ext, uint32_t off, unsigned len);
	void *ext;
	/* Window space firmware sets aside for devices plugged later. */
	uint64_t rsv_io, rsv_mem, rsv_pref;
};

void pci_bridge_set_reserve(struct pci_bridge *br, uint64_t io, uint64_t mem,
			    uint64_t pref)
{
	br->rsv_io = io;
	br->rsv_mem = mem;
	br->rsv_pref = pref;
}

void pci_bridge_get_reserve(const struct pci_bridge *br, uint64_t *io,
			    uint64_t *mem, uint64_t *pref)
{
	*io = br->rsv_io;
	*mem = br->rsv_mem;
	*pref = br->rsv_pref;
}

void pci_bridge_set_ext(struct pci_bridge *br,
			void (*written)(void *ext, uint32_t off, unsigned len),
			void *ext)
{
	br->ext_written = written;
	br->ext = ext;
}

static void bridge_reset_children(struct pci_bridge *br)
{
	for (unsigned i = 0; i < PCI_SLOTS * PCI_FUNCS; i++)
		if (br->devs[i])
			pci_dev_reset(br->devs[i]);
}

/* Writes the generic code does not already act on: the upper halves of
 * the prefetchable window and ISA Enable move children's BARs in or out
 * of what the bridge forwards; Secondary Bus
 * Reset resets every function behind the bridge as the bit goes 0 -> 1
 * (Linux's pci_reset_secondary_bus sets it, waits, clears it). */
static void bridge_cfg_written(struct pci_dev *d, uint32_t off, unsigned len)
{
	struct pci_bridge *br = d->bridge;
	if (off < PCI_IO_BASE_UPPER16 && off + len > PCI_PREF_BASE_UPPER32)
		pci_host_update_mappings(d);
	if (off <= PCI_BRIDGE_CONTROL && off + len > PCI_BRIDGE_CONTROL) {
		bool reset = pci_cfg_get16(d, PCI_BRIDGE_CONTROL) &
			     PCI_BRIDGE_CTL_BUS_RESET;
		if (reset && !br->in_reset)
			bridge_reset_children(br);
		br->in_reset = reset;
		/* ISA Enable changes which I/O the bridge forwards. */
		pci_host_update_mappings(d);
	}
	if (br->ext_written)
		br->ext_written(br->ext, off, len);
}

static const struct pci_dev_ops bridge_ops = {
	.cfg_written = bridge_cfg_written,
};

struct pci_bridge *pci_bridge_new(uint8_t chassis_nr, bool shpc,
				  const char *name, struct log *log)
{
	struct pci_bridge *br = calloc(1, sizeof(*br));
	if (!br)
		return NULL;
	/* No subsystem IDs: in a type 1 header 0x2c..0x2f are the
	 * prefetchable limit's upper 32 bits (§3.2). */
	static const struct pci_dev_info info = {
		.vendor_id = PCI_BRIDGE_VENDOR_ID,
		.device_id = PCI_BRIDGE_DEVICE_ID,
		.class_code = 0x060400, /* PCI 3.0 App. D: PCI-to-PCI bridge */
	};
	struct pci_dev *d = &br->dev;
	pci_dev_init(d, &info, name ? name : "pci-bridge", log);
	d->bridge = br;
	d->ops = &bridge_ops;
	d->opaque = br;
	br->chassis_nr = chassis_nr;
	br->shpc = shpc;
	pci_cfg_set8(d, PCI_HEADER_TYPE, PCI_HEADER_TYPE_BRIDGE);

	/* Bus numbers and the secondary latency timer: read/write, 0 after
	 * reset (§3.2.5.2-5). */
	pci_cfg_set_wmask(d, PCI_PRIMARY_BUS, 4, 0xffffffffu);
	/* I/O base/limit: bits 15:12 of a 16-bit I/O address; the low
	 * nibble reads 0 (16-bit decode), so the upper-16 registers are
	 * read-only 0 (§3.2.5.6). */
	pci_cfg_set_wmask(d, PCI_IO_BASE, 2, 0xf0f0u);
	d->w1cmask[PCI_SEC_STATUS] = (uint8_t)SEC_STATUS_W1C;
	d->w1cmask[PCI_SEC_STATUS + 1] = (uint8_t)(SEC_STATUS_W1C >> 8);
	/* Memory base/limit: bits 31:20 (§3.2.5.8). */
	pci_cfg_set_wmask(d, PCI_MEMORY_BASE, 4, 0xfff0fff0u);
	/* Prefetchable base/limit: bits 31:20 plus 64-bit decode, with the
	 * upper 32 bits in their own registers (§3.2.5.9-10). */
	pci_cfg_set16(d, PCI_PREF_MEMORY_BASE, PCI_PREF_RANGE_TYPE_64);
	pci_cfg_set16(d, PCI_PREF_MEMORY_LIMIT, PCI_PREF_RANGE_TYPE_64);
	pci_cfg_set_wmask(d, PCI_PREF_MEMORY_BASE, 4, 0xfff0fff0u);
	pci_cfg_set_wmask(d, PCI_PREF_BASE_UPPER32, 4, 0xffffffffu);
	pci_cfg_set_wmask(d, PCI_PREF_LIMIT_UPPER32, 4, 0xffffffffu);
	pci_cfg_set_wmask(d, PCI_BRIDGE_CONTROL, 2, BRIDGE_CTL_WMASK);

	/* Slot ID: no expansion slots of its own, First In Chassis, and the
	 * chassis number, which software may rewrite (§13.4.1). */
	int cap = pci_dev_add_cap(d, PCI_CAP_ID_SLOTID, SLOTID_CAP_LEN);
	if (cap < 0) {
		free(br);
		return NULL;
	}
	pci_cfg_set8(d, (uint32_t)cap + PCI_SID_ESR, PCI_SID_ESR_FIC);
	pci_cfg_set8(d, (uint32_t)cap + PCI_SID_CHASSIS_NR, chassis_nr);
	pci_cfg_set_wmask(d, (uint32_t)cap + PCI_SID_CHASSIS_NR, 1, 0xff);
	return br;
}

void pci_bridge_free(struct pci_bridge *br)
{
	if (!br)
		return;
	for (unsigned i = 0; i < PCI_SLOTS * PCI_FUNCS; i++)
		if (br->devs[i])
			pci_bridge_detach(br, br->devs[i]);
	if (br->dev.host)
		pci_host_detach(br->dev.host, &br->dev);
	free(br);
}

struct pci_dev *pci_bridge_dev(struct pci_bridge *br)
{
	return &br->dev;
}

void pci_bridge_set_buses(struct pci_bridge *br, uint8_t primary,
			  uint8_t secondary, uint8_t subordinate)
{
	pci_cfg_set8(&br->dev, PCI_PRIMARY_BUS, primary);
	pci_cfg_set8(&br->dev, PCI_SECONDARY_BUS, secondary);
	pci_cfg_set8(&br->dev, PCI_SUBORDINATE_BUS, subordinate);
}

unsigned pci_bridge_secondary(const struct pci_bridge *br)
{
	return pci_cfg_get8(&br->dev, PCI_SECONDARY_BUS);
}

unsigned pci_bridge_subordinate(const struct pci_bridge *br)
{
	return pci_cfg_get8(&br->dev, PCI_SUBORDINATE_BUS);
}

/* Function 0 shows the multifunction bit once another function of its
 * slot exists (PCI 3.0 §6.2.1), as on bus 0. */
static void update_multifunction(struct pci_bridge *br, unsigned slot)
{
	struct pci_dev *f0 = br->devs[PCI_DEVFN(slot, 0)];
	if (!f0)
		return;
	for (unsigned f = 1; f < PCI_FUNCS; f++)
		if (br->devs[PCI_DEVFN(slot, f)])
			f0->cfg[PCI_HEADER_TYPE] |= 0x80;
}

int pci_bridge_attach(struct pci_bridge *br, struct pci_dev *d, unsigned slot,
		      unsigned func)
{
	struct pci_host *h = br->dev.host;
	if (!h || slot >= PCI_SLOTS || func >= PCI_FUNCS || d->host ||
	    d == &br->dev)
		return -EINVAL;
	unsigned devfn = PCI_DEVFN(slot, func);
	if (br->devs[devfn])
		return -EEXIST;
	br->devs[devfn] = d;
	d->host = h;
	d->parent = br;
	d->devfn = devfn;
	uint8_t pin = pci_cfg_get8(d, PCI_INTERRUPT_PIN);
	if (pin >= 1 && pin <= 4) {
		/* §9.1: pin P of device S shows up as (P + S) mod 4 on the
		 * primary side; then the bus 0 swizzle of the bridge's slot. */
		unsigned up = (pin - 1u + slot) % 4u + 1u;
		unsigned gsi = pci_host_intx_gsi(br->dev.devfn >> 3, up);
		d->intx = pci_host_intx_line(h, gsi);
		/* What firmware writes: the GSI (the OS recomputes it from the
		 * _PRT of bus 0 and the swizzle, and gets the same). */
		pci_cfg_set8(d, PCI_INTERRUPT_LINE, (uint8_t)gsi);
	}
	update_multifunction(br, slot);
	pci_host_update_mappings(d);
	return 0;
}

void pci_bridge_detach(struct pci_bridge *br, struct pci_dev *d)
{
	if (d->parent != br || d->devfn >= PCI_SLOTS * PCI_FUNCS ||
	    br->devs[d->devfn] != d)
		return;
	/* The host drops its mappings and INTx contribution, then calls
	 * pci_bridge_unlink. */
	pci_host_detach(d->host, d);
}

void pci_bridge_unlink(struct pci_bridge *br, struct pci_dev *d)
{
	if (d->devfn < PCI_SLOTS * PCI_FUNCS && br->devs[d->devfn] == d)
		br->devs[d->devfn] = NULL;
}

struct pci_dev *pci_bridge_child(const struct pci_bridge *br, unsigned devfn)
{
	return devfn < PCI_SLOTS * PCI_FUNCS ? br->devs[devfn] : NULL;
}

bool pci_bridge_claims_bus(const struct pci_bridge *br, unsigned bus)
{
	unsigned sec = pci_bridge_secondary(br), sub = pci_bridge_subordinate(br);
	return bus != 0 && bus >= sec && bus <= sub;
}

struct pci_dev *pci_bridge_route(const struct pci_bridge *br, unsigned bus,
				 unsigned devfn)
{
	/* Type 1 -> type 0 conversion happens only for the secondary bus;
	 * a higher bus would go on as type 1 to a bridge behind this one,
	 * and there is none. */
	if (!pci_bridge_claims_bus(br, bus) || bus != pci_bridge_secondary(br))
		return NULL;
	return pci_bridge_child(br, devfn);
}

void pci_bridge_get_windows(const struct pci_bridge *br,
			    struct pci_bridge_windows *w)
{
	const struct pci_dev *d = &br->dev;
	w->io_base = (uint64_t)(pci_cfg_get8(d, PCI_IO_BASE) & PCI_IO_RANGE_MASK) << 8;
	w->io_limit = (uint64_t)(pci_cfg_get8(d, PCI_IO_LIMIT) & PCI_IO_RANGE_MASK) << 8 |
		      (PCI_BRIDGE_IO_ALIGN - 1);
	w->mem_base = (uint64_t)(pci_cfg_get16(d, PCI_MEMORY_BASE) &
				 PCI_MEMORY_RANGE_MASK) << 16;
	w->mem_limit = (uint64_t)(pci_cfg_get16(d, PCI_MEMORY_LIMIT) &
				  PCI_MEMORY_RANGE_MASK) << 16 |
		       (PCI_BRIDGE_MEM_ALIGN - 1);
	w->pref_base = (uint64_t)(pci_cfg_get16(d, PCI_PREF_MEMORY_BASE) &
				  PCI_PREF_RANGE_MASK) << 16 |
		       (uint64_t)pci_cfg_get32(d, PCI_PREF_BASE_UPPER32) << 32;
	w->pref_limit = ((uint64_t)(pci_cfg_get16(d, PCI_PREF_MEMORY_LIMIT) &
				    PCI_PREF_RANGE_MASK) << 16 |
			 (uint64_t)pci_cfg_get32(d, PCI_PREF_LIMIT_UPPER32) << 32) |
			(PCI_BRIDGE_MEM_ALIGN - 1);
}

void pci_bridge_set_windows(struct pci_bridge *br,
			    const struct pci_bridge_windows *w)
{
	struct pci_dev *d = &br->dev;
	bool io = w->io_base <= w->io_limit, mem = w->mem_base <= w->mem_limit,
	     pref = w->pref_base <= w->pref_limit;
	/* A closed window is programmed base = all ones, limit = 0. */
	uint64_t iob = io ? w->io_base : 0xf000, iol = io ? w->io_limit : 0;
	uint64_t mb = mem ? w->mem_base : 0xfff00000ull, ml = mem ? w->mem_limit : 0;
	uint64_t pb = pref ? w->pref_base : 0xfff00000ull, pl = pref ? w->pref_limit : 0;
	pci_cfg_write(d, PCI_IO_BASE, 1, (uint32_t)(iob >> 8) & PCI_IO_RANGE_MASK);
	pci_cfg_write(d, PCI_IO_LIMIT, 1, (uint32_t)(iol >> 8) & PCI_IO_RANGE_MASK);
	pci_cfg_write(d, PCI_MEMORY_BASE, 2, (uint32_t)(mb >> 16));
	pci_cfg_write(d, PCI_MEMORY_LIMIT, 2, (uint32_t)(ml >> 16));
	pci_cfg_write(d, PCI_PREF_BASE_UPPER32, 4, (uint32_t)(pb >> 32));
	pci_cfg_write(d, PCI_PREF_LIMIT_UPPER32, 4, (uint32_t)(pl >> 32));
	pci_cfg_write(d, PCI_PREF_MEMORY_BASE, 2, (uint32_t)(pb >> 16));
	pci_cfg_write(d, PCI_PREF_MEMORY_LIMIT, 2, (uint32_t)(pl >> 16));
}

static bool inside(uint64_t addr, uint64_t size, uint64_t base, uint64_t limit)
{
	return size && base <= limit && addr >= base && addr <= limit &&
	       size - 1 <= limit - addr;
}

bool pci_bridge_forwards(const struct pci_bridge *br, bool io, uint64_t addr,
			 uint64_t size)
{
	const struct pci_dev *d = &br->dev;
	struct pci_bridge_windows w;
	pci_bridge_get_windows(br, &w);
	if (io) {
		if (!pci_io_enabled(d) || !inside(addr, size, w.io_base, w.io_limit))
			return false;
		/* ISA Enable: only the first 256 bytes of each 1 KiB block are
		 * forwarded (§3.2.5.18), so a range must sit in one of them. */
		if (pci_cfg_get16(d, PCI_BRIDGE_CONTROL) & PCI_BRIDGE_CTL_ISA)
			return size <= 0x100 && (addr & 0x300) == 0 &&
			       ((addr & 0xff) + size) <= 0x100;
		return true;
	}
	if (!pci_mem_enabled(d))
		return false;
	return inside(addr, size, w.mem_base, w.mem_limit) ||
	       inside(addr, size, w.pref_base, w.pref_limit);
}

/* ---- snapshot (docs/snapshot.md "PCI") ---- */

int pci_bridge_save(const struct pci_bridge *b, struct snap_w *w)
{
	snap_w_begin(w, "pci-bridge", 1);
	snap_w_bool(w, "shpc", b->shpc);
	snap_w_u8(w, "chassis_nr", b->chassis_nr);
	snap_w_bool(w, "in_reset", b->in_reset);
	pci_dev_save(&b->dev, w);
	snap_w_end(w);
	return 0;
}

int pci_bridge_load(struct pci_bridge *b, struct snap_r *r)
{
	bool shpc = false, in_reset = false;
	uint8_t chassis = 0;
	snap_r_begin(r, "pci-bridge", 1, NULL);
	snap_r_bool(r, "shpc", &shpc);
	snap_r_u8(r, "chassis_nr", &chassis);
	snap_r_bool(r, "in_reset", &in_reset);
	snap_r_check(r, shpc == b->shpc, "shpc", "differs from this bridge");
	snap_r_check(r, chassis == b->chassis_nr, "chassis_nr",
		     "differs from this bridge");
	if (snap_r_failed(r))
		return snap_r_failed(r);
	int rc = pci_dev_load(&b->dev, r);
	if (rc)
		return rc;
	b->in_reset = in_reset;
	pci_host_update_mappings(&b->dev);
	return snap_r_end(r);
}
