/* libFuzzer target: two PCI-to-PCI bridges on bus 0 with functions behind
 * them and beside them, driven by any sequence of config writes and reads
 * (0xCF8/0xCFC and ECAM, any bus, devfn, offset, width), memory and I/O
 * accesses over the windows, INTx changes, detach/re-attach and firmware
 * resource assignment.  After every step the invariants are checked and a
 * violation aborts:
 *   - a BAR behind a bridge is mapped only at its programmed address,
 *     with its own decode enabled and inside what its bridge forwards now
 *     (window + Memory/I/O Space Enable + ISA Enable rules);
 *   - a bus 0 BAR is mapped only at its address with decode enabled;
 *   - each INTx GSI's level is the wired-OR of every attached function
 *     routed to it (asserted, pin present, Interrupt Disable clear);
 *   - a type 1 request for a bridge's secondary bus reaches that bridge's
 *     function when the bridge is the first on bus 0 to claim the bus;
 *     a bus nobody claims reads all-ones.
 * Input: a stream of 8-byte records (op, then operands; short input reads
 * zeros). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/layout.h"
#include "devices/pci/bridge.h"
#include "devices/pci/pci.h"
#include "fuzz_input.h"
#include "sim/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NBR 2
#define NKID 3
#define NBUS0 2
#define MMIO64_BASE 0x8000000000ull
#define MAX_STEPS 512

static const unsigned br_slot[NBR] = { 2, 5 };
static const unsigned kid_slot[NKID] = { 0, 1, 4 };
static const unsigned bus0_slot[NBUS0] = { 1, 3 };

struct fdev {
	struct pci_dev pci;
	bool attached;
};

struct fz {
	struct sim *s;
	struct pci_host *h;
	struct pci_bridge *br[NBR];
	struct fdev kid[NBR][NKID];
	struct fdev bus0[NBUS0];
};

static int fdev_access(void *opaque, uint64_t off, void *data, unsigned len,
		       bool is_write)
{
	(void)opaque;
	(void)off;
	if (!is_write)
		memset(data, 0x5a, len);
	return 0;
}

static void fdev_init(struct fdev *f, uint16_t devid, uint8_t pin)
{
	struct pci_dev_info info = { .vendor_id = 0x1b36, .device_id = devid,
				     .class_code = 0xff0000, .irq_pin = pin };
	pci_dev_init(&f->pci, &info, "fz", NULL);
	pci_dev_set_bar(&f->pci, 0, PCI_BAR_MEM32, 0x1000, false, fdev_access, f, "m");
	pci_dev_set_bar(&f->pci, 1, PCI_BAR_IO, 0x10, false, fdev_access, f, "io");
	pci_dev_set_bar(&f->pci, 2, PCI_BAR_MEM64, 0x4000, true, fdev_access, f, "p");
}

static uint32_t u32(struct fuzz_in *in)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < 4; i++)
		v |= (uint32_t)fuzz_u8(in) << (8 * i);
	return v;
}

static void check_bars(const struct pci_dev *d, const struct pci_bridge *parent)
{
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar *b = &d->bars[i];
		if (b->kind == PCI_BAR_NONE || !b->mapped)
			continue;
		bool io = b->kind == PCI_BAR_IO;
		if (b->mapped_addr != pci_bar_addr(d, i) ||
		    !(io ? pci_io_enabled(d) : pci_mem_enabled(d)))
			abort();
		if (parent && !pci_bridge_forwards(parent, io, b->mapped_addr, b->size))
			abort();
	}
}

static int drives(const struct fdev *f, unsigned gsi)
{
	const struct pci_dev *d = &f->pci;
	return f->attached && d->intx.gsi == gsi && d->intx_asserted &&
	       pci_cfg_get8(d, PCI_INTERRUPT_PIN) &&
	       !(pci_cfg_get16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
}

/* The first bus 0 bridge (in devfn order) claiming bus, or -1. */
static int claimer(const struct fz *z, unsigned bus)
{
	for (unsigned b = 0; b < NBR; b++)
		if (pci_bridge_claims_bus(z->br[b], bus))
			return (int)b;
	return -1;
}

static void check(struct fz *z)
{
	for (unsigned b = 0; b < NBR; b++)
		for (unsigned k = 0; k < NKID; k++)
			if (z->kid[b][k].attached)
				check_bars(&z->kid[b][k].pci, z->br[b]);
	for (unsigned i = 0; i < NBUS0; i++)
		check_bars(&z->bus0[i].pci, NULL);
	for (unsigned g = LAYOUT_GSI_PCI_INTX; g < LAYOUT_GSI_PCI_INTX + 4; g++) {
		int want = 0;
		for (unsigned b = 0; b < NBR; b++)
			for (unsigned k = 0; k < NKID; k++)
				want |= drives(&z->kid[b][k], g);
		for (unsigned i = 0; i < NBUS0; i++)
			want |= drives(&z->bus0[i], g);
		if ((z->s->gsi_level[g] != 0) != want)
			abort();
	}
	for (unsigned b = 0; b < NBR; b++) {
		unsigned sec = pci_bridge_secondary(z->br[b]);
		if (sec == 0 || claimer(z, sec) != (int)b)
			continue;
		for (unsigned k = 0; k < NKID; k++) {
			uint32_t v = pci_host_cfg_read(z->h, sec,
						       PCI_DEVFN(kid_slot[k], 0), 0, 4);
			uint32_t want = z->kid[b][k].attached ?
				pci_cfg_get32(&z->kid[b][k].pci, 0) : 0xffffffffu;
			if (v != want)
				abort();
		}
	}
	/* Some bus no bridge claims: master abort. */
	for (unsigned bus = 1; bus < 256; bus += 37)
		if (claimer(z, bus) < 0 &&
		    pci_host_cfg_read(z->h, bus, 0, 0, 4) != 0xffffffffu)
			abort();
}

static struct fdev *pick(struct fz *z, uint8_t sel, struct pci_bridge **parent,
			 unsigned *slot)
{
	unsigned n = sel % (NBR * NKID + NBUS0);
	if (n < NBR * NKID) {
		*parent = z->br[n / NKID];
		*slot = kid_slot[n % NKID];
		return &z->kid[n / NKID][n % NKID];
	}
	*parent = NULL;
	*slot = bus0_slot[n - NBR * NKID];
	return &z->bus0[n - NBR * NKID];
}

/* Interesting bus numbers: the bridges' current secondaries, small ones,
 * anything. */
static unsigned pick_bus(struct fz *z, uint8_t v)
{
	switch (v & 3) {
	case 0: return pci_bridge_secondary(z->br[(v >> 2) & 1]);
	case 1: return (v >> 2) & 7;
	case 2: return 0;
	default: return v;
	}
}

static unsigned pick_len(uint8_t v)
{
	static const unsigned lens[8] = { 1, 2, 4, 4, 1, 2, 8, 3 };
	return lens[v & 7];
}

/* Offsets near the type 1 registers most of the time. */
static uint32_t pick_off(uint8_t a, uint8_t b)
{
	if (a & 0x80)
		return (uint32_t)((a & 0x0f) << 8 | b);
	return 0x04 + ((uint32_t)b % 0x3c);
}

static void step(struct fz *z, struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in), a = fuzz_u8(in), b = fuzz_u8(in), c = fuzz_u8(in);
	uint32_t v = u32(in);
	struct sim *s = z->s;
	switch (op % 9) {
	case 0: {   /* config write through 0xCF8/0xCFC */
		unsigned bus = pick_bus(z, a), devfn = b;
		uint32_t off = pick_off(0, c);
		unsigned len = pick_len(c >> 5);
		sim_pio_write(s, 0xcf8, 4, 0x80000000u | bus << 16 | devfn << 8 |
			      (off & 0xfc));
		sim_pio_write(s, (uint16_t)(0xcfc + (off & 3)), len, v);
		break;
	}
	case 1: {   /* config write through ECAM */
		unsigned bus = pick_bus(z, a);
		uint32_t off = pick_off(c, (uint8_t)(v >> 24));
		sim_mmio_write(s, LAYOUT_ECAM_BASE + ((uint64_t)bus << 20) +
			       ((uint64_t)b << 12) + off, pick_len(c >> 4), v);
		break;
	}
	case 2: {   /* config reads, both mechanisms */
		unsigned bus = pick_bus(z, a);
		uint32_t off = pick_off(c, (uint8_t)v);
		(void)sim_mmio_read(s, LAYOUT_ECAM_BASE + ((uint64_t)bus << 20) +
				    ((uint64_t)b << 12) + off, pick_len(c >> 4));
		sim_pio_write(s, 0xcf8, 4, v | 0x80000000u);
		(void)sim_pio_read(s, (uint16_t)(0xcfc + (c & 3)), pick_len(a));
		break;
	}
	case 3: {   /* a bridge register directly, as Linux sets windows */
		struct pci_bridge *br = z->br[a & 1];
		pci_cfg_write(pci_bridge_dev(br), PCI_PRIMARY_BUS + (b % 0x28),
			      pick_len(c) == 8 ? 4 : pick_len(c), v);
		break;
	}
	case 4: {   /* memory accesses in the 32-bit and 64-bit windows */
		uint64_t base = (a & 1) ? MMIO64_BASE : LAYOUT_PCI_MMIO32_BASE;
		uint64_t addr = base + ((uint64_t)(v & 0xffff) << 12) + (b & 0xfc);
		if (c & 1)
			sim_mmio_write(s, addr, 4, v);
		else
			(void)sim_mmio_read(s, addr, 4);
		break;
	}
	case 5: {   /* port I/O in the I/O window */
		uint16_t port = (uint16_t)(LAYOUT_PCI_IO_BASE + (v % LAYOUT_PCI_IO_SIZE));
		if (c & 1)
			sim_pio_write(s, port, 1, b);
		else
			(void)sim_pio_read(s, port, 1);
		break;
	}
	case 6: {   /* INTx */
		struct pci_bridge *parent;
		unsigned slot;
		struct fdev *f = pick(z, a, &parent, &slot);
		if (f->attached)
			pci_set_irq(&f->pci, b & 1);
		break;
	}
	case 7: {   /* detach / re-attach */
		struct pci_bridge *parent;
		unsigned slot;
		struct fdev *f = pick(z, a, &parent, &slot);
		if (f->attached) {
			if (parent)
				pci_bridge_detach(parent, &f->pci);
			else
				pci_host_detach(z->h, &f->pci);
			f->attached = false;
		} else {
			int r = parent ? pci_bridge_attach(parent, &f->pci, slot, 0)
				       : pci_host_attach(z->h, &f->pci, slot, 0);
			if (r)
				abort();
			f->attached = true;
		}
		break;
	}
	default:    /* what firmware does, any time */
		(void)pci_host_assign_resources(z->h);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *z = calloc(1, sizeof(*z));
	struct sim_config sc = { .ram_size = 1 << 20 };
	if (!z)
		return 0;
	z->s = sim_new(&sc);
	struct pci_host_windows w = {
		.mmio32_base = LAYOUT_PCI_MMIO32_BASE, .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
		.mmio64_base = MMIO64_BASE, .mmio64_size = 1ull << 30,
		.io_base = LAYOUT_PCI_IO_BASE, .io_size = LAYOUT_PCI_IO_SIZE,
	};
	z->h = pci_host_new(z->s->m.pio, z->s->m.mmio, LAYOUT_ECAM_BASE, &w,
			    z->s->m.irqchip, NULL);
	if (!z->h)
		abort();
	for (unsigned b = 0; b < NBR; b++) {
		z->br[b] = pci_bridge_new((uint8_t)(b + 1), b == 0, "br", NULL);
		if (!z->br[b] ||
		    pci_host_attach(z->h, pci_bridge_dev(z->br[b]), br_slot[b], 0))
			abort();
		pci_bridge_set_buses(z->br[b], 0, (uint8_t)(b + 1), (uint8_t)(b + 1));
		for (unsigned k = 0; k < NKID; k++) {
			fdev_init(&z->kid[b][k], (uint16_t)(0x100 + b * 16 + k),
				  (uint8_t)(1 + k % 4));
			if (pci_bridge_attach(z->br[b], &z->kid[b][k].pci, kid_slot[k], 0))
				abort();
			z->kid[b][k].attached = true;
		}
	}
	for (unsigned i = 0; i < NBUS0; i++) {
		fdev_init(&z->bus0[i], (uint16_t)(0x200 + i), 1);
		if (pci_host_attach(z->h, &z->bus0[i].pci, bus0_slot[i], 0))
			abort();
		z->bus0[i].attached = true;
	}
	struct fuzz_in in = { data, size };
	check(z);
	for (unsigned n = 0; in.n && n < MAX_STEPS; n++) {
		step(z, &in);
		check(z);
	}
	for (unsigned b = 0; b < NBR; b++)
		pci_bridge_free(z->br[b]);
	pci_host_free(z->h);
	sim_free(z->s);
	free(z);
	return 0;
}
