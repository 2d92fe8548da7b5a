/* The sim driver's virtio-pci transport (virtio 1.2 §4.1.3, §4.1.4): PCI
 * enumeration through ECAM, BAR assignment as an OS would do it, the
 * vendor capability walk, then common-config register accesses. */
#define VIRTIO_PCI_NO_LEGACY
#include <errno.h>
#include <stddef.h>
#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>
#include "core/layout.h"
#include "devices/virtio/pci.h"
#include "vdriver.h"

#define C(field) offsetof(struct virtio_pci_common_cfg, field)

uint32_t vdriver_pci_cfg_read(struct vdriver *d, uint32_t off, unsigned len)
{
	return (uint32_t)sim_mmio_read(d->sim, d->ecam + off, len);
}

void vdriver_pci_cfg_write(struct vdriver *d, uint32_t off, unsigned len,
			   uint32_t val)
{
	sim_mmio_write(d->sim, d->ecam + off, len, val);
}

static uint64_t crd(struct vdriver *d, uint32_t off, unsigned len)
{
	return sim_mmio_read(d->sim, d->common + off, len);
}

static void cwr(struct vdriver *d, uint32_t off, unsigned len, uint64_t v)
{
	sim_mmio_write(d->sim, d->common + off, len, v);
}

uint32_t vdriver_pci_virtio_id(struct vdriver *d)
{
	/* §4.1.2.1: a modern id is 0x1040 + the type; a transitional one
	 * (0x1000-0x103f) names the type in its subsystem id. */
	uint32_t id = vdriver_pci_cfg_read(d, PCI_DEVICE_ID, 2);
	if (id < VIRTIO_PCI_DEVICE_BASE)
		return vdriver_pci_cfg_read(d, PCI_SUBSYSTEM_ID, 2);
	return (id - VIRTIO_PCI_DEVICE_BASE) & 0xffff;
}

static uint8_t p_get_status(struct vdriver *d)
{
	return (uint8_t)crd(d, C(device_status), 1);
}

static void p_set_status(struct vdriver *d, uint8_t s)
{
	cwr(d, C(device_status), 1, s);
}

static uint32_t p_get_features(struct vdriver *d, uint32_t word)
{
	cwr(d, C(device_feature_select), 4, word);
	return (uint32_t)crd(d, C(device_feature), 4);
}

static void p_set_features(struct vdriver *d, uint32_t word, uint32_t val)
{
	cwr(d, C(guest_feature_select), 4, word);
	cwr(d, C(guest_feature), 4, val);
}

static uint32_t p_generation(struct vdriver *d)
{
	return (uint32_t)crd(d, C(config_generation), 1);
}

static uint64_t p_config_read(struct vdriver *d, uint32_t off, unsigned len)
{
	return sim_mmio_read(d->sim, d->device + off, len);
}

static void p_config_write(struct vdriver *d, uint32_t off, unsigned len,
			   uint64_t val)
{
	sim_mmio_write(d->sim, d->device + off, len, val);
}

static uint16_t p_queue_max(struct vdriver *d, unsigned q)
{
	cwr(d, C(queue_select), 2, q);
	return (uint16_t)crd(d, C(queue_size), 2);
}

static bool p_queue_setup(struct vdriver *d, unsigned q,
			  const struct vq_config *cfg)
{
	/* §4.1.5.1.3: select, size, vector (read back), addresses, enable. */
	cwr(d, C(queue_select), 2, q);
	if (crd(d, C(queue_enable), 2))
		return false;
	cwr(d, C(queue_size), 2, cfg->size);
	if (d->msix) {
		cwr(d, C(queue_msix_vector), 2, cfg->msix_vector);
		if (crd(d, C(queue_msix_vector), 2) != cfg->msix_vector)
			return false;
	}
	cwr(d, C(queue_desc_lo), 4, (uint32_t)cfg->desc);
	cwr(d, C(queue_desc_hi), 4, (uint32_t)(cfg->desc >> 32));
	cwr(d, C(queue_avail_lo), 4, (uint32_t)cfg->driver);
	cwr(d, C(queue_avail_hi), 4, (uint32_t)(cfg->driver >> 32));
	cwr(d, C(queue_used_lo), 4, (uint32_t)cfg->device);
	cwr(d, C(queue_used_hi), 4, (uint32_t)(cfg->device >> 32));
	cwr(d, C(queue_enable), 2, 1);
	return crd(d, C(queue_enable), 2) == 1;
}

static bool p_queue_ready(struct vdriver *d, unsigned q)
{
	cwr(d, C(queue_select), 2, q);
	return crd(d, C(queue_enable), 2) != 0;
}

static void p_kick(struct vdriver *d, unsigned q)
{
	cwr(d, C(queue_select), 2, q);
	uint32_t off = (uint32_t)crd(d, C(queue_notify_off), 2);
	sim_mmio_write(d->sim, d->notify + (uint64_t)off * d->notify_mult, 2, q);
}

static void p_config_irq_setup(struct vdriver *d)
{
	/* Config changes on vector 0 (§4.1.5.1.2); a reset cleared it. */
	if (d->msix)
		cwr(d, C(msix_config), 2, 0);
}

static uint32_t p_isr_ack(struct vdriver *d)
{
	/* Reading the ISR clears it (§4.1.4.5). */
	return (uint32_t)sim_mmio_read(d->sim, d->isr, 1);
}

static bool p_irq_pending(struct vdriver *d)
{
	if (d->msix) {
		bool fired = d->sim->msi_count != d->msi_seen;
		d->msi_seen = d->sim->msi_count;
		return fired;
	}
	return d->sim->gsi_level[d->gsi & 0xff] != 0;
}

const struct vdriver_bus vdriver_pci_bus = {
	.name = "virtio-pci",
	.device_id = vdriver_pci_virtio_id,
	.get_status = p_get_status,
	.set_status = p_set_status,
	.get_features = p_get_features,
	.set_features = p_set_features,
	.config_generation = p_generation,
	.config_read = p_config_read,
	.config_write = p_config_write,
	.queue_max = p_queue_max,
	.queue_setup = p_queue_setup,
	.queue_ready = p_queue_ready,
	.kick = p_kick,
	.config_irq_setup = p_config_irq_setup,
	.isr_ack = p_isr_ack,
	.irq_pending = p_irq_pending,
};

/* Each bus 0 function gets its own slice of the windows so several
 * probed devices never overlap: 1 MiB of MMIO32 and 128 bytes of I/O per
 * devfn (0x6000-0xdfff).  A bridge has no BARs, so its slot's 8 MiB hold
 * the memory window for its secondary bus, 32 KiB per function there;
 * its I/O window (4 KiB granular) is one of the two 4 KiB pages above
 * 0xe000 (by slot parity), 128 bytes per slot behind it (function 0). */
#define MEM_SLICE 0x100000ull
#define IO_SLICE 0x80ull
#define BRIDGE_WINDOW (MEM_SLICE * 8)
#define CHILD_SLICE (BRIDGE_WINDOW / 256)
#define BRIDGE_IO_BASE (LAYOUT_PCI_IO_BASE + 256 * IO_SLICE)
#define BRIDGE_IO_WINDOW 0x1000ull
#define CHILD_IO_SLICE (BRIDGE_IO_WINDOW / 32)

/* Size and place every BAR as an OS does (PCI 3.0 §6.2.5.1): write
 * all-ones, read back the size, program a naturally aligned address from
 * [mem, mem_end) / [io, io_end).  bars[i] receives each BAR's address
 * (0: none). */
static void assign_bars(struct vdriver *d, uint64_t bars[6], uint64_t mem,
			uint64_t mem_end, uint64_t io, uint64_t io_end)
{
	for (unsigned i = 0; i < 6; i++) {
		uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * i;
		uint32_t orig = vdriver_pci_cfg_read(d, reg, 4);
		vdriver_pci_cfg_write(d, reg, 4, 0xffffffffu);
		uint32_t lo = vdriver_pci_cfg_read(d, reg, 4);
		bars[i] = 0;
		if (lo == 0)
			continue;
		bool is_io = orig & PCI_BASE_ADDRESS_SPACE_IO;
		bool is64 = !is_io && (orig & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
					      PCI_BASE_ADDRESS_MEM_TYPE_64;
		uint64_t mask = lo & (is_io ? ~3u : ~0xfu);
		if (is64) {
			vdriver_pci_cfg_write(d, reg + 4, 4, 0xffffffffu);
			mask |= (uint64_t)vdriver_pci_cfg_read(d, reg + 4, 4) << 32;
		} else {
			mask |= 0xffffffff00000000ull;
		}
		uint64_t size = ~mask + 1;
		uint64_t *next = is_io ? &io : &mem;
		uint64_t end = is_io ? io_end : mem_end;
		uint64_t a = (*next + size - 1) & ~(size - 1);
		if (size == 0 || a > end || end - a < size) {
			i += is64;
			continue;  /* does not fit: left unassigned */
		}
		*next = a + size;
		bars[i] = a;
		vdriver_pci_cfg_write(d, reg, 4, (uint32_t)a);
		if (is64) {
			vdriver_pci_cfg_write(d, reg + 4, 4, (uint32_t)(a >> 32));
			i++;
		}
	}
}

void vdriver_pci_enable_msix(struct vdriver *d, uint8_t cap, const uint64_t bars[6])
{
	uint16_t ctl = (uint16_t)vdriver_pci_cfg_read(d, cap + PCI_MSIX_FLAGS, 2);
	uint32_t tbl = vdriver_pci_cfg_read(d, cap + PCI_MSIX_TABLE, 4);
	d->nvec = (ctl & PCI_MSIX_FLAGS_QSIZE) + 1u;
	d->msix_table = bars[tbl & PCI_MSIX_TABLE_BIR] + (tbl & PCI_MSIX_TABLE_OFFSET);
	/* Function-mask while programming, as Linux does, then unmask. */
	vdriver_pci_cfg_write(d, cap + PCI_MSIX_FLAGS, 2,
			      PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	for (unsigned v = 0; v < d->nvec; v++) {
		uint64_t e = d->msix_table + v * PCI_MSIX_ENTRY_SIZE;
		sim_mmio_write(d->sim, e + PCI_MSIX_ENTRY_LOWER_ADDR, 4,
			       (uint32_t)VDRIVER_MSI_ADDR);
		sim_mmio_write(d->sim, e + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
		sim_mmio_write(d->sim, e + PCI_MSIX_ENTRY_DATA, 4, VDRIVER_MSI_DATA(v));
		sim_mmio_write(d->sim, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	}
	vdriver_pci_cfg_write(d, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	d->msix = true;
	d->msi_seen = d->sim->msi_count;
}

static uint64_t ecam_of(unsigned bus, unsigned devfn)
{
	return LAYOUT_ECAM_BASE + ((uint64_t)bus << 20) + ((uint64_t)devfn << 12);
}

/* Find the bus 0 bridge (header type 1) whose secondary bus is bus, open
 * its memory and I/O windows on its slot's slices and turn on decode and
 * bus mastering, as Linux's pci_enable_bridge does for a child.  The
 * memory window base (*io: the I/O one), or 0 when no bridge leads there. */
static uint64_t open_bridge(struct sim *s, unsigned bus, uint64_t *io)
{
	for (unsigned devfn = 8; devfn < 256; devfn++) {
		uint64_t e = ecam_of(0, devfn);
		if ((sim_mmio_read(s, e + PCI_VENDOR_ID, 2) & 0xffff) == 0xffff ||
		    (sim_mmio_read(s, e + PCI_HEADER_TYPE, 1) & 0x7f) !=
			    PCI_HEADER_TYPE_BRIDGE ||
		    sim_mmio_read(s, e + PCI_SECONDARY_BUS, 1) != bus)
			continue;
		uint64_t base = LAYOUT_PCI_MMIO32_BASE + (devfn & ~7u) * MEM_SLICE;
		uint64_t limit = base + BRIDGE_WINDOW - 1;
		sim_mmio_write(s, e + PCI_MEMORY_BASE, 2, (base >> 16) & 0xfff0);
		sim_mmio_write(s, e + PCI_MEMORY_LIMIT, 2, (limit >> 16) & 0xfff0);
		*io = BRIDGE_IO_BASE + ((devfn >> 3) & 1) * BRIDGE_IO_WINDOW;
		sim_mmio_write(s, e + PCI_IO_BASE, 1, (*io >> 8) & PCI_IO_RANGE_MASK);
		sim_mmio_write(s, e + PCI_IO_LIMIT, 1,
			       ((*io + BRIDGE_IO_WINDOW - 1) >> 8) & PCI_IO_RANGE_MASK);
		uint16_t cmd = (uint16_t)sim_mmio_read(s, e + PCI_COMMAND, 2);
		sim_mmio_write(s, e + PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY |
			       PCI_COMMAND_IO | PCI_COMMAND_MASTER);
		return base;
	}
	return 0;
}

int vdriver_pci_probe(struct vdriver *d, struct sim *s, unsigned slot,
		      unsigned func, bool use_msix)
{
	return vdriver_pci_probe_bus(d, s, 0, slot, func, use_msix);
}

/* Enumerate, assign BARs, find MSI-X; bars[] gets the addresses. */
static int pci_enumerate(struct vdriver *d, struct sim *s, unsigned bus,
			 unsigned slot, unsigned func, uint64_t bars[6])
{
	d->sim = s;
	d->devfn = ((slot << 3) | func) & 0xff;
	d->ecam = ecam_of(bus & 0xff, d->devfn);
	uint32_t id = vdriver_pci_cfg_read(d, PCI_VENDOR_ID, 4);
	if ((id & 0xffff) != VIRTIO_PCI_VENDOR || (id >> 16) < VIRTIO_PCI_TRANSITIONAL_BASE)
		return -ENODEV;
	vdriver_pci_cfg_write(d, PCI_COMMAND, 2, 0);
	if (bus == 0) {
		uint64_t mem = LAYOUT_PCI_MMIO32_BASE + d->devfn * MEM_SLICE;
		uint64_t io = LAYOUT_PCI_IO_BASE + d->devfn * IO_SLICE;
		assign_bars(d, bars, mem, mem + MEM_SLICE, io, io + IO_SLICE);
	} else {
		uint64_t io = 0, win = open_bridge(s, bus, &io);
		if (!win)
			return -ENODEV;
		uint64_t mem = win + d->devfn * CHILD_SLICE;
		io += (d->devfn >> 3) * CHILD_IO_SLICE;
		assign_bars(d, bars, mem, mem + CHILD_SLICE, io,
			    func ? io : io + CHILD_IO_SLICE);
	}
	d->gsi = vdriver_pci_cfg_read(d, PCI_INTERRUPT_LINE, 1);
	return 0;
}

int vdriver_pci_probe_bus(struct vdriver *d, struct sim *s, unsigned bus,
			  unsigned slot, unsigned func, bool use_msix)
{
	*d = (struct vdriver){ .bus = &vdriver_pci_bus };
	uint64_t bars[6];
	int r = pci_enumerate(d, s, bus, slot, func, bars);
	if (r)
		return r;
	uint8_t msix_cap = 0;
	/* Walk the capability list (bounded: a hostile device could loop). */
	uint8_t c = (uint8_t)vdriver_pci_cfg_read(d, PCI_CAPABILITY_LIST, 1);
	for (unsigned n = 0; c && n < 48; n++) {
		uint8_t cid = (uint8_t)vdriver_pci_cfg_read(d, c, 1);
		if (cid == PCI_CAP_ID_MSIX)
			msix_cap = c;
		if (cid == PCI_CAP_ID_VNDR) {
			uint8_t type = (uint8_t)vdriver_pci_cfg_read(
				d, c + offsetof(struct virtio_pci_cap, cfg_type), 1);
			uint8_t bar = (uint8_t)vdriver_pci_cfg_read(
				d, c + offsetof(struct virtio_pci_cap, bar), 1);
			uint32_t off = vdriver_pci_cfg_read(
				d, c + offsetof(struct virtio_pci_cap, offset), 4);
			uint64_t a = bar < 6 ? bars[bar] + off : 0;
			switch (type) {
			case VIRTIO_PCI_CAP_COMMON_CFG: d->common = a; break;
			case VIRTIO_PCI_CAP_ISR_CFG: d->isr = a; break;
			case VIRTIO_PCI_CAP_DEVICE_CFG: d->device = a; break;
			case VIRTIO_PCI_CAP_PCI_CFG: d->cfg_cap = c; break;
			case VIRTIO_PCI_CAP_NOTIFY_CFG:
				d->notify = a;
				d->notify_mult = vdriver_pci_cfg_read(
					d, c + offsetof(struct virtio_pci_notify_cap,
							notify_off_multiplier), 4);
				break;
			}
		}
		c = (uint8_t)vdriver_pci_cfg_read(d, c + PCI_CAP_LIST_NEXT, 1);
	}
	if (!d->common || !d->isr || !d->notify)
		return -EPROTO;
	vdriver_pci_cfg_write(d, PCI_COMMAND, 2,
			      PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	if (use_msix && msix_cap)
		vdriver_pci_enable_msix(d, msix_cap, bars);
	return 0;
}

/* Linux's virtio_pci_legacy_probe: a transitional device id, BAR 0 an
 * I/O BAR; then I/O decode and bus mastering. */
int vdriver_pci_probe_legacy_bus(struct vdriver *d, struct sim *s, unsigned bus,
				 unsigned slot, unsigned func, bool use_msix)
{
	*d = (struct vdriver){ .bus = &vdriver_pci_legacy_bus, .legacy = true };
	uint64_t bars[6];
	int r = pci_enumerate(d, s, bus, slot, func, bars);
	if (r)
		return r;
	uint16_t dev = (uint16_t)vdriver_pci_cfg_read(d, PCI_DEVICE_ID, 2);
	if (dev >= VIRTIO_PCI_DEVICE_BASE)
		return -ENODEV;  /* modern-only: no legacy interface */
	if (!(vdriver_pci_cfg_read(d, PCI_BASE_ADDRESS_0, 4) & PCI_BASE_ADDRESS_SPACE_IO) ||
	    !bars[0])
		return -EPROTO;
	d->io = (uint16_t)bars[0];
	uint8_t msix_cap = 0;
	uint8_t c = (uint8_t)vdriver_pci_cfg_read(d, PCI_CAPABILITY_LIST, 1);
	for (unsigned n = 0; c && n < 48; n++) {
		if ((uint8_t)vdriver_pci_cfg_read(d, c, 1) == PCI_CAP_ID_MSIX)
			msix_cap = c;
		c = (uint8_t)vdriver_pci_cfg_read(d, c + PCI_CAP_LIST_NEXT, 1);
	}
	vdriver_pci_cfg_write(d, PCI_COMMAND, 2,
			      PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	if (use_msix && msix_cap)
		vdriver_pci_enable_msix(d, msix_cap, bars);
	return 0;
}

int vdriver_pci_probe_legacy(struct vdriver *d, struct sim *s, unsigned slot,
			     unsigned func, bool use_msix)
{
	return vdriver_pci_probe_legacy_bus(d, s, 0, slot, func, use_msix);
}
