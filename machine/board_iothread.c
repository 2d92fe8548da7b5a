/* I/O threads: a device with iothread=ID gets its virtqueue kicks on that
 * thread instead of the vCPU thread.  Each queue's doorbell becomes an
 * ioeventfd (KVM swallows the guest's write and signals an eventfd); the
 * I/O thread drains it and replays the very same doorbell write on the
 * MMIO bus, under the big lock, so the transport applies exactly the
 * checks a vCPU exit would (queue exists, DRIVER_OK, bus mastering).
 *
 * Snapshots.  A doorbell the guest wrote is a count in an eventfd until
 * an I/O thread reads it; a stream built in between would hold a ring
 * with requests the device never heard of, and the restored guest would
 * wait for them forever.  Both ends close that gap:
 *   - before a save (board_kicks_drain, from board_save_state) every
 *     eventfd is read and a signalled one runs its notify right there.
 *     The I/O threads are quiesced by the lock the caller holds: their
 *     loops take the machine lock before reading any eventfd (evloop.c)
 *     and run the whole callback under it, so none is inside device
 *     code, and one that woke for a count we took finds the eventfd
 *     empty and does nothing (iothread.c).  The stream then holds what
 *     the guest asked for, which is what makes it the same instant for
 *     the guest and the devices.
 *   - after a load (board_kicks_replay, the KVM side once everything is
 *     loaded) every queue that has such a doorbell is kicked once.  The
 *     drain makes this redundant for streams this vmm writes; it is for
 *     streams written before the drain existed (Kata keeps templates on
 *     disk) and costs one look at each avail ring: a notification
 *     without new buffers is harmless (virtio 1.2 §2.9: the device just
 *     finds nothing to do), and QEMU kicks a dataplane queue when it
 *     starts for the same reason.
 * The simulator has no ioeventfds (no host hook, no kicks here): both are
 * no-ops there, so the simulator's equivalence proof is untouched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "devices/pci/pci.h"
#include "devices/virtio/pci.h"
#include "machine/board_int.h"
#include "machine/board_snapshot.h"

struct board_kick {
	struct board *b;
	struct board_kick *next;     /* b->kicks */
	const struct pci_dev *pd;    /* virtio-pci: where BAR 4 must still be */
	unsigned q, stride;
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
	for (struct board_kick **pp = &k->b->kicks; *pp; pp = &(*pp)->next) {
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	}
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
			  const struct pci_dev *pd, uint64_t base,
			  unsigned stride, unsigned width, unsigned nq,
			  char *err, size_t errlen)
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
		*k = (struct board_kick){ .b = b, .pd = pd, .q = q, .stride = stride,
					  .m = b->m, .addr = base + (uint64_t)q * stride,
					  .width = width, .value = q, .host = b->host };
		k->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (board_push(b, board_kick_free, k, err, errlen) < 0)
			return -1;   /* board_push freed it */
		k->next = b->kicks;
		b->kicks = k;
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

unsigned board_kicks_drain(struct board *b)
{
	unsigned n = 0;
	for (struct board_kick *k = b->kicks; k; k = k->next) {
		uint64_t v = 0;
		if (k->efd < 0 || read(k->efd, &v, sizeof(v)) != (ssize_t)sizeof(v) || !v)
			continue;
		/* Several doorbells coalesce into one pass, as on the thread. */
		board_kick_fire(k);
		n++;
	}
	return n;
}

/* Is the doorbell still where the guest has the queue's notify address?
 * A guest may move a virtio-pci BAR; then its kicks exit to the bus at
 * the new place, and a write at the old one could reach another device. */
static bool board_kick_in_place(const struct board_kick *k)
{
	if (!k->pd)
		return true;   /* virtio-mmio: the layout's fixed window */
	if (!(pci_cfg_get16(k->pd, PCI_COMMAND) & PCI_COMMAND_MEMORY))
		return false;
	uint64_t base = pci_bar_addr(k->pd, VIRTIO_PCI_BAR_REGS) + VIRTIO_PCI_NOTIFY_OFF;
	return base + (uint64_t)k->q * k->stride == k->addr;
}

unsigned board_kicks_replay(struct board *b)
{
	unsigned n = 0;
	for (struct board_kick *k = b->kicks; k; k = k->next) {
		if (!board_kick_in_place(k))
			continue;
		/* The transport ignores a queue that is not live (§2.9 aside,
		 * exactly as for a guest's doorbell). */
		board_kick_fire(k);
		n++;
	}
	return n;
}
