/* Virtqueue save/load (devices/virtio/queue_snap.c, docs/snapshot.md). */
#ifndef VMM_VIRTIO_QUEUE_SNAP_H
#define VMM_VIRTIO_QUEUE_SNAP_H

#include <stdbool.h>
#include <stdint.h>
#include "queue.h"

struct snap_w;
struct snap_r;

/* The queue as section `name`. */
void vq_save(const struct vq *vq, struct snap_w *w, const char *name);
/* Validate and load section `name` into vq (features negotiated,
 * queue_max the transport's limit); vq is untouched on error. */
int vq_load(struct vq *vq, struct snap_r *r, const char *name,
	    const struct gm *gm, struct log *log, unsigned index,
	    uint64_t features, uint16_t queue_max);

/* A chain the device holds in flight (popped, not pushed), or NULL. */
void vq_elem_save(struct snap_w *w, const char *name, const struct vq_elem *e);
/* Load into e (valid only if *present): id and ndesc within vq's size,
 * every segment non-empty and inside guest RAM, lengths recomputed.
 * vq must be loaded already. */
int vq_elem_load(struct snap_r *r, const char *name, const struct vq *vq,
		 struct vq_elem *e, bool *present);

#endif
