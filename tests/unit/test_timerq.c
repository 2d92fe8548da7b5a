/* timerq: heap order by (deadline, arm sequence), re-arm, cancel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/prng.h"
#include "core/timerq.h"

static void nop(void *arg, uint64_t now)
{
	(void)arg;
	(void)now;
}

static void test_order_and_ties(void **state)
{
	(void)state;
	struct timerq q;
	timerq_init(&q);
	struct clk_timer t[6];
	for (int i = 0; i < 6; i++)
		clk_timer_init(&t[i], nop, &t[i]);
	assert_null(timerq_peek(&q));
	assert_null(timerq_pop_due(&q, UINT64_MAX));
	/* Ties at 100 must come out in arm order: 1, 3, 4. */
	assert_int_equal(timerq_arm(&q, &t[0], 200), 0);
	assert_int_equal(timerq_arm(&q, &t[1], 100), 0);
	assert_int_equal(timerq_arm(&q, &t[2], 50), 0);
	assert_int_equal(timerq_arm(&q, &t[3], 100), 0);
	assert_int_equal(timerq_arm(&q, &t[4], 100), 0);
	assert_int_equal(timerq_arm(&q, &t[5], 300), 0);
	assert_true(clk_timer_armed(&t[0]));
	assert_ptr_equal(timerq_peek(&q), &t[2]);
	assert_null(timerq_pop_due(&q, 49));
	assert_ptr_equal(timerq_pop_due(&q, 100), &t[2]);
	assert_false(clk_timer_armed(&t[2]));
	assert_ptr_equal(timerq_pop_due(&q, 100), &t[1]);
	assert_ptr_equal(timerq_pop_due(&q, 100), &t[3]);
	assert_ptr_equal(timerq_pop_due(&q, 100), &t[4]);
	assert_null(timerq_pop_due(&q, 100));
	/* Re-arming moves a timer behind others with the same deadline. */
	assert_int_equal(timerq_arm(&q, &t[1], 200), 0);
	assert_int_equal(timerq_arm(&q, &t[0], 200), 0);
	assert_ptr_equal(timerq_pop_due(&q, 1000), &t[1]);
	assert_ptr_equal(timerq_pop_due(&q, 1000), &t[0]);
	assert_ptr_equal(timerq_pop_due(&q, 1000), &t[5]);
	assert_null(timerq_peek(&q));
	timerq_destroy(&q);
}

static void test_cancel(void **state)
{
	(void)state;
	struct timerq q;
	timerq_init(&q);
	struct clk_timer t[4];
	for (int i = 0; i < 4; i++) {
		clk_timer_init(&t[i], nop, NULL);
		assert_int_equal(timerq_arm(&q, &t[i], 10 * (uint64_t)i), 0);
	}
	timerq_cancel(&q, &t[0]);
	timerq_cancel(&q, &t[0]); /* twice: harmless */
	assert_false(clk_timer_armed(&t[0]));
	timerq_cancel(&q, &t[2]);
	struct clk_timer never;
	clk_timer_init(&never, nop, NULL);
	timerq_cancel(&q, &never);
	assert_ptr_equal(timerq_pop_due(&q, 100), &t[1]);
	assert_ptr_equal(timerq_pop_due(&q, 100), &t[3]);
	assert_null(timerq_pop_due(&q, 100));
	/* Destroy disarms what is left. */
	assert_int_equal(timerq_arm(&q, &t[0], 5), 0);
	timerq_destroy(&q);
	assert_false(clk_timer_armed(&t[0]));
}

/* Random arms/cancels against a brute-force model. */
static void test_random_model(void **state)
{
	(void)state;
	enum { N = 200 };
	struct timerq q;
	timerq_init(&q);
	static struct clk_timer t[N];
	struct prng p;
	prng_seed(&p, 7);
	for (int i = 0; i < N; i++)
		clk_timer_init(&t[i], nop, NULL);
	for (int step = 0; step < 5000; step++) {
		int i = (int)prng_below(&p, N);
		if (prng_below(&p, 3) == 0)
			timerq_cancel(&q, &t[i]);
		else
			assert_int_equal(timerq_arm(&q, &t[i], prng_below(&p, 50)), 0);
	}
	size_t armed = 0;
	for (int i = 0; i < N; i++)
		armed += clk_timer_armed(&t[i]);
	assert_int_equal(q.len, armed);
	uint64_t last_d = 0, last_s = 0;
	size_t popped = 0;
	struct clk_timer *x;
	while ((x = timerq_pop_due(&q, UINT64_MAX))) {
		if (popped)
			assert_true(x->deadline > last_d ||
				    (x->deadline == last_d && x->seq > last_s));
		last_d = x->deadline;
		last_s = x->seq;
		popped++;
	}
	assert_int_equal(popped, armed);
	timerq_destroy(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_ties),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_random_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
