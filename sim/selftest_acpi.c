/* Self-test of what firmware hands the guest: the ACPI tables as an OS
 * finds them (RSDP at LAYOUT_ACPI_BASE, XSDT, every table's checksum, the
 * set of tables the configuration implies), and the NVDIMMs as memory:
 * the backing file's bytes at the guest address, read-only regions that
 * refuse writes, writable private ones that take them, flush hints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gm.h"
#include "devices/acpi/acpi.h"
#include "devices/acpi/acpi_spec.h"
#include "machine/board.h"
#include "sim/selftest_int.h"
#include "devices/nvdimm.h"

/* Read a whole table at gpa into a fresh buffer and check its length
 * and checksum (ACPI 6.4 §5.2.6: all bytes sum to zero).  NULL when bad. */
static uint8_t *st_table(struct selftest *t, uint64_t gpa, char sig[5],
			 uint32_t *len)
{
	struct acpi_header h;
	if (gm_read(t->sim->m.gm, gpa, &h, sizeof(h)) < 0 ||
	    h.length < sizeof(h) || h.length > LAYOUT_ACPI_SIZE)
		return NULL;
	memcpy(sig, h.signature, 4);
	sig[4] = '\0';
	uint8_t *p = malloc(h.length);
	if (!p || gm_read(t->sim->m.gm, gpa, p, h.length) < 0) {
		free(p);
		return NULL;
	}
	uint8_t sum = 0;
	for (uint32_t i = 0; i < h.length; i++)
		sum = (uint8_t)(sum + p[i]);
	if (sum) {
		free(p);
		return NULL;
	}
	*len = h.length;
	return p;
}

static uint8_t st_sum(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + ((const uint8_t *)p)[i]);
	return s;
}

static unsigned st_nvdimm_count(const struct machine_config *cfg)
{
	unsigned n = 0;
	for (unsigned i = 0; i < cfg->ndevices; i++)
		n += cfg->devices[i].type == CFG_DEV_NVDIMM;
	return n;
}

/* NFIT SPA range structures (§5.2.25.2) for persistent memory. */
static unsigned st_nfit_spas(const uint8_t *p, uint32_t len)
{
	unsigned n = 0;
	for (uint32_t off = sizeof(struct acpi_nfit); off + 4 <= len;) {
		uint16_t type, slen;
		memcpy(&type, p + off, 2);
		memcpy(&slen, p + off + 2, 2);
		if (slen < 4 || slen > len - off)
			break;
		n += type == 0 && slen >= sizeof(struct acpi_nfit_spa);
		off += slen;
	}
	return n;
}

void st_acpi(struct selftest *t, int built)
{
	const struct machine_config *cfg = t->cfg;
	struct acpi_rsdp r;
	char list[96] = "", why[96] = "";
	size_t ll = 0;
	bool q35 = t->l->pci, nfit_wanted = cfg->machine.nvdimm &&
		   !cfg->machine.pmem_legacy && st_nvdimm_count(cfg) > 0;
	bool fadt = false, madt = false, mcfg = false, nfit = false, dsdt = false;
	unsigned ntables = 0;
	if (built < 0) {
		snprintf(why, sizeof(why), "building the tables failed");
	} else if (gm_read(t->sim->m.gm, LAYOUT_ACPI_BASE, &r, sizeof(r)) < 0 ||
		   memcmp(r.signature, "RSD PTR ", 8) ||
		   st_sum(&r, offsetof(struct acpi_rsdp, length)) ||
		   st_sum(&r, sizeof(r)) || r.revision < 2) {
		snprintf(why, sizeof(why), "no valid RSDP at 0x%llx",
			 (unsigned long long)LAYOUT_ACPI_BASE);
	} else {
		char sig[5];
		uint32_t len;
		uint8_t *x = st_table(t, r.xsdt_address, sig, &len);
		if (!x || strcmp(sig, "XSDT")) {
			snprintf(why, sizeof(why), "bad XSDT at 0x%llx",
				 (unsigned long long)r.xsdt_address);
			len = 0;
		}
		for (uint32_t off = sizeof(struct acpi_header); off + 8 <= len; off += 8) {
			uint64_t gpa;
			uint32_t tl;
			memcpy(&gpa, x + off, 8);
			uint8_t *tb = st_table(t, gpa, sig, &tl);
			ntables++;
			ll += (size_t)snprintf(list + ll, sizeof(list) - ll, "%s%s",
					       ll ? " " : "", tb ? sig : "BAD");
			if (ll >= sizeof(list))
				ll = sizeof(list) - 1;
			if (!tb) {
				snprintf(why, sizeof(why), "table at 0x%llx has a bad "
					 "header or checksum", (unsigned long long)gpa);
				continue;
			}
			if (!strcmp(sig, "FACP") && tl >= offsetof(struct acpi_fadt, x_dsdt) + 8) {
				uint64_t d;
				memcpy(&d, tb + offsetof(struct acpi_fadt, x_dsdt), 8);
				uint32_t dl;
				char ds[5];
				uint8_t *dt = st_table(t, d, ds, &dl);
				dsdt = dt && !strcmp(ds, "DSDT");
				free(dt);
				fadt = true;
			}
			madt |= !strcmp(sig, "APIC");
			if (!strcmp(sig, "MCFG") &&
			    tl >= sizeof(struct acpi_mcfg) + sizeof(struct acpi_mcfg_alloc)) {
				uint64_t ecam;
				memcpy(&ecam, tb + sizeof(struct acpi_mcfg), 8);
				mcfg = ecam == LAYOUT_ECAM_BASE;
			}
			if (!strcmp(sig, "NFIT"))
				nfit = st_nfit_spas(tb, tl) == st_nvdimm_count(cfg);
			free(tb);
		}
		free(x);
		if (!why[0] && (!fadt || !dsdt || !madt))
			snprintf(why, sizeof(why), "FADT with a valid DSDT and MADT "
				 "expected");
		else if (!why[0] && mcfg != q35)
			snprintf(why, sizeof(why), "MCFG (ECAM at 0x%llx) %s",
				 (unsigned long long)LAYOUT_ECAM_BASE,
				 q35 ? "missing" : "unexpected");
		else if (!why[0] && nfit != nfit_wanted)
			snprintf(why, sizeof(why), "NFIT with one SPA range per "
				 "nvdimm %s", nfit_wanted ? "missing" : "unexpected");
	}
	st_report(t, !why[0], "acpi: RSDP at 0x%llx, XSDT lists %u tables [%s]"
		  "%s%s", (unsigned long long)LAYOUT_ACPI_BASE, ntables, list,
		  why[0] ? ": " : ", checksums ok", why);
}

/* q35's ACPI PM timer (ACPI 6.4 §4.8.3.3), what Linux's acpi_pm
 * clocksource reads: a 24-bit count at 3.579545 MHz, so 10 ms of virtual
 * time is 35795 counts (to rounding).  microvm is hardware-reduced and
 * has none (§4.1). */
void st_acpi_pm(struct selftest *t)
{
	if (t->cfg->machine.type == CFG_MACHINE_MICROVM)
		return;
	uint16_t port = ACPI_PM_IO_BASE + ACPI_PM_TMR_OFF;
	uint32_t a = (uint32_t)sim_pio_read(t->sim, port, 4);
	sim_clock_step(t->sim, 10000000ull);
	uint32_t b = (uint32_t)sim_pio_read(t->sim, port, 4);
	uint32_t d = (b - a) & 0xffffff;
	st_report(t, d >= 35794 && d <= 35797 && !((a | b) >> 24),
		  "acpi-pm: PM timer at 0x%x counted %u in 10 ms (3.579545 MHz)",
		  port, d);
}

/* One NVDIMM: the file's first bytes at its guest address; read-only:
 * gm refuses writes and a guest store (the MMIO exit a read-only memory
 * slot turns it into) is dropped and counted; writable with share=off
 * (a private mapping, the file never changes): a store reads back;
 * share=on: no store, it would reach the user's file.  Then a write to
 * its flush hint, if the NFIT gives it one. */
static void st_nvdimm_one(struct selftest *t, const struct nvdimm_desc *nv,
			  unsigned idx)
{
	const struct gm *gm = t->sim->m.gm;
	uint8_t sig[16];
	char text[17], what[96] = "";
	bool ok = gm_read(gm, nv->base, sig, sizeof(sig)) == 0;
	st_printable(text, ok ? sig : (const uint8_t *)"", ok ? 16 : 0);
	uint64_t probe = nv->base + nv->pmem_size - 8;
	uint64_t orig = 0, v = 0;
	ok = ok && gm_read_u64le(gm, probe, &orig) == 0;
	if (nv->readonly) {
		uint64_t before = 0, after = 0;
		bool has_ro = board_nvdimm_ro_dropped(t->b, nv->base, &before);
		bool refused = gm_write_u64le(gm, probe, ~orig) < 0;
		sim_mmio_write(t->sim, probe, 8, ~orig);
		bool kept = gm_read_u64le(gm, probe, &v) == 0 && v == orig;
		bool dropped = has_ro &&
			       board_nvdimm_ro_dropped(t->b, nv->base, &after) &&
			       after == before + 1;
		ok = ok && refused && kept && dropped;
		snprintf(what, sizeof(what), "readonly: gm write %s, guest store %s",
			 refused ? "refused" : "ACCEPTED",
			 kept && dropped ? "dropped" : "NOT DROPPED");
	} else if (!nv->share) {
		uint64_t pat = 0x766d6d2d73656c66ull;   /* "fles-mmv" */
		bool w = gm_write_u64le(gm, probe, pat) == 0 &&
			 gm_read_u64le(gm, probe, &v) == 0 && v == pat &&
			 gm_write_u64le(gm, probe, orig) == 0;
		ok = ok && w;
		snprintf(what, sizeof(what), "writable (private mapping): store "
			 "%s", w ? "reads back" : "LOST");
	} else {
		snprintf(what, sizeof(what), "share=on: no store (it would "
			 "change the file)");
	}
	uint64_t before, errs, after, errs_after;
	if (board_nvdimm_flushes(t->b, &before, &errs)) {
		sim_mmio_write(t->sim, NVDIMM_FLUSH_BASE + idx * NVDIMM_FLUSH_STRIDE,
			       8, 1);
		bool f = board_nvdimm_flushes(t->b, &after, &errs_after) &&
			 after == before + 1 && errs_after == errs;
		ok = ok && f;
		size_t n = strlen(what);
		snprintf(what + n, sizeof(what) - n, ", flush hint %s",
			 f ? "ok" : "FAILED");
	}
	st_report(t, ok, "nvdimm at 0x%llx: \"%s\" (id %s), %s",
		  (unsigned long long)nv->base, text, nv->id ? nv->id : "-", what);
}

void st_nvdimm(struct selftest *t)
{
	struct nvdimm_desc nv[LAYOUT_MAX_NVDIMM];
	char err[160];
	int n = nvdimm_describe(t->cfg, t->l, nv, err, sizeof(err));
	if (n < 0) {
		st_report(t, false, "nvdimm: %s", err);
		return;
	}
	for (int i = 0; i < n; i++)
		st_nvdimm_one(t, &nv[i], (unsigned)i);
}
