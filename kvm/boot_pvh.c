/* PVH boot (xen/include/public/arch-x86/hvm/start_info.h, and Linux's
 * arch/x86/platform/pvh/enlighten.c reading it): an hvm_start_info with
 * the command line, the initrd as module 0, the RSDP address and, from
 * version 1, the memory map. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/gm.h"
#include "kvm/boot.h"

#define BOOT_HVM_START_MAGIC 0x336ec578u

struct boot_hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;     /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct boot_hvm_start_info) == 56, "start_info");
_Static_assert(offsetof(struct boot_hvm_start_info, memmap_paddr) == 40, "memmap");

struct boot_hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct boot_hvm_modlist_entry) == 32, "modlist");

struct boot_hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct boot_hvm_memmap_entry) == 24, "memmap entry");

#define BOOT_PVH_MODLIST_ADDR (BOOT_START_INFO_ADDR + 0x40)
#define BOOT_PVH_MEMMAP_ADDR (BOOT_START_INFO_ADDR + 0x80)
_Static_assert(BOOT_PVH_MEMMAP_ADDR + BOOT_E820_MAX * 24 <= BOOT_ZERO_PAGE_ADDR,
	       "PVH tables overlap the zero page");

int boot_pvh_setup(struct gm *gm, const struct layout *l,
		   const struct machine_config *cfg,
		   const struct boot_image *img, struct boot_cpu *cpu,
		   struct boot_info *info, char *err, size_t errlen)
{
	struct boot_e820 map[BOOT_E820_MAX];
	int n = boot_e820_table(l, cfg, map, err, errlen);
	if (n < 0)
		return -1;
	if (boot_write_cmdline(gm, img->cmdline ? img->cmdline : "",
			       BOOT_CMDLINE_MAX, info, err, errlen) < 0)
		return -1;
	/* No initrd_addr_max in PVH: keep it below the 32-bit hole, where
	 * Linux's early code can reach it before its own page tables. */
	if (boot_place_initrd(gm, l, img, info->kernel_end, LAYOUT_LOW_RAM_END,
			      info, err, errlen) < 0)
		return -1;

	struct boot_hvm_start_info si;
	memset(&si, 0, sizeof(si));
	si.magic = BOOT_HVM_START_MAGIC;
	si.version = 1;
	si.cmdline_paddr = info->cmdline_addr;
	si.rsdp_paddr = img->rsdp_addr;
	si.memmap_paddr = BOOT_PVH_MEMMAP_ADDR;
	si.memmap_entries = (uint32_t)n;
	int r = 0;
	if (info->initrd_size) {
		struct boot_hvm_modlist_entry m = {
			.paddr = info->initrd_addr, .size = info->initrd_size,
		};
		si.nr_modules = 1;
		si.modlist_paddr = BOOT_PVH_MODLIST_ADDR;
		r = gm_write(gm, BOOT_PVH_MODLIST_ADDR, &m, sizeof(m));
	}
	for (int i = 0; i < n && r == 0; i++) {
		struct boot_hvm_memmap_entry e = {
			.addr = map[i].addr, .size = map[i].size, .type = map[i].type,
		};
		r = gm_write(gm, BOOT_PVH_MEMMAP_ADDR + (uint64_t)i * sizeof(e),
			     &e, sizeof(e));
	}
	if (r == 0)
		r = gm_write(gm, BOOT_START_INFO_ADDR, &si, sizeof(si));
	if (r < 0) {
		snprintf(err, errlen, "vmm: cannot write the PVH start info");
		return -1;
	}
	info->proto = BOOT_PROTO_PVH;
	info->params_addr = BOOT_START_INFO_ADDR;
	info->e820_entries = (unsigned)n;
	boot_cpu_pvh(cpu, info->entry, BOOT_START_INFO_ADDR);
	return 0;
}
