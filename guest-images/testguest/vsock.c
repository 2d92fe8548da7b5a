/* testguest.action=vsock: a minimal virtio-vsock driver (virtio 1.2
 * §5.10) over virtio-mmio, polled.  rx (queue 0) holds VS_RXN buffers of
 * one descriptor each, tx (queue 1) sends one packet at a time, the
 * event queue (2) is set up and left alone.
 *
 *  1. The host connects (CONNECT 1234): the guest answers the REQUEST
 *     with RESPONSE and echoes every byte it gets until a '\n'.
 *  2. The guest connects to host port 5678, sends "hello-from-guest\n",
 *     and waits for the host's "ack\n".
 * Lines: "vsock mmio 0x... cid N", "vsock echoed N bytes",
 * "vsock host replied 'ack'", or "vsock FAIL <step>". */
#include "guest.h"
#include "vring.h"

#define MMIO_BASE 0xd0000000ull
#define MMIO_SLOTS 8
#define VS_RXN 4
#define VS_BUF 512
#define HOST_CID 2
#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define OP_CREDIT_UPDATE 6
#define GUEST_PORT_LISTEN 1234
#define HOST_PORT 5678
#define GUEST_PORT_OUT 4000
#define POLL_MAX 10000000ul

struct vs_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

struct vs_q {
	struct vdesc desc[VRING_QSZ] __attribute__((aligned(16)));
	struct vavail avail __attribute__((aligned(2)));
	struct vused used __attribute__((aligned(4)));
	uint16_t last_used;
};

static struct vs_q qs[3];
static uint8_t rxbuf[VS_RXN][VS_BUF] __attribute__((aligned(16)));
static uint8_t txbuf[VS_BUF] __attribute__((aligned(16)));
static uint64_t base, cid;
static uint32_t fwd_cnt;   /* bytes we consumed (one connection at a time) */

static void post_rx(unsigned i)
{
	struct vs_q *q = &qs[0];
	q->desc[i] = (struct vdesc){ (uintptr_t)rxbuf[i], VS_BUF, VRING_DESC_F_WRITE, 0 };
	q->avail.ring[q->avail.idx % VRING_QSZ] = (uint16_t)i;
	barrier();
	q->avail.idx++;
	barrier();
	mmio_write32(base + 0x50, 0);   /* QueueNotify */
}

static int send(uint32_t sport, uint32_t dport, uint16_t op, const void *d,
		uint32_t len)
{
	struct vs_q *q = &qs[1];
	struct vs_hdr h = { cid, HOST_CID, sport, dport, len, 1, op, 0,
			    VS_BUF * VS_RXN, fwd_cnt };
	if (op == OP_SHUTDOWN)
		h.flags = 3;
	memcpy(txbuf, &h, sizeof(h));
	memcpy(txbuf + sizeof(h), d, len);
	q->desc[0] = (struct vdesc){ (uintptr_t)txbuf, (uint32_t)sizeof(h) + len, 0, 0 };
	q->avail.ring[q->avail.idx % VRING_QSZ] = 0;
	barrier();
	q->avail.idx++;
	barrier();
	mmio_write32(base + 0x50, 1);
	for (unsigned long i = 0; i < POLL_MAX; i++) {
		barrier();
		if (*(volatile uint16_t *)&q->used.idx == q->avail.idx)
			return 0;
	}
	return -1;
}

/* Next packet from the device: header into h, payload into d (up to
 * cap); the buffer goes back to the device.  -1 on timeout. */
static int recv(struct vs_hdr *h, uint8_t *d, uint32_t cap)
{
	struct vs_q *q = &qs[0];
	unsigned long i;
	for (i = 0; i < POLL_MAX; i++) {
		barrier();
		if (*(volatile uint16_t *)&q->used.idx != q->last_used)
			break;
	}
	if (i == POLL_MAX)
		return -1;
	unsigned id = q->used.ring[q->last_used % VRING_QSZ].id % VS_RXN;
	q->last_used++;
	memcpy(h, rxbuf[id], sizeof(*h));
	uint32_t n = h->len < cap ? h->len : cap;
	if (n > VS_BUF - sizeof(*h))
		n = VS_BUF - sizeof(*h);
	memcpy(d, rxbuf[id] + sizeof(*h), n);
	post_rx(id);
	return (int)n;
}

static unsigned fail(const char *step)
{
	say("vsock FAIL ");
	con_puts(step);
	con_puts("\n");
	return 1;
}

static int setup(void)
{
	for (unsigned i = 0; i < MMIO_SLOTS; i++) {
		uint64_t b = MMIO_BASE + 0x1000ull * i;
		if (mmio_read32(b) == 0x74726976u && mmio_read32(b + 4) == 2 &&
		    mmio_read32(b + 8) == 19)
			base = b;
	}
	if (!base)
		return -1;
	mmio_write32(base + 0x70, 0);                   /* reset */
	mmio_write32(base + 0x70, 1 | 2);               /* ACK | DRIVER */
	mmio_write32(base + 0x14, 1);                   /* DeviceFeaturesSel */
	if (!(mmio_read32(base + 0x10) & 1))            /* VERSION_1 */
		return -2;
	mmio_write32(base + 0x24, 0);
	mmio_write32(base + 0x20, 0);
	mmio_write32(base + 0x24, 1);
	mmio_write32(base + 0x20, 1);
	mmio_write32(base + 0x70, 1 | 2 | 8);
	if (!(mmio_read32(base + 0x70) & 8))
		return -3;
	memset(qs, 0, sizeof(qs));
	for (unsigned q = 0; q < 3; q++) {
		qs[q].avail.flags = 1;                  /* no interrupts: we poll */
		if (vring_setup_mmio(base, q, qs[q].desc, &qs[q].avail, &qs[q].used) < 0)
			return -4;
	}
	mmio_write32(base + 0x70, 1 | 2 | 8 | 4);       /* DRIVER_OK */
	cid = mmio_read32(base + 0x100) | ((uint64_t)mmio_read32(base + 0x104) << 32);
	for (unsigned i = 0; i < VS_RXN; i++)
		post_rx(i);
	return 0;
}

unsigned vsock_action(void)
{
	struct vs_hdr h;
	static uint8_t d[VS_BUF];
	int n;
	if (setup() < 0)
		return fail("setup");
	say("vsock mmio ");
	con_hex(base);
	con_puts(" cid ");
	con_dec(cid);
	con_puts("\n");

	/* 1. The host's connection: answer, then echo up to '\n'. */
	do {
		if (recv(&h, d, sizeof(d)) < 0)
			return fail("no REQUEST from the host");
	} while (h.op != OP_REQUEST);
	if (h.dst_port != GUEST_PORT_LISTEN || h.src_cid != HOST_CID)
		return fail("REQUEST to the wrong port");
	uint32_t hport = h.src_port;
	fwd_cnt = 0;
	if (send(GUEST_PORT_LISTEN, hport, OP_RESPONSE, 0, 0) < 0)
		return fail("RESPONSE");
	uint32_t echoed = 0;
	int done = 0;
	while (!done) {
		if ((n = recv(&h, d, sizeof(d))) < 0)
			return fail("no data from the host");
		if (h.op != OP_RW || h.src_port != hport)
			continue;
		fwd_cnt += (uint32_t)n;
		if (send(GUEST_PORT_LISTEN, hport, OP_RW, d, (uint32_t)n) < 0)
			return fail("echo");
		echoed += (uint32_t)n;
		done = n > 0 && d[n - 1] == '\n';
	}
	say("vsock echoed ");
	con_dec(echoed);
	con_puts(" bytes\n");
	/* The host closes its side after reading the echo; either way we
	 * are done with this connection. */
	send(GUEST_PORT_LISTEN, hport, OP_RST, 0, 0);

	/* 2. Our connection to the host's listener. */
	fwd_cnt = 0;
	if (send(GUEST_PORT_OUT, HOST_PORT, OP_REQUEST, 0, 0) < 0)
		return fail("REQUEST");
	do {
		if (recv(&h, d, sizeof(d)) < 0)
			return fail("no RESPONSE from the host");
	} while (h.dst_port != GUEST_PORT_OUT);
	if (h.op != OP_RESPONSE)
		return fail("host refused the connection");
	static const char msg[] = "hello-from-guest\n";
	if (send(GUEST_PORT_OUT, HOST_PORT, OP_RW, msg, sizeof(msg) - 1) < 0)
		return fail("send");
	uint32_t got = 0;
	static uint8_t reply[16];
	while (got < 4) {
		if ((n = recv(&h, d, sizeof(d))) < 0)
			return fail("no reply from the host");
		if (h.dst_port != GUEST_PORT_OUT)
			continue;
		if (h.op != OP_RW)
			return fail("host closed without replying");
		for (int i = 0; i < n && got < sizeof(reply); i++)
			reply[got++] = d[i];
		fwd_cnt += (uint32_t)n;
	}
	say("vsock host replied ");
	con_text(reply, got > 3 ? 3 : got);
	con_puts("\n");
	send(GUEST_PORT_OUT, HOST_PORT, OP_SHUTDOWN, 0, 0);
	mmio_write32(base + 0x70, 0);   /* reset: the device lets go */
	return !(reply[0] == 'a' && reply[1] == 'c' && reply[2] == 'k');
}
