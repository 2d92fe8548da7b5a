/* testguest.snap-blk (with testguest.action=snap): virtio-blk requests
 * across a save and restore (tests/integration/test_kvm_snapshot.sh,
 * the disk on an I/O thread with num-queues=2).
 *   - queue 0 carries traffic the whole time the guest waits to be
 *     saved: one read of sector 0 in flight, its doorbell rung, the next
 *     one as soon as it completes, so the save finds a request kicked and
 *     in flight or just kicked and not yet taken by the I/O thread;
 *   - queue 1 holds one read published with no doorbell at all: in the
 *     stream it looks exactly like a request whose doorbell was still in
 *     the ioeventfd when a vmm without the drain saved, which only the
 *     restoring VMM's kick after the load can complete.
 * After the restore both must complete (polled, bounded), every read
 * must have returned sector 0.  virtio 1.2 §4.2 (MMIO), §5.2 (block,
 * VIRTIO_BLK_F_MQ bit 12, num_queues at config offset 34). */
#include "guest.h"
#include "vring.h"

#define MMIO_BASE 0xd0000000ull
#define MMIO_SLOTS 8
#define CFG 0x100
#define F_MQ (1u << 12)
#define POLLS 1000000ul   /* about a second of emulated guest code */

struct sb_req {
	uint32_t type, reserved;
	uint64_t sector;
};

struct sb_q {
	struct vdesc desc[VRING_QSZ] __attribute__((aligned(16)));
	struct vavail avail __attribute__((aligned(2)));
	struct vused used __attribute__((aligned(4)));
	struct sb_req req;
	uint8_t buf[512];
	volatile uint8_t status;
	uint16_t sent;
};

static struct sb_q sq[2];
static uint64_t sb_base;
static unsigned sb_done, sb_bad;

static uint16_t used_idx(struct sb_q *q)
{
	return *(volatile uint16_t *)&q->used.idx;
}

static bool sector0(const uint8_t *b)
{
	static const char want[] = "VMM-TESTGUEST-DISK";
	for (unsigned i = 0; i < sizeof(want) - 1; i++)
		if (b[i] != (uint8_t)want[i])
			return false;
	return true;
}

/* Publish one read of sector 0 on q (the previous one completed). */
static void publish(struct sb_q *q)
{
	memset(q->buf, 0, sizeof(q->buf));
	q->status = 0xff;
	q->req = (struct sb_req){ 0, 0, 0 };   /* VIRTIO_BLK_T_IN */
	q->desc[0] = (struct vdesc){ (uintptr_t)&q->req, sizeof(q->req), VRING_DESC_F_NEXT, 1 };
	q->desc[1] = (struct vdesc){ (uintptr_t)q->buf, 512,
				     VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 };
	q->desc[2] = (struct vdesc){ (uintptr_t)&q->status, 1, VRING_DESC_F_WRITE, 0 };
	q->avail.ring[q->sent % VRING_QSZ] = 0;
	barrier();
	q->avail.idx = ++q->sent;
	barrier();
}

static void kick(unsigned qi)
{
	mmio_write32(sb_base + 0x50, qi);      /* QueueNotify */
}

unsigned snapblk_start(void)
{
	for (unsigned i = 0; i < MMIO_SLOTS && !sb_base; i++) {
		uint64_t b = MMIO_BASE + 0x1000ull * i;
		if (mmio_read32(b) == 0x74726976u && mmio_read32(b + 4) == 2 &&
		    mmio_read32(b + 8) == 2)
			sb_base = b;
	}
	if (!sb_base) {
		say("snap blk FAIL no virtio-blk on virtio-mmio\n");
		return 1;
	}
	uint64_t b = sb_base;
	mmio_write32(b + 0x70, 0);
	mmio_write32(b + 0x70, 1);
	mmio_write32(b + 0x70, 3);
	mmio_write32(b + 0x14, 0);
	uint32_t f0 = mmio_read32(b + 0x10);
	mmio_write32(b + 0x14, 1);
	uint32_t f1 = mmio_read32(b + 0x10);
	if (!(f0 & F_MQ) || !(f1 & 1)) {
		say("snap blk FAIL no VIRTIO_BLK_F_MQ or VERSION_1 offered\n");
		return 1;
	}
	mmio_write32(b + 0x24, 0);
	mmio_write32(b + 0x20, F_MQ);
	mmio_write32(b + 0x24, 1);
	mmio_write32(b + 0x20, 1);
	mmio_write32(b + 0x70, 3 | 8);
	if (!(mmio_read32(b + 0x70) & 8) || mmio_read16(b + CFG + 34) < 2) {
		say("snap blk FAIL features or num_queues\n");
		return 1;
	}
	for (unsigned i = 0; i < 2; i++) {
		memset(&sq[i], 0, sizeof(sq[i]));
		sq[i].avail.flags = 1;          /* no interrupts: we poll */
		if (vring_setup_mmio(b, i, sq[i].desc, &sq[i].avail, &sq[i].used) < 0) {
			say("snap blk FAIL queue setup\n");
			return 1;
		}
	}
	mmio_write32(b + 0x70, 3 | 8 | 4);      /* DRIVER_OK */
	publish(&sq[1]);                        /* never notified */
	publish(&sq[0]);
	kick(0);
	return 0;
}

/* One step of queue 0's traffic: the next read once the last is done. */
void snapblk_poll(void)
{
	struct sb_q *q = &sq[0];
	if (!sb_base || used_idx(q) != q->sent)
		return;
	if (q->status != 0 || !sector0(q->buf))
		sb_bad++;
	sb_done++;
	publish(q);
	kick(0);
}

unsigned snapblk_finish(void)
{
	unsigned failed = 0;
	if (!sb_base)
		return 1;
	unsigned long i;
	for (i = 0; i < POLLS && (used_idx(&sq[0]) != sq[0].sent ||
				  used_idx(&sq[1]) != 1); i++)
		barrier();
	if (used_idx(&sq[0]) == sq[0].sent && sq[0].status == 0 && sector0(sq[0].buf) &&
	    !sb_bad) {
		say("snap blk in-flight reads ok after ");
		con_dec(sb_done + 1);
		con_puts(" requests\n");
	} else {
		say("snap blk FAIL queue 0 request lost or wrong\n");
		failed++;
	}
	if (used_idx(&sq[1]) == 1 && sq[1].status == 0 && sector0(sq[1].buf)) {
		say("snap blk unnotified request completed\n");
	} else {
		say("snap blk FAIL queue 1 request never seen\n");
		failed++;
	}
	mmio_write32(sb_base + 0x70, 0);       /* reset: let go of the rings */
	return failed;
}
