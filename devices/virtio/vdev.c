/* The transport-independent half of a virtio device: when to interrupt,
 * config changes, DEVICE_NEEDS_RESET, offered features (virtio 1.2 §2.1,
 * §2.5, §2.7.10).  The transport's callbacks deliver the interrupts. */
#include <errno.h>
#include "core/clk.h"
#include "core/log.h"
#include "virtio.h"

void vdev_notify_queue(struct vdev *vd, unsigned q)
{
	if (q >= vd->nqueues || q >= VDEV_MAX_QUEUES)
		return;
	/* §2.1.2 / §3.1.1: no used buffer notifications before DRIVER_OK,
	 * and none once the device has given up on the driver. */
	if (!(vd->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return;
	/* Ask the ring first: the driver may have suppressed interrupts
	 * (VIRTQ_AVAIL_F_NO_INTERRUPT, used_event, packed event flags). */
	if (!vq_should_notify(&vd->vqs[q]))
		return;
	if (vd->tops && vd->tops->notify_queue)
		vd->tops->notify_queue(vd->transport, q);
}

void vdev_config_changed(struct vdev *vd)
{
	/* §2.5.1: the generation changes whenever config may have, so a
	 * driver reading it before and after its reads can detect a torn read. */
	vd->config_generation++;
	if ((vd->status & VIRTIO_STATUS_DRIVER_OK) && vd->tops &&
	    vd->tops->notify_config)
		vd->tops->notify_config(vd->transport);
}

void vdev_needs_reset(struct vdev *vd, const char *why)
{
	unsigned q;

	if (vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	log_rl(vd->log, &vd->rl, LOG_ERROR,
	       "virtio device %u: needs reset: %s", (unsigned)vd->device_id,
	       why ? why : "?");
	vd->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	/* Stop processing: mark every queue broken so pops return nothing
	 * until the driver resets the device. */
	for (q = 0; q < vd->nqueues && q < VDEV_MAX_QUEUES; q++)
		vd->vqs[q].broken = true;
	/* §2.1.2: with DRIVER_OK set, the device MUST send a configuration
	 * change notification after setting DEVICE_NEEDS_RESET. */
	if ((vd->status & VIRTIO_STATUS_DRIVER_OK) && vd->tops &&
	    vd->tops->notify_config)
		vd->tops->notify_config(vd->transport);
}

int vdev_pop(struct vdev *vd, struct vq *vq, struct vq_elem *e, bool *pushed,
	     const char *why)
{
	int r = vq_pop(vq, e);

	if (r >= 0)
		return r;
	if (pushed)
		*pushed = true;
	if (r == -EPROTO || vq->broken) {
		vdev_needs_reset(vd, why);
		return -EPROTO;
	}
	return -EAGAIN;
}

uint64_t vdev_offered_features(struct vdev *vd)
{
	uint64_t dev = 0;

	if (vd->ops && vd->ops->features)
		dev = vd->ops->features(vd);
	uint64_t t = VIRTIO_TRANSPORT_FEATURES;
	if (vd->transport_mask)
		t &= vd->transport_mask;
	return dev | t;
}

bool vdev_budget_spent(const struct vdev *vd, const struct vdev_budget *b)
{
	return vd->clk && (b->bytes >= VDEV_BUDGET_BYTES ||
			   b->chains >= VDEV_BUDGET_CHAINS);
}

static void vdev_resume_fire(void *arg, uint64_t now)
{
	(void)now;
	struct vdev *vd = arg;
	uint32_t mask = vd->resume_mask;
	vd->resume_mask = 0;
	/* Only a live device goes on (a reset cancels; a broken one stops). */
	if ((vd->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) !=
	    VIRTIO_STATUS_DRIVER_OK || !vd->ops || !vd->ops->notify)
		return;
	for (unsigned q = 0; q < vd->nqueues && q < VDEV_MAX_QUEUES; q++)
		if (mask & (1u << q))
			vd->ops->notify(vd, q);
}

void vdev_resume_later(struct vdev *vd, unsigned q)
{
	if (!vd->clk || q >= VDEV_MAX_QUEUES)
		return;
	if (!vd->resume_init) {
		clk_timer_init(&vd->resume_timer, vdev_resume_fire, vd);
		vd->resume_init = true;
	}
	vd->resume_mask |= 1u << q;
	if (!clk_timer_armed(&vd->resume_timer))
		clk_timer_arm(vd->clk, &vd->resume_timer,
			      clk_now_ns(vd->clk) + VDEV_RESUME_NS);
}

void vdev_resume_cancel(struct vdev *vd)
{
	vd->resume_mask = 0;
	if (vd->resume_init && vd->clk && clk_timer_armed(&vd->resume_timer))
		clk_timer_cancel(vd->clk, &vd->resume_timer);
}
