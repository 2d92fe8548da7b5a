/* Calendar arithmetic and MC146818A register formats for the RTC model.
 *
 * Days <-> civil dates use the proleptic Gregorian algorithms of Howard
 * Hinnant ("chrono-compatible low-level date algorithms"), exact for any
 * int64 day count, with no tables and no libc time functions (device code
 * must not depend on the host's time zone). */
#include "rtc.h"

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void rtc_time_from_epoch(int64_t t, struct rtc_tm *tm)
{
	int64_t days = floor_div(t, 86400), secs = floor_mod(t, 86400);
	int64_t z = days + 719468, era = floor_div(z, 146097);
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	tm->year = (int64_t)yoe + era * 400 + (m <= 2);
	tm->mon = (int)m;
	tm->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->hour = (int)(secs / 3600);
	tm->min = (int)(secs / 60 % 60);
	tm->sec = (int)(secs % 60);
	/* 1970-01-01 was a Thursday. */
	tm->wday = (int)floor_mod(days + 4, 7);
}

int64_t rtc_time_to_epoch(const struct rtc_tm *tm)
{
	int64_t m0 = (int64_t)tm->mon - 1;
	int64_t y = tm->year + floor_div(m0, 12);
	int64_t days;

	m0 = floor_mod(m0, 12);
	days = days_from_civil(y, (unsigned)m0 + 1, 1) + (tm->mday - 1);
	return days * 86400 + (int64_t)tm->hour * 3600 + (int64_t)tm->min * 60 +
	       tm->sec;
}

uint8_t rtc_time_to_reg(unsigned v, uint8_t reg_b)
{
	if (reg_b & RTC_B_DM_BINARY)
		return (uint8_t)v;
	v %= 100;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Invalid BCD digits (A-F) count at face value, as the chip's counters
 * would carry them: 0x5A reads as 5*10 + 10 = 60. */
unsigned rtc_time_from_reg(uint8_t v, uint8_t reg_b)
{
	if (reg_b & RTC_B_DM_BINARY)
		return v;
	return (unsigned)(v >> 4) * 10 + (v & 0x0f);
}

/* 12-hour mode: 1-12 with bit 7 = PM (datasheet Table 3). */
uint8_t rtc_time_hour_to_reg(unsigned hour24, uint8_t reg_b)
{
	unsigned h12;

	if (reg_b & RTC_B_24H)
		return rtc_time_to_reg(hour24, reg_b);
	h12 = hour24 % 12 ? hour24 % 12 : 12;
	return (uint8_t)(rtc_time_to_reg(h12, reg_b) | (hour24 >= 12 ? 0x80 : 0));
}

void rtc_time_encode(int64_t t, uint8_t reg_b, struct rtc_regs *r)
{
	struct rtc_tm tm;

	rtc_time_from_epoch(t, &tm);
	r->sec = rtc_time_to_reg((unsigned)tm.sec, reg_b);
	r->min = rtc_time_to_reg((unsigned)tm.min, reg_b);
	r->hour = rtc_time_hour_to_reg((unsigned)tm.hour, reg_b);
	r->wday = rtc_time_to_reg((unsigned)tm.wday + 1, reg_b); /* 1 = Sunday */
	r->mday = rtc_time_to_reg((unsigned)tm.mday, reg_b);
	r->mon = rtc_time_to_reg((unsigned)tm.mon, reg_b);
	r->year = rtc_time_to_reg((unsigned)floor_mod(tm.year, 100), reg_b);
	r->century = rtc_time_to_reg(
		(unsigned)floor_mod(floor_div(tm.year, 100), 100), reg_b);
}

int64_t rtc_time_decode(const struct rtc_regs *r, uint8_t reg_b)
{
	struct rtc_tm tm;

	if (reg_b & RTC_B_24H) {
		tm.hour = (int)rtc_time_from_reg(r->hour, reg_b);
	} else {
		/* Hour 12 is midnight/noon; 0 or 13+ are hostile and wrap. */
		tm.hour = (int)(rtc_time_from_reg(r->hour & 0x7f, reg_b) % 12) +
			  ((r->hour & 0x80) ? 12 : 0);
	}
	tm.sec = (int)rtc_time_from_reg(r->sec, reg_b);
	tm.min = (int)rtc_time_from_reg(r->min, reg_b);
	tm.mday = (int)rtc_time_from_reg(r->mday, reg_b);
	tm.mon = (int)rtc_time_from_reg(r->mon, reg_b);
	tm.year = (int64_t)rtc_time_from_reg(r->century, reg_b) * 100 +
		  rtc_time_from_reg(r->year, reg_b);
	tm.wday = 0;
	return rtc_time_to_epoch(&tm);
}
