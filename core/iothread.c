/* I/O thread: one pthread looping on its own evloop.  See iothread.h. */
#include "core/iothread.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/evloop.h"

struct notifier {
	struct iothread *it;
	int fd;               /* -1: free slot */
	iothread_notify_fn fn;
	void *arg;
};

struct iothread {
	char id[64];
	struct evloop *loop;
	pthread_t thread;
	bool started;
	struct notifier n[IOTHREAD_MAX_NOTIFIERS];
};

struct iothread *iothread_new(const char *id, pthread_mutex_t *lock)
{
	struct iothread *it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	snprintf(it->id, sizeof(it->id), "%s", id ? id : "iothread");
	it->loop = evloop_new(lock);
	if (!it->loop) {
		free(it);
		return NULL;
	}
	for (unsigned i = 0; i < IOTHREAD_MAX_NOTIFIERS; i++)
		it->n[i].fd = -1;
	return it;
}

static void *iothread_main(void *arg)
{
	struct iothread *it = arg;
	evloop_run(it->loop);
	return NULL;
}

int iothread_start(struct iothread *it)
{
	if (it->started)
		return 0;
	/* The thread is born with SIGTERM/SIGINT/SIGHUP blocked: they are
	 * the main thread's (its start-up handler, then its signalfd), and
	 * one delivered here would neither interrupt a start-up step nor
	 * reach the loop. */
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigaddset(&term, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &term, &old);
	int r = pthread_create(&it->thread, NULL, iothread_main, it);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return -r;
	it->started = true;
	return 0;
}

void iothread_stop(struct iothread *it)
{
	if (!it || !it->started)
		return;
	evloop_stop(it->loop, 0);
	pthread_join(it->thread, NULL);
	it->started = false;
}

void iothread_free(struct iothread *it)
{
	if (!it)
		return;
	iothread_stop(it);
	evloop_free(it->loop);
	free(it);
}

const char *iothread_id(const struct iothread *it)
{
	return it->id;
}

struct evloop *iothread_loop(struct iothread *it)
{
	return it->loop;
}

bool iothread_running(const struct iothread *it)
{
	return it->started;
}

static void on_event(void *arg, int fd, unsigned events)
{
	(void)events;
	struct notifier *n = arg;
	uint64_t v;
	/* Drain the eventfd: several kicks coalesce into one pass over the
	 * queue, which then picks up everything that is available.  Empty:
	 * someone holding the lock took the count while this thread waited
	 * for it (a save drains the doorbells, machine/board_iothread.c), and
	 * ran the callback itself; running it again would touch a device
	 * after its state was written out. */
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v) || !v)
		return;
	n->fn(n->arg);
}

int iothread_add_notifier(struct iothread *it, int efd, iothread_notify_fn fn,
			  void *arg)
{
	for (unsigned i = 0; i < IOTHREAD_MAX_NOTIFIERS; i++) {
		struct notifier *n = &it->n[i];
		if (n->fd >= 0)
			continue;
		n->it = it;
		n->fd = efd;
		n->fn = fn;
		n->arg = arg;
		int r = evloop_add_fd(it->loop, efd, EV_IN, on_event, n);
		if (r < 0) {
			n->fd = -1;
			return r;
		}
		return 0;
	}
	return -ENOSPC;
}

int iothread_del_notifier(struct iothread *it, int efd)
{
	for (unsigned i = 0; i < IOTHREAD_MAX_NOTIFIERS; i++) {
		if (it->n[i].fd != efd)
			continue;
		evloop_del_fd(it->loop, efd);
		it->n[i].fd = -1;
		return 0;
	}
	return -ENOENT;
}
