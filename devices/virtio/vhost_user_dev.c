/* vhost-user-blk and vhost-user-fs device models (vhost_user_dev.h). */
#include "devices/virtio/vhost_user_dev.h"
#include "devices/virtio/vhost_user_priv.h"
#include "core/vhost_user.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_CFG_SIZE 60      /* through write_zeroes_may_unmap */
#define VIRTIO_BLK_CFG_NUMQ_OFF 34  /* num_queues, u16 (§5.2.4) */
#define VIRTIO_FS_CFG_SIZE 40       /* tag[36], num_request_queues (§5.11.4) */

/* Feature bits a vhost-user-blk frontend passes through from the backend
 * (QEMU's user_feature_bits): SIZE_MAX 1, SEG_MAX 2, GEOMETRY 4, RO 5,
 * BLK_SIZE 6, FLUSH 9, TOPOLOGY 10, CONFIG_WCE 11, MQ 12, DISCARD 13,
 * WRITE_ZEROES 14. */
#define VHUD_BLK_FEATURES 0x7e76ull

static struct vhud *of(struct vdev *vd)
{
	return vd->priv;
}

static uint64_t vhud_features(struct vdev *vd)
{
	struct vhud *d = of(vd);
	uint64_t f = vhu_features(d->c);
	if (d->kind == VHUD_BLK) {
		f &= VHUD_BLK_FEATURES;
		if (vd->nqueues > 1)
			f |= 1ull << VIRTIO_BLK_F_MQ;
		return f;
	}
	return 0;   /* virtio-fs has no device feature bits (§5.11.3) */
}

static void vhud_config_read(struct vdev *vd, uint32_t off, void *data,
			     unsigned len)
{
	memcpy(data, of(vd)->config + off, len);
}

static void vhud_config_write(struct vdev *vd, uint32_t off, const void *data,
			      unsigned len)
{
	struct vhud *d = of(vd);
	/* blk: writeback (§5.2.4, CONFIG_WCE) is the backend's to apply;
	 * fs config is read-only. */
	if (d->kind != VHUD_BLK)
		return;
	memcpy(d->config + off, data, len);
	/* A failure breaks the connection, which resets the device. */
	(void)vhu_set_config(d->c, off, data, len);
}

/* Each started queue's calls go straight to its MSI message when the
 * transport has a live one and the host can bind it (KVM irqfd), else
 * through the connection's call handler (vhud_call): re-read whenever
 * the vectors may have changed, and on start, stop and breakage. */
void vhud_route(struct vhud *d)
{
	struct vdev *vd = &d->vd;
	for (unsigned q = 0; q < vd->nqueues && q < VHU_MAX_QUEUES; q++) {
		uint64_t addr = 0;
		uint32_t data = 0;
		bool on = d->started && !(vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) &&
			  !vhu_is_broken(d->c) && vd->vqs[q].cfg.ready && vd->tops &&
			  vd->tops->queue_msi &&
			  vd->tops->queue_msi(vd->transport, q, &addr, &data) == 0;
		vhu_route_call(d->c, q, on, addr, data);
	}
}

static void vhud_vectors_changed(struct vdev *vd)
{
	vhud_route(of(vd));
}

static int vhud_activate(struct vdev *vd)
{
	struct vhud *d = of(vd);
	struct vhu_vring r[VDEV_MAX_QUEUES];
	memset(r, 0, sizeof(r));
	if (vhu_is_broken(d->c))
		return -1;
	for (unsigned q = 0; q < vd->nqueues; q++) {
		const struct vq_config *qc = &vd->vqs[q].cfg;
		if (!qc->ready)
			continue;
		r[q] = (struct vhu_vring){ qc->size, qc->desc, qc->driver,
					   qc->device, 0 };
	}
	/* Ring features the guest took go to the backend with the device's
	 * own (VERSION_1, EVENT_IDX, INDIRECT_DESC, RING_PACKED). */
	d->started = true;
	d->restart = false;
	if (vhu_start(d->c, vd->gm, vd->features, vd->nqueues, r) < 0)
		return -1;
	vhud_route(d);
	return 0;
}

static void vhud_notify(struct vdev *vd, unsigned q)
{
	vhu_kick(of(vd)->c, q);
}

static void vhud_reset(struct vdev *vd)
{
	struct vhud *d = of(vd);
	if (d->started)
		vhu_stop(d->c);   /* GET_VRING_BASE: the backend stops */
	d->started = false;
	d->restart = false;   /* rings a save stopped stay stopped */
	vhud_route(d);
}

static const struct vdev_ops vhud_ops = {
	.features = vhud_features,
	.config_read = vhud_config_read,
	.config_write = vhud_config_write,
	.activate = vhud_activate,
	.notify = vhud_notify,
	.reset = vhud_reset,
	.vectors_changed = vhud_vectors_changed,
	.save = vhud_save,
	.load = vhud_load,
	.resume = vhud_resume,
};

/* The backend used buffers: interrupt the driver.  The backend already
 * applied the driver's suppression (EVENT_IDX) before signalling. */
static void vhud_call(void *opaque, unsigned q)
{
	struct vhud *d = opaque;
	struct vdev *vd = &d->vd;
	if (q >= vd->nqueues || !(vd->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return;
	if (vd->tops && vd->tops->notify_queue)
		vd->tops->notify_queue(vd->transport, q);
}

static void vhud_broken(void *opaque, const char *why)
{
	struct vhud *d = opaque;
	vdev_needs_reset(&d->vd, why);
	vhud_route(d);
}

struct vhud *vhud_new(const struct gm *gm, struct log *log, struct vhu *c,
		      const struct vhud_cfg *cfg, char *err, size_t errlen)
{
	struct vhud *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "vmm: out of memory");
		return NULL;
	}
	d->c = c;
	d->kind = cfg->kind;
	d->vd.ops = &vhud_ops;
	d->vd.priv = d;
	d->vd.gm = gm;
	d->vd.log = log;
	d->vd.transport_mask = vhu_features(c) | (1ull << 63);
	unsigned nq = cfg->queues ? cfg->queues : 1;
	uint16_t qs = (uint16_t)(cfg->queue_size ? cfg->queue_size :
				 cfg->kind == VHUD_FS ? 128 : 256);
	if (cfg->kind == VHUD_BLK) {
		uint32_t bq = vhu_queue_num(c);
		if (bq && nq > bq) {
			snprintf(err, errlen, "vmm: -device %s: num-queues=%u but the backend has %u",
				 cfg->id, nq, bq);
			goto fail;
		}
		d->vd.device_id = VIRTIO_ID_BLOCK;
		d->vd.config_size = VIRTIO_BLK_CFG_SIZE;
		if (vhu_get_config(c, 0, d->config, VIRTIO_BLK_CFG_SIZE) < 0) {
			snprintf(err, errlen, "vmm: -device %s: the vhost-user backend gives no config space (GET_CONFIG)",
				 cfg->id);
			goto fail;
		}
		d->config[VIRTIO_BLK_CFG_NUMQ_OFF] = (uint8_t)nq;
		d->config[VIRTIO_BLK_CFG_NUMQ_OFF + 1] = (uint8_t)(nq >> 8);
	} else {
		const char *tag = cfg->tag ? cfg->tag : "";
		size_t tl = strlen(tag);
		if (!tl || tl > VHUD_FS_TAG_MAX) {
			snprintf(err, errlen, "vmm: -device %s: tag must be 1-%d bytes",
				 cfg->id, VHUD_FS_TAG_MAX);
			goto fail;
		}
		d->vd.device_id = VIRTIO_ID_FS;
		d->vd.config_size = VIRTIO_FS_CFG_SIZE;
		memcpy(d->config, tag, tl);   /* NUL-padded, not terminated */
		d->config[36] = (uint8_t)nq;
		d->config[37] = (uint8_t)(nq >> 8);
		nq += 1;                      /* queue 0 is hiprio (§5.11.2) */
	}
	if (nq > VDEV_MAX_QUEUES || nq > VHU_MAX_QUEUES) {
		snprintf(err, errlen, "vmm: -device %s: too many queues", cfg->id);
		goto fail;
	}
	d->vd.nqueues = nq;
	for (unsigned q = 0; q < nq; q++)
		d->vd.queue_max[q] = qs;
	return d;
fail:
	free(d);
	return NULL;
}

/* The handlers are set by whoever wires the connection to a loop
 * (vhud_handlers below). */
void vhud_free(struct vhud *d)
{
	if (!d)
		return;
	vhu_free(d->c);
	free(d);
}

struct vhud *vhud_of(struct vdev *vd)
{
	return vd && vd->ops == &vhud_ops ? vd->priv : NULL;
}

struct vdev *vhud_vdev(struct vhud *d)
{
	return &d->vd;
}

struct vhu *vhud_conn(struct vhud *d)
{
	return d->c;
}

void vhud_handlers(struct vhud *d, struct vhu_handlers *h)
{
	h->call = vhud_call;
	h->broken = vhud_broken;
	h->opaque = d;
}
