/* virtio-scsi internals shared by scsi.c (device ops, config, hot-plug
 * events, LU table), scsi_req.c (the request and control queues) and
 * scsi_snap.c (snapshot).  Not a public interface: see scsi.h. */
#ifndef VMM_VIRTIO_SCSI_PRIV_H
#define VMM_VIRTIO_SCSI_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "core/clk.h"
#include "core/log.h"
#include "core/tokenbucket.h"
#include "devices/virtio/scsi.h"
#include "devices/virtio/virtio.h"

struct vscsi_lu {
	uint8_t target;
	uint16_t lun;
	struct sdisk *d;
	struct tokenbucket tb;
	bool limited;
};

struct vscsi {
	struct vdev vd;
	const struct clk *clk;
	struct log *log;
	struct log_rl rl;
	uint32_t cdb_size, sense_size;
	struct vscsi_lu lus[VSCSI_MAX_LUNS];
	unsigned nlus;
	/* One timer for both reasons to come back later: an LU's iops bucket
	 * ran dry (the request queue that met it is parked: requests leave a
	 * ring in order, the others go on), or a kick's budget ran out with
	 * requests left.  It is armed for the earliest of them. */
	struct clk_timer resume;
	uint64_t resume_at;
	uint32_t parked;         /* bit q: request queue q waits for a token */
	struct vscsi_stats st;
	/* Hot-plug events waiting for an event queue buffer. */
	struct virtio_scsi_event pend[VSCSI_MAX_EVENTS];
	unsigned npend;
	bool missed;
	struct vq_elem *elem;
	uint8_t cdb[VIRTIO_SCSI_CDB_MAX];
};

static inline struct vscsi *to_scsi(struct vdev *vd)
{
	return vd->priv;
}

/* scsi_req.c: serve the control and request queues (a no-op unless the
 * driver is running); the resume timer's callback; push a chain back
 * unwritten (no room for any answer), logged and counted. */
bool vscsi_running(const struct vscsi *s);
void vscsi_process_all(struct vscsi *s);
void vscsi_resume_fired(void *arg, uint64_t now);
void vscsi_drop(struct vscsi *s, struct vq *vq, struct vq_elem *e, const char *why);

/* scsi_snap.c: the vdev_ops snapshot hooks (docs/snapshot.md). */
struct snap_w;
struct snap_r;
int vscsi_save(struct vdev *vd, struct snap_w *w);
int vscsi_load(struct vdev *vd, struct snap_r *r);

#endif
