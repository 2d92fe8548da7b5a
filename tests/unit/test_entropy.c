/* Entropy sources: the host file backend (non-blocking, EOF is an error)
 * and the seeded PRNG (same seed, same bytes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/entropy.h"

static void test_prng_deterministic(void **state)
{
	(void)state;
	struct entropy *a = entropy_prng_new("a", 99), *b = entropy_prng_new(NULL, 99),
		       *c = entropy_prng_new("c", 100);
	uint8_t x[256], y[256], z[256];
	assert_int_equal(entropy_read(a, x, sizeof(x)), 256);
	assert_int_equal(entropy_read(b, y, sizeof(y)), 256);
	assert_int_equal(entropy_read(c, z, sizeof(z)), 256);
	assert_memory_equal(x, y, sizeof(x));
	assert_memory_not_equal(x, z, sizeof(x));
	assert_int_equal(entropy_read(a, x, 0), 0);
	assert_int_equal(a->bytes, 256);
	/* The smallest read is a read (only 0 bytes is nothing). */
	assert_int_equal(entropy_read(a, x, 1), 1);
	assert_int_equal(a->bytes, 257);
	assert_string_equal(b->id, "prng");
	entropy_close(a);
	entropy_close(b);
	entropy_close(c);
	entropy_close(NULL);
}

static void test_urandom(void **state)
{
	(void)state;
	struct entropy *e = entropy_file_open("rng0", "/dev/urandom");
	assert_non_null(e);
	uint8_t x[4096];
	memset(x, 0, sizeof(x));
	ssize_t n = entropy_read(e, x, sizeof(x));
	assert_true(n > 0);
	unsigned nz = 0;
	for (ssize_t i = 0; i < n; i++)
		nz += x[i] != 0;
	assert_true(nz > (unsigned)n / 2);
	assert_int_equal(e->bytes, (uint64_t)n);
	entropy_close(e);
}

static void test_file_eof_and_errors(void **state)
{
	(void)state;
	char path[] = "/tmp/entropy-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	struct entropy *e = entropy_file_open(NULL, path);
	assert_non_null(e);
	uint8_t b[8];
	assert_int_equal(entropy_read(e, b, sizeof(b)), 3);
	assert_memory_equal(b, "abc", 3);
	assert_int_equal(entropy_read(e, b, sizeof(b)), -EIO); /* ran dry */
	entropy_close(e);
	close(fd);
	unlink(path);
	errno = 0;
	assert_null(entropy_file_open("x", "/nonexistent/random"));
	assert_int_equal(errno, ENOENT);
}

/* A character device with nothing to give (as /dev/random can be): a
 * pty in raw mode stands in for it. */
static void test_chardev_would_block(void **state)
{
	(void)state;
	int m, s;
	char path[64];
	assert_int_equal(openpty(&m, &s, path, NULL, NULL), 0);
	struct termios t;
	assert_int_equal(tcgetattr(s, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(s, TCSANOW, &t), 0);
	struct entropy *e = entropy_file_open("pty", path);
	assert_non_null(e);
	uint8_t b[4];
	/* Nothing there: -EAGAIN, not a blocked thread. */
	assert_int_equal(entropy_read(e, b, sizeof(b)), -EAGAIN);
	assert_int_equal(write(m, "xy", 2), 2);
	int n = -EAGAIN;
	for (int i = 0; i < 1000 && n == -EAGAIN; i++) {
		n = entropy_read(e, b, sizeof(b));
		if (n == -EAGAIN) {
			struct pollfd pfd = { .fd = s, .events = POLLIN };
			poll(&pfd, 1, 10);
		}
	}
	assert_int_equal(n, 2);
	entropy_close(e);
	close(m);
	close(s);
}

/* A FIFO (or a pipe) is no entropy source: refused at open, which does
 * not wait for a writer either (issue 11). */
static void test_pipe_refused(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	errno = 0;
	assert_null(entropy_file_open("pipe", path));
	assert_int_equal(errno, EINVAL);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prng_deterministic),
		cmocka_unit_test(test_urandom),
		cmocka_unit_test(test_file_eof_and_errors),
		cmocka_unit_test(test_chardev_would_block),
		cmocka_unit_test(test_pipe_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
