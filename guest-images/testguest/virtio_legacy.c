/* The legacy virtio-pci block driver (virtio 1.2 §4.1.4.10, §3.1.2, the
 * legacy split layout of §2.7.2), polled: what Linux's
 * virtio_pci_legacy does for a disable-modern=on function, reduced to one
 * VIRTIO_BLK_T_IN of sector 0.  Registers sit in I/O BAR 0; MSI-X stays
 * off, so the device config (unused here) would start at 20. */
#include "guest.h"

#define L_HOST_FEATURES 0
#define L_GUEST_FEATURES 4
#define L_QUEUE_PFN 8
#define L_QUEUE_NUM 12
#define L_QUEUE_SEL 14
#define L_QUEUE_NOTIFY 16
#define L_STATUS 18
#define L_ALIGN 4096u
#define L_MAXQ 256u

/* Descriptors, then the available ring, then on the next page the used
 * ring: 256 entries fit in three pages. */
static uint8_t lring[3 * L_ALIGN] __attribute__((aligned(L_ALIGN)));
static struct { uint32_t type, reserved; uint64_t sector; } lreq;
static volatile uint8_t lstatus;

struct ldesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* Does the function also have the modern interface (a common config
 * vendor capability)?  Then a driver would use that (Linux's choice). */
int vblk_pci_has_modern(unsigned dev, unsigned fn)
{
	unsigned ptr = pci_read8(dev, fn, 0x34) & 0xfc;
	for (unsigned n = 0; ptr && n < 48; n++) {
		if (pci_read8(dev, fn, ptr) == 0x09 && pci_read8(dev, fn, ptr + 3) == 1)
			return 1;
		ptr = pci_read8(dev, fn, ptr + 1) & 0xfc;
	}
	return 0;
}

int vblk_read_pci_legacy(unsigned dev, unsigned fn, uint8_t *buf)
{
	uint32_t bar = pci_read32(dev, fn, 0x10);
	if (!(bar & 1))
		return -20;                         /* BAR 0 must be I/O */
	uint16_t io = (uint16_t)(bar & ~3u);
	/* I/O decode + bus mastering. */
	pci_write16(dev, fn, 4, pci_read16(dev, fn, 4) | 0x5);
	outb(io + L_STATUS, 0);
	if (inb(io + L_STATUS) != 0)
		return -1;
	outb(io + L_STATUS, 1);
	outb(io + L_STATUS, 1 | 2);
	(void)inl(io + L_HOST_FEATURES);
	outl(io + L_GUEST_FEATURES, 0);            /* none needed */
	outw(io + L_QUEUE_SEL, 0);
	uint16_t n = inw(io + L_QUEUE_NUM);        /* fixed by the device */
	if (n == 0 || n > L_MAXQ || (n & (n - 1)))
		return -2;
	if (inl(io + L_QUEUE_PFN) != 0)
		return -3;
	memset(lring, 0, sizeof(lring));
	struct ldesc *desc = (struct ldesc *)lring;
	uint8_t *avail = lring + 16u * n;
	uint64_t uoff = (16u * n + 6u + 2u * n + L_ALIGN - 1) & ~(uint64_t)(L_ALIGN - 1);
	volatile uint16_t *used_idx = (volatile uint16_t *)(lring + uoff + 2);
	outl(io + L_QUEUE_PFN, (uint32_t)((uintptr_t)lring / L_ALIGN));
	if (inl(io + L_QUEUE_PFN) != (uint32_t)((uintptr_t)lring / L_ALIGN))
		return -4;
	outb(io + L_STATUS, 1 | 2 | 4);            /* DRIVER_OK, no FEATURES_OK */
	if (inb(io + L_STATUS) != (1 | 2 | 4))
		return -5;

	lreq.type = 0;                             /* VIRTIO_BLK_T_IN */
	lreq.reserved = 0;
	lreq.sector = 0;
	lstatus = 0xff;
	desc[0] = (struct ldesc){ (uintptr_t)&lreq, sizeof(lreq), 1, 1 };
	desc[1] = (struct ldesc){ (uintptr_t)buf, 512, 1 | 2, 2 };
	desc[2] = (struct ldesc){ (uintptr_t)&lstatus, 1, 2, 0 };
	((uint16_t *)avail)[0] = 1;                /* NO_INTERRUPT: we poll */
	((uint16_t *)avail)[2] = 0;                /* ring[0] = head 0 */
	barrier();
	((volatile uint16_t *)avail)[1] = 1;       /* idx */
	barrier();
	outw(io + L_QUEUE_NOTIFY, 0);
	for (unsigned long i = 0; i < 50000000ul; i++) {
		barrier();
		if (*used_idx == 1)
			break;
	}
	if (*used_idx != 1)
		return -6;
	if (lstatus != 0)
		return -7;
	outb(io + L_STATUS, 0);                    /* reset: rings released */
	return 0;
}
