/* Network backends (tap, in-memory loop) as virtio-net sees them.
 *
 * Every frame crossing this interface starts with a 12-byte
 * struct virtio_net_hdr_v1 (virtio 1.2 §5.1.6): the tap device is put in
 * IFF_VNET_HDR mode with TUNSETVNETHDRSZ 12, so checksum and segmentation
 * offload metadata pass through untouched in both directions.
 *
 * Receive is push with flow control, like core/chardev.h: the backend asks
 * the front end can_receive() before handing it a frame; when the front
 * end has room again it calls netdev_accept_input(). */
#ifndef VMM_CORE_NETDEV_H
#define VMM_CORE_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define NETDEV_HDR_LEN 12u
/* Largest frame incl. vnet header: 64 KiB GSO payload + headers. */
#define NETDEV_MAX_FRAME (65536u + 14u + NETDEV_HDR_LEN)

/* Offloads the guest can accept on receive (mapped to TUN_F_*). */
enum {
	NETDEV_OFF_CSUM = 1u << 0,
	NETDEV_OFF_TSO4 = 1u << 1,
	NETDEV_OFF_TSO6 = 1u << 2,
	NETDEV_OFF_ECN = 1u << 3,
	NETDEV_OFF_UFO = 1u << 4,
};

struct netdev;

struct netdev_frontend {
	bool (*can_receive)(void *opaque);
	/* One frame, vnet header first. */
	void (*receive)(void *opaque, const uint8_t *frame, size_t len);
	void *opaque;
};

struct netdev_ops {
	/* Send one frame (vnet header first) gathered from iov.  0, or -EAGAIN
	 * when the host cannot take it now (the caller drops and counts), or
	 * another -errno. */
	int (*send)(struct netdev *nd, const struct iovec *iov, int iovcnt);
	/* NETDEV_OFF_* the guest accepts; 0 or -errno. */
	int (*set_offload)(struct netdev *nd, unsigned flags);
	/* The front end has room again: deliver what is waiting. */
	void (*accept_input)(struct netdev *nd);
	void (*close)(struct netdev *nd);
	/* Optional: one queue of a multiqueue backend goes in or out of use
	 * (virtio-net's pair count, §5.1.6.5.5).  A tap detaches the queue
	 * (TUNSETQUEUE) so the kernel steers no frame to a queue nobody
	 * reads.  0 or -errno. */
	int (*set_enabled)(struct netdev *nd, bool on);
};

struct netdev {
	const struct netdev_ops *ops;
	struct netdev_frontend fe;
	bool attached;
	unsigned offload;
	char id[64];
	uint64_t tx_frames, tx_errors, rx_frames, rx_dropped;
};

void netdev_attach(struct netdev *nd, const struct netdev_frontend *fe);
void netdev_detach(struct netdev *nd);
int netdev_send(struct netdev *nd, const struct iovec *iov, int iovcnt);
int netdev_set_offload(struct netdev *nd, unsigned flags);
void netdev_accept_input(struct netdev *nd);
void netdev_close(struct netdev *nd);
/* ops->set_enabled when the backend has it; else 0 (nothing to steer). */
int netdev_set_enabled(struct netdev *nd, bool on);
/* For backends: hand a received frame to the front end if it can take it.
 * Returns true if delivered. */
bool netdev_deliver(struct netdev *nd, const uint8_t *frame, size_t len);

/* tap: opens /dev/net/tun, IFF_TAP|IFF_NO_PI|IFF_VNET_HDR on ifname
 * (empty: the kernel picks tapN; the name is written back to ifname when
 * ifname_out is given).  fd >= 0 uses an already-open tap fd instead (fds=).
 * With a loop the fd is watched for input; without one (simulator helpers)
 * call netdev_tap_poll().  NULL with errno set. */
struct evloop;
struct netdev *netdev_tap_open(const char *id, const char *ifname, int fd,
			       struct evloop *loop, char *ifname_out,
			       size_t ifname_out_len);
/* Read and deliver frames while the front end can take them, at most
 * NETDEV_TAP_POLL_MAX per call (a sender flooding the tap must not keep
 * the loop, and the machine lock, in one callback: the fd stays readable
 * and the loop calls again); returns the number delivered. */
#define NETDEV_TAP_POLL_MAX 64
int netdev_tap_poll(struct netdev *nd);
/* Is fd an open tap vmm can use (TUNGETIFF: IFF_TAP with IFF_NO_PI and
 * IFF_VNET_HDR, the flags Kata's runtime and vmm's own opens set)?  0, or
 * -1 with why set to a reason naming the fd ("fd 5 is a regular file,
 * not a tap").  Touches nothing. */
int netdev_tap_check_fd(int fd, char *why, size_t whylen);
/* The queues of one tap: with fds (n of them, each checked as above and
 * owned by the netdevs from then on) or, fds NULL, n queues opened on
 * ifname (IFF_MULTI_QUEUE when n > 1).  out[i] is queue i, each its own
 * struct netdev (id "ID", then "ID.q1"...).  0, or -1 with err (a
 * one-line reason: "fd 5 is a pipe, not a tap", "ifname=t0 queue 1:
 * ...") and nothing left open; fds passed in stay the caller's on
 * failure. */
int netdev_tap_open_queues(const char *id, const char *ifname, const int *fds,
			   unsigned n, struct evloop *loop, struct netdev **out,
			   char *err, size_t errlen);

/* vhost=on (core/netdev_vhost.c): kernel vhost-net is not driven by vmm
 * yet, so a netdev asking for it is refused at start-up with the reason:
 * the host lacks /dev/vhost-net, a vhostfd that is no vhost-net
 * descriptor, or the host has it and vmm does not use it.  Always -1 with
 * err; never a silent fall back to the userspace device. */
int netdev_vhost_refuse(const char *id, const int *vhostfds, unsigned n,
			char *err, size_t errlen);
int netdev_tap_fd(const struct netdev *nd);

/* In-memory loop: with loopback, every frame sent comes back as received
 * (benchmarks); otherwise sent frames are captured for the test to take.
 * Queues are bounded (NETDEV_LOOP_QLEN frames each); overflow is dropped
 * and counted in rx_dropped / tx_errors. */
#define NETDEV_LOOP_QLEN 256u
struct netdev *netdev_loop_new(const char *id, bool loopback);
/* Host -> guest: queue a frame (vnet header first).  0 or -ENOBUFS/-EINVAL. */
int netdev_loop_inject(struct netdev *nd, const void *frame, size_t len);
/* Guest -> host: take the oldest captured frame; returns its length, 0 if
 * none, or -ENOSPC (frame left in place) when cap is too small. */
long netdev_loop_take(struct netdev *nd, void *buf, size_t cap);
size_t netdev_loop_pending_rx(const struct netdev *nd);
size_t netdev_loop_pending_tx(const struct netdev *nd);
/* Make send() fail with err (e.g. -EAGAIN) until cleared with 0. */
void netdev_loop_fail_send(struct netdev *nd, int err);

#endif
