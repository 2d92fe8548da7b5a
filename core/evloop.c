/* Host event loop: epoll for fd readiness, an eventfd to wake the loop
 * from other threads, and timers on CLOCK_MONOTONIC kept in a timerq.
 *
 * Locking: `mu` (internal) guards the fd table and the timer heap and is
 * never held while a callback runs, so callbacks may add/remove fds and
 * arm timers.  The machine's big lock (optional) is taken before timers
 * are popped and fd entries looked up, so a thread that cancels a timer or
 * removes an fd while holding the big lock never sees its callback run
 * afterwards.  Lock order: big lock, then mu. */
#include "evloop.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "timerq.h"

#define EVLOOP_WAKE_TAG UINT64_MAX
#define EVLOOP_MAX_EVENTS 64

struct evloop_fd {
	evloop_fd_fn fn;
	void *arg;
	uint32_t gen;  /* bumped on every add/del: stale epoll events are ignored */
	bool live;
};

struct evloop {
	int epfd, wakefd;
	pthread_mutex_t *lock; /* the machine's big lock, or NULL */
	pthread_mutex_t mu;
	struct evloop_fd *fds; /* indexed by fd */
	size_t nfds;
	struct timerq q;
	struct clk clk;
	atomic_bool stopped;
	atomic_int stop_code;
};

static uint64_t evloop_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void evloop_wake(struct evloop *loop)
{
	uint64_t one = 1;
	/* EAGAIN means the counter is already non-zero: the loop will wake. */
	ssize_t r = write(loop->wakefd, &one, sizeof(one));
	(void)r;
}

static uint64_t evloop_clk_now(void *opaque)
{
	(void)opaque;
	return evloop_mono_ns();
}

static void evloop_clk_arm(void *opaque, struct clk_timer *t, uint64_t deadline)
{
	struct evloop *loop = opaque;
	pthread_mutex_lock(&loop->mu);
	int rc = timerq_arm(&loop->q, t, deadline);
	bool first = rc == 0 && timerq_peek(&loop->q) == t;
	pthread_mutex_unlock(&loop->mu);
	/* Only an earlier first deadline changes how long the loop sleeps. */
	if (first)
		evloop_wake(loop);
}

static void evloop_clk_cancel(void *opaque, struct clk_timer *t)
{
	struct evloop *loop = opaque;
	pthread_mutex_lock(&loop->mu);
	timerq_cancel(&loop->q, t);
	pthread_mutex_unlock(&loop->mu);
}

static const struct clk_ops evloop_clk_ops = {
	.now_ns = evloop_clk_now,
	.timer_arm = evloop_clk_arm,
	.timer_cancel = evloop_clk_cancel,
};

struct evloop *evloop_new(pthread_mutex_t *lock)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->lock = lock;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EVLOOP_WAKE_TAG };
	if (loop->epfd < 0 || loop->wakefd < 0 ||
	    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) != 0) {
		int e = errno;
		if (loop->epfd >= 0)
			close(loop->epfd);
		if (loop->wakefd >= 0)
			close(loop->wakefd);
		free(loop);
		errno = e;
		return NULL;
	}
	pthread_mutex_init(&loop->mu, NULL);
	timerq_init(&loop->q);
	loop->clk = (struct clk){ &evloop_clk_ops, loop };
	atomic_init(&loop->stopped, false);
	atomic_init(&loop->stop_code, 0);
	return loop;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	close(loop->epfd);
	close(loop->wakefd);
	timerq_destroy(&loop->q);
	pthread_mutex_destroy(&loop->mu);
	free(loop->fds);
	free(loop);
}

struct clk *evloop_clk(struct evloop *loop)
{
	return &loop->clk;
}

static uint32_t evloop_epoll_events(unsigned events)
{
	uint32_t e = 0;
	if (events & EV_IN)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & EV_OUT)
		e |= EPOLLOUT;
	return e;
}

int evloop_add_fd(struct evloop *loop, int fd, unsigned events,
		  evloop_fd_fn fn, void *arg)
{
	if (fd < 0 || !fn)
		return -EINVAL;
	pthread_mutex_lock(&loop->mu);
	if ((size_t)fd >= loop->nfds) {
		size_t n = loop->nfds ? loop->nfds : 16;
		while (n <= (size_t)fd)
			n *= 2;
		struct evloop_fd *t = realloc(loop->fds, n * sizeof(*t));
		if (!t) {
			pthread_mutex_unlock(&loop->mu);
			return -ENOMEM;
		}
		memset(t + loop->nfds, 0, (n - loop->nfds) * sizeof(*t));
		loop->fds = t;
		loop->nfds = n;
	}
	struct evloop_fd *e = &loop->fds[fd];
	uint32_t gen = e->gen + 1;
	struct epoll_event ev = {
		.events = evloop_epoll_events(events),
		.data.u64 = ((uint64_t)gen << 32) | (uint32_t)fd,
	};
	int rc = epoll_ctl(loop->epfd, e->live ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
	if (rc != 0 && e->live && errno == ENOENT)
		/* The fd was closed and its number reused since: re-add. */
		rc = epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
	if (rc != 0) {
		rc = -errno;
		pthread_mutex_unlock(&loop->mu);
		return rc;
	}
	e->fn = fn;
	e->arg = arg;
	e->gen = gen;
	e->live = true;
	pthread_mutex_unlock(&loop->mu);
	return 0;
}

int evloop_mod_fd(struct evloop *loop, int fd, unsigned events)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&loop->mu);
	if (fd >= 0 && (size_t)fd < loop->nfds && loop->fds[fd].live) {
		struct epoll_event ev = {
			.events = evloop_epoll_events(events),
			.data.u64 = ((uint64_t)loop->fds[fd].gen << 32) | (uint32_t)fd,
		};
		rc = epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) ? -errno : 0;
	}
	pthread_mutex_unlock(&loop->mu);
	return rc;
}

int evloop_del_fd(struct evloop *loop, int fd)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&loop->mu);
	if (fd >= 0 && (size_t)fd < loop->nfds && loop->fds[fd].live) {
		struct evloop_fd *e = &loop->fds[fd];
		/* EBADF/ENOENT: already closed, which removed it from epoll. */
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		e->live = false;
		e->gen++;
		e->fn = NULL;
		e->arg = NULL;
		rc = 0;
	}
	pthread_mutex_unlock(&loop->mu);
	return rc;
}

/* Milliseconds until the first timer (rounded up so we never wake early),
 * capped by timeout_ms (-1 = no cap). */
static int evloop_timeout(struct evloop *loop, int timeout_ms)
{
	pthread_mutex_lock(&loop->mu);
	const struct clk_timer *t = timerq_peek(&loop->q);
	uint64_t deadline = t ? t->deadline : 0;
	pthread_mutex_unlock(&loop->mu);
	if (!t)
		return timeout_ms;
	uint64_t now = evloop_mono_ns();
	uint64_t ms = deadline <= now ? 0 : (deadline - now + 999999) / 1000000;
	if (ms > (uint64_t)INT32_MAX)
		ms = INT32_MAX;
	if (timeout_ms >= 0 && (uint64_t)timeout_ms < ms)
		return timeout_ms;
	return (int)ms;
}

/* At most this many timers per iteration: a timer that keeps re-arming
 * itself in the past must not starve fd events forever. */
#define EVLOOP_MAX_TIMERS_PER_RUN 1024

static int evloop_run_timers(struct evloop *loop)
{
	int n = 0;
	uint64_t now = evloop_mono_ns();
	while (n < EVLOOP_MAX_TIMERS_PER_RUN) {
		pthread_mutex_lock(&loop->mu);
		struct clk_timer *t = timerq_pop_due(&loop->q, now);
		pthread_mutex_unlock(&loop->mu);
		if (!t)
			return n;
		t->fn(t->arg, now);
		n++;
	}
	return n;
}

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event evs[EVLOOP_MAX_EVENTS];
	int ms = evloop_timeout(loop, timeout_ms);
	int n = epoll_wait(loop->epfd, evs, EVLOOP_MAX_EVENTS, ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -errno;
	}
	if (loop->lock)
		pthread_mutex_lock(loop->lock);
	int handled = evloop_run_timers(loop);
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == EVLOOP_WAKE_TAG) {
			uint64_t v;
			ssize_t r = read(loop->wakefd, &v, sizeof(v));
			(void)r;
			continue;
		}
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		pthread_mutex_lock(&loop->mu);
		evloop_fd_fn fn = NULL;
		void *arg = NULL;
		if ((size_t)fd < loop->nfds && loop->fds[fd].live &&
		    loop->fds[fd].gen == gen) {
			fn = loop->fds[fd].fn;
			arg = loop->fds[fd].arg;
		}
		pthread_mutex_unlock(&loop->mu);
		if (!fn)
			continue; /* removed earlier in this batch */
		unsigned ev = 0;
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
			ev |= EV_IN; /* a reader sees EOF/the error itself */
		if (evs[i].events & EPOLLOUT)
			ev |= EV_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			ev |= EV_ERR;
		fn(arg, fd, ev);
		handled++;
	}
	if (loop->lock)
		pthread_mutex_unlock(loop->lock);
	return handled;
}

int evloop_run(struct evloop *loop)
{
	while (!atomic_load(&loop->stopped)) {
		int rc = evloop_run_once(loop, -1);
		if (rc < 0)
			return rc;
	}
	return atomic_load(&loop->stop_code);
}

void evloop_stop(struct evloop *loop, int code)
{
	atomic_store(&loop->stop_code, code);
	atomic_store(&loop->stopped, true);
	evloop_wake(loop);
}

bool evloop_stopped(const struct evloop *loop)
{
	return atomic_load(&((struct evloop *)loop)->stopped);
}
