/* Bulk data between a virtqueue element's buffers and a block backend,
 * shared by virtio-blk (blk_req.c) and virtio-scsi's disk (scsi_disk.c). */
#ifndef VMM_VIRTIO_QUEUE_BLOCKDEV_H
#define VMM_VIRTIO_QUEUE_BLOCKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "devices/virtio/queue.h"

struct blockdev;
struct gm;

/* Walk `len` bytes of the element's writable (to_guest: backend -> guest)
 * or readable (guest -> backend) part starting at byte `off` of that part,
 * moving them to/from the backend at byte `pos`.  Straight into the guest
 * page when gm_map() vouches for the chunk, else through `bounce` at most
 * `bounce_size` bytes at a time.  0, the backend's or gm's error, or
 * -EFAULT if the element's part ends before `len` bytes. */
int vq_elem_blockdev_xfer(const struct gm *gm, const struct vq_elem *e,
			  bool to_guest, uint64_t off, uint64_t len,
			  struct blockdev *bd, uint64_t pos, uint8_t *bounce,
			  size_t bounce_size);

#endif
