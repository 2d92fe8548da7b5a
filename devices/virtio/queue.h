/* Virtqueues as a device model sees them: split (virtio 1.2 §2.7) or
 * packed (§2.8) behind one API, all ring and descriptor accesses through
 * gm.  The device pops validated chains (readable segments first, then
 * writable), copies data in/out with vq_elem_read/vq_elem_write, and pushes
 * them back with the number of bytes written.
 *
 * Nothing the guest wrote is trusted: see vq_pop() for what fails a chain. */
#ifndef VMM_VIRTIO_QUEUE_H
#define VMM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/log.h"

struct gm;

/* Largest queue we offer (QEMU's VIRTQUEUE_MAX_SIZE): bounds every chain,
 * every indirect table and so every allocation a guest can cause. */
#define VQ_MAX_SIZE 1024u
#define VQ_MAX_SEGS VQ_MAX_SIZE

struct vq_seg {
	uint64_t gpa;
	uint32_t len;
};

struct vq_elem {
	uint16_t id;       /* split: head index; packed: buffer id */
	uint16_t ndesc;    /* ring slots the chain used (packed: for skipping) */
	uint16_t nout;     /* readable (driver->device) segments: seg[0..nout) */
	uint16_t nin;      /* writable segments: seg[nout..nout+nin) */
	uint32_t out_len;  /* total readable bytes */
	uint32_t in_len;   /* total writable bytes */
	struct vq_seg seg[VQ_MAX_SEGS];
};

/* Queue configuration written by the driver through the transport. */
struct vq_config {
	uint16_t size;        /* power of 2 for split; any 1..VQ_MAX_SIZE packed */
	bool ready;
	uint64_t desc;        /* descriptor table / descriptor ring */
	uint64_t driver;      /* avail ring / driver event suppression */
	uint64_t device;      /* used ring / device event suppression */
	uint16_t msix_vector; /* virtio-pci only */
};

struct vq {
	struct vq_config cfg;
	const struct gm *gm;
	struct log *log;
	unsigned index;
	/* Negotiated ring features. */
	bool packed, event_idx, indirect;
	/* Split ring state (§2.7). */
	uint16_t last_avail;      /* next avail ring entry to consume */
	uint16_t used_idx;        /* our copy of used->idx */
	uint16_t signalled_used;  /* used idx at the last interrupt (EVENT_IDX) */
	bool signalled_used_valid;
	/* Packed ring state (§2.8). */
	uint16_t next_avail;      /* next descriptor slot to read */
	bool avail_wrap;          /* driver ring wrap counter we expect */
	uint16_t next_used;       /* next slot to write a used descriptor */
	bool used_wrap;
	/* Set when the guest broke the ring (not a chain): the transport then
	 * raises DEVICE_NEEDS_RESET. */
	bool broken;
	struct log_rl rl;
};

/* Enable a queue from its transport config (validated against guest RAM:
 * rings must be wholly inside guest memory and aligned per §2.7/§2.8).
 * Returns 0 or -EINVAL. */
int vq_enable(struct vq *vq, const struct gm *gm, struct log *log,
	      unsigned index, const struct vq_config *cfg, uint64_t features);
void vq_reset(struct vq *vq);

/* Pop the next available chain.
 *   1  elem filled
 *   0  nothing available
 *  <0  the chain was malformed; it has been consumed and returned to the
 *      guest with 0 bytes written (so the driver does not hang), a log line
 *      was rate-limited.  -EFAULT for addresses outside RAM, -EINVAL for
 *      structure errors (next >= size, loops, writable-before-readable,
 *      zero-length, length overflow, bad indirect table), -EPROTO when the
 *      ring itself is broken (avail idx more than size ahead): vq->broken
 *      is set and nothing more is popped until reset. */
int vq_pop(struct vq *vq, struct vq_elem *elem);
/* Return a chain to the guest with `written` bytes written to it. */
int vq_push(struct vq *vq, const struct vq_elem *elem, uint32_t written);
/* Put the last popped chain back (device could not process it now). */
void vq_unpop(struct vq *vq, const struct vq_elem *elem);
/* Should the device interrupt the driver now (flags / EVENT_IDX §2.7.10)?
 * Updates the signalled state when it returns true. */
bool vq_should_notify(struct vq *vq);
/* Ask the driver to (not) kick us (VRING_USED_F_NO_NOTIFY / avail_event). */
void vq_set_notification(struct vq *vq, bool enable);
bool vq_has_avail(struct vq *vq);

/* Copy from the readable part starting at byte offset off.  0 or -EFAULT
 * (also when off+len exceeds out_len). */
int vq_elem_read(const struct gm *gm, const struct vq_elem *e, uint32_t off,
		 void *buf, size_t len);
/* Copy into the writable part starting at byte offset off. */
int vq_elem_write(const struct gm *gm, const struct vq_elem *e, uint32_t off,
		  const void *buf, size_t len);

#endif
