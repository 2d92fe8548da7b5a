/* prng: reproducible from a seed, matches the reference xoshiro256**,
 * uniform bounds, fill. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include "core/prng.h"

static void test_reproducible(void **state)
{
	(void)state;
	struct prng a, b, c;
	prng_seed(&a, 12345);
	prng_seed(&b, 12345);
	prng_seed(&c, 12346);
	int differ = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = prng_next(&a);
		assert_int_equal(x, prng_next(&b));
		differ += x != prng_next(&c);
	}
	assert_true(differ > 990);
}

static void test_reference_vector(void **state)
{
	(void)state;
	/* splitmix64 from 0 yields 0xe220a8397b1dcdaf first (Vigna's
	 * reference); xoshiro256** state is those four outputs. */
	struct prng p;
	prng_seed(&p, 0);
	assert_int_equal(p.s[0], 0xe220a8397b1dcdafull);
	/* xoshiro256** with state {1,2,3,4}: first output rotl(2*5,7)*9. */
	p.s[0] = 1;
	p.s[1] = 2;
	p.s[2] = 3;
	p.s[3] = 4;
	assert_int_equal(prng_next(&p), 11520);
	assert_int_equal(prng_next(&p), 0);
	assert_int_equal(prng_next(&p), 1509978240);
	assert_int_equal(prng_next(&p), 1215971899390074240ull);
}

static void test_below(void **state)
{
	(void)state;
	struct prng p;
	prng_seed(&p, 99);
	assert_int_equal(prng_below(&p, 0), 0);
	assert_int_equal(prng_below(&p, 1), 0);
	unsigned hist[10] = { 0 };
	for (int i = 0; i < 100000; i++) {
		uint64_t v = prng_below(&p, 10);
		assert_true(v < 10);
		hist[v]++;
	}
	for (int i = 0; i < 10; i++)
		assert_true(hist[i] > 9000 && hist[i] < 11000);
	/* A bound just above 2^63 exercises rejection. */
	for (int i = 0; i < 1000; i++)
		assert_true(prng_below(&p, (1ull << 63) + 1) <= (1ull << 63));
	assert_true(prng_below(&p, UINT64_MAX) < UINT64_MAX);
}

static void test_fill(void **state)
{
	(void)state;
	struct prng a, b;
	prng_seed(&a, 5);
	prng_seed(&b, 5);
	uint8_t buf[37];
	memset(buf, 0, sizeof(buf));
	prng_fill(&a, buf, sizeof(buf));
	uint64_t w[5];
	for (int i = 0; i < 5; i++)
		w[i] = prng_next(&b);
	assert_memory_equal(buf, w, sizeof(buf));
	int zeros = 0;
	for (unsigned i = 0; i < sizeof(buf); i++)
		zeros += buf[i] == 0;
	assert_true(zeros < 5);
	prng_fill(&a, buf, 0);
	/* Streams continue in step. */
	assert_int_equal(prng_next(&a), prng_next(&b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reproducible),
		cmocka_unit_test(test_reference_vector),
		cmocka_unit_test(test_below),
		cmocka_unit_test(test_fill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
