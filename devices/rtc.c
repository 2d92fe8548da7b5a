/* MC146818A RTC/CMOS model (Motorola datasheet, "MC146818A Real-Time Clock
 * Plus RAM"): ports 0x70/0x71, the registers and the CMOS RAM.  The time
 * model (divider, update cycles, periodic ticks, alarm, IRQ) is in
 * rtc_clock.c, register formats and calendar math in rtc_time.c, the
 * snapshot in rtc_snap.c. */
#include "rtc.h"

#include <errno.h>
#include <stdlib.h>

#include "core/log.h"
#include "rtc_priv.h"

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
