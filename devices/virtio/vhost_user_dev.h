/* vhost-user devices (vhost-user-blk, vhost-user-fs): the virtio device
 * model is a thin shell over a vhost-user connection (core/vhost_user.h).
 * The transport still owns status, feature negotiation and queue setup;
 * at DRIVER_OK the rings are handed to the backend, which then serves
 * them from shared guest RAM.  A broken backend makes the device
 * DEVICE_NEEDS_RESET (§2.1.2) and nothing else. */
#ifndef VMM_VIRTIO_VHOST_USER_DEV_H
#define VMM_VIRTIO_VHOST_USER_DEV_H

#include <stddef.h>
#include <stdint.h>
#include "virtio.h"

struct vhu;

#define VIRTIO_ID_FS 26
#define VHUD_FS_TAG_MAX 36   /* virtio 1.2 §5.11.4 */

enum vhud_kind { VHUD_BLK, VHUD_FS };

struct vhud_cfg {
	enum vhud_kind kind;
	const char *id;
	unsigned queues;       /* blk: num-queues; fs: request queues (0: 1) */
	unsigned queue_size;   /* 0: 128 (fs) / 256 (blk) */
	const char *tag;       /* fs */
};

struct vhud;

/* The connection must have completed vhu_handshake; the device takes it
 * over (freed with the device).  blk reads its config space from the
 * backend (GET_CONFIG).  NULL with err. */
struct vhud *vhud_new(const struct gm *gm, struct log *log, struct vhu *c,
		      const struct vhud_cfg *cfg, char *err, size_t errlen);
void vhud_free(struct vhud *d);
struct vdev *vhud_vdev(struct vhud *d);
struct vhu *vhud_conn(struct vhud *d);
/* vd's vhost-user device, or NULL when vd is another kind of device. */
struct vhud *vhud_of(struct vdev *vd);
/* The handlers to pass to vhu_attach (calls interrupt the driver, a
 * broken backend sets DEVICE_NEEDS_RESET). */
struct vhu_handlers;
void vhud_handlers(struct vhud *d, struct vhu_handlers *h);

#endif
