/* Split virtqueue (virtio 1.2 §2.7): descriptor table, available ring and
 * used ring, all accessed through gm with each descriptor copied out before
 * it is looked at.  The walker follows rust-vmm virtio-queue's chain.rs:
 * a time-to-live of one queue size per table, next < table size, checked
 * 32-bit length sums, no indirect table inside another. */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "core/gm.h"
#include "queue_priv.h"

static int split_read_desc(const struct vq *vq, uint64_t table, unsigned i,
			   struct virtq_desc *d)
{
	struct virtq_desc raw;

	if (gm_read(vq->gm, table + (uint64_t)i * sizeof(raw), &raw,
		    sizeof(raw)))
		return -EFAULT;
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
	return 0;
}

/* Follow the chain at head into e.  0 or -errno with *why set. */
static int split_walk(struct vq *vq, uint16_t head, struct vq_elem *e,
		      const char **why)
{
	uint64_t table = vq->cfg.desc;
	unsigned n = vq->cfg.size; /* entries in the table being walked */
	unsigned ttl = n;          /* descriptors left before it is a loop */
	unsigned i = head;
	bool in_indirect = false;
	struct virtq_desc d;
	int r;

	for (;;) {
		/* §2.7.5: next indexes the table it lives in. */
		if (i >= n) {
			*why = "descriptor index out of range";
			return -EINVAL;
		}
		/* A chain can hold each descriptor at most once, so one
		 * longer than its table must revisit one: a loop. */
		if (ttl == 0) {
			*why = "descriptor chain loops";
			return -EINVAL;
		}
		ttl--;
		if (split_read_desc(vq, table, i, &d)) {
			*why = "descriptor unreadable";
			return -EFAULT;
		}
		if (!in_indirect)
			e->ndesc++;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* §2.7.5.3.1: no table inside a table, and an
			 * indirect descriptor carries no NEXT. */
			if (in_indirect) {
				*why = "nested indirect table";
				return -EINVAL;
			}
			if (d.flags & VIRTQ_DESC_F_NEXT) {
				*why = "indirect descriptor with NEXT";
				return -EINVAL;
			}
			r = vq_indirect_check(vq, d.addr, d.len, &n, why);
			if (r)
				return r;
			table = d.addr;
			ttl = n;
			i = 0;
			in_indirect = true;
			continue;
		}
		r = vq_chain_add(vq, e, d.addr, d.len,
				 d.flags & VIRTQ_DESC_F_WRITE, why);
		if (r)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

static int split_set_avail_event(struct vq *vq)
{
	uint64_t at = vq->cfg.device + VIRTQ_AVAIL_EVENT_OFF(vq->cfg.size);

	/* §2.7.10: "kick me when you publish entry last_avail". */
	if (gm_write_u16le(vq->gm, at, vq->last_avail))
		return vq_break(vq, "avail_event unwritable");
	return 0;
}

int vq_split_pop(struct vq *vq, struct vq_elem *e)
{
	uint64_t avail = vq->cfg.driver;
	uint16_t n = vq->cfg.size, idx, head;
	const char *why = NULL;
	int r;

	if (gm_read_u16le(vq->gm, avail + offsetof(struct virtq_avail, idx),
			  &idx))
		return vq_break(vq, "avail idx unreadable");
	/* The driver cannot have more than n chains outstanding: an idx
	 * further ahead means its ring state is garbage (§2.7.13.3). */
	if ((uint16_t)(idx - vq->last_avail) > n)
		return vq_break(vq, "avail idx more than queue size ahead");
	if (idx == vq->last_avail)
		return 0;
	/* Acquire: the driver wrote the ring entry and the descriptors
	 * before publishing idx with a write barrier (§2.7.13); our reads
	 * of them must not be satisfied before the idx read above. */
	vq_rmb();
	if (gm_read_u16le(vq->gm,
			  avail + offsetof(struct virtq_avail, ring) +
				  sizeof(uint16_t) * (vq->last_avail % n),
			  &head))
		return vq_break(vq, "avail ring unreadable");
	vq->last_avail++;
	if (vq->event_idx && !vq->notify_off && split_set_avail_event(vq))
		return -EPROTO;

	e->id = head;
	e->ndesc = 0;
	e->nout = e->nin = 0;
	e->out_len = e->in_len = 0;
	if (head >= n) {
		/* No used entry: an id the driver never issued would corrupt
		 * its bookkeeping worse than the lost entry does. */
		vq_complain(vq, "avail entry", head, "head index out of range");
		return -EINVAL;
	}
	r = split_walk(vq, head, e, &why);
	if (r == 0)
		return 1;
	vq_complain(vq, "chain at head", head, why);
	/* Fail just this request: hand it back empty so the driver frees
	 * it and does not wait forever. */
	e->nout = e->nin = 0;
	e->out_len = e->in_len = 0;
	if (vq_split_push(vq, e, 0))
		return -EPROTO;
	return r;
}

int vq_split_push(struct vq *vq, const struct vq_elem *e, uint32_t written)
{
	/* A single push is a batch of one; the batch never writes elems. */
	struct vq_elem *one = (struct vq_elem *)e;
	return vq_split_push_batch(vq, &one, &written, 1);
}

int vq_split_push_batch(struct vq *vq, struct vq_elem *const *e,
			const uint32_t *written, unsigned n)
{
	uint64_t used = vq->cfg.device;
	struct virtq_used_elem u;

	for (unsigned i = 0; i < n; i++)
		if (e[i]->id >= vq->cfg.size)
			return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		u.id = htole32(e[i]->id);
		u.len = htole32(written[i]);
		uint16_t slot = (uint16_t)(vq->used_idx + i) % vq->cfg.size;
		if (gm_write(vq->gm,
			     used + offsetof(struct virtq_used, ring) +
				     sizeof(u) * slot,
			     &u, sizeof(u)))
			return vq_break(vq, "used ring unwritable");
	}
	/* Release, once for the whole batch: every element must be visible
	 * before idx moves past any of them (§2.7.8). */
	vq_wmb();
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	if (gm_write_u16le(vq->gm, used + offsetof(struct virtq_used, idx),
			   vq->used_idx))
		return vq_break(vq, "used idx unwritable");
	return 0;
}

void vq_split_unpop(struct vq *vq, const struct vq_elem *e)
{
	(void)e;
	vq->last_avail--;
}

bool vq_split_should_notify(struct vq *vq)
{
	uint64_t avail = vq->cfg.driver;
	uint16_t old = vq->signalled_used, new_idx = vq->used_idx, v;
	bool valid = vq->signalled_used_valid;

	/* Full barrier: our used idx store must be visible before we load
	 * flags/used_event.  The driver does the mirror image (writes
	 * used_event, barrier, re-reads used idx); without both fences each
	 * side can miss the other's update and the queue stalls (§2.7.10,
	 * Linux virtqueue_enable_cb / vhost_notify). */
	vq_mb();
	vq->signalled_used = new_idx;
	vq->signalled_used_valid = true;
	if (valid && old == new_idx)
		return false; /* nothing new since the last check */
	if (!vq->event_idx) {
		if (gm_read_u16le(vq->gm,
				  avail + offsetof(struct virtq_avail, flags),
				  &v))
			return true; /* when in doubt, interrupt */
		return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	if (gm_read_u16le(vq->gm, avail + VIRTQ_USED_EVENT_OFF(vq->cfg.size),
			  &v))
		return true;
	return !valid || vq_need_event(v, new_idx, old);
}

void vq_split_set_notification(struct vq *vq, bool enable)
{
	int r;

	if (vq->event_idx) {
		/* Disabling with EVENT_IDX is leaving avail_event behind:
		 * pops stop advancing it (see vq_split_pop). */
		if (!enable)
			return;
		r = split_set_avail_event(vq);
	} else {
		r = gm_write_u16le(vq->gm,
				   vq->cfg.device +
					   offsetof(struct virtq_used, flags),
				   enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
		if (r)
			vq_break(vq, "used flags unwritable");
	}
	/* Full barrier: the store above must be visible before the caller
	 * re-reads avail idx, or a buffer published in between is missed
	 * by both sides (Linux vhost_enable_notify). */
	if (enable && !r)
		vq_mb();
}

bool vq_split_has_avail(struct vq *vq)
{
	uint16_t idx;

	if (gm_read_u16le(vq->gm,
			  vq->cfg.driver + offsetof(struct virtq_avail, idx),
			  &idx))
		return false;
	return idx != vq->last_avail;
}
