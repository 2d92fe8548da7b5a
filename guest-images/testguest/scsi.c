/* A minimal virtio-scsi driver over modern virtio-pci or virtio-mmio,
 * polled (virtio 1.2 §5.6): only the request queue (queue 2) is set up; the control and
 * event queues stay disabled, as a driver may leave them.  It looks for
 * the first target 0-7 whose LUN 0 answers INQUIRY with a connected
 * logical unit, sends TEST UNIT READY (noting a unit attention) and reads
 * block 0 with READ(10), the way Linux's scan and sd probe start. */
#include "guest.h"
#include "vring.h"

#define REQQ 2
#define CDB_SIZE 32
#define SENSE_SIZE 96

struct scsi_req {
	uint8_t lun[8];
	uint64_t id;
	uint8_t task_attr, prio, crn;
	uint8_t cdb[CDB_SIZE];
} __attribute__((packed));
struct scsi_resp {
	uint32_t sense_len, residual;
	uint16_t status_qualifier;
	uint8_t status, response;
	uint8_t sense[SENSE_SIZE];
} __attribute__((packed));

static struct vdesc desc[VRING_QSZ] __attribute__((aligned(16)));
static struct vavail avail __attribute__((aligned(2)));
static struct vused used __attribute__((aligned(4)));
static struct scsi_req req;
static struct scsi_resp resp;
static uint64_t common, notify;
static bool notify_mmio;
static uint16_t nreq;       /* requests made on the current ring */

/* One command to (target, 0) with a data-in buffer of len bytes.
 * Returns the SCSI status, 0x100 + the virtio response when that is not
 * OK, or -1 when the device never answered. */
static int cmd(unsigned target, const uint8_t *cdb, unsigned cdb_len,
	       uint8_t *buf, uint32_t len)
{
	uint16_t n = nreq;
	memset(&req, 0, sizeof(req));
	req.lun[0] = 1;
	req.lun[1] = (uint8_t)target;
	req.lun[2] = 0x40;
	req.id = n;
	memcpy(req.cdb, cdb, cdb_len);
	memset(&resp, 0xff, sizeof(resp));
	desc[0] = (struct vdesc){ (uintptr_t)&req, sizeof(req), VRING_DESC_F_NEXT, 1 };
	desc[1] = (struct vdesc){ (uintptr_t)&resp, sizeof(resp),
				  VRING_DESC_F_WRITE | (len ? VRING_DESC_F_NEXT : 0), 2 };
	desc[2] = (struct vdesc){ (uintptr_t)buf, len, VRING_DESC_F_WRITE, 0 };
	avail.ring[n % VRING_QSZ] = 0;
	barrier();
	avail.idx = (uint16_t)(n + 1);
	barrier();
	if (notify_mmio)
		mmio_write32(notify, REQQ);
	else
		mmio_write16(notify, REQQ);
	for (unsigned long i = 0; i < 50000000ul; i++) {
		barrier();
		if (*(volatile uint16_t *)&used.idx == (uint16_t)(n + 1))
			break;
	}
	if (*(volatile uint16_t *)&used.idx != (uint16_t)(n + 1))
		return -1;
	nreq = (uint16_t)(n + 1);
	if (resp.response != 0)
		return 0x100 + resp.response;
	return resp.status;
}

/* The two transports' registers for what this driver does. */
struct vt {
	bool mmio;
	uint64_t base;       /* virtio-mmio window */
};

static uint8_t t_status(const struct vt *t)
{
	return t->mmio ? (uint8_t)mmio_read32(t->base + 0x70) : mmio_read8(common + 20);
}
static void t_set_status(const struct vt *t, uint8_t v)
{
	if (t->mmio)
		mmio_write32(t->base + 0x70, v);
	else
		mmio_write8(common + 20, v);
}
static uint32_t t_features(const struct vt *t, uint32_t w)
{
	if (t->mmio) {
		mmio_write32(t->base + 0x14, w);
		return mmio_read32(t->base + 0x10);
	}
	mmio_write32(common + 0, w);
	return mmio_read32(common + 4);
}
static void t_set_features(const struct vt *t, uint32_t w, uint32_t v)
{
	if (t->mmio) {
		mmio_write32(t->base + 0x24, w);
		mmio_write32(t->base + 0x20, v);
	} else {
		mmio_write32(common + 8, w);
		mmio_write32(common + 12, v);
	}
}
/* virtio-mmio §4.2.2 / virtio-pci common config §4.1.4.3: select the
 * request queue, size it, give the rings, enable it; sets `notify`. */
static int t_queue(const struct vt *t, uint32_t mult)
{
	if (t->mmio) {
		notify = t->base + 0x50;
		return vring_setup_mmio(t->base, REQQ, desc, &avail, &used);
	}
	uint16_t off;
	if (vring_setup_pci(common, REQQ, desc, &avail, &used, &off))
		return -1;
	notify += (uint64_t)off * mult;
	return 0;
}

static int vscsi_run(const struct vt *t, uint32_t mult, uint8_t *inq,
		     uint8_t *buf, unsigned *target, uint16_t *ua)
{
	/* §3.1.1 with VIRTIO_F_VERSION_1 only. */
	t_set_status(t, 0);
	if (t_status(t) != 0)
		return -1;
	t_set_status(t, 1);
	t_set_status(t, 3);
	if (!(t_features(t, 1) & 1))
		return -2;
	t_set_features(t, 0, 0);
	t_set_features(t, 1, 1);
	t_set_status(t, 11);
	if (!(t_status(t) & 8))
		return -3;
	memset(desc, 0, sizeof(desc));
	memset(&avail, 0, sizeof(avail));
	memset(&used, 0, sizeof(used));
	nreq = 0;
	avail.flags = 1;                              /* we poll */
	if (t_queue(t, mult) < 0)
		return -4;
	t_set_status(t, 15);
	/* Device config (type 4 cap) is not needed: the defaults cdb_size
	 * 32 and sense_size 96 are what the structures above hold. */
	int r = -5;
	for (unsigned tg = 0; tg < 8; tg++) {
		const uint8_t inquiry[6] = { 0x12, 0, 0, 0, 36, 0 };
		memset(inq, 0, 36);
		r = cmd(tg, inquiry, 6, inq, 36);
		if (r == 0x100 + 3)                       /* BAD_TARGET */
			continue;
		if (r != 0)
			return -6;
		if ((inq[0] & 0xe0) != 0)                 /* no LU here */
			continue;
		*target = tg;
		/* TEST UNIT READY first, as sd does: a logical unit reports
		 * its power-on unit attention (SAM-5 §6.2) once, on the first
		 * command that is not INQUIRY/REPORT LUNS/REQUEST SENSE. */
		const uint8_t tur[6] = { 0 };
		r = cmd(tg, tur, 6, buf, 0);
		*ua = r == 2 && (resp.sense[2] & 0xf) == 6 ?
		      (uint16_t)(resp.sense[12] << 8 | resp.sense[13]) : 0;
		if (r != 0 && !*ua)
			return -9;
		/* READ(10) of block 0, one 512-byte block. */
		const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
		r = cmd(tg, read10, 10, buf, 512);
		if (r != 0 || resp.residual != 0)
			return -7;
		t_set_status(t, 0);
		return 0;
	}
	t_set_status(t, 0);
	return r == 0x100 + 3 ? -8 : r;
}

int vscsi_read_pci(unsigned dev, unsigned fn, uint8_t *inq, uint8_t *buf,
		   unsigned *target, uint16_t *ua)
{
	pci_write16(dev, fn, 4, pci_read16(dev, fn, 4) | 0x6);
	if (!(pci_read16(dev, fn, 6) & 0x10))
		return -10;
	uint32_t mult = 0;
	common = notify = 0;
	unsigned ptr = pci_read8(dev, fn, 0x34) & 0xfc;
	for (unsigned k = 0; ptr && k < 48; k++) {
		if (pci_read8(dev, fn, ptr) == 0x09) {
			uint8_t type = pci_read8(dev, fn, ptr + 3);
			uint8_t bar = pci_read8(dev, fn, ptr + 4);
			uint64_t at = bar < 6 ? pci_bar(dev, fn, bar) +
				      pci_read32(dev, fn, ptr + 8) : 0;
			if (type == 1)
				common = at;
			else if (type == 2) {
				notify = at;
				mult = pci_read32(dev, fn, ptr + 16);
			}
		}
		ptr = pci_read8(dev, fn, ptr + 1) & 0xfc;
	}
	if (!common || !notify || common >= GUEST_MAPPED_TOP ||
	    notify >= GUEST_MAPPED_TOP)
		return -11;
	struct vt t = { false, 0 };
	notify_mmio = false;
	return vscsi_run(&t, mult, inq, buf, target, ua);
}

int vscsi_read_mmio(uint64_t base, uint8_t *inq, uint8_t *buf,
		    unsigned *target, uint16_t *ua)
{
	struct vt t = { true, base };
	notify_mmio = true;
	return vscsi_run(&t, 0, inq, buf, target, ua);
}
