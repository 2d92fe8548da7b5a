/* virtio-blk's own state in a snapshot (docs/snapshot.md "virtio-blk"):
 * the iops bucket and its timer, and per queue the request in flight —
 * the chain (queue_snap.c) and how far its slices got (blk_priv.h).
 *
 * Requests run synchronously in slices under the machine lock; between
 * two entry points a request is either not started or parked half done
 * in its slot, so the slot is the whole of it: nothing is in flight in a
 * backend when the machine is stopped. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "core/snapshot.h"
#include "blk_priv.h"
#include "queue_snap.h"

int vblk_save(struct vdev *vd, struct snap_w *w)
{
	struct vblk *b = vd->priv;
	char name[16];
	snap_w_begin(w, "virtio-blk", 1);
	snap_w_bool(w, "throttled", b->throttled);
	snap_w_timer(w, "throttle_timer", &b->throttle_timer);
	snap_w_tokenbucket(w, "iops", &b->tb);
	for (unsigned q = 0; q < vd->nqueues; q++) {
		const struct vblk_slot *s = &b->slot[q];
		const struct vblk_req *rq = &s->req;
		snprintf(name, sizeof(name), "slot%u", q);
		snap_w_begin(w, name, 1);
		snap_w_bool(w, "active", rq->active);
		vq_elem_save(w, "elem", rq->active ? s->elem : NULL);
		if (rq->active) {
			snap_w_u32(w, "type", rq->type);
			snap_w_u8(w, "status", rq->status);
			snap_w_u32(w, "written", rq->written);
			snap_w_u64(w, "len", rq->len);
			snap_w_u64(w, "done", rq->done);
			snap_w_u64(w, "pos", rq->pos);
			snap_w_u32(w, "nseg", rq->nseg);
			snap_w_u32(w, "seg", rq->seg);
			snap_w_bool(w, "seg_loaded", rq->seg_loaded);
			snap_w_bool(w, "unmap", rq->unmap);
			snap_w_u64(w, "seg_pos", rq->seg_pos);
			snap_w_u64(w, "seg_left", rq->seg_left);
		}
		snap_w_end(w);
	}
	snap_w_end(w);
	return 0;
}

/* One slot into s (scratch); checked against its queue. */
static void load_slot(struct snap_r *r, const struct vq *vq,
		      struct vblk_slot *s)
{
	struct vblk_req *rq = &s->req;
	bool present = false;
	memset(rq, 0, sizeof(*rq));
	snap_r_bool(r, "active", &rq->active);
	vq_elem_load(r, "elem", vq, s->elem, &present);
	snap_r_check(r, present == rq->active, "elem",
		     "a chain without a request or a request without one");
	if (!rq->active || snap_r_failed(r))
		return;
	snap_r_u32(r, "type", &rq->type);
	snap_r_u8(r, "status", &rq->status);
	snap_r_u32(r, "written", &rq->written);
	snap_r_u64(r, "len", &rq->len);
	snap_r_u64(r, "done", &rq->done);
	snap_r_u64(r, "pos", &rq->pos);
	snap_r_u32(r, "nseg", &rq->nseg);
	snap_r_u32(r, "seg", &rq->seg);
	snap_r_bool(r, "seg_loaded", &rq->seg_loaded);
	snap_r_bool(r, "unmap", &rq->unmap);
	snap_r_u64(r, "seg_pos", &rq->seg_pos);
	snap_r_u64(r, "seg_left", &rq->seg_left);
	const struct vq_elem *e = s->elem;
	/* §5.2.6: a request's data is what its chain holds. */
	snap_r_check(r, rq->len <= (uint64_t)e->out_len + e->in_len, "len",
		     "more data than the chain holds");
	snap_r_check(r, rq->done <= rq->len, "done", "beyond the request length");
	snap_r_check(r, rq->written <= e->in_len, "written",
		     "beyond the chain's writable bytes");
	snap_r_check(r, rq->seg <= rq->nseg, "seg", "beyond the segment count");
	snap_r_check(r, rq->nseg <= e->out_len / 16u, "nseg",
		     "more segments than the chain carries");
}

int vblk_load(struct vdev *vd, struct snap_r *r)
{
	struct vblk *b = vd->priv;
	bool throttled = false;
	struct snap_timer tt;
	struct tokenbucket tb;
	char name[16];
	snap_r_begin(r, "virtio-blk", 1, NULL);
	snap_r_bool(r, "throttled", &throttled);
	snap_r_timer(r, "throttle_timer", &tt);
	snap_r_tokenbucket(r, "iops", &b->tb, &tb);
	snap_r_check(r, !tt.armed || throttled, "throttle_timer",
		     "armed while not throttled");
	for (unsigned q = 0; q < vd->nqueues && !snap_r_failed(r); q++) {
		snprintf(name, sizeof(name), "slot%u", q);
		snap_r_begin(r, name, 1, NULL);
		/* Loaded in place: on error the board is discarded. */
		load_slot(r, &vd->vqs[q], &b->slot[q]);
		snap_r_end(r);
	}
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	b->throttled = throttled;
	b->tb = tb;
	snap_timer_apply(&tt, b->clk, &b->throttle_timer);
	return 0;
}
