/* PCI type 0 configuration space of one function (PCI Local Bus 3.0 §6.1,
 * §6.2).  Emulated byte by byte through a writable mask and a
 * write-1-to-clear mask: a BAR's writable bits are ~(size-1), so the
 * all-ones sizing write reads back the size (§6.2.5.1) without special
 * cases. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "bridge.h"
#include "msix.h"
#include "pci.h"

/* Command bits a guest may change (§6.2.2): I/O, memory, bus master,
 * parity error response, SERR#, interrupt disable. */
#define CMD_WMASK                                                        \
	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |      \
	 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)
/* Status error bits are write-1-to-clear (§6.2.3). */
#define STATUS_W1C                                                       \
	(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |               \
	 PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |     \
	 PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

void pci_cfg_set8(struct pci_dev *d, uint32_t off, uint8_t v)
{
	if (off < PCI_CFG_SIZE)
		d->cfg[off] = v;
}

void pci_cfg_set16(struct pci_dev *d, uint32_t off, uint16_t v)
{
	pci_cfg_set8(d, off, (uint8_t)v);
	pci_cfg_set8(d, off + 1, (uint8_t)(v >> 8));
}

void pci_cfg_set32(struct pci_dev *d, uint32_t off, uint32_t v)
{
	pci_cfg_set16(d, off, (uint16_t)v);
	pci_cfg_set16(d, off + 2, (uint16_t)(v >> 16));
}

uint8_t pci_cfg_get8(const struct pci_dev *d, uint32_t off)
{
	return off < PCI_CFG_SIZE ? d->cfg[off] : 0;
}

uint16_t pci_cfg_get16(const struct pci_dev *d, uint32_t off)
{
	return (uint16_t)(pci_cfg_get8(d, off) | pci_cfg_get8(d, off + 1) << 8);
}

uint32_t pci_cfg_get32(const struct pci_dev *d, uint32_t off)
{
	return pci_cfg_get16(d, off) | (uint32_t)pci_cfg_get16(d, off + 2) << 16;
}

void pci_cfg_set_wmask(struct pci_dev *d, uint32_t off, unsigned len,
		       uint32_t mask)
{
	for (unsigned i = 0; i < len && i < 4 && off + i < PCI_CFG_SIZE; i++)
		d->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

void pci_dev_init(struct pci_dev *d, const struct pci_dev_info *info,
		  const char *name, struct log *log)
{
	memset(d, 0, sizeof(*d));
	d->log = log;
	snprintf(d->name, sizeof(d->name), "%s", name ? name : "pci");
	pci_cfg_set16(d, PCI_VENDOR_ID, info->vendor_id);
	pci_cfg_set16(d, PCI_DEVICE_ID, info->device_id);
	pci_cfg_set8(d, PCI_REVISION_ID, info->revision);
	/* Class code register: prog-if at 0x09, subclass 0x0a, base 0x0b. */
	pci_cfg_set8(d, PCI_CLASS_PROG, (uint8_t)info->class_code);
	pci_cfg_set16(d, PCI_CLASS_DEVICE, (uint16_t)(info->class_code >> 8));
	pci_cfg_set8(d, PCI_HEADER_TYPE,
		     PCI_HEADER_TYPE_NORMAL | (info->multifunction ? 0x80 : 0));
	pci_cfg_set16(d, PCI_SUBSYSTEM_VENDOR_ID, info->subsys_vendor_id);
	pci_cfg_set16(d, PCI_SUBSYSTEM_ID, info->subsys_id);
	pci_cfg_set8(d, PCI_INTERRUPT_PIN, info->irq_pin <= 4 ? info->irq_pin : 0);

	pci_cfg_set_wmask(d, PCI_COMMAND, 2, CMD_WMASK);
	d->w1cmask[PCI_STATUS] = (uint8_t)STATUS_W1C;
	d->w1cmask[PCI_STATUS + 1] = (uint8_t)(STATUS_W1C >> 8);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->wmask[PCI_LATENCY_TIMER] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	/* Capabilities start right after the 64-byte header (§6.7). */
	d->cap_end = PCI_STD_HEADER_SIZEOF;
}

static uint32_t bar_reg(unsigned idx)
{
	return PCI_BASE_ADDRESS_0 + 4 * idx;
}

int pci_dev_set_bar(struct pci_dev *d, unsigned idx, enum pci_bar_kind kind,
		    uint64_t size, bool prefetch, bus_access_fn fn,
		    void *opaque, const char *name)
{
	if (idx >= PCI_NUM_BARS || kind == PCI_BAR_NONE || !fn)
		return -EINVAL;
	if (size == 0 || (size & (size - 1)))
		return -EINVAL;
	if (d->bars[idx].kind != PCI_BAR_NONE ||
	    (idx > 0 && d->bars[idx - 1].kind == PCI_BAR_MEM64))
		return -EINVAL;
	uint32_t lo_flags, lo_mask;
	switch (kind) {
	case PCI_BAR_IO:
		/* I/O space is 64 KiB on x86 and an I/O BAR is at most 256
		 * bytes per §6.2.5.1; allow up to 64 KiB anyway. */
		if (size < 4 || size > 0x10000)
			return -EINVAL;
		lo_flags = PCI_BASE_ADDRESS_SPACE_IO;
		lo_mask = (uint32_t)~(size - 1) & (uint32_t)PCI_BASE_ADDRESS_IO_MASK;
		break;
	case PCI_BAR_MEM32:
		if (size < 16 || size > (1ull << 31))
			return -EINVAL;
		lo_flags = PCI_BASE_ADDRESS_MEM_TYPE_32 |
			   (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
		lo_mask = (uint32_t)~(size - 1) & (uint32_t)PCI_BASE_ADDRESS_MEM_MASK;
		break;
	case PCI_BAR_MEM64:
		if (idx + 1 >= PCI_NUM_BARS || d->bars[idx + 1].kind != PCI_BAR_NONE ||
		    size < 16 || size > (1ull << 40))
			return -EINVAL;
		lo_flags = PCI_BASE_ADDRESS_MEM_TYPE_64 |
			   (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
		lo_mask = (uint32_t)~(size - 1) & (uint32_t)PCI_BASE_ADDRESS_MEM_MASK;
		pci_cfg_set32(d, bar_reg(idx + 1), 0);
		pci_cfg_set_wmask(d, bar_reg(idx + 1), 4,
				  (uint32_t)(~(size - 1) >> 32));
		break;
	default:
		return -EINVAL;
	}
	pci_cfg_set32(d, bar_reg(idx), lo_flags);
	pci_cfg_set_wmask(d, bar_reg(idx), 4, lo_mask);
	struct pci_bar *b = &d->bars[idx];
	b->kind = kind;
	b->prefetch = prefetch && kind != PCI_BAR_IO;
	b->size = size;
	b->fn = fn;
	b->opaque = opaque;
	b->name = name ? name : d->name;
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, uint8_t id, unsigned len)
{
	unsigned off = (d->cap_end + 3u) & ~3u;
	if (len < 2 || off + len > PCI_CFG_LEGACY_SIZE)
		return -ENOSPC;
	/* Link at the end of the list; the walk is bounded by the number of
	 * dword slots in config space. */
	uint32_t link = PCI_CAPABILITY_LIST;
	for (unsigned n = 0; n < 64 && d->cfg[link]; n++)
		link = d->cfg[link] + PCI_CAP_LIST_NEXT;
	d->cfg[link] = (uint8_t)off;
	d->cfg[off + PCI_CAP_LIST_ID] = id;
	d->cfg[off + PCI_CAP_LIST_NEXT] = 0;
	pci_cfg_set16(d, PCI_STATUS, pci_cfg_get16(d, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	d->cap_end = (uint16_t)(off + len);
	return (int)off;
}

uint64_t pci_bar_addr(const struct pci_dev *d, unsigned idx)
{
	if (idx >= PCI_NUM_BARS)
		return 0;
	uint32_t lo = pci_cfg_get32(d, bar_reg(idx));
	switch (d->bars[idx].kind) {
	case PCI_BAR_IO:
		return lo & (uint32_t)PCI_BASE_ADDRESS_IO_MASK;
	case PCI_BAR_MEM32:
		return lo & (uint32_t)PCI_BASE_ADDRESS_MEM_MASK;
	case PCI_BAR_MEM64:
		return (lo & (uint32_t)PCI_BASE_ADDRESS_MEM_MASK) |
		       (uint64_t)pci_cfg_get32(d, bar_reg(idx + 1)) << 32;
	default:
		return 0;
	}
}

bool pci_mem_enabled(const struct pci_dev *d)
{
	return pci_cfg_get16(d, PCI_COMMAND) & PCI_COMMAND_MEMORY;
}

bool pci_io_enabled(const struct pci_dev *d)
{
	return pci_cfg_get16(d, PCI_COMMAND) & PCI_COMMAND_IO;
}

bool pci_bus_master(const struct pci_dev *d)
{
	return pci_cfg_get16(d, PCI_COMMAND) & PCI_COMMAND_MASTER;
}

bool pci_dma_allowed(const struct pci_dev *d)
{
	return pci_bus_master(d) &&
	       (!d->parent || pci_bus_master(pci_bridge_dev(d->parent)));
}

void pci_dev_dma_changed(struct pci_dev *d)
{
	/* MSI-X messages held while mastering was off go out first. */
	if (d->msix)
		msix_cfg_written(d->msix);
	if (d->ops && d->ops->dma_changed)
		d->ops->dma_changed(d);
}

/* Config requests are at most a dword and never cross one (PCI 3.0
 * §3.2.2.3.2, PCIe §2.2.7: byte enables within one DW). */
static bool access_ok(struct pci_dev *d, uint32_t off, unsigned len,
		      const char *what)
{
	if ((len == 1 || len == 2 || len == 4) && (off & 3) + len <= 4 &&
	    off < PCI_CFG_SIZE)
		return true;
	log_rl(d->log, &d->rl, LOG_WARN, "%s: bad config %s at 0x%x len %u",
	       d->name, what, off, len);
	return false;
}

uint32_t pci_cfg_read(struct pci_dev *d, uint32_t off, unsigned len)
{
	if (!access_ok(d, off, len, "read"))
		return len >= 4 || len == 0 ? 0xffffffffu : (1u << (8 * len)) - 1;
	if (d->ops && d->ops->cfg_before_read)
		d->ops->cfg_before_read(d, off, len);
	uint32_t v = 0;
	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)d->cfg[off + i] << (8 * i);
	return v;
}

static bool overlaps(uint32_t off, unsigned len, uint32_t start, uint32_t n)
{
	return off < start + n && start < off + len;
}

static void intx_update(struct pci_dev *d);

/* Bus Master Enable of d changed: d itself, or every function behind it
 * when d is a bridge, may master the bus again (or no longer). */
static void master_changed(struct pci_dev *d)
{
	if (!d->bridge) {
		pci_dev_dma_changed(d);
		return;
	}
	for (unsigned i = 0; i < PCI_SLOTS * PCI_FUNCS; i++) {
		struct pci_dev *c = pci_bridge_child(d->bridge, i);
		if (c)
			pci_dev_dma_changed(c);
	}
}

void pci_cfg_write(struct pci_dev *d, uint32_t off, unsigned len, uint32_t val)
{
	if (!access_ok(d, off, len, "write"))
		return;
	bool master = pci_bus_master(d);
	for (unsigned i = 0; i < len; i++) {
		uint32_t o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		d->cfg[o] = (uint8_t)((d->cfg[o] & ~d->wmask[o]) | (b & d->wmask[o]));
		d->cfg[o] &= (uint8_t)~(b & d->w1cmask[o]);
	}
	bool cmd = overlaps(off, len, PCI_COMMAND, 2);
	if (cmd || overlaps(off, len, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS))
		pci_host_update_mappings(d);
	if (cmd)
		intx_update(d);
	if (d->msix && overlaps(off, len, d->msix->cap, PCI_CAP_MSIX_SIZEOF))
		msix_cfg_written(d->msix);
	if (d->ops && d->ops->cfg_written)
		d->ops->cfg_written(d, off, len);
	if (pci_bus_master(d) != master)
		master_changed(d);
}

/* The host ORs the lines of every function sharing a GSI (level-triggered,
 * wired-OR INTx, PCI 3.0 §2.2.6); unattached functions drive their own. */
static void intx_update(struct pci_dev *d)
{
	if (d->host)
		pci_host_intx_changed(d);
	else
		irq_set_level(&d->intx, d->intx_asserted &&
				!(pci_cfg_get16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE));
}

void pci_set_irq(struct pci_dev *d, int level)
{
	d->intx_asserted = level != 0;
	uint16_t st = pci_cfg_get16(d, PCI_STATUS);
	st = (uint16_t)(level ? st | PCI_STATUS_INTERRUPT : st & ~PCI_STATUS_INTERRUPT);
	pci_cfg_set16(d, PCI_STATUS, st);
	intx_update(d);
}

void pci_dev_reset(struct pci_dev *d)
{
	pci_cfg_set16(d, PCI_COMMAND, 0);
	pci_cfg_set16(d, PCI_STATUS,
		      pci_cfg_get16(d, PCI_STATUS) & (uint16_t)~STATUS_W1C);
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		uint32_t r = bar_reg(i);
		/* Keep the read-only type bits, clear the address. */
		for (unsigned j = 0; j < 4; j++)
			d->cfg[r + j] &= (uint8_t)~d->wmask[r + j];
	}
	if (d->msix)
		msix_reset(d->msix);
	d->intx_asserted = false;
	pci_set_irq(d, 0);
	pci_host_update_mappings(d);
	if (d->ops && d->ops->reset)
		d->ops->reset(d);
}
