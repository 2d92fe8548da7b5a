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

/* Ring layouts as the spec writes them (little-endian in guest memory).
 * Code computes every ring offset with offsetof() on these, never by hand.
 * Split ring: descriptor table §2.7.5, available ring §2.7.6, used ring
 * §2.7.8.  The avail ring is followed by used_event and the used ring by
 * avail_event (only meaningful with VIRTIO_F_EVENT_IDX, §2.7.7/§2.7.10). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* [size], then uint16_t used_event */
};
struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};
struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[]; /* [size], then uint16_t avail_event */
};
/* Packed ring descriptor (§2.8.13) and event suppression (§2.8.10). */
struct pvirtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};
struct pvirtq_event_suppress {
	uint16_t off_wrap; /* desc_event_off:15, desc_event_wrap:1 */
	uint16_t flags;    /* RING_EVENT_FLAGS_* */
};

#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_DESC_F_AVAIL (1u << 7)  /* packed §2.8.1 */
#define VIRTQ_DESC_F_USED (1u << 15)  /* packed §2.8.1 */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u /* §2.7.6 */
#define VIRTQ_USED_F_NO_NOTIFY 1u     /* §2.7.8 */
#define RING_EVENT_FLAGS_ENABLE 0u    /* §2.8.10 */
#define RING_EVENT_FLAGS_DISABLE 1u
#define RING_EVENT_FLAGS_DESC 2u
#define RING_EVENT_WRAP_SHIFT 15

/* Byte offsets of the event-index words that follow the split rings. */
#define VIRTQ_USED_EVENT_OFF(size) \
	(offsetof(struct virtq_avail, ring) + sizeof(uint16_t) * (size_t)(size))
#define VIRTQ_AVAIL_EVENT_OFF(size)          \
	(offsetof(struct virtq_used, ring) + \
	 sizeof(struct virtq_used_elem) * (size_t)(size))
/* Bytes each split ring part occupies (§2.7: Queue Size table). */
#define VIRTQ_DESC_BYTES(size) (sizeof(struct virtq_desc) * (size_t)(size))
#define VIRTQ_AVAIL_BYTES(size) (VIRTQ_USED_EVENT_OFF(size) + sizeof(uint16_t))
#define VIRTQ_USED_BYTES(size) (VIRTQ_AVAIL_EVENT_OFF(size) + sizeof(uint16_t))

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
	uint16_t used_idx;        /* split: our copy of used->idx; packed: a
				   * free-running count of used slots */
	uint16_t signalled_used;  /* used_idx at the last notify check */
	bool signalled_used_valid;
	/* Packed ring state (§2.8). */
	uint16_t next_avail;      /* next descriptor slot to read */
	bool avail_wrap;          /* driver ring wrap counter we expect */
	uint16_t next_used;       /* next slot to write a used descriptor */
	bool used_wrap;
	/* Set when the guest broke the ring (not a chain): the transport then
	 * raises DEVICE_NEEDS_RESET. */
	bool broken;
	/* vq_set_notification(false) is in force: we asked for no kicks. */
	bool notify_off;
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
 *      zero-length, length overflow, bad indirect table; a split head
 *      >= size is consumed but not returned: it names no valid id), and
 *      elem->nout/nin are 0.  -EPROTO when the
 *      ring itself is broken (avail idx more than size ahead, ring memory
 *      unreadable): vq->broken is set; from then on vq_pop returns 0 and
 *      vq_push -EPROTO until reset, so a device loop cannot spin on it. */
int vq_pop(struct vq *vq, struct vq_elem *elem);
/* Return a chain to the guest with `written` bytes written to it. */
int vq_push(struct vq *vq, const struct vq_elem *elem, uint32_t written);
/* Return n chains at once: the driver sees all of them or none (one used
 * idx store for split rings; for packed rings the first descriptor's flags
 * are written last).  A frame spread over several receive buffers
 * (virtio-net MRG_RXBUF, §5.1.6.4) must be published this way, or a driver
 * polling in between sees num_buffers chains that are not all there yet. */
int vq_push_batch(struct vq *vq, struct vq_elem *const *elems,
		  const uint32_t *written, unsigned n);
/* Put the last popped chain back (device could not process it now).
 * Only the most recently popped element, only once. */
void vq_unpop(struct vq *vq, const struct vq_elem *elem);
/* Should the device interrupt the driver now (flags / EVENT_IDX §2.7.10,
 * packed §2.8.10)?  Records the used position checked, so call it once per
 * batch of pushes, right before interrupting. */
bool vq_should_notify(struct vq *vq);
/* Ask the driver to (not) kick us (VIRTQ_USED_F_NO_NOTIFY / avail_event /
 * packed device event suppression).  After enabling, re-check
 * vq_has_avail(): a buffer added just before the driver saw the change
 * comes without a kick (the usual enable-then-recheck of §2.7.10). */
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
