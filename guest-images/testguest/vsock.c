/* testguest.action=vsock: a minimal virtio-vsock driver (virtio 1.2
 * §5.10) over virtio-mmio or modern virtio-pci (bus 0), polled.  rx (queue 0) holds VS_RXN buffers of
 * one descriptor each, tx (queue 1) sends one packet at a time, the
 * event queue (2) is set up and left alone.
 *
 *  1. The host connects (CONNECT 1234): the guest answers the REQUEST
 *     with RESPONSE and echoes every byte it gets until a '\n'.
 *  2. The guest connects to host port 5678, sends "hello-from-guest\n",
 *     and waits for the host's "ack\n".
 * Lines: "vsock mmio|pci 0x... cid N", "vsock echoed N bytes",
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
/* virtio-mmio (base) or modern virtio-pci (common, notify, devcfg). */
static int is_pci;
static uint64_t common, notify_base, devcfg;
static uint32_t notify_mult;
static uint64_t qnotify[3];
static uint8_t rxbuf[VS_RXN][VS_BUF] __attribute__((aligned(16)));
static uint8_t txbuf[VS_BUF] __attribute__((aligned(16)));
static uint64_t base, cid;
static uint32_t fwd_cnt;   /* bytes we consumed (one connection at a time) */

static void kick(unsigned q)
{
	if (is_pci)
		mmio_write16(qnotify[q], (uint16_t)q);
	else
		mmio_write32(base + 0x50, q);   /* QueueNotify */
}

static void set_status(uint8_t st)
{
	if (is_pci)
		mmio_write8(common + 20, st);
	else
		mmio_write32(base + 0x70, st);
}

static uint8_t get_status(void)
{
	return is_pci ? mmio_read8(common + 20) : (uint8_t)mmio_read32(base + 0x70);
}

/* The modern virtio-pci structures through the vendor capabilities
 * (§4.1.4): common (1), notify (2) and device (4) config. */
static int pci_find(void)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		/* Modern 0x1040 + 19, or the transitional id QEMU gives
		 * vsock (0x1012), driven through its modern interface. */
		uint32_t id = pci_read32(dev, 0, 0);
		if (id != 0x10531af4u && id != 0x10121af4u)
			continue;
		pci_write16(dev, 0, 4, pci_read16(dev, 0, 4) | 0x6);
		unsigned ptr = pci_read8(dev, 0, 0x34) & 0xfc;
		for (unsigned n = 0; ptr && n < 48; n++) {
			if (pci_read8(dev, 0, ptr) == 0x09) {
				uint8_t type = pci_read8(dev, 0, ptr + 3);
				uint8_t bar = pci_read8(dev, 0, ptr + 4);
				uint64_t at = bar < 6 ? pci_bar(dev, 0, bar) +
					      pci_read32(dev, 0, ptr + 8) : 0;
				if (type == 1)
					common = at;
				else if (type == 2) {
					notify_base = at;
					notify_mult = pci_read32(dev, 0, ptr + 16);
				} else if (type == 4)
					devcfg = at;
			}
			ptr = pci_read8(dev, 0, ptr + 1) & 0xfc;
		}
		if (!common || !notify_base || !devcfg || common >= GUEST_MAPPED_TOP)
			return -1;
		is_pci = 1;
		base = common;
		return 0;
	}
	return -1;
}

static void post_rx(unsigned i)
{
	struct vs_q *q = &qs[0];
	q->desc[i] = (struct vdesc){ (uintptr_t)rxbuf[i], VS_BUF, VRING_DESC_F_WRITE, 0 };
	q->avail.ring[q->avail.idx % VRING_QSZ] = (uint16_t)i;
	barrier();
	q->avail.idx++;
	barrier();
	kick(0);
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
	kick(1);
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
	if (!base && pci_find() < 0)
		return -1;
	set_status(0);                                  /* reset */
	set_status(1 | 2);                              /* ACK | DRIVER */
	/* Accept VIRTIO_F_VERSION_1 (bit 32) only. */
	uint64_t fsel = is_pci ? common + 0 : base + 0x14;
	uint64_t fval = is_pci ? common + 4 : base + 0x10;
	uint64_t dsel = is_pci ? common + 8 : base + 0x24;
	uint64_t dval = is_pci ? common + 12 : base + 0x20;
	mmio_write32(fsel, 1);
	if (!(mmio_read32(fval) & 1))
		return -2;
	mmio_write32(dsel, 0);
	mmio_write32(dval, 0);
	mmio_write32(dsel, 1);
	mmio_write32(dval, 1);
	set_status(1 | 2 | 8);
	if (!(get_status() & 8))
		return -3;
	memset(qs, 0, sizeof(qs));
	for (unsigned q = 0; q < 3; q++) {
		qs[q].avail.flags = 1;                  /* no interrupts: we poll */
		if (is_pci) {
			uint16_t off;
			if (vring_setup_pci(common, q, qs[q].desc, &qs[q].avail,
					    &qs[q].used, &off) < 0)
				return -4;
			qnotify[q] = notify_base + (uint64_t)off * notify_mult;
		} else if (vring_setup_mmio(base, q, qs[q].desc, &qs[q].avail,
					    &qs[q].used) < 0) {
			return -4;
		}
	}
	set_status(1 | 2 | 8 | 4);                      /* DRIVER_OK */
	uint64_t cfg = is_pci ? devcfg : base + 0x100;  /* §5.10.4 guest_cid */
	cid = mmio_read32(cfg) | ((uint64_t)mmio_read32(cfg + 4) << 32);
	for (unsigned i = 0; i < VS_RXN; i++)
		post_rx(i);
	return 0;
}

unsigned vsock_action(void)
{
	struct vs_hdr h;
	static uint8_t d[VS_BUF];
	int n;
	int r = setup();
	if (r < 0) {
		say("vsock setup step ");
		con_dec((uint64_t)-r);
		con_puts("\n");
		return fail("setup");
	}
	say(is_pci ? "vsock pci " : "vsock mmio ");
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
	set_status(0);   /* reset: the device lets go */
	return !(reply[0] == 'a' && reply[1] == 'c' && reply[2] == 'k');
}

/* Connect from guest port gport to the host's listener (HOST_PORT),
 * send a line, read "ack".  0, or 1 with a FAIL line. */
static unsigned hello_host(uint32_t gport)
{
	struct vs_hdr h;
	static uint8_t d[VS_BUF];
	int n;
	fwd_cnt = 0;
	if (send(gport, HOST_PORT, OP_REQUEST, 0, 0) < 0)
		return fail("REQUEST");
	do {
		if (recv(&h, d, sizeof(d)) < 0)
			return fail("no RESPONSE from the host");
	} while (h.dst_port != gport);
	if (h.op != OP_RESPONSE)
		return fail("host refused the connection");
	static const char msg[] = "hello-from-guest\n";
	if (send(gport, HOST_PORT, OP_RW, msg, sizeof(msg) - 1) < 0)
		return fail("send");
	uint8_t reply[4] = { 0 };
	uint32_t got = 0;
	while (got < 3) {
		if ((n = recv(&h, d, sizeof(d))) < 0)
			return fail("no reply from the host");
		if (h.dst_port != gport)
			continue;
		if (h.op != OP_RW)
			return fail("host closed without replying");
		for (int i = 0; i < n && got < 3; i++)
			reply[got++] = d[i];
		fwd_cnt += (uint32_t)n;
	}
	say("vsock port ");
	con_dec(gport);
	con_puts(" host replied ");
	con_text(reply, 3);
	con_puts("\n");
	return !(reply[0] == 'a' && reply[1] == 'c' && reply[2] == 'k');
}

/* testguest.action=vsocksnap (tests/integration/test_kvm_vhost_snapshot.sh):
 * a connection to the host is open when the VM is saved; the restoring
 * VMM cannot have it, so it sends VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on
 * the event queue (virtio 1.2 §5.10.6.6): the guest sees the event, data
 * on the old connection gets RST, and a new connection reaches the
 * restoring VMM's listener. */
unsigned vsock_snap_action(void)
{
	static volatile uint32_t evbuf;
	struct vs_hdr h;
	static uint8_t d[VS_BUF];
	if (setup() < 0)
		return fail("setup");
	say("vsock cid ");
	con_dec(cid);
	con_puts("\n");
	/* One event buffer, as Linux keeps its event queue filled. */
	struct vs_q *e = &qs[2];
	evbuf = 0xffffffffu;
	e->desc[0] = (struct vdesc){ (uintptr_t)&evbuf, 4, VRING_DESC_F_WRITE, 0 };
	e->avail.ring[0] = 0;
	barrier();
	e->avail.idx = 1;
	barrier();
	kick(2);
	if (hello_host(GUEST_PORT_OUT))
		return 1;
	snap_pause();
	unsigned long i;
	for (i = 0; i < POLL_MAX; i++) {
		barrier();
		if (*(volatile uint16_t *)&e->used.idx == 1)
			break;
	}
	if (i == POLL_MAX)
		return fail("no event after the restore");
	say("vsock event id ");
	con_dec(evbuf);
	con_puts(evbuf == 0 ? " (TRANSPORT_RESET)\n" : "\n");
	/* The connection of before is gone. */
	fwd_cnt = 0;
	if (send(GUEST_PORT_OUT, HOST_PORT, OP_RW, "x", 1) < 0)
		return fail("send on the old connection");
	do {
		if (recv(&h, d, sizeof(d)) < 0)
			return fail("no answer on the old connection");
	} while (h.dst_port != GUEST_PORT_OUT);
	if (h.op == OP_RST)
		say("vsock old connection reset\n");
	else
		return fail("the old connection answered");
	unsigned failed = hello_host(GUEST_PORT_OUT + 1);
	set_status(0);
	return failed + (evbuf != 0);
}
