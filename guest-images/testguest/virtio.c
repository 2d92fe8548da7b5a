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

static struct vtrans vblk_live;

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
	if (vblk_flags & VBLK_SNAP)
		snap_pause();   /* saved here: the write goes on the same ring */
	if (vblk_flags & VBLK_WRITE) {
		/* VIRTIO_BLK_T_OUT of sector 1 (§5.2.6): the host checks it. */
		static const char text[] = "VMM-TESTGUEST-WROTE-SECTOR-1";
		static uint8_t wbuf[512] __attribute__((aligned(16)));
		memset(wbuf, 0, 512);
		memcpy(wbuf, text, sizeof(text));
		desc[1].addr = (uintptr_t)wbuf;   /* sector 0 stays in buf */
		req.type = 1;
		req.sector = 1;
		status = 0xff;
		desc[1].flags = VRING_DESC_F_NEXT;   /* device reads the data */
		avail.ring[1] = 0;
		barrier();
		avail.idx = 2;
		barrier();
		t->notify(t);
		for (unsigned long i = 0; i < 50000000ul; i++) {
			barrier();
			if (*(volatile uint16_t *)&used.idx == 2)
				break;
		}
		vblk_write_result = *(volatile uint16_t *)&used.idx != 2 ? -7 :
				    status != 0 ? -8 : 1;
	}
	if (vblk_bench_reads) {
		/* make bench: 4 KiB reads at pseudo-random 4 KiB-aligned
		 * offsets of the first 8 MiB, one at a time. */
		static uint8_t bbuf[4096] __attribute__((aligned(16)));
		uint32_t x = 12345;
		uint16_t ai = avail.idx;
		for (uint32_t n = 0; n < vblk_bench_reads; n++) {
			x = x * 1103515245u + 12345u;
			req.type = 0;
			req.sector = (uint64_t)((x >> 8) % 2048u) * 8;
			status = 0xff;
			desc[1] = (struct vdesc){ (uintptr_t)bbuf, sizeof(bbuf),
						  VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 };
			avail.ring[ai % VRING_QSZ] = 0;
			barrier();
			avail.idx = ++ai;
			barrier();
			t->notify(t);
			while (*(volatile uint16_t *)&used.idx != ai)
				barrier();
			if (status != 0)
				return -9;
		}
	}
	if (vblk_flags & VBLK_WAIT_RESET) {
		/* Leave the device live for vblk_wait_reset(). */
		vblk_live = *t;
		return 0;
	}
	t->set_status(t, 0);  /* reset: the device lets go of our rings */
	return 0;
}

int vblk_flags, vblk_write_result;
uint32_t vblk_bench_reads;

/* The backend is killed by the test now: the device must turn
 * DEVICE_NEEDS_RESET (§2.1.2).  1 seen, 0 not within the poll budget. */
int vblk_wait_reset(void)
{
	if (!vblk_live.get_status)
		return 0;
	for (unsigned long i = 0; i < 400000000ul; i++)
		if (vblk_live.get_status(&vblk_live) & 64)
			return 1;
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

static int vpci_caps(unsigned dev, unsigned fn, struct vtrans *t);

int vblk_read_pci(unsigned dev, unsigned fn, uint8_t *buf)
{
	struct vtrans t = { p_get_status, p_set_status, p_features, p_set_features,
			    p_queue, p_notify, 0, 0, 0, 0 };
	int r = vpci_caps(dev, fn, &t);
	return r < 0 ? r : vblk_run(&t, buf);
}

/* Find the common and notify structures through the vendor caps. */
static int vpci_caps(unsigned dev, unsigned fn, struct vtrans *t0)
{
	struct vtrans t = *t0;
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
	*t0 = t;
	return 0;
}

int vpci_setup_queue(unsigned dev, unsigned fn, unsigned q, unsigned qsz,
		     const void *d, const void *a, const void *u,
		     uint64_t *notify, uint64_t *status_reg)
{
	struct vtrans t = { p_get_status, p_set_status, p_features, p_set_features,
			    p_queue, p_notify, 0, 0, 0, 0 };
	int r = vpci_caps(dev, fn, &t);
	if (r < 0)
		return r;
	t.set_status(&t, 0);
	t.set_status(&t, ST_ACK);
	t.set_status(&t, ST_ACK | ST_DRIVER);
	if (!(t.features(&t, 1) & 1))
		return -2;
	t.set_features(&t, 0, 0);
	t.set_features(&t, 1, 1);
	t.set_status(&t, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(t.get_status(&t) & ST_FEATURES_OK))
		return -3;
	mmio_write16(t.common + 22, (uint16_t)q);
	if (mmio_read16(t.common + 24) < qsz)
		return -4;
	mmio_write16(t.common + 24, (uint16_t)qsz);
	mmio_write16(t.common + 26, 0xffff);
	mmio_write64(t.common + 32, (uintptr_t)d);
	mmio_write64(t.common + 40, (uintptr_t)a);
	mmio_write64(t.common + 48, (uintptr_t)u);
	*notify = t.notify_addr + (uint64_t)mmio_read16(t.common + 30) * t.device;
	mmio_write16(t.common + 28, 1);
	t.set_status(&t, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	*status_reg = t.common + 20;
	return 0;
}
