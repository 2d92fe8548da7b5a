/* The guest's memory map, from core/layout.h: the one table both Linux
 * protocols (boot_params.e820_table, PVH's hvm_memmap) carry. */
#include <stdio.h>
#include <errno.h>
#include <string.h>

#include "devices/nvdimm.h"
#include "kvm/boot.h"

static int boot_e820_add(struct boot_e820 *out, unsigned max, unsigned *n,
			 uint64_t addr, uint64_t size, uint32_t type)
{
	if (size == 0)
		return 0;
	if (*n >= max)
		return -ENOSPC;
	out[*n].addr = addr;
	out[*n].size = size;
	out[*n].type = type;
	(*n)++;
	return 0;
}

/* Flush-hint pages the NFIT points at (one per NVDIMM, devices/nvdimm.h):
 * only when an NFIT is built, i.e. nvdimm=on without pmem-legacy=on. */
static uint64_t boot_e820_flush_hints(const struct machine_config *cfg)
{
	if (!cfg || !cfg->machine.nvdimm || cfg->machine.pmem_legacy)
		return 0;
	uint64_t n = 0;
	for (unsigned i = 0; i < cfg->ndevices; i++)
		n += cfg->devices[i].type == CFG_DEV_NVDIMM;
	return n * NVDIMM_FLUSH_STRIDE;
}

int boot_e820_build(const struct layout *l, const struct machine_config *cfg,
		    struct boot_e820 *out, unsigned max)
{
	unsigned n = 0;
	int r = 0;
	for (unsigned i = 0; i < l->nram && r == 0; i++) {
		uint64_t a = l->ram[i].gpa, end = a + l->ram[i].size;
		if (a < LAYOUT_BIOS_END) {
			/* Below 1 MiB: conventional memory up to the EBDA, then
			 * the EBDA, VGA hole and BIOS/ACPI area (RSDP at
			 * LAYOUT_ACPI_BASE) reserved, as on a PC. */
			uint64_t low = end < LAYOUT_EBDA_START ? end : LAYOUT_EBDA_START;
			r = boot_e820_add(out, max, &n, a, low - a, BOOT_E820_RAM);
			if (r == 0 && end > LAYOUT_EBDA_START)
				r = boot_e820_add(out, max, &n, LAYOUT_EBDA_START,
						  LAYOUT_BIOS_END - LAYOUT_EBDA_START,
						  BOOT_E820_RESERVED);
			if (r == 0 && end > LAYOUT_BIOS_END)
				r = boot_e820_add(out, max, &n, LAYOUT_BIOS_END,
						  end - LAYOUT_BIOS_END, BOOT_E820_RAM);
		} else {
			r = boot_e820_add(out, max, &n, a, end - a, BOOT_E820_RAM);
		}
	}
	/* PCIe ECAM must be reserved for Linux to trust the MCFG
	 * (arch/x86/pci/mmconfig-shared.c is_mmconf_reserved). */
	if (r == 0 && l->pci)
		r = boot_e820_add(out, max, &n, LAYOUT_ECAM_BASE, LAYOUT_ECAM_SIZE,
				  BOOT_E820_RESERVED);
	if (r == 0)
		r = boot_e820_add(out, max, &n, BOOT_KVM_PRIVATE_ADDR,
				  BOOT_KVM_PRIVATE_SIZE, BOOT_E820_RESERVED);
	/* The flush hints are MMIO in the 32-bit hole: reserved, so Linux
	 * neither counts them as a gap for PCI windows nor places a BAR over
	 * them (arch/x86/kernel/e820.c e820__setup_pci_gap, and the reserved
	 * resources e820__reserve_resources inserts). */
	if (r == 0)
		r = boot_e820_add(out, max, &n, NVDIMM_FLUSH_BASE,
				  boot_e820_flush_hints(cfg), BOOT_E820_RESERVED);
	/* NVDIMMs: described by the NFIT and absent from e820 (as QEMU does);
	 * with pmem-legacy=on, for kernels without NFIT, e820 type 12. */
	if (cfg && cfg->machine.pmem_legacy) {
		for (unsigned i = 0; i < l->ndevs && r == 0; i++)
			if (l->devs[i].pmem_size)
				r = boot_e820_add(out, max, &n, l->devs[i].pmem_base,
						  l->devs[i].pmem_size, BOOT_E820_PRAM);
	}
	if (r < 0)
		return r;
	/* Insertion sort by address: a handful of entries. */
	for (unsigned i = 1; i < n; i++) {
		struct boot_e820 e = out[i];
		unsigned j = i;
		while (j > 0 && out[j - 1].addr > e.addr) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = e;
	}
	return (int)n;
}

int boot_e820_table(const struct layout *l, const struct machine_config *cfg,
		    struct boot_e820 *out, char *err, size_t errlen)
{
	int n = boot_e820_build(l, cfg, out, BOOT_E820_MAX);
	if (n < 0)
		snprintf(err, errlen, "vmm: memory map has more than %d entries",
			 BOOT_E820_MAX);
	return n;
}
