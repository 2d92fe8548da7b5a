/* Guest-driver side of split and packed virtqueues in sim memory (see
 * vdriver_queue.h).  Follows Linux drivers/virtio/virtio_ring.c in what it
 * writes and in which order, so the device code is tested against what a
 * real driver does; every offset comes from offsetof on the spec structs. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include "core/gm.h"
#include "devices/virtio/virtio.h"
#include "vdriver_queue.h"

#define VDQ_ALIGN(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

/* Same barriers as the device side: a driver on another CPU. */
#define vdq_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define vdq_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define vdq_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

static bool vdq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

static size_t vdq_ring_size(uint16_t size, bool packed)
{
	if (packed)
		return sizeof(struct pvirtq_desc) * (size_t)size +
		       2 * sizeof(struct pvirtq_event_suppress);
	return VDQ_ALIGN(VIRTQ_DESC_BYTES(size) + VIRTQ_AVAIL_BYTES(size), 4) +
	       VIRTQ_USED_BYTES(size);
}

size_t vdq_mem_size(uint16_t size, bool packed)
{
	return VDQ_ALIGN(vdq_ring_size(size, packed), 16) +
	       (size_t)size * VDQ_IND_MAX * sizeof(struct virtq_desc);
}

/* The legacy virtio-pci layout (virtio 1.2 §2.7.2's legacy note, Linux
 * vring_init with VIRTIO_PCI_VRING_ALIGN): the used ring starts on the
 * next 4096-byte boundary after the available ring. */
#define VDQ_LEGACY_ALIGN 4096u

static size_t vdq_legacy_ring_size(uint16_t size)
{
	return VDQ_ALIGN(VIRTQ_DESC_BYTES(size) + VIRTQ_AVAIL_BYTES(size),
			 VDQ_LEGACY_ALIGN) + VIRTQ_USED_BYTES(size);
}

size_t vdq_mem_size_legacy(uint16_t size)
{
	return VDQ_ALIGN(vdq_legacy_ring_size(size), 16) +
	       (size_t)size * VDQ_IND_MAX * sizeof(struct virtq_desc);
}

static int vdq_setup(struct vdq *q, const struct gm *gm, uint64_t base,
		     uint16_t size, uint64_t features, bool legacy);

int vdq_init(struct vdq *q, const struct gm *gm, uint64_t base,
	     uint16_t size, uint64_t features)
{
	return vdq_setup(q, gm, base, size, features, false);
}

int vdq_init_legacy(struct vdq *q, const struct gm *gm, uint64_t base,
		    uint16_t size, uint64_t features)
{
	if (base & (VDQ_LEGACY_ALIGN - 1))
		return -EINVAL;
	return vdq_setup(q, gm, base, size,
			 features & ~VIRTIO_BIT(VIRTIO_F_RING_PACKED), true);
}

static int vdq_setup(struct vdq *q, const struct gm *gm, uint64_t base,
		     uint16_t size, uint64_t features, bool legacy)
{
	unsigned i;

	memset(q, 0, sizeof(*q));
	q->packed = (features >> VIRTIO_F_RING_PACKED) & 1;
	q->event_idx = (features >> VIRTIO_F_EVENT_IDX) & 1;
	q->indirect = (features >> VIRTIO_F_INDIRECT_DESC) & 1;
	if (size == 0 || size > VQ_MAX_SIZE || (base & 15) ||
	    (!q->packed && (size & (size - 1))))
		return -EINVAL;
	q->gm = gm;
	q->size = size;
	q->desc = base;
	if (q->packed) {
		q->driver = base + sizeof(struct pvirtq_desc) * (size_t)size;
		q->device = q->driver + sizeof(struct pvirtq_event_suppress);
	} else {
		q->driver = base + VIRTQ_DESC_BYTES(size);
		q->device = VDQ_ALIGN(q->driver + VIRTQ_AVAIL_BYTES(size),
				      legacy ? VDQ_LEGACY_ALIGN : 4);
	}
	size_t ring = legacy ? vdq_legacy_ring_size(size) : vdq_ring_size(size, q->packed);
	q->ind_base = VDQ_ALIGN(base + ring, 16);
	if (gm_fill(gm, base, 0, legacy ? vdq_mem_size_legacy(size) :
					  vdq_mem_size(size, q->packed)))
		return -EFAULT;
	q->num_free = size;
	for (i = 0; i < size; i++) {
		q->next[i] = (uint16_t)(i + 1);
		q->ids[i] = (uint16_t)(size - 1 - i); /* pop gives 0 first */
	}
	q->nfree_ids = size;
	/* §2.8.1: both wrap counters start at 1. */
	q->avail_wrap = q->used_wrap = true;
	return 0;
}

void vdq_config(const struct vdq *q, struct vq_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = q->size;
	cfg->ready = true;
	cfg->desc = q->desc;
	cfg->driver = q->driver;
	cfg->device = q->device;
}

static uint64_t vdq_table_of(const struct vdq *q, uint16_t id)
{
	return q->ind_base + (uint64_t)id * VDQ_IND_MAX * sizeof(struct virtq_desc);
}

int vdq_raw_table(struct vdq *q, uint64_t table, uint16_t i, uint64_t addr,
		  uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t at = table + (uint64_t)i * sizeof(struct virtq_desc);

	if (q->packed) {
		struct pvirtq_desc d = { htole64(addr), htole32(len),
					 htole16(next), htole16(flags) };
		return gm_write(q->gm, at, &d, sizeof(d));
	} else {
		struct virtq_desc d = { htole64(addr), htole32(len),
					htole16(flags), htole16(next) };
		return gm_write(q->gm, at, &d, sizeof(d));
	}
}

int vdq_raw_desc(struct vdq *q, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next_or_id)
{
	if (i >= q->size)
		return -EINVAL;
	return vdq_raw_table(q, q->desc, i, addr, len, flags, next_or_id);
}

int vdq_raw_avail(struct vdq *q, uint16_t head)
{
	uint64_t at = q->driver + offsetof(struct virtq_avail, ring) +
		      sizeof(uint16_t) * (q->avail_idx % q->size);
	int r = gm_write_u16le(q->gm, at, head);

	if (r == 0) {
		q->avail_idx++;
		q->num_added++;
	}
	return r;
}

int vdq_raw_avail_idx(struct vdq *q, uint16_t idx)
{
	return gm_write_u16le(q->gm, q->driver + offsetof(struct virtq_avail, idx),
			      idx);
}

static uint16_t vdq_avail_bits(bool wrap)
{
	/* §2.8.1: available = AVAIL bit equal to the wrap counter, USED bit
	 * the inverse. */
	return wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
}

uint16_t vdq_packed_avail_bits(const struct vdq *q)
{
	return vdq_avail_bits(q->avail_wrap);
}

static void vdq_packed_step(uint16_t *pos, bool *wrap, uint16_t size)
{
	if (++*pos == size) {
		*pos = 0;
		*wrap = !*wrap;
	}
}

int vdq_raw_packed(struct vdq *q, uint64_t addr, uint32_t len, uint16_t id,
		   uint16_t flags)
{
	int r = vdq_raw_desc(q, q->next_avail, addr, len,
			     flags | vdq_avail_bits(q->avail_wrap), id);

	if (r == 0) {
		vdq_packed_step(&q->next_avail, &q->avail_wrap, q->size);
		q->num_added++;
	}
	return r;
}

static int vdq_write_indirect(struct vdq *q, uint16_t id,
			      const struct vdq_buf *b, unsigned n)
{
	uint64_t table = vdq_table_of(q, id);
	unsigned j;

	for (j = 0; j < n; j++) {
		uint16_t fl = b[j].write ? VIRTQ_DESC_F_WRITE : 0;

		/* Split tables chain through next (§2.7.5.3); packed ones
		 * are plain arrays (§2.8.7). */
		if (!q->packed && j + 1 < n)
			fl |= VIRTQ_DESC_F_NEXT;
		if (vdq_raw_table(q, table, (uint16_t)j, b[j].gpa, b[j].len, fl,
				  q->packed ? 0 : (uint16_t)(j + 1)))
			return -EFAULT;
	}
	return 0;
}

static int vdq_add_split(struct vdq *q, const struct vdq_buf *b, unsigned n,
			 bool indirect)
{
	unsigned need = indirect ? 1 : n, j;
	uint16_t head = q->free_head, i = head;

	if (q->num_free < need)
		return -ENOSPC;
	if (indirect) {
		if (vdq_write_indirect(q, head, b, n) ||
		    vdq_raw_desc(q, head, vdq_table_of(q, head),
				 n * sizeof(struct virtq_desc),
				 VIRTQ_DESC_F_INDIRECT, 0))
			return -EFAULT;
		i = q->next[head];
	} else {
		for (j = 0; j < n; j++) {
			uint16_t fl = b[j].write ? VIRTQ_DESC_F_WRITE : 0;

			if (j + 1 < n)
				fl |= VIRTQ_DESC_F_NEXT;
			if (vdq_raw_desc(q, i, b[j].gpa, b[j].len, fl,
					 q->next[i]))
				return -EFAULT;
			i = q->next[i];
		}
	}
	q->free_head = i;
	q->num_free -= need;
	q->ndesc[head] = need;
	q->in_use[head] = true;
	if (vdq_raw_avail(q, head))
		return -EFAULT;
	return head;
}

static int vdq_add_packed(struct vdq *q, const struct vdq_buf *b, unsigned n,
			  bool indirect)
{
	unsigned need = indirect ? 1 : n, j;
	uint16_t id, pos, head_flags = 0;
	uint64_t head_at = q->desc + (uint64_t)q->next_avail *
					     sizeof(struct pvirtq_desc);
	bool wrap;

	if (q->num_free < need || q->nfree_ids == 0)
		return -ENOSPC;
	id = q->ids[q->nfree_ids - 1];
	if (indirect) {
		if (vdq_write_indirect(q, id, b, n) ||
		    vdq_raw_desc(q, q->next_avail, vdq_table_of(q, id),
				 n * sizeof(struct pvirtq_desc), 0, id))
			return -EFAULT;
		head_flags = VIRTQ_DESC_F_INDIRECT;
	} else {
		/* Every descriptor but the head gets its final flags now;
		 * the head's flags go last, below. */
		pos = q->next_avail;
		wrap = q->avail_wrap;
		for (j = 0; j < n; j++) {
			uint16_t fl = b[j].write ? VIRTQ_DESC_F_WRITE : 0;

			if (j + 1 < n)
				fl |= VIRTQ_DESC_F_NEXT;
			if (j == 0)
				head_flags = fl;
			if (vdq_raw_desc(q, pos, b[j].gpa, b[j].len,
					 j ? fl | vdq_avail_bits(wrap) : 0, id))
				return -EFAULT;
			vdq_packed_step(&pos, &wrap, q->size);
		}
	}
	/* The head's flags make the whole chain available, so they are
	 * written last, after a write barrier (§2.8 "Updating flags"). */
	vdq_wmb();
	if (gm_write_u16le(q->gm, head_at + offsetof(struct pvirtq_desc, flags),
			   head_flags | vdq_avail_bits(q->avail_wrap)))
		return -EFAULT;
	for (j = 0; j < need; j++)
		vdq_packed_step(&q->next_avail, &q->avail_wrap, q->size);
	q->nfree_ids--;
	q->num_free -= need;
	q->num_added += need;
	q->ndesc[id] = need;
	q->in_use[id] = true;
	return id;
}

int vdq_add(struct vdq *q, const struct vdq_buf *bufs, unsigned n,
	    bool indirect)
{
	if (n == 0 || (indirect && n > VDQ_IND_MAX) || n > q->size)
		return -EINVAL;
	return q->packed ? vdq_add_packed(q, bufs, n, indirect)
			 : vdq_add_split(q, bufs, n, indirect);
}

void vdq_publish(struct vdq *q)
{
	if (q->packed)
		return;
	/* Ring entries and descriptors before the index (§2.7.13). */
	vdq_wmb();
	vdq_raw_avail_idx(q, q->avail_idx);
}

bool vdq_kick_prepare(struct vdq *q)
{
	uint16_t added = q->num_added, v;

	q->num_added = 0;
	/* Our index/flags stores before reading the device's suppression
	 * (Linux virtqueue_kick_prepare). */
	vdq_mb();
	if (q->packed) {
		struct pvirtq_event_suppress ev;
		uint16_t off, old;

		if (gm_read(q->gm, q->device, &ev, sizeof(ev)))
			return true;
		if ((le16toh(ev.flags) & 3) == RING_EVENT_FLAGS_DISABLE)
			return false;
		if ((le16toh(ev.flags) & 3) != RING_EVENT_FLAGS_DESC ||
		    !q->event_idx)
			return true;
		off = le16toh(ev.off_wrap) & 0x7fffu;
		if ((bool)(le16toh(ev.off_wrap) >> RING_EVENT_WRAP_SHIFT) !=
		    q->avail_wrap)
			off = (uint16_t)(off - q->size);
		old = (uint16_t)(q->next_avail - added);
		return vdq_need_event(off, q->next_avail, old);
	}
	if (q->event_idx) {
		if (gm_read_u16le(q->gm,
				  q->device + VIRTQ_AVAIL_EVENT_OFF(q->size), &v))
			return true;
		return vdq_need_event(v, q->avail_idx,
				      (uint16_t)(q->avail_idx - added));
	}
	if (gm_read_u16le(q->gm, q->device + offsetof(struct virtq_used, flags),
			  &v))
		return true;
	return !(v & VIRTQ_USED_F_NO_NOTIFY);
}

static void vdq_free_split(struct vdq *q, uint16_t head)
{
	uint16_t last = head;
	unsigned k;

	for (k = 1; k < q->ndesc[head]; k++)
		last = q->next[last];
	q->next[last] = q->free_head;
	q->free_head = head;
	q->num_free += q->ndesc[head];
}

static void vdq_set_used_event(struct vdq *q)
{
	if (q->packed) {
		struct pvirtq_event_suppress ev;

		ev.off_wrap = htole16(q->next_used |
				      (uint16_t)(q->used_wrap
						 << RING_EVENT_WRAP_SHIFT));
		ev.flags = htole16(q->event_idx ? RING_EVENT_FLAGS_DESC
						: RING_EVENT_FLAGS_ENABLE);
		gm_write(q->gm, q->driver, &ev, sizeof(ev));
	} else if (q->event_idx) {
		gm_write_u16le(q->gm, q->driver + VIRTQ_USED_EVENT_OFF(q->size),
			       q->last_used);
	}
}

int vdq_get_used(struct vdq *q, uint16_t *id, uint32_t *len)
{
	uint32_t uid, ulen;

	if (q->packed) {
		uint64_t at = q->desc +
			      (uint64_t)q->next_used * sizeof(struct pvirtq_desc);
		uint16_t fl, id16;
		unsigned k;

		if (gm_read_u16le(q->gm, at + offsetof(struct pvirtq_desc, flags),
				  &fl))
			return -EPROTO;
		/* §2.8.1: used = AVAIL and USED both equal our wrap. */
		if ((bool)(fl & VIRTQ_DESC_F_AVAIL) != q->used_wrap ||
		    (bool)(fl & VIRTQ_DESC_F_USED) != q->used_wrap)
			return 0;
		vdq_rmb();
		if (gm_read_u16le(q->gm, at + offsetof(struct pvirtq_desc, id),
				  &id16) ||
		    gm_read_u32le(q->gm, at + offsetof(struct pvirtq_desc, len),
				  &ulen))
			return -EPROTO;
		if (id16 >= q->size || !q->in_use[id16])
			return -EPROTO;
		for (k = 0; k < q->ndesc[id16]; k++)
			vdq_packed_step(&q->next_used, &q->used_wrap, q->size);
		q->num_free += q->ndesc[id16];
		q->ids[q->nfree_ids++] = id16;
		uid = id16;
	} else {
		uint16_t idx;
		struct virtq_used_elem e;

		if (gm_read_u16le(q->gm,
				  q->device + offsetof(struct virtq_used, idx),
				  &idx))
			return -EPROTO;
		if (idx == q->last_used)
			return 0;
		/* Read the element only after seeing idx (§2.7.14). */
		vdq_rmb();
		if (gm_read(q->gm,
			    q->device + offsetof(struct virtq_used, ring) +
				    sizeof(e) * (q->last_used % q->size),
			    &e, sizeof(e)))
			return -EPROTO;
		uid = le32toh(e.id);
		ulen = le32toh(e.len);
		if (uid >= q->size || !q->in_use[uid])
			return -EPROTO;
		q->last_used++;
		vdq_free_split(q, (uint16_t)uid);
	}
	q->in_use[uid] = false;
	*id = (uint16_t)uid;
	*len = ulen;
	/* Linux keeps used_event at last_used while callbacks are on. */
	if (!q->intr_off && q->event_idx)
		vdq_set_used_event(q);
	return 1;
}

void vdq_intr_enable(struct vdq *q, bool enable)
{
	q->intr_off = !enable;
	if (q->packed) {
		if (enable) {
			vdq_set_used_event(q);
		} else {
			struct pvirtq_event_suppress ev = {
				0, htole16(RING_EVENT_FLAGS_DISABLE)
			};
			gm_write(q->gm, q->driver, &ev, sizeof(ev));
		}
	} else {
		/* Without EVENT_IDX the flag is the only control; with it
		 * the device ignores the flag and reads used_event. */
		gm_write_u16le(q->gm, q->driver + offsetof(struct virtq_avail, flags),
			       enable ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT);
		if (enable)
			vdq_set_used_event(q);
	}
	/* Event stores before the caller re-checks for used buffers. */
	if (enable)
		vdq_mb();
}

unsigned vdq_outstanding(const struct vdq *q)
{
	unsigned i, n = 0;

	for (i = 0; i < q->size; i++)
		n += q->in_use[i];
	return n;
}
