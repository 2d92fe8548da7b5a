/* ACPI PM register block: S5 through PM1a_CNT (any access width) and
 * through the hardware-reduced sleep control register, other sleep types
 * ignored, the reset register, write-1-to-clear status, the 24-bit PM
 * timer from the passed-in clock, and hostile offsets/widths; the power
 * button (QMP system_powerdown) through PM1 + SCI on q35 and through the
 * GED selector + interrupt on microvm, and a guest poking those bits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/config.h"
#include "core/layout.h"
#include "devices/acpi/acpi.h"
#include "machine/board.h"
#include "sim/sim.h"

struct fake {
	uint64_t now;
	int events[8];
	unsigned nev;
	/* The recording interrupt controller: every set_level call. */
	unsigned gsi_seen;
	int level;
	unsigned nlevel;      /* set_level calls */
	unsigned nrise;       /* 0 -> 1 transitions */
};

static void fake_set_level(void *opaque, unsigned gsi, int level)
{
	struct fake *f = opaque;
	f->gsi_seen = gsi;
	if (level && !f->level)
		f->nrise++;
	f->level = level;
	f->nlevel++;
}

static const struct irq_chip_ops fake_irq_ops = { .set_level = fake_set_level };

static uint64_t fake_now(void *opaque)
{
	return ((struct fake *)opaque)->now;
}

static void fake_request(void *opaque, enum machine_event ev, int status)
{
	struct fake *f = opaque;
	(void)status;
	if (f->nev < 8)
		f->events[f->nev++] = (int)ev;
}

static const struct clk_ops fake_ops = { .now_ns = fake_now };

struct rig {
	struct fake f;
	struct clk clk;
	struct machine_ctl ctl;
	struct irq_chip chip;
	struct acpi_pm pm;
};

static void rig_init(struct rig *r, bool hw_reduced)
{
	memset(r, 0, sizeof(*r));
	r->clk.ops = &fake_ops;
	r->clk.opaque = &r->f;
	r->ctl.request = fake_request;
	r->ctl.opaque = &r->f;
	acpi_pm_init(&r->pm, &r->clk, &r->ctl, hw_reduced, NULL);
	r->chip.ops = &fake_irq_ops;
	r->chip.opaque = &r->f;
	acpi_pm_set_sci(&r->pm, irq_line(&r->chip, LAYOUT_GSI_ACPI_SCI));
}

static uint64_t rd(struct rig *r, unsigned off, unsigned len)
{
	uint8_t b[8] = { 0 };
	assert_int_equal(acpi_pm_access(&r->pm, off, b, len, false), 0);
	uint64_t v = 0;
	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void wr(struct rig *r, unsigned off, unsigned len, uint64_t v)
{
	uint8_t b[8];
	for (unsigned i = 0; i < len; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	assert_int_equal(acpi_pm_access(&r->pm, off, b, len, true), 0);
}

static void test_s5_through_pm1_cnt(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, false);
	/* SCI_EN reads 1: always in ACPI mode. */
	assert_int_equal(rd(&r, ACPI_PM1_CNT_OFF, 2) & 1, 1);
	/* S5 with SLP_EN, 16-bit write as Linux does. */
	wr(&r, ACPI_PM1_CNT_OFF, 2, (ACPI_SLP_TYP_S5 << 10) | (1u << 13));
	assert_int_equal(r.f.nev, 1);
	assert_int_equal(r.f.events[0], MACHINE_SHUTDOWN);
	/* SLP_EN is write-only: it reads back 0. */
	assert_int_equal(rd(&r, ACPI_PM1_CNT_OFF, 2) & (1u << 13), 0);
	/* The same through a byte write of the high half. */
	wr(&r, ACPI_PM1_CNT_OFF + 1, 1, ((ACPI_SLP_TYP_S5 << 10) | (1u << 13)) >> 8);
	assert_int_equal(r.f.nev, 2);
	/* SLP_TYP without SLP_EN does nothing. */
	wr(&r, ACPI_PM1_CNT_OFF, 2, ACPI_SLP_TYP_S5 << 10);
	assert_int_equal(r.f.nev, 2);
}

static void test_other_sleep_types_ignored(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, false);
	for (unsigned typ = 0; typ < 8; typ++) {
		if (typ == ACPI_SLP_TYP_S5)
			continue;
		wr(&r, ACPI_PM1_CNT_OFF, 2, (typ << 10) | (1u << 13));
		wr(&r, ACPI_SLEEP_CTL_OFF, 1, (typ << 2) | (1u << 5));
	}
	assert_int_equal(r.f.nev, 0);
	assert_int_equal(r.pm.rejected, 14);
}

static void test_hw_reduced_sleep_control(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, true);
	wr(&r, ACPI_SLEEP_CTL_OFF, 1, (ACPI_SLP_TYP_S5 << 2) | (1u << 5));
	assert_int_equal(r.f.nev, 1);
	assert_int_equal(r.f.events[0], MACHINE_SHUTDOWN);
	/* SLEEP_CONTROL is write-only. */
	assert_int_equal(rd(&r, ACPI_SLEEP_CTL_OFF, 1), 0);
	/* WAK_STS is write-1-to-clear. */
	r.pm.sleep_sts = 0x80;
	wr(&r, ACPI_SLEEP_STS_OFF, 1, 0x00);
	assert_int_equal(rd(&r, ACPI_SLEEP_STS_OFF, 1), 0x80);
	wr(&r, ACPI_SLEEP_STS_OFF, 1, 0x80);
	assert_int_equal(rd(&r, ACPI_SLEEP_STS_OFF, 1), 0);
}

static void test_reset_register(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, true);
	wr(&r, ACPI_RESET_OFF, 1, 0x02); /* not RESET_VALUE */
	assert_int_equal(r.f.nev, 0);
	wr(&r, ACPI_RESET_OFF, 1, ACPI_RESET_VALUE);
	assert_int_equal(r.f.nev, 1);
	assert_int_equal(r.f.events[0], MACHINE_RESET);
}

static void test_pm1_status_enable(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, false);
	r.pm.pm1_sts = 0x8101;
	wr(&r, ACPI_PM1_EVT_OFF, 2, 0x0001);     /* clear TMR_STS only */
	assert_int_equal(rd(&r, ACPI_PM1_EVT_OFF, 2), 0x8100);
	wr(&r, ACPI_PM1_EVT_OFF, 4, 0x01208000); /* clear WAK, set enables */
	assert_int_equal(rd(&r, ACPI_PM1_EVT_OFF, 2), 0x0100);
	assert_int_equal(rd(&r, ACPI_PM1_EVT_OFF + 2, 2), 0x0120);
}

static void test_pm_timer(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, false);
	assert_int_equal(rd(&r, ACPI_PM_TMR_OFF, 4), 0);
	r.f.now = 1000000000ull; /* 1 s = 3579545 ticks */
	assert_int_equal(rd(&r, ACPI_PM_TMR_OFF, 4), 3579545);
	r.f.now = 10ull * 1000000000ull; /* wraps at 24 bits */
	assert_int_equal(rd(&r, ACPI_PM_TMR_OFF, 4), 35795450u & 0xffffff);
	/* Far future: no overflow in the conversion. */
	r.f.now = UINT64_MAX;
	uint64_t ticks = (UINT64_MAX / 1000000000ull) * 3579545ull +
			 (UINT64_MAX % 1000000000ull) * 3579545ull / 1000000000ull;
	assert_int_equal(rd(&r, ACPI_PM_TMR_OFF, 4), ticks & 0xffffff);
	/* Writes to the timer are ignored. */
	wr(&r, ACPI_PM_TMR_OFF, 4, 0);
	assert_int_equal(rd(&r, ACPI_PM_TMR_OFF, 4), ticks & 0xffffff);
}

static void test_hostile_offsets(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, false);
	uint8_t b[8] = { 0 };
	assert_int_equal(acpi_pm_access(&r.pm, ACPI_PM_IO_SIZE, b, 1, false), -1);
	assert_int_equal(acpi_pm_access(&r.pm, ACPI_PM_IO_SIZE - 1, b, 2, true), -1);
	assert_int_equal(acpi_pm_access(&r.pm, UINT64_MAX, b, 8, false), -1);
	/* Every in-range offset/width is harmless: only S5/reset values act. */
	for (unsigned off = 0; off < ACPI_PM_IO_SIZE; off++)
		for (unsigned len = 1; len <= 4 && off + len <= ACPI_PM_IO_SIZE; len++) {
			memset(b, 0, sizeof(b));
			assert_int_equal(acpi_pm_access(&r.pm, off, b, len, true), 0);
			assert_int_equal(acpi_pm_access(&r.pm, off, b, len, false), 0);
		}
	assert_int_equal(r.f.nev, 0);
	/* Without a clock the timer reads 0 rather than crashing. */
	struct acpi_pm pm;
	acpi_pm_init(&pm, NULL, NULL, false, NULL);
	assert_int_equal(acpi_pm_access(&pm, ACPI_PM_TMR_OFF, b, 4, false), 0);
	assert_int_equal(b[0] | b[1] | b[2] | b[3], 0);
	b[0] = ACPI_RESET_VALUE; /* no ctl: the request goes nowhere */
	assert_int_equal(acpi_pm_access(&pm, ACPI_RESET_OFF, b, 1, true), 0);
}

/* q35: the fixed power button (ACPI 6.4 §4.8.3.1.1).  PWRBTN_STS latches
 * even while disabled; the SCI is a level that follows STS & EN. */
static void test_power_button_q35(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, false);
	assert_int_equal(r.f.level, 0);
	acpi_pm_power_button(&r.pm);
	assert_int_equal(rd(&r, ACPI_PM1_EVT_OFF, 2), ACPI_PM1_PWRBTN);
	assert_int_equal(r.f.level, 0); /* PWRBTN_EN still clear */
	/* The OS enables the event: the pending press interrupts now. */
	wr(&r, ACPI_PM1_EVT_OFF + 2, 2, ACPI_PM1_PWRBTN);
	assert_int_equal(r.f.level, 1);
	assert_int_equal(r.f.gsi_seen, LAYOUT_GSI_ACPI_SCI);
	assert_int_equal(r.f.nrise, 1);
	/* A second press before the OS acknowledged: still one level. */
	acpi_pm_power_button(&r.pm);
	assert_int_equal(r.f.level, 1);
	assert_int_equal(r.f.nrise, 1);
	/* Reads and unrelated writes leave it asserted. */
	rd(&r, ACPI_PM1_EVT_OFF, 4);
	wr(&r, ACPI_PM1_EVT_OFF, 2, ACPI_PM1_TMR);
	assert_int_equal(r.f.level, 1);
	/* Write-1-to-clear PWRBTN_STS: the SCI drops. */
	wr(&r, ACPI_PM1_EVT_OFF, 2, ACPI_PM1_PWRBTN);
	assert_int_equal(rd(&r, ACPI_PM1_EVT_OFF, 2), 0);
	assert_int_equal(r.f.level, 0);
	/* Press again: a new edge of the level. */
	acpi_pm_power_button(&r.pm);
	assert_int_equal(r.f.level, 1);
	assert_int_equal(r.f.nrise, 2);
	/* Disabling the event also drops the line; STS stays latched. */
	wr(&r, ACPI_PM1_EVT_OFF + 2, 2, 0);
	assert_int_equal(r.f.level, 0);
	assert_int_equal(rd(&r, ACPI_PM1_EVT_OFF, 2), ACPI_PM1_PWRBTN);
	/* The GED selector means nothing on q35: the press went to PM1. */
	assert_int_equal(rd(&r, ACPI_GED_SEL_OFF, 1), 0);
	/* The button only notifies: nothing asked the machine to stop. */
	assert_int_equal(r.f.nev, 0);
}

/* A guest cannot raise its own SCI: status bits are write-1-to-clear
 * only, and enabling everything with nothing pending asserts nothing. */
static void test_sci_guest_cannot_set_status(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, false);
	wr(&r, ACPI_PM1_EVT_OFF, 4, 0xffffffff);
	assert_int_equal(rd(&r, ACPI_PM1_EVT_OFF, 2), 0);
	assert_int_equal(r.f.level, 0);
	assert_int_equal(r.f.nlevel, 0); /* the line was never touched */
	/* Enable bits the block never sets: still no SCI. */
	wr(&r, ACPI_PM1_EVT_OFF + 2, 2, 0xffff);
	assert_int_equal(r.f.level, 0);
	wr(&r, ACPI_GED_SEL_OFF, 1, 0xff); /* the selector ignores writes */
	assert_int_equal(rd(&r, ACPI_GED_SEL_OFF, 1), 0);
	assert_int_equal(r.f.level, 0);
}

/* microvm: the GED (ACPI 6.4 §5.6.9).  The interrupt stays up until
 * _EVT reads the selector; the read returns the event and clears it. */
static void test_power_button_ged(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, true);
	acpi_pm_power_button(&r.pm);
	assert_int_equal(r.f.level, 1);
	assert_int_equal(r.f.gsi_seen, LAYOUT_GSI_ACPI_SCI);
	/* PM1 is not where hardware-reduced events go. */
	assert_int_equal(rd(&r, ACPI_PM1_EVT_OFF, 2), 0);
	assert_int_equal(r.f.level, 1);
	/* _EVT: Local0 = ESEL, then Notify(PWRB) for bit 1. */
	assert_int_equal(rd(&r, ACPI_GED_SEL_OFF, 1), ACPI_GED_EVT_PWR_DOWN);
	assert_int_equal(r.f.level, 0);
	assert_int_equal(rd(&r, ACPI_GED_SEL_OFF, 1), 0);
	/* Two presses before _EVT runs are one event, one interrupt. */
	acpi_pm_power_button(&r.pm);
	acpi_pm_power_button(&r.pm);
	assert_int_equal(r.f.nrise, 2);
	/* A wide read covering the selector clears it too. */
	assert_int_equal(rd(&r, ACPI_SLEEP_STS_OFF, 3) >> 16, ACPI_GED_EVT_PWR_DOWN);
	assert_int_equal(r.f.level, 0);
	assert_int_equal(r.f.nev, 0);
}

/* Without an interrupt line (a board that never set one), presses latch
 * and nothing crashes; setting the line later raises what is pending. */
static void test_power_button_without_sci(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct irq_chip chip = { &fake_irq_ops, &f };
	struct acpi_pm pm;
	acpi_pm_init(&pm, NULL, NULL, true, NULL);
	acpi_pm_power_button(&pm);
	assert_int_equal(f.nlevel, 0);
	acpi_pm_set_sci(&pm, irq_line(&chip, LAYOUT_GSI_ACPI_SCI));
	assert_int_equal(f.level, 1);
	uint8_t b = 0;
	assert_int_equal(acpi_pm_access(&pm, ACPI_GED_SEL_OFF, &b, 1, false), 0);
	assert_int_equal(b, ACPI_GED_EVT_PWR_DOWN);
	assert_int_equal(f.level, 0);
}

/* The whole board in the simulator: the button press reaches GSI 9 of the
 * machine's interrupt controller, and the guest's register accesses on
 * the I/O bus (as Linux's ACPI driver makes them) acknowledge it. */
struct simrig {
	struct machine_config cfg;
	struct layout l;
	struct board_host host;   /* the board keeps a pointer to it */
	struct sim *sim;
	struct board *b;
};

static void simrig_new(struct simrig *r, const char *machine)
{
	memset(r, 0, sizeof(*r));
	char *argv[] = { (char *)"vmm", (char *)"-machine", (char *)machine,
			 (char *)"-m", (char *)"64M", NULL };
	char err[256];
	assert_int_equal(config_parse(&r->cfg, 5, argv, err, sizeof(err)), 0);
	assert_int_equal(layout_build(&r->l, &r->cfg, err, sizeof(err)), 0);
	struct sim_config sc = { .ram_size = r->l.ram[0].size, .seed = 1 };
	r->sim = sim_new(&sc);
	assert_non_null(r->sim);
	r->host.wall_epoch = 1767225600;
	r->b = board_new(&r->sim->m, &r->cfg, &r->l, &r->host, err, sizeof(err));
	assert_non_null(r->b);
}

static void simrig_free(struct simrig *r)
{
	board_free(r->b);
	sim_free(r->sim);
}

static void test_sim_q35_power_button(void **state)
{
	(void)state;
	struct simrig r;
	simrig_new(&r, "q35,accel=sim");
	struct sim *s = r.sim;
	const uint16_t pm = ACPI_PM_IO_BASE;
	board_power_button(r.b);
	assert_int_equal(s->gsi_level[LAYOUT_GSI_ACPI_SCI], 0); /* not enabled */
	/* The OS enables the power button event, takes the SCI, reads and
	 * clears the status (ACPI 6.4 §4.8.3.1). */
	sim_pio_write(s, pm + ACPI_PM1_EVT_OFF + 2, 2, ACPI_PM1_PWRBTN);
	assert_int_equal(s->gsi_level[LAYOUT_GSI_ACPI_SCI], 1);
	assert_int_equal(sim_pio_read(s, pm + ACPI_PM1_EVT_OFF, 2), ACPI_PM1_PWRBTN);
	sim_pio_write(s, pm + ACPI_PM1_EVT_OFF, 2, ACPI_PM1_PWRBTN);
	assert_int_equal(s->gsi_level[LAYOUT_GSI_ACPI_SCI], 0);
	assert_int_equal(sim_pio_read(s, pm + ACPI_PM1_EVT_OFF, 2), 0);
	/* Pressed again with the event enabled: straight to the SCI. */
	board_power_button(r.b);
	assert_int_equal(s->gsi_level[LAYOUT_GSI_ACPI_SCI], 1);
	simrig_free(&r);
}

static void test_sim_microvm_power_button(void **state)
{
	(void)state;
	struct simrig r;
	simrig_new(&r, "microvm,accel=sim");
	struct sim *s = r.sim;
	board_power_button(r.b);
	assert_int_equal(s->gsi_level[LAYOUT_GSI_ACPI_SCI], 1);
	/* _EVT: Local0 = ESEL (the read clears it), Notify (PWRB). */
	assert_int_equal(sim_pio_read(s, ACPI_PM_IO_BASE + ACPI_GED_SEL_OFF, 1),
			 ACPI_GED_EVT_PWR_DOWN);
	assert_int_equal(s->gsi_level[LAYOUT_GSI_ACPI_SCI], 0);
	assert_int_equal(sim_pio_read(s, ACPI_PM_IO_BASE + ACPI_GED_SEL_OFF, 1), 0);
	/* NULL board (no machine yet): nothing happens. */
	board_power_button(NULL);
	simrig_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s5_through_pm1_cnt),
		cmocka_unit_test(test_other_sleep_types_ignored),
		cmocka_unit_test(test_hw_reduced_sleep_control),
		cmocka_unit_test(test_reset_register),
		cmocka_unit_test(test_pm1_status_enable),
		cmocka_unit_test(test_pm_timer),
		cmocka_unit_test(test_hostile_offsets),
		cmocka_unit_test(test_power_button_q35),
		cmocka_unit_test(test_sci_guest_cannot_set_status),
		cmocka_unit_test(test_power_button_ged),
		cmocka_unit_test(test_power_button_without_sci),
		cmocka_unit_test(test_sim_q35_power_button),
		cmocka_unit_test(test_sim_microvm_power_button),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
