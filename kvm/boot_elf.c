/* ELF kernels (vmlinux, the test guest): load PT_LOAD segments at their
 * physical addresses, then boot through PVH when the image carries
 * XEN_ELFNOTE_PHYS32_ENTRY, else through Linux's 64-bit entry at e_entry
 * (vmlinux.lds.S: ENTRY(phys_startup_64), a physical address).  32-bit
 * (ELFCLASS32, EM_386) files boot through PVH only, as with QEMU.
 *
 * The file is untrusted input: every offset and size is checked against
 * the file length and guest RAM with overflow-safe arithmetic. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/gm.h"
#include "kvm/boot.h"

/* xen/include/public/elfnote.h */
#define BOOT_XEN_ELFNOTE_PHYS32_ENTRY 18

bool boot_is_elf(const uint8_t *k, size_t len)
{
	return len >= SELFMAG && memcmp(k, ELFMAG, SELFMAG) == 0;
}

static bool boot_range_in(uint64_t off, uint64_t len, uint64_t total)
{
	return off <= total && len <= total - off;
}

/* Walk one PT_NOTE segment for the PVH entry (ELF gABI "Note Section":
 * namesz, descsz, type, then name and desc each padded to 4 bytes). */
static bool boot_elf_pvh_note(const uint8_t *p, uint64_t len, uint32_t *entry)
{
	uint64_t off = 0;
	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + off, sizeof(nh));
		off += sizeof(nh);
		uint64_t name_len = ((uint64_t)nh.n_namesz + 3) & ~3ull;
		uint64_t desc_len = ((uint64_t)nh.n_descsz + 3) & ~3ull;
		if (!boot_range_in(off, name_len, len) ||
		    !boot_range_in(off + name_len, desc_len, len))
			return false;
		const uint8_t *name = p + off, *desc = p + off + name_len;
		off += name_len + desc_len;
		if (nh.n_type != BOOT_XEN_ELFNOTE_PHYS32_ENTRY ||
		    nh.n_namesz != 4 || memcmp(name, "Xen", 4) != 0)
			continue;
		/* Linux emits it as _ASM_PTR (8 bytes on x86_64), others as
		 * 4: either way the entry is a 32-bit physical address. */
		if (nh.n_descsz != 4 && nh.n_descsz != 8)
			return false;
		uint32_t e;
		memcpy(&e, desc, 4);
		if (nh.n_descsz == 8) {
			uint32_t hi;
			memcpy(&hi, desc + 4, 4);
			if (hi)
				return false;
		}
		*entry = e;
		return true;
	}
	return false;
}

/* The fields this loader uses, whichever ELF class the file is: QEMU
 * boots 32-bit (EM_386) PVH kernels as well as 64-bit ones, and the PVH
 * entry is a 32-bit protected-mode entry either way. */
struct boot_elf_phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

struct boot_elf {
	bool is64;
	uint64_t entry, phoff;
	unsigned phnum;
};

static int boot_elf_header(const uint8_t *k, uint64_t len, struct boot_elf *e,
			   const char *path, char *err, size_t errlen)
{
	unsigned cls = len >= EI_NIDENT ? k[EI_CLASS] : 0;
	if (cls != ELFCLASS64 && cls != ELFCLASS32) {
		snprintf(err, errlen, "vmm: -kernel '%s': not a 32- or 64-bit ELF "
			 "file (class %u)", path, cls);
		return -1;
	}
	e->is64 = cls == ELFCLASS64;
	size_t ehsize = e->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (len < ehsize) {
		snprintf(err, errlen, "vmm: -kernel '%s': truncated ELF header", path);
		return -1;
	}
	unsigned machine, type, phentsize;
	if (e->is64) {
		Elf64_Ehdr eh;
		memcpy(&eh, k, sizeof(eh));
		machine = eh.e_machine, type = eh.e_type;
		phentsize = eh.e_phentsize;
		e->entry = eh.e_entry, e->phoff = eh.e_phoff, e->phnum = eh.e_phnum;
	} else {
		Elf32_Ehdr eh;
		memcpy(&eh, k, sizeof(eh));
		machine = eh.e_machine, type = eh.e_type;
		phentsize = eh.e_phentsize;
		e->entry = eh.e_entry, e->phoff = eh.e_phoff, e->phnum = eh.e_phnum;
	}
	if (k[EI_DATA] != ELFDATA2LSB || type != ET_EXEC ||
	    machine != (e->is64 ? EM_X86_64 : EM_386)) {
		snprintf(err, errlen, "vmm: -kernel '%s': not an x86 executable "
			 "ELF (class %u, machine %u, type %u)", path, cls, machine,
			 type);
		return -1;
	}
	size_t phsize = e->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (phentsize != phsize || e->phnum == 0 ||
	    !boot_range_in(e->phoff, (uint64_t)e->phnum * phsize, len)) {
		snprintf(err, errlen, "vmm: -kernel '%s': truncated or corrupt ELF "
			 "program headers", path);
		return -1;
	}
	return 0;
}

static struct boot_elf_phdr boot_elf_phdr(const uint8_t *k, const struct boot_elf *e,
					  unsigned i)
{
	struct boot_elf_phdr p;
	if (e->is64) {
		Elf64_Phdr ph;
		memcpy(&ph, k + e->phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		p = (struct boot_elf_phdr){ ph.p_type, ph.p_offset, ph.p_paddr,
					    ph.p_filesz, ph.p_memsz };
	} else {
		Elf32_Phdr ph;
		memcpy(&ph, k + e->phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		p = (struct boot_elf_phdr){ ph.p_type, ph.p_offset, ph.p_paddr,
					    ph.p_filesz, ph.p_memsz };
	}
	return p;
}

int boot_load_elf(struct gm *gm, const struct layout *l,
		  const struct machine_config *cfg, const struct boot_image *img,
		  struct boot_cpu *cpu, struct boot_info *info, char *err,
		  size_t errlen)
{
	const uint8_t *k = img->kernel;
	uint64_t len = img->kernel_len;
	const char *path = cfg->kernel;
	struct boot_elf eh;
	if (boot_elf_header(k, len, &eh, path, err, errlen) < 0)
		return -1;
	uint32_t pvh_entry = 0;
	bool pvh = false;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (unsigned i = 0; i < eh.phnum; i++) {
		struct boot_elf_phdr ph = boot_elf_phdr(k, &eh, i);
		if (ph.type == PT_NOTE) {
			if (boot_range_in(ph.offset, ph.filesz, len) && !pvh)
				pvh = boot_elf_pvh_note(k + ph.offset, ph.filesz,
							&pvh_entry);
			continue;
		}
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		if (!boot_range_in(ph.offset, ph.filesz, len)) {
			snprintf(err, errlen, "vmm: -kernel '%s': truncated: segment %u "
				 "needs file bytes 0x%llx-0x%llx, the file has 0x%llx",
				 path, i, (unsigned long long)ph.offset,
				 (unsigned long long)(ph.offset + ph.filesz),
				 (unsigned long long)len);
			return -1;
		}
		if (ph.filesz > ph.memsz || ph.paddr + ph.memsz < ph.paddr) {
			snprintf(err, errlen, "vmm: -kernel '%s': corrupt segment %u",
				 path, i);
			return -1;
		}
		/* Below 1 MiB are our boot structures and the BIOS area. */
		if (ph.paddr < LAYOUT_BIOS_END ||
		    !gm_range_valid(gm, ph.paddr, ph.memsz)) {
			snprintf(err, errlen, "vmm: -kernel '%s': segment %u at 0x%llx "
				 "(%llu bytes) is outside guest RAM above 1 MiB%s",
				 path, i, (unsigned long long)ph.paddr,
				 (unsigned long long)ph.memsz,
				 ph.paddr >= LAYOUT_BIOS_END ? ": raise -m" : "");
			return -1;
		}
		if (gm_write(gm, ph.paddr, k + ph.offset, ph.filesz) < 0 ||
		    gm_fill(gm, ph.paddr + ph.filesz, 0, ph.memsz - ph.filesz) < 0) {
			snprintf(err, errlen, "vmm: -kernel '%s': cannot load segment %u",
				 path, i);
			return -1;
		}
		if (ph.paddr < lo)
			lo = ph.paddr;
		if (ph.paddr + ph.memsz > hi)
			hi = ph.paddr + ph.memsz;
	}
	if (hi == 0) {
		snprintf(err, errlen, "vmm: -kernel '%s': no loadable segment", path);
		return -1;
	}
	info->kernel_start = lo;
	info->kernel_end = hi;
	if (pvh) {
		if (pvh_entry < lo || pvh_entry >= hi) {
			snprintf(err, errlen, "vmm: -kernel '%s': PVH entry point 0x%x "
				 "is not inside the loaded image", path, pvh_entry);
			return -1;
		}
		info->entry = pvh_entry;
		return boot_pvh_setup(gm, l, cfg, img, cpu, info, err, errlen);
	}
	/* Without the PVH note only Linux's 64-bit entry is left, which a
	 * 32-bit file cannot have (QEMU would try multiboot; we have none). */
	if (!eh.is64) {
		snprintf(err, errlen, "vmm: -kernel '%s': a 32-bit ELF kernel needs "
			 "a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)", path);
		return -1;
	}
	if (eh.entry < lo || eh.entry >= hi) {
		snprintf(err, errlen, "vmm: -kernel '%s': entry point 0x%llx is not "
			 "inside the loaded image (no PVH note and not a "
			 "physical 64-bit entry)", path,
			 (unsigned long long)eh.entry);
		return -1;
	}
	info->entry = eh.entry;
	info->proto = BOOT_PROTO_LINUX64;
	if (boot_linux_params(gm, l, cfg, img, NULL, 0, info, err, errlen) < 0)
		return -1;
	boot_cpu_linux64(cpu, info->entry, info->params_addr);
	return 0;
}
