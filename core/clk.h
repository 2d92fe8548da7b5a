/* Time as devices see it.
 *
 * A clk gives monotonic nanoseconds and one-shot timers.  The host
 * implementation reads CLOCK_MONOTONIC and runs timers from the event loop;
 * the simulator's virtual clock only moves when the test (or the replay)
 * steps it, and fires timers in (deadline, arm order) — deterministic.
 * Devices never read the wall clock themselves.
 *
 * Timers are embedded in device state and owned by the device; the backend
 * only keeps pointers to armed ones (core/timerq.h). */
#ifndef VMM_CORE_CLK_H
#define VMM_CORE_CLK_H

#include <stdbool.h>
#include <stdint.h>

struct clk_timer;
typedef void (*clk_timer_fn)(void *arg, uint64_t now_ns);

struct clk_timer {
	clk_timer_fn fn;
	void *arg;
	/* Backend-private: */
	uint64_t deadline;
	uint64_t seq;
	int heap_idx; /* -1 when not armed */
};

struct clk_ops {
	uint64_t (*now_ns)(void *opaque);
	/* (Re)arm t to fire at absolute deadline_ns (fires "now" if past). */
	void (*timer_arm)(void *opaque, struct clk_timer *t, uint64_t deadline_ns);
	void (*timer_cancel)(void *opaque, struct clk_timer *t);
	/* Optional (snapshot restore): arm t keeping the arm-order sequence
	 * number it had when saved, so timers due at the same instant fire
	 * in the saved order.  NULL: timer_arm. */
	void (*timer_arm_seq)(void *opaque, struct clk_timer *t,
			      uint64_t deadline_ns, uint64_t seq);
};

struct clk {
	const struct clk_ops *ops;
	void *opaque;
};

void clk_timer_init(struct clk_timer *t, clk_timer_fn fn, void *arg);
uint64_t clk_now_ns(const struct clk *clk);
void clk_timer_arm(const struct clk *clk, struct clk_timer *t, uint64_t deadline_ns);
void clk_timer_cancel(const struct clk *clk, struct clk_timer *t);
/* Re-arm a timer restored from a snapshot with its saved sequence. */
void clk_timer_arm_seq(const struct clk *clk, struct clk_timer *t,
		       uint64_t deadline_ns, uint64_t seq);
bool clk_timer_armed(const struct clk_timer *t);

#endif
