/* MC146818A time model (Motorola datasheet, "MC146818A Real-Time Clock
 * Plus RAM"): the divider, update cycles, periodic ticks, the alarm, the
 * IRQ line and the timer that drives it.  The register interface is in
 * rtc.c; register formats and calendar math in rtc_time.c.
 *
 * Time model: while the divider runs (register A DV bits) and SET is clear
 * ("counting"), the time registers are a function of the clk: `sec` is
 * their value as epoch seconds, advanced at every update instant
 * upd_origin + k * 1 s.  Otherwise they are plain RAM holding what the
 * guest wrote (or what they showed when counting stopped), and the value is
 * parsed back when counting resumes.  Periodic ticks come from the same
 * divider: tick k at per_origin + k * P / 32768 s, computed in integer
 * nanoseconds from the origin each time so nothing drifts.  Flags are
 * brought up to date lazily on every access and by one timer that is only
 * armed while an enabled interrupt could still change the IRQ line. */
#include "core/clk.h"
#include "core/irq.h"
#include "rtc_priv.h"

static int64_t floor_div64(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* DV2-0: 000/001/010 select a time base and run; 11x hold the divider in
 * reset and the rest are test modes.  Like QEMU we count for any of the
 * three time bases, since a PC has only the 32.768 kHz crystal. */
bool rtc_divider_running(const struct rtc *rtc)
{
	return ((rtc->cmos[RTC_REG_A] & RTC_A_DV_MASK) >> 4) <= 2;
}

/* Periodic interval in 32.768 kHz cycles for RS3-0 (datasheet Table 5):
 * 0 = off, 1 and 2 = 3.90625 and 7.8125 ms, n >= 3: 2^(n-1) cycles. */
static uint64_t rtc_period_cycles(const struct rtc *rtc)
{
	unsigned rs = rtc->cmos[RTC_REG_A] & RTC_A_RS_MASK;

	if (rs == 0)
		return 0;
	if (rs <= 2)
		return 64u << rs;
	return 1u << (rs - 1);
}

static int64_t rtc_upd_index(const struct rtc *rtc, int64_t t)
{
	return floor_div64(t - rtc->upd_origin, NS_PER_SEC);
}

int64_t rtc_next_update(const struct rtc *rtc, int64_t t)
{
	return rtc->upd_origin + (rtc_upd_index(rtc, t) + 1) * NS_PER_SEC;
}

static uint64_t rtc_per_index(const struct rtc *rtc, int64_t t, uint64_t p)
{
	unsigned __int128 d = (unsigned __int128)(uint64_t)(t - rtc->per_origin);

	return (uint64_t)(d * RTC_XTAL_HZ / ((unsigned __int128)p * NS_PER_SEC));
}

/* First nanosecond at which tick k has happened: ceil(k * P / 32768 s). */
static int64_t rtc_per_time(const struct rtc *rtc, uint64_t k, uint64_t p)
{
	unsigned __int128 n = (unsigned __int128)k * p * NS_PER_SEC;

	return rtc->per_origin +
	       (int64_t)((n + RTC_XTAL_HZ - 1) / RTC_XTAL_HZ);
}

void rtc_load_regs(const struct rtc *rtc, struct rtc_regs *r)
{
	r->sec = rtc->cmos[RTC_SECONDS];
	r->min = rtc->cmos[RTC_MINUTES];
	r->hour = rtc->cmos[RTC_HOURS];
	r->wday = rtc->cmos[RTC_DAY_OF_WEEK];
	r->mday = rtc->cmos[RTC_DAY_OF_MONTH];
	r->mon = rtc->cmos[RTC_MONTH];
	r->year = rtc->cmos[RTC_YEAR];
	r->century = rtc->cmos[RTC_CENTURY];
}

/* Freeze: the registers become RAM holding the time they show now, in the
 * format reg_b selects. */
void rtc_materialize(struct rtc *rtc, uint8_t reg_b)
{
	struct rtc_regs r;

	rtc_time_encode(rtc->sec, reg_b, &r);
	rtc->cmos[RTC_SECONDS] = r.sec;
	rtc->cmos[RTC_MINUTES] = r.min;
	rtc->cmos[RTC_HOURS] = r.hour;
	rtc->cmos[RTC_DAY_OF_WEEK] = r.wday;
	rtc->cmos[RTC_DAY_OF_MONTH] = r.mday;
	rtc->cmos[RTC_MONTH] = r.mon;
	rtc->cmos[RTC_YEAR] = r.year;
	rtc->cmos[RTC_CENTURY] = r.century;
}

void rtc_parse(struct rtc *rtc)
{
	struct rtc_regs r;

	rtc_load_regs(rtc, &r);
	rtc->sec = rtc_time_decode(&r, rtc->cmos[RTC_REG_B]);
}

/* Alarm (datasheet "Alarm"): each of hours/minutes/seconds matches the
 * time register, or is a don't-care code (two high bits set).  Returns
 * the value (0..lim-1) a byte matches, -1 for don't care, -2 for a byte
 * no time can show (invalid BCD, out of range): that alarm never fires. */
static int rtc_alarm_field(uint8_t want, uint8_t b, unsigned lim, bool hour)
{
	if ((want & ALARM_DONT_CARE) == ALARM_DONT_CARE)
		return -1;
	for (unsigned v = 0; v < lim; v++) {
		uint8_t enc = hour ? rtc_time_hour_to_reg(v, b) : rtc_time_to_reg(v, b);

		if (enc == want)
			return (int)v;
	}
	return -2;
}

/* The first second after `after` at which the alarm matches, or
 * INT64_MAX.  The alarm sees only the time of day, so the answer is at
 * most a day away; computed directly so neither long gaps nor a timer
 * waiting for the alarm cost a wake-up per second. */
static int64_t rtc_alarm_next(const struct rtc *rtc, int64_t after)
{
	uint8_t b = rtc->cmos[RTC_REG_B];
	int fs = rtc_alarm_field(rtc->cmos[RTC_SECONDS_ALARM], b, 60, false);
	int fm = rtc_alarm_field(rtc->cmos[RTC_MINUTES_ALARM], b, 60, false);
	int fh = rtc_alarm_field(rtc->cmos[RTC_HOURS_ALARM], b, 24, true);
	int64_t day = floor_div64(after, 86400), tod = after - day * 86400;

	if (fs == -2 || fm == -2 || fh == -2)
		return INT64_MAX;
	/* Today after tod, else the first match of tomorrow. */
	for (int pass = 0; pass < 2; pass++, day++, tod = -1) {
		for (int h = fh < 0 ? 0 : fh; h <= (fh < 0 ? 23 : fh); h++) {
			if ((h + 1) * 3600 - 1 <= tod)
				continue;
			for (int m = fm < 0 ? 0 : fm; m <= (fm < 0 ? 59 : fm); m++) {
				if (h * 3600 + (m + 1) * 60 - 1 <= tod)
					continue;
				for (int sec = fs < 0 ? 0 : fs;
				     sec <= (fs < 0 ? 59 : fs); sec++) {
					int64_t t = h * 3600 + m * 60 + sec;

					if (t > tod)
						return day * 86400 + t;
				}
			}
		}
	}
	return INT64_MAX;
}

/* n update cycles happened: advance the time, set UF, and AF if any of
 * the new seconds matched the alarm. */
static void rtc_advance(struct rtc *rtc, int64_t n)
{
	int64_t old = rtc->sec;

	rtc->sec += n;
	rtc->cmos[RTC_REG_C] |= RTC_C_UF;
	if (rtc_alarm_next(rtc, old) <= rtc->sec)
		rtc->cmos[RTC_REG_C] |= RTC_C_AF;
}

bool rtc_irqf(const struct rtc *rtc)
{
	/* PF/AF/UF and PIE/AIE/UIE share bit positions 6/5/4. */
	return rtc->cmos[RTC_REG_C] & rtc->cmos[RTC_REG_B] &
	       (RTC_C_PF | RTC_C_AF | RTC_C_UF);
}

/* IRQ is the chip's open-drain IRQ# pin: held while IRQF is set, released
 * by reading register C. */
void rtc_update_irq(struct rtc *rtc)
{
	int level = rtc_irqf(rtc) ? 1 : 0;

	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		irq_set_level(&rtc->cfg.irq, level);
	}
}

/* Ticks that found PF still set were never seen by the guest: with slew,
 * owe them (only while PIE is on: without it there is no interrupt). */
static void rtc_slew_count(struct rtc *rtc, uint64_t ticks)
{
	if (!rtc->cfg.slew || !(rtc->cmos[RTC_REG_B] & RTC_B_PIE))
		return;
	uint64_t missed = rtc->cmos[RTC_REG_C] & RTC_C_PF ? ticks : ticks - 1;
	uint64_t lost = rtc->lost + missed;
	rtc->lost = lost > RTC_SLEW_MAX_LOST ? RTC_SLEW_MAX_LOST : (uint32_t)lost;
	rtc->slew_run = 0;
}

/* After register C is read: the line goes inactive (IRQ# released), and an
 * owed tick sets PF again, so the next access raises a new edge. */
void rtc_slew_ack(struct rtc *rtc)
{
	rtc_update_irq(rtc);
	if (!rtc->cfg.slew || !rtc->lost || rtc->slew_run >= RTC_SLEW_BURST ||
	    !(rtc->cmos[RTC_REG_B] & RTC_B_PIE))
		return;
	rtc->lost--;
	rtc->slew_run++;
	rtc->cmos[RTC_REG_C] |= RTC_C_PF;
}

void rtc_sync(struct rtc *rtc, int64_t now)
{
	if (now <= rtc->last_ns)
		return;
	if (rtc_divider_running(rtc)) {
		uint64_t p = rtc_period_cycles(rtc);
		int64_t n;

		/* PF is set at every periodic tick whether or not PIE is. */
		uint64_t ticks = p ? rtc_per_index(rtc, now, p) -
				     rtc_per_index(rtc, rtc->last_ns, p) : 0;
		if (ticks) {
			rtc_slew_count(rtc, ticks);
			rtc->cmos[RTC_REG_C] |= RTC_C_PF;
		}
		n = rtc_upd_index(rtc, now) - rtc_upd_index(rtc, rtc->last_ns);
		if (rtc->counting && n > 0)
			rtc_advance(rtc, n);
	}
	rtc->last_ns = now;
}

/* Wake up only for an event that can still raise the line: once a flag is
 * set its further occurrences change nothing until register C is read. */
void rtc_rearm(struct rtc *rtc, int64_t now)
{
	uint8_t b = rtc->cmos[RTC_REG_B], c = rtc->cmos[RTC_REG_C];
	int64_t deadline = INT64_MAX;

	if (rtc_divider_running(rtc)) {
		uint64_t p = rtc_period_cycles(rtc);

		if (p && (b & RTC_B_PIE) && !(c & RTC_C_PF))
			deadline = rtc_per_time(rtc, rtc_per_index(rtc, now, p) + 1, p);
		if (rtc->counting && (b & RTC_B_UIE) && !(c & RTC_C_UF)) {
			int64_t t = rtc_next_update(rtc, now);

			if (t < deadline)
				deadline = t;
		}
		if (rtc->counting && (b & RTC_B_AIE) && !(c & RTC_C_AF)) {
			int64_t m = rtc_alarm_next(rtc, rtc->sec);

			/* The update that makes the time read m. */
			if (m != INT64_MAX) {
				int64_t t = rtc_next_update(rtc, now) +
					    (m - rtc->sec - 1) * NS_PER_SEC;

				if (t < deadline)
					deadline = t;
			}
		}
	}
	if (deadline == INT64_MAX)
		clk_timer_cancel(rtc->cfg.clk, &rtc->timer);
	else
		clk_timer_arm(rtc->cfg.clk, &rtc->timer, (uint64_t)deadline);
}

void rtc_timer_fire(void *arg, uint64_t now_ns)
{
	struct rtc *rtc = arg;

	rtc_sync(rtc, (int64_t)now_ns);
	rtc_update_irq(rtc);
	rtc_rearm(rtc, (int64_t)now_ns);
}
