/* Virtqueue state in a snapshot (docs/snapshot.md "virtqueues"): the
 * driver's configuration, the device's ring positions for split (§2.7)
 * and packed (§2.8) rings, and chains a device holds in flight.
 *
 * A loaded queue is validated as vq_enable validates a driver's: size,
 * alignment, rings inside guest RAM; then the positions against the size
 * (no more chains in flight than the ring holds, packed slots below the
 * size).  Nothing is written to the live queue until all of it passed. */
#include <errno.h>
#include <string.h>
#include "core/gm.h"
#include "core/snapshot.h"
#include "queue_priv.h"
#include "queue_snap.h"
#include "virtio.h"

static bool vq_is_live(const struct vq *vq)
{
	return vq->cfg.size != 0 && vq->gm != NULL;
}

void vq_save(const struct vq *vq, struct snap_w *w, const char *name)
{
	bool live = vq_is_live(vq);
	snap_w_begin(w, name, 1);
	snap_w_bool(w, "live", live);
	if (live) {
		snap_w_u16(w, "size", vq->cfg.size);
		snap_w_u64(w, "desc", vq->cfg.desc);
		snap_w_u64(w, "driver", vq->cfg.driver);
		snap_w_u64(w, "device", vq->cfg.device);
		snap_w_u16(w, "msix_vector", vq->cfg.msix_vector);
		snap_w_bool(w, "packed", vq->packed);
		snap_w_u16(w, "last_avail", vq->last_avail);
		snap_w_u16(w, "used_idx", vq->used_idx);
		snap_w_u16(w, "signalled_used", vq->signalled_used);
		snap_w_bool(w, "signalled_used_valid", vq->signalled_used_valid);
		snap_w_u16(w, "next_avail", vq->next_avail);
		snap_w_bool(w, "avail_wrap", vq->avail_wrap);
		snap_w_u16(w, "next_used", vq->next_used);
		snap_w_bool(w, "used_wrap", vq->used_wrap);
		snap_w_bool(w, "broken", vq->broken);
		snap_w_bool(w, "notify_off", vq->notify_off);
	}
	snap_w_end(w);
}

int vq_load(struct vq *out, struct snap_r *r, const char *name,
	    const struct gm *gm, struct log *log, unsigned index,
	    uint64_t features, uint16_t queue_max)
{
	struct vq t;
	bool live = false, packed = false;
	struct vq_config cfg = { 0 };
	memset(&t, 0, sizeof(t));
	t.gm = out->gm;
	t.log = out->log;
	t.index = out->index;
	snap_r_begin(r, name, 1, NULL);
	snap_r_bool(r, "live", &live);
	if (live && !snap_r_failed(r)) {
		snap_r_u16(r, "size", &cfg.size);
		snap_r_u64(r, "desc", &cfg.desc);
		snap_r_u64(r, "driver", &cfg.driver);
		snap_r_u64(r, "device", &cfg.device);
		snap_r_u16(r, "msix_vector", &cfg.msix_vector);
		snap_r_bool(r, "packed", &packed);
		snap_r_u16(r, "last_avail", &t.last_avail);
		snap_r_u16(r, "used_idx", &t.used_idx);
		snap_r_u16(r, "signalled_used", &t.signalled_used);
		snap_r_bool(r, "signalled_used_valid", &t.signalled_used_valid);
		snap_r_u16(r, "next_avail", &t.next_avail);
		snap_r_bool(r, "avail_wrap", &t.avail_wrap);
		snap_r_u16(r, "next_used", &t.next_used);
		snap_r_bool(r, "used_wrap", &t.used_wrap);
		snap_r_bool(r, "broken", &t.broken);
		snap_r_bool(r, "notify_off", &t.notify_off);
		cfg.ready = true;
		snap_r_check(r, cfg.size >= 1 && cfg.size <= queue_max, "size",
			     "zero or above the queue's maximum");
		snap_r_check(r, packed == ((features >> VIRTIO_F_RING_PACKED) & 1),
			     "packed", "disagrees with the negotiated features");
		if (!snap_r_failed(r)) {
			/* The same checks a driver's enable passes. */
			struct vq probe;
			memset(&probe, 0, sizeof(probe));
			int e = vq_enable(&probe, gm, log, index, &cfg, features);
			snap_r_check(r, e == 0, "desc",
				     "rings misaligned or outside guest RAM");
		}
		if (packed) {
			snap_r_check(r, t.next_avail < cfg.size, "next_avail",
				     "beyond the queue size");
			snap_r_check(r, t.next_used < cfg.size, "next_used",
				     "beyond the queue size");
		} else {
			/* Popped but not yet used chains: at most a ring. */
			snap_r_check(r, (uint16_t)(t.last_avail - t.used_idx) <=
				     cfg.size, "last_avail",
				     "more chains in flight than the queue size");
		}
	}
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	if (!live) {
		vq_reset(out);
		return 0;
	}
	struct log_rl rl = out->rl;
	vq_enable(out, gm, log, index, &cfg, features);
	out->rl = rl;
	out->last_avail = t.last_avail;
	out->used_idx = t.used_idx;
	out->signalled_used = t.signalled_used;
	out->signalled_used_valid = t.signalled_used_valid;
	out->next_avail = t.next_avail;
	out->avail_wrap = t.avail_wrap;
	out->next_used = t.next_used;
	out->used_wrap = t.used_wrap;
	out->broken = t.broken;
	out->notify_off = t.notify_off;
	return 0;
}

#define SEG_BYTES 12u

void vq_elem_save(struct snap_w *w, const char *name, const struct vq_elem *e)
{
	snap_w_begin(w, name, 1);
	snap_w_bool(w, "present", e != NULL);
	if (e) {
		unsigned n = (unsigned)e->nout + e->nin;
		uint8_t segs[SEG_BYTES * VQ_MAX_SEGS];
		snap_w_u16(w, "id", e->id);
		snap_w_u16(w, "ndesc", e->ndesc);
		snap_w_u16(w, "nout", e->nout);
		snap_w_u16(w, "nin", e->nin);
		if (n > VQ_MAX_SEGS)
			n = VQ_MAX_SEGS;
		for (unsigned i = 0; i < n; i++) {
			uint8_t *p = segs + SEG_BYTES * i;
			for (int k = 0; k < 8; k++)
				p[k] = (uint8_t)(e->seg[i].gpa >> (8 * k));
			for (int k = 0; k < 4; k++)
				p[8 + k] = (uint8_t)(e->seg[i].len >> (8 * k));
		}
		snap_w_bytes(w, "segs", segs, SEG_BYTES * n);
	}
	snap_w_end(w);
}

int vq_elem_load(struct snap_r *r, const char *name, const struct vq *vq,
		 struct vq_elem *e, bool *present)
{
	uint16_t nout = 0, nin = 0;
	const uint8_t *segs = NULL;
	size_t len = 0;
	*present = false;
	snap_r_begin(r, name, 1, NULL);
	snap_r_bool(r, "present", present);
	if (*present && !snap_r_failed(r)) {
		snap_r_u16(r, "id", &e->id);
		snap_r_u16(r, "ndesc", &e->ndesc);
		snap_r_u16(r, "nout", &nout);
		snap_r_u16(r, "nin", &nin);
		snap_r_blob(r, "segs", &segs, &len);
		uint16_t size = vq->cfg.size;
		snap_r_check(r, size != 0, "present",
			     "a chain in flight on a queue that is not enabled");
		snap_r_check(r, e->id < size, "id", "beyond the queue size");
		snap_r_check(r, e->ndesc >= 1 && e->ndesc <= size, "ndesc",
			     "zero or beyond the queue size");
		snap_r_check(r, (unsigned)nout + nin >= 1 &&
			     (unsigned)nout + nin <= VQ_MAX_SEGS, "nout",
			     "segment count out of range");
		snap_r_check(r, len == SEG_BYTES * ((size_t)nout + nin), "segs",
			     "length disagrees with nout + nin");
		if (!snap_r_failed(r)) {
			uint64_t out_len = 0, in_len = 0;
			bool ok = true;
			for (unsigned i = 0; i < (unsigned)nout + nin && ok; i++) {
				const uint8_t *p = segs + SEG_BYTES * i;
				uint64_t gpa = 0;
				uint32_t l = 0;
				for (int k = 0; k < 8; k++)
					gpa |= (uint64_t)p[k] << (8 * k);
				for (int k = 0; k < 4; k++)
					l |= (uint32_t)p[8 + k] << (8 * k);
				ok = l != 0 && gm_range_valid(vq->gm, gpa, l);
				e->seg[i].gpa = gpa;
				e->seg[i].len = l;
				if (i < nout)
					out_len += l;
				else
					in_len += l;
			}
			snap_r_check(r, ok, "segs",
				     "an empty segment or one outside guest RAM");
			snap_r_check(r, out_len + in_len <= UINT32_MAX, "segs",
				     "chain longer than 2^32 bytes");
			e->nout = nout;
			e->nin = nin;
			e->out_len = (uint32_t)out_len;
			e->in_len = (uint32_t)in_len;
		}
	}
	return snap_r_end(r);
}
