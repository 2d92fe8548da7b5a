/* layout_build(): the address map of core/layout.h computed from a
 * validated configuration.  Pure (no I/O, no globals), so the boot code,
 * ACPI, the board, the DTB dump and the simulator get the same answer. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "layout.h"

/* Pins no legacy device of this machine drives: 0 PIT, 1 i8042, 2 the
 * 8259 cascade, 3/4 COM ports, 8 RTC, 9 ACPI SCI; 16-19 are PCI INTx. */
static const unsigned mmio_gsis[] = { 5, 6, 7, 10, 11, 12, 13, 14, 15,
				      20, 21, 22, 23 };
#define N_MMIO_GSIS (sizeof(mmio_gsis) / sizeof(mmio_gsis[0]))

static int lerr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int lerr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return -1;
	n = snprintf(err, errlen, "vmm: ");
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static void place_ram(struct layout *l, const struct machine_config *cfg)
{
	uint64_t m = cfg->mem.size;
	uint64_t low = m < LAYOUT_LOW_RAM_END ? m : LAYOUT_LOW_RAM_END;

	l->ram[l->nram++] = (struct layout_ram){ 0, low };
	l->ram_top = low;
	if (m > low) {
		l->ram[l->nram++] = (struct layout_ram){ LAYOUT_HOLE_END, m - low };
		l->ram_top = LAYOUT_HOLE_END + (m - low);
	}
}

static int place_nvdimms(struct layout *l, const struct machine_config *cfg,
			 char *err, size_t errlen)
{
	uint64_t base = l->ram_top > LAYOUT_HOLE_END ? l->ram_top : LAYOUT_HOLE_END;
	uint64_t cur, avail = 0;
	unsigned n = 0;

	l->devmem_base = align_up(base, LAYOUT_PMEM_ALIGN);
	cur = l->devmem_base;
	if (cfg->mem.maxmem)
		avail = cfg->mem.maxmem - cfg->mem.size;
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		const struct cfg_object *o;
		struct layout_dev *ld = &l->devs[i];
		uint64_t size;

		if (d->type != CFG_DEV_NVDIMM)
			continue;
		if (++n > LAYOUT_MAX_NVDIMM)
			return lerr(err, errlen, "-device nvdimm: too many nvdimms (at most %d)",
				    LAYOUT_MAX_NVDIMM);
		o = config_object(cfg, d->memdev);
		if (!o || o->size <= d->label_size)
			return lerr(err, errlen, "-device nvdimm: memdev '%s' has no room after the label area",
				    d->memdev);
		/* The label area is the backend's tail (as QEMU's nvdimm);
		 * the guest sees the rest, page granular. */
		size = (o->size - d->label_size) & ~4095ull;
		if (!size)
			return lerr(err, errlen, "-device nvdimm: memdev '%s' is smaller than a page after the label area",
				    d->memdev);
		cur = align_up(cur, LAYOUT_NVDIMM_ALIGN);
		ld->pmem_base = cur;
		ld->pmem_size = size;
		cur += size;
	}
	cur = align_up(cur, LAYOUT_NVDIMM_ALIGN);
	if (cfg->mem.maxmem) {
		if (cur - l->devmem_base > avail)
			return lerr(err, errlen, "-m: the nvdimms need %llu MiB of device memory but maxmem - size leaves %llu MiB (raise maxmem)",
				    (unsigned long long)((cur - l->devmem_base) >> 20),
				    (unsigned long long)(avail >> 20));
		l->devmem_size = avail;
		return layout_place_memdevs(l, cfg, cur, err, errlen);
	} else {
		l->devmem_size = cur - l->devmem_base;
	}
	return 0;
}

static int place_mmio(struct layout *l, const struct machine_config *cfg,
		      char *err, size_t errlen)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->ndevices; i++) {
		struct layout_dev *ld = &l->devs[i];

		if (cfg->devices[i].transport != CFG_TRANSPORT_MMIO)
			continue;
		if (n == N_MMIO_GSIS)
			return lerr(err, errlen, "-device %s: too many virtio-mmio devices (at most %zu: one free interrupt line each)",
				    config_device_name(&cfg->devices[i]),
				    N_MMIO_GSIS);
		ld->mmio_base = LAYOUT_VIRTIO_MMIO_BASE +
				(uint64_t)n * LAYOUT_VIRTIO_MMIO_SIZE;
		ld->mmio_size = LAYOUT_VIRTIO_MMIO_SIZE;
		ld->gsi = mmio_gsis[n];
		ld->has_gsi = true;
		n++;
	}
	l->nvirtio_mmio = n;
	return 0;
}

static bool slot_used(const struct layout *l, const struct machine_config *cfg,
		      int bus, int slot)
{
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (l->devs[i].pci_bus == bus && l->devs[i].pci_slot == slot)
			return true;
	return false;
}

static int place_pci(struct layout *l, const struct machine_config *cfg,
		     char *err, size_t errlen)
{
	unsigned next_bus = 1;

	/* Bridges first: their secondary bus numbers name the buses the
	 * devices behind them sit on. */
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].type == CFG_DEV_PCI_BRIDGE)
			l->devs[i].bridge_bus = (int)next_bus++;
	l->npci_buses = next_bus;
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];

		if (d->transport != CFG_TRANSPORT_PCI || d->pci_slot < 0)
			continue;
		l->devs[i].pci_bus = d->parent < 0 ? 0 : l->devs[d->parent].bridge_bus;
		l->devs[i].pci_slot = d->pci_slot;
		l->devs[i].pci_func = d->pci_func;
	}
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		int bus, slot;

		if (d->transport != CFG_TRANSPORT_PCI || d->pci_slot >= 0)
			continue;
		bus = d->parent < 0 ? 0 : l->devs[d->parent].bridge_bus;
		/* Slot 0 of bus 0 is the host bridge; of an SHPC bridge, the
		 * hot-plug controller's. */
		slot = (bus == 0 || cfg->devices[d->parent].shpc) ? 1 : 0;
		/* A root port's link has device 0 only. */
		int nslots = d->parent >= 0 && cfg->devices[d->parent].pcie_port ? 1 : CFG_PCI_SLOTS;
		while (slot < nslots && slot_used(l, cfg, bus, slot))
			slot++;
		if (slot == nslots)
			return lerr(err, errlen, "-device %s: no free PCI slot on %s (32 slots)",
				    config_device_name(d), d->bus);
		l->devs[i].pci_bus = bus;
		l->devs[i].pci_slot = slot;
		l->devs[i].pci_func = 0;
	}
	/* INTx: every function uses INTA (virtio-pci does); swizzle up
	 * through a bridge to bus 0. */
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		struct layout_dev *ld = &l->devs[i];
		unsigned pin = 0, slot = (unsigned)ld->pci_slot;

		if (d->transport != CFG_TRANSPORT_PCI)
			continue;
		ld->pci_pin = 0;
		if (d->parent >= 0) {
			pin = (pin + slot) % 4;
			slot = (unsigned)l->devs[d->parent].pci_slot;
		}
		ld->gsi = layout_intx_gsi(slot, pin);
		ld->has_gsi = true;
	}
	return 0;
}

int layout_build(struct layout *l, const struct machine_config *cfg,
		 char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	if (err && errlen)
		err[0] = '\0';
	l->ncpus = cfg->smp.cpus;
	l->pci = cfg->machine.type == CFG_MACHINE_Q35;
	l->ndevs = cfg->ndevices;
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		l->devs[i].cfg_index = (int)i;
		l->devs[i].pci_bus = l->devs[i].pci_slot = l->devs[i].pci_func = -1;
		l->devs[i].bridge_bus = -1;
		l->devs[i].mem_slot = -1;
		if (cfg->devices[i].transport == CFG_TRANSPORT_PCI && !l->pci)
			return lerr(err, errlen, "-device %s: virtio-*-pci needs -machine q35",
				    config_device_name(&cfg->devices[i]));
	}
	place_ram(l, cfg);
	if (place_nvdimms(l, cfg, err, errlen) || place_mmio(l, cfg, err, errlen))
		return -1;
	if (l->pci) {
		if (place_pci(l, cfg, err, errlen))
			return -1;
		l->mmio64_base = align_up(l->devmem_base + l->devmem_size,
					  LAYOUT_PMEM_ALIGN);
		l->mmio64_size = LAYOUT_MMIO64_SIZE;
	}
	return 0;
}

const struct layout_dev *layout_dev_for(const struct layout *l, int cfg_index)
{
	if (cfg_index < 0 || (unsigned)cfg_index >= l->ndevs)
		return NULL;
	return &l->devs[cfg_index];
}
