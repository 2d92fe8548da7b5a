/* MC146818A RTC/CMOS on the simulator: time registers in every format
 * (BCD/binary, 12/24 h), the UIP window, SET and divider reset, century
 * and leap-year rollover, calendar round trips, extreme base times, the
 * reset pin and determinism.  Interrupts are in test_rtc_irq.c, hostile
 * register values and CMOS RAM in test_rtc_regs.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtc_fixture.h"

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
		cmocka_unit_test_setup_teardown(test_set_bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divider_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_century_and_leap_rollover, setup, teardown),
		cmocka_unit_test(test_calendar_roundtrip),
		cmocka_unit_test_setup_teardown(test_extreme_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_pin, setup, teardown),
		cmocka_unit_test(test_determinism),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
