/* MC146818A RTC registers on the simulator: hostile time/date values a
 * guest can write, registers C and D and the index port, CMOS RAM. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtc_fixture.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registers_c_d_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmos_ram, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
