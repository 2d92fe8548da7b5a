/* What virtio-mmio and virtio-pci save alike (docs/snapshot.md "virtio"):
 * the device status and features, the queue configuration the driver
 * programmed, every queue's ring state, the budget's resume timer, and
 * then the device model's own section (vdev_ops.save/load).
 *
 * Cross-field checks: negotiated and driver features only from what the
 * device offers (and the offer itself must match: the same device with
 * the same options), known status bits only, live queues only once
 * features were accepted, the programmed size within the queue maximum. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/snapshot.h"
#include "queue_snap.h"
#include "transport.h"
#include "transport_snap.h"

#define STATUS_KNOWN                                                        \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |                 \
	 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK |              \
	 VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)

static void qname(char *buf, size_t n, const char *pfx, unsigned q)
{
	snprintf(buf, n, "%s%u", pfx, q);
}

int vtransport_save(const struct vtransport *t, struct snap_w *w)
{
	const struct vdev *vd = t->vd;
	char name[16];
	if (!vd->ops || !vd->ops->save)
		return -ENOTSUP;
	snap_w_begin(w, "virtio", 1);
	snap_w_u32(w, "device_id", vd->device_id);
	snap_w_u32(w, "nqueues", vd->nqueues);
	snap_w_u64(w, "offered", t->offered);
	snap_w_u8(w, "status", vd->status);
	snap_w_u64(w, "driver_features", vd->driver_features);
	snap_w_u64(w, "features", vd->features);
	snap_w_u32(w, "config_generation", vd->config_generation);
	snap_w_u32(w, "bad_feature_words", t->bad_feature_words);
	snap_w_bool(w, "legacy", t->legacy);
	for (unsigned q = 0; q < vd->nqueues; q++) {
		const struct vq_config *c = &t->q[q];
		qname(name, sizeof(name), "qcfg", q);
		snap_w_begin(w, name, 1);
		snap_w_u16(w, "size", c->size);
		snap_w_bool(w, "ready", c->ready);
		snap_w_u64(w, "desc", c->desc);
		snap_w_u64(w, "driver", c->driver);
		snap_w_u64(w, "device", c->device);
		snap_w_u16(w, "msix_vector", c->msix_vector);
		snap_w_end(w);
		qname(name, sizeof(name), "vq", q);
		vq_save(&vd->vqs[q], w, name);
	}
	snap_w_u32(w, "resume_mask", vd->resume_mask);
	if (vd->resume_init) {
		snap_w_timer(w, "resume_timer", &vd->resume_timer);
	} else {
		struct clk_timer idle;
		clk_timer_init(&idle, NULL, NULL);
		snap_w_timer(w, "resume_timer", &idle);
	}
	int rc = vd->ops->save((struct vdev *)vd, w);
	snap_w_end(w);
	return rc;
}

static void vdev_resume_fire_again(struct vdev *vd)
{
	/* vdev.c owns the timer's callback; arming through
	 * vdev_resume_later initialises it, then we move it. */
	uint32_t mask = vd->resume_mask;
	vdev_resume_later(vd, 0);
	vd->resume_mask = mask;
}

int vtransport_load(struct vtransport *t, struct snap_r *r)
{
	struct vdev *vd = t->vd;
	uint32_t dev_id = 0, nq = 0, gen = 0, bad = 0, mask = 0;
	uint64_t offered = 0, drv = 0, feat = 0;
	uint8_t status = 0;
	bool legacy = false;
	struct vq_config qc[VDEV_MAX_QUEUES];
	char name[16];
	if (!vd->ops || !vd->ops->load)
		return snap_r_check(r, false, "virtio",
				    "this device cannot be restored");
	snap_r_begin(r, "virtio", 1, NULL);
	snap_r_u32(r, "device_id", &dev_id);
	snap_r_u32(r, "nqueues", &nq);
	snap_r_u64(r, "offered", &offered);
	snap_r_u8(r, "status", &status);
	snap_r_u64(r, "driver_features", &drv);
	snap_r_u64(r, "features", &feat);
	snap_r_u32(r, "config_generation", &gen);
	snap_r_u32(r, "bad_feature_words", &bad);
	snap_r_bool(r, "legacy", &legacy);
	snap_r_check(r, dev_id == vd->device_id, "device_id",
		     "another kind of virtio device");
	snap_r_check(r, nq == vd->nqueues, "nqueues",
		     "the device has another number of queues");
	snap_r_check(r, offered == t->offered, "offered",
		     "the device offers other features (options differ)");
	snap_r_check(r, (status & ~STATUS_KNOWN) == 0, "status", "unknown bits");
	snap_r_check(r, (drv & ~offered) == 0, "driver_features",
		     "bits the device never offered");
	snap_r_check(r, (feat & ~offered) == 0, "features",
		     "bits the device never offered");
	snap_r_check(r, bad <= 3, "bad_feature_words", "beyond two words");
	bool accepted = (status & VIRTIO_STATUS_FEATURES_OK) ||
			(legacy && (status & VIRTIO_STATUS_DRIVER));
	if (snap_r_failed(r))
		return snap_r_failed(r);
	/* Queue configuration first, checked; the queues into a scratch
	 * copy so a bad one leaves the device as it was. */
	static const struct vq zero_vq;
	struct vq *tmp = calloc(VDEV_MAX_QUEUES, sizeof(*tmp));
	if (!tmp)
		return snap_r_check(r, false, "virtio", "out of memory");
	for (unsigned q = 0; q < nq && !snap_r_failed(r); q++) {
		struct vq_config *c = &qc[q];
		memset(c, 0, sizeof(*c));
		qname(name, sizeof(name), "qcfg", q);
		snap_r_begin(r, name, 1, NULL);
		snap_r_u16(r, "size", &c->size);
		snap_r_bool(r, "ready", &c->ready);
		snap_r_u64(r, "desc", &c->desc);
		snap_r_u64(r, "driver", &c->driver);
		snap_r_u64(r, "device", &c->device);
		snap_r_u16(r, "msix_vector", &c->msix_vector);
		snap_r_check(r, c->size <= vtransport_queue_max(t, q), "size",
			     "above the queue's maximum");
		snap_r_check(r, !c->ready || accepted, "ready",
			     "queue enabled before features were accepted");
		snap_r_end(r);
		tmp[q] = zero_vq;
		tmp[q].gm = t->gm;
		tmp[q].log = t->log;
		tmp[q].index = q;
		qname(name, sizeof(name), "vq", q);
		vq_load(&tmp[q], r, name, t->gm, t->log, q, feat,
			vtransport_queue_max(t, q));
		snap_r_check(r, !(tmp[q].cfg.size && !c->ready), "ready",
			     "a live ring on a queue the driver did not enable");
	}
	snap_r_u32(r, "resume_mask", &mask);
	struct snap_timer rt;
	snap_r_timer(r, "resume_timer", &rt);
	snap_r_check(r, (mask >> (nq < 32 ? nq : 31)) == 0 || nq >= 32,
		     "resume_mask", "names a queue the device does not have");
	if (snap_r_failed(r)) {
		free(tmp);
		return snap_r_failed(r);
	}
	/* Commit the common state, then let the model load its own (it
	 * checks its held chains against these queues). */
	vd->status = status;
	vd->driver_features = drv;
	vd->features = feat;
	vd->config_generation = gen;
	t->bad_feature_words = bad;
	t->legacy = legacy;
	for (unsigned q = 0; q < nq; q++) {
		struct log_rl rl = vd->vqs[q].rl;
		t->q[q] = qc[q];
		vd->vqs[q] = tmp[q];
		vd->vqs[q].rl = rl;
	}
	free(tmp);
	vdev_resume_cancel(vd);
	if (rt.armed && vd->clk) {
		vdev_resume_fire_again(vd);
		snap_timer_apply(&rt, vd->clk, &vd->resume_timer);
	}
	vd->resume_mask = mask;
	int rc = vd->ops->load(vd, r);
	if (rc)
		return rc;
	return snap_r_end(r);
}
