/* virtio-blk internals shared by blk.c (device ops, queue loop) and
 * blk_req.c (one request, executed in bounded slices). */
#ifndef VMM_VIRTIO_BLK_PRIV_H
#define VMM_VIRTIO_BLK_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "core/clk.h"
#include "core/log.h"
#include "core/tokenbucket.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/virtio.h"

/* The request being served.  A read or write moves at most one budget's
 * worth of bytes per slice; a discard or write-zeroes acts on at most
 * VBLK_ZERO_SLICE bytes of one segment per slice (fallocate is cheap, but
 * the fallback writes zeroes).  Between slices the element stays here
 * and the queue loop resumes it first (virtio.h, bounded work). */
#define VBLK_ZERO_SLICE (4u << 20)

struct vblk_req {
	bool active;
	uint32_t type;
	uint8_t status;      /* so far: VIRTIO_BLK_S_OK until something fails */
	uint32_t written;    /* bytes of data for the used length */
	/* IN/OUT: data bytes in the request, done so far, disk offset. */
	uint64_t len, done, pos;
	/* DISCARD/WRITE_ZEROES: segments, the current one, its progress. */
	uint32_t nseg, seg;
	bool seg_loaded, unmap;
	uint64_t seg_pos, seg_left;
};

/* A queue's popped chain and the request it holds. */
struct vblk_slot {
	struct vq_elem *elem;
	struct vblk_req req;
};

struct vblk {
	struct vdev vd;
	struct blockdev *bd;
	const struct clk *clk;
	struct log *log;
	struct log_rl rl;
	char serial[VIRTIO_BLK_ID_BYTES];
	struct tokenbucket tb;
	struct clk_timer throttle_timer;
	bool throttled;
	struct vblk_stats st;
	/* One request in flight per queue (VIRTIO_BLK_F_MQ: each queue is
	 * served on its own kick, §5.2.5). */
	struct vblk_slot slot[VDEV_MAX_QUEUES];
	uint8_t *bounce;
};

#define VBLK_BOUNCE_SIZE (128u * 1024u)

/* Look at the popped s->elem and set up s->req (active), or finish it at
 * once (header errors, FLUSH, GET_ID...).  Returns true when the request
 * is complete and only needs vblk_req_complete(). */
bool vblk_req_start(struct vblk *b, struct vblk_slot *s);
/* Do at most `budget` bytes of the active request; *moved gets what was
 * done (for the caller's budget).  True when the request is complete. */
bool vblk_req_slice(struct vblk *b, struct vblk_slot *s, uint64_t budget,
		    uint64_t *moved);
/* Write the status byte and push the element back; counts stats. */
void vblk_req_complete(struct vblk *b, struct vblk_slot *s, struct vq *vq);

/* blk_snap.c: vdev_ops.save/load (docs/snapshot.md). */
struct snap_w;
struct snap_r;
int vblk_save(struct vdev *vd, struct snap_w *w);
int vblk_load(struct vdev *vd, struct snap_r *r);

#endif
