/* vhost-user frontend connection (vhost_user.h). */
#include "core/vhost_user.h"
#include "core/evloop.h"
#include "core/gm.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define VHU_DEFAULT_TIMEOUT_MS 1000
/* Protocol features the frontend asks for. */
#define VHU_PF_WANTED ((1ull << VHU_PF_MQ) | (1ull << VHU_PF_REPLY_ACK) | \
		       (1ull << VHU_PF_CONFIG))

struct vhu {
	int fd;
	char id[64];
	struct log *log;
	int timeout_ms;
	bool broken;
	uint64_t features, pfeatures;
	uint32_t queue_num;
	int kick[VHU_MAX_QUEUES], call[VHU_MAX_QUEUES];
	bool started[VHU_MAX_QUEUES];
	unsigned nstarted;
	struct evloop *loop;
	struct vhu_handlers h;
	/* Calls bound to an MSI through the host's irqfd. */
	vhu_irqfd_fn *irqfd;
	void *irqfd_opaque;
	int route[VHU_MAX_QUEUES];
	bool routed[VHU_MAX_QUEUES];
	uint64_t raddr[VHU_MAX_QUEUES];
	uint32_t rdata[VHU_MAX_QUEUES];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void unwatch(struct vhu *c)
{
	if (!c->loop)
		return;
	if (c->fd >= 0)
		evloop_del_fd(c->loop, c->fd);
	for (unsigned q = 0; q < VHU_MAX_QUEUES; q++)
		if (c->call[q] >= 0)
			evloop_del_fd(c->loop, c->call[q]);
}

void vhu_break(struct vhu *c, const char *why)
{
	if (c->broken)
		return;
	c->broken = true;
	char line[256];
	snprintf(line, sizeof(line), "vhost-user %s: backend broken: %s", c->id,
		 why);
	if (!c->h.broken)
		log_err(c->log, "%s", line);
	unwatch(c);
	c->loop = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->h.broken)
		c->h.broken(c->h.opaque, line);
}

struct vhu *vhu_new_fd(int fd, const char *id, struct log *log)
{
	struct vhu *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->log = log;
	c->timeout_ms = VHU_DEFAULT_TIMEOUT_MS;
	snprintf(c->id, sizeof(c->id), "%s", id ? id : "");
	for (unsigned q = 0; q < VHU_MAX_QUEUES; q++)
		c->route[q] = -1;
	for (unsigned q = 0; q < VHU_MAX_QUEUES; q++) {
		c->kick[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		c->call[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (c->kick[q] < 0 || c->call[q] < 0) {
			vhu_free(c);
			return NULL;
		}
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	return c;
}

struct vhu *vhu_connect(const char *path, const char *id, struct log *log,
			char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "vmm: vhost-user %s: socket path too long", id);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "vmm: vhost-user %s: cannot connect to %s: %s",
			 id, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct vhu *c = vhu_new_fd(fd, id, log);
	if (!c) {
		close(fd);
		snprintf(err, errlen, "vhost-user %s: out of memory", id);
	}
	return c;
}

void vhu_free(struct vhu *c)
{
	if (!c)
		return;
	unwatch(c);
	/* The host lets go of the eventfds before they close. */
	for (unsigned q = 0; q < VHU_MAX_QUEUES; q++)
		if (c->routed[q])
			c->irqfd(c->irqfd_opaque, c->call[q], 0, 0, &c->route[q],
				 VHU_IRQFD_UNBIND);
	if (c->fd >= 0)
		close(c->fd);
	for (unsigned q = 0; q < VHU_MAX_QUEUES; q++) {
		if (c->kick[q] > 0)
			close(c->kick[q]);
		if (c->call[q] > 0)
			close(c->call[q]);
	}
	free(c);
}

void vhu_set_timeout(struct vhu *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
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
static bool unprompted(struct vhu *c)
{
	struct pollfd p = { c->fd, POLLIN, 0 };
	return poll(&p, 1, 0) > 0 && p.revents;
}

static bool has_ack(const struct vhu *c)
{
	return (c->pfeatures >> VHU_PF_REPLY_ACK) & 1;
}

/* One exchange.  Setters get NEED_REPLY under REPLY_ACK; getters always
 * have a reply.  *out gets a u64 reply.  0 or -1 (broken). */
static int request(struct vhu *c, struct vhu_msg *m, const int *fds,
		   unsigned nfds, bool getter, uint64_t *out, uint8_t *cfg,
		   uint32_t cfg_len)
{
	char why[128];
	const char *r = NULL;
	if (c->broken)
		return -1;
	if (unprompted(c)) {
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

int vhu_handshake(struct vhu *c)
{
	struct vhu_msg m;
	uint64_t v = 0;
	vhu_msg_init(&m, VHU_GET_FEATURES, false);
	if (request(c, &m, NULL, 0, true, &v, NULL, 0) < 0)
		return -1;
	c->features = v;
	if ((c->features >> VHU_F_PROTOCOL_FEATURES) & 1) {
		vhu_msg_init(&m, VHU_GET_PROTOCOL_FEATURES, false);
		if (request(c, &m, NULL, 0, true, &v, NULL, 0) < 0)
			return -1;
		uint64_t pf = v & VHU_PF_WANTED;
		vhu_msg_u64(&m, VHU_SET_PROTOCOL_FEATURES, pf, false);
		/* No ack yet: REPLY_ACK applies once it is negotiated. */
		if (request(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
			return -1;
		c->pfeatures = pf;
		if ((pf >> VHU_PF_MQ) & 1) {
			vhu_msg_init(&m, VHU_GET_QUEUE_NUM, false);
			if (request(c, &m, NULL, 0, true, &v, NULL, 0) < 0)
				return -1;
			c->queue_num = (uint32_t)(v > VHU_MAX_QUEUES ? VHU_MAX_QUEUES : v);
		}
	}
	vhu_msg_init(&m, VHU_SET_OWNER, false);
	return request(c, &m, NULL, 0, false, NULL, NULL, 0);
}

uint64_t vhu_features(const struct vhu *c) { return c->features; }
uint64_t vhu_protocol_features(const struct vhu *c) { return c->pfeatures; }
uint32_t vhu_queue_num(const struct vhu *c) { return c->queue_num; }
bool vhu_is_broken(const struct vhu *c) { return c->broken; }

int vhu_get_config(struct vhu *c, uint32_t off, void *buf, uint32_t len)
{
	struct vhu_msg m;
	if (!((c->pfeatures >> VHU_PF_CONFIG) & 1) || len > VHU_CONFIG_MAX)
		return -1;
	vhu_msg_config(&m, VHU_GET_CONFIG, off, NULL, len, false);
	return request(c, &m, NULL, 0, true, NULL, buf, len);
}

int vhu_set_config(struct vhu *c, uint32_t off, const void *buf, uint32_t len)
{
	struct vhu_msg m;
	if (!((c->pfeatures >> VHU_PF_CONFIG) & 1) || len > VHU_CONFIG_MAX)
		return -1;
	vhu_msg_config(&m, VHU_SET_CONFIG, off, buf, len, false);
	return request(c, &m, NULL, 0, false, NULL, NULL, 0);
}

bool vhu_gm_shareable(const struct gm *gm)
{
	unsigned n = gm_region_count(gm), ram = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct gm_region *r = gm_region_at(gm, i);
		if (r->flags & (GM_ROM | GM_PMEM))
			continue;
		if (!(r->flags & GM_SHARED) || r->fd < 0)
			return false;
		ram++;
	}
	return ram > 0 && ram <= VHU_MAX_REGIONS;
}

/* The frontend address of guest address gpa (the protocol's "user
 * address"); 0 when gpa is not in RAM. */
static uint64_t uaddr_of(const struct gm *gm, uint64_t gpa)
{
	const struct gm_region *r = gm_region_find(gm, gpa);
	if (!r || !r->host)
		return 0;
	return (uint64_t)(uintptr_t)r->host + (gpa - r->gpa);
}

static int set_mem_table(struct vhu *c, const struct gm *gm)
{
	struct vhu_mem_region reg[VHU_MAX_REGIONS];
	int fds[VHU_MAX_REGIONS];
	unsigned n = 0;
	for (unsigned i = 0; i < gm_region_count(gm) && n < VHU_MAX_REGIONS; i++) {
		const struct gm_region *r = gm_region_at(gm, i);
		if (!(r->flags & GM_SHARED) || r->fd < 0 || (r->flags & (GM_ROM | GM_PMEM)))
			continue;
		reg[n] = (struct vhu_mem_region){ r->gpa, r->size,
			(uint64_t)(uintptr_t)r->host, r->fd_offset };
		fds[n++] = r->fd;
	}
	if (!n) {
		vhu_break(c, "guest RAM is not shareable");
		return -1;
	}
	struct vhu_msg m;
	vhu_msg_mem_table(&m, reg, n, false);
	return request(c, &m, fds, n, false, NULL, NULL, 0);
}

static int ring_fd(struct vhu *c, uint32_t req, unsigned q, int fd)
{
	struct vhu_msg m;
	vhu_msg_u64(&m, req, q, false);
	return request(c, &m, &fd, 1, false, NULL, NULL, 0);
}

int vhu_start(struct vhu *c, const struct gm *gm, uint64_t features,
	      unsigned nq, const struct vhu_vring *rings)
{
	struct vhu_msg m;
	if (nq > VHU_MAX_QUEUES)
		return -1;
	if (c->pfeatures || ((c->features >> VHU_F_PROTOCOL_FEATURES) & 1))
		features |= 1ull << VHU_F_PROTOCOL_FEATURES;
	vhu_msg_u64(&m, VHU_SET_FEATURES, features, false);
	if (request(c, &m, NULL, 0, false, NULL, NULL, 0) < 0 ||
	    set_mem_table(c, gm) < 0)
		return -1;
	for (unsigned q = 0; q < nq; q++) {
		const struct vhu_vring *v = &rings[q];
		uint64_t d = uaddr_of(gm, v->desc_gpa), a = uaddr_of(gm, v->avail_gpa),
			 u = uaddr_of(gm, v->used_gpa);
		if (!v->num)
			continue;
		if (!d || !a || !u) {
			vhu_break(c, "a ring outside shareable RAM");
			return -1;
		}
		/* Drain a stale call so the first one is this run's. */
		uint64_t junk;
		if (read(c->call[q], &junk, sizeof(junk)) < 0)
			(void)junk;
		vhu_msg_state(&m, VHU_SET_VRING_NUM, q, v->num, false);
		if (request(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
			return -1;
		vhu_msg_state(&m, VHU_SET_VRING_BASE, q, v->base, false);
		if (request(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
			return -1;
		vhu_msg_addr(&m, q, d, u, a, false);
		if (request(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
			return -1;
		if (ring_fd(c, VHU_SET_VRING_KICK, q, c->kick[q]) < 0 ||
		    ring_fd(c, VHU_SET_VRING_CALL, q, c->call[q]) < 0)
			return -1;
		/* No error fd: u64 with the invalid-fd bit, no fd passed. */
		vhu_msg_u64(&m, VHU_SET_VRING_ERR, q | VHU_VRING_NOFD, false);
		if (request(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
			return -1;
		c->started[q] = true;
		c->nstarted++;
		if ((c->features >> VHU_F_PROTOCOL_FEATURES) & 1) {
			vhu_msg_state(&m, VHU_SET_VRING_ENABLE, q, 1, false);
			if (request(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
				return -1;
		}
	}
	return 0;
}

int vhu_get_vring_base(struct vhu *c, unsigned q, uint32_t *base)
{
	if (q >= VHU_MAX_QUEUES || !c->started[q])
		return -1;
	c->started[q] = false;
	c->nstarted--;
	if (c->broken)
		return -1;
	struct vhu_msg m;
	uint64_t v = q;
	vhu_msg_state(&m, VHU_GET_VRING_BASE, q, 0, false);
	if (request(c, &m, NULL, 0, true, &v, NULL, 0) < 0)
		return -1;
	*base = (uint32_t)v;
	return 0;
}

bool vhu_ring_started(const struct vhu *c, unsigned q)
{
	return q < VHU_MAX_QUEUES && c->started[q];
}

int vhu_timeout(const struct vhu *c)
{
	return c->timeout_ms;
}

void vhu_stop(struct vhu *c)
{
	for (unsigned q = 0; q < VHU_MAX_QUEUES; q++) {
		uint32_t base;
		if (c->started[q])
			(void)vhu_get_vring_base(c, q, &base);
	}
}

void vhu_kick(struct vhu *c, unsigned q)
{
	uint64_t one = 1;
	if (q < VHU_MAX_QUEUES && !c->broken &&
	    write(c->kick[q], &one, sizeof(one)) < 0)
		(void)one;  /* counter full: the backend has kicks pending */
}

int vhu_kick_fd(const struct vhu *c, unsigned q)
{
	return q < VHU_MAX_QUEUES ? c->kick[q] : -1;
}

int vhu_call_fd(const struct vhu *c, unsigned q)
{
	return q < VHU_MAX_QUEUES ? c->call[q] : -1;
}

static void on_call(void *arg, int fd, unsigned events)
{
	struct vhu *c = arg;
	uint64_t v;
	(void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v) || c->broken)
		return;
	for (unsigned q = 0; q < VHU_MAX_QUEUES; q++)
		if (c->call[q] == fd && c->h.call)
			c->h.call(c->h.opaque, q);
}

static void on_sock(void *arg, int fd, unsigned events)
{
	struct vhu *c = arg;
	(void)fd;
	(void)events;
	/* Woken by a reply a request already took (it ran under the same
	 * lock first): nothing is waiting now, nothing is wrong. */
	if (unprompted(c))
		vhu_break(c, "the backend spoke unprompted or disconnected");
}

int vhu_attach(struct vhu *c, struct evloop *loop, const struct vhu_handlers *h)
{
	c->h = *h;
	if (!loop || c->broken)
		return 0;
	c->loop = loop;
	if (evloop_add_fd(loop, c->fd, EV_IN, on_sock, c) < 0)
		return -1;
	for (unsigned q = 0; q < VHU_MAX_QUEUES; q++)
		if (evloop_add_fd(loop, c->call[q], EV_IN, on_call, c) < 0)
			return -1;
	return 0;
}

void vhu_poll(struct vhu *c)
{
	if (c->broken)
		return;
	if (unprompted(c)) {
		vhu_break(c, "the backend spoke unprompted or disconnected");
		return;
	}
	for (unsigned q = 0; q < VHU_MAX_QUEUES; q++) {
		uint64_t v;
		if (!c->routed[q] && read(c->call[q], &v, sizeof(v)) == sizeof(v) && c->h.call)
			c->h.call(c->h.opaque, q);
	}
}

void vhu_set_irqfd(struct vhu *c, vhu_irqfd_fn *fn, void *opaque)
{
	c->irqfd = fn;
	c->irqfd_opaque = opaque;
}

bool vhu_call_routed(const struct vhu *c, unsigned q)
{
	return q < VHU_MAX_QUEUES && c->routed[q];
}

void vhu_route_call(struct vhu *c, unsigned q, bool on, uint64_t addr, uint32_t data)
{
	if (q >= VHU_MAX_QUEUES || !c->irqfd)
		return;
	if (!on) {
		if (!c->routed[q])
			return;
		c->irqfd(c->irqfd_opaque, c->call[q], 0, 0, &c->route[q], VHU_IRQFD_UNBIND);
		c->routed[q] = false;
		/* Back to the loop; a call signalled since the unbind is
		 * still counted in the eventfd, so the (level-triggered)
		 * watch or the next vhu_poll delivers it. */
		if (c->loop && !c->broken &&
		    evloop_add_fd(c->loop, c->call[q], EV_IN, on_call, c) < 0)
			vhu_break(c, "cannot watch a call eventfd again");
		return;
	}
	if (c->routed[q]) {
		if (c->raddr[q] == addr && c->rdata[q] == data)
			return;
		if (c->irqfd(c->irqfd_opaque, c->call[q], addr, data, &c->route[q],
			     VHU_IRQFD_UPDATE) == 0) {
			c->raddr[q] = addr;
			c->rdata[q] = data;
			return;
		}
		vhu_route_call(c, q, false, 0, 0);  /* the slow way is still right */
		return;
	}
	if (c->broken || c->irqfd(c->irqfd_opaque, c->call[q], addr, data, &c->route[q],
				  VHU_IRQFD_BIND) < 0)
		return;
	/* From here the host consumes the eventfd: the loop must not race
	 * it for the count. */
	if (c->loop)
		evloop_del_fd(c->loop, c->call[q]);
	c->routed[q] = true;
	c->raddr[q] = addr;
	c->rdata[q] = data;
}
