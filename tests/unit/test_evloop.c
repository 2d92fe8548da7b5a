/* evloop: fd readiness, timers in order on the monotonic clock, wakeups
 * from other threads, stop, the big lock around callbacks, removal of fds
 * inside a batch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "core/evloop.h"

struct rd {
	struct evloop *loop;
	pthread_mutex_t *lock;
	int calls;
	unsigned last_ev;
	char buf[64];
	size_t len;
	int del_fd; /* fd to remove from inside the callback, or -1 */
	bool lock_held;
};

static void on_read(void *arg, int fd, unsigned events)
{
	struct rd *r = arg;
	r->calls++;
	r->last_ev = events;
	if (r->lock)
		r->lock_held = pthread_mutex_trylock(r->lock) == EBUSY;
	if (events & EV_IN) {
		ssize_t n = read(fd, r->buf + r->len, sizeof(r->buf) - r->len);
		if (n > 0)
			r->len += (size_t)n;
	}
	if (r->del_fd >= 0) {
		assert_int_equal(evloop_del_fd(r->loop, r->del_fd), 0);
		r->del_fd = -1;
	}
}

static void test_fd_readiness(void **state)
{
	(void)state;
	struct evloop *loop = evloop_new(NULL);
	assert_non_null(loop);
	int p[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	struct rd r = { .loop = loop, .del_fd = -1 };
	assert_int_equal(evloop_add_fd(loop, p[0], EV_IN, on_read, &r), 0);
	assert_int_equal(evloop_run_once(loop, 0), 0);
	assert_int_equal(write(p[1], "hi", 2), 2);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_true(r.last_ev & EV_IN);
	assert_memory_equal(r.buf, "hi", 2);
	/* Masked: no callback although data is there. */
	assert_int_equal(evloop_mod_fd(loop, p[0], 0), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(evloop_run_once(loop, 0), 0);
	assert_int_equal(evloop_mod_fd(loop, p[0], EV_IN), 0);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_int_equal(r.len, 3);
	/* Writer end: EV_OUT. */
	struct rd w = { .loop = loop, .del_fd = -1 };
	assert_int_equal(evloop_add_fd(loop, p[1], EV_OUT, on_read, &w), 0);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_true(w.last_ev & EV_OUT);
	/* Re-adding replaces the entry. */
	struct rd w2 = { .loop = loop, .del_fd = -1 };
	assert_int_equal(evloop_add_fd(loop, p[1], EV_OUT, on_read, &w2), 0);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w2.calls, 1);
	assert_int_equal(evloop_del_fd(loop, p[1]), 0);
	/* Hang-up: the reader is told (EV_IN to read EOF, plus EV_ERR). */
	close(p[1]);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_true(r.last_ev & EV_IN);
	assert_int_equal(evloop_del_fd(loop, p[0]), 0);
	/* Errors. */
	assert_int_equal(evloop_del_fd(loop, p[0]), -ENOENT);
	assert_int_equal(evloop_del_fd(loop, -1), -ENOENT);
	assert_int_equal(evloop_mod_fd(loop, p[0], EV_IN), -ENOENT);
	assert_int_equal(evloop_mod_fd(loop, 100000, EV_IN), -ENOENT);
	assert_int_equal(evloop_add_fd(loop, -1, EV_IN, on_read, &r), -EINVAL);
	assert_int_equal(evloop_add_fd(loop, p[0], EV_IN, NULL, &r), -EINVAL);
	assert_int_equal(evloop_add_fd(loop, 9999, EV_IN, on_read, &r), -EBADF);
	close(p[0]);
	evloop_free(loop);
	evloop_free(NULL);
}

static void test_del_in_batch(void **state)
{
	(void)state;
	struct evloop *loop = evloop_new(NULL);
	int a[2], b[2];
	assert_int_equal(pipe2(a, O_NONBLOCK), 0);
	assert_int_equal(pipe2(b, O_NONBLOCK), 0);
	struct rd ra = { .loop = loop, .del_fd = b[0] };
	struct rd rb = { .loop = loop, .del_fd = a[0] };
	assert_int_equal(evloop_add_fd(loop, a[0], EV_IN, on_read, &ra), 0);
	assert_int_equal(evloop_add_fd(loop, b[0], EV_IN, on_read, &rb), 0);
	assert_int_equal(write(a[1], "a", 1), 1);
	assert_int_equal(write(b[1], "b", 1), 1);
	/* Both ready in one batch; whichever runs first removes the other,
	 * whose callback must then not run. */
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_int_equal(ra.calls + rb.calls, 1);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
	evloop_free(loop);
}

struct tick {
	struct clk_timer t;
	const struct clk *clk;
	int *order;
	int *n;
	int id;
	uint64_t fired_at;
	struct clk_timer *cancel;
	struct evloop *stop;
};

static void on_timer(void *arg, uint64_t now)
{
	struct tick *k = arg;
	k->order[(*k->n)++] = k->id;
	k->fired_at = now;
	if (k->cancel)
		clk_timer_cancel(k->clk, k->cancel);
	if (k->stop)
		evloop_stop(k->stop, 7);
}

static void test_timers(void **state)
{
	(void)state;
	struct evloop *loop = evloop_new(NULL);
	const struct clk *clk = evloop_clk(loop);
	int order[8], n = 0;
	struct tick k[4];
	for (int i = 0; i < 4; i++) {
		k[i] = (struct tick){ .clk = clk, .order = order, .n = &n, .id = i };
		clk_timer_init(&k[i].t, on_timer, &k[i]);
	}
	uint64_t t0 = clk_now_ns(clk);
	clk_timer_arm(clk, &k[0].t, t0 + 20000000); /* 20 ms */
	clk_timer_arm(clk, &k[1].t, t0 + 2000000);  /* 2 ms */
	clk_timer_arm(clk, &k[2].t, t0 + 2000000);  /* tie: after 1 */
	clk_timer_arm(clk, &k[3].t, t0 + 10000000);
	k[1].cancel = &k[3].t; /* 1 cancels 3 */
	k[0].stop = loop;
	assert_false(evloop_stopped(loop));
	assert_int_equal(evloop_run(loop), 7);
	assert_true(evloop_stopped(loop));
	assert_int_equal(n, 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 0);
	/* Never early. */
	assert_true(k[1].fired_at >= t0 + 2000000);
	assert_true(k[0].fired_at >= t0 + 20000000);
	assert_true(clk_now_ns(clk) >= k[0].fired_at);
	/* Past deadline fires promptly. */
	clk_timer_arm(clk, &k[2].t, 0);
	k[2].cancel = NULL;
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_int_equal(n, 4);
	/* Armed timers are disarmed by free. */
	clk_timer_arm(clk, &k[3].t, UINT64_MAX);
	assert_int_equal(evloop_run_once(loop, 0), 0);
	evloop_free(loop);
	assert_false(clk_timer_armed(&k[3].t));
}

struct xthread {
	struct evloop *loop;
	struct clk_timer *t;
	int fd;
	struct rd *rd;
};

static void *arm_later(void *arg)
{
	struct xthread *x = arg;
	usleep(20000);
	const struct clk *clk = evloop_clk(x->loop);
	clk_timer_arm(clk, x->t, clk_now_ns(clk) + 1000000);
	return NULL;
}

static void *stop_later(void *arg)
{
	struct xthread *x = arg;
	usleep(20000);
	evloop_stop(x->loop, 3);
	return NULL;
}

static void *add_later(void *arg)
{
	struct xthread *x = arg;
	usleep(20000);
	assert_int_equal(evloop_add_fd(x->loop, x->fd, EV_IN, on_read, x->rd), 0);
	return NULL;
}

static void test_cross_thread(void **state)
{
	(void)state;
	pthread_mutex_t big = PTHREAD_MUTEX_INITIALIZER;
	struct evloop *loop = evloop_new(&big);
	int order[4], n = 0;
	struct tick k = { .clk = evloop_clk(loop), .order = order, .n = &n, .id = 9 };
	clk_timer_init(&k.t, on_timer, &k);
	k.stop = loop;
	struct xthread x = { .loop = loop, .t = &k.t };
	pthread_t th;
	/* The loop sleeps with no timer; another thread arms one and the loop
	 * must wake up to honour it. */
	pthread_create(&th, NULL, arm_later, &x);
	assert_int_equal(evloop_run(loop), 7);
	pthread_join(th, NULL);
	assert_int_equal(n, 1);
	evloop_free(loop);

	/* Stop from another thread while idle. */
	loop = evloop_new(&big);
	x.loop = loop;
	pthread_create(&th, NULL, stop_later, &x);
	assert_int_equal(evloop_run(loop), 3);
	pthread_join(th, NULL);
	evloop_free(loop);

	/* An fd added by another thread while the loop waits is picked up;
	 * callbacks run with the big lock held. */
	loop = evloop_new(&big);
	int p[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	struct rd r = { .loop = loop, .lock = &big, .del_fd = -1 };
	x.loop = loop;
	x.fd = p[0];
	x.rd = &r;
	assert_int_equal(write(p[1], "z", 1), 1);
	pthread_create(&th, NULL, add_later, &x);
	int got = 0;
	for (int i = 0; i < 50 && !got; i++)
		got = evloop_run_once(loop, 100);
	pthread_join(th, NULL);
	assert_int_equal(got, 1);
	assert_int_equal(r.calls, 1);
	assert_true(r.lock_held);
	assert_int_equal(pthread_mutex_trylock(&big), 0); /* released after */
	pthread_mutex_unlock(&big);
	close(p[0]);
	close(p[1]);
	evloop_free(loop);
}

static void test_many_fds(void **state)
{
	(void)state;
	/* fd numbers beyond the initial table grow it. */
	struct evloop *loop = evloop_new(NULL);
	int fds[40][2];
	struct rd r = { .loop = loop, .del_fd = -1 };
	for (int i = 0; i < 40; i++) {
		assert_int_equal(pipe2(fds[i], O_NONBLOCK), 0);
		assert_int_equal(evloop_add_fd(loop, fds[i][0], EV_IN, on_read, &r), 0);
	}
	assert_int_equal(write(fds[39][1], "q", 1), 1);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_int_equal(r.calls, 1);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(evloop_del_fd(loop, fds[i][0]), 0);
		close(fds[i][0]);
		close(fds[i][1]);
	}
	evloop_free(loop);
}

/* An fd numbered exactly the table's size must grow the table: fd 16
 * after a low fd (table of 16), then fd 100 (the table grows and copies
 * what it holds); fd 16 must still get its callback. */
static void test_fd_at_table_edge(void **state)
{
	(void)state;
	struct evloop *loop = evloop_new(NULL);
	int lo[2], p[2];
	assert_int_equal(pipe2(lo, O_NONBLOCK), 0);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_true(lo[0] < 16 && p[0] < 16);
	/* Free numbers to place them at. */
	assert_int_equal(fcntl(16, F_GETFD), -1);
	assert_int_equal(fcntl(100, F_GETFD), -1);
	assert_int_equal(dup2(p[0], 16), 16);
	assert_int_equal(dup2(p[0], 100), 100);
	struct rd low = { .loop = loop, .del_fd = -1 }, edge = low, far = low;
	assert_int_equal(evloop_add_fd(loop, lo[0], EV_IN, on_read, &low), 0);
	assert_int_equal(evloop_add_fd(loop, 16, EV_IN, on_read, &edge), 0);
	assert_int_equal(evloop_add_fd(loop, 100, EV_IN, on_read, &far), 0);
	assert_int_equal(evloop_del_fd(loop, 100), 0);
	assert_int_equal(write(p[1], "e", 1), 1);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_int_equal(edge.calls, 1);
	assert_int_equal(low.calls, 0);
	assert_int_equal(far.calls, 0);
	assert_int_equal(evloop_del_fd(loop, 16), 0);
	assert_int_equal(evloop_del_fd(loop, lo[0]), 0);
	int fds[] = { lo[0], lo[1], p[0], p[1], 16, 100 };
	for (unsigned i = 0; i < 6; i++)
		close(fds[i]);
	evloop_free(loop);
}

struct rearm {
	struct clk_timer t;
	const struct clk *clk;
	int n;
};

static void rearm_fire(void *arg, uint64_t now)
{
	struct rearm *r = arg;
	(void)now;
	r->n++;
	clk_timer_arm(r->clk, &r->t, 0); /* always in the past */
}

static void test_timer_storm_bounded(void **state)
{
	(void)state;
	/* A timer re-arming itself in the past must not wedge the loop: each
	 * iteration fires a bounded number and fds still get served. */
	struct evloop *loop = evloop_new(NULL);
	struct rearm r = { .clk = evloop_clk(loop) };
	clk_timer_init(&r.t, rearm_fire, &r);
	clk_timer_arm(r.clk, &r.t, 0);
	int p[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	struct rd rd = { .loop = loop, .del_fd = -1 };
	assert_int_equal(evloop_add_fd(loop, p[0], EV_IN, on_read, &rd), 0);
	assert_int_equal(write(p[1], "s", 1), 1);
	for (int i = 0; i < 3 && rd.calls == 0; i++)
		evloop_run_once(loop, 0);
	assert_int_equal(rd.calls, 1);
	assert_true(r.n >= 1024);
	clk_timer_cancel(r.clk, &r.t);
	close(p[0]);
	close(p[1]);
	evloop_free(loop);
}

static void test_fd_number_reuse(void **state)
{
	(void)state;
	/* Closing an fd removes it from epoll behind our back; a new fd
	 * with the same number must still be addable. */
	struct evloop *loop = evloop_new(NULL);
	int p[2], q[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	struct rd r = { .loop = loop, .del_fd = -1 };
	assert_int_equal(evloop_add_fd(loop, p[0], EV_IN, on_read, &r), 0);
	int num = p[0];
	close(p[0]);
	assert_int_equal(pipe2(q, O_NONBLOCK), 0);
	if (q[0] != num) {
		/* Get the same number back explicitly. */
		assert_int_equal(dup2(q[0], num), num);
		close(q[0]);
		q[0] = num;
	}
	assert_int_equal(evloop_add_fd(loop, q[0], EV_IN, on_read, &r), 0);
	assert_int_equal(write(q[1], "r", 1), 1);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(evloop_del_fd(loop, q[0]), 0);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	evloop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_readiness),
		cmocka_unit_test(test_del_in_batch),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_cross_thread),
		cmocka_unit_test(test_many_fds),
		cmocka_unit_test(test_fd_at_table_edge),
		cmocka_unit_test(test_fd_number_reuse),
		cmocka_unit_test(test_timer_storm_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
