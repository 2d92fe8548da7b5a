/* Saved-state streams: clk times and timers (see core/snapshot.h). */
#include "core/snapshot.h"

#include "core/clk.h"
#include "core/tokenbucket.h"

void snap_w_time(struct snap_w *w, const char *field, uint64_t ns)
{
	snap_w_u64(w, field, ns);
}

int snap_r_time(struct snap_r *r, const char *field, uint64_t *ns)
{
	uint64_t v = 0;
	int rc = snap_r_u64(r, field, &v);
	if (rc)
		return rc;
	int64_t sh = snap_r_time_shift(r);
	if (sh >= 0)
		*ns = v > UINT64_MAX - (uint64_t)sh ? UINT64_MAX : v + (uint64_t)sh;
	else
		*ns = v < (uint64_t)-sh ? 0 : v - (uint64_t)-sh;
	return 0;
}

void snap_w_timer(struct snap_w *w, const char *field, const struct clk_timer *t)
{
	bool armed = clk_timer_armed(t);
	snap_w_begin(w, field, 1);
	snap_w_bool(w, "armed", armed);
	snap_w_time(w, "deadline", armed ? t->deadline : 0);
	snap_w_u64(w, "seq", armed ? t->seq : 0);
	snap_w_end(w);
}

int snap_r_timer(struct snap_r *r, const char *field, struct snap_timer *st)
{
	*st = (struct snap_timer){ 0 };
	snap_r_begin(r, field, 1, NULL);
	snap_r_bool(r, "armed", &st->armed);
	snap_r_time(r, "deadline", &st->deadline);
	snap_r_u64(r, "seq", &st->seq);
	return snap_r_end(r);
}

void snap_timer_apply(const struct snap_timer *st, const struct clk *clk,
		      struct clk_timer *t)
{
	if (!clk)
		return;
	/* A timer that is not armed is left alone (not cancelled again):
	 * a trace that starts from this state has never seen it. */
	if (st->armed)
		clk_timer_arm_seq(clk, t, st->deadline, st->seq);
	else if (clk_timer_armed(t))
		clk_timer_cancel(clk, t);
}

void snap_w_tokenbucket(struct snap_w *w, const char *field,
			const struct tokenbucket *tb)
{
	snap_w_begin(w, field, 1);
	snap_w_u64(w, "size", tb->size);
	snap_w_u64(w, "refill_ns", tb->refill_ns);
	snap_w_u64(w, "budget", tb->budget);
	snap_w_time(w, "last_ns", tb->last_ns);
	snap_w_u64(w, "rem", tb->rem);
	snap_w_end(w);
}

int snap_r_tokenbucket(struct snap_r *r, const char *field,
		       const struct tokenbucket *configured,
		       struct tokenbucket *out)
{
	struct tokenbucket t = { 0 };
	snap_r_begin(r, field, 1, NULL);
	snap_r_u64(r, "size", &t.size);
	snap_r_u64(r, "refill_ns", &t.refill_ns);
	snap_r_u64(r, "budget", &t.budget);
	snap_r_time(r, "last_ns", &t.last_ns);
	snap_r_u64(r, "rem", &t.rem);
	/* The rate is the command line's (throttling.*, max-bytes): a
	 * restore with another rate is another machine. */
	snap_r_check(r, t.size == configured->size &&
		     t.refill_ns == configured->refill_ns, "size",
		     "another rate limit than configured");
	snap_r_check(r, t.budget <= t.size, "budget", "above the bucket size");
	snap_r_check(r, t.refill_ns == 0 || t.rem < t.refill_ns, "rem",
		     "a fraction of a token of a whole token or more");
	int rc = snap_r_end(r);
	if (!rc)
		*out = t;
	return rc;
}
