/* The vhost-user wire: one request/reply exchange with the backend over
 * its unix socket (QEMU docs/interop/vhost-user.rst "Communication"),
 * with fds passed as SCM_RIGHTS, every wait bounded by the connection's
 * timeout, and any failure breaking the connection rather than the
 * caller.  The messages themselves are built and checked in
 * vhost_user_msg.c; what is said when is vhost_user.c's. */
#include "core/vhost_user.h"
#include "core/vhost_user_mem.h"
#include "core/vhost_user_msg.h"
#include "core/vhost_user_priv.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline.  0, or -1. */
static int wait_fd(struct vhu *c, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = { c->fd, events, 0 };
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (p.revents & events)
			return 0;
		return -1;  /* POLLHUP/POLLERR without the event */
	}
}

static int send_msg(struct vhu *c, const struct vhu_msg *m, const int *fds,
		    unsigned nfds)
{
	uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
	size_t len = VHU_HDR_SIZE + m->size, off = 0;
	int64_t deadline = now_ms() + c->timeout_ms;
	memcpy(buf, &m->request, 4);
	memcpy(buf + 4, &m->flags, 4);
	memcpy(buf + 8, &m->size, 4);
	memcpy(buf + VHU_HDR_SIZE, m->payload, m->size);
	while (off < len) {
		struct iovec iov = { buf + off, len - off };
		union {
			char b[CMSG_SPACE(sizeof(int) * VHU_MAX_REGIONS)];
			struct cmsghdr align;
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (off == 0 && nfds) {
			memset(&u, 0, sizeof(u));
			mh.msg_control = u.b;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
		}
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(c, POLLOUT, deadline) == 0)
			continue;
		return -1;
	}
	return 0;
}

/* Read exactly len bytes by deadline; any fds the backend passes are
 * closed (the frontend asks for none). */
static int recv_exact(struct vhu *c, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t off = 0;
	while (off < len) {
		struct iovec iov = { buf + off, len - off };
		union {
			char b[CMSG_SPACE(sizeof(int) * 16)];
			struct cmsghdr align;
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.b,
				     .msg_controllen = sizeof(u.b) };
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n > 0) {
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm;
			     cm = CMSG_NXTHDR(&mh, cm)) {
				if (cm->cmsg_level != SOL_SOCKET ||
				    cm->cmsg_type != SCM_RIGHTS)
					continue;
				size_t nf = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t i = 0; i < nf; i++) {
					int f;
					memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
					close(f);
				}
			}
			off += (size_t)n;
			continue;
		}
		if (n == 0)
			return -1;      /* disconnected */
		if (errno == EINTR)
			continue;
		if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(c, POLLIN, deadline) == 0)
			continue;
		return -1;
	}
	return 0;
}

static int recv_msg(struct vhu *c, struct vhu_msg *m, const char **why)
{
	uint8_t hdr[VHU_HDR_SIZE];
	int64_t deadline = now_ms() + c->timeout_ms;
	if (recv_exact(c, hdr, sizeof(hdr), deadline) < 0) {
		*why = "no reply (timeout or disconnect)";
		return -1;
	}
	if (vhu_msg_parse_hdr(hdr, m) < 0) {
		*why = "a malformed or oversized message header";
		return -1;
	}
	if (recv_exact(c, m->payload, m->size, deadline) < 0) {
		*why = "a truncated message";
		return -1;
	}
	return 0;
}

/* Bytes waiting on a socket nobody asked to speak: a reply-ack for a
 * request never made, or anything else unprompted. */
bool vhu_unprompted(struct vhu *c)
{
	struct pollfd p = { c->fd, POLLIN, 0 };
	return poll(&p, 1, 0) > 0 && p.revents;
}

static bool has_ack(const struct vhu *c)
{
	return (c->pfeatures >> VHU_PF_REPLY_ACK) & 1;
}

/* One exchange (vhost_user_priv.h). */
int vhu_exchange(struct vhu *c, struct vhu_msg *m, const int *fds,
		 unsigned nfds, bool getter, uint64_t *out, uint8_t *cfg,
		 uint32_t cfg_len)
{
	char why[128];
	const char *r = NULL;
	if (c->broken)
		return -1;
	if (vhu_unprompted(c)) {
		vhu_break(c, "the backend spoke unprompted (or hung up)");
		return -1;
	}
	bool ack = !getter && has_ack(c);
	if (ack)
		m->flags |= VHU_FLAG_NEED_REPLY;
	uint32_t req = m->request;
	if (send_msg(c, m, fds, nfds) < 0) {
		snprintf(why, sizeof(why), "request %u: cannot send", req);
		vhu_break(c, why);
		return -1;
	}
	if (!getter && !ack)
		return 0;
	uint64_t v = out ? *out : 0;
	if (recv_msg(c, m, &r) < 0 ||
	    vhu_msg_check_reply(m, req, ack, &v, cfg, cfg_len, &r) < 0) {
		snprintf(why, sizeof(why), "request %u: %s", req, r);
		vhu_break(c, why);
		return -1;
	}
	if (ack && v != 0) {
		snprintf(why, sizeof(why), "request %u: refused (ack %llu)", req,
			 (unsigned long long)v);
		vhu_break(c, why);
		return -1;
	}
	if (out)
		*out = v;
	return 0;
}

/* For core/vhost_user_mem.c (hot-plugged RAM): one exchange,
 * and whether the backend holds a memory table (a device started). */
int vhu_request(struct vhu *c, struct vhu_msg *m, const int *fds, unsigned nfds,
		bool getter, uint64_t *out)
{
	return vhu_exchange(c, m, fds, nfds, getter, out, NULL, 0);
}
