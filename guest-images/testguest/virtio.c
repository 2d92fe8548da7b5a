/* A minimal virtio 1.x block driver, polled, for both transports: the
 * driver initialization sequence of virtio 1.2 §3.1.1, one split queue
 * (§2.7) of 8 entries, and one VIRTIO_BLK_T_IN request for sector 0
 * (§5.2.6).  No interrupts: with an in-kernel LAPIC a halted guest never
 * returns to the VMM, so we poll the used ring. */
#include "guest.h"
#include "vring.h"

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct vdesc desc[VRING_QSZ] __attribute__((aligned(16)));
static struct vavail avail __attribute__((aligned(2)));
static struct vused used __attribute__((aligned(4)));
static struct blk_req req;
static volatile uint8_t status;

/* The transport-specific register accesses. */
struct vtrans {
	uint8_t (*get_status)(struct vtrans *t);
	void (*set_status)(struct vtrans *t, uint8_t s);
	uint32_t (*features)(struct vtrans *t, uint32_t word);
	void (*set_features)(struct vtrans *t, uint32_t word, uint32_t v);
	/* Select queue 0, size it, give the ring addresses, enable. */
	int (*queue)(struct vtrans *t);
	void (*notify)(struct vtrans *t);
	uint64_t base, common, notify_addr, device;
};

static int vblk_run(struct vtrans *t, uint8_t *buf)
{
	t->set_status(t, 0);
	if (t->get_status(t) != 0)
		return -1;
	t->set_status(t, ST_ACK);
	t->set_status(t, ST_ACK | ST_DRIVER);
	/* Accept only VIRTIO_F_VERSION_1 (bit 32). */
	if (!(t->features(t, 1) & 1))
		return -2;
	t->set_features(t, 0, 0);
	t->set_features(t, 1, 1);
	t->set_status(t, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(t->get_status(t) & ST_FEATURES_OK))
		return -3;
	memset(desc, 0, sizeof(desc));
	memset(&avail, 0, sizeof(avail));
	memset(&used, 0, sizeof(used));
	if (t->queue(t) < 0)
		return -4;
	t->set_status(t, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);

	req.type = 0;       /* VIRTIO_BLK_T_IN */
	req.reserved = 0;
	req.sector = 0;
	status = 0xff;
	desc[0] = (struct vdesc){ (uintptr_t)&req, sizeof(req), VRING_DESC_F_NEXT, 1 };
	desc[1] = (struct vdesc){ (uintptr_t)buf, 512,
				  VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 };
	desc[2] = (struct vdesc){ (uintptr_t)&status, 1, VRING_DESC_F_WRITE, 0 };
	avail.flags = 1;    /* VRING_AVAIL_F_NO_INTERRUPT: we poll */
	avail.ring[0] = 0;
	barrier();
	avail.idx = 1;
	barrier();
	t->notify(t);
	for (unsigned long i = 0; i < 50000000ul; i++) {
		barrier();
		if (*(volatile uint16_t *)&used.idx == 1)
			break;
	}
	if (*(volatile uint16_t *)&used.idx != 1)
		return -5;
	if (status != 0)
		return -6;
	t->set_status(t, 0);  /* reset: the device lets go of our rings */
	return 0;
}

/* ---- virtio-mmio (§4.2.2) ---- */
static uint8_t m_get_status(struct vtrans *t) { return (uint8_t)mmio_read32(t->base + 0x70); }
static void m_set_status(struct vtrans *t, uint8_t s) { mmio_write32(t->base + 0x70, s); }
static uint32_t m_features(struct vtrans *t, uint32_t w)
{
	mmio_write32(t->base + 0x14, w);
	return mmio_read32(t->base + 0x10);
}
static void m_set_features(struct vtrans *t, uint32_t w, uint32_t v)
{
	mmio_write32(t->base + 0x24, w);
	mmio_write32(t->base + 0x20, v);
}
static int m_queue(struct vtrans *t)
{
	return vring_setup_mmio(t->base, 0, desc, &avail, &used);
}
static void m_notify(struct vtrans *t) { mmio_write32(t->base + 0x50, 0); }

int vblk_read_mmio(uint64_t base, uint8_t *buf)
{
	struct vtrans t = { m_get_status, m_set_status, m_features, m_set_features,
			    m_queue, m_notify, base, 0, 0, 0 };
	return vblk_run(&t, buf);
}

/* ---- virtio-pci modern (§4.1.4): registers found through vendor caps ---- */
static uint8_t p_get_status(struct vtrans *t) { return mmio_read8(t->common + 20); }
static void p_set_status(struct vtrans *t, uint8_t s) { mmio_write8(t->common + 20, s); }
static uint32_t p_features(struct vtrans *t, uint32_t w)
{
	mmio_write32(t->common + 0, w);
	return mmio_read32(t->common + 4);
}
static void p_set_features(struct vtrans *t, uint32_t w, uint32_t v)
{
	mmio_write32(t->common + 8, w);
	mmio_write32(t->common + 12, v);
}
static int p_queue(struct vtrans *t)
{
	uint16_t off;
	if (vring_setup_pci(t->common, 0, desc, &avail, &used, &off))
		return -1;
	t->notify_addr += (uint64_t)off * t->device; /* device: multiplier here */
	return 0;
}
static void p_notify(struct vtrans *t) { mmio_write16(t->notify_addr, 0); }

int vblk_read_pci(unsigned dev, unsigned fn, uint8_t *buf)
{
	struct vtrans t = { p_get_status, p_set_status, p_features, p_set_features,
			    p_queue, p_notify, 0, 0, 0, 0 };
	/* Memory decode + bus mastering (the VMM set them, as firmware does). */
	pci_write16(dev, fn, 4, pci_read16(dev, fn, 4) | 0x6);
	if (!(pci_read16(dev, fn, 6) & 0x10))       /* status: capabilities list */
		return -10;
	unsigned ptr = pci_read8(dev, fn, 0x34) & 0xfc;
	for (unsigned n = 0; ptr && n < 48; n++) {
		if (pci_read8(dev, fn, ptr) == 0x09) {     /* vendor-specific */
			uint8_t type = pci_read8(dev, fn, ptr + 3);
			uint8_t bar = pci_read8(dev, fn, ptr + 4);
			uint64_t at = bar < 6 ? pci_bar(dev, fn, bar) +
				      pci_read32(dev, fn, ptr + 8) : 0;
			if (type == 1)
				t.common = at;
			else if (type == 2) {
				t.notify_addr = at;
				t.device = pci_read32(dev, fn, ptr + 16);
			}
		}
		ptr = pci_read8(dev, fn, ptr + 1) & 0xfc;
	}
	if (!t.common || !t.notify_addr || t.common >= GUEST_MAPPED_TOP ||
	    t.notify_addr >= GUEST_MAPPED_TOP)
		return -11;
	return vblk_run(&t, buf);
}
