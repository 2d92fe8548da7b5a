/* Shared by tests/unit/test_boot_*.c and test_e820.c: a machine
 * description from a command line, its layout, and simulator-style heap
 * guest memory for every RAM region, so boot structures can be built and
 * inspected without /dev/kvm. */
#ifndef VMM_TESTS_BOOT_FIXTURE_H
#define VMM_TESTS_BOOT_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "kvm/boot.h"

struct bt {
	struct machine_config cfg;
	struct layout l;
	struct gm *gm;
	struct boot_cpu cpu;
	struct boot_info info;
	char err[512];
};

/* Parse "vmm ARGS..." (NULL-terminated), lay it out, give it RAM. */
static inline struct bt *bt_new_v(const char *const *args)
{
	struct bt *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)"vmm";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	assert_int_equal(config_parse(&t->cfg, argc, argv, t->err, sizeof(t->err)), 0);
	assert_int_equal(layout_build(&t->l, &t->cfg, t->err, sizeof(t->err)), 0);
	t->gm = gm_new();
	assert_non_null(t->gm);
	for (unsigned i = 0; i < t->l.nram; i++)
		assert_int_equal(gm_add_heap(t->gm, t->l.ram[i].gpa, t->l.ram[i].size,
					     0, "ram"), 0);
	return t;
}
#define BT_NEW(...) bt_new_v((const char *const[]){ __VA_ARGS__, NULL })

static inline void bt_free(struct bt *t)
{
	gm_free(t->gm);
	free(t);
}

static inline int bt_load(struct bt *t, const void *k, size_t klen,
			  const void *initrd, size_t ilen, const char *cmdline)
{
	struct boot_image img = {
		.kernel = k, .kernel_len = klen, .initrd = initrd,
		.initrd_len = ilen, .cmdline = cmdline, .rsdp_addr = 0xe0000,
	};
	memset(t->err, 0, sizeof(t->err));
	return boot_load(t->gm, &t->l, &t->cfg, &img, &t->cpu, &t->info,
			 t->err, sizeof(t->err));
}

static inline uint64_t bt_u64(struct bt *t, uint64_t gpa)
{
	uint64_t v = 0;
	assert_int_equal(gm_read_u64le(t->gm, gpa, &v), 0);
	return v;
}
static inline uint32_t bt_u32(struct bt *t, uint64_t gpa)
{
	uint32_t v = 0;
	assert_int_equal(gm_read_u32le(t->gm, gpa, &v), 0);
	return v;
}
static inline uint16_t bt_u16(struct bt *t, uint64_t gpa)
{
	uint16_t v = 0;
	assert_int_equal(gm_read_u16le(t->gm, gpa, &v), 0);
	return v;
}
static inline uint8_t bt_u8(struct bt *t, uint64_t gpa)
{
	uint8_t v = 0;
	assert_int_equal(gm_read_u8(t->gm, gpa, &v), 0);
	return v;
}

/* A minimal x86-64 ELF executable: one PT_LOAD of `code_len` bytes (a
 * recognizable pattern) at paddr, optionally a PT_NOTE with the PVH
 * entry (desc_len 4 or 8).  Returns its size; buf must hold 8 KiB. */
#define BT_ELF_MAX 8192
#define BT_ELF_CODE_OFF 0x400
static inline size_t bt_make_elf(uint8_t *buf, uint64_t paddr, size_t code_len,
				 uint64_t entry, bool pvh, uint32_t pvh_entry,
				 unsigned desc_len)
{
	memset(buf, 0, BT_ELF_MAX);
	Elf64_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = entry;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = pvh ? 2 : 1;
	memcpy(buf, &eh, sizeof(eh));
	Elf64_Phdr ld = { .p_type = PT_LOAD, .p_offset = BT_ELF_CODE_OFF,
			  .p_paddr = paddr, .p_vaddr = paddr, .p_filesz = code_len,
			  .p_memsz = code_len + 0x1000, .p_flags = PF_R | PF_X };
	memcpy(buf + sizeof(eh), &ld, sizeof(ld));
	for (size_t i = 0; i < code_len; i++)
		buf[BT_ELF_CODE_OFF + i] = (uint8_t)(0x5a ^ i);
	if (pvh) {
		size_t note_off = 0x300;
		Elf64_Phdr np = { .p_type = PT_NOTE, .p_offset = note_off,
				  .p_filesz = 12 + 4 + desc_len };
		memcpy(buf + sizeof(eh) + sizeof(ld), &np, sizeof(np));
		uint32_t hdr[3] = { 4, desc_len, 18 };
		memcpy(buf + note_off, hdr, 12);
		memcpy(buf + note_off + 12, "Xen", 4);
		uint64_t e = pvh_entry;
		memcpy(buf + note_off + 16, &e, desc_len);
	}
	return BT_ELF_CODE_OFF + code_len;
}

/* The same image as a 32-bit (ELFCLASS32, EM_386) executable: what
 * `objcopy -O elf32-i386` makes of a PVH kernel, and what QEMU boots. */
static inline size_t bt_make_elf32(uint8_t *buf, uint32_t paddr, size_t code_len,
				   bool pvh, uint32_t pvh_entry)
{
	memset(buf, 0, BT_ELF_MAX);
	Elf32_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_386;
	eh.e_version = EV_CURRENT;
	eh.e_entry = paddr;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf32_Phdr);
	eh.e_phnum = pvh ? 2 : 1;
	memcpy(buf, &eh, sizeof(eh));
	Elf32_Phdr ld = { .p_type = PT_LOAD, .p_offset = BT_ELF_CODE_OFF,
			  .p_paddr = paddr, .p_vaddr = paddr, .p_filesz = code_len,
			  .p_memsz = code_len + 0x1000, .p_flags = PF_R | PF_X };
	memcpy(buf + sizeof(eh), &ld, sizeof(ld));
	for (size_t i = 0; i < code_len; i++)
		buf[BT_ELF_CODE_OFF + i] = (uint8_t)(0x5a ^ i);
	if (pvh) {
		size_t note_off = 0x300;
		Elf32_Phdr np = { .p_type = PT_NOTE, .p_offset = note_off,
				  .p_filesz = 12 + 4 + 4 };
		memcpy(buf + sizeof(eh) + sizeof(ld), &np, sizeof(np));
		uint32_t hdr[3] = { 4, 4, 18 };
		memcpy(buf + note_off, hdr, 12);
		memcpy(buf + note_off + 12, "Xen", 4);
		memcpy(buf + note_off + 16, &pvh_entry, 4);
	}
	return BT_ELF_CODE_OFF + code_len;
}

#endif
