/* RTC state in a snapshot (docs/snapshot.md "RTC"). */
#include <string.h>
#include "core/snapshot.h"
#include "rtc_priv.h"

/* ---- snapshot (docs/snapshot.md "RTC") ----
 * The CMOS bytes (time registers included), the index latch, and the
 * counting state: instants are clk nanoseconds, shifted by the restore's
 * time shift so the next update and periodic edges keep their phase. */

static int64_t shifted(const struct snap_r *r, uint64_t v)
{
	return (int64_t)(v + (uint64_t)snap_r_time_shift(r));
}

int rtc_save(const struct rtc *rtc, struct snap_w *w)
{
	snap_w_begin(w, "rtc", 1);
	snap_w_bytes(w, "cmos", rtc->cmos, RTC_CMOS_SIZE);
	snap_w_u8(w, "index", rtc->index);
	snap_w_bool(w, "nmi_disabled", rtc->nmi_disabled);
	snap_w_bool(w, "counting", rtc->counting);
	snap_w_u64(w, "sec", (uint64_t)rtc->sec);
	snap_w_u64(w, "last_ns", (uint64_t)rtc->last_ns);
	snap_w_u64(w, "upd_origin", (uint64_t)rtc->upd_origin);
	snap_w_u64(w, "per_origin", (uint64_t)rtc->per_origin);
	snap_w_u8(w, "irq_level", (uint8_t)(rtc->irq_level != 0));
	snap_w_timer(w, "timer", &rtc->timer);
	snap_w_end(w);
	return 0;
}

int rtc_load(struct rtc *rtc, struct snap_r *r)
{
	uint8_t cmos[RTC_CMOS_SIZE], index = 0, level = 0;
	bool nmi = false, counting = false;
	uint64_t sec = 0, last = 0, upd = 0, per = 0;
	struct snap_timer t;
	snap_r_begin(r, "rtc", 1, NULL);
	snap_r_bytes(r, "cmos", cmos, sizeof(cmos));
	snap_r_u8(r, "index", &index);
	snap_r_bool(r, "nmi_disabled", &nmi);
	snap_r_bool(r, "counting", &counting);
	snap_r_u64(r, "sec", &sec);
	snap_r_u64(r, "last_ns", &last);
	snap_r_u64(r, "upd_origin", &upd);
	snap_r_u64(r, "per_origin", &per);
	snap_r_u8(r, "irq_level", &level);
	snap_r_timer(r, "timer", &t);
	snap_r_check(r, index < RTC_CMOS_SIZE, "index", "beyond the CMOS");
	snap_r_check(r, level <= 1, "irq_level", "not 0 or 1");
	snap_r_check(r, (int64_t)sec >= 0 && (int64_t)sec <= RTC_MAX_EPOCH, "sec",
		     "outside the clock's range");
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	memcpy(rtc->cmos, cmos, sizeof(cmos));
	rtc->index = index;
	rtc->nmi_disabled = nmi;
	rtc->counting = counting;
	rtc->sec = (int64_t)sec;
	rtc->last_ns = shifted(r, last);
	rtc->upd_origin = shifted(r, upd);
	rtc->per_origin = shifted(r, per);
	rtc->irq_level = level;
	snap_timer_apply(&t, rtc->cfg.clk, &rtc->timer);
	return 0;
}
