/* What every boot protocol shares: the GDT, identity page tables, the
 * command line, initrd placement, and the dispatch on the file's format. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/gm.h"
#include "kvm/boot.h"

/* Flat descriptors (Intel SDM vol. 3 §3.4.5): base 0, limit 4 GiB, G=1.
 *   0x08 code, 32-bit (D=1), execute/read, accessed
 *   0x10 code, 64-bit (L=1)
 *   0x18 data, read/write, accessed, B=1
 *   0x20 32-bit TSS, busy (loaded straight into TR's hidden state; VM
 *        entry requires a usable busy TSS, SDM vol. 3 §27.3.1.2) */
void boot_gdt_entries(uint64_t out[BOOT_GDT_ENTRIES])
{
	out[0] = 0;
	out[1] = 0x00cf9b000000ffffull;
	out[2] = 0x00af9b000000ffffull;
	out[3] = 0x00cf93000000ffffull;
	out[4] = 0x00008b0000000067ull;
}

struct boot_seg boot_seg_from_desc(uint64_t d, uint16_t sel)
{
	struct boot_seg s;
	memset(&s, 0, sizeof(s));
	s.sel = sel;
	s.base = ((d >> 16) & 0xffffffull) | ((d >> 32) & 0xff000000ull);
	s.limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	s.type = (d >> 40) & 0xf;
	s.s = (d >> 44) & 1;
	s.dpl = (d >> 45) & 3;
	s.present = (d >> 47) & 1;
	s.avl = (d >> 52) & 1;
	s.l = (d >> 53) & 1;
	s.db = (d >> 54) & 1;
	s.g = (d >> 55) & 1;
	if (s.g)
		s.limit = (s.limit << 12) | 0xfff;
	return s;
}

/* Page-table entry bits (SDM vol. 3 §4.5): present, writable, 2 MiB page. */
#define BOOT_PTE_P 1ull
#define BOOT_PTE_RW 2ull
#define BOOT_PTE_PS 0x80ull

int boot_common(struct gm *gm, struct boot_cpu *cpu, char *err, size_t errlen)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	boot_gdt_entries(gdt);
	int r = 0;
	for (unsigned i = 0; i < BOOT_GDT_ENTRIES && r == 0; i++)
		r = gm_write_u64le(gm, BOOT_GDT_ADDR + 8 * i, gdt[i]);
	/* Identity map of 0-4 GiB with 2 MiB pages: covers the kernel, the
	 * boot structures, the initrd (placed below 4 GiB) and the MMIO
	 * hole, as the 64-bit protocol requires (boot.rst). */
	if (r == 0)
		r = gm_fill(gm, BOOT_PML4_ADDR, 0, 0x1000);
	if (r == 0)
		r = gm_write_u64le(gm, BOOT_PML4_ADDR, BOOT_PDPT_ADDR | BOOT_PTE_P | BOOT_PTE_RW);
	if (r == 0)
		r = gm_fill(gm, BOOT_PDPT_ADDR, 0, 0x1000);
	for (uint64_t i = 0; i < 4 && r == 0; i++)
		r = gm_write_u64le(gm, BOOT_PDPT_ADDR + 8 * i,
				   (BOOT_PD_ADDR + 0x1000 * i) | BOOT_PTE_P | BOOT_PTE_RW);
	/* One page directory at a time, built little-endian in a buffer:
	 * 2048 separate 8-byte guest writes made this the bulk of a boot
	 * load's cost (fuzz_boot). */
	uint8_t pd[4096];
	for (uint64_t p = 0; p < 4 && r == 0; p++) {
		for (uint64_t j = 0; j < 512; j++) {
			uint64_t e = ((p * 512 + j) << 21) | BOOT_PTE_P |
				     BOOT_PTE_RW | BOOT_PTE_PS;
			for (unsigned b = 0; b < 8; b++)
				pd[8 * j + b] = (uint8_t)(e >> (8 * b));
		}
		r = gm_write(gm, BOOT_PD_ADDR + 0x1000 * p, pd, sizeof(pd));
	}
	if (r < 0) {
		snprintf(err, errlen, "vmm: guest RAM does not cover the boot "
			 "structures below 1 MiB");
		return -1;
	}
	memset(cpu, 0, sizeof(*cpu));
	cpu->gdt_base = BOOT_GDT_ADDR;
	cpu->gdt_limit = BOOT_GDT_ENTRIES * 8 - 1;
	cpu->ds = boot_seg_from_desc(gdt[BOOT_SEL_DATA / 8], BOOT_SEL_DATA);
	cpu->tr = boot_seg_from_desc(gdt[BOOT_SEL_TSS / 8], BOOT_SEL_TSS);
	cpu->rflags = 2;
	return 0;
}

void boot_cpu_linux64(struct boot_cpu *cpu, uint64_t entry, uint64_t params)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	boot_gdt_entries(gdt);
	cpu->proto = BOOT_PROTO_LINUX64;
	cpu->rip = entry;
	cpu->rsi = params;
	cpu->cs = boot_seg_from_desc(gdt[BOOT_SEL_CODE64 / 8], BOOT_SEL_CODE64);
	/* boot.rst "64-bit Boot Protocol": long mode with paging, an
	 * identity map, __BOOT_CS/__BOOT_DS, %rsi = boot_params.  CR0 PE|ET|PG,
	 * CR4.PAE, EFER.LME|LMA. */
	cpu->cr0 = 0x80000011ull;
	cpu->cr4 = 0x20;
	cpu->efer = 0x500;
	cpu->cr3 = BOOT_PML4_ADDR;
}

void boot_cpu_pvh(struct boot_cpu *cpu, uint64_t entry, uint64_t start_info)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	boot_gdt_entries(gdt);
	cpu->proto = BOOT_PROTO_PVH;
	cpu->rip = entry;
	cpu->rbx = start_info;
	cpu->cs = boot_seg_from_desc(gdt[BOOT_SEL_CODE32 / 8], BOOT_SEL_CODE32);
	/* xen/include/public/arch-x86/hvm/start_info.h: 32-bit protected
	 * mode, paging off, flat CS/DS, TR a 32-bit TSS, %ebx = start info. */
	cpu->cr0 = 0x11;
	cpu->cr4 = 0;
	cpu->efer = 0;
	cpu->cr3 = 0;
}

int boot_write_cmdline(struct gm *gm, const char *cmdline, uint64_t max_len,
		       struct boot_info *info, char *err, size_t errlen)
{
	size_t len = strlen(cmdline) + 1;
	if (max_len > BOOT_CMDLINE_MAX)
		max_len = BOOT_CMDLINE_MAX;
	if (len > max_len) {
		snprintf(err, errlen, "vmm: -append: command line of %zu bytes "
			 "exceeds the kernel's limit of %llu", len - 1,
			 (unsigned long long)(max_len - 1));
		return -1;
	}
	if (gm_write(gm, BOOT_CMDLINE_ADDR, cmdline, len) < 0) {
		snprintf(err, errlen, "vmm: guest RAM does not cover the command "
			 "line at 0x%llx", (unsigned long long)BOOT_CMDLINE_ADDR);
		return -1;
	}
	info->cmdline_addr = BOOT_CMDLINE_ADDR;
	return 0;
}

int boot_place_initrd(struct gm *gm, const struct layout *l,
		      const struct boot_image *img, uint64_t floor,
		      uint64_t limit, struct boot_info *info, char *err,
		      size_t errlen)
{
	info->initrd_addr = info->initrd_size = 0;
	if (!img->initrd)
		return 0;
	uint64_t len = img->initrd_len, best = 0;
	bool found = false;
	floor = (floor + 0xfff) & ~0xfffull;
	/* Highest fit: the kernel decompresses upwards from its load
	 * address, so keep the initrd as far from it as possible. */
	for (unsigned i = 0; i < l->nram; i++) {
		uint64_t a = l->ram[i].gpa, end = a + l->ram[i].size;
		if (end > limit)
			end = limit;
		if (end <= a || end - a < len)
			continue;
		uint64_t start = (end - len) & ~0xfffull;
		if (start < a || start < floor)
			continue;
		if (!found || start > best) {
			best = start;
			found = true;
		}
	}
	if (!found) {
		snprintf(err, errlen, "vmm: -initrd: %llu bytes do not fit in "
			 "guest RAM between 0x%llx and 0x%llx: raise -m",
			 (unsigned long long)len,
			 (unsigned long long)floor, (unsigned long long)limit);
		return -1;
	}
	if (gm_write(gm, best, img->initrd, len) < 0) {
		snprintf(err, errlen, "vmm: -initrd: cannot write %llu bytes at 0x%llx",
			 (unsigned long long)len, (unsigned long long)best);
		return -1;
	}
	info->initrd_addr = best;
	info->initrd_size = len;
	return 0;
}

int boot_load(struct gm *gm, const struct layout *l,
	      const struct machine_config *cfg, const struct boot_image *img,
	      struct boot_cpu *cpu, struct boot_info *info, char *err,
	      size_t errlen)
{
	memset(info, 0, sizeof(*info));
	if (boot_common(gm, cpu, err, errlen) < 0)
		return -1;
	if (boot_is_elf(img->kernel, img->kernel_len))
		return boot_load_elf(gm, l, cfg, img, cpu, info, err, errlen);
	if (boot_is_bzimage(img->kernel, img->kernel_len))
		return boot_load_bzimage(gm, l, cfg, img, cpu, info, err, errlen);
	snprintf(err, errlen, "vmm: -kernel '%s': not a Linux kernel (neither "
		 "an ELF image nor a bzImage with a 'HdrS' setup header)",
		 cfg->kernel);
	return -1;
}
