/* libFuzzer target: the kernel-image parsers (ELF/PVH, bzImage setup
 * header) on any bytes.  boot_load either refuses with a message or
 * leaves a consistent boot: an entry inside the loaded image (PVH and
 * vmlinux) or at startup_64 (bzImage), the image at or above 1 MiB, the
 * initrd page-aligned inside RAM and clear of the image, and the protocol
 * structures where the registers point.  Seeds: fuzz/corpus/boot (the
 * test guest ELF and a synthetic bzImage header).
 *
 * Speed: the configuration, the layout and the 32 MiB of guest RAM are
 * built once and reused.  A fresh calloc'd RAM per input (ASan maps,
 * poisons and unmaps 32 MiB each time) held the harness to ~180 execs/s.
 * Instead a write observer marks the pages an input dirtied and only
 * those are zeroed afterwards, so every input still starts from all-zero
 * RAM (inputs stay independent and crashes reproduce alone). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "kvm/boot.h"

#define FUZZ_RAM (32u << 20)
#define FUZZ_PAGE 4096u
#define FUZZ_PAGES (FUZZ_RAM / FUZZ_PAGE)

struct fz {
	struct machine_config cfg;
	struct layout l;
	struct gm *gm;
	uint8_t *ram;
	uint64_t dirty[FUZZ_PAGES / 64];
};

static void fz_observe(void *opaque, enum gm_obs_op op, uint64_t gpa,
		       void *buf, size_t len)
{
	(void)buf;
	struct fz *f = opaque;
	if (op != GM_OBS_WRITE || len == 0)
		return;
	/* gm only reports writes that landed inside RAM. */
	if (gpa >= FUZZ_RAM || len > FUZZ_RAM - gpa)
		abort();
	for (uint64_t p = gpa / FUZZ_PAGE; p <= (gpa + len - 1) / FUZZ_PAGE; p++)
		f->dirty[p / 64] |= 1ull << (p % 64);
}

/* Zero what the last input wrote. */
static void fz_clean(struct fz *f)
{
	for (unsigned w = 0; w < FUZZ_PAGES / 64; w++) {
		uint64_t bits = f->dirty[w];
		f->dirty[w] = 0;
		while (bits) {
			unsigned b = (unsigned)__builtin_ctzll(bits);
			bits &= bits - 1;
			memset(f->ram + (uint64_t)(w * 64 + b) * FUZZ_PAGE, 0, FUZZ_PAGE);
		}
	}
}

/* The harness's one machine, built on the first input. */
static struct fz *fz_get(void)
{
	static struct fz *f;
	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	char *argv[] = { "vmm", "-m", "32M", "-kernel", "fuzz", NULL };
	char err[512];
	if (!f || config_parse(&f->cfg, 5, argv, err, sizeof(err)) != 0 ||
	    layout_build(&f->l, &f->cfg, err, sizeof(err)) != 0)
		abort();
	f->gm = gm_new();
	if (!f->gm || gm_add_heap(f->gm, 0, FUZZ_RAM, 0, "ram") != 0)
		abort();
	f->ram = gm_region_at(f->gm, 0)->host;
	gm_set_observer(f->gm, fz_observe, f);
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *f = fz_get();
	struct gm *gm = f->gm;
	char err[512];
	static const uint8_t initrd[5000] = { 1, 2, 3 };
	struct boot_image img = {
		.kernel = data, .kernel_len = size, .initrd = initrd,
		.initrd_len = sizeof(initrd), .cmdline = "console=ttyS0",
		.rsdp_addr = 0xe0000,
	};
	struct boot_cpu cpu;
	struct boot_info info;
	err[0] = '\0';
	int r = boot_load(gm, &f->l, &f->cfg, &img, &cpu, &info, err, sizeof(err));
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
	fz_clean(f);
	return 0;
}
