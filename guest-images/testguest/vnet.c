/* testguest.action=net-mq: the guest side of virtio-net multiqueue
 * (virtio 1.2 §5.1.6.5.5) on the first virtio-net-pci of bus 0, through
 * its modern interface, polled: negotiate VERSION_1, CTRL_VQ and MQ,
 * read max_virtqueue_pairs, ask for one pair too many (the device must
 * answer VIRTIO_NET_ERR), then for all of them (VIRTIO_NET_OK), and send
 * one frame on the last pair's transmit queue, which the host catches on
 * the tap.  Lines:
 *   testguest: virtio-net mq slot S max pairs N
 *   testguest: virtio-net mq pairs-set N+1 ack 1
 *   testguest: virtio-net mq pairs-set N ack 0
 *   testguest: virtio-net mq sent on pair N-1
 *   testguest: done, K failed
 * then it spins until the host stops the VMM (it checks the tap first). */
#include "guest.h"
#include "vring.h"

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define F_CTRL_VQ 17
#define F_MQ 22

struct vnq {
	struct vdesc desc[VRING_QSZ] __attribute__((aligned(16)));
	struct vavail avail __attribute__((aligned(2)));
	struct vused used __attribute__((aligned(4)));
	uint64_t notify;
};

static struct vnq ctrlq, txq;
static uint8_t cmd[4] __attribute__((aligned(8)));
static volatile uint8_t ack;
static uint8_t frame[12 + 60] __attribute__((aligned(16)));

struct vnet_regs {
	uint64_t common, notify, device;
	uint32_t mult;
};

static int caps(unsigned dev, unsigned fn, struct vnet_regs *r)
{
	pci_write16(dev, fn, 4, pci_read16(dev, fn, 4) | 0x6);
	unsigned ptr = pci_read8(dev, fn, 0x34) & 0xfc;
	for (unsigned n = 0; ptr && n < 48; n++) {
		if (pci_read8(dev, fn, ptr) == 0x09) {
			uint8_t type = pci_read8(dev, fn, ptr + 3);
			uint8_t bar = pci_read8(dev, fn, ptr + 4);
			uint64_t at = bar < 6 ? pci_bar(dev, fn, bar) +
				      pci_read32(dev, fn, ptr + 8) : 0;
			if (type == 1)
				r->common = at;
			else if (type == 2) {
				r->notify = at;
				r->mult = pci_read32(dev, fn, ptr + 16);
			} else if (type == 4)
				r->device = at;
		}
		ptr = pci_read8(dev, fn, ptr + 1) & 0xfc;
	}
	return r->common && r->notify && r->device &&
	       r->common < GUEST_MAPPED_TOP && r->notify < GUEST_MAPPED_TOP &&
	       r->device < GUEST_MAPPED_TOP ? 0 : -1;
}

static int queue(const struct vnet_regs *r, unsigned q, struct vnq *v)
{
	uint16_t off;
	memset(v, 0, sizeof(*v));
	if (vring_setup_pci(r->common, q, v->desc, &v->avail, &v->used, &off))
		return -1;
	v->notify = r->notify + (uint64_t)off * r->mult;
	v->avail.flags = 1;   /* we poll */
	return 0;
}

/* Post chain desc[0..n) of v, kick queue q, wait for it to come back. */
static int run(struct vnq *v, unsigned q, unsigned n)
{
	uint16_t want = (uint16_t)(v->avail.idx + 1);
	v->avail.ring[v->avail.idx % VRING_QSZ] = 0;
	(void)n;
	barrier();
	v->avail.idx = want;
	barrier();
	mmio_write16(v->notify, (uint16_t)q);
	for (unsigned long i = 0; i < 50000000ul; i++) {
		barrier();
		if (*(volatile uint16_t *)&v->used.idx == want)
			return 0;
	}
	return -1;
}

static int pairs_set(unsigned cq, uint16_t pairs)
{
	cmd[0] = 4;   /* VIRTIO_NET_CTRL_MQ */
	cmd[1] = 0;   /* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET */
	cmd[2] = (uint8_t)pairs;
	cmd[3] = (uint8_t)(pairs >> 8);
	ack = 0xee;
	ctrlq.desc[0] = (struct vdesc){ (uintptr_t)cmd, 4, VRING_DESC_F_NEXT, 1 };
	ctrlq.desc[1] = (struct vdesc){ (uintptr_t)&ack, 1, VRING_DESC_F_WRITE, 0 };
	if (run(&ctrlq, cq, 2))
		return -1;
	say("virtio-net mq pairs-set ");
	con_dec(pairs);
	con_puts(" ack ");
	con_dec(ack);
	con_puts("\n");
	return ack;
}

static unsigned net_mq(unsigned slot)
{
	struct vnet_regs r = { 0, 0, 0, 0 };
	unsigned dev = slot;
	if (caps(dev, 0, &r))
		return 1;
	mmio_write8(r.common + 20, 0);
	mmio_write8(r.common + 20, ST_ACK);
	mmio_write8(r.common + 20, ST_ACK | ST_DRIVER);
	mmio_write32(r.common + 0, 0);
	uint32_t f0 = mmio_read32(r.common + 4);
	if (!(f0 & (1u << F_CTRL_VQ)) || !(f0 & (1u << F_MQ)))
		return 1;
	mmio_write32(r.common + 8, 0);
	mmio_write32(r.common + 12, (1u << F_CTRL_VQ) | (1u << F_MQ));
	mmio_write32(r.common + 8, 1);
	mmio_write32(r.common + 12, 1);   /* VIRTIO_F_VERSION_1 */
	mmio_write8(r.common + 20, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(mmio_read8(r.common + 20) & ST_FEATURES_OK))
		return 1;
	uint16_t max = mmio_read16(r.device + 8);   /* max_virtqueue_pairs */
	say("virtio-net mq slot ");
	con_dec(slot);
	con_puts(" max pairs ");
	con_dec(max);
	con_puts("\n");
	if (max < 2)
		return 1;
	unsigned cq = 2u * max, tq = 2u * (max - 1u) + 1u;
	if (queue(&r, cq, &ctrlq) || queue(&r, tq, &txq))
		return 1;
	mmio_write8(r.common + 20, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	unsigned failed = 0;
	failed += pairs_set(cq, (uint16_t)(max + 1)) != 1;
	failed += pairs_set(cq, max) != 0;
	/* A broadcast frame, experimental ethertype, a marker the host finds. */
	memset(frame, 0, sizeof(frame));
	memset(frame + 12, 0xff, 6);
	frame[12 + 6] = 0x52;
	frame[12 + 7] = 0x54;
	frame[12 + 11] = 0x07;
	frame[12 + 12] = 0x88;
	frame[12 + 13] = 0xb5;
	memcpy(frame + 12 + 14, "VMM-MQ-LAST-PAIR", 16);
	txq.desc[0] = (struct vdesc){ (uintptr_t)frame, sizeof(frame), 0, 0 };
	if (run(&txq, tq, 1)) {
		failed++;
	} else {
		say("virtio-net mq sent on pair ");
		con_dec(max - 1u);
		con_puts("\n");
	}
	return failed;
}

unsigned vnet_mq_action(void)
{
	for (unsigned slot = 0; slot < 32; slot++) {
		uint32_t id = pci_read32(slot, 0, 0);
		if (id == 0x10001af4u || id == 0x10411af4u)
			return net_mq(slot);
	}
	say("virtio-net mq: no virtio-net-pci on bus 0\n");
	return 1;
}
