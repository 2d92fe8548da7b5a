/* Linux bzImage through the 64-bit entry (Documentation/arch/x86/boot.rst):
 * validate the real-mode setup header, load the protected-mode part at
 * 1 MiB, and build boot_params (the "zero page") with the header copied
 * from the image, the command line, the initrd and the e820 map.  The
 * same zero page serves a vmlinux booted through its 64-bit entry. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/gm.h"
#include "kvm/boot.h"

/* struct setup_header (boot.rst "The Real-Mode Kernel Header"), at offset
 * 0x1f1 in both the image and boot_params. */
struct boot_setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));

#define BOOT_HDR_OFF 0x1f1
#define BOOT_HDR_AT(f) (BOOT_HDR_OFF + offsetof(struct boot_setup_header, f))
_Static_assert(BOOT_HDR_AT(boot_flag) == 0x1fe, "boot_flag");
_Static_assert(BOOT_HDR_AT(header) == 0x202, "header");
_Static_assert(BOOT_HDR_AT(type_of_loader) == 0x210, "type_of_loader");
_Static_assert(BOOT_HDR_AT(cmd_line_ptr) == 0x228, "cmd_line_ptr");
_Static_assert(BOOT_HDR_AT(xloadflags) == 0x236, "xloadflags");
_Static_assert(BOOT_HDR_AT(init_size) == 0x260, "init_size");
_Static_assert(BOOT_HDR_AT(kernel_info_offset) == 0x268, "kernel_info_offset");

struct boot_e820_raw {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

/* struct boot_params (arch/x86/include/uapi/asm/bootparam.h), up to the
 * e820 table, which is all a loader fills in. */
struct boot_zero_page {
	uint8_t screen_info[0x40];
	uint8_t apm_bios_info[0x14];
	uint8_t _pad2[4];
	uint64_t tboot_addr;
	uint8_t ist_info[0x10];
	uint64_t acpi_rsdp_addr;
	uint8_t _pad3[8];
	uint8_t hd0_info[16];
	uint8_t hd1_info[16];
	uint8_t sys_desc_table[0x10];
	uint8_t olpc_ofw_header[0x10];
	uint32_t ext_ramdisk_image;
	uint32_t ext_ramdisk_size;
	uint32_t ext_cmd_line_ptr;
	uint8_t _pad4[112];
	uint32_t cc_blob_address;
	uint8_t edid_info[0x80];
	uint8_t efi_info[0x20];
	uint32_t alt_mem_k;
	uint32_t scratch;
	uint8_t e820_entries;
	uint8_t eddbuf_entries;
	uint8_t edd_mbr_sig_buf_entries;
	uint8_t kbd_status;
	uint8_t secure_boot;
	uint8_t _pad5[2];
	uint8_t sentinel;
	uint8_t _pad6[1];
	struct boot_setup_header hdr;
	uint8_t _pad7[0x290 - BOOT_HDR_OFF - sizeof(struct boot_setup_header)];
	uint32_t edd_mbr_sig_buffer[16];
	struct boot_e820_raw e820_table[BOOT_E820_MAX];
} __attribute__((packed));
_Static_assert(offsetof(struct boot_zero_page, acpi_rsdp_addr) == 0x070, "rsdp");
_Static_assert(offsetof(struct boot_zero_page, ext_ramdisk_image) == 0x0c0, "ext");
_Static_assert(offsetof(struct boot_zero_page, e820_entries) == 0x1e8, "e820_entries");
_Static_assert(offsetof(struct boot_zero_page, sentinel) == 0x1ef, "sentinel");
_Static_assert(offsetof(struct boot_zero_page, hdr) == BOOT_HDR_OFF, "hdr");
_Static_assert(offsetof(struct boot_zero_page, e820_table) == 0x2d0, "e820_table");
_Static_assert(sizeof(struct boot_zero_page) <= 4096, "zero page");

#define BOOT_HDRS_MAGIC 0x53726448u     /* "HdrS" */
#define BOOT_FLAG_MAGIC 0xaa55u
#define BOOT_MIN_VERSION 0x020c         /* 2.12: xloadflags, 64-bit entry */
#define BOOT_LOADED_HIGH 0x01
#define BOOT_CAN_USE_HEAP 0x80
#define BOOT_XLF_KERNEL_64 0x01
#define BOOT_LOADER_UNDEFINED 0xff      /* type_of_loader: "other" */

bool boot_is_bzimage(const uint8_t *k, size_t len)
{
	uint32_t magic;
	if (len < BOOT_HDR_AT(header) + 4)
		return false;
	memcpy(&magic, k + BOOT_HDR_AT(header), 4);
	return magic == BOOT_HDRS_MAGIC;
}

int boot_linux_params(struct gm *gm, const struct layout *l,
		      const struct machine_config *cfg,
		      const struct boot_image *img, const uint8_t *hdr,
		      size_t hdr_len, struct boot_info *info, char *err,
		      size_t errlen)
{
	struct boot_zero_page zp;
	memset(&zp, 0, sizeof(zp));
	if (hdr) {
		if (hdr_len > sizeof(zp.hdr))
			hdr_len = sizeof(zp.hdr);
		memcpy(&zp.hdr, hdr, hdr_len);
	} else {
		/* vmlinux has no setup header: give the fields the kernel
		 * checks the values a bzImage would carry. */
		zp.hdr.boot_flag = BOOT_FLAG_MAGIC;
		zp.hdr.header = BOOT_HDRS_MAGIC;
		zp.hdr.version = BOOT_MIN_VERSION;
		zp.hdr.kernel_alignment = 0x1000000;
		zp.hdr.cmdline_size = BOOT_CMDLINE_MAX - 1;
		zp.hdr.initrd_addr_max = 0x7fffffff;
	}
	zp.hdr.type_of_loader = BOOT_LOADER_UNDEFINED;
	zp.hdr.loadflags |= BOOT_CAN_USE_HEAP;
	zp.hdr.heap_end_ptr = 0xfe00;   /* boot.rst: setup + heap end - 0x200 */
	zp.acpi_rsdp_addr = img->rsdp_addr;

	/* cmdline_size excludes the NUL (boot.rst, protocol 2.06+). */
	if (boot_write_cmdline(gm, img->cmdline ? img->cmdline : "",
			       (uint64_t)zp.hdr.cmdline_size + 1, info, err,
			       errlen) < 0)
		return -1;
	zp.hdr.cmd_line_ptr = (uint32_t)info->cmdline_addr;

	uint64_t limit = (uint64_t)zp.hdr.initrd_addr_max + 1;
	if (limit > LAYOUT_LOW_RAM_END)
		limit = LAYOUT_LOW_RAM_END;
	/* Keep the initrd clear of where the kernel decompresses itself:
	 * from its load address, or from pref_address (where a relocatable
	 * kernel moves to, LOAD_PHYSICAL_ADDR), up to init_size. */
	uint64_t floor = info->kernel_end;
	uint64_t base = zp.hdr.pref_address > info->kernel_start ?
			zp.hdr.pref_address : info->kernel_start;
	if (hdr && base + zp.hdr.init_size > floor)
		floor = base + zp.hdr.init_size;
	if (boot_place_initrd(gm, l, img, floor, limit, info, err, errlen) < 0)
		return -1;
	zp.hdr.ramdisk_image = (uint32_t)info->initrd_addr;
	zp.hdr.ramdisk_size = (uint32_t)info->initrd_size;

	struct boot_e820 map[BOOT_E820_MAX];
	int n = boot_e820_table(l, cfg, map, err, errlen);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		zp.e820_table[i].addr = map[i].addr;
		zp.e820_table[i].size = map[i].size;
		zp.e820_table[i].type = map[i].type;
	}
	zp.e820_entries = (uint8_t)n;
	if (gm_fill(gm, BOOT_ZERO_PAGE_ADDR, 0, 4096) < 0 ||
	    gm_write(gm, BOOT_ZERO_PAGE_ADDR, &zp, sizeof(zp)) < 0) {
		snprintf(err, errlen, "vmm: cannot write boot_params");
		return -1;
	}
	info->params_addr = BOOT_ZERO_PAGE_ADDR;
	info->e820_entries = (unsigned)n;
	return 0;
}

int boot_load_bzimage(struct gm *gm, const struct layout *l,
		      const struct machine_config *cfg,
		      const struct boot_image *img, struct boot_cpu *cpu,
		      struct boot_info *info, char *err, size_t errlen)
{
	const uint8_t *k = img->kernel;
	size_t len = img->kernel_len;
	const char *path = cfg->kernel;
	struct boot_setup_header h;
	if (len < BOOT_HDR_OFF + sizeof(h)) {
		snprintf(err, errlen, "vmm: -kernel '%s': truncated bzImage "
			 "(%zu bytes, shorter than its setup header)", path, len);
		return -1;
	}
	memcpy(&h, k + BOOT_HDR_OFF, sizeof(h));
	if (h.boot_flag != BOOT_FLAG_MAGIC) {
		snprintf(err, errlen, "vmm: -kernel '%s': bad boot_flag 0x%04x "
			 "(expected 0xaa55)", path, h.boot_flag);
		return -1;
	}
	if (h.version < BOOT_MIN_VERSION || !(h.xloadflags & BOOT_XLF_KERNEL_64)) {
		snprintf(err, errlen, "vmm: -kernel '%s': boot protocol %u.%02u "
			 "without a 64-bit entry point; vmm needs 2.12 or later "
			 "with XLF_KERNEL_64 (a 64-bit Linux 3.8+)", path,
			 h.version >> 8, h.version & 0xff);
		return -1;
	}
	if (!(h.loadflags & BOOT_LOADED_HIGH)) {
		snprintf(err, errlen, "vmm: -kernel '%s': a zImage (loaded low) "
			 "is not supported", path);
		return -1;
	}
	/* setup_sects 0 means 4 (boot.rst); then the boot sector itself. */
	size_t setup = ((size_t)(h.setup_sects ? h.setup_sects : 4) + 1) * 512;
	uint64_t pm_size = (uint64_t)h.syssize * 16;
	if (setup >= len || pm_size == 0 || pm_size > len - setup) {
		snprintf(err, errlen, "vmm: -kernel '%s': truncated bzImage: "
			 "setup %zu + kernel %llu bytes, file %zu", path, setup,
			 (unsigned long long)pm_size, len);
		return -1;
	}
	/* The kernel runs in place from 1 MiB up to init_size bytes. */
	uint64_t need = h.init_size > len - setup ? h.init_size : len - setup;
	if (!gm_range_valid(gm, BOOT_KERNEL_ADDR, need)) {
		snprintf(err, errlen, "vmm: -kernel '%s': needs %llu bytes of RAM "
			 "from 1 MiB to decompress: raise -m", path,
			 (unsigned long long)need);
		return -1;
	}
	if (gm_write(gm, BOOT_KERNEL_ADDR, k + setup, len - setup) < 0) {
		snprintf(err, errlen, "vmm: -kernel '%s': cannot load", path);
		return -1;
	}
	info->boot_version = h.version;
	info->kernel_start = BOOT_KERNEL_ADDR;
	info->kernel_end = BOOT_KERNEL_ADDR + (len - setup);
	/* The 64-bit entry is startup_64, 0x200 past the 32-bit one. */
	info->entry = BOOT_KERNEL_ADDR + 0x200;
	info->proto = BOOT_PROTO_LINUX64;
	/* The header runs from 0x1f1 to 0x202 + the jump's displacement. */
	size_t hdr_end = 0x202 + (size_t)k[0x201];
	if (hdr_end > len)
		hdr_end = len;
	if (boot_linux_params(gm, l, cfg, img, k + BOOT_HDR_OFF,
			      hdr_end - BOOT_HDR_OFF, info, err, errlen) < 0)
		return -1;
	boot_cpu_linux64(cpu, info->entry, info->params_addr);
	return 0;
}
