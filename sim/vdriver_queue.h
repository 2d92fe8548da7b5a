/* The guest driver's side of a virtqueue, for tests, fuzzers, benchmarks
 * and simulator scenarios (QEMU libqos qvirtqueue_*, rust-vmm
 * MockSplitQueue).  It lays out a split (virtio 1.2 §2.7) or packed (§2.8)
 * ring in sim guest memory, adds chains of direct or indirect buffers,
 * publishes them, decides whether to kick, collects used buffers and sets
 * the driver's interrupt suppression, the way Linux's virtio_ring does.
 *
 * The vdq_raw_* helpers write arbitrary (malformed) descriptors and ring
 * entries so tests can play a hostile driver. */
#ifndef VMM_SIM_VDRIVER_QUEUE_H
#define VMM_SIM_VDRIVER_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "devices/virtio/queue.h"

struct gm;

/* Entries of the indirect table each buffer id owns. */
#define VDQ_IND_MAX 16u

struct vdq_buf {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

struct vdq {
	const struct gm *gm;
	bool packed, event_idx, indirect;
	uint16_t size;
	uint64_t desc, driver, device; /* as given to the device */
	uint64_t ind_base;             /* VDQ_IND_MAX entries per id */
	uint16_t num_free;             /* free descriptors / ring slots */
	uint16_t num_added;            /* descriptors/chains since last kick */
	bool intr_off;                 /* vdq_intr_enable(false) in force */
	/* Split. */
	uint16_t free_head;
	uint16_t avail_idx;  /* shadow of avail->idx including unpublished */
	uint16_t last_used;
	/* Packed. */
	uint16_t next_avail;
	bool avail_wrap;
	uint16_t next_used;
	bool used_wrap;
	uint16_t nfree_ids;
	/* Per descriptor (split free list) and per buffer id. */
	uint16_t next[VQ_MAX_SIZE];
	uint16_t ids[VQ_MAX_SIZE];    /* packed: stack of free ids */
	uint16_t ndesc[VQ_MAX_SIZE];  /* descriptors/slots the id holds */
	bool in_use[VQ_MAX_SIZE];
};

/* Bytes of guest memory vdq_init() lays the ring (and indirect tables)
 * out in. */
size_t vdq_mem_size(uint16_t size, bool packed);
/* Lay out and zero a ring of `size` entries at base (16-aligned) for the
 * ring features in `features` (RING_PACKED, EVENT_IDX, INDIRECT_DESC).
 * 0 or -EINVAL (bad size) / -EFAULT (memory). */
int vdq_init(struct vdq *q, const struct gm *gm, uint64_t base,
	     uint16_t size, uint64_t features);
/* The same for the legacy virtio-pci interface: split only, base
 * 4096-aligned (the page frame the driver writes), used ring on the next
 * 4096-byte boundary (§2.7.2 legacy layout). */
size_t vdq_mem_size_legacy(uint16_t size);
int vdq_init_legacy(struct vdq *q, const struct gm *gm, uint64_t base,
		    uint16_t size, uint64_t features);
/* The queue configuration a transport would hand the device. */
void vdq_config(const struct vdq *q, struct vq_config *cfg);

/* Add a chain of n buffers (readable ones first) directly or through an
 * indirect table (n <= VDQ_IND_MAX).  Returns the id (split head / packed
 * buffer id) or -ENOSPC / -EINVAL.  Split: visible after vdq_publish(). */
int vdq_add(struct vdq *q, const struct vdq_buf *bufs, unsigned n,
	    bool indirect);
/* Split: make added chains visible (write barrier, then avail->idx). */
void vdq_publish(struct vdq *q);
/* After publishing: does the device want a notification (§2.7.10 /
 * §2.8.10)?  Resets the count of added buffers. */
bool vdq_kick_prepare(struct vdq *q);
/* Collect one used buffer: 1 (id, len set), 0 none, -EPROTO the device
 * returned an id that is not outstanding. */
int vdq_get_used(struct vdq *q, uint16_t *id, uint32_t *len);
/* Driver's used buffer notification suppression. */
void vdq_intr_enable(struct vdq *q, bool enable);
/* Outstanding ids (added, not yet used). */
unsigned vdq_outstanding(const struct vdq *q);

/* Hostile driver helpers. */
/* Split: write descriptor i of the table.  Packed: write ring slot i with
 * the given flags verbatim (next_or_id is the buffer id). */
int vdq_raw_desc(struct vdq *q, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next_or_id);
/* Write entry i of an indirect table at table (split or packed format). */
int vdq_raw_table(struct vdq *q, uint64_t table, uint16_t i, uint64_t addr,
		  uint32_t len, uint16_t flags, uint16_t next);
/* Split: put head in the avail ring (published by vdq_publish). */
int vdq_raw_avail(struct vdq *q, uint16_t head);
/* Split: write avail->idx directly. */
int vdq_raw_avail_idx(struct vdq *q, uint16_t idx);
/* Packed: write a descriptor at the next slot with AVAIL/USED set to mean
 * "available" for the current lap, and advance (flags: NEXT, WRITE,
 * INDIRECT as wanted). */
int vdq_raw_packed(struct vdq *q, uint64_t addr, uint32_t len, uint16_t id,
		   uint16_t flags);
/* Packed: AVAIL/USED bits that mark a descriptor available now. */
uint16_t vdq_packed_avail_bits(const struct vdq *q);

#endif
