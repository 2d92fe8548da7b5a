/* A tiny PVH guest for the start-up benchmark, written out as an ELF file
 * by the benchmark itself (nothing of the project's own test guest): it
 * prints two lines on COM1 and ends through isa-debug-exit (iobase 0xf4)
 * with 0x10, so vmm and QEMU both exit 33.  PVH enters it in 32-bit
 * protected mode with paging off (xen/include/public/arch-x86/hvm/
 * start_info.h), so a handful of instructions do: no page tables, no long
 * mode, nothing a start-up figure would mostly be guest time for. */
#ifndef BENCH_TINYGUEST_H
#define BENCH_TINYGUEST_H

#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TINY_LOAD 0x100000u /* 1 MiB: where PVH ELF images load */

/* Write the image to fd; 0 or -1. */
static int tinyguest_write(int fd)
{
	static const char msg[] = "tiny guest: hello\ntiny guest: bye\n";
	uint8_t img[512];
	memset(img, 0, sizeof(img));
	const size_t note_off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
	const size_t code_off = note_off + 20, msg_off = code_off + 32;
	const size_t total = msg_off + sizeof(msg);
	_Static_assert(sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr) + 20 + 32 +
		       sizeof(msg) <= sizeof(img), "tiny guest size");

	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_entry = TINY_LOAD + code_off, .e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = 2,
	};
	Elf64_Phdr load = {
		.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0,
		.p_vaddr = TINY_LOAD, .p_paddr = TINY_LOAD, .p_filesz = total,
		.p_memsz = total, .p_align = 0x1000,
	};
	Elf64_Phdr note = {
		.p_type = PT_NOTE, .p_flags = PF_R, .p_offset = note_off,
		.p_vaddr = TINY_LOAD + note_off, .p_paddr = TINY_LOAD + note_off,
		.p_filesz = 20, .p_memsz = 20, .p_align = 4,
	};
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), &load, sizeof(load));
	memcpy(img + sizeof(eh) + sizeof(load), &note, sizeof(note));
	/* XEN_ELFNOTE_PHYS32_ENTRY (18): namesz 4 "Xen", descsz 4, entry. */
	uint32_t nh[3] = { 4, 4, 18 };
	uint32_t entry = TINY_LOAD + (uint32_t)code_off;
	memcpy(img + note_off, nh, sizeof(nh));
	memcpy(img + note_off + 12, "Xen", 4);
	memcpy(img + note_off + 16, &entry, 4);

	uint32_t m = TINY_LOAD + (uint32_t)msg_off;
	const uint8_t code[] = {
		0xbe, (uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16),
		(uint8_t)(m >> 24),             /* mov $msg, %esi */
		0x66, 0xba, 0xf8, 0x03,         /* mov $0x3f8, %dx */
		0xac,                           /* 1: lodsb */
		0x84, 0xc0,                     /* test %al, %al */
		0x74, 0x03,                     /* jz 2f */
		0xee,                           /* out %al, (%dx) */
		0xeb, 0xf8,                     /* jmp 1b */
		0xb0, 0x10,                     /* 2: mov $0x10, %al */
		0xe6, 0xf4,                     /* out %al, $0xf4 */
		0xf4,                           /* 3: hlt */
		0xeb, 0xfd,                     /* jmp 3b */
	};
	_Static_assert(sizeof(code) <= 32, "tiny guest code");
	memcpy(img + code_off, code, sizeof(code));
	memcpy(img + msg_off, msg, sizeof(msg));
	return write(fd, img, total) == (ssize_t)total ? 0 : -1;
}

#endif
