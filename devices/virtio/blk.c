/* virtio-blk device model (virtio 1.2 §5.2): configuration, the queue
 * loop and throttling.  See blk.h; one request's execution is in
 * blk_req.c. */
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
#include "devices/virtio/blk_priv.h"
#include "devices/virtio/virtio.h"

static struct vblk *to_blk(struct vdev *vd)
{
	return vd->priv;
}

/* Serve queue q: first the request left half done by the last call, then
 * new ones, within one entry point's budget (virtio.h), until the ring is
 * empty or the iops bucket runs dry. */
static void process_queue(struct vblk *b, unsigned q)
{
	struct vdev *vd = &b->vd;
	struct vq *vq = &vd->vqs[q];
	struct vblk_slot *s = &b->slot[q];
	bool pushed = false;
	struct vdev_budget bg;

	if (!vdev_live(vd) || b->throttled)
		return;
	vdev_budget_init(&bg);
	for (;;) {
		if (vdev_budget_spent(vd, &bg)) {
			vdev_resume_later(vd, q);
			break;
		}
		if (!s->req.active) {
			int r = vdev_pop(vd, vq, s->elem, &pushed,
					 "virtio-blk: broken ring");
			if (r == 0)
				break;
			if (r == -EPROTO)
				return;
			if (r < 0)
				continue;
			uint64_t now = clk_now_ns(b->clk);
			if (!tokenbucket_reduce(&b->tb, 1, now)) {
				/* Park until a token is there; the request
				 * stays in the ring, in order. */
				vq_unpop(vq, s->elem);
				b->throttled = true;
				b->st.throttled++;
				clk_timer_arm(b->clk, &b->throttle_timer,
					      now + tokenbucket_wait_ns(&b->tb, 1, now));
				break;
			}
			if (vblk_req_start(b, s)) {
				vblk_req_complete(b, s, vq);
				vdev_budget_charge(&bg, 0);
				pushed = true;
				continue;
			}
		}
		/* Without a clock there is no resuming: do it all now. */
		uint64_t left = vd->clk ? VDEV_BUDGET_BYTES - bg.bytes : UINT64_MAX;
		uint64_t moved;
		bool done = vblk_req_slice(b, s, left, &moved);
		bg.bytes += moved;
		if (done) {
			vblk_req_complete(b, s, vq);
			vdev_budget_charge(&bg, 0);
			pushed = true;
		}
	}
	if (pushed)
		vdev_notify_queue(vd, q);
}

/* Every request queue (VIRTIO_BLK_F_MQ, §5.2.5: num_queues of them, all
 * alike); one iops bucket covers the device as QEMU's throttle group
 * covers the drive.  Without MQ the driver uses queue 0 only. */
static void process_all(struct vblk *b)
{
	unsigned n = vdev_has(&b->vd, VIRTIO_BLK_F_MQ) ? b->vd.nqueues : 1;
	for (unsigned q = 0; q < n && !b->throttled; q++)
		process_queue(b, q);
}

static void throttle_expired(void *arg, uint64_t now)
{
	(void)now;
	struct vblk *b = arg;
	b->throttled = false;
	process_all(b);
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
	if (vd->nqueues > 1)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_MQ);
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
	c->num_queues = htole16((uint16_t)b->vd.nqueues);
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
	process_all(to_blk(vd));
	return 0;
}

static void blk_notify(struct vdev *vd, unsigned q)
{
	if (q < vd->nqueues)
		process_queue(to_blk(vd), q);
}

static void blk_reset(struct vdev *vd)
{
	struct vblk *b = to_blk(vd);
	clk_timer_cancel(b->clk, &b->throttle_timer);
	b->throttled = false;
	/* A request half done belongs to the old ring: forget it. */
	for (unsigned q = 0; q < VDEV_MAX_QUEUES; q++)
		b->slot[q].req.active = false;
}

static const struct vdev_ops blk_ops = {
	.features = blk_features,
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.activate = blk_activate,
	.notify = blk_notify,
	.reset = blk_reset,
	.save = vblk_save,
	.load = vblk_load,
};

struct vblk *vblk_new(const struct vblk_config *cfg)
{
	struct vblk *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	unsigned nq = cfg->num_queues ? cfg->num_queues : 1;
	b->bounce = malloc(VBLK_BOUNCE_SIZE);
	if (!b->bounce || nq > VDEV_MAX_QUEUES) {
		vblk_free(b);
		return NULL;
	}
	for (unsigned q = 0; q < nq; q++) {
		b->slot[q].elem = malloc(sizeof(*b->slot[q].elem));
		if (!b->slot[q].elem) {
			vblk_free(b);
			return NULL;
		}
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
	vd->nqueues = nq;
	for (unsigned q = 0; q < nq; q++)
		vd->queue_max[q] = cfg->queue_size ? cfg->queue_size : VBLK_QUEUE_SIZE;
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
	for (unsigned q = 0; q < VDEV_MAX_QUEUES; q++)
		free(b->slot[q].elem);
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
