/* ACPI tables as a kernel finds them: PVH's start_info names the RSDP
 * (ACPI 6.4 §5.2.5.3), whose XSDT (§5.2.8) lists every other table. */
#include "guest.h"

bool acpi_sig_is(const uint8_t *p, const char *s)
{
	for (; *s; s++, p++)
		if (*p != (uint8_t)*s)
			return false;
	return true;
}

uint64_t acpi_rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint32_t acpi_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

uint16_t acpi_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

const uint8_t *acpi_table(const struct start_info *si, const char *sig)
{
	const uint8_t *rsdp = (const uint8_t *)(uintptr_t)si->rsdp_paddr;
	if (!rsdp || !acpi_sig_is(rsdp, "RSD PTR ") || rsdp[15] < 2)
		return NULL;
	const uint8_t *xsdt = (const uint8_t *)(uintptr_t)acpi_rd64(rsdp + 24);
	if (!acpi_sig_is(xsdt, "XSDT"))
		return NULL;
	uint32_t n = (acpi_rd32(xsdt + 4) - 36) / 8;
	for (uint32_t i = 0; i < n && i < 32; i++) {
		const uint8_t *t = (const uint8_t *)(uintptr_t)acpi_rd64(xsdt + 36 + 8 * i);
		if (acpi_sig_is(t, sig))
			return t;
	}
	return NULL;
}
