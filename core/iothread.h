/* I/O threads (-object iothread,id=...): a thread running its own event
 * loop.  Under KVM, a device placed on one (iothread=) has its queue
 * notifications (ioeventfds) watched here, so its queue work runs off the
 * main loop; in the simulator nothing runs here: everything stays on the
 * deterministic event queue.
 *
 * Locking: callbacks run with the lock given to iothread_new() held (the
 * machine's big lock by default), the same rule as every other device
 * entry point, so device code needs no locks of its own. */
#ifndef VMM_CORE_IOTHREAD_H
#define VMM_CORE_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>

struct evloop;
struct iothread;

#define IOTHREAD_MAX 8          /* -object iothread instances per machine */
#define IOTHREAD_MAX_NOTIFIERS 64

typedef void (*iothread_notify_fn)(void *arg);

/* NULL on failure (errno set).  lock may be NULL (callbacks unlocked). */
struct iothread *iothread_new(const char *id, pthread_mutex_t *lock);
/* Start the thread.  0 or -errno. */
int iothread_start(struct iothread *it);
/* Stop and join (idempotent), then free. */
void iothread_free(struct iothread *it);
void iothread_stop(struct iothread *it);
const char *iothread_id(const struct iothread *it);
struct evloop *iothread_loop(struct iothread *it);
bool iothread_running(const struct iothread *it);

/* Watch an eventfd (an ioeventfd for a queue notify address): each time
 * it is signalled, drain it and call fn(arg) on the I/O thread.
 * 0, -ENOSPC, -errno. */
int iothread_add_notifier(struct iothread *it, int efd, iothread_notify_fn fn,
			  void *arg);
int iothread_del_notifier(struct iothread *it, int efd);

#endif
