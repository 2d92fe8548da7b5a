/* Packed virtqueue (virtio 1.2 §2.8): one descriptor ring that driver and
 * device both write, ownership passing through the AVAIL/USED flag bits
 * against each side's wrap counter, plus two event suppression structures.
 * Same guarantees as the split ring: every descriptor copied out through
 * gm, a chain never longer than the ring, no nested indirect tables,
 * checked lengths; a bad chain is skipped whole and returned empty. */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "core/gm.h"
#include "queue_priv.h"

static int packed_read_desc(const struct vq *vq, uint64_t gpa,
			    struct pvirtq_desc *d)
{
	struct pvirtq_desc raw;

	if (gm_read(vq->gm, gpa, &raw, sizeof(raw)))
		return -EFAULT;
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->id = le16toh(raw.id);
	d->flags = le16toh(raw.flags);
	return 0;
}

static uint64_t packed_slot(const struct vq *vq, uint16_t i)
{
	return vq->cfg.desc + (uint64_t)i * sizeof(struct pvirtq_desc);
}

/* §2.8.1: a descriptor is available when its AVAIL bit equals the wrap
 * counter and its USED bit does not. */
static bool packed_is_avail(uint16_t flags, bool wrap)
{
	bool avail = flags & VIRTQ_DESC_F_AVAIL, used = flags & VIRTQ_DESC_F_USED;

	return avail == wrap && used != wrap;
}

/* Move a ring position forward by n (n <= size) slots, flipping the wrap
 * counter when it passes the end (§2.8.1). */
static void packed_advance(uint16_t *pos, bool *wrap, unsigned n,
			   uint16_t size)
{
	unsigned v = *pos + n;

	if (v >= size) {
		v -= size;
		*wrap = !*wrap;
	}
	*pos = v;
}

/* §2.8.7: an indirect table is a plain array of descriptors; only WRITE
 * means anything in it.  INDIRECT inside is refused (a driver that sets it
 * is confused, and refusing is what keeps the walk one level deep). */
static int packed_walk_indirect(struct vq *vq, struct vq_elem *e,
				const struct pvirtq_desc *ind, const char **why)
{
	struct pvirtq_desc d;
	unsigned n, i;
	int r;

	if (ind->flags & VIRTQ_DESC_F_NEXT) {
		*why = "indirect descriptor with NEXT";
		return -EINVAL;
	}
	r = vq_indirect_check(vq, ind->addr, ind->len, &n, why);
	if (r)
		return r;
	for (i = 0; i < n; i++) {
		if (packed_read_desc(vq, ind->addr + (uint64_t)i * sizeof(d),
				     &d)) {
			*why = "indirect descriptor unreadable";
			return -EFAULT;
		}
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			*why = "nested indirect table";
			return -EINVAL;
		}
		r = vq_chain_add(vq, e, d.addr, d.len,
				 d.flags & VIRTQ_DESC_F_WRITE, why);
		if (r)
			return r;
	}
	return 0;
}

static int packed_set_event(struct vq *vq, uint16_t flags)
{
	struct pvirtq_event_suppress ev;

	ev.off_wrap = htole16(vq->next_avail |
			      (uint16_t)(vq->avail_wrap << RING_EVENT_WRAP_SHIFT));
	ev.flags = htole16(flags);
	if (gm_write(vq->gm, vq->cfg.device, &ev, sizeof(ev)))
		return vq_break(vq, "device event area unwritable");
	return 0;
}

int vq_packed_pop(struct vq *vq, struct vq_elem *e)
{
	uint16_t n = vq->cfg.size, flags, i = vq->next_avail;
	const char *why = NULL;
	struct pvirtq_desc d;
	unsigned ndesc = 0;
	int r = 0;

	if (gm_read_u16le(vq->gm,
			  packed_slot(vq, i) + offsetof(struct pvirtq_desc, flags),
			  &flags))
		return vq_break(vq, "descriptor ring unreadable");
	if (!packed_is_avail(flags, vq->avail_wrap))
		return 0;
	/* Acquire: the driver wrote addr/len/id of every descriptor of the
	 * chain before the head's flags, with a write barrier (§2.8,
	 * "Updating flags"); none may be read before the flags above. */
	vq_rmb();

	e->nout = e->nin = 0;
	e->out_len = e->in_len = 0;
	/* Follow NEXT to the end of the chain even after an error: the
	 * chain's slots must all be skipped or the next pop would start in
	 * the middle of it.  At most n slots: the ring holds no more. */
	for (;;) {
		if (packed_read_desc(vq, packed_slot(vq, i), &d))
			return vq_break(vq, "descriptor ring unreadable");
		ndesc++;
		i = (uint16_t)(i + 1 == n ? 0 : i + 1);
		if (r == 0) {
			if (d.flags & VIRTQ_DESC_F_INDIRECT)
				r = packed_walk_indirect(vq, e, &d, &why);
			else
				r = vq_chain_add(vq, e, d.addr, d.len,
						 d.flags & VIRTQ_DESC_F_WRITE,
						 &why);
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (ndesc == n) {
			if (r == 0) {
				why = "descriptor chain longer than the ring";
				r = -EINVAL;
			}
			break;
		}
	}
	/* §2.8.6: the buffer id is the one in the chain's last descriptor. */
	e->id = d.id;
	e->ndesc = ndesc;
	packed_advance(&vq->next_avail, &vq->avail_wrap, ndesc, n);
	if (vq->event_idx && !vq->notify_off &&
	    packed_set_event(vq, RING_EVENT_FLAGS_DESC))
		return -EPROTO;
	if (r == 0)
		return 1;
	vq_complain(vq, "chain with buffer id", e->id, why);
	e->nout = e->nin = 0;
	e->out_len = e->in_len = 0;
	if (vq_packed_push(vq, e, 0))
		return -EPROTO;
	return r;
}

int vq_packed_push(struct vq *vq, const struct vq_elem *e, uint32_t written)
{
	/* A single push is a batch of one; the batch never writes elems. */
	struct vq_elem *one = (struct vq_elem *)e;
	return vq_packed_push_batch(vq, &one, &written, 1);
}

int vq_packed_push_batch(struct vq *vq, struct vq_elem *const *e,
			 const uint32_t *written, unsigned n)
{
	uint16_t pos[VQ_MAX_SIZE], flags[VQ_MAX_SIZE];
	uint16_t at = vq->next_used;
	bool wrap = vq->used_wrap;
	unsigned total = 0;

	for (unsigned i = 0; i < n; i++) {
		if (e[i]->ndesc == 0 || e[i]->ndesc > vq->cfg.size)
			return -EINVAL;
		total += e[i]->ndesc;
	}
	if (total > vq->cfg.size)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		uint64_t slot = packed_slot(vq, at);
		pos[i] = at;
		flags[i] = wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0;
		if (written[i])
			flags[i] |= VIRTQ_DESC_F_WRITE;
		if (gm_write_u16le(vq->gm, slot + offsetof(struct pvirtq_desc, id),
				   e[i]->id) ||
		    gm_write_u32le(vq->gm, slot + offsetof(struct pvirtq_desc, len),
				   written[i]))
			return vq_break(vq, "descriptor ring unwritable");
		packed_advance(&at, &wrap, e[i]->ndesc, vq->cfg.size);
	}
	/* Release: data, ids and lengths before any flags.  Then the flags of
	 * all but the first, and the first one last after another barrier:
	 * the driver walks used descriptors in order from the first, so it
	 * sees the batch only once all of it is there (§2.8.6, as Linux's
	 * and QEMU's packed flush do). */
	vq_wmb();
	for (unsigned i = n; i-- > 1;)
		if (gm_write_u16le(vq->gm,
				   packed_slot(vq, pos[i]) +
					   offsetof(struct pvirtq_desc, flags),
				   flags[i]))
			return vq_break(vq, "descriptor ring unwritable");
	vq_wmb();
	if (gm_write_u16le(vq->gm,
			   packed_slot(vq, pos[0]) + offsetof(struct pvirtq_desc, flags),
			   flags[0]))
		return vq_break(vq, "descriptor ring unwritable");
	vq->next_used = at;
	vq->used_wrap = wrap;
	vq->used_idx = (uint16_t)(vq->used_idx + total);
	return 0;
}

void vq_packed_unpop(struct vq *vq, const struct vq_elem *e)
{
	uint16_t n = vq->cfg.size;

	if (e->ndesc == 0 || e->ndesc > n)
		return;
	if (vq->next_avail >= e->ndesc) {
		vq->next_avail -= e->ndesc;
	} else {
		vq->next_avail += n - e->ndesc;
		vq->avail_wrap = !vq->avail_wrap;
	}
}

bool vq_packed_should_notify(struct vq *vq)
{
	uint16_t old_count = vq->signalled_used, new_count = vq->used_idx;
	bool valid = vq->signalled_used_valid;
	struct pvirtq_event_suppress ev;
	uint16_t off, new_idx, old;

	/* Full barrier: the used flags we wrote must be visible before we
	 * read the driver's event suppression, mirroring the driver's
	 * write-event/barrier/re-check (§2.8.10, Linux
	 * virtqueue_enable_cb_prepare_packed). */
	vq_mb();
	vq->signalled_used = new_count;
	vq->signalled_used_valid = true;
	if (valid && old_count == new_count)
		return false;
	if (gm_read(vq->gm, vq->cfg.driver, &ev, sizeof(ev)))
		return true; /* when in doubt, interrupt */
	switch (le16toh(ev.flags) & 3) {
	case RING_EVENT_FLAGS_DISABLE:
		return false;
	case RING_EVENT_FLAGS_DESC:
		if (vq->event_idx)
			break;
		return true;
	default: /* ENABLE, or the reserved value 3: interrupt */
		return true;
	}
	/* Event index: interrupt once the used position passes off in the
	 * driver's wrap lap.  Positions are ring slots, so express the old
	 * position and an event from the previous lap as 16-bit offsets
	 * behind the current one (as Linux virtqueue_kick_prepare_packed). */
	off = le16toh(ev.off_wrap) & 0x7fffu;
	new_idx = vq->next_used;
	old = (uint16_t)(new_idx - (uint16_t)(new_count - old_count));
	if ((bool)(le16toh(ev.off_wrap) >> RING_EVENT_WRAP_SHIFT) !=
	    vq->used_wrap)
		off = (uint16_t)(off - vq->cfg.size);
	return !valid || vq_need_event(off, new_idx, old);
}

void vq_packed_set_notification(struct vq *vq, bool enable)
{
	uint16_t flags = RING_EVENT_FLAGS_DISABLE;

	if (enable)
		flags = vq->event_idx ? RING_EVENT_FLAGS_DESC
				      : RING_EVENT_FLAGS_ENABLE;
	if (packed_set_event(vq, flags))
		return;
	/* Full barrier: the event structure must be visible before the
	 * caller re-checks the ring for buffers (see queue.h). */
	if (enable)
		vq_mb();
}

bool vq_packed_has_avail(struct vq *vq)
{
	uint16_t flags;

	if (gm_read_u16le(vq->gm,
			  packed_slot(vq, vq->next_avail) +
				  offsetof(struct pvirtq_desc, flags),
			  &flags))
		return false;
	return packed_is_avail(flags, vq->avail_wrap);
}
