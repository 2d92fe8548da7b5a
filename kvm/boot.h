/* Loading a kernel into guest memory and describing the boot CPU's state,
 * per the protocol the kernel speaks:
 *   - PVH (an ELF with XEN_ELFNOTE_PHYS32_ENTRY): 32-bit protected mode,
 *     paging off, %ebx = hvm_start_info (xen/include/public/arch-x86/
 *     hvm/start_info.h, version 1 with the memory map);
 *   - Linux bzImage, 64-bit entry (Documentation/arch/x86/boot.rst
 *     "64-bit Boot Protocol"): long mode, identity-mapped page tables,
 *     %rsi = boot_params with the setup header copied from the image;
 *   - Linux vmlinux ELF without a PVH note: the same 64-bit entry at the
 *     ELF entry point (Linux links it as phys_startup_64).
 *
 * Everything here only writes into a struct gm and fills a struct boot_cpu:
 * no ioctl, no file access, so every protocol is unit-tested on simulator
 * memory.  kvm/kvm_vcpu.c turns boot_cpu into KVM register state. */
#ifndef VMM_KVM_BOOT_H
#define VMM_KVM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/config.h"
#include "core/layout.h"

struct gm;

/* Guest-physical placement of the boot structures, all below the EBDA. */
#define BOOT_GDT_ADDR 0x500ull
#define BOOT_START_INFO_ADDR 0x6000ull   /* PVH hvm_start_info + tables */
#define BOOT_ZERO_PAGE_ADDR 0x7000ull    /* Linux boot_params */
#define BOOT_PML4_ADDR 0x9000ull
#define BOOT_PDPT_ADDR 0xa000ull
#define BOOT_PD_ADDR 0xb000ull           /* 4 pages: 0-4 GiB, 2 MiB pages */
#define BOOT_CMDLINE_ADDR 0x20000ull
#define BOOT_CMDLINE_MAX 0x10000ull      /* 64 KiB incl. the NUL */
#define BOOT_KERNEL_ADDR 0x100000ull     /* bzImage protected-mode code */
/* Four pages KVM keeps for itself on Intel hosts (identity-map page, then
 * the real-mode TSS): reserved in e820 like QEMU does, never RAM/MMIO. */
#define BOOT_KVM_PRIVATE_ADDR 0xfffbc000ull
#define BOOT_KVM_PRIVATE_SIZE 0x4000ull

/* GDT selectors.  __BOOT_CS/__BOOT_DS are 0x10/0x18 for Linux's 64-bit
 * entry (boot.rst); PVH uses the flat 32-bit code segment. */
#define BOOT_SEL_CODE32 0x08
#define BOOT_SEL_CODE64 0x10
#define BOOT_SEL_DATA 0x18
#define BOOT_SEL_TSS 0x20
#define BOOT_GDT_ENTRIES 5

/* e820 types (ACPI 6.4 §15, Linux arch/x86/include/asm/e820/types.h). */
enum boot_e820_type {
	BOOT_E820_RAM = 1,
	BOOT_E820_RESERVED = 2,
	BOOT_E820_ACPI = 3,
	BOOT_E820_NVS = 4,
	BOOT_E820_PRAM = 12,   /* legacy persistent memory (pmem-legacy=on) */
};

struct boot_e820 {
	uint64_t addr, size;
	uint32_t type;
};
#define BOOT_E820_MAX 128   /* what boot_params' e820_table holds */

/* The memory map the guest is told: RAM around the 32-bit hole, the
 * EBDA/BIOS/ACPI area reserved, PCIe ECAM reserved (q35), nvdimms as type
 * 12 only with pmem-legacy=on (otherwise the NFIT describes them and they
 * are absent from e820, as with QEMU).  Sorted, non-overlapping.  Returns
 * the entry count, or -ENOSPC. */
int boot_e820_build(const struct layout *l, const struct machine_config *cfg,
		    struct boot_e820 *out, unsigned max);
/* The same into a BOOT_E820_MAX table, for the boot protocols: the entry
 * count, or -1 with the one-line error both protocols report. */
int boot_e820_table(const struct layout *l, const struct machine_config *cfg,
		    struct boot_e820 *out, char *err, size_t errlen);

/* A segment register as the CPU caches it (from a GDT descriptor). */
struct boot_seg {
	uint64_t base;
	uint32_t limit;       /* expanded to bytes when G is set */
	uint16_t sel;
	uint8_t type, s, dpl, present, avl, l, db, g;
};
/* Decode a legacy 8-byte segment descriptor (Intel SDM vol. 3 §3.4.5). */
struct boot_seg boot_seg_from_desc(uint64_t desc, uint16_t sel);
/* The GDT boot_load writes (also exposed for tests). */
void boot_gdt_entries(uint64_t out[BOOT_GDT_ENTRIES]);

enum boot_protocol { BOOT_PROTO_PVH, BOOT_PROTO_LINUX64 };

/* The BSP's state at the kernel's entry point. */
struct boot_cpu {
	enum boot_protocol proto;
	uint64_t rip, rsp, rsi, rbx, rflags;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	struct boot_seg cs, ds, tr;   /* ds also for es, fs, gs, ss */
};

/* Where things landed (tests, log). */
struct boot_info {
	enum boot_protocol proto;
	uint64_t kernel_start, kernel_end;   /* guest-physical, loaded image */
	uint64_t entry;
	uint64_t initrd_addr, initrd_size;
	uint64_t cmdline_addr;
	uint64_t params_addr;                /* boot_params or hvm_start_info */
	unsigned e820_entries;
	uint16_t boot_version;               /* bzImage: setup header version */
};

struct boot_image {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd;               /* NULL: none */
	size_t initrd_len;
	const char *cmdline;                 /* "" allowed */
	uint64_t rsdp_addr;                  /* 0: no ACPI tables */
};

/* Detect the format, validate it, load the kernel, initrd, command line,
 * memory map and protocol structures into gm, and describe the BSP.
 * Returns 0, or -1 with a one-line message naming what is wrong with the
 * file ("not a Linux kernel", "truncated", "boot protocol 2.04 too old",
 * "initrd of N bytes does not fit below 0x...") -- before any vCPU runs. */
int boot_load(struct gm *gm, const struct layout *l,
	      const struct machine_config *cfg, const struct boot_image *img,
	      struct boot_cpu *cpu, struct boot_info *info, char *err,
	      size_t errlen);

/* BSP state for Linux's 64-bit entry / PVH's 32-bit entry. */
void boot_cpu_linux64(struct boot_cpu *cpu, uint64_t entry, uint64_t params);
void boot_cpu_pvh(struct boot_cpu *cpu, uint64_t entry, uint64_t start_info);

/* Per-protocol loaders, for boot_load and the tests.  Each expects the
 * common structures (GDT, page tables) already written by boot_common(). */
int boot_common(struct gm *gm, struct boot_cpu *cpu, char *err, size_t errlen);
bool boot_is_elf(const uint8_t *k, size_t len);
bool boot_is_bzimage(const uint8_t *k, size_t len);
int boot_load_elf(struct gm *gm, const struct layout *l,
		  const struct machine_config *cfg, const struct boot_image *img,
		  struct boot_cpu *cpu, struct boot_info *info, char *err,
		  size_t errlen);
int boot_load_bzimage(struct gm *gm, const struct layout *l,
		      const struct machine_config *cfg,
		      const struct boot_image *img, struct boot_cpu *cpu,
		      struct boot_info *info, char *err, size_t errlen);
/* PVH start info for an ELF loaded by boot_load_elf. */
int boot_pvh_setup(struct gm *gm, const struct layout *l,
		   const struct machine_config *cfg,
		   const struct boot_image *img, struct boot_cpu *cpu,
		   struct boot_info *info, char *err, size_t errlen);
/* boot_params zero page for the 64-bit entry; `hdr`/`hdr_len` is the
 * setup header from a bzImage (NULL for vmlinux: a minimal one is made). */
int boot_linux_params(struct gm *gm, const struct layout *l,
		      const struct machine_config *cfg,
		      const struct boot_image *img, const uint8_t *hdr,
		      size_t hdr_len, struct boot_info *info, char *err,
		      size_t errlen);
/* Place the initrd: highest page-aligned address with its end at or below
 * `limit`, above `floor`, inside RAM.  0 or -1 with err. */
int boot_place_initrd(struct gm *gm, const struct layout *l,
		      const struct boot_image *img, uint64_t floor,
		      uint64_t limit, struct boot_info *info, char *err,
		      size_t errlen);
/* Write the command line at BOOT_CMDLINE_ADDR; max_len includes the NUL. */
int boot_write_cmdline(struct gm *gm, const char *cmdline, uint64_t max_len,
		       struct boot_info *info, char *err, size_t errlen);

#endif
