/* virtio-mmio transport, version 2 (virtio 1.2 §4.2).
 *
 * One 4 KiB window per device (LAYOUT_VIRTIO_MMIO_SIZE) holding the
 * register map of §4.2.2 and the device config space at 0x100, plus one
 * level-triggered interrupt line that is high while InterruptStatus is
 * nonzero.  Register it on the machine's MMIO bus with virtio_mmio_access
 * and the returned object as opaque. */
#ifndef VMM_VIRTIO_MMIO_H
#define VMM_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>
#include "core/irq.h"
#include "core/log.h"
#include "virtio.h"

#define VIRTIO_MMIO_MAGIC 0x74726976u   /* "virt" */
#define VIRTIO_MMIO_VERSION_2 2u
#define VIRTIO_MMIO_VENDOR 0x00766d6du  /* "mmv\0": this VMM */
#define VIRTIO_MMIO_WINDOW 0x1000u

struct virtio_mmio;

/* vd must be filled in by its device model (ops, device_id, nqueues,
 * queue_max, config_size).  NULL on allocation failure. */
struct virtio_mmio *virtio_mmio_new(const struct gm *gm, struct log *log,
				    struct irq irq, struct vdev *vd);
void virtio_mmio_free(struct virtio_mmio *m);

/* bus_access_fn: register accesses at offset inside the window. */
int virtio_mmio_access(void *dev, uint64_t offset, void *data, unsigned len,
		       bool is_write);

/* InterruptStatus as the driver would read it (tests). */
uint32_t virtio_mmio_isr(const struct virtio_mmio *m);
struct vdev *virtio_mmio_vdev(struct virtio_mmio *m);
/* Snapshot: the registers, the common virtio state and the device model
 * (docs/snapshot.md).  Section "virtio-mmio". */
struct snap_w;
struct snap_r;
int virtio_mmio_save(const struct virtio_mmio *m, struct snap_w *w);
int virtio_mmio_load(struct virtio_mmio *m, struct snap_r *r);

#endif
