/* Token bucket with time passed in: burst, refill, waits, and the long-run
 * rate never exceeding size per refill period. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/prng.h"
#include "core/tokenbucket.h"

static void test_unlimited(void **state)
{
	(void)state;
	struct tokenbucket tb;
	tokenbucket_init(&tb, 0, 0, 0);
	assert_true(tokenbucket_unlimited(&tb));
	assert_true(tokenbucket_reduce(&tb, UINT64_MAX, 0));
	assert_int_equal(tokenbucket_available(&tb, 5), UINT64_MAX);
	assert_int_equal(tokenbucket_take_upto(&tb, 77, 5), 77);
	assert_int_equal(tokenbucket_wait_ns(&tb, 1000, 5), 0);
}

static void test_burst_then_refill(void **state)
{
	(void)state;
	struct tokenbucket tb;
	tokenbucket_init(&tb, 100, 1000000, 500); /* 100 per ms */
	assert_false(tokenbucket_unlimited(&tb));
	assert_int_equal(tokenbucket_available(&tb, 500), 100);
	assert_true(tokenbucket_reduce(&tb, 60, 500));
	assert_false(tokenbucket_reduce(&tb, 41, 500)); /* untouched on failure */
	assert_true(tokenbucket_reduce(&tb, 40, 500));
	assert_false(tokenbucket_reduce(&tb, 1, 500));
	/* 10 us = 1 token. */
	assert_false(tokenbucket_reduce(&tb, 1, 500 + 9999));
	assert_true(tokenbucket_reduce(&tb, 1, 500 + 10000));
	/* Time going backwards credits nothing. */
	assert_int_equal(tokenbucket_available(&tb, 0), 0);
	/* Full after a long idle time, never more. */
	assert_int_equal(tokenbucket_available(&tb, 10000000000ull), 100);
	assert_int_equal(tokenbucket_take_upto(&tb, 150, 10000000000ull), 100);
	assert_int_equal(tokenbucket_take_upto(&tb, 5, 10000000000ull), 0);
}

static void test_wait(void **state)
{
	(void)state;
	struct tokenbucket tb;
	tokenbucket_init(&tb, 10, 1000, 0); /* 1 token / 100 ns */
	assert_int_equal(tokenbucket_wait_ns(&tb, 5, 0), 0);
	assert_true(tokenbucket_reduce(&tb, 10, 0));
	uint64_t w = tokenbucket_wait_ns(&tb, 3, 0);
	assert_int_equal(w, 300);
	assert_false(tokenbucket_reduce(&tb, 3, w - 1));
	assert_true(tokenbucket_reduce(&tb, 3, w));
	/* A request bigger than the bucket waits for a full bucket. */
	uint64_t now = w;
	w = tokenbucket_wait_ns(&tb, 1000, now);
	assert_int_equal(w, 1000);
	assert_int_equal(tokenbucket_available(&tb, now + w), 10);
}

/* Reaching full mid-token drops the fraction too: the bucket refills to
 * 10 at t=1000 (100 ns a token), and the 50 ns after that earned
 * nothing, so after taking one token the next is 100 ns away, not 50. */
static void test_full_earns_nothing(void **state)
{
	(void)state;
	struct tokenbucket tb;
	tokenbucket_init(&tb, 10, 1000, 0);
	assert_true(tokenbucket_reduce(&tb, 10, 0));
	assert_int_equal(tokenbucket_available(&tb, 1050), 10);
	assert_true(tokenbucket_reduce(&tb, 1, 1050));
	assert_int_equal(tokenbucket_wait_ns(&tb, 10, 1050), 100);
	assert_false(tokenbucket_reduce(&tb, 10, 1149));
	assert_true(tokenbucket_reduce(&tb, 10, 1150));
}

static void test_fractional_rate_never_exceeded(void **state)
{
	(void)state;
	/* 3 tokens per 10 ns: a token costs 3.33 ns, which integer time
	 * cannot express; rounding must go against the consumer. */
	struct tokenbucket tb;
	tokenbucket_init(&tb, 3, 10, 0);
	uint64_t got = 0;
	for (uint64_t t = 0; t <= 1000; t++) {
		got += tokenbucket_take_upto(&tb, 1, t);
		assert_true(got <= 3 + t * 3 / 10);
	}
	assert_true(got >= 300);
}

static void test_long_run_rate(void **state)
{
	(void)state;
	struct prng p;
	prng_seed(&p, 7);
	struct tokenbucket tb;
	const uint64_t size = 1000, period = 1000000000ull;
	tokenbucket_init(&tb, size, period, 0);
	uint64_t now = 0, taken = 0;
	for (int i = 0; i < 200000; i++) {
		now += prng_below(&p, 200000);
		uint64_t n = 1 + prng_below(&p, 20);
		if (tokenbucket_reduce(&tb, n, now))
			taken += n;
		assert_true(taken <= size + (uint64_t)((unsigned __int128)now * size / period));
	}
	/* And the limiter does let the rate through. */
	assert_true(taken >= (uint64_t)((unsigned __int128)now * size / period) * 9 / 10);
}

static void test_large_values(void **state)
{
	(void)state;
	struct tokenbucket tb;
	tokenbucket_init(&tb, UINT64_MAX / 2, UINT64_MAX / 4, UINT64_MAX / 8);
	assert_true(tokenbucket_reduce(&tb, UINT64_MAX / 2, UINT64_MAX / 8));
	assert_true(tokenbucket_available(&tb, UINT64_MAX - 1) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_burst_then_refill),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_full_earns_nothing),
		cmocka_unit_test(test_fractional_rate_never_exceeded),
		cmocka_unit_test(test_long_run_rate),
		cmocka_unit_test(test_large_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
