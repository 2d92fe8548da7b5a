/* Network backends: the in-memory loop (loopback, capture, bounds, flow
 * control) and the tap backend with its vnet header, both directions,
 * inside a private network namespace.
 *
 * Also the helper for tests/integration/test_tap_netns.sh:
 *   test_netdev --tap-responder IFNAME COUNT
 * runs virtio-net with the tap backend under the simulator, the sim guest
 * driver playing a guest at 10.0.0.2 that answers ARP and echoes UDP
 * datagrams, and exits 0 after echoing COUNT of them (1 after 30 s). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "tests/unit/skip.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/netdev.h"
#include "devices/virtio/net.h"
#include "vdev_fixture.h"

#define HL NETDEV_HDR_LEN

struct catcher {
	bool room;
	unsigned n;
	size_t last_len;
	uint8_t last[NETDEV_MAX_FRAME];
	/* Frames carrying `mark` at byte mark_off: the one a test sent, told
	 * apart from other traffic (IPv6 router solicitations, MLD). */
	const char *mark;
	size_t mark_off;
	unsigned marked;
	size_t marked_len;
};

static bool c_can(void *o)
{
	return ((struct catcher *)o)->room;
}

static void c_recv(void *o, const uint8_t *f, size_t len)
{
	struct catcher *c = o;
	c->n++;
	c->last_len = len;
	memcpy(c->last, f, len);
	if (c->mark && len >= c->mark_off + strlen(c->mark) &&
	    !memcmp(f + c->mark_off, c->mark, strlen(c->mark))) {
		c->marked++;
		c->marked_len = len;
	}
}

static struct iovec iov1(void *p, size_t n)
{
	struct iovec v = { p, n };
	return v;
}

static void test_loop_capture(void **state)
{
	(void)state;
	struct netdev *nd = netdev_loop_new("l", false);
	uint8_t f[HL + 60];
	memset(f, 0, sizeof(f));
	f[HL] = 0xaa;
	/* Gathered from two pieces. */
	struct iovec v[2] = { iov1(f, HL), iov1(f + HL, 60) };
	assert_int_equal(netdev_send(nd, v, 2), 0);
	assert_int_equal(netdev_loop_pending_tx(nd), 1);
	uint8_t out[128];
	assert_int_equal(netdev_loop_take(nd, out, 10), -ENOSPC);
	assert_int_equal(netdev_loop_take(nd, out, sizeof(out)), HL + 60);
	assert_int_equal(out[HL], 0xaa);
	assert_int_equal(netdev_loop_take(nd, out, sizeof(out)), 0);
	/* Runts and giants are refused. */
	v[0] = iov1(f, 4);
	assert_int_equal(netdev_send(nd, v, 1), -EINVAL);
	assert_int_equal(nd->tx_errors, 1);
	/* The largest frame passes, one byte more does not. */
	uint8_t *giant = calloc(1, NETDEV_MAX_FRAME + 1);
	v[0] = iov1(giant, NETDEV_MAX_FRAME + 1);
	assert_int_equal(netdev_send(nd, v, 1), -EINVAL);
	assert_int_equal(nd->tx_errors, 2);
	v[0] = iov1(giant, NETDEV_MAX_FRAME);
	assert_int_equal(netdev_send(nd, v, 1), 0);
	assert_int_equal(netdev_loop_take(nd, giant, NETDEV_MAX_FRAME), NETDEV_MAX_FRAME);
	free(giant);
	/* Bounded capture. */
	v[0] = iov1(f, sizeof(f));
	for (unsigned i = 0; i < NETDEV_LOOP_QLEN; i++)
		assert_int_equal(netdev_send(nd, v, 1), 0);
	assert_int_equal(netdev_send(nd, v, 1), -ENOBUFS);
	netdev_loop_fail_send(nd, EAGAIN);
	assert_int_equal(netdev_send(nd, v, 1), -EAGAIN);
	netdev_close(nd);
	netdev_close(NULL);
}

static void test_loop_rx_flow_control(void **state)
{
	(void)state;
	struct netdev *nd = netdev_loop_new("l", true);
	struct catcher *c = calloc(1, sizeof(*c));
	struct netdev_frontend fe = { c_can, c_recv, c };
	/* Nothing attached: frames wait. */
	uint8_t f[HL + 20] = { 0 };
	assert_int_equal(netdev_loop_inject(nd, f, sizeof(f)), 0);
	assert_int_equal(netdev_loop_pending_rx(nd), 1);
	netdev_attach(nd, &fe);
	netdev_accept_input(nd); /* front end full still */
	assert_int_equal(c->n, 0);
	c->room = true;
	netdev_accept_input(nd);
	assert_int_equal(c->n, 1);
	assert_int_equal(nd->rx_frames, 1);
	/* Loopback: what is sent comes back. */
	f[HL] = 0x77;
	struct iovec v = iov1(f, sizeof(f));
	assert_int_equal(netdev_send(nd, &v, 1), 0);
	assert_int_equal(c->n, 2);
	assert_int_equal(c->last[HL], 0x77);
	/* Full front end: loopback frames queue to the bound, then drop. */
	c->room = false;
	for (unsigned i = 0; i < NETDEV_LOOP_QLEN; i++)
		assert_int_equal(netdev_send(nd, &v, 1), 0);
	assert_int_equal(netdev_send(nd, &v, 1), -ENOBUFS);
	assert_int_equal(nd->rx_dropped, 1);
	assert_int_equal(netdev_loop_inject(nd, f, sizeof(f)), -ENOBUFS);
	assert_int_equal(netdev_loop_inject(nd, f, 3), -EINVAL);
	netdev_detach(nd);
	assert_false(netdev_deliver(nd, f, sizeof(f)));
	assert_int_equal(netdev_set_offload(nd, NETDEV_OFF_CSUM), 0);
	assert_int_equal(nd->offload, NETDEV_OFF_CSUM);
	netdev_close(nd);
	free(c);
}

/* ---- tap, in a private network namespace (forked child) ---- */

static int if_up(const char *name)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq r;
	memset(&r, 0, sizeof(r));
	snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", name);
	int rc = ioctl(s, SIOCGIFFLAGS, &r);
	r.ifr_flags |= IFF_UP;
	if (!rc)
		rc = ioctl(s, SIOCSIFFLAGS, &r);
	close(s);
	return rc;
}

static int packet_socket(const char *name)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (s < 0)
		return -1;
	struct sockaddr_ll a = { .sll_family = AF_PACKET,
				 .sll_protocol = htons(ETH_P_ALL),
				 .sll_ifindex = (int)if_nametoindex(name) };
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* Waiting in the tap test: on the fd, until a deadline, never for a
 * fixed number of rounds (a loaded machine once outran 200 x 1 ms). */
#define TAP_WAIT_MS 10000

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* true when fd became readable before the deadline. */
static bool wait_readable(int fd, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return false;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

/* The packet socket's next frame carrying "to-host" (other traffic on
 * the link is skipped): its length, or -1 at the deadline. */
static ssize_t recv_marked(int ps, uint8_t *buf, size_t len, int64_t deadline)
{
	while (wait_readable(ps, deadline)) {
		ssize_t n = recv(ps, buf, len, 0);
		if (n >= 21 && buf[12] == 0x88 && buf[13] == 0xb5 &&
		    !memcmp(buf + 14, "to-host", 7))
			return n;
	}
	return -1;
}

/* Returns 0 pass, 77 skip, else the failing step. */
static int tap_child(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		return 77;
	char name[IFNAMSIZ];
	struct netdev *nd = netdev_tap_open("t0", "vdevtest0", -1, NULL, name,
					    sizeof(name));
	if (!nd)
		return errno == EPERM || errno == ENOENT || errno == ENODEV ? 77 : 2;
	if (strcmp(name, "vdevtest0") || netdev_tap_fd(nd) < 0)
		return 3;
	if (if_up(name))
		return 4;
	if (netdev_set_offload(nd, NETDEV_OFF_CSUM | NETDEV_OFF_TSO4 |
				   NETDEV_OFF_TSO6 | NETDEV_OFF_ECN | NETDEV_OFF_UFO))
		return 5;
	if (netdev_set_offload(nd, 0))
		return 6;
	int ps = packet_socket(name);
	if (ps < 0)
		return 7;
	/* Guest -> host: a frame with a zero vnet header. */
	uint8_t f[HL + 60];
	memset(f, 0, sizeof(f));
	memset(f + HL, 0xff, 6);                 /* broadcast */
	memcpy(f + HL + 6, "\x52\x54\x00\x00\x00\x01", 6);
	f[HL + 12] = 0x88;                       /* local experimental */
	f[HL + 13] = 0xb5;
	memcpy(f + HL + 14, "to-host", 7);
	struct iovec v = iov1(f, sizeof(f));
	if (netdev_send(nd, &v, 1))
		return 8;
	uint8_t got[2048];
	if (recv_marked(ps, got, sizeof(got), mono_ms() + TAP_WAIT_MS) != 60)
		return 9;
	/* Host -> guest: the backend prefixes the vnet header. */
	struct catcher *c = calloc(1, sizeof(*c));
	c->room = true;
	c->mark = "to-guest";
	c->mark_off = HL + 14;
	struct netdev_frontend fe = { c_can, c_recv, c };
	netdev_attach(nd, &fe);
	memcpy(got, "\x52\x54\x00\x00\x00\x01", 6);
	memcpy(got + 6, "\x52\x54\x00\x00\x00\x02", 6);
	got[12] = 0x88;
	got[13] = 0xb5;
	memcpy(got + 14, "to-guest", 8);
	if (send(ps, got, 64, 0) != 64)
		return 10;
	/* Other traffic (IPv6 router solicitations) may come too. */
	int64_t deadline = mono_ms() + TAP_WAIT_MS;
	while (!c->marked && wait_readable(netdev_tap_fd(nd), deadline))
		netdev_tap_poll(nd);
	if (c->marked != 1 || c->marked_len != HL + 64)
		return 11;
	/* Front end full: nothing is read, though a frame is waiting (the tap
	 * fd is readable). */
	c->room = false;
	c->n = 0;
	if (send(ps, got, 64, 0) != 64)
		return 12;
	if (!wait_readable(netdev_tap_fd(nd), mono_ms() + TAP_WAIT_MS))
		return 12;
	netdev_tap_poll(nd);
	if (c->n)
		return 12;
	/* A flood: one poll takes at most NETDEV_TAP_POLL_MAX frames, the
	 * next polls the rest (the loop calls again while it is readable). */
	c->room = true;
	for (unsigned i = 0; i < 3 * NETDEV_TAP_POLL_MAX; i++)
		if (send(ps, got, 64, 0) != 64)
			return 14;
	/* send() on the packet socket queues on the tap synchronously. */
	if (netdev_tap_poll(nd) != NETDEV_TAP_POLL_MAX)
		return 15;
	unsigned total = NETDEV_TAP_POLL_MAX;
	for (int i = 0; i < 200 && total < 3 * NETDEV_TAP_POLL_MAX; i++) {
		int k = netdev_tap_poll(nd);
		if (k > NETDEV_TAP_POLL_MAX)
			return 16;
		total += (unsigned)k;
		if (!k) {
			struct pollfd pf = { .fd = netdev_tap_fd(nd), .events = POLLIN };
			poll(&pf, 1, 10);
		}
	}
	if (total < 3 * NETDEV_TAP_POLL_MAX)
		return 17;
	netdev_close(nd);
	close(ps);
	free(c);
	/* A bad interface name. */
	if (netdev_tap_open("t1", "bad name with spaces and too long", -1, NULL,
			    NULL, 0))
		return 13;
	return 0;
}

static void test_tap_in_netns(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		exit(tap_child()); /* exit, not _exit: coverage data is flushed */
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		SKIP_BECAUSE("tap in a network namespace needs CAP_NET_ADMIN "
			     "and /dev/net/tun (run as root)");
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- --tap-responder: the integration test's guest ---- */

#define GUEST_IP 0x0a000002u /* 10.0.0.2 */
static const uint8_t GMAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Build the guest's answer to frame f (no vnet header) into out; 0 if
 * none. */
static size_t answer(const uint8_t *f, size_t n, uint8_t *out, unsigned *echoed)
{
	if (n < 42)
		return 0;
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
	memcpy(out, f + 6, 6);
	memcpy(out + 6, GMAC, 6);
	if (type == 0x0806) {
		/* ARP request (oper 1) for our address: reply (RFC 826). */
		const uint8_t *a = f + 14;
		uint32_t tpa;
		memcpy(&tpa, a + 24, 4);
		if (a[6] != 0 || a[7] != 1 || ntohl(tpa) != GUEST_IP)
			return 0;
		memcpy(out + 12, f + 12, 2);
		uint8_t *r = out + 14;
		memcpy(r, a, 6);            /* htype, ptype, hlen, plen */
		r[6] = 0;
		r[7] = 2;                   /* reply */
		memcpy(r + 8, GMAC, 6);
		memcpy(r + 14, a + 24, 4);  /* our ip */
		memcpy(r + 18, a + 8, 6);   /* their mac */
		memcpy(r + 24, a + 14, 4);  /* their ip */
		return 42;
	}
	if (type != 0x0800)
		return 0;
	const uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	uint16_t tot = (uint16_t)(ip[2] << 8 | ip[3]);
	uint32_t dst;
	memcpy(&dst, ip + 16, 4);
	if (ip[9] != 17 || ntohl(dst) != GUEST_IP || ihl < 20 || 14 + (size_t)tot > n)
		return 0;
	/* UDP echo: swap addresses and ports, no UDP checksum (IPv4). */
	memcpy(out + 12, f + 12, 2 + tot);
	uint8_t *oip = out + 14;
	memcpy(oip + 12, ip + 16, 4);
	memcpy(oip + 16, ip + 12, 4);
	oip[8] = 64;
	oip[10] = oip[11] = 0;
	uint16_t c = ip_csum(oip, ihl);
	oip[10] = (uint8_t)(c >> 8);
	oip[11] = (uint8_t)c;
	uint8_t *udp = oip + ihl;
	memcpy(udp, ip + ihl + 2, 2);
	memcpy(udp + 2, ip + ihl, 2);
	udp[6] = udp[7] = 0;
	(*echoed)++;
	return 14 + tot;
}

static int tap_responder(const char *ifname, unsigned want)
{
	struct vfx *f = vfx_new(VFX_MMIO);
	char name[IFNAMSIZ];
	struct netdev *nd = netdev_tap_open("tap", ifname, -1, NULL, name, sizeof(name));
	if (!nd) {
		perror("tap-responder: tap");
		return 2;
	}
	struct vnet_config c = { .gm = vfx_gm(f), .log = f->log, .nd = nd,
				 .has_mac = true };
	memcpy(c.mac, GMAC, 6);
	struct vnet *n = vnet_new(&c);
	vfx_attach(f, vnet_vdev(n));
	/* No offloads: the kernel hands us complete frames. */
	vfx_start(f, VIRTIO_BIT(VIRTIO_NET_F_MAC), 2, 64);
	uint64_t rxa[64];
	for (unsigned i = 0; i < 32; i++) {
		struct vdq_buf b = { vfx_alloc(f, 2048), 2048, true };
		rxa[vfx_add(f, VNET_RXQ, &b, 1)] = b.gpa;
	}
	uint64_t txa = vfx_alloc(f, 64 * 2048);
	printf("READY %s\n", name);
	fflush(stdout);
	unsigned echoed = 0, txn = 0;
	static uint8_t fr[2048 + HL], out[2048 + HL];
	const int64_t deadline = mono_ms() + 30000;
	while (echoed < want && mono_ms() < deadline) {
		netdev_tap_poll(nd);
		uint16_t id;
		uint32_t len;
		while (vfx_used(f, VNET_RXQ, &id, &len)) {
			if (len > HL && len <= sizeof(fr) &&
			    !gm_read(vfx_gm(f), rxa[id], fr, len)) {
				memset(out, 0, HL);
				size_t o = answer(fr + HL, len - HL, out + HL, &echoed);
				if (o) {
					uint64_t a = txa + (txn++ % 64) * 2048;
					gm_write(vfx_gm(f), a, out, HL + o);
					struct vdq_buf tb = { a, (uint32_t)(HL + o), false };
					vfx_add(f, VNET_TXQ, &tb, 1);
				}
			}
			struct vdq_buf b = { rxa[id], 2048, true };
			rxa[vfx_add(f, VNET_RXQ, &b, 1)] = b.gpa;
		}
		while (vfx_used(f, VNET_TXQ, &id, &len))
			;
		/* The next frame from the host side, or the deadline. */
		if (echoed < want)
			wait_readable(netdev_tap_fd(nd), deadline);
	}
	const struct vnet_stats *st = vnet_get_stats(n);
	printf("tap-responder: echoed %u, rx %llu tx %llu\n", echoed,
	       (unsigned long long)st->rx_frames, (unsigned long long)st->tx_frames);
	vfx_detach(f);
	vnet_free(n);
	vfx_free(f);
	netdev_close(nd);
	return echoed >= want ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--tap-responder"))
		return tap_responder(argv[2], argc > 3 ? (unsigned)atoi(argv[3]) : 3);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_capture),
		cmocka_unit_test(test_loop_rx_flow_control),
		cmocka_unit_test(test_tap_in_netns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
