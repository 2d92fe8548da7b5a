/* Virtqueue: what split and packed rings share — enabling a queue from its
 * transport configuration, the per-descriptor checks of the chain walker,
 * copying data in and out of a popped element, and dispatch to the ring
 * format the driver negotiated (VIRTIO_F_RING_PACKED, §2.8). */
#include <errno.h>
#include <string.h>
#include "core/gm.h"
#include "core/log.h"
#include "queue_priv.h"
#include "virtio.h"

static bool vq_range_ok(const struct gm *gm, uint64_t gpa, size_t len,
			uint64_t align)
{
	return (gpa & (align - 1)) == 0 && gm_range_valid(gm, gpa, len);
}

int vq_enable(struct vq *vq, const struct gm *gm, struct log *log,
	      unsigned index, const struct vq_config *cfg, uint64_t features)
{
	bool packed = (features >> VIRTIO_F_RING_PACKED) & 1;
	uint16_t n = cfg->size;

	vq_reset(vq);
	vq->gm = gm;
	vq->log = log;
	vq->index = index;
	if (n == 0 || n > VQ_MAX_SIZE)
		return -EINVAL;
	if (packed) {
		/* §2.8.10.1 / §2.8.11: descriptor ring 16-aligned, the two
		 * event suppression structures 4-aligned; any size. */
		if (!vq_range_ok(gm, cfg->desc, sizeof(struct pvirtq_desc) * n, 16) ||
		    !vq_range_ok(gm, cfg->driver,
				 sizeof(struct pvirtq_event_suppress), 4) ||
		    !vq_range_ok(gm, cfg->device,
				 sizeof(struct pvirtq_event_suppress), 4))
			return -EINVAL;
	} else {
		/* §2.7: power-of-2 size; alignment 16 / 2 / 4 for the
		 * descriptor table, available ring and used ring. */
		if (n & (n - 1))
			return -EINVAL;
		if (!vq_range_ok(gm, cfg->desc, VIRTQ_DESC_BYTES(n), 16) ||
		    !vq_range_ok(gm, cfg->driver, VIRTQ_AVAIL_BYTES(n), 2) ||
		    !vq_range_ok(gm, cfg->device, VIRTQ_USED_BYTES(n), 4))
			return -EINVAL;
	}
	vq->cfg = *cfg;
	vq->packed = packed;
	vq->event_idx = (features >> VIRTIO_F_EVENT_IDX) & 1;
	vq->indirect = (features >> VIRTIO_F_INDIRECT_DESC) & 1;
	/* §2.8.1: both wrap counters start at 1. */
	vq->avail_wrap = true;
	vq->used_wrap = true;
	return 0;
}

void vq_reset(struct vq *vq)
{
	const struct gm *gm = vq->gm;
	struct log *log = vq->log;
	unsigned index = vq->index;

	memset(vq, 0, sizeof(*vq));
	vq->gm = gm;
	vq->log = log;
	vq->index = index;
}

static bool vq_live(const struct vq *vq)
{
	return vq->cfg.size != 0 && vq->gm != NULL;
}

/* The ring is out of reach (the transport closed the device's view of
 * guest memory: PCI Bus Master Enable off).  Nothing is read or written
 * and no state moves: the ring looks empty until it is reachable again. */
static bool vq_gated(const struct vq *vq)
{
	return !gm_enabled(vq->gm);
}

int vq_pop(struct vq *vq, struct vq_elem *elem)
{
	if (!vq_live(vq) || vq->broken || vq_gated(vq))
		return 0;
	return vq->packed ? vq_packed_pop(vq, elem) : vq_split_pop(vq, elem);
}

int vq_push(struct vq *vq, const struct vq_elem *elem, uint32_t written)
{
	if (!vq_live(vq))
		return -EINVAL;
	if (vq->broken)
		return -EPROTO;
	if (vq_gated(vq))
		return -EAGAIN;
	/* The device never reports more than the buffer held: the driver
	 * would read past its own buffer otherwise. */
	if (written > elem->in_len)
		written = elem->in_len;
	return vq->packed ? vq_packed_push(vq, elem, written)
			  : vq_split_push(vq, elem, written);
}

int vq_push_batch(struct vq *vq, struct vq_elem *const *elems,
		  const uint32_t *written, unsigned n)
{
	uint32_t w[VQ_MAX_SIZE];

	if (!vq_live(vq) || n > vq->cfg.size)
		return -EINVAL;
	if (vq->broken)
		return -EPROTO;
	if (vq_gated(vq))
		return -EAGAIN;
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		w[i] = written[i] > elems[i]->in_len ? elems[i]->in_len
						     : written[i];
	return vq->packed ? vq_packed_push_batch(vq, elems, w, n)
			  : vq_split_push_batch(vq, elems, w, n);
}

void vq_unpop(struct vq *vq, const struct vq_elem *elem)
{
	if (!vq_live(vq) || vq->broken)
		return;
	if (vq->packed)
		vq_packed_unpop(vq, elem);
	else
		vq_split_unpop(vq, elem);
}

bool vq_should_notify(struct vq *vq)
{
	if (!vq_live(vq) || vq->broken || vq_gated(vq))
		return false;
	return vq->packed ? vq_packed_should_notify(vq)
			  : vq_split_should_notify(vq);
}

void vq_set_notification(struct vq *vq, bool enable)
{
	if (!vq_live(vq) || vq->broken || vq_gated(vq))
		return;
	vq->notify_off = !enable;
	if (vq->packed)
		vq_packed_set_notification(vq, enable);
	else
		vq_split_set_notification(vq, enable);
}

bool vq_has_avail(struct vq *vq)
{
	if (!vq_live(vq) || vq->broken || vq_gated(vq))
		return false;
	return vq->packed ? vq_packed_has_avail(vq) : vq_split_has_avail(vq);
}

int vq_chain_add(const struct vq *vq, struct vq_elem *e, uint64_t addr,
		 uint32_t len, bool write, const char **why)
{
	struct vq_seg *s;

	/* Zero-length buffers carry nothing and are a classic way to make a
	 * device loop without progress: refuse them. */
	if (len == 0) {
		*why = "zero-length descriptor";
		return -EINVAL;
	}
	/* §2.7.4.2 / §2.8.6: readable descriptors come before writable. */
	if (!write && e->nin) {
		*why = "readable descriptor after a writable one";
		return -EINVAL;
	}
	/* The used length is 32 bits (§2.7.8): a chain must fit. */
	if ((uint64_t)e->out_len + e->in_len + len > UINT32_MAX) {
		*why = "total length overflows 32 bits";
		return -EINVAL;
	}
	if ((unsigned)e->nout + e->nin >= VQ_MAX_SEGS) {
		*why = "too many descriptors in chain";
		return -EINVAL;
	}
	if (!gm_range_valid(vq->gm, addr, len)) {
		*why = "buffer outside guest RAM";
		return -EFAULT;
	}
	s = &e->seg[e->nout + e->nin];
	s->gpa = addr;
	s->len = len;
	if (write) {
		e->nin++;
		e->in_len += len;
	} else {
		e->nout++;
		e->out_len += len;
	}
	return 0;
}

int vq_indirect_check(const struct vq *vq, uint64_t addr, uint32_t len,
		      unsigned *n, const char **why)
{
	/* §2.7.5.3.1: only with VIRTIO_F_INDIRECT_DESC negotiated. */
	if (!vq->indirect) {
		*why = "indirect descriptor not negotiated";
		return -EINVAL;
	}
	/* §2.7.5.3: the table is an array of 16-byte descriptors; bound it
	 * by the largest queue so a guest cannot make us walk more. */
	if (len == 0 || len % sizeof(struct virtq_desc) ||
	    len > VQ_MAX_SIZE * sizeof(struct virtq_desc)) {
		*why = "bad indirect table length";
		return -EINVAL;
	}
	if (!gm_range_valid(vq->gm, addr, len)) {
		*why = "indirect table outside guest RAM";
		return -EFAULT;
	}
	*n = len / sizeof(struct virtq_desc);
	return 0;
}

void vq_complain(struct vq *vq, const char *what, unsigned where,
		 const char *why)
{
	log_rl(vq->log, &vq->rl, LOG_WARN, "virtq %u: %s %u: %s", vq->index,
	       what, where, why);
}

int vq_break(struct vq *vq, const char *why)
{
	vq->broken = true;
	log_rl(vq->log, &vq->rl, LOG_ERROR, "virtq %u: ring broken: %s",
	       vq->index, why);
	return -EPROTO;
}

/* Walk the segments [first, first+count) of e, copying len bytes starting
 * at byte off of that part; to_guest picks the direction. */
static int vq_elem_copy(const struct gm *gm, const struct vq_elem *e,
			unsigned first, unsigned count, uint32_t off, void *buf,
			size_t len, bool to_guest)
{
	uint8_t *p = buf;
	unsigned i;

	for (i = first; i < first + count && len; i++) {
		const struct vq_seg *s = &e->seg[i];
		size_t chunk;
		int r;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		chunk = s->len - off;
		if (chunk > len)
			chunk = len;
		r = to_guest ? gm_write(gm, s->gpa + off, p, chunk)
			     : gm_read(gm, s->gpa + off, p, chunk);
		if (r)
			return r;
		p += chunk;
		len -= chunk;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

int vq_elem_read(const struct gm *gm, const struct vq_elem *e, uint32_t off,
		 void *buf, size_t len)
{
	if ((uint64_t)off + len > e->out_len || e->nout > VQ_MAX_SEGS)
		return -EFAULT;
	return vq_elem_copy(gm, e, 0, e->nout, off, buf, len, false);
}

int vq_elem_write(const struct gm *gm, const struct vq_elem *e, uint32_t off,
		  const void *buf, size_t len)
{
	if ((uint64_t)off + len > e->in_len ||
	    (unsigned)e->nout + e->nin > VQ_MAX_SEGS)
		return -EFAULT;
	return vq_elem_copy(gm, e, e->nout, e->nin, off, (void *)buf, len,
			    true);
}
