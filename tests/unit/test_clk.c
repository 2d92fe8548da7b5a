/* clk: the device-facing helpers dispatch to a backend; here a tiny
 * manual clock on top of timerq, the same shape as the simulator's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/clk.h"
#include "core/timerq.h"

struct manual {
	uint64_t now;
	struct timerq q;
};

static uint64_t m_now(void *o)
{
	return ((struct manual *)o)->now;
}

static void m_arm(void *o, struct clk_timer *t, uint64_t d)
{
	assert_int_equal(timerq_arm(&((struct manual *)o)->q, t, d), 0);
}

static void m_cancel(void *o, struct clk_timer *t)
{
	timerq_cancel(&((struct manual *)o)->q, t);
}

static const struct clk_ops m_ops = { m_now, m_arm, m_cancel, NULL };

static void m_advance(struct manual *m, uint64_t to)
{
	struct clk_timer *t;
	while ((t = timerq_pop_due(&m->q, to))) {
		if (t->deadline > m->now)
			m->now = t->deadline;
		t->fn(t->arg, m->now);
	}
	m->now = to;
}

struct hits {
	uint64_t at[8];
	int n;
};

static void on_fire(void *arg, uint64_t now)
{
	struct hits *h = arg;
	h->at[h->n++] = now;
}

static void test_clk_dispatch(void **state)
{
	(void)state;
	struct manual m = { .now = 1000 };
	timerq_init(&m.q);
	struct clk c = { &m_ops, &m };
	assert_int_equal(clk_now_ns(&c), 1000);
	struct hits h = { { 0 }, 0 };
	struct clk_timer t;
	clk_timer_init(&t, on_fire, &h);
	assert_false(clk_timer_armed(&t));
	clk_timer_arm(&c, &t, 1500);
	assert_true(clk_timer_armed(&t));
	m_advance(&m, 1400);
	assert_int_equal(h.n, 0);
	m_advance(&m, 2000);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.at[0], 1500);
	assert_false(clk_timer_armed(&t));
	/* A deadline in the past fires on the next advance, at "now". */
	clk_timer_arm(&c, &t, 10);
	m_advance(&m, 2000);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.at[1], 2000);
	clk_timer_arm(&c, &t, 3000);
	clk_timer_cancel(&c, &t);
	assert_false(clk_timer_armed(&t));
	m_advance(&m, 4000);
	assert_int_equal(h.n, 2);
	timerq_destroy(&m.q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clk_dispatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
