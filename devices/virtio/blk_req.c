/* One virtio-blk request (virtio 1.2 §5.2.6), executed in bounded slices.
 *
 * Data moves between the backend and guest buffers segment by segment:
 * straight into the guest page when gm_map() vouches for the whole
 * segment (the bulk path gm is meant for), through a bounded bounce buffer
 * otherwise.  Every guest value is checked before it is used.  A request
 * of any size (up to the 4 GiB a chain can describe, or 32 x 2 GiB of
 * write-zeroes) is served a slice per call, so no entry point does
 * unbounded work (virtio.h, VDEV_BUDGET_*). */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "core/blockdev.h"
#include "core/gm.h"
#include "core/log.h"
#include "devices/virtio/blk_priv.h"
#include "devices/virtio/queue_blockdev.h"

#define HDR_LEN sizeof(struct virtio_blk_outhdr)
#define SEG_LEN sizeof(struct virtio_blk_discard_write_zeroes)
/* Slices of reads and writes keep O_DIRECT alignment of the request. */
#define RW_ALIGN BLOCKDEV_DIRECT_ALIGN

/* The element's data to/from the backend through this device's bounce. */
static int xfer(struct vblk *b, const struct vq_elem *e, bool to_guest,
		uint64_t off, uint64_t len, uint64_t pos)
{
	return vq_elem_blockdev_xfer(b->vd.gm, e, to_guest, off, len, b->bd,
				     pos, b->bounce, VBLK_BOUNCE_SIZE);
}

/* Sector range check: no overflow, wholly inside the disk. */
static bool range_ok(const struct vblk *b, uint64_t sector, uint64_t bytes)
{
	if (sector > UINT64_MAX / VIRTIO_BLK_SECTOR)
		return false;
	uint64_t off = sector * VIRTIO_BLK_SECTOR;
	return off <= b->bd->size && bytes <= b->bd->size - off;
}

static bool start_rw(struct vblk *b, struct vblk_slot *s, bool is_read,
		     uint64_t sector)
{
	const struct vq_elem *e = s->elem;
	struct vblk_req *q = &s->req;
	/* §5.2.6: IN data is the writable part before the status byte, OUT
	 * data the readable part after the header; both whole sectors. */
	uint64_t len = is_read ? e->in_len - 1u : e->out_len - HDR_LEN;
	if (len % VIRTIO_BLK_SECTOR || !range_ok(b, sector, len)) {
		log_rl(b->log, &b->rl, LOG_WARN,
		       "virtio-blk: %s sector %llu len %llu outside disk or unaligned",
		       is_read ? "read" : "write", (unsigned long long)sector,
		       (unsigned long long)len);
		q->status = VIRTIO_BLK_S_IOERR;
		return true;
	}
	if (!is_read && b->bd->readonly) {
		q->status = VIRTIO_BLK_S_IOERR;
		return true;
	}
	q->len = len;
	q->done = 0;
	q->pos = sector * VIRTIO_BLK_SECTOR;
	q->active = true;
	return len == 0;
}

static uint64_t slice_rw(struct vblk *b, struct vblk_slot *s, uint64_t budget,
			bool *finished)
{
	struct vblk_req *q = &s->req;
	bool is_read = q->type == VIRTIO_BLK_T_IN;
	uint64_t n = q->len - q->done;
	uint64_t cap = budget - budget % RW_ALIGN;
	if (cap == 0)
		cap = RW_ALIGN;
	if (n > cap)
		n = cap;
	int r = xfer(b, s->elem, is_read, (is_read ? 0 : HDR_LEN) + q->done, n,
		     q->pos + q->done);
	if (r) {
		log_rl(b->log, &b->rl, LOG_WARN, "virtio-blk: %s failed: %s",
		       is_read ? "read" : "write", strerror(-r));
		q->status = VIRTIO_BLK_S_IOERR;
		*finished = true;
		return n;
	}
	q->done += n;
	*finished = q->done == q->len;
	if (*finished) {
		if (is_read) {
			q->written = (uint32_t)q->len;
			b->st.bytes_read += q->len;
		} else {
			b->st.bytes_written += q->len;
		}
	}
	return n;
}

static bool start_discard(struct vblk *b, struct vblk_slot *s)
{
	const struct vq_elem *e = s->elem;
	struct vblk_req *q = &s->req;
	uint32_t len = e->out_len - HDR_LEN;
	/* §5.2.6.2: at least one segment, no trailing partial one, no more
	 * than max_*_seg. */
	if (len == 0 || len % SEG_LEN || len / SEG_LEN > VBLK_MAX_DISCARD_SEG) {
		q->status = VIRTIO_BLK_S_UNSUPP;
		return true;
	}
	if (b->bd->readonly) {
		q->status = VIRTIO_BLK_S_IOERR;
		return true;
	}
	q->nseg = len / SEG_LEN;
	q->seg = 0;
	q->seg_loaded = false;
	q->active = true;
	return false;
}

/* Read and check segment q->seg (§5.2.6.2); false with status set when
 * it is refused. */
static bool load_seg(struct vblk *b, struct vblk_slot *s)
{
	struct vblk_req *q = &s->req;
	bool zeroes = q->type == VIRTIO_BLK_T_WRITE_ZEROES;
	struct virtio_blk_discard_write_zeroes d;
	if (vq_elem_read(b->vd.gm, s->elem, HDR_LEN + q->seg * SEG_LEN, &d,
			 sizeof(d))) {
		q->status = VIRTIO_BLK_S_IOERR;
		return false;
	}
	uint64_t sector = le64toh(d.sector);
	uint32_t n = le32toh(d.num_sectors);
	uint32_t flags = le32toh(d.flags);
	/* Unknown flag bits, or unmap on a discard. */
	if ((flags & ~VIRTIO_BLK_WZ_UNMAP) || (!zeroes && flags)) {
		q->status = VIRTIO_BLK_S_UNSUPP;
		return false;
	}
	uint64_t bytes = (uint64_t)n * VIRTIO_BLK_SECTOR;
	if (n > VBLK_MAX_DISCARD_SECTORS || !range_ok(b, sector, bytes)) {
		q->status = VIRTIO_BLK_S_IOERR;
		return false;
	}
	q->seg_pos = sector * VIRTIO_BLK_SECTOR;
	q->seg_left = bytes;
	q->unmap = flags & VIRTIO_BLK_WZ_UNMAP;
	q->seg_loaded = true;
	return true;
}

static uint64_t slice_discard(struct vblk *b, struct vblk_slot *s, bool *finished)
{
	struct vblk_req *q = &s->req;
	*finished = false;
	if (!q->seg_loaded && !load_seg(b, s)) {
		*finished = true;
		return 0;
	}
	uint64_t n = q->seg_left < VBLK_ZERO_SLICE ? q->seg_left : VBLK_ZERO_SLICE;
	int r = 0;
	if (n)
		r = q->type == VIRTIO_BLK_T_WRITE_ZEROES ?
			blockdev_write_zeroes(b->bd, q->seg_pos, n, q->unmap) :
			blockdev_discard(b->bd, q->seg_pos, n);
	if (r) {
		q->status = VIRTIO_BLK_S_IOERR;
		*finished = true;
		return n;
	}
	q->seg_pos += n;
	q->seg_left -= n;
	if (q->seg_left == 0) {
		q->seg_loaded = false;
		*finished = ++q->seg == q->nseg;
	}
	/* A large segment is one VBLK_ZERO_SLICE per entry (it spends the
	 * budget); small ones share an entry. */
	return n;
}

bool vblk_req_start(struct vblk *b, struct vblk_slot *s)
{
	const struct vq_elem *e = s->elem;
	struct vblk_req *q = &s->req;
	struct virtio_blk_outhdr h;

	memset(q, 0, sizeof(*q));
	q->status = VIRTIO_BLK_S_OK;
	if (e->in_len == 0)
		return true; /* no status byte: vblk_req_complete drops it */
	if (e->out_len < HDR_LEN || vq_elem_read(b->vd.gm, e, 0, &h, sizeof(h))) {
		log_rl(b->log, &b->rl, LOG_WARN,
		       "virtio-blk: request header shorter than %zu bytes", HDR_LEN);
		q->status = VIRTIO_BLK_S_IOERR;
		return true;
	}
	q->type = le32toh(h.type);
	switch (q->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return start_rw(b, s, q->type == VIRTIO_BLK_T_IN, le64toh(h.sector));
	case VIRTIO_BLK_T_FLUSH:
		q->status = blockdev_flush(b->bd) ? VIRTIO_BLK_S_IOERR
						  : VIRTIO_BLK_S_OK;
		return true;
	case VIRTIO_BLK_T_GET_ID: {
		/* §5.2.6: up to 20 bytes, NUL-padded; a shorter buffer gets
		 * what fits. */
		uint32_t len = e->in_len - 1u;
		if (len > VIRTIO_BLK_ID_BYTES)
			len = VIRTIO_BLK_ID_BYTES;
		if (vq_elem_write(b->vd.gm, e, 0, b->serial, len))
			q->status = VIRTIO_BLK_S_IOERR;
		else
			q->written = len;
		return true;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return start_discard(b, s);
	default:
		q->status = VIRTIO_BLK_S_UNSUPP;
		return true;
	}
}

bool vblk_req_slice(struct vblk *b, struct vblk_slot *s, uint64_t budget,
		    uint64_t *moved)
{
	bool finished = true;
	*moved = 0;
	if (!s->req.active)
		return true;
	if (s->req.type == VIRTIO_BLK_T_IN || s->req.type == VIRTIO_BLK_T_OUT)
		*moved = s->req.len ? slice_rw(b, s, budget, &finished) : 0;
	else
		*moved = slice_discard(b, s, &finished);
	return finished;
}

void vblk_req_complete(struct vblk *b, struct vblk_slot *s, struct vq *vq)
{
	struct vq_elem *e = s->elem;
	struct vblk_req *q = &s->req;
	uint8_t status = q->status;
	q->active = false;
	if (e->in_len == 0) {
		/* Nowhere to put a status: give the chain back unwritten so
		 * the driver's ring does not leak, count it. */
		log_rl(b->log, &b->rl, LOG_WARN,
		       "virtio-blk: request without a status byte dropped");
		b->st.dropped++;
		vq_push(vq, e, 0);
		return;
	}
	/* The status is the last writable byte (§5.2.6). */
	if (vq_elem_write(b->vd.gm, e, e->in_len - 1u, &status, 1)) {
		log_rl(b->log, &b->rl, LOG_WARN,
		       "virtio-blk: status byte not writable, request dropped");
		b->st.dropped++;
		vq_push(vq, e, 0);
		return;
	}
	b->st.requests++;
	if (status == VIRTIO_BLK_S_OK)
		b->st.ok++;
	else if (status == VIRTIO_BLK_S_IOERR)
		b->st.ioerr++;
	else
		b->st.unsupp++;
	vq_push(vq, e, (status == VIRTIO_BLK_S_OK ? q->written : 0) + 1);
}
