/* MC146818A RTC/CMOS model (Motorola datasheet, "MC146818A Real-Time Clock
 * Plus RAM").  Register formats and calendar math live in rtc_time.c.
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
#include "rtc.h"

#include <errno.h>
#include <stdlib.h>

#include "core/log.h"

#define NS_PER_SEC 1000000000LL
#define RTC_XTAL_HZ 32768u
#define ALARM_DONT_CARE 0xc0
#define RTC_MAX_EPOCH (1ll << 40)

struct rtc {
	struct rtc_config cfg;
	struct clk_timer timer;
	uint8_t cmos[RTC_CMOS_SIZE];
	uint8_t index;
	bool nmi_disabled; /* stored only: nothing here raises NMIs */
	bool counting;
	int64_t sec;
	int64_t last_ns;
	int64_t upd_origin, per_origin;
	int irq_level;
	uint32_t lost;        /* driftfix=slew: missed ticks still owed */
	uint32_t slew_run;    /* re-deliveries since the last real tick */
	struct log_rl rl;
};

static int64_t floor_div64(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t rtc_now(const struct rtc *rtc)
{
	return (int64_t)clk_now_ns(rtc->cfg.clk);
}

/* DV2-0: 000/001/010 select a time base and run; 11x hold the divider in
 * reset and the rest are test modes.  Like QEMU we count for any of the
 * three time bases, since a PC has only the 32.768 kHz crystal. */
static bool rtc_divider_running(const struct rtc *rtc)
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

static int64_t rtc_next_update(const struct rtc *rtc, int64_t t)
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

static void rtc_load_regs(const struct rtc *rtc, struct rtc_regs *r)
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
static void rtc_materialize(struct rtc *rtc, uint8_t reg_b)
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

static void rtc_parse(struct rtc *rtc)
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

static bool rtc_irqf(const struct rtc *rtc)
{
	/* PF/AF/UF and PIE/AIE/UIE share bit positions 6/5/4. */
	return rtc->cmos[RTC_REG_C] & rtc->cmos[RTC_REG_B] &
	       (RTC_C_PF | RTC_C_AF | RTC_C_UF);
}

/* IRQ is the chip's open-drain IRQ# pin: held while IRQF is set, released
 * by reading register C. */
static void rtc_update_irq(struct rtc *rtc)
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
static void rtc_slew_ack(struct rtc *rtc)
{
	rtc_update_irq(rtc);
	if (!rtc->cfg.slew || !rtc->lost || rtc->slew_run >= RTC_SLEW_BURST ||
	    !(rtc->cmos[RTC_REG_B] & RTC_B_PIE))
		return;
	rtc->lost--;
	rtc->slew_run++;
	rtc->cmos[RTC_REG_C] |= RTC_C_PF;
}

static void rtc_sync(struct rtc *rtc, int64_t now)
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
static void rtc_rearm(struct rtc *rtc, int64_t now)
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

static void rtc_timer_fire(void *arg, uint64_t now_ns)
{
	struct rtc *rtc = arg;

	rtc_sync(rtc, (int64_t)now_ns);
	rtc_update_irq(rtc);
	rtc_rearm(rtc, (int64_t)now_ns);
}

static bool rtc_is_time_reg(unsigned idx)
{
	return idx == RTC_SECONDS || idx == RTC_MINUTES || idx == RTC_HOURS ||
	       (idx >= RTC_DAY_OF_WEEK && idx <= RTC_YEAR) || idx == RTC_CENTURY;
}

static void rtc_write_a(struct rtc *rtc, uint8_t v, int64_t now)
{
	bool was = rtc_divider_running(rtc), is;

	/* Ticks owed at one rate mean nothing at another. */
	if ((v ^ rtc->cmos[RTC_REG_A]) & (RTC_A_RS_MASK | RTC_A_DV_MASK))
		rtc->lost = 0;
	rtc->cmos[RTC_REG_A] = v & (uint8_t)~RTC_A_UIP; /* UIP is read-only */
	is = rtc_divider_running(rtc);
	if (was && !is && rtc->counting) {
		rtc_materialize(rtc, rtc->cmos[RTC_REG_B]);
		rtc->counting = false;
	} else if (!was && is) {
		/* Leaving divider reset: the first update comes 500 ms later
		 * (datasheet, "Divider stages reset"). */
		rtc->per_origin = now;
		rtc->upd_origin = now + NS_PER_SEC / 2 - NS_PER_SEC;
		if (!(rtc->cmos[RTC_REG_B] & RTC_B_SET)) {
			rtc_parse(rtc);
			rtc->counting = true;
		}
	}
}

static void rtc_write_b(struct rtc *rtc, uint8_t v)
{
	uint8_t old = rtc->cmos[RTC_REG_B];

	/* Setting SET clears UIE (datasheet register B, bit 7). */
	if (v & RTC_B_SET)
		v &= (uint8_t)~RTC_B_UIE;
	if (!(old & RTC_B_SET) && (v & RTC_B_SET) && rtc->counting) {
		/* The registers hold the time in the format they had. */
		rtc_materialize(rtc, old);
		rtc->counting = false;
	}
	rtc->cmos[RTC_REG_B] = v;
	if (!(v & RTC_B_PIE))
		rtc->lost = 0;  /* the guest stopped wanting periodic interrupts */
	if ((old & RTC_B_SET) && !(v & RTC_B_SET) && rtc_divider_running(rtc)) {
		/* The divider kept its phase; updates resume on it. */
		rtc_parse(rtc);
		rtc->counting = true;
	}
}

static void rtc_write_data(struct rtc *rtc, uint8_t v, int64_t now)
{
	unsigned idx = rtc->index;

	if (rtc_is_time_reg(idx)) {
		if (rtc->counting) {
			/* A live counter is written: the clock goes on from
			 * the new value, keeping the divider phase. */
			rtc_materialize(rtc, rtc->cmos[RTC_REG_B]);
			rtc->cmos[idx] = v;
			rtc_parse(rtc);
		} else {
			rtc->cmos[idx] = v;
		}
		return;
	}
	switch (idx) {
	case RTC_REG_A:
		rtc_write_a(rtc, v, now);
		break;
	case RTC_REG_B:
		rtc_write_b(rtc, v);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		log_rl(rtc->cfg.log, &rtc->rl, LOG_DEBUG,
		       "rtc: write 0x%02x to read-only register %u", v, idx);
		break;
	default:
		rtc->cmos[idx] = v;
		break;
	}
}

static uint8_t rtc_read_time_reg(const struct rtc *rtc, unsigned idx)
{
	struct rtc_regs r;

	if (!rtc->counting)
		return rtc->cmos[idx];
	rtc_time_encode(rtc->sec, rtc->cmos[RTC_REG_B], &r);
	switch (idx) {
	case RTC_SECONDS: return r.sec;
	case RTC_MINUTES: return r.min;
	case RTC_HOURS: return r.hour;
	case RTC_DAY_OF_WEEK: return r.wday;
	case RTC_DAY_OF_MONTH: return r.mday;
	case RTC_MONTH: return r.mon;
	case RTC_YEAR: return r.year;
	default: return r.century;
	}
}

static uint8_t rtc_read_data(struct rtc *rtc, int64_t now)
{
	unsigned idx = rtc->index;
	uint8_t v;

	if (rtc_is_time_reg(idx))
		return rtc_read_time_reg(rtc, idx);
	switch (idx) {
	case RTC_REG_A:
		v = rtc->cmos[RTC_REG_A];
		if (rtc->counting && rtc_next_update(rtc, now) - now <= RTC_UIP_NS)
			v |= RTC_A_UIP;
		return v;
	case RTC_REG_C:
		v = rtc->cmos[RTC_REG_C];
		if (rtc_irqf(rtc))
			v |= RTC_C_IRQF;
		rtc->cmos[RTC_REG_C] = 0;
		rtc_slew_ack(rtc);
		return v;
	case RTC_REG_D:
		/* VRT: the battery is always good. */
		return RTC_D_VRT;
	default:
		return rtc->cmos[idx];
	}
}

int rtc_access(void *dev, uint64_t offset, void *data, unsigned len,
	       bool is_write)
{
	struct rtc *rtc = dev;
	uint8_t *p = data;
	int64_t now = rtc_now(rtc);

	rtc_sync(rtc, now);
	/* Wider accesses are byte cycles on the ISA bus: 0x70 then 0x71. */
	for (unsigned i = 0; i < len; i++) {
		uint64_t port = offset + i;

		if (port == 0 && is_write) {
			rtc->index = p[i] & 0x7f;
			rtc->nmi_disabled = p[i] & 0x80;
		} else if (port == 0) {
			p[i] = 0xff; /* the index register is write-only */
		} else if (port == 1 && is_write) {
			rtc_write_data(rtc, p[i], now);
		} else if (port == 1) {
			p[i] = rtc_read_data(rtc, now);
		} else if (!is_write) {
			p[i] = 0xff;
		}
	}
	rtc_update_irq(rtc);
	rtc_rearm(rtc, now);
	return 0;
}

int rtc_cmos_set(struct rtc *rtc, unsigned idx, uint8_t val)
{
	if (idx < 0x0e || idx >= RTC_CMOS_SIZE || idx == RTC_CENTURY)
		return -EINVAL;
	rtc->cmos[idx] = val;
	return 0;
}

uint8_t rtc_cmos_get(const struct rtc *rtc, unsigned idx)
{
	if (idx >= RTC_CMOS_SIZE)
		return 0xff;
	if (rtc_is_time_reg(idx))
		return rtc_read_time_reg(rtc, idx);
	return rtc->cmos[idx];
}

int64_t rtc_now_epoch(struct rtc *rtc)
{
	int64_t now = rtc_now(rtc);

	rtc_sync(rtc, now);
	rtc_update_irq(rtc);
	rtc_rearm(rtc, now);
	if (!rtc->counting) {
		struct rtc_regs r;

		rtc_load_regs(rtc, &r);
		return rtc_time_decode(&r, rtc->cmos[RTC_REG_B]);
	}
	return rtc->sec;
}

void rtc_reset(struct rtc *rtc)
{
	int64_t now = rtc_now(rtc);

	rtc_sync(rtc, now);
	rtc->cmos[RTC_REG_B] &= (uint8_t)~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE |
					   RTC_B_SQWE);
	rtc->cmos[RTC_REG_C] = 0;
	rtc->lost = 0;
	rtc_update_irq(rtc);
	rtc_rearm(rtc, now);
}

uint32_t rtc_slew_pending(const struct rtc *rtc)
{
	return rtc->lost;
}

struct rtc *rtc_new(const struct rtc_config *cfg)
{
	struct rtc *rtc;
	int64_t now;

	if (!cfg->clk)
		return NULL;
	rtc = calloc(1, sizeof(*rtc));
	if (!rtc)
		return NULL;
	rtc->cfg = *cfg;
	clk_timer_init(&rtc->timer, rtc_timer_fire, rtc);
	now = rtc_now(rtc);
	/* What a PC BIOS leaves: 32.768 kHz time base, 1024 Hz periodic
	 * rate, BCD, 24-hour. */
	rtc->cmos[RTC_REG_A] = 0x26;
	rtc->cmos[RTC_REG_B] = RTC_B_24H;
	rtc->counting = true;
	/* +-2^40 s is +-34,800 years: every date a base can sensibly name,
	 * and far from where second counting could overflow an int64. */
	rtc->sec = cfg->base_epoch;
	if (rtc->sec > RTC_MAX_EPOCH)
		rtc->sec = RTC_MAX_EPOCH;
	if (rtc->sec < -RTC_MAX_EPOCH)
		rtc->sec = -RTC_MAX_EPOCH;
	rtc->last_ns = now;
	rtc->upd_origin = now;
	rtc->per_origin = now;
	return rtc;
}

void rtc_free(struct rtc *rtc)
{
	if (!rtc)
		return;
	clk_timer_cancel(rtc->cfg.clk, &rtc->timer);
	free(rtc);
}
