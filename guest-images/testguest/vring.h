/* The split virtqueue layout (virtio 1.2 §2.7) the test guest's modern
 * drivers (virtio.c: virtio-blk, scsi.c: virtio-scsi) each keep one of:
 * VRING_QSZ entries, descriptors, driver (avail) and device (used) area. */
#ifndef TESTGUEST_VRING_H
#define TESTGUEST_VRING_H

#include <stdint.h>

#define VRING_QSZ 8
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
struct vavail {
	uint16_t flags, idx, ring[VRING_QSZ], used_event;
};
struct vused {
	uint16_t flags, idx;
	struct { uint32_t id, len; } ring[VRING_QSZ];
	uint16_t avail_event;
};

/* Select queue q, check it takes VRING_QSZ entries, size it, give the
 * three areas, enable it (no MSI-X vector on PCI).  0 or -1.
 * virtio-mmio §4.2.3.2; modern virtio-pci common config §4.1.4.3, where
 * *notify_off gets the queue's queue_notify_off, read before enabling. */
int vring_setup_mmio(uint64_t base, unsigned q, struct vdesc *desc,
		     struct vavail *avail, struct vused *used);
int vring_setup_pci(uint64_t common, unsigned q, struct vdesc *desc,
		    struct vavail *avail, struct vused *used,
		    uint16_t *notify_off);

#endif
