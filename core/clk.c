/* Device-facing clock helpers: dispatch to the backend (host event loop or
 * the simulator's virtual clock). */
#include "clk.h"

#include <stddef.h>

void clk_timer_init(struct clk_timer *t, clk_timer_fn fn, void *arg)
{
	t->fn = fn;
	t->arg = arg;
	t->deadline = 0;
	t->seq = 0;
	t->heap_idx = -1;
}

uint64_t clk_now_ns(const struct clk *clk)
{
	return clk->ops->now_ns(clk->opaque);
}

void clk_timer_arm(const struct clk *clk, struct clk_timer *t, uint64_t deadline_ns)
{
	clk->ops->timer_arm(clk->opaque, t, deadline_ns);
}

void clk_timer_cancel(const struct clk *clk, struct clk_timer *t)
{
	clk->ops->timer_cancel(clk->opaque, t);
}

void clk_timer_arm_seq(const struct clk *clk, struct clk_timer *t,
		       uint64_t deadline_ns, uint64_t seq)
{
	if (clk->ops->timer_arm_seq)
		clk->ops->timer_arm_seq(clk->opaque, t, deadline_ns, seq);
	else
		clk->ops->timer_arm(clk->opaque, t, deadline_ns);
}

bool clk_timer_armed(const struct clk_timer *t)
{
	return t->heap_idx >= 0;
}
