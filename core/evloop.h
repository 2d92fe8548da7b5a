/* The host event loop (KVM backend, QMP, char/net/block backends): fd
 * readiness through epoll and timers on the host monotonic clock.
 *
 * Thread model: one thread runs evloop_run(); vCPU threads and I/O threads
 * may arm timers and add/remove fds at any time (the loop is woken through
 * an eventfd).  Every callback runs with the loop's `lock` held when one was
 * given: the machine's big lock, which vCPU threads also take around device
 * dispatch, so device code itself needs no locking. */
#ifndef VMM_CORE_EVLOOP_H
#define VMM_CORE_EVLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "clk.h"

struct evloop;

enum { EV_IN = 1, EV_OUT = 2, EV_ERR = 4 };
typedef void (*evloop_fd_fn)(void *arg, int fd, unsigned events);

/* lock may be NULL (single-threaded use). */
struct evloop *evloop_new(pthread_mutex_t *lock);
void evloop_free(struct evloop *loop);

/* Watch fd for events (EV_IN/EV_OUT).  Re-adding an fd replaces its entry. */
int evloop_add_fd(struct evloop *loop, int fd, unsigned events,
		  evloop_fd_fn fn, void *arg);
int evloop_mod_fd(struct evloop *loop, int fd, unsigned events);
int evloop_del_fd(struct evloop *loop, int fd);

/* The loop's clock: CLOCK_MONOTONIC, timers fired from the loop thread. */
struct clk *evloop_clk(struct evloop *loop);

/* Run until evloop_stop(); returns the code passed to evloop_stop. */
int evloop_run(struct evloop *loop);
/* One iteration, waiting at most timeout_ms (-1: until something happens). */
int evloop_run_once(struct evloop *loop, int timeout_ms);
/* Thread-safe; callable from callbacks, vCPU threads or signal context is
 * NOT supported (use an fd). */
void evloop_stop(struct evloop *loop, int code);
bool evloop_stopped(const struct evloop *loop);

#endif
