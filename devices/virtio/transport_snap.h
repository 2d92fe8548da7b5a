/* The state virtio-mmio and virtio-pci save alike (transport_snap.c). */
#ifndef VMM_VIRTIO_TRANSPORT_SNAP_H
#define VMM_VIRTIO_TRANSPORT_SNAP_H

#include "transport.h"

struct snap_w;
struct snap_r;

/* Section "virtio": status, features, queue configuration and rings,
 * then the device model's section.  -ENOTSUP when the model cannot be
 * saved (no vdev_ops.save). */
int vtransport_save(const struct vtransport *t, struct snap_w *w);
/* Validate and load it; on error the device must not run on (the board
 * is discarded, docs/snapshot.md). */
int vtransport_load(struct vtransport *t, struct snap_r *r);

#endif
