/* vhost-user frontend connection (vhost_user.h): what is said when; the
 * wire exchange itself is vhost_user_wire.c. */
#include "core/vhost_user.h"
#include "core/vhost_user_mem.h"
#include "core/vhost_user_priv.h"
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
		       (1ull << VHU_PF_CONFIG) | (1ull << VHU_PF_CONFIGURE_MEM_SLOTS))

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

int vhu_handshake(struct vhu *c)
{
	struct vhu_msg m;
	uint64_t v = 0;
	vhu_msg_init(&m, VHU_GET_FEATURES, false);
	if (vhu_exchange(c, &m, NULL, 0, true, &v, NULL, 0) < 0)
		return -1;
	c->features = v;
	if ((c->features >> VHU_F_PROTOCOL_FEATURES) & 1) {
		vhu_msg_init(&m, VHU_GET_PROTOCOL_FEATURES, false);
		if (vhu_exchange(c, &m, NULL, 0, true, &v, NULL, 0) < 0)
			return -1;
		uint64_t pf = v & VHU_PF_WANTED;
		vhu_msg_u64(&m, VHU_SET_PROTOCOL_FEATURES, pf, false);
		/* No ack yet: REPLY_ACK applies once it is negotiated. */
		if (vhu_exchange(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
			return -1;
		c->pfeatures = pf;
		if ((pf >> VHU_PF_MQ) & 1) {
			vhu_msg_init(&m, VHU_GET_QUEUE_NUM, false);
			if (vhu_exchange(c, &m, NULL, 0, true, &v, NULL, 0) < 0)
				return -1;
			c->queue_num = (uint32_t)(v > VHU_MAX_QUEUES ? VHU_MAX_QUEUES : v);
		}
	}
	vhu_msg_init(&m, VHU_SET_OWNER, false);
	return vhu_exchange(c, &m, NULL, 0, false, NULL, NULL, 0);
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
	return vhu_exchange(c, &m, NULL, 0, true, NULL, buf, len);
}

int vhu_set_config(struct vhu *c, uint32_t off, const void *buf, uint32_t len)
{
	struct vhu_msg m;
	if (!((c->pfeatures >> VHU_PF_CONFIG) & 1) || len > VHU_CONFIG_MAX)
		return -1;
	vhu_msg_config(&m, VHU_SET_CONFIG, off, buf, len, false);
	return vhu_exchange(c, &m, NULL, 0, false, NULL, NULL, 0);
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
	return vhu_exchange(c, &m, fds, n, false, NULL, NULL, 0);
}

static int ring_fd(struct vhu *c, uint32_t req, unsigned q, int fd)
{
	struct vhu_msg m;
	vhu_msg_u64(&m, req, q, false);
	return vhu_exchange(c, &m, &fd, 1, false, NULL, NULL, 0);
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
	if (vhu_exchange(c, &m, NULL, 0, false, NULL, NULL, 0) < 0 ||
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
		if (vhu_exchange(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
			return -1;
		vhu_msg_state(&m, VHU_SET_VRING_BASE, q, v->base, false);
		if (vhu_exchange(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
			return -1;
		vhu_msg_addr(&m, q, d, u, a, false);
		if (vhu_exchange(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
			return -1;
		if (ring_fd(c, VHU_SET_VRING_KICK, q, c->kick[q]) < 0 ||
		    ring_fd(c, VHU_SET_VRING_CALL, q, c->call[q]) < 0)
			return -1;
		/* No error fd: u64 with the invalid-fd bit, no fd passed. */
		vhu_msg_u64(&m, VHU_SET_VRING_ERR, q | VHU_VRING_NOFD, false);
		if (vhu_exchange(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
			return -1;
		c->started[q] = true;
		c->nstarted++;
		if ((c->features >> VHU_F_PROTOCOL_FEATURES) & 1) {
			vhu_msg_state(&m, VHU_SET_VRING_ENABLE, q, 1, false);
			if (vhu_exchange(c, &m, NULL, 0, false, NULL, NULL, 0) < 0)
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
	if (vhu_exchange(c, &m, NULL, 0, true, &v, NULL, 0) < 0)
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
	if (vhu_unprompted(c))
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
	if (vhu_unprompted(c)) {
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

bool vhu_has_mem_table(const struct vhu *c)
{
	return !c->broken && c->nstarted > 0;
}
