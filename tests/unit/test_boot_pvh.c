/* ELF kernels: PVH (XEN_ELFNOTE_PHYS32_ENTRY, hvm_start_info) and the
 * 64-bit entry of a vmlinux without the note, plus every way a hostile
 * or broken ELF file must be refused. */
#include "boot_fixture.h"

#define START_INFO BOOT_START_INFO_ADDR
#define KADDR 0x200000ull

static void test_pvh_state_and_start_info(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-machine", "microvm", "-m", "64M");
	uint8_t *elf = malloc(BT_ELF_MAX);
	size_t len = bt_make_elf(elf, KADDR, 256, KADDR + 8, true, KADDR + 16, 4);
	uint8_t initrd[5000];
	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 7);
	assert_int_equal(bt_load(t, elf, len, initrd, sizeof(initrd),
				 "console=ttyS0 root=/dev/pmem0p1"), 0);
	/* Registers per start_info.h: 32-bit flat CS, paging off, ebx. */
	assert_int_equal(t->cpu.proto, BOOT_PROTO_PVH);
	assert_int_equal(t->cpu.rip, KADDR + 16);
	assert_int_equal(t->cpu.rbx, START_INFO);
	assert_int_equal(t->cpu.cr0 & 0x80000001u, 1);
	assert_int_equal(t->cpu.efer, 0);
	assert_int_equal(t->cpu.cs.sel, BOOT_SEL_CODE32);
	assert_int_equal(t->cpu.cs.db, 1);
	assert_int_equal(t->cpu.cs.l, 0);
	assert_int_equal(t->cpu.cs.limit, 0xffffffffu);
	assert_int_equal(t->cpu.ds.type & 0x8, 0);  /* data */
	assert_int_equal(t->cpu.tr.type, 11);       /* busy 32-bit TSS */
	/* The image, and its bss zeroed. */
	for (unsigned i = 0; i < 256; i++)
		assert_int_equal(bt_u8(t, KADDR + i), (uint8_t)(0x5a ^ i));
	assert_int_equal(bt_u64(t, KADDR + 256), 0);
	/* hvm_start_info v1. */
	assert_int_equal(bt_u32(t, START_INFO + 0), 0x336ec578u);
	assert_int_equal(bt_u32(t, START_INFO + 4), 1);
	assert_int_equal(bt_u32(t, START_INFO + 12), 1);      /* nr_modules */
	uint64_t cmd = bt_u64(t, START_INFO + 24);
	char got[64] = "";
	assert_int_equal(gm_read(t->gm, cmd, got, 33), 0);
	assert_string_equal(got, "console=ttyS0 root=/dev/pmem0p1");
	assert_int_equal(bt_u64(t, START_INFO + 32), 0xe0000);  /* rsdp */
	/* Memory map = boot_e820_build. */
	struct boot_e820 e[BOOT_E820_MAX];
	int n = boot_e820_build(&t->l, &t->cfg, e, BOOT_E820_MAX);
	assert_int_equal(bt_u32(t, START_INFO + 48), (uint32_t)n);
	uint64_t mm = bt_u64(t, START_INFO + 40);
	for (int i = 0; i < n; i++) {
		assert_int_equal(bt_u64(t, mm + 24 * i), e[i].addr);
		assert_int_equal(bt_u64(t, mm + 24 * i + 8), e[i].size);
		assert_int_equal(bt_u32(t, mm + 24 * i + 16), e[i].type);
	}
	/* Module 0 = initrd: page aligned, above the kernel, in RAM. */
	uint64_t mod = bt_u64(t, START_INFO + 16);
	uint64_t ia = bt_u64(t, mod), isz = bt_u64(t, mod + 8);
	assert_int_equal(isz, sizeof(initrd));
	assert_int_equal(ia & 0xfff, 0);
	assert_true(ia >= t->info.kernel_end);
	assert_true(ia + isz <= (64ull << 20));
	uint8_t back[sizeof(initrd)];
	assert_int_equal(gm_read(t->gm, ia, back, sizeof(back)), 0);
	assert_memory_equal(back, initrd, sizeof(initrd));
	free(elf);
	bt_free(t);
}

/* Linux writes the note as an 8-byte _ASM_PTR; the high half must be 0. */
static void test_pvh_note_8_bytes(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-m", "64M");
	uint8_t *elf = malloc(BT_ELF_MAX);
	size_t len = bt_make_elf(elf, KADDR, 64, KADDR, true, KADDR + 4, 8);
	assert_int_equal(bt_load(t, elf, len, NULL, 0, ""), 0);
	assert_int_equal(t->cpu.proto, BOOT_PROTO_PVH);
	assert_int_equal(t->cpu.rip, KADDR + 4);
	assert_int_equal(bt_u32(t, START_INFO + 12), 0);   /* no initrd */
	free(elf);
	bt_free(t);
}

/* No note: a vmlinux, entered at e_entry in long mode with boot_params. */
static void test_vmlinux_64bit_entry(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-m", "64M");
	uint8_t *elf = malloc(BT_ELF_MAX);
	size_t len = bt_make_elf(elf, 0x1000000, 128, 0x1000000, false, 0, 0);
	assert_int_equal(bt_load(t, elf, len, NULL, 0, "root=/dev/vda"), 0);
	assert_int_equal(t->cpu.proto, BOOT_PROTO_LINUX64);
	assert_int_equal(t->cpu.rip, 0x1000000);
	assert_int_equal(t->cpu.rsi, BOOT_ZERO_PAGE_ADDR);
	assert_int_equal(t->cpu.efer, 0x500);
	assert_true(t->cpu.cr0 & 0x80000000u);
	assert_int_equal(t->cpu.cs.l, 1);
	assert_int_equal(t->cpu.cs.sel, BOOT_SEL_CODE64);
	assert_int_equal(bt_u16(t, BOOT_ZERO_PAGE_ADDR + 0x1fe), 0xaa55);
	assert_int_equal(bt_u32(t, BOOT_ZERO_PAGE_ADDR + 0x202), 0x53726448u);
	assert_int_equal(bt_u8(t, BOOT_ZERO_PAGE_ADDR + 0x210), 0xff);
	assert_int_equal(bt_u32(t, BOOT_ZERO_PAGE_ADDR + 0x228), BOOT_CMDLINE_ADDR);
	/* Identity map: PML4 -> PDPT -> 2 MiB pages covering the kernel. */
	assert_int_equal(t->cpu.cr3, BOOT_PML4_ADDR);
	assert_int_equal(bt_u64(t, BOOT_PML4_ADDR) & ~0xfffull, BOOT_PDPT_ADDR);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(bt_u64(t, BOOT_PDPT_ADDR + 8 * i),
				 (BOOT_PD_ADDR + 0x1000 * i) | 3);
	/* Every 2 MiB entry of 0-4 GiB (the four directories are written a
	 * page at a time). */
	for (uint64_t i = 0; i < 4 * 512; i++)
		assert_int_equal(bt_u64(t, BOOT_PD_ADDR + 8 * i), (i << 21) | 0x83);
	free(elf);
	bt_free(t);
}

static void expect_refused(struct bt *t, const uint8_t *k, size_t len,
			   const char *needle)
{
	assert_int_equal(bt_load(t, k, len, NULL, 0, ""), -1);
	if (!strstr(t->err, needle))
		fail_msg("error '%s' does not mention '%s'", t->err, needle);
}

static void test_hostile_elf(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-m", "64M");
	uint8_t *elf = malloc(BT_ELF_MAX), *k = malloc(BT_ELF_MAX);
	size_t len = bt_make_elf(elf, KADDR, 64, KADDR, true, KADDR, 4);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)k;
	Elf64_Phdr *ph = (Elf64_Phdr *)(k + sizeof(Elf64_Ehdr));

	memcpy(k, elf, len);
	expect_refused(t, k, 40, "truncated ELF header");
	k[EI_CLASS] = 3;                               /* no such class */
	expect_refused(t, k, len, "32- or 64-bit ELF");
	k[EI_CLASS] = ELFCLASS32;                      /* 64-bit layout read as 32 */
	expect_refused(t, k, len, "x86 executable");
	memcpy(k, elf, len);
	eh->e_machine = EM_AARCH64;
	expect_refused(t, k, len, "x86 executable");
	memcpy(k, elf, len);
	eh->e_machine = EM_386;                        /* class and machine differ */
	expect_refused(t, k, len, "x86 executable");
	memcpy(k, elf, len);
	eh->e_phoff = 0xfffffffffffffff0ull;           /* wraps */
	expect_refused(t, k, len, "program headers");
	memcpy(k, elf, len);
	eh->e_phnum = 0;
	expect_refused(t, k, len, "program headers");
	memcpy(k, elf, len);
	ph->p_filesz = 0x10000;                        /* past the file end */
	ph->p_memsz = 0x10000;
	expect_refused(t, k, len, "truncated");
	memcpy(k, elf, len);
	ph->p_offset = 0xffffffffffffff00ull;          /* offset + size wraps */
	expect_refused(t, k, len, "truncated");
	memcpy(k, elf, len);
	ph->p_memsz = 1;                               /* filesz > memsz */
	expect_refused(t, k, len, "corrupt segment");
	memcpy(k, elf, len);
	ph->p_paddr = 0xfffffffffffff000ull;           /* paddr + memsz wraps */
	expect_refused(t, k, len, "corrupt segment");
	memcpy(k, elf, len);
	ph->p_paddr = 0x7000;                          /* over the boot structures */
	expect_refused(t, k, len, "outside guest RAM above 1 MiB");
	memcpy(k, elf, len);
	ph->p_paddr = 63ull << 20;                     /* runs past 64 MiB */
	ph->p_memsz = 2ull << 20;
	expect_refused(t, k, len, "raise -m");
	memcpy(k, elf, len);
	ph->p_type = PT_DYNAMIC;                       /* nothing to load */
	expect_refused(t, k, len, "no loadable segment");

	/* Note with a huge name: ignored, not read past the segment; with
	 * no PVH entry and e_entry outside the image: refused. */
	memcpy(k, elf, len);
	uint32_t big = 0xfffffff0u;
	memcpy(k + 0x300, &big, 4);
	eh->e_entry = 0x10;
	expect_refused(t, k, len, "entry point");
	/* PVH note whose 8-byte entry has high bits: not a 32-bit entry. */
	len = bt_make_elf(k, KADDR, 64, 0x10, true, 0, 8);
	k[0x300 + 16 + 4] = 1;
	expect_refused(t, k, len, "entry point");
	/* PVH entry outside every loaded segment. */
	len = bt_make_elf(k, KADDR, 64, KADDR, true, 0x100, 4);
	expect_refused(t, k, len, "PVH entry point");
	/* Wrong note name ("Xe?"). */
	len = bt_make_elf(k, KADDR, 64, 0x10, true, KADDR, 4);
	k[0x300 + 14] = '?';
	expect_refused(t, k, len, "entry point");
	free(elf);
	free(k);
	bt_free(t);
}

/* A 32-bit PVH kernel boots as a 64-bit one does (QEMU takes both); one
 * without the note has no entry we can use and is refused by name.  Its
 * 32-bit headers get the same bounds checks. */
static void test_elf32_pvh(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-machine", "microvm", "-m", "64M");
	uint8_t *k = malloc(BT_ELF_MAX);
	size_t len = bt_make_elf32(k, KADDR, 128, true, KADDR + 32);
	assert_int_equal(bt_load(t, k, len, NULL, 0, "x"), 0);
	assert_int_equal(t->cpu.proto, BOOT_PROTO_PVH);
	assert_int_equal(t->cpu.rip, KADDR + 32);
	assert_int_equal(t->cpu.rbx, START_INFO);
	for (unsigned i = 0; i < 128; i++)
		assert_int_equal(bt_u8(t, KADDR + i), (uint8_t)(0x5a ^ i));
	assert_int_equal(bt_u64(t, KADDR + 128), 0);   /* bss */

	len = bt_make_elf32(k, KADDR, 128, false, 0);
	expect_refused(t, k, len, "32-bit ELF kernel needs a PVH entry note");
	len = bt_make_elf32(k, KADDR, 128, true, KADDR + 32);
	expect_refused(t, k, sizeof(Elf32_Ehdr) - 1, "truncated ELF header");
	Elf32_Ehdr *eh = (Elf32_Ehdr *)k;
	Elf32_Phdr *ph = (Elf32_Phdr *)(k + sizeof(Elf32_Ehdr));
	eh->e_phentsize = sizeof(Elf64_Phdr);
	expect_refused(t, k, len, "program headers");
	len = bt_make_elf32(k, KADDR, 128, true, KADDR + 32);
	ph->p_offset = 0xffffff00u;
	expect_refused(t, k, len, "truncated");
	len = bt_make_elf32(k, KADDR, 128, true, KADDR + 32);
	ph->p_paddr = 0xfffff000u;                     /* past 64 MiB of RAM */
	expect_refused(t, k, len, "outside guest RAM");
	len = bt_make_elf32(k, KADDR, 128, true, 0x100);
	expect_refused(t, k, len, "PVH entry point");
	free(k);
	bt_free(t);
}

static void test_cmdline_and_initrd_limits(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-m", "16M");
	uint8_t *elf = malloc(BT_ELF_MAX);
	size_t len = bt_make_elf(elf, KADDR, 64, KADDR, true, KADDR, 4);
	char *cmd = malloc(BOOT_CMDLINE_MAX + 1);
	memset(cmd, 'a', BOOT_CMDLINE_MAX);
	cmd[BOOT_CMDLINE_MAX] = '\0';
	assert_int_equal(bt_load(t, elf, len, NULL, 0, cmd), -1);
	assert_non_null(strstr(t->err, "command line"));
	cmd[BOOT_CMDLINE_MAX - 1] = '\0';              /* exactly fits */
	assert_int_equal(bt_load(t, elf, len, NULL, 0, cmd), 0);
	/* An initrd as large as RAM cannot fit above the kernel. */
	size_t big = 16u << 20;
	uint8_t *rd = calloc(1, big);
	assert_int_equal(bt_load(t, elf, len, rd, big, ""), -1);
	assert_non_null(strstr(t->err, "raise -m"));
	/* One that just fits goes right up to the top of RAM. */
	size_t fits = 8u << 20;
	assert_int_equal(bt_load(t, elf, len, rd, fits, ""), 0);
	assert_int_equal(t->info.initrd_addr + fits, 16u << 20);
	free(rd);
	free(cmd);
	free(elf);
	bt_free(t);
}

static void test_not_a_kernel(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-m", "16M", "-kernel", "/x/junk");
	uint8_t junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 13 + 1);
	expect_refused(t, junk, sizeof(junk), "not a Linux kernel");
	assert_non_null(strstr(t->err, "/x/junk"));
	expect_refused(t, junk, 0, "not a Linux kernel");
	bt_free(t);
}

static void test_segment_decode(void **state)
{
	(void)state;
	uint64_t g[BOOT_GDT_ENTRIES];
	boot_gdt_entries(g);
	struct boot_seg s = boot_seg_from_desc(g[BOOT_SEL_CODE64 / 8], BOOT_SEL_CODE64);
	assert_int_equal(s.l, 1);
	assert_int_equal(s.db, 0);
	assert_int_equal(s.type, 0xb);
	assert_int_equal(s.present, 1);
	assert_int_equal(s.s, 1);
	assert_int_equal(s.g, 1);
	assert_int_equal(s.limit, 0xffffffffu);
	s = boot_seg_from_desc(0x12cf9a345678ffffull, 0x8);  /* base 0x12345678 */
	assert_int_equal(s.base, 0x12345678u);
	s = boot_seg_from_desc(g[BOOT_SEL_TSS / 8], BOOT_SEL_TSS);
	assert_int_equal(s.limit, 0x67);
	assert_int_equal(s.s, 0);
	assert_int_equal(s.g, 0);
}

/* Boot structures need RAM below 1 MiB. */
static void test_no_low_ram(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-m", "16M");
	struct gm *gm = gm_new();
	assert_int_equal(gm_add_heap(gm, 1u << 20, 15u << 20, 0, "ram"), 0);
	struct gm *saved = t->gm;
	t->gm = gm;
	uint8_t *elf = malloc(BT_ELF_MAX);
	size_t len = bt_make_elf(elf, KADDR, 64, KADDR, true, KADDR, 4);
	expect_refused(t, elf, len, "below 1 MiB");
	t->gm = saved;
	gm_free(gm);
	free(elf);
	bt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pvh_state_and_start_info),
		cmocka_unit_test(test_pvh_note_8_bytes),
		cmocka_unit_test(test_vmlinux_64bit_entry),
		cmocka_unit_test(test_hostile_elf),
		cmocka_unit_test(test_elf32_pvh),
		cmocka_unit_test(test_cmdline_and_initrd_limits),
		cmocka_unit_test(test_not_a_kernel),
		cmocka_unit_test(test_segment_decode),
		cmocka_unit_test(test_no_low_ram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
