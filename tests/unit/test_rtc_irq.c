/* MC146818A RTC interrupts on the simulator: every periodic rate at its
 * exact tick times, the periodic flag without PIE, update-ended
 * interrupts, and the alarm (exact second, don't-care bytes, one wake per
 * match, flag after a long gap), and driftfix=slew's late delivery of
 * missed periodic ticks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtc_fixture.h"

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

/* Let `ticks` periodic ticks (1024 Hz) pass with PIE on and register C
 * unread: one edge for the first, the rest are missed. */
static void miss_ticks(struct fx *f, unsigned ticks)
{
	wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
	rd(f, RTC_REG_C);
	uint64_t k = (uint64_t)((unsigned __int128)f->s->now_ns * 32768 /
				((unsigned __int128)32 * SEC)) + 1;
	size_t n = f->rec.n;
	step_to(f, per_tick_ns(0, 6, k + ticks - 1));
	assert_int_equal(f->rec.n, n + 1);
	rd(f, RTC_REG_A);   /* flags are brought up to date on an access */
}

/* Acknowledge until register C comes back empty; returns how many
 * acknowledgements saw PF and checks each raised its own edge. */
static unsigned ack_all(struct fx *f)
{
	unsigned seen = 0;
	for (;;) {
		size_t n = f->rec.n;
		uint8_t c = rd(f, RTC_REG_C);
		if (!(c & RTC_C_PF))
			return seen;
		seen++;
		if (f->s->gsi_level[8])      /* a re-delivery: a new edge */
			assert_int_equal(f->rec.n, n + 1);
		assert_true(seen < 1000);
	}
}

static void test_slew_redelivers_missed_ticks(void **state)
{
	(void)state;
	struct fx *f = fx_new_slew(T_2026_11_22_134530, false, true);

	miss_ticks(f, 10);
	assert_int_equal(rtc_slew_pending(f->rtc), 9);
	/* The first ack sees the tick that raised the line; nine more
	 * follow, each a fresh edge, then the line stays low. */
	assert_int_equal(ack_all(f), 10);
	assert_int_equal(rtc_slew_pending(f->rtc), 0);
	assert_int_equal(f->s->gsi_level[8], 0);

	/* A burst stops after RTC_SLEW_BURST in a row and goes on after
	 * the next real tick. */
	miss_ticks(f, 50);
	assert_int_equal(rtc_slew_pending(f->rtc), 49);
	assert_int_equal(ack_all(f), 1 + RTC_SLEW_BURST);
	assert_int_equal(rtc_slew_pending(f->rtc), 49 - RTC_SLEW_BURST);
	size_t n = f->rec.n;
	sim_clock_step(f->s, SEC / 1024 + 1);
	assert_int_equal(f->rec.n, n + 1);
	assert_int_equal(ack_all(f), 1 + RTC_SLEW_BURST);
	assert_int_equal(rtc_slew_pending(f->rtc), 49 - 2 * RTC_SLEW_BURST);

	/* Turning PIE off, or changing the rate, cancels the debt. */
	miss_ticks(f, 5);
	wr(f, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rtc_slew_pending(f->rtc), 0);
	miss_ticks(f, 5);
	wr(f, RTC_REG_A, 0x27);
	assert_int_equal(rtc_slew_pending(f->rtc), 0);
	wr(f, RTC_REG_A, 0x26);

	/* A guest that never acknowledges: the debt is bounded. */
	wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
	rd(f, RTC_REG_C);
	sim_clock_step(f->s, 2000 * SEC);
	rd(f, RTC_REG_A);                  /* any access brings flags up to date */
	assert_int_equal(rtc_slew_pending(f->rtc), RTC_SLEW_MAX_LOST);
	/* And a machine reset forgets it. */
	rtc_reset(f->rtc);
	assert_int_equal(rtc_slew_pending(f->rtc), 0);
	fx_free(f);
}

/* driftfix=none: missed ticks are gone. */
static void test_no_slew_drops_missed_ticks(void **state)
{
	struct fx *f = *state;

	miss_ticks(f, 10);
	assert_int_equal(rtc_slew_pending(f->rtc), 0);
	assert_int_equal(ack_all(f), 1);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_periodic_every_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_flag_without_pie, setup, teardown),
		cmocka_unit_test(test_slew_redelivers_missed_ticks),
		cmocka_unit_test_setup_teardown(test_no_slew_drops_missed_ticks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_ended_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm_exact_second, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm_dont_care, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm_wakes_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm_flag_after_long_gap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
