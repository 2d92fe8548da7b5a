/* Private to devices/rtc*.c: the MC146818A state, shared by the time
 * model (rtc_clock.c: divider, update cycles, periodic ticks, alarm, the
 * IRQ line and its one timer), the register interface (rtc.c) and the
 * snapshot (rtc_snap.c).  Users include rtc.h only. */
#ifndef VMM_DEVICES_RTC_PRIV_H
#define VMM_DEVICES_RTC_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "core/clk.h"
#include "core/log.h"
#include "rtc.h"

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

static inline int64_t rtc_now(const struct rtc *rtc)
{
	return (int64_t)clk_now_ns(rtc->cfg.clk);
}

/* rtc_clock.c.  Bring the flags and the counting time up to `now`
 * (lazily, on every access); re-arm the one timer for the next event
 * that can still raise the line; drive the IRQ# pin from IRQF; the
 * timer's callback. */
void rtc_sync(struct rtc *rtc, int64_t now);
void rtc_rearm(struct rtc *rtc, int64_t now);
void rtc_update_irq(struct rtc *rtc);
void rtc_timer_fire(void *arg, uint64_t now_ns);
/* Register A's DV bits let the divider run. */
bool rtc_divider_running(const struct rtc *rtc);
/* The instant of the first update cycle after t. */
int64_t rtc_next_update(const struct rtc *rtc, int64_t t);
/* Any enabled flag set in register C. */
bool rtc_irqf(const struct rtc *rtc);
/* Register C was read: release the line; slew may owe another tick. */
void rtc_slew_ack(struct rtc *rtc);
/* The time registers as the guest left them; freeze the counting time
 * into them in reg_b's format; parse them back into the counting time. */
void rtc_load_regs(const struct rtc *rtc, struct rtc_regs *r);
void rtc_materialize(struct rtc *rtc, uint8_t reg_b);
void rtc_parse(struct rtc *rtc);

#endif
