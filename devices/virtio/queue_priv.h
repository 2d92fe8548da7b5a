/* Private to devices/virtio/queue*.c: the ring-specific halves of the
 * virtqueue (split §2.7, packed §2.8) and the chain-building checks both
 * share.  Devices use queue.h only. */
#ifndef VMM_VIRTIO_QUEUE_PRIV_H
#define VMM_VIRTIO_QUEUE_PRIV_H

#include "queue.h"

/* Barriers against a guest driver running concurrently on another CPU.
 * They order our accesses to guest memory (gm_read/gm_write are plain
 * loads/stores); on x86 the first two are compiler barriers only and the
 * full one is an mfence, as Linux's virt_rmb/virt_wmb/virt_mb. */
#define vq_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define vq_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define vq_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

/* Append one guest buffer to e after the per-descriptor checks every ring
 * shares (zero length, readable after writable, 32-bit total, segment
 * count, inside RAM).  0, or -EINVAL/-EFAULT with *why set. */
int vq_chain_add(const struct vq *vq, struct vq_elem *e, uint64_t addr,
		 uint32_t len, bool write, const char **why);
/* Checks on a descriptor that points at an indirect table: feature
 * negotiated, length a non-zero multiple of 16 no larger than
 * VQ_MAX_SIZE entries, table inside RAM.  0 or -errno with *why set;
 * *n gets the number of entries. */
int vq_indirect_check(const struct vq *vq, uint64_t addr, uint32_t len,
		      unsigned *n, const char **why);
/* Rate-limited complaint about the guest. */
void vq_complain(struct vq *vq, const char *what, unsigned where,
		 const char *why);
/* The ring itself is unusable: stop, the transport will ask for reset. */
int vq_break(struct vq *vq, const char *why);

/* §2.7.10: has the index moved from old to new_idx past event?  The
 * 16-bit arithmetic makes it correct across index wraparound. */
static inline bool vq_need_event(uint16_t event, uint16_t new_idx,
				 uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

int vq_split_pop(struct vq *vq, struct vq_elem *e);
int vq_split_push(struct vq *vq, const struct vq_elem *e, uint32_t written);
int vq_split_push_batch(struct vq *vq, struct vq_elem *const *e,
			const uint32_t *written, unsigned n);
void vq_split_unpop(struct vq *vq, const struct vq_elem *e);
bool vq_split_should_notify(struct vq *vq);
void vq_split_set_notification(struct vq *vq, bool enable);
bool vq_split_has_avail(struct vq *vq);

int vq_packed_pop(struct vq *vq, struct vq_elem *e);
int vq_packed_push(struct vq *vq, const struct vq_elem *e, uint32_t written);
int vq_packed_push_batch(struct vq *vq, struct vq_elem *const *e,
			 const uint32_t *written, unsigned n);
void vq_packed_unpop(struct vq *vq, const struct vq_elem *e);
bool vq_packed_should_notify(struct vq *vq);
void vq_packed_set_notification(struct vq *vq, bool enable);
bool vq_packed_has_avail(struct vq *vq);

#endif
