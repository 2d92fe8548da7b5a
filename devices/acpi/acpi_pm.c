/* The ACPI PM register block the FADT points at (ACPI 6.4 §4.8):
 *   PM1a_STS/PM1a_EN  write-1-to-clear status, enable (§4.8.3.1)
 *   PM1a_CNT          SCI_EN reads 1 (no SMI_CMD: always ACPI mode);
 *                     SLP_EN with SLP_TYP = S5 powers off (§4.8.3.2.1)
 *   PM_TMR            24-bit free-running 3.579545 MHz counter (§4.8.3.3)
 *   SLEEP_CONTROL/STATUS  the hardware-reduced equivalents (§4.8.3.7)
 *   RESET_REG         writing RESET_VALUE resets the machine (§4.8.3.6)
 *   GED selector      microvm's Generic Event Device (§5.6.9): which
 *                     events fired; reading it clears them
 * The SCI (q35: PM1_STS & PM1_EN; microvm: the GED selector non-zero) is
 * a level line (§4.8.3.1: the SCI stays asserted until the OS clears the
 * status bit), so an event the guest has not acknowledged is never lost.
 * Registers are decoded byte by byte, so any access width works the same
 * way.  Sleep states other than S5 are not implemented: the write is
 * dropped and counted (a guest may try S3; it then simply keeps running). */
#include "acpi.h"

#include <string.h>

#include "core/log.h"
#include <string.h>
#include "core/snapshot.h"

#define PM_TMR_HZ 3579545ull
#define PM1_CNT_SCI_EN (1u << 0)
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_EN (1u << 13)
#define SLEEP_CTL_TYP_SHIFT 2
#define SLEEP_CTL_SLP_EN (1u << 5)
#define SLEEP_STS_WAK (1u << 7)

void acpi_pm_init(struct acpi_pm *pm, const struct clk *clk,
		  const struct machine_ctl *ctl, bool hw_reduced,
		  struct log *log)
{
	memset(pm, 0, sizeof(*pm));
	pm->clk = clk;
	pm->ctl = ctl;
	pm->log = log;
	pm->hw_reduced = hw_reduced;
	pm->pm1_cnt = PM1_CNT_SCI_EN;
}

/* The PM1 events that signal the SCI when enabled (Table 4.12). */
#define PM1_SCI_EVENTS (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
			ACPI_PM1_SLPBTN | ACPI_PM1_RTC)

void acpi_pm_update_sci(struct acpi_pm *pm)
{
	bool level = pm->hw_reduced ? pm->ged_sel != 0 :
		     (pm->pm1_sts & pm->pm1_en & PM1_SCI_EVENTS) != 0 ||
		     (pm->gpe0_sts & pm->gpe0_en) != 0;
	if (level == pm->sci_level)
		return;
	pm->sci_level = level;
	irq_set_level(&pm->sci, level);
}

void acpi_pm_set_sci(struct acpi_pm *pm, struct irq sci)
{
	pm->sci = sci;
	pm->sci_level = false;
	acpi_pm_update_sci(pm);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	if (pm->hw_reduced)
		pm->ged_sel |= ACPI_GED_EVT_PWR_DOWN;
	else
		pm->pm1_sts |= ACPI_PM1_PWRBTN;
	log_info(pm->log, "acpi: power button pressed");
	acpi_pm_update_sci(pm);
}

static uint32_t pm_timer(const struct acpi_pm *pm)
{
	uint64_t ns = pm->clk ? clk_now_ns(pm->clk) : 0;
	/* Split so ns * 3579545 cannot overflow 64 bits. */
	uint64_t ticks = (ns / 1000000000ull) * PM_TMR_HZ +
			 (ns % 1000000000ull) * PM_TMR_HZ / 1000000000ull;
	return (uint32_t)(ticks & 0xffffff);
}

static uint8_t pm_read_byte(const struct acpi_pm *pm, unsigned off, uint32_t tmr)
{
	switch (off) {
	case ACPI_PM1_EVT_OFF: return (uint8_t)pm->pm1_sts;
	case ACPI_PM1_EVT_OFF + 1: return (uint8_t)(pm->pm1_sts >> 8);
	case ACPI_PM1_EVT_OFF + 2: return (uint8_t)pm->pm1_en;
	case ACPI_PM1_EVT_OFF + 3: return (uint8_t)(pm->pm1_en >> 8);
	case ACPI_PM1_CNT_OFF: return (uint8_t)pm->pm1_cnt;
	case ACPI_PM1_CNT_OFF + 1: return (uint8_t)(pm->pm1_cnt >> 8);
	case ACPI_PM_TMR_OFF:
	case ACPI_PM_TMR_OFF + 1:
	case ACPI_PM_TMR_OFF + 2:
	case ACPI_PM_TMR_OFF + 3:
		return (uint8_t)(tmr >> (8 * (off - ACPI_PM_TMR_OFF)));
	case ACPI_SLEEP_STS_OFF: return pm->sleep_sts;
	case ACPI_GED_SEL_OFF: return pm->ged_sel; /* cleared by the caller */
	default: return 0; /* SLEEP_CONTROL and RESET are write-only */
	}
}

static void pm_sleep(struct acpi_pm *pm, unsigned typ)
{
	if (typ == ACPI_SLP_TYP_S5) {
		log_info(pm->log, "acpi: guest requested soft-off (S5)");
		machine_request(pm->ctl, MACHINE_SHUTDOWN, 0);
		return;
	}
	pm->rejected++;
	if (pm->rejected == 1)
		log_warn(pm->log, "acpi: sleep type %u not supported, ignored", typ);
}

static void pm_write_byte(struct acpi_pm *pm, unsigned off, uint8_t v)
{
	switch (off) {
	case ACPI_PM1_EVT_OFF:
		pm->pm1_sts &= (uint16_t)~v;
		break;
	case ACPI_PM1_EVT_OFF + 1:
		pm->pm1_sts &= (uint16_t)~((unsigned)v << 8);
		break;
	case ACPI_PM1_EVT_OFF + 2:
		pm->pm1_en = (uint16_t)((pm->pm1_en & 0xff00) | v);
		break;
	case ACPI_PM1_EVT_OFF + 3:
		pm->pm1_en = (uint16_t)((pm->pm1_en & 0x00ff) | (unsigned)v << 8);
		break;
	case ACPI_PM1_CNT_OFF:
		/* SCI_EN is read-only 1 here: there is no legacy mode. */
		pm->pm1_cnt = (uint16_t)((pm->pm1_cnt & 0xff00) | v | PM1_CNT_SCI_EN);
		break;
	case ACPI_PM1_CNT_OFF + 1: {
		uint16_t hi = (uint16_t)((unsigned)v << 8);
		/* SLP_EN is write-only and never latched. */
		pm->pm1_cnt = (uint16_t)((pm->pm1_cnt & 0x00ff) |
					 (hi & ~PM1_CNT_SLP_EN));
		if (hi & PM1_CNT_SLP_EN)
			pm_sleep(pm, (hi >> PM1_CNT_SLP_TYP_SHIFT) & 7);
		break;
	}
	case ACPI_SLEEP_CTL_OFF:
		if (v & SLEEP_CTL_SLP_EN)
			pm_sleep(pm, (v >> SLEEP_CTL_TYP_SHIFT) & 7);
		break;
	case ACPI_SLEEP_STS_OFF:
		pm->sleep_sts &= (uint8_t)~(v & SLEEP_STS_WAK);
		break;
	case ACPI_RESET_OFF:
		if (v == ACPI_RESET_VALUE) {
			log_info(pm->log, "acpi: guest requested reset");
			machine_request(pm->ctl, MACHINE_RESET, 0);
		}
		break;
	default:
		break; /* the PM timer, the GED selector and gaps ignore writes */
	}
}

int acpi_pm_access(void *dev, uint64_t offset, void *data, unsigned len,
		   bool is_write)
{
	struct acpi_pm *pm = dev;
	uint8_t *b = data;
	if (offset >= ACPI_PM_IO_SIZE || len > ACPI_PM_IO_SIZE - offset)
		return -1;
	/* One clock read per access, so a 32-bit timer read never tears. */
	uint32_t tmr = is_write ? 0 : pm_timer(pm);
	for (unsigned i = 0; i < len; i++) {
		unsigned off = (unsigned)offset + i;
		if (is_write) {
			pm_write_byte(pm, off, b[i]);
		} else {
			b[i] = pm_read_byte(pm, off, tmr);
			/* _EVT reads the selector once per interrupt: what
			 * it read is handled, the line may drop. */
			if (off == ACPI_GED_SEL_OFF)
				pm->ged_sel = 0;
		}
	}
	acpi_pm_update_sci(pm);
	return 0;
}

/* ---- snapshot (docs/snapshot.md "ACPI PM / GED") ---- */

int acpi_pm_save(const struct acpi_pm *pm, struct snap_w *w)
{
	/* Version 2: q35's GPE0 block, whose enable bits are what lets a
	 * hot-plug event (CPU GPE.2, memory GPE.3) reach the guest after a
	 * restore. */
	snap_w_begin(w, "acpi-pm", 2);
	snap_w_bool(w, "hw_reduced", pm->hw_reduced);
	snap_w_u16(w, "pm1_sts", pm->pm1_sts);
	snap_w_u16(w, "pm1_en", pm->pm1_en);
	snap_w_u16(w, "pm1_cnt", pm->pm1_cnt);
	snap_w_u8(w, "sleep_sts", pm->sleep_sts);
	snap_w_u8(w, "ged_sel", pm->ged_sel);
	snap_w_bool(w, "sci_level", pm->sci_level);
	snap_w_u16(w, "gpe0_sts", pm->gpe0_sts);
	snap_w_u16(w, "gpe0_en", pm->gpe0_en);
	snap_w_end(w);
	return 0;
}

int acpi_pm_load(struct acpi_pm *pm, struct snap_r *r)
{
	bool hw = false, sci = false;
	uint16_t sts = 0, en = 0, cnt = 0, gsts = 0, gen = 0;
	uint8_t sleep = 0, ged = 0;
	uint32_t ver = 1;
	snap_r_begin(r, "acpi-pm", 2, &ver);
	snap_r_bool(r, "hw_reduced", &hw);
	snap_r_u16(r, "pm1_sts", &sts);
	snap_r_u16(r, "pm1_en", &en);
	snap_r_u16(r, "pm1_cnt", &cnt);
	snap_r_u8(r, "sleep_sts", &sleep);
	snap_r_u8(r, "ged_sel", &ged);
	snap_r_bool(r, "sci_level", &sci);
	if (ver >= 2) {
		snap_r_u16(r, "gpe0_sts", &gsts);
		snap_r_u16(r, "gpe0_en", &gen);
	}
	snap_r_check(r, hw == pm->hw_reduced, "hw_reduced",
		     "another machine type (q35 PM block vs microvm GED)");
	/* A hardware-reduced machine has no GPE block (microvm: the GED). */
	snap_r_check(r, !hw || (gsts == 0 && gen == 0), "gpe0_sts",
		     "GPE bits on a hardware-reduced machine");
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	pm->pm1_sts = sts;
	pm->pm1_en = en;
	pm->pm1_cnt = cnt;
	pm->sleep_sts = sleep;
	pm->ged_sel = ged;
	pm->sci_level = sci;
	pm->gpe0_sts = gsts;
	pm->gpe0_en = gen;
	return 0;
}
