/* libFuzzer target: the kernel-image parsers (ELF/PVH, bzImage setup
 * header) on any bytes.  boot_load either refuses with a message or
 * leaves a consistent boot: an entry inside the loaded image (PVH and
 * vmlinux) or at startup_64 (bzImage), the image at or above 1 MiB, the
 * initrd page-aligned inside RAM and clear of the image, and the protocol
 * structure where the registers point.  Seeds: fuzz/corpus/boot (the
 * test guest ELF and a synthetic bzImage header). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "kvm/boot.h"

#define FUZZ_RAM (32u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	char *argv[] = { "vmm", "-m", "32M", "-kernel", "fuzz", NULL };
	char err[512];
	if (!cfg || config_parse(cfg, 5, argv, err, sizeof(err)) != 0)
		abort();
	struct layout l;
	if (layout_build(&l, cfg, err, sizeof(err)) != 0)
		abort();
	struct gm *gm = gm_new();
	if (!gm || gm_add_heap(gm, 0, FUZZ_RAM, 0, "ram") != 0)
		abort();
	static const uint8_t initrd[5000] = { 1, 2, 3 };
	struct boot_image img = {
		.kernel = data, .kernel_len = size, .initrd = initrd,
		.initrd_len = sizeof(initrd), .cmdline = "console=ttyS0",
		.rsdp_addr = 0xe0000,
	};
	struct boot_cpu cpu;
	struct boot_info info;
	err[0] = '\0';
	int r = boot_load(gm, &l, cfg, &img, &cpu, &info, err, sizeof(err));
	if (r != 0) {
		if (r != -1 || !err[0])
			abort();            /* refusals always say why */
	} else {
		if (info.kernel_start < LAYOUT_BIOS_END ||
		    info.kernel_end <= info.kernel_start || info.kernel_end > FUZZ_RAM)
			abort();
		if (cpu.rip != info.entry)
			abort();
		if (info.proto == BOOT_PROTO_PVH || !boot_is_bzimage(data, size)) {
			if (info.entry < info.kernel_start || info.entry >= info.kernel_end)
				abort();
		} else if (info.entry != BOOT_KERNEL_ADDR + 0x200) {
			abort();
		}
		if (info.initrd_addr & 0xfff || info.initrd_size != sizeof(initrd) ||
		    info.initrd_addr + info.initrd_size > FUZZ_RAM ||
		    (info.initrd_addr < info.kernel_end &&
		     info.initrd_addr + info.initrd_size > info.kernel_start))
			abort();
		uint32_t magic = 0;
		if (info.proto == BOOT_PROTO_PVH) {
			if (cpu.rbx != BOOT_START_INFO_ADDR ||
			    gm_read_u32le(gm, cpu.rbx, &magic) || magic != 0x336ec578u)
				abort();
		} else {
			uint16_t flag = 0;
			if (cpu.rsi != BOOT_ZERO_PAGE_ADDR ||
			    gm_read_u16le(gm, cpu.rsi + 0x1fe, &flag) || flag != 0xaa55)
				abort();
		}
		if (info.e820_entries == 0)
			abort();
	}
	gm_free(gm);
	free(cfg);
	return 0;
}
