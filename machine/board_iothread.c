/* I/O threads: a device with iothread=ID gets its virtqueue kicks on that
 * thread instead of the vCPU thread.  Each queue's doorbell becomes an
 * ioeventfd (KVM swallows the guest's write and signals an eventfd); the
 * I/O thread drains it and replays the very same doorbell write on the
 * MMIO bus, under the big lock, so the transport applies exactly the
 * checks a vCPU exit would (queue exists, DRIVER_OK, bus mastering). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "machine/board_int.h"

struct board_kick {
	struct machine *m;
	uint64_t addr;
	unsigned width;
	uint64_t value;
	int efd;
	bool assigned;
	const struct board_host *host;
};

static void board_kick_fire(void *arg)
{
	struct board_kick *k = arg;
	bus_access(k->m->mmio, k->addr, &k->value, k->width, true);
}

static void board_kick_free(void *p)
{
	struct board_kick *k = p;
	if (k->assigned)
		k->host->ioeventfd(k->host->ioeventfd_opaque, k->addr, k->width,
				   k->value, k->efd, false);
	if (k->efd >= 0)
		close(k->efd);
	free(k);
}

static void board_iothread_free(void *p) { iothread_free(p); }

int board_iothreads_create(struct board *b, char *err, size_t errlen)
{
	for (unsigned i = 0; i < b->cfg->nobjects; i++) {
		const struct cfg_object *o = &b->cfg->objects[i];
		if (o->type != CFG_OBJ_IOTHREAD)
			continue;
		if (b->niothreads >= IOTHREAD_MAX) {
			snprintf(err, errlen, "vmm: -object iothread,id=%s: at most %d "
				 "I/O threads", o->id, IOTHREAD_MAX);
			return -1;
		}
		struct iothread *it = iothread_new(o->id, &b->m->lock);
		if (!it) {
			snprintf(err, errlen, "vmm: -object iothread,id=%s: %s", o->id,
				 strerror(errno));
			return -1;
		}
		if (board_push(b, board_iothread_free, it, err, errlen) < 0)
			return -1;
		b->iothreads[b->niothreads].id = o->id;
		b->iothreads[b->niothreads].it = it;
		b->niothreads++;
	}
	return 0;
}

static struct iothread *board_iothread_find(struct board *b, const char *id)
{
	for (unsigned i = 0; i < b->niothreads; i++)
		if (!strcmp(b->iothreads[i].id, id))
			return b->iothreads[i].it;
	return NULL;
}

int board_iothread_attach(struct board *b, const struct cfg_device *d,
			  uint64_t base, unsigned stride, unsigned width,
			  unsigned nq, char *err, size_t errlen)
{
	if (!d->iothread[0])
		return 0;
	struct iothread *it = board_iothread_find(b, d->iothread);
	if (!it) {
		snprintf(err, errlen, "vmm: -device %s: iothread '%s' not defined",
			 config_device_name(d), d->iothread);
		return -1;
	}
	if (!b->host->ioeventfd) {
		log_info(b->m->log, "board: %s: iothread=%s has no effect here "
			 "(no ioeventfd: simulator)", config_device_name(d), d->iothread);
		return 0;
	}
	for (unsigned q = 0; q < nq; q++) {
		struct board_kick *k = calloc(1, sizeof(*k));
		if (!k) {
			snprintf(err, errlen, "vmm: out of memory");
			return -1;
		}
		*k = (struct board_kick){ .m = b->m, .addr = base + (uint64_t)q * stride,
					  .width = width, .value = q, .host = b->host };
		k->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (board_push(b, board_kick_free, k, err, errlen) < 0)
			return -1;
		int r = k->efd < 0 ? -errno :
			b->host->ioeventfd(b->host->ioeventfd_opaque, k->addr, width,
					   q, k->efd, true);
		if (r == 0)
			k->assigned = true;
		if (r == 0)
			r = iothread_add_notifier(it, k->efd, board_kick_fire, k);
		if (r < 0) {
			snprintf(err, errlen, "vmm: -device %s: queue %u notify on "
				 "iothread %s: %s", config_device_name(d), q,
				 d->iothread, strerror(-r));
			return -1;
		}
	}
	return 0;
}

int board_iothreads_start(struct board *b, char *err, size_t errlen)
{
	for (unsigned i = 0; i < b->niothreads; i++) {
		int r = iothread_start(b->iothreads[i].it);
		if (r < 0) {
			snprintf(err, errlen, "vmm: iothread %s: %s",
				 b->iothreads[i].id, strerror(-r));
			return -1;
		}
	}
	return 0;
}

void board_iothreads_stop(struct board *b)
{
	/* Before anything they could call into is freed. */
	for (unsigned i = 0; i < b->niothreads; i++)
		iothread_stop(b->iothreads[i].it);
}
