/* ELF kernels (vmlinux, the test guest): load PT_LOAD segments at their
 * physical addresses, then boot through PVH when the image carries
 * XEN_ELFNOTE_PHYS32_ENTRY, else through Linux's 64-bit entry at e_entry
 * (vmlinux.lds.S: ENTRY(phys_startup_64), a physical address).
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

int boot_load_elf(struct gm *gm, const struct layout *l,
		  const struct machine_config *cfg, const struct boot_image *img,
		  struct boot_cpu *cpu, struct boot_info *info, char *err,
		  size_t errlen)
{
	const uint8_t *k = img->kernel;
	uint64_t len = img->kernel_len;
	const char *path = cfg->kernel;
	if (len < EI_NIDENT || k[EI_CLASS] != ELFCLASS64) {
		snprintf(err, errlen, "vmm: -kernel '%s': only 64-bit ELF kernels "
			 "are supported", path);
		return -1;
	}
	if (len < sizeof(Elf64_Ehdr)) {
		snprintf(err, errlen, "vmm: -kernel '%s': truncated ELF header", path);
		return -1;
	}
	Elf64_Ehdr eh;
	memcpy(&eh, k, sizeof(eh));
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 ||
	    eh.e_type != ET_EXEC) {
		snprintf(err, errlen, "vmm: -kernel '%s': not an x86-64 executable "
			 "ELF (machine %u, type %u)", path, eh.e_machine, eh.e_type);
		return -1;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    !boot_range_in(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len)) {
		snprintf(err, errlen, "vmm: -kernel '%s': truncated or corrupt ELF "
			 "program headers", path);
		return -1;
	}
	uint32_t pvh_entry = 0;
	bool pvh = false;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, k + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			if (boot_range_in(ph.p_offset, ph.p_filesz, len) && !pvh)
				pvh = boot_elf_pvh_note(k + ph.p_offset, ph.p_filesz,
							&pvh_entry);
			continue;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (!boot_range_in(ph.p_offset, ph.p_filesz, len)) {
			snprintf(err, errlen, "vmm: -kernel '%s': truncated: segment %u "
				 "needs file bytes 0x%llx-0x%llx, the file has 0x%llx",
				 path, i, (unsigned long long)ph.p_offset,
				 (unsigned long long)(ph.p_offset + ph.p_filesz),
				 (unsigned long long)len);
			return -1;
		}
		if (ph.p_filesz > ph.p_memsz || ph.p_paddr + ph.p_memsz < ph.p_paddr) {
			snprintf(err, errlen, "vmm: -kernel '%s': corrupt segment %u",
				 path, i);
			return -1;
		}
		/* Below 1 MiB are our boot structures and the BIOS area. */
		if (ph.p_paddr < LAYOUT_BIOS_END ||
		    !gm_range_valid(gm, ph.p_paddr, ph.p_memsz)) {
			snprintf(err, errlen, "vmm: -kernel '%s': segment %u at 0x%llx "
				 "(%llu bytes) is outside guest RAM above 1 MiB%s",
				 path, i, (unsigned long long)ph.p_paddr,
				 (unsigned long long)ph.p_memsz,
				 ph.p_paddr >= LAYOUT_BIOS_END ? ": raise -m" : "");
			return -1;
		}
		if (gm_write(gm, ph.p_paddr, k + ph.p_offset, ph.p_filesz) < 0 ||
		    gm_fill(gm, ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz) < 0) {
			snprintf(err, errlen, "vmm: -kernel '%s': cannot load segment %u",
				 path, i);
			return -1;
		}
		if (ph.p_paddr < lo)
			lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > hi)
			hi = ph.p_paddr + ph.p_memsz;
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
	if (eh.e_entry < lo || eh.e_entry >= hi) {
		snprintf(err, errlen, "vmm: -kernel '%s': entry point 0x%llx is not "
			 "inside the loaded image (no PVH note and not a "
			 "physical 64-bit entry)", path,
			 (unsigned long long)eh.e_entry);
		return -1;
	}
	info->entry = eh.e_entry;
	info->proto = BOOT_PROTO_LINUX64;
	if (boot_linux_params(gm, l, cfg, img, NULL, 0, info, err, errlen) < 0)
		return -1;
	boot_cpu_linux64(cpu, info->entry, info->params_addr);
	return 0;
}
