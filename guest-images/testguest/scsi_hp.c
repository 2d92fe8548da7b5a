/* testguest.action=scsihp: the guest side of virtio-scsi LUN hot-plug,
 * as Linux's virtio_scsi does it but polled (virtio 1.2 §5.6.6.3.1):
 *   - find the virtio-scsi-pci on bus 0, negotiate VIRTIO_SCSI_F_HOTPLUG,
 *     set up the event queue (buffers posted) and the request queue;
 *     "scsihp waiting";
 *   - on a TRANSPORT_RESET event with reason RESCAN: the LU it names is
 *     scanned as Linux's scsi_add_device would (TEST UNIT READY clears
 *     its power-on attention), block 0 is read ("scsihp lun T:L sector0
 *     '...'");
 *   - on TRANSPORT_RESET/REMOVED for that LU: check the target no longer
 *     has it (INQUIRY: not connected, or BAD_TARGET) ("scsihp removed
 *     T:L"). */
#include "guest.h"
#include "vring.h"

#define EVQ 1
#define REQQ 2
#define F_HOTPLUG 2u      /* VIRTIO_SCSI_F_HOTPLUG, feature word 0 */
#define EV_TRANSPORT_RESET 1u
#define EV_RESCAN 1u
#define EV_REMOVED 2u

struct hp_req {
	uint8_t lun[8];
	uint64_t id;
	uint8_t task_attr, prio, crn;
	uint8_t cdb[32];
} __attribute__((packed));
struct hp_resp {
	uint32_t sense_len, residual;
	uint16_t status_qualifier;
	uint8_t status, response;
	uint8_t sense[96];
} __attribute__((packed));
struct hp_event {
	uint32_t event;
	uint8_t lun[8];
	uint32_t reason;
} __attribute__((packed));

static struct vdesc rdesc[VRING_QSZ] __attribute__((aligned(16)));
static struct vavail ravail __attribute__((aligned(2)));
static struct vused rused __attribute__((aligned(4)));
static struct vdesc edesc[VRING_QSZ] __attribute__((aligned(16)));
static struct vavail eavail __attribute__((aligned(2)));
static struct vused eused __attribute__((aligned(4)));
static struct hp_event evs[VRING_QSZ];
static struct hp_req req;
static struct hp_resp resp;
static uint8_t data[512] __attribute__((aligned(16)));
static uint64_t common, rnotify, enotify;
static uint16_t nreq, nev;

static int hp_cmd(unsigned target, unsigned lun, const uint8_t *cdb, unsigned cdb_len,
		  uint32_t len)
{
	uint16_t n = nreq;
	memset(&req, 0, sizeof(req));
	req.lun[0] = 1;
	req.lun[1] = (uint8_t)target;
	req.lun[2] = (uint8_t)(0x40 | lun >> 8);
	req.lun[3] = (uint8_t)lun;
	memcpy(req.cdb, cdb, cdb_len);
	memset(&resp, 0xff, sizeof(resp));
	rdesc[0] = (struct vdesc){ (uintptr_t)&req, sizeof(req), VRING_DESC_F_NEXT, 1 };
	rdesc[1] = (struct vdesc){ (uintptr_t)&resp, sizeof(resp),
				   VRING_DESC_F_WRITE | (len ? VRING_DESC_F_NEXT : 0), 2 };
	rdesc[2] = (struct vdesc){ (uintptr_t)data, len, VRING_DESC_F_WRITE, 0 };
	ravail.ring[n % VRING_QSZ] = 0;
	barrier();
	ravail.idx = (uint16_t)(n + 1);
	barrier();
	mmio_write16(rnotify, REQQ);
	for (unsigned long i = 0; i < 50000000ul; i++) {
		barrier();
		if (*(volatile uint16_t *)&rused.idx == (uint16_t)(n + 1))
			break;
	}
	if (*(volatile uint16_t *)&rused.idx != (uint16_t)(n + 1))
		return -1;
	nreq = (uint16_t)(n + 1);
	return resp.response ? 0x100 + resp.response : resp.status;
}

/* The next event (waits); its buffer goes back to the device. */
static struct hp_event next_event(void)
{
	while (*(volatile uint16_t *)&eused.idx == nev)
		barrier();
	unsigned id = eused.ring[nev % VRING_QSZ].id % VRING_QSZ;
	struct hp_event e = evs[id];
	nev++;
	eavail.ring[eavail.idx % VRING_QSZ] = (uint16_t)id;
	barrier();
	eavail.idx++;
	barrier();
	mmio_write16(enotify, EVQ);
	return e;
}

static void put_tl(unsigned target, unsigned lun)
{
	con_dec(target);
	con_puts(":");
	con_dec(lun);
}

unsigned scsihp_action(void)
{
	unsigned dev = 0;
	for (unsigned d = 1; d < 32 && !dev; d++) {
		uint32_t id = pci_read32(d, 0, 0);
		if (id == 0x10481af4u || id == 0x10041af4u)
			dev = d;
	}
	if (!dev) {
		say("scsihp no virtio-scsi-pci\n");
		return 1;
	}
	pci_write16(dev, 0, 4, pci_read16(dev, 0, 4) | 0x6);
	uint32_t mult = 0;
	uint64_t notify = 0;
	unsigned ptr = pci_read8(dev, 0, 0x34) & 0xfc;
	for (unsigned k = 0; ptr && k < 48; k++) {
		if (pci_read8(dev, 0, ptr) == 0x09) {
			uint8_t type = pci_read8(dev, 0, ptr + 3), bar = pci_read8(dev, 0, ptr + 4);
			uint64_t at = bar < 6 ? pci_bar(dev, 0, bar) + pci_read32(dev, 0, ptr + 8) : 0;
			if (type == 1)
				common = at;
			else if (type == 2) {
				notify = at;
				mult = pci_read32(dev, 0, ptr + 16);
			}
		}
		ptr = pci_read8(dev, 0, ptr + 1) & 0xfc;
	}
	if (!common || !notify || common >= GUEST_MAPPED_TOP || notify >= GUEST_MAPPED_TOP) {
		say("scsihp FAIL no modern interface\n");
		return 1;
	}
	/* §3.1.1: VERSION_1 and HOTPLUG. */
	mmio_write8(common + 20, 0);
	mmio_write8(common + 20, 1);
	mmio_write8(common + 20, 3);
	mmio_write32(common + 0, 0);
	uint32_t f0 = mmio_read32(common + 4);
	mmio_write32(common + 8, 0);
	mmio_write32(common + 12, f0 & F_HOTPLUG);
	mmio_write32(common + 8, 1);
	mmio_write32(common + 12, 1);
	mmio_write8(common + 20, 11);
	uint16_t eoff, roff;
	if (!(f0 & F_HOTPLUG) || !(mmio_read8(common + 20) & 8) ||
	    vring_setup_pci(common, EVQ, edesc, &eavail, &eused, &eoff) ||
	    vring_setup_pci(common, REQQ, rdesc, &ravail, &rused, &roff)) {
		say("scsihp FAIL negotiation or queues\n");
		return 1;
	}
	enotify = notify + (uint64_t)eoff * mult;
	rnotify = notify + (uint64_t)roff * mult;
	eavail.flags = ravail.flags = 1;                  /* we poll */
	for (unsigned i = 0; i < VRING_QSZ; i++) {
		edesc[i] = (struct vdesc){ (uintptr_t)&evs[i], sizeof(evs[i]), VRING_DESC_F_WRITE, 0 };
		eavail.ring[i] = (uint16_t)i;
	}
	barrier();
	eavail.idx = VRING_QSZ;
	mmio_write8(common + 20, 15);
	mmio_write16(enotify, EVQ);
	say("scsihp waiting\n");
	struct hp_event e;
	do
		e = next_event();
	while (e.event != EV_TRANSPORT_RESET || e.reason != EV_RESCAN);
	unsigned target = e.lun[1], lun = (unsigned)(e.lun[2] & 0x3f) << 8 | e.lun[3];
	say("scsihp event rescan ");
	put_tl(target, lun);
	con_puts("\n");
	const uint8_t tur[6] = { 0 };
	const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	int r = hp_cmd(target, lun, tur, 6, 0);     /* power-on attention */
	if (r == 2)
		r = hp_cmd(target, lun, tur, 6, 0);
	if (r == 0)
		r = hp_cmd(target, lun, read10, 10, 512);
	unsigned fails = 0;
	say("scsihp lun ");
	put_tl(target, lun);
	if (r == 0) {
		con_puts(" sector0 ");
		con_text(data, 48);
		con_puts("\n");
	} else {
		con_puts(" FAIL status ");
		con_hex((uint64_t)r);
		con_puts("\n");
		fails++;
	}
	do
		e = next_event();
	while (e.event != EV_TRANSPORT_RESET || e.reason != EV_REMOVED ||
	       e.lun[1] != target);
	const uint8_t inquiry[6] = { 0x12, 0, 0, 0, 36, 0 };
	r = hp_cmd(target, lun, inquiry, 6, 36);
	bool gone = r == 0x100 + 3 || (r == 0 && (data[0] & 0xe0) != 0);
	say(gone ? "scsihp removed " : "scsihp FAIL still there ");
	put_tl(target, lun);
	con_puts("\n");
	mmio_write8(common + 20, 0);
	return fails + !gone;
}
