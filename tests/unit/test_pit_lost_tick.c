/* i8254 PIT lost-tick policies (discard vs delay) with a clock whose timer
 * fires late on purpose: missed periods collapse or are caught up, and the
 * tick grid never moves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pit_fixture.h"

/* --- a clock whose timer fires only when the test says (late) --- */

struct late_clk {
	uint64_t now;
	struct clk_timer *armed;
	uint64_t deadline;
};

static uint64_t late_now(void *o)
{
	return ((struct late_clk *)o)->now;
}

static void late_arm(void *o, struct clk_timer *t, uint64_t deadline)
{
	struct late_clk *c = o;

	c->armed = t;
	c->deadline = deadline;
	t->heap_idx = 0;
}

static void late_cancel(void *o, struct clk_timer *t)
{
	struct late_clk *c = o;

	if (c->armed == t)
		c->armed = NULL;
	t->heap_idx = -1;
}

static const struct clk_ops late_ops = { late_now, late_arm, late_cancel, NULL };

struct pulse_count {
	unsigned edges;
	int level;
};

static void pc_set_level(void *o, unsigned gsi, int level)
{
	struct pulse_count *p = o;

	(void)gsi;
	if (level && !p->level)
		p->edges++;
	p->level = level;
}

static const struct irq_chip_ops pc_ops = { .set_level = pc_set_level };

/* Fire the armed timer at time `at` (>= its deadline). */
static void late_fire(struct late_clk *c, uint64_t at)
{
	struct clk_timer *t = c->armed;

	assert_non_null(t);
	assert_true(at >= c->deadline);
	c->now = at;
	c->armed = NULL;
	t->heap_idx = -1;
	t->fn(t->arg, at);
}

static void write_raw(struct pit *pit, uint64_t port, uint8_t v)
{
	assert_int_equal(pit_access(pit, port, &v, 1, true), 0);
}

static void lost_ticks(enum pit_lost_tick policy, unsigned *after_late,
		       unsigned *after_catchup, uint64_t *catchup_at)
{
	struct late_clk lc = { 0 };
	struct clk clk = { &late_ops, &lc };
	struct pulse_count pc = { 0 };
	struct irq_chip chip = { &pc_ops, &pc };
	struct pit_config cfg = { .clk = &clk, .irq = irq_line(&chip, 0),
				  .lost_tick_policy = policy };
	struct pit *pit = pit_new(&cfg);
	uint64_t period_first;

	assert_non_null(pit);
	write_raw(pit, 3, 0x34);
	write_raw(pit, 0, 1193 & 0xff);
	write_raw(pit, 0, 1193 >> 8);
	period_first = tick_ns(1193);
	assert_int_equal(lc.deadline, period_first);
	late_fire(&lc, period_first);
	assert_int_equal(pc.edges, 1);
	/* The host stalls for five more periods. */
	late_fire(&lc, tick_ns(1193 * 6) + 10);
	*after_late = pc.edges;
	*catchup_at = lc.deadline;
	/* Run to the end of period 12 firing every timer on time. */
	while (lc.armed && lc.deadline <= tick_ns(1193 * 12))
		late_fire(&lc, lc.deadline);
	*after_catchup = pc.edges;
	/* The grid did not move: the next deadline is period 13. */
	assert_int_equal(lc.deadline, tick_ns(1193 * 13));
	assert_int_equal(pit_backlog(pit), 0);
	pit_free(pit);
}

static void test_lost_tick_discard(void **state)
{
	unsigned late, end;
	uint64_t next;

	(void)state;
	lost_ticks(PIT_LOST_TICK_DISCARD, &late, &end, &next);
	assert_int_equal(late, 2);       /* five missed ticks became one */
	assert_int_equal(next, tick_ns(1193 * 7));
	assert_int_equal(end, 2 + 6);    /* periods 7..12 */
}

static void test_lost_tick_delay(void **state)
{
	unsigned late, end;
	uint64_t next;

	(void)state;
	lost_ticks(PIT_LOST_TICK_DELAY, &late, &end, &next);
	assert_int_equal(late, 2);
	/* Catch-up firing half a period later, before period 7. */
	assert_true(next < tick_ns(1193 * 7));
	assert_int_equal(end, 12);       /* every tick delivered */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_tick_discard),
		cmocka_unit_test(test_lost_tick_delay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
