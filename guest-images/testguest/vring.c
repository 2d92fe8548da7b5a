/* Virtqueue setup shared by the test guest's modern virtio drivers. */
#include "guest.h"
#include "vring.h"

int vring_setup_mmio(uint64_t base, unsigned q, struct vdesc *desc,
		     struct vavail *avail, struct vused *used)
{
	mmio_write32(base + 0x30, q);               /* QueueSel */
	if (mmio_read32(base + 0x34) < VRING_QSZ)   /* QueueNumMax */
		return -1;
	mmio_write32(base + 0x38, VRING_QSZ);
	mmio_write64(base + 0x80, (uintptr_t)desc);
	mmio_write64(base + 0x90, (uintptr_t)avail);
	mmio_write64(base + 0xa0, (uintptr_t)used);
	mmio_write32(base + 0x44, 1);               /* QueueReady */
	return mmio_read32(base + 0x44) == 1 ? 0 : -1;
}

int vring_setup_pci(uint64_t common, unsigned q, struct vdesc *desc,
		    struct vavail *avail, struct vused *used,
		    uint16_t *notify_off)
{
	mmio_write16(common + 22, (uint16_t)q);     /* queue_select */
	if (mmio_read16(common + 24) < VRING_QSZ)   /* queue_size (max) */
		return -1;
	mmio_write16(common + 24, VRING_QSZ);
	mmio_write16(common + 26, 0xffff);          /* no MSI-X vector */
	mmio_write64(common + 32, (uintptr_t)desc);
	mmio_write64(common + 40, (uintptr_t)avail);
	mmio_write64(common + 48, (uintptr_t)used);
	*notify_off = mmio_read16(common + 30);     /* queue_notify_off */
	mmio_write16(common + 28, 1);               /* queue_enable */
	return 0;
}
