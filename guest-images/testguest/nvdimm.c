/* NVDIMMs as a kernel finds them: the ACPI NFIT (ACPI 6.4 §5.2.25: SPA
 * range structures, type 0, and flush hint address structures, type 6),
 * or, for kernels without NFIT support, e820 type 12 ranges (Linux's
 * X86_PMEM_LEGACY, -machine pmem-legacy=on).
 *
 * Lines:
 *   testguest: nvdimm 0x... size 0x... sig '...'        (NFIT SPA range)
 *   testguest: nvdimm flush hint 0x...                  (NFIT type 6)
 *   testguest: nfit none                                (no NFIT table)
 *   testguest: e820 pmem 0x... size 0x... sig '...'     (e820 type 12)
 * and for testguest.nvdimm-write=TEXT:
 *   testguest: nvdimm write 'TEXT' at 0x..., N flush hint(s), readback '...'
 */
#include "guest.h"

#define NFIT_SPA 0
#define NFIT_FLUSH 6
#define E820_PMEM 12
#define MAX_RANGES 8
#define WRITE_MAX 48

struct pmem {
	uint64_t base[MAX_RANGES], size[MAX_RANGES];
	unsigned n;
	uint64_t hint[MAX_RANGES];
	unsigned nhints;
	bool nfit;
};

/* Printable prefix of guest memory at gpa, or why it is not read. */
static void show_sig(uint64_t base)
{
	if (base + 16 > GUEST_MAPPED_TOP) {
		con_puts(" above the mapped 16 GiB, not read");
		return;
	}
	con_puts(" sig ");
	con_text((const uint8_t *)(uintptr_t)base, 16);
}

static void add_range(struct pmem *pm, uint64_t base, uint64_t size)
{
	if (pm->n < MAX_RANGES) {
		pm->base[pm->n] = base;
		pm->size[pm->n] = size;
		pm->n++;
	}
}

/* The NFIT (ACPI 6.4 §5.2.25), walked structure by structure. */
static void scan_nfit(const struct start_info *si, struct pmem *pm)
{
	const uint8_t *t = acpi_table(si, "NFIT");
	if (t) {
		pm->nfit = true;
		uint32_t len = acpi_rd32(t + 4);
		/* 36-byte header + 4 reserved bytes, then the structures. */
		for (uint32_t off = 40; off + 4 <= len;) {
			uint16_t type = acpi_rd16(t + off), slen = acpi_rd16(t + off + 2);
			if (slen < 4 || off + slen > len)
				break;
			if (type == NFIT_SPA && slen >= 56) {
				uint64_t base = acpi_rd64(t + off + 32);
				uint64_t size = acpi_rd64(t + off + 40);
				say("nvdimm ");
				con_hex(base);
				con_puts(" size ");
				con_hex(size);
				show_sig(base);
				con_puts("\n");
				add_range(pm, base, size);
			}
			/* Flush hint: handle(4) at +4, count(2) at +8, reserved
			 * to +16, then count 8-byte addresses. */
			if (type == NFIT_FLUSH && slen >= 16) {
				uint16_t cnt = acpi_rd16(t + off + 8);
				for (uint16_t h = 0; h < cnt &&
				     16u + 8u * (h + 1u) <= slen; h++) {
					uint64_t a = acpi_rd64(t + off + 16 + 8 * h);
					say("nvdimm flush hint ");
					con_hex(a);
					con_puts("\n");
					if (pm->nhints < MAX_RANGES)
						pm->hint[pm->nhints++] = a;
				}
			}
			off += slen;
		}
	}
}

static void scan_e820(const struct start_info *si, struct pmem *pm)
{
	if (si->version < 1)
		return;
	const struct memmap_entry *m = (const void *)(uintptr_t)si->memmap_paddr;
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		if (m[i].type != E820_PMEM)
			continue;
		say("e820 pmem ");
		con_hex(m[i].addr);
		con_puts(" size ");
		con_hex(m[i].size);
		show_sig(m[i].addr);
		con_puts("\n");
		add_range(pm, m[i].addr, m[i].size);
	}
}

/* Write TEXT (up to a space) at the start of the first range, flush the
 * way Linux's nvdimm_flush() does (a write to each flush hint, after the
 * data: drivers/nvdimm/region_devs.c generic_nvdimm_flush), read back. */
static unsigned write_first(const struct pmem *pm, const char *text)
{
	say("nvdimm write '");
	unsigned len = 0;
	while (text[len] && text[len] != ' ' && len < WRITE_MAX)
		con_putc(text[len++]);
	con_puts("'");
	if (pm->n == 0 || pm->base[0] + WRITE_MAX > GUEST_MAPPED_TOP) {
		con_puts(" FAIL no pmem range to write\n");
		return 1;
	}
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)pm->base[0];
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)text[i];
	barrier();
	/* One 8-byte store, as Linux's writeq(1, hint). */
	for (unsigned h = 0; h < pm->nhints; h++)
		*(volatile uint64_t *)(uintptr_t)pm->hint[h] = 1;
	con_puts(" at ");
	con_hex(pm->base[0]);
	con_puts(", ");
	con_dec(pm->nhints);
	con_puts(" flush hint(s), readback ");
	uint8_t back[WRITE_MAX];
	for (unsigned i = 0; i < len; i++)
		back[i] = p[i];
	con_text(back, len);
	con_puts("\n");
	return 0;
}

unsigned check_nvdimm(const struct start_info *si, const char *write_text)
{
	struct pmem pm;
	memset(&pm, 0, sizeof(pm));
	if (si->magic != START_INFO_MAGIC)
		return 1;
	scan_nfit(si, &pm);
	if (!pm.nfit)
		say("nfit none\n");
	scan_e820(si, &pm);
	return write_text ? write_first(&pm, write_text) : 0;
}
