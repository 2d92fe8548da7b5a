/* virtio-blk device model (virtio 1.2 §5.2).  See blk.h.
 *
 * Data moves between the backend and guest buffers segment by segment:
 * straight into the guest page when gm_map() vouches for the whole
 * segment (the bulk path gm is meant for), through a bounded bounce buffer
 * otherwise.  Every guest value is checked before it is used. */
#include "devices/virtio/blk.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/blockdev.h"
#include "core/clk.h"
#include "core/gm.h"
#include "core/log.h"
#include "core/tokenbucket.h"
#include "devices/virtio/virtio.h"

#define BOUNCE_SIZE (128u * 1024u)
#define HDR_LEN sizeof(struct virtio_blk_outhdr)

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
	struct vq_elem *elem;
	uint8_t *bounce;
};

static struct vblk *to_blk(struct vdev *vd)
{
	return vd->priv;
}

/* ---- Data transfer between guest segments and the backend ---- */

/* Walk `len` bytes of the element's readable (out) or writable (in) part
 * starting at byte `off`, moving them to/from the backend at `pos`. */
static int xfer(struct vblk *b, const struct vq_elem *e, bool to_guest,
		uint32_t off, uint64_t len, uint64_t pos)
{
	unsigned first = to_guest ? e->nout : 0;
	unsigned n = to_guest ? e->nin : e->nout;
	for (unsigned i = 0; i < n && len; i++) {
		const struct vq_seg *s = &e->seg[first + i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint64_t gpa = s->gpa + off;
		uint64_t seg_left = s->len - off;
		off = 0;
		while (seg_left && len) {
			size_t chunk = seg_left < len ? seg_left : len;
			void *p = gm_map(b->vd.gm, gpa, chunk, to_guest);
			int r;
			if (p) {
				r = to_guest ? blockdev_read(b->bd, pos, p, chunk)
					     : blockdev_write(b->bd, pos, p, chunk);
			} else {
				if (chunk > BOUNCE_SIZE)
					chunk = BOUNCE_SIZE;
				if (to_guest) {
					r = blockdev_read(b->bd, pos, b->bounce, chunk);
					if (!r)
						r = gm_write(b->vd.gm, gpa, b->bounce, chunk);
				} else {
					r = gm_read(b->vd.gm, gpa, b->bounce, chunk);
					if (!r)
						r = blockdev_write(b->bd, pos, b->bounce, chunk);
				}
			}
			if (r)
				return r;
			gpa += chunk;
			pos += chunk;
			seg_left -= chunk;
			len -= chunk;
		}
	}
	return len ? -EFAULT : 0;
}

/* Sector range check: no overflow, wholly inside the disk. */
static bool range_ok(const struct vblk *b, uint64_t sector, uint64_t bytes)
{
	if (sector > UINT64_MAX / VIRTIO_BLK_SECTOR)
		return false;
	uint64_t off = sector * VIRTIO_BLK_SECTOR;
	return off <= b->bd->size && bytes <= b->bd->size - off;
}

/* size_max (§5.2.4) bounds one segment, and the chain length (at most
 * the queue size) the number of segments: so one request's work is
 * bounded.  A driver that ignores size_max gets an error rather than an
 * unbounded transfer in one entry point. */
static bool within_limits(const struct vq_elem *e, bool is_read)
{
	unsigned first = is_read ? e->nout : 0, n = is_read ? e->nin : e->nout;
	for (unsigned i = 0; i < n; i++)
		if (e->seg[first + i].len > VBLK_SIZE_MAX)
			return false;
	return true;
}

static uint8_t do_rw(struct vblk *b, const struct vq_elem *e, bool is_read,
		     uint64_t sector, uint32_t *written)
{
	/* §5.2.6: IN data is the writable part before the status byte, OUT
	 * data the readable part after the header; both whole sectors. */
	uint64_t len = is_read ? e->in_len - 1u : e->out_len - HDR_LEN;
	if (len % VIRTIO_BLK_SECTOR || !range_ok(b, sector, len)) {
		log_rl(b->log, &b->rl, LOG_WARN,
		       "virtio-blk: %s sector %llu len %llu outside disk or unaligned",
		       is_read ? "read" : "write", (unsigned long long)sector,
		       (unsigned long long)len);
		return VIRTIO_BLK_S_IOERR;
	}
	if (!is_read && b->bd->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!within_limits(e, is_read)) {
		log_rl(b->log, &b->rl, LOG_WARN,
		       "virtio-blk: request beyond size_max/seg_max refused");
		return VIRTIO_BLK_S_IOERR;
	}
	int r = xfer(b, e, is_read, is_read ? 0 : HDR_LEN, len,
		     sector * VIRTIO_BLK_SECTOR);
	if (r) {
		log_rl(b->log, &b->rl, LOG_WARN, "virtio-blk: %s failed: %s",
		       is_read ? "read" : "write", strerror(-r));
		return VIRTIO_BLK_S_IOERR;
	}
	if (is_read) {
		*written = (uint32_t)len;
		b->st.bytes_read += len;
	} else {
		b->st.bytes_written += len;
	}
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct vblk *b, const struct vq_elem *e,
			 uint32_t *written)
{
	/* §5.2.6: up to 20 bytes, NUL-padded; a shorter buffer gets what fits. */
	uint32_t len = e->in_len - 1u;
	if (len > VIRTIO_BLK_ID_BYTES)
		len = VIRTIO_BLK_ID_BYTES;
	if (vq_elem_write(b->vd.gm, e, 0, b->serial, len))
		return VIRTIO_BLK_S_IOERR;
	*written = len;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_discard_zeroes(struct vblk *b, const struct vq_elem *e,
				 bool zeroes)
{
	const size_t segsz = sizeof(struct virtio_blk_discard_write_zeroes);
	uint32_t len = e->out_len - HDR_LEN;
	uint32_t nseg = len / segsz;
	/* §5.2.6.2: at least one segment, no trailing partial one, no more
	 * than max_*_seg. */
	if (len == 0 || len % segsz || nseg > VBLK_MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_UNSUPP;
	if (b->bd->readonly)
		return VIRTIO_BLK_S_IOERR;
	for (uint32_t i = 0; i < nseg; i++) {
		struct virtio_blk_discard_write_zeroes d;
		if (vq_elem_read(b->vd.gm, e, HDR_LEN + i * segsz, &d, sizeof(d)))
			return VIRTIO_BLK_S_IOERR;
		uint64_t sector = le64toh(d.sector);
		uint32_t n = le32toh(d.num_sectors);
		uint32_t flags = le32toh(d.flags);
		/* §5.2.6.2: unknown flag bits, or unmap on a discard. */
		if ((flags & ~VIRTIO_BLK_WZ_UNMAP) || (!zeroes && flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (n > VBLK_MAX_DISCARD_SECTORS)
			return VIRTIO_BLK_S_IOERR;
		uint64_t bytes = (uint64_t)n * VIRTIO_BLK_SECTOR;
		if (!range_ok(b, sector, bytes))
			return VIRTIO_BLK_S_IOERR;
		uint64_t off = sector * VIRTIO_BLK_SECTOR;
		int r = zeroes ? blockdev_write_zeroes(b->bd, off, bytes,
						       flags & VIRTIO_BLK_WZ_UNMAP)
			       : blockdev_discard(b->bd, off, bytes);
		if (r)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Handle one popped chain and push it back: with a status byte, or
 * unwritten (dropped) when there is no writable status byte. */
static void handle_request(struct vblk *b, struct vq *vq, struct vq_elem *e)
{
	struct virtio_blk_outhdr h;
	uint32_t written = 0;
	uint8_t status;

	if (e->in_len == 0) {
		/* Nowhere to put a status: give the chain back unwritten so
		 * the driver's ring does not leak, count it. */
		log_rl(b->log, &b->rl, LOG_WARN,
		       "virtio-blk: request without a status byte dropped");
		b->st.dropped++;
		vq_push(vq, e, 0);
		return;
	}
	if (e->out_len < HDR_LEN || vq_elem_read(b->vd.gm, e, 0, &h, sizeof(h))) {
		log_rl(b->log, &b->rl, LOG_WARN,
		       "virtio-blk: request header shorter than %zu bytes", HDR_LEN);
		status = VIRTIO_BLK_S_IOERR;
	} else {
		uint32_t type = le32toh(h.type);
		uint64_t sector = le64toh(h.sector);
		switch (type) {
		case VIRTIO_BLK_T_IN:
		case VIRTIO_BLK_T_OUT:
			status = do_rw(b, e, type == VIRTIO_BLK_T_IN, sector,
				       &written);
			break;
		case VIRTIO_BLK_T_FLUSH:
			status = blockdev_flush(b->bd) ? VIRTIO_BLK_S_IOERR
						       : VIRTIO_BLK_S_OK;
			break;
		case VIRTIO_BLK_T_GET_ID:
			status = do_get_id(b, e, &written);
			break;
		case VIRTIO_BLK_T_DISCARD:
		case VIRTIO_BLK_T_WRITE_ZEROES:
			status = do_discard_zeroes(b, e,
						   type == VIRTIO_BLK_T_WRITE_ZEROES);
			break;
		default:
			status = VIRTIO_BLK_S_UNSUPP;
			break;
		}
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
	vq_push(vq, e, written + 1);
}

static void process_queue(struct vblk *b)
{
	struct vdev *vd = &b->vd;
	struct vq *vq = &vd->vqs[0];
	bool pushed = false;
	struct vdev_budget bg;

	if (!vdev_live(vd) || b->throttled)
		return;
	vdev_budget_init(&bg);
	for (;;) {
		if (vdev_budget_spent(vd, &bg)) {
			vdev_resume_later(vd, 0);
			break;
		}
		int r = vq_pop(vq, b->elem);
		if (r == 0)
			break;
		if (r < 0) {
			/* The queue layer already returned the bad chain. */
			pushed = true;
			if (r == -EPROTO || vq->broken) {
				vdev_needs_reset(vd, "virtio-blk: broken ring");
				return;
			}
			continue;
		}
		uint64_t now = clk_now_ns(b->clk);
		if (!tokenbucket_reduce(&b->tb, 1, now)) {
			/* Park until a token is there; the request stays in
			 * the ring, in order. */
			vq_unpop(vq, b->elem);
			b->throttled = true;
			b->st.throttled++;
			clk_timer_arm(b->clk, &b->throttle_timer,
				      now + tokenbucket_wait_ns(&b->tb, 1, now));
			break;
		}
		handle_request(b, vq, b->elem);
		vdev_budget_charge(&bg, (uint64_t)b->elem->in_len + b->elem->out_len);
		pushed = true;
	}
	if (pushed)
		vdev_notify_queue(vd, 0);
}

static void throttle_expired(void *arg, uint64_t now)
{
	(void)now;
	struct vblk *b = arg;
	b->throttled = false;
	process_queue(b);
}

/* ---- vdev_ops ---- */

static uint64_t blk_features(struct vdev *vd)
{
	struct vblk *b = to_blk(vd);
	uint64_t f = VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |
		     VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
		     VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		     VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
		     VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
		     VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	if (b->bd->readonly)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	return f;
}

static void fill_config(const struct vblk *b, struct virtio_blk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->capacity = htole64(b->bd->size / VIRTIO_BLK_SECTOR);
	c->size_max = htole32(VBLK_SIZE_MAX);
	/* Two descriptors go to the header and the status (QEMU does the
	 * same), the rest may carry data. */
	c->seg_max = htole32(b->vd.queue_max[0] - 2u);
	c->blk_size = htole32(b->bd->direct ? BLOCKDEV_DIRECT_ALIGN
					    : VIRTIO_BLK_SECTOR);
	c->num_queues = htole16(1);
	c->max_discard_sectors = htole32(VBLK_MAX_DISCARD_SECTORS);
	c->max_discard_seg = htole32(VBLK_MAX_DISCARD_SEG);
	c->discard_sector_alignment = htole32(1);
	c->max_write_zeroes_sectors = htole32(VBLK_MAX_DISCARD_SECTORS);
	c->max_write_zeroes_seg = htole32(VBLK_MAX_DISCARD_SEG);
	c->write_zeroes_may_unmap = 1;
}

static void blk_config_read(struct vdev *vd, uint32_t off, void *data,
			    unsigned len)
{
	struct virtio_blk_config c;
	fill_config(to_blk(vd), &c);
	memcpy(data, (const uint8_t *)&c + off, len);
}

static void blk_config_write(struct vdev *vd, uint32_t off, const void *data,
			     unsigned len)
{
	/* Only `writeback` is writable, and only with CONFIG_WCE, which we
	 * do not offer: the cache mode is fixed (flush is always honoured). */
	(void)data;
	struct vblk *b = to_blk(vd);
	log_rl(b->log, &b->rl, LOG_DEBUG,
	       "virtio-blk: config write at %u len %u ignored", off, len);
}

static int blk_activate(struct vdev *vd)
{
	process_queue(to_blk(vd));
	return 0;
}

static void blk_notify(struct vdev *vd, unsigned q)
{
	if (q == 0)
		process_queue(to_blk(vd));
}

static void blk_reset(struct vdev *vd)
{
	struct vblk *b = to_blk(vd);
	clk_timer_cancel(b->clk, &b->throttle_timer);
	b->throttled = false;
}

static const struct vdev_ops blk_ops = {
	.features = blk_features,
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.activate = blk_activate,
	.notify = blk_notify,
	.reset = blk_reset,
};

struct vblk *vblk_new(const struct vblk_config *cfg)
{
	struct vblk *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->elem = malloc(sizeof(*b->elem));
	b->bounce = malloc(BOUNCE_SIZE);
	if (!b->elem || !b->bounce) {
		vblk_free(b);
		return NULL;
	}
	b->bd = cfg->bd;
	b->clk = cfg->clk;
	b->log = cfg->log;
	if (cfg->serial)
		memcpy(b->serial, cfg->serial,
		       strnlen(cfg->serial, sizeof(b->serial)));
	/* A one-second bucket would allow a full second's burst; a tenth of a
	 * second keeps the short-term rate close to the limit. */
	uint64_t burst = cfg->iops_total / 10 ? cfg->iops_total / 10 : 1;
	if (cfg->iops_total)
		tokenbucket_init(&b->tb, burst, 1000000000ull * burst / cfg->iops_total,
				 clk_now_ns(cfg->clk));
	else
		tokenbucket_init(&b->tb, 0, 0, 0);
	clk_timer_init(&b->throttle_timer, throttle_expired, b);

	struct vdev *vd = &b->vd;
	vd->clk = cfg->clk;
	vd->ops = &blk_ops;
	vd->priv = b;
	vd->device_id = VIRTIO_ID_BLOCK;
	vd->config_size = sizeof(struct virtio_blk_config);
	vd->nqueues = 1;
	vd->queue_max[0] = cfg->queue_size ? cfg->queue_size : VBLK_QUEUE_SIZE;
	vd->gm = cfg->gm;
	vd->log = cfg->log;
	return b;
}

void vblk_free(struct vblk *b)
{
	if (!b)
		return;
	if (b->clk && clk_timer_armed(&b->throttle_timer))
		clk_timer_cancel(b->clk, &b->throttle_timer);
	vdev_resume_cancel(&b->vd);
	free(b->elem);
	free(b->bounce);
	free(b);
}

struct vdev *vblk_vdev(struct vblk *b)
{
	return &b->vd;
}

const struct vblk_stats *vblk_get_stats(const struct vblk *b)
{
	return &b->st;
}
