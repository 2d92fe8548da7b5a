/* I/O threads: a notifier's eventfd kicks run the callback on the I/O
 * thread, with the machine lock held, coalesced; stop/free are clean. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "core/iothread.h"

struct probe {
	pthread_mutex_t *lock;
	pthread_t main;
	volatile int calls;
	volatile int off_main;
	volatile int lock_held;
};

static void on_kick(void *arg)
{
	struct probe *p = arg;
	if (!pthread_equal(pthread_self(), p->main))
		p->off_main = 1;
	/* The loop holds the lock around callbacks. */
	if (pthread_mutex_trylock(p->lock) == EBUSY)
		p->lock_held = 1;
	else
		pthread_mutex_unlock(p->lock);
	__atomic_add_fetch(&p->calls, 1, __ATOMIC_SEQ_CST);
}

static void wait_calls(struct probe *p, int n)
{
	for (int i = 0; i < 2000 && __atomic_load_n(&p->calls, __ATOMIC_SEQ_CST) < n; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
}

static void test_notifier_runs_on_thread(void **state)
{
	(void)state;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct probe p = { .lock = &lock, .main = pthread_self() };
	struct iothread *it = iothread_new("io0", &lock);
	assert_non_null(it);
	assert_string_equal(iothread_id(it), "io0");
	assert_non_null(iothread_loop(it));
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_equal(iothread_add_notifier(it, efd, on_kick, &p), 0);
	assert_int_equal(iothread_start(it), 0);
	assert_int_equal(iothread_start(it), 0); /* idempotent */
	assert_true(iothread_running(it));
	uint64_t one = 1;
	assert_int_equal(write(efd, &one, 8), 8);
	wait_calls(&p, 1);
	assert_int_equal(p.calls, 1);
	assert_true(p.off_main);
	assert_true(p.lock_held);
	/* Kicks made while it is busy or asleep coalesce into at least one
	 * more call, never lost. */
	pthread_mutex_lock(&lock);
	for (int i = 0; i < 5; i++)
		assert_int_equal(write(efd, &one, 8), 8);
	pthread_mutex_unlock(&lock);
	wait_calls(&p, 2);
	assert_true(p.calls >= 2 && p.calls <= 6);
	assert_int_equal(iothread_del_notifier(it, efd), 0);
	assert_int_equal(iothread_del_notifier(it, efd), -ENOENT);
	iothread_stop(it);
	assert_false(iothread_running(it));
	iothread_stop(it);
	iothread_free(it);
	iothread_free(NULL);
	close(efd);
}

static void test_notifier_table_bounded(void **state)
{
	(void)state;
	struct iothread *it = iothread_new(NULL, NULL);
	assert_non_null(it);
	int fds[IOTHREAD_MAX_NOTIFIERS + 1];
	struct probe p = { .main = pthread_self() };
	for (unsigned i = 0; i <= IOTHREAD_MAX_NOTIFIERS; i++) {
		fds[i] = eventfd(0, EFD_NONBLOCK);
		int r = iothread_add_notifier(it, fds[i], on_kick, &p);
		assert_int_equal(r, i < IOTHREAD_MAX_NOTIFIERS ? 0 : -ENOSPC);
	}
	iothread_free(it); /* never started: nothing to join */
	for (unsigned i = 0; i <= IOTHREAD_MAX_NOTIFIERS; i++)
		close(fds[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notifier_runs_on_thread),
		cmocka_unit_test(test_notifier_table_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
