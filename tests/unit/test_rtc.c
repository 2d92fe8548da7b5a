/* MC146818A RTC/CMOS on the simulator: time registers in every format,
 * UIP window, every periodic rate at its exact tick times, alarm with
 * don't-cares, update-ended interrupt, SET and divider reset, hostile
 * register values, register C/D, CMOS RAM, determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "core/bus.h"
#include "devices/rtc.h"
#include "sim/sim.h"

#define SEC 1000000000ull
#define T_2026_11_22_134530 1795355130ll /* a Sunday */
#define T_2099_12_31_235959 4102444799ll
#define T_2024_02_28_235959 1709164799ll
#define MAX_EDGES 512

struct rec {
	struct sim *s;
	struct irq_chip chip;
	uint64_t t[MAX_EDGES];
	size_t n;
	int level;
};

static void rec_set_level(void *o, unsigned gsi, int level)
{
	struct rec *r = o;

	if (level && !r->level) {
		if (r->n < MAX_EDGES)
			r->t[r->n] = r->s->now_ns;
		r->n++;
	}
	r->level = level;
	r->s->m.irqchip->ops->set_level(r->s->m.irqchip->opaque, gsi, level);
}

static const struct irq_chip_ops rec_ops = { .set_level = rec_set_level };

struct fx {
	struct sim *s;
	struct rtc *rtc;
	struct rec rec;
};

static struct fx *fx_new(int64_t base, bool record)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sim_config sc = { .record_events = record };

	assert_non_null(f);
	f->s = sim_new(&sc);
	assert_non_null(f->s);
	f->rec.s = f->s;
	f->rec.chip = (struct irq_chip){ &rec_ops, &f->rec };
	struct rtc_config rc = { .clk = f->s->m.clk,
				 .irq = irq_line(&f->rec.chip, 8),
				 .base_epoch = base };
	f->rtc = rtc_new(&rc);
	assert_non_null(f->rtc);
	assert_int_equal(bus_register(f->s->m.pio, RTC_PORT_BASE, RTC_NPORTS,
				      rtc_access, f->rtc, "rtc"), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	rtc_free(f->rtc);
	sim_free(f->s);
	free(f);
}

static int setup(void **state)
{
	*state = fx_new(T_2026_11_22_134530, false);
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static uint8_t rd(struct fx *f, uint8_t idx)
{
	sim_pio_write(f->s, 0x70, 1, idx);
	return (uint8_t)sim_pio_read(f->s, 0x71, 1);
}

static void wr(struct fx *f, uint8_t idx, uint8_t v)
{
	sim_pio_write(f->s, 0x70, 1, idx);
	sim_pio_write(f->s, 0x71, 1, v);
}

static void step_to(struct fx *f, uint64_t t)
{
	assert_true(t >= f->s->now_ns);
	sim_clock_step(f->s, t - f->s->now_ns);
}

static void test_time_bcd_24h(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, RTC_SECONDS), 0x30);
	assert_int_equal(rd(f, RTC_MINUTES), 0x45);
	assert_int_equal(rd(f, RTC_HOURS), 0x13);
	assert_int_equal(rd(f, RTC_DAY_OF_WEEK), 0x01); /* Sunday */
	assert_int_equal(rd(f, RTC_DAY_OF_MONTH), 0x22);
	assert_int_equal(rd(f, RTC_MONTH), 0x11);
	assert_int_equal(rd(f, RTC_YEAR), 0x26);
	assert_int_equal(rd(f, RTC_CENTURY), 0x20);
	assert_int_equal(rd(f, RTC_REG_B), RTC_B_24H);
	step_to(f, SEC - 1);
	assert_int_equal(rd(f, RTC_SECONDS), 0x30);
	step_to(f, SEC);
	assert_int_equal(rd(f, RTC_SECONDS), 0x31);
	step_to(f, 30 * SEC);
	assert_int_equal(rd(f, RTC_SECONDS), 0x00);
	assert_int_equal(rd(f, RTC_MINUTES), 0x46);
	assert_int_equal(rtc_now_epoch(f->rtc), T_2026_11_22_134530 + 30);
}

/* Linux's mc146818_get_time: wait for UIP clear, read the time, check UIP
 * did not rise meanwhile; a read started inside the window must wait. */
static void test_linux_get_time(void **state)
{
	struct fx *f = *state;
	unsigned polls = 0;

	step_to(f, 7 * SEC - 100000); /* inside the UIP window */
	while (rd(f, RTC_REG_A) & RTC_A_UIP) {
		sim_clock_step(f->s, 20000);
		polls++;
	}
	assert_int_equal(polls, 5);
	assert_true(f->s->now_ns >= 7 * SEC);
	uint8_t sec = rd(f, RTC_SECONDS), min = rd(f, RTC_MINUTES);
	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
	assert_int_equal(sec, 0x37);
	assert_int_equal(min, 0x45);
	assert_int_equal(rd(f, RTC_REG_D) & RTC_D_VRT, RTC_D_VRT);
}

static void test_binary_and_12h(void **state)
{
	struct fx *f = *state;

	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	assert_int_equal(rd(f, RTC_HOURS), 13);
	assert_int_equal(rd(f, RTC_MINUTES), 45);
	assert_int_equal(rd(f, RTC_YEAR), 26);
	assert_int_equal(rd(f, RTC_CENTURY), 20);
	wr(f, RTC_REG_B, RTC_B_DM_BINARY); /* binary, 12-hour */
	assert_int_equal(rd(f, RTC_HOURS), 0x80 | 1);
	wr(f, RTC_REG_B, 0); /* BCD, 12-hour */
	assert_int_equal(rd(f, RTC_HOURS), 0x81);
	/* Midnight is 12 AM, noon 12 PM. */
	fx_free(f);
	*state = f = fx_new(T_2026_11_22_134530 - 13 * 3600 - 45 * 60 - 30, false);
	wr(f, RTC_REG_B, 0);
	assert_int_equal(rd(f, RTC_HOURS), 0x12);
	assert_int_equal(rd(f, RTC_MINUTES), 0x00);
	step_to(f, 12 * 3600 * SEC);
	assert_int_equal(rd(f, RTC_HOURS), 0x92);
	step_to(f, 23 * 3600 * SEC);
	assert_int_equal(rd(f, RTC_HOURS), 0x91); /* 11 PM: BCD 11 + PM */
}

static void test_uip_window(void **state)
{
	struct fx *f = *state;

	/* Updates at every whole second since creation; UIP rises 244 us
	 * before each one and falls as the registers change. */
	for (uint64_t k = 1; k <= 3; k++) {
		step_to(f, k * SEC - RTC_UIP_NS - 1);
		assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
		step_to(f, k * SEC - RTC_UIP_NS);
		assert_int_equal(rd(f, RTC_REG_A), RTC_A_UIP | 0x26);
		assert_int_equal(rd(f, RTC_SECONDS), 0x30 + k - 1);
		step_to(f, k * SEC - 1);
		assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, RTC_A_UIP);
		step_to(f, k * SEC);
		assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
		assert_int_equal(rd(f, RTC_SECONDS), 0x30 + k);
	}
	/* No update cycles while SET: UIP stays low. */
	wr(f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	step_to(f, 4 * SEC - 1000);
	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
	/* UIP is read-only. */
	wr(f, RTC_REG_A, 0xa6);
	assert_int_equal(rd(f, RTC_REG_A), 0x26);
}

static uint64_t per_cycles(unsigned rs)
{
	return rs <= 2 ? 64u << rs : 1u << (rs - 1);
}

/* Tick k of rate rs, counted from the divider origin. */
static uint64_t per_tick_ns(uint64_t origin, unsigned rs, uint64_t k)
{
	unsigned __int128 n = (unsigned __int128)k * per_cycles(rs) * SEC;

	return origin + (uint64_t)((n + 32767) / 32768);
}

static void test_periodic_every_rate(void **state)
{
	struct fx *f = *state;

	for (unsigned rs = 1; rs <= 15; rs++) {
		uint64_t p = per_cycles(rs);
		uint64_t k = (uint64_t)((unsigned __int128)f->s->now_ns * 32768 /
					((unsigned __int128)p * SEC)) + 1;

		wr(f, RTC_REG_A, (uint8_t)(0x20 | rs));
		wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
		rd(f, RTC_REG_C);
		for (int i = 0; i < 3; i++, k++) {
			uint64_t t = per_tick_ns(0, rs, k);
			size_t n = f->rec.n;

			step_to(f, t - 1);
			assert_int_equal(f->rec.n, n);
			step_to(f, t);
			assert_int_equal(f->rec.n, n + 1);
			assert_int_equal(f->rec.t[f->rec.n - 1], t);
			assert_int_equal(rd(f, RTC_REG_C) & 0xc0, 0xc0);
			assert_int_equal(f->s->gsi_level[8], 0);
		}
		wr(f, RTC_REG_B, RTC_B_24H);
	}
	/* RS = 0: no periodic interrupt at all. */
	wr(f, RTC_REG_A, 0x20);
	wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
	rd(f, RTC_REG_C);
	size_t n = f->rec.n;
	sim_clock_step(f->s, SEC / 3);
	assert_int_equal(f->rec.n, n);
	assert_int_equal(rd(f, RTC_REG_C) & RTC_C_PF, 0);
}

static void test_periodic_flag_without_pie(void **state)
{
	struct fx *f = *state;

	rd(f, RTC_REG_C);
	sim_clock_step(f->s, 2000000); /* 1024 Hz default rate */
	/* PF is set by the tick even with PIE off; no IRQF, no line. */
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_PF);
	assert_int_equal(f->rec.n, 0);
	/* Enabling PIE with PF pending raises the line at once. */
	sim_clock_step(f->s, 2000000);
	wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->s->gsi_level[8], 1);
	/* Not reading C: the line stays high, no new edges. */
	sim_clock_step(f->s, 10000000);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
	assert_int_equal(f->s->gsi_level[8], 0);
	assert_int_equal(rd(f, RTC_REG_C), 0); /* read-to-clear */
}

static void test_update_ended_irq(void **state)
{
	struct fx *f = *state;

	wr(f, RTC_REG_A, 0x20); /* no periodic flag in the way */
	wr(f, RTC_REG_B, RTC_B_UIE | RTC_B_24H);
	for (uint64_t k = 1; k <= 5; k++) {
		step_to(f, k * SEC - 1);
		assert_int_equal(f->rec.n, k - 1);
		step_to(f, k * SEC);
		assert_int_equal(f->rec.n, k);
		assert_int_equal(f->rec.t[k - 1], k * SEC);
		assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	}
}

static void test_alarm_exact_second(void **state)
{
	struct fx *f = *state;

	/* 13:45:35 is five updates away. */
	wr(f, RTC_REG_A, 0x20);
	wr(f, RTC_HOURS_ALARM, 0x13);
	wr(f, RTC_MINUTES_ALARM, 0x45);
	wr(f, RTC_SECONDS_ALARM, 0x35);
	wr(f, RTC_REG_B, RTC_B_AIE | RTC_B_24H);
	rd(f, RTC_REG_C);
	step_to(f, 5 * SEC - 1);
	assert_int_equal(f->rec.n, 0);
	step_to(f, 5 * SEC);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.t[0], 5 * SEC);
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	step_to(f, 70 * SEC);
	assert_int_equal(f->rec.n, 1);
	/* The alarm compares in the current format: in 12-hour mode the
	 * hour byte carries the PM bit. */
	wr(f, RTC_REG_B, RTC_B_AIE);
	wr(f, RTC_HOURS_ALARM, 0x81);
	wr(f, RTC_MINUTES_ALARM, 0x47);
	wr(f, RTC_SECONDS_ALARM, 0x00);
	rd(f, RTC_REG_C);
	step_to(f, 90 * SEC - 1);
	assert_int_equal(f->rec.n, 1);
	step_to(f, 90 * SEC); /* 13:47:00 */
	assert_int_equal(f->rec.n, 2);
	assert_int_equal(f->rec.t[1], 90 * SEC);
}

static void test_alarm_dont_care(void **state)
{
	struct fx *f = *state;

	/* Hours and minutes don't care (0xC0-0xFF), seconds 00: once a
	 * minute, at 13:46:00 first (30 s in). */
	wr(f, RTC_HOURS_ALARM, 0xc0);
	wr(f, RTC_MINUTES_ALARM, 0xff);
	wr(f, RTC_SECONDS_ALARM, 0x00);
	wr(f, RTC_REG_B, RTC_B_AIE | RTC_B_24H);
	rd(f, RTC_REG_C);
	step_to(f, 30 * SEC);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.t[0], 30 * SEC);
	rd(f, RTC_REG_C);
	step_to(f, 90 * SEC);
	assert_int_equal(f->rec.n, 2);
	assert_int_equal(f->rec.t[1], 90 * SEC);
	rd(f, RTC_REG_C);
	/* All three don't care: every second. */
	wr(f, RTC_SECONDS_ALARM, 0xc5);
	for (uint64_t k = 91; k < 94; k++) {
		step_to(f, k * SEC);
		assert_int_equal(f->rec.t[f->rec.n - 1], k * SEC);
		rd(f, RTC_REG_C);
	}
	/* A value that can never match (hour 0x25) never fires. */
	wr(f, RTC_HOURS_ALARM, 0x25);
	wr(f, RTC_MINUTES_ALARM, 0xc0);
	wr(f, RTC_SECONDS_ALARM, 0xc0);
	size_t n = f->rec.n;
	step_to(f, 200 * SEC);
	assert_int_equal(f->rec.n, n);
}

static void test_alarm_wakes_once(void **state)
{
	struct fx *f = *state;
	size_t timers = 0;

	fx_free(f);
	*state = f = fx_new(T_2026_11_22_134530, true);
	wr(f, RTC_REG_A, 0x20);
	/* An hour away: the clock sleeps until then, no 1 Hz polling. */
	wr(f, RTC_HOURS_ALARM, 0x14);
	wr(f, RTC_MINUTES_ALARM, 0x45);
	wr(f, RTC_SECONDS_ALARM, 0x30);
	wr(f, RTC_REG_B, RTC_B_AIE | RTC_B_24H);
	rd(f, RTC_REG_C);
	step_to(f, 3600 * SEC);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.t[0], 3600 * SEC);
	for (size_t i = 0; i < sim_event_count(f->s); i++)
		timers += sim_events(f->s)[i].kind == SIM_EV_TIMER;
	assert_int_equal(timers, 1);
	/* Tomorrow's 14:45:30 when today's has passed. */
	rd(f, RTC_REG_C);
	step_to(f, (3600 + 86400) * SEC - 1);
	assert_int_equal(f->rec.n, 1);
	step_to(f, (3600 + 86400) * SEC);
	assert_int_equal(f->rec.n, 2);
}

static void test_alarm_flag_after_long_gap(void **state)
{
	struct fx *f = *state;

	/* No AIE: the flag is still set, computed across a 3-day gap. */
	wr(f, RTC_REG_A, 0x20);
	wr(f, RTC_HOURS_ALARM, 0x02);
	wr(f, RTC_MINUTES_ALARM, 0x00);
	wr(f, RTC_SECONDS_ALARM, 0x00);
	rd(f, RTC_REG_C);
	sim_clock_step(f->s, 3 * 86400 * SEC);
	assert_int_equal(rd(f, RTC_REG_C) & (RTC_C_AF | RTC_C_UF),
			 RTC_C_AF | RTC_C_UF);
	assert_int_equal(rtc_now_epoch(f->rtc), T_2026_11_22_134530 + 3 * 86400);
	/* Two hours without 02:00:00 in them: no AF. */
	sim_clock_step(f->s, 2 * 3600 * SEC);
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_UF);
}

static void test_set_bit(void **state)
{
	struct fx *f = *state;

	step_to(f, SEC / 4);
	wr(f, RTC_REG_B, RTC_B_SET | RTC_B_UIE | RTC_B_24H);
	/* Setting SET clears UIE. */
	assert_int_equal(rd(f, RTC_REG_B), RTC_B_SET | RTC_B_24H);
	/* Linux's mc146818_set_time: 2000-01-01 00:00:00, BCD. */
	wr(f, RTC_SECONDS, 0x00);
	wr(f, RTC_MINUTES, 0x00);
	wr(f, RTC_HOURS, 0x00);
	wr(f, RTC_DAY_OF_MONTH, 0x01);
	wr(f, RTC_MONTH, 0x01);
	wr(f, RTC_YEAR, 0x00);
	wr(f, RTC_CENTURY, 0x20);
	rd(f, RTC_REG_C);
	step_to(f, 3 * SEC + SEC / 2);
	/* Frozen while SET: no updates, no UF, registers as written. */
	assert_int_equal(rd(f, RTC_SECONDS), 0x00);
	assert_int_equal(rd(f, RTC_REG_C) & RTC_C_UF, 0);
	wr(f, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rtc_now_epoch(f->rtc), 946684800);
	assert_int_equal(rd(f, RTC_DAY_OF_WEEK), 0x07); /* Saturday */
	/* The divider kept its phase: the next update is at 4 s. */
	step_to(f, 4 * SEC - 1);
	assert_int_equal(rd(f, RTC_SECONDS), 0x00);
	step_to(f, 4 * SEC);
	assert_int_equal(rd(f, RTC_SECONDS), 0x01);
}

static void test_divider_reset(void **state)
{
	struct fx *f = *state;
	uint64_t t;

	step_to(f, SEC + SEC / 3);
	wr(f, RTC_REG_A, 0x70); /* DV = 111: divider held in reset */
	step_to(f, 10 * SEC);
	assert_int_equal(rd(f, RTC_SECONDS), 0x31);
	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
	rd(f, RTC_REG_C);
	step_to(f, 11 * SEC);
	assert_int_equal(rd(f, RTC_REG_C), 0); /* no periodic, no update */
	t = f->s->now_ns + 1234;
	step_to(f, t);
	wr(f, RTC_REG_A, 0x26);
	/* First update half a second after the divider is released. */
	step_to(f, t + SEC / 2 - 1);
	assert_int_equal(rd(f, RTC_SECONDS), 0x31);
	step_to(f, t + SEC / 2);
	assert_int_equal(rd(f, RTC_SECONDS), 0x32);
	step_to(f, t + SEC / 2 + SEC);
	assert_int_equal(rd(f, RTC_SECONDS), 0x33);
	/* Periodic ticks restart from the release too (1024 Hz). */
	wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
	rd(f, RTC_REG_C);
	uint64_t k = (f->s->now_ns - t) * 1024 / SEC + 1;
	step_to(f, per_tick_ns(t, 6, k));
	assert_int_equal(f->rec.t[f->rec.n - 1], per_tick_ns(t, 6, k));
}

static void set_time_raw(struct fx *f, const uint8_t v[8])
{
	static const uint8_t idx[8] = { RTC_SECONDS, RTC_MINUTES, RTC_HOURS,
					RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH,
					RTC_MONTH, RTC_YEAR, RTC_CENTURY };

	for (int i = 0; i < 8; i++)
		wr(f, idx[i], v[i]);
}

static void test_hostile_values(void **state)
{
	struct fx *f = *state;

	/* Invalid BCD seconds 0x5A count as 60: 1999-12-31 23:59:60 is
	 * 2000-01-01 00:00:00. */
	wr(f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	set_time_raw(f, (const uint8_t[8]){ 0x5a, 0x59, 0x23, 0x06, 0x31, 0x12,
					    0x99, 0x19 });
	assert_int_equal(rd(f, RTC_SECONDS), 0x5a); /* RAM while SET */
	wr(f, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rtc_now_epoch(f->rtc), 946684800);
	assert_int_equal(rd(f, RTC_SECONDS), 0x00);
	assert_int_equal(rd(f, RTC_YEAR), 0x00);
	assert_int_equal(rd(f, RTC_CENTURY), 0x20);

	/* All 0xFF in BCD: every digit 15, still a date, still counting. */
	wr(f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	set_time_raw(f, (const uint8_t[8]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff });
	wr(f, RTC_REG_B, RTC_B_24H);
	int64_t t0 = rtc_now_epoch(f->rtc);
	struct rtc_tm tm = { .year = 165 * 100 + 165, .mon = 165, .mday = 165,
			     .hour = 165, .min = 165, .sec = 165 };
	assert_int_equal(t0, rtc_time_to_epoch(&tm));
	sim_clock_step(f->s, 2 * SEC);
	assert_int_equal(rtc_now_epoch(f->rtc), t0 + 2);

	/* Month 0 and day 0 roll back: 2024-00-00 = 2023-11-30. */
	wr(f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	set_time_raw(f, (const uint8_t[8]){ 0, 0, 0, 0, 0x00, 0x00, 0x24, 0x20 });
	wr(f, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rd(f, RTC_MONTH), 0x11);
	assert_int_equal(rd(f, RTC_DAY_OF_MONTH), 0x30);
	assert_int_equal(rd(f, RTC_YEAR), 0x23);

	/* 12-hour mode: hour 0 and hour 13 are hostile and wrap mod 12. */
	wr(f, RTC_REG_B, RTC_B_SET);
	set_time_raw(f, (const uint8_t[8]){ 0, 0, 0x13, 1, 0x01, 0x01, 0x24, 0x20 });
	wr(f, RTC_REG_B, 0);
	assert_int_equal(rd(f, RTC_HOURS), 0x01); /* 1 AM */
	wr(f, RTC_REG_B, RTC_B_SET);
	wr(f, RTC_HOURS, 0x80); /* PM, hour 0 */
	wr(f, RTC_REG_B, 0); /* parsed in the mode B has when SET clears */
	wr(f, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rd(f, RTC_HOURS), 0x12);

	/* Binary 24h hour 200: 8 days and 8 hours on. */
	wr(f, RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_DM_BINARY);
	set_time_raw(f, (const uint8_t[8]){ 0, 0, 200, 1, 1, 1, 24, 20 });
	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	assert_int_equal(rd(f, RTC_DAY_OF_MONTH), 9);
	assert_int_equal(rd(f, RTC_HOURS), 8);

	/* Writing a live register without SET: the clock goes on from it
	 * and keeps its sub-second phase. */
	step_to(f, 100 * SEC + SEC / 2);
	wr(f, RTC_MINUTES, 30);
	assert_int_equal(rd(f, RTC_MINUTES), 30);
	int64_t e = rtc_now_epoch(f->rtc);
	step_to(f, 101 * SEC);
	assert_int_equal(rtc_now_epoch(f->rtc), e + 1);
	/* The day of week is derived from the date, writes don't stick. */
	wr(f, RTC_DAY_OF_WEEK, 5);
	assert_int_not_equal(rd(f, RTC_DAY_OF_WEEK), 5);
}

static void test_registers_c_d_index(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);
	wr(f, RTC_REG_D, 0x00);
	assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);
	step_to(f, SEC);
	wr(f, RTC_REG_C, 0x00); /* read-only */
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_UF | RTC_C_PF);
	assert_int_equal(rd(f, RTC_REG_C), 0);
	/* NMI-disable bit 7 of the index is ignored for the index. */
	sim_pio_write(f->s, 0x70, 1, 0x80 | RTC_REG_D);
	assert_int_equal(sim_pio_read(f->s, 0x71, 1), RTC_D_VRT);
	/* The index port is write-only. */
	assert_int_equal(sim_pio_read(f->s, 0x70, 1), 0xff);
	/* A 16-bit write: index at 0x70, data at 0x71. */
	sim_pio_write(f->s, 0x70, 2, 0x5a40);
	assert_int_equal(rd(f, 0x40), 0x5a);
	uint8_t b[3] = { 0x40, 0, 0 };
	assert_int_equal(rtc_access(f->rtc, 1, b + 1, 2, false), 0);
	assert_int_equal(b[1], 0x5a);
	assert_int_equal(b[2], 0xff);
}

static void test_cmos_ram(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++) {
		if (i == RTC_CENTURY)
			continue;
		wr(f, (uint8_t)i, (uint8_t)(i ^ 0xa5));
	}
	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++) {
		if (i == RTC_CENTURY)
			continue;
		assert_int_equal(rd(f, (uint8_t)i), (uint8_t)(i ^ 0xa5));
		assert_int_equal(rtc_cmos_get(f->rtc, i), (uint8_t)(i ^ 0xa5));
	}
	/* The board fills memory sizes; the clock's bytes are not RAM. */
	assert_int_equal(rtc_cmos_set(f->rtc, 0x34, 0x12), 0);
	assert_int_equal(rd(f, 0x34), 0x12);
	assert_int_equal(rtc_cmos_set(f->rtc, RTC_SECONDS, 1), -EINVAL);
	assert_int_equal(rtc_cmos_set(f->rtc, RTC_CENTURY, 1), -EINVAL);
	assert_int_equal(rtc_cmos_set(f->rtc, 128, 1), -EINVAL);
	assert_int_equal(rtc_cmos_get(f->rtc, 200), 0xff);
	assert_int_equal(rtc_cmos_get(f->rtc, RTC_CENTURY), 0x20);
}

static void test_century_and_leap_rollover(void **state)
{
	struct fx *f = *state;

	fx_free(f);
	*state = f = fx_new(T_2099_12_31_235959, false);
	assert_int_equal(rd(f, RTC_CENTURY), 0x20);
	step_to(f, SEC);
	assert_int_equal(rd(f, RTC_YEAR), 0x00);
	assert_int_equal(rd(f, RTC_CENTURY), 0x21);
	assert_int_equal(rd(f, RTC_MONTH), 0x01);
	assert_int_equal(rd(f, RTC_DAY_OF_MONTH), 0x01);
	fx_free(f);
	*state = f = fx_new(T_2024_02_28_235959, false);
	step_to(f, SEC);
	assert_int_equal(rd(f, RTC_DAY_OF_MONTH), 0x29);
	assert_int_equal(rd(f, RTC_MONTH), 0x02);
	step_to(f, SEC + 86400 * SEC);
	assert_int_equal(rd(f, RTC_DAY_OF_MONTH), 0x01);
	assert_int_equal(rd(f, RTC_MONTH), 0x03);
}

static void test_calendar_roundtrip(void **state)
{
	(void)state;
	/* Every day from 1600 to 2400 in steps, plus negative epochs. */
	for (int64_t t = -11676096000ll; t < 13569465600ll; t += 86400 * 7 + 3661) {
		struct rtc_tm tm;

		rtc_time_from_epoch(t, &tm);
		assert_true(tm.mon >= 1 && tm.mon <= 12);
		assert_true(tm.mday >= 1 && tm.mday <= 31);
		assert_true(tm.wday >= 0 && tm.wday <= 6);
		assert_int_equal(rtc_time_to_epoch(&tm), t);
	}
	struct rtc_tm tm;
	rtc_time_from_epoch(951782400, &tm); /* 2000-02-29 */
	assert_int_equal(tm.mon, 2);
	assert_int_equal(tm.mday, 29);
	assert_int_equal(tm.wday, 2);
	rtc_time_from_epoch(4107542400ll, &tm); /* 2100-03-01: no Feb 29 */
	assert_int_equal(tm.mon, 3);
	assert_int_equal(tm.mday, 1);
	assert_int_equal(rtc_time_to_reg(59, 0), 0x59);
	assert_int_equal(rtc_time_from_reg(0x59, 0), 59);
	assert_int_equal(rtc_time_from_reg(0x59, RTC_B_DM_BINARY), 0x59);
}

static void test_extreme_base(void **state)
{
	struct fx *f = *state;

	/* A base no calendar can hold is clamped, not overflowed. */
	fx_free(f);
	*state = f = fx_new(INT64_MAX, false);
	assert_int_equal(rtc_now_epoch(f->rtc), 1ll << 40);
	sim_clock_step(f->s, 5 * SEC);
	assert_int_equal(rtc_now_epoch(f->rtc), (1ll << 40) + 5);
	rd(f, RTC_YEAR);
	fx_free(f);
	*state = f = fx_new(INT64_MIN, false);
	assert_int_equal(rtc_now_epoch(f->rtc), -(1ll << 40));
	rd(f, RTC_CENTURY);
}

static void test_reset_pin(void **state)
{
	struct fx *f = *state;

	wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE | RTC_B_24H);
	step_to(f, SEC);
	assert_int_equal(f->s->gsi_level[8], 1);
	wr(f, 0x50, 0x77);
	rtc_reset(f->rtc);
	assert_int_equal(f->s->gsi_level[8], 0);
	assert_int_equal(rd(f, RTC_REG_B), RTC_B_24H);
	assert_int_equal(rd(f, RTC_REG_C), 0);
	assert_int_equal(rd(f, 0x50), 0x77);        /* RAM survives */
	assert_int_equal(rd(f, RTC_SECONDS), 0x31); /* so does time */
	rtc_free(NULL);
}

static void run_scenario(uint64_t *digest)
{
	struct fx *f = fx_new(T_2026_11_22_134530, true);

	wr(f, RTC_REG_A, 0x2a);
	wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_UIE | RTC_B_24H);
	for (int i = 0; i < 200; i++) {
		sim_clock_step(f->s, 12345678);
		rd(f, RTC_REG_C);
		rd(f, RTC_SECONDS);
		rd(f, RTC_REG_A);
	}
	*digest = sim_digest(f->s);
	fx_free(f);
}

static void test_determinism(void **state)
{
	uint64_t a, b;

	(void)state;
	run_scenario(&a);
	run_scenario(&b);
	assert_int_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_time_bcd_24h, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_get_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_and_12h, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uip_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_every_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_flag_without_pie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_ended_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm_exact_second, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm_dont_care, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm_wakes_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm_flag_after_long_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divider_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registers_c_d_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmos_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_century_and_leap_rollover, setup, teardown),
		cmocka_unit_test(test_calendar_roundtrip),
		cmocka_unit_test_setup_teardown(test_extreme_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_pin, setup, teardown),
		cmocka_unit_test(test_determinism),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
