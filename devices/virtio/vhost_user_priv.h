/* vhost-user device internals shared by vhost_user_dev.c (the model) and
 * vhost_user_dev_snap.c (its save, load and restart). */
#ifndef VMM_VIRTIO_VHOST_USER_PRIV_H
#define VMM_VIRTIO_VHOST_USER_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "core/vhost_user.h"
#include "devices/virtio/vhost_user_dev.h"
#include "devices/virtio/virtio.h"

#define VHUD_BLK_CFG_WCE_OFF 32u    /* writeback, u8 (§5.2.4) */

struct vhud {
	struct vdev vd;
	struct vhu *c;
	enum vhud_kind kind;
	uint8_t config[VHU_CONFIG_MAX];
	bool started;
	/* Rings a save stopped, or a load left stopped: started again from
	 * bases[] when the guest runs (vdev_ops.resume). */
	bool restart;
	bool wce_dirty;                 /* a loaded writeback byte to send */
	uint32_t bases[VDEV_MAX_QUEUES];
	char why[200];                  /* vdev.save_error */
};

/* Route each started queue's calls (irqfd or the call handler). */
void vhud_route(struct vhud *d);
/* vdev_ops save, load and resume (vhost_user_dev_snap.c). */
int vhud_save(struct vdev *vd, struct snap_w *w);
int vhud_load(struct vdev *vd, struct snap_r *r);
void vhud_resume(struct vdev *vd);

#endif
