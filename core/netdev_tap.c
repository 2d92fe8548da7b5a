/* tap backend: /dev/net/tun in IFF_TAP|IFF_NO_PI|IFF_VNET_HDR mode.
 *
 * TUNSETVNETHDRSZ 12 makes the kernel use struct virtio_net_hdr_v1's size,
 * so frames pass between the guest's rings and the tap fd unchanged.
 * TUNSETOFFLOAD tells the kernel which offloads the guest accepts on receive
 * (it segments/checksums anything else before handing it to us).  The fd is
 * non-blocking: a full host queue drops the frame (counted) rather than
 * stalling the thread that runs device code. */
#include "core/netdev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/evloop.h"

struct netdev_tap {
	struct netdev nd;
	int fd;
	struct evloop *loop;
	bool watching;
	uint8_t buf[NETDEV_MAX_FRAME];
};

static struct netdev_tap *to_tap(struct netdev *nd)
{
	return (struct netdev_tap *)nd;
}

static int tap_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	struct netdev_tap *t = to_tap(nd);
	for (;;) {
		ssize_t n = writev(t->fd, iov, iovcnt);
		if (n >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

static int tap_set_offload(struct netdev *nd, unsigned flags)
{
	unsigned tf = 0;
	if (flags & NETDEV_OFF_CSUM) {
		/* The TSO/UFO flags are only valid together with TUN_F_CSUM. */
		tf |= TUN_F_CSUM;
		if (flags & NETDEV_OFF_TSO4)
			tf |= TUN_F_TSO4;
		if (flags & NETDEV_OFF_TSO6)
			tf |= TUN_F_TSO6;
		if ((flags & NETDEV_OFF_ECN) && (tf & (TUN_F_TSO4 | TUN_F_TSO6)))
			tf |= TUN_F_TSO_ECN;
		if (flags & NETDEV_OFF_UFO)
			tf |= TUN_F_UFO;
	}
	if (ioctl(to_tap(nd)->fd, TUNSETOFFLOAD, (unsigned long)tf) < 0) {
		if (!(tf & TUN_F_UFO))
			return -errno;
		/* Kernels since 4.14 refuse UFO: retry without it. */
		tf &= ~(unsigned)TUN_F_UFO;
		if (ioctl(to_tap(nd)->fd, TUNSETOFFLOAD, (unsigned long)tf) < 0)
			return -errno;
	}
	return 0;
}

int netdev_tap_poll(struct netdev *nd)
{
	struct netdev_tap *t = to_tap(nd);
	int delivered = 0;
	unsigned reads = 0;
	while (nd->attached && nd->fe.can_receive(nd->fe.opaque) &&
	       reads++ < NETDEV_TAP_POLL_MAX) {
		ssize_t n = read(t->fd, t->buf, sizeof(t->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((size_t)n < NETDEV_HDR_LEN) {
			nd->rx_dropped++;
			continue;
		}
		netdev_deliver(nd, t->buf, (size_t)n);
		delivered++;
	}
	return delivered;
}

static void tap_watch(struct netdev_tap *t, bool on)
{
	if (!t->loop || t->watching == on)
		return;
	evloop_mod_fd(t->loop, t->fd, on ? EV_IN : 0);
	t->watching = on;
}

static void tap_readable(void *arg, int fd, unsigned events)
{
	(void)fd;
	(void)events;
	struct netdev_tap *t = arg;
	netdev_tap_poll(&t->nd);
	/* Front end full: stop polling until it calls accept_input, so the
	 * kernel queue (not us) holds the backlog. */
	if (!t->nd.attached || !t->nd.fe.can_receive(t->nd.fe.opaque))
		tap_watch(t, false);
}

static void tap_accept_input(struct netdev *nd)
{
	struct netdev_tap *t = to_tap(nd);
	netdev_tap_poll(nd);
	tap_watch(t, true);
}

static void tap_close(struct netdev *nd)
{
	struct netdev_tap *t = to_tap(nd);
	if (t->loop)
		evloop_del_fd(t->loop, t->fd);
	close(t->fd);
	free(t);
}

/* A queue of an IFF_MULTI_QUEUE tap leaves or rejoins the kernel's
 * steering; on a single-queue tap the kernel says EINVAL, and there is
 * nothing to steer. */
static int tap_set_enabled(struct netdev *nd, bool on)
{
	struct netdev_tap *t = to_tap(nd);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(t->fd, TUNSETQUEUE, &ifr) < 0)
		return errno == EINVAL ? 0 : -errno;
	return 0;
}

static const struct netdev_ops tap_ops = {
	.send = tap_send,
	.set_offload = tap_set_offload,
	.accept_input = tap_accept_input,
	.close = tap_close,
	.set_enabled = tap_set_enabled,
};

static int tap_setup(int fd, const char *ifname, char *out, size_t outlen,
		     bool multi)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (multi)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	if (ifname)
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	int hdr = (int)NETDEV_HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return -errno;
	if (out && outlen)
		snprintf(out, outlen, "%s", ifr.ifr_name);
	return 0;
}

static struct netdev *tap_open(const char *id, const char *ifname, int fd,
				struct evloop *loop, char *ifname_out,
				size_t ifname_out_len, bool multi)
{
	bool own = fd < 0;
	if (own) {
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return NULL;
		int r = tap_setup(fd, ifname, ifname_out, ifname_out_len, multi);
		if (r) {
			close(fd);
			errno = -r;
			return NULL;
		}
	} else {
		/* fds=N: trust the caller's IFF flags but set the header size. */
		int hdr = (int)NETDEV_HDR_LEN;
		if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
			return NULL;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int e = errno;
		if (own)
			close(fd);
		errno = e;
		return NULL;
	}
	struct netdev_tap *t = calloc(1, sizeof(*t));
	if (!t) {
		if (own)
			close(fd);
		errno = ENOMEM;
		return NULL;
	}
	t->fd = fd;
	t->nd.ops = &tap_ops;
	snprintf(t->nd.id, sizeof(t->nd.id), "%s", id ? id : "tap");
	t->loop = loop;
	if (loop) {
		if (evloop_add_fd(loop, fd, EV_IN, tap_readable, t) < 0) {
			int e = errno;
			if (own)
				close(fd);
			free(t);
			errno = e;
			return NULL;
		}
		t->watching = true;
	}
	return &t->nd;
}

int netdev_tap_fd(const struct netdev *nd)
{
	return ((const struct netdev_tap *)nd)->fd;
}

struct netdev *netdev_tap_open(const char *id, const char *ifname, int fd,
			       struct evloop *loop, char *ifname_out,
			       size_t ifname_out_len)
{
	return tap_open(id, ifname, fd, loop, ifname_out, ifname_out_len, false);
}

int netdev_tap_check_fd(int fd, char *why, size_t whylen)
{
	struct stat st;
	struct ifreq ifr;
	const char *kind = NULL;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
		snprintf(why, whylen, "fd %d is not open", fd);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(why, whylen, "fd %d: fstat: %s", fd, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode))
		kind = "a regular file";
	else if (S_ISSOCK(st.st_mode))
		kind = "a socket";
	else if (S_ISFIFO(st.st_mode))
		kind = "a pipe";
	else if (S_ISDIR(st.st_mode))
		kind = "a directory";
	else if (S_ISBLK(st.st_mode))
		kind = "a block device";
	if (kind) {
		snprintf(why, whylen, "fd %d is %s, not a tap", fd, kind);
		return -1;
	}
	/* Only /dev/net/tun answers TUNGETIFF; EBADFD is /dev/net/tun with
	 * no interface attached yet. */
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		if (errno == EBADFD)
			snprintf(why, whylen, "fd %d is /dev/net/tun attached to no interface (TUNSETIFF not done)",
				 fd);
		else
			snprintf(why, whylen, "fd %d is not a tap (TUNGETIFF: %s)",
				 fd, strerror(errno));
		return -1;
	}
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP) {
		snprintf(why, whylen, "fd %d is the tun (layer 3) device %.16s, not a tap",
			 fd, ifr.ifr_name);
		return -1;
	}
	/* Without these the kernel adds a packet-information prefix or
	 * drops the virtio-net header: every frame would be misread. */
	if (!(ifr.ifr_flags & IFF_NO_PI) || !(ifr.ifr_flags & IFF_VNET_HDR)) {
		snprintf(why, whylen, "fd %d is tap %.16s without %s (vmm needs IFF_NO_PI and IFF_VNET_HDR)",
			 fd, ifr.ifr_name,
			 !(ifr.ifr_flags & IFF_NO_PI) ? "IFF_NO_PI" : "IFF_VNET_HDR");
		return -1;
	}
	return 0;
}

int netdev_tap_open_queues(const char *id, const char *ifname, const int *fds,
			   unsigned n, struct evloop *loop, struct netdev **out,
			   char *err, size_t errlen)
{
	char why[160], qid[80], name[IFNAMSIZ];
	unsigned i;

	if (n == 0) {
		snprintf(err, errlen, "no tap queue");
		return -1;
	}
	for (i = 0; fds && i < n; i++)
		if (netdev_tap_check_fd(fds[i], why, sizeof(why))) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
	snprintf(name, sizeof(name), "%s", ifname ? ifname : "");
	for (i = 0; i < n; i++) {
		if (i)
			snprintf(qid, sizeof(qid), "%s.q%u", id, i);
		else
			snprintf(qid, sizeof(qid), "%s", id);
		/* Every queue after the first joins the interface the first
		 * one named (or the kernel picked). */
		out[i] = tap_open(qid, name[0] ? name : NULL, fds ? fds[i] : -1,
				  loop, name, sizeof(name), !fds && n > 1);
		if (!out[i]) {
			int e = errno;
			if (fds)
				snprintf(err, errlen, "fd %d: %s", fds[i], strerror(e));
			else
				snprintf(err, errlen, "ifname=%s queue %u: %s%s", name, i,
					 strerror(e), e == EPERM || e == EACCES ?
					 " (tap needs CAP_NET_ADMIN or a pre-made tap owned by you)" :
					 e == EINVAL && n > 1 ?
					 " (a tap made without multi_queue cannot take queues=)" : "");
			break;
		}
	}
	if (i == n)
		return 0;
	/* Roll back: the fds given to us go back to the caller open. */
	while (i--) {
		if (fds) {
			struct netdev_tap *t = to_tap(out[i]);
			if (t->loop)
				evloop_del_fd(t->loop, t->fd);
			free(t);
		} else {
			netdev_close(out[i]);
		}
		out[i] = NULL;
	}
	return -1;
}
