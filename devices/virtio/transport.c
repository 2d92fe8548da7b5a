/* Status state machine, feature negotiation and queue enabling shared by
 * virtio-mmio and virtio-pci (virtio 1.2 §2.1, §2.2, §3.1.1). */
#include <errno.h>
#include <string.h>
#include "transport.h"

/* Bits the driver owns in device status (§2.1); DEVICE_NEEDS_RESET is the
 * device's and survives driver writes until a reset. */
#define DRIVER_BITS                                                       \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |               \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK |            \
	 VIRTIO_STATUS_FAILED)

static void queue_defaults(struct vtransport *t, unsigned q)
{
	memset(&t->q[q], 0, sizeof(t->q[q]));
	t->q[q].size = vtransport_queue_max(t, q);
	t->q[q].msix_vector = VTRANSPORT_NO_VECTOR;
}

void vtransport_init(struct vtransport *t, struct vdev *vd, const struct gm *gm,
		     struct log *log, const char *name,
		     const struct vdev_transport_ops *tops, void *transport)
{
	memset(t, 0, sizeof(*t));
	t->vd = vd;
	t->gm = gm;
	t->log = log;
	t->name = name;
	if (!vd->gm)
		vd->gm = gm;
	if (!vd->log)
		vd->log = log;
	if (vd->nqueues > VDEV_MAX_QUEUES)
		vd->nqueues = VDEV_MAX_QUEUES;
	vd->tops = tops;
	vd->transport = transport;
	t->offered = vdev_offered_features(vd);
	vd->status = 0;
	vd->driver_features = 0;
	vd->features = 0;
	for (unsigned q = 0; q < VDEV_MAX_QUEUES; q++) {
		vq_reset(&vd->vqs[q]);
		queue_defaults(t, q);
	}
}

uint32_t vtransport_device_features(const struct vtransport *t, uint32_t sel)
{
	return sel < 2 ? (uint32_t)(t->offered >> (32 * sel)) : 0;
}

uint32_t vtransport_driver_features_word(const struct vtransport *t, uint32_t sel)
{
	return sel < 2 ? (uint32_t)(t->vd->driver_features >> (32 * sel)) : 0;
}

void vtransport_set_legacy(struct vtransport *t, bool legacy)
{
	t->legacy = legacy;
}

void vtransport_driver_features(struct vtransport *t, uint32_t sel, uint32_t val)
{
	struct vdev *vd = t->vd;
	if (t->legacy && (vd->status & VIRTIO_STATUS_DRIVER_OK)) {
		/* Legacy has no FEATURES_OK; a live device's features stay
		 * what it was started with. */
		log_rl(t->log, &t->rl, LOG_WARN,
		       "%s: legacy driver features written after DRIVER_OK", t->name);
		return;
	}
	if (vd->status & VIRTIO_STATUS_FEATURES_OK) {
		/* §2.2.2: features are fixed once FEATURES_OK was accepted. */
		log_rl(t->log, &t->rl, LOG_WARN,
		       "%s: driver features written after FEATURES_OK", t->name);
		return;
	}
	uint32_t offered = vtransport_device_features(t, sel);
	uint32_t bit = 1u << (sel < 31 ? sel : 31);
	if (val & ~offered) {
		log_rl(t->log, &t->rl, LOG_WARN,
		       "%s: driver accepted unoffered features 0x%x in word %u",
		       t->name, val & ~offered, sel);
		t->bad_feature_words |= bit;
	} else {
		t->bad_feature_words &= ~bit;
	}
	if (sel >= 2)
		return;
	uint64_t mask = 0xffffffffull << (32 * sel);
	vd->driver_features = (vd->driver_features & ~mask) |
			      ((uint64_t)(val & offered) << (32 * sel));
	/* Legacy (§4.1.4.10 / virtio 0.9.5): what the driver writes is what
	 * it uses, there is no FEATURES_OK to latch it. */
	if (t->legacy)
		vd->features = vd->driver_features;
}

void vtransport_reset(struct vtransport *t)
{
	struct vdev *vd = t->vd;
	vdev_resume_cancel(vd);
	if (vd->ops && vd->ops->reset)
		vd->ops->reset(vd);
	for (unsigned q = 0; q < VDEV_MAX_QUEUES; q++) {
		vq_reset(&vd->vqs[q]);
		queue_defaults(t, q);
	}
	vd->status = 0;
	vd->driver_features = 0;
	vd->features = 0;
	t->bad_feature_words = 0;
}

void vtransport_needs_reset(struct vtransport *t, const char *why)
{
	/* vdev_needs_reset() sets the bit, stops the queues and sends the
	 * config change notification §2.1.2 asks for after DRIVER_OK. */
	vdev_needs_reset(t->vd, why);
}

/* §2.2.1 / §3.1.1 step 5: FEATURES_OK only for a subset of what was
 * offered that includes VERSION_1 (a modern driver must accept it, even
 * of a transitional device, §6.1). */
static bool features_acceptable(struct vtransport *t)
{
	if (t->bad_feature_words) {
		log_rl(t->log, &t->rl, LOG_WARN,
		       "%s: FEATURES_OK refused: unoffered features accepted", t->name);
		return false;
	}
	if (!t->legacy && !(t->vd->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		log_rl(t->log, &t->rl, LOG_WARN,
		       "%s: FEATURES_OK refused: VERSION_1 not accepted", t->name);
		return false;
	}
	return true;
}

bool vtransport_set_status(struct vtransport *t, uint8_t val)
{
	struct vdev *vd = t->vd;
	if (val == 0) {
		vtransport_reset(t);
		return true;
	}
	uint8_t old = vd->status;
	uint8_t want = val & DRIVER_BITS;
	/* §2.1.2: the driver never clears a status bit except by reset. */
	if (old & DRIVER_BITS & ~want) {
		log_rl(t->log, &t->rl, LOG_WARN,
		       "%s: status 0x%x would clear bits of 0x%x; ignored", t->name,
		       val, old);
		return false;
	}
	/* §3.1.1: each step needs the one before.  A legacy driver goes
	 * from DRIVER to DRIVER_OK (§3.1.2, no FEATURES_OK). */
	uint8_t before_ok = t->legacy ? VIRTIO_STATUS_DRIVER : VIRTIO_STATUS_FEATURES_OK;
	if (((want & VIRTIO_STATUS_DRIVER) && !(want & VIRTIO_STATUS_ACKNOWLEDGE)) ||
	    ((want & VIRTIO_STATUS_FEATURES_OK) && !(want & VIRTIO_STATUS_DRIVER)) ||
	    ((want & VIRTIO_STATUS_DRIVER_OK) && !(want & before_ok))) {
		log_rl(t->log, &t->rl, LOG_WARN,
		       "%s: status 0x%x out of order (was 0x%x); ignored", t->name,
		       val, old);
		return false;
	}
	uint8_t added = want & ~old;
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(t)) {
		/* The driver reads status back and sees FEATURES_OK unset. */
		want &= (uint8_t)~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
		added &= (uint8_t)~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	}
	if (added & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK))
		vd->features = vd->driver_features;
	vd->status = want | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if ((added & VIRTIO_STATUS_DRIVER_OK) &&
	    !(old & VIRTIO_STATUS_DEVICE_NEEDS_RESET) && vd->ops && vd->ops->activate &&
	    vd->ops->activate(vd) != 0)
		vtransport_needs_reset(t, "device refused activation");
	return false;
}

uint16_t vtransport_queue_max(const struct vtransport *t, unsigned q)
{
	const struct vdev *vd = t->vd;
	if (q >= vd->nqueues)
		return 0;
	return vd->queue_max[q] > VQ_MAX_SIZE ? VQ_MAX_SIZE : vd->queue_max[q];
}

bool vtransport_queue_writable(struct vtransport *t, unsigned q, const char *what)
{
	const char *why = NULL;
	if (q >= t->vd->nqueues)
		why = "no such queue";
	else if (t->vd->status & VIRTIO_STATUS_DRIVER_OK)
		why = "after DRIVER_OK";
	else if (t->q[q].ready)
		why = "queue is ready";
	if (!why)
		return true;
	log_rl(t->log, &t->rl, LOG_WARN, "%s: %s write to queue %u ignored: %s",
	       t->name, what, q, why);
	return false;
}

static int refuse(struct vtransport *t, unsigned q, const char *why)
{
	log_rl(t->log, &t->rl, LOG_WARN, "%s: queue %u not enabled: %s", t->name,
	       q, why);
	return -EINVAL;
}

int vtransport_queue_set_ready(struct vtransport *t, unsigned q, bool ready)
{
	struct vdev *vd = t->vd;
	if (q >= vd->nqueues)
		return refuse(t, q, "no such queue");
	struct vq_config *c = &t->q[q];
	if (!ready) {
		vq_reset(&vd->vqs[q]);
		c->ready = false;
		return 0;
	}
	if (c->ready)
		return 0;
	if (!(vd->status & (t->legacy ? VIRTIO_STATUS_DRIVER : VIRTIO_STATUS_FEATURES_OK)))
		return refuse(t, q, t->legacy ? "before DRIVER" : "before FEATURES_OK");
	if (vd->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return refuse(t, q, "device already live or broken");
	bool packed = vdev_has(vd, VIRTIO_F_RING_PACKED);
	if (c->size == 0 || c->size > vtransport_queue_max(t, q) ||
	    (!packed && (c->size & (c->size - 1))))
		return refuse(t, q, "bad size");
	struct vq_config cfg = *c;
	cfg.ready = true;
	if (vq_enable(&vd->vqs[q], t->gm, t->log, q, &cfg, vd->features) != 0)
		return refuse(t, q, "rings not valid in guest memory");
	c->ready = true;
	return 0;
}

void vtransport_kick(struct vtransport *t, unsigned q)
{
	struct vdev *vd = t->vd;
	if (q >= vd->nqueues || !t->q[q].ready ||
	    (vd->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) !=
		    VIRTIO_STATUS_DRIVER_OK) {
		log_rl(t->log, &t->rl, LOG_DEBUG, "%s: kick of queue %u ignored",
		       t->name, q);
		return;
	}
	if (vd->ops && vd->ops->notify)
		vd->ops->notify(vd, q);
}

static bool config_ok(struct vtransport *t, uint64_t off, unsigned len,
		      const char *what)
{
	uint32_t size = t->vd->config_size;
	if ((len == 1 || len == 2 || len == 4 || len == 8) && off <= size &&
	    len <= size - off)
		return true;
	log_rl(t->log, &t->rl, LOG_WARN, "%s: config %s at 0x%llx len %u outside %u",
	       t->name, what, (unsigned long long)off, len, size);
	return false;
}

void vtransport_config_read(struct vtransport *t, uint64_t off, void *data,
			    unsigned len)
{
	memset(data, 0, len);
	if (!config_ok(t, off, len, "read"))
		return;
	if (t->vd->ops && t->vd->ops->config_read)
		t->vd->ops->config_read(t->vd, (uint32_t)off, data, len);
}

void vtransport_config_write(struct vtransport *t, uint64_t off,
			     const void *data, unsigned len)
{
	if (!config_ok(t, off, len, "write"))
		return;
	if (t->vd->ops && t->vd->ops->config_write)
		t->vd->ops->config_write(t->vd, (uint32_t)off, data, len);
}
