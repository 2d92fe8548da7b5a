/* Min-heap of armed timers ordered by (deadline, arm sequence): the one
 * timer queue behind both the simulator's virtual clock and the host event
 * loop, so ties always fire in the order they were armed. */
#ifndef VMM_CORE_TIMERQ_H
#define VMM_CORE_TIMERQ_H

#include <stddef.h>
#include <stdint.h>
#include "clk.h"

struct timerq {
	struct clk_timer **heap;
	size_t len, cap;
	uint64_t next_seq;
};

void timerq_init(struct timerq *q);
void timerq_destroy(struct timerq *q);
/* Insert or move t.  Returns 0 or -ENOMEM. */
int timerq_arm(struct timerq *q, struct clk_timer *t, uint64_t deadline);
/* Insert t with a given sequence number (snapshot restore); later arms
 * get numbers above it.  Returns 0 or -ENOMEM. */
int timerq_arm_seq(struct timerq *q, struct clk_timer *t, uint64_t deadline,
		   uint64_t seq);
void timerq_cancel(struct timerq *q, struct clk_timer *t);
/* Earliest timer, or NULL. */
struct clk_timer *timerq_peek(const struct timerq *q);
/* Remove and return the earliest timer whose deadline <= now, or NULL. */
struct clk_timer *timerq_pop_due(struct timerq *q, uint64_t now);

#endif
