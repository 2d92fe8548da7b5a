/* In-memory vsock host backend (see vsock_host.h): the host peers are
 * played by the caller, a test or a fuzzer.  Readiness is reported
 * synchronously from the call that caused it (a peer write makes the
 * handle readable, a peer read writable), as a host socket would. */
#include "vsock_host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MEM_PORTS 16u

struct mem_pipe {
	uint8_t buf[VSOCK_MEM_CAP];
	size_t head, len;
};

struct mem_conn {
	bool used;
	bool guest_made;      /* connect() vs vsock_mem_host_connect() */
	uint32_t port;        /* host port (guest-made) or guest port */
	bool accepted, closed_by_device, send_shut, peer_closed;
	uint32_t local_port;
	unsigned watch;
	struct mem_pipe to_host, to_guest;
};

struct vsock_mem {
	struct vsock_host vh;
	uint32_t listen[MEM_PORTS];
	unsigned nlisten;
	struct mem_conn c[VSOCK_HOST_MAX_CONNS];
};

static struct vsock_mem *to_mem(struct vsock_host *vh)
{
	return (struct vsock_mem *)vh;
}

static struct mem_conn *conn(struct vsock_host *vh, int h)
{
	struct vsock_mem *m = to_mem(vh);
	if (h < 0 || (unsigned)h >= VSOCK_HOST_MAX_CONNS || !m->c[h].used)
		return NULL;
	return &m->c[h];
}

static int alloc_conn(struct vsock_mem *m)
{
	for (unsigned i = 0; i < VSOCK_HOST_MAX_CONNS; i++)
		if (!m->c[i].used && !m->c[i].closed_by_device) {
			memset(&m->c[i], 0, sizeof(m->c[i]));
			m->c[i].used = true;
			return (int)i;
		}
	/* Reuse a slot whose state the test no longer needs. */
	for (unsigned i = 0; i < VSOCK_HOST_MAX_CONNS; i++)
		if (!m->c[i].used) {
			memset(&m->c[i], 0, sizeof(m->c[i]));
			m->c[i].used = true;
			return (int)i;
		}
	return -EMFILE;
}

static size_t pipe_put(struct mem_pipe *p, const uint8_t *d, size_t len)
{
	size_t n = 0;
	while (n < len && p->len < VSOCK_MEM_CAP) {
		size_t tail = (p->head + p->len) % VSOCK_MEM_CAP;
		size_t run = VSOCK_MEM_CAP - tail;
		if (run > VSOCK_MEM_CAP - p->len)
			run = VSOCK_MEM_CAP - p->len;
		if (run > len - n)
			run = len - n;
		memcpy(p->buf + tail, d + n, run);
		p->len += run;
		n += run;
	}
	return n;
}

static size_t pipe_get(struct mem_pipe *p, uint8_t *d, size_t len)
{
	size_t n = 0;
	while (n < len && p->len) {
		size_t run = VSOCK_MEM_CAP - p->head;
		if (run > p->len)
			run = p->len;
		if (run > len - n)
			run = len - n;
		memcpy(d + n, p->buf + p->head, run);
		p->head = (p->head + run) % VSOCK_MEM_CAP;
		p->len -= run;
		n += run;
	}
	return n;
}

static void notify(struct vsock_host *vh, int h, unsigned ev)
{
	struct mem_conn *c = conn(vh, h);
	if (c && (c->watch & ev))
		vsock_host_ready(vh, h, c->watch & ev);
}

static int mem_connect(struct vsock_host *vh, uint32_t port, int *h)
{
	struct vsock_mem *m = to_mem(vh);
	bool ok = false;
	for (unsigned i = 0; i < m->nlisten; i++)
		ok |= m->listen[i] == port;
	if (!ok)
		return -ECONNREFUSED;
	int k = alloc_conn(m);
	if (k < 0)
		return k;
	m->c[k].guest_made = true;
	m->c[k].port = port;
	*h = k;
	return 0;
}

static int mem_accept(struct vsock_host *vh, int h, uint32_t local_port)
{
	struct mem_conn *c = conn(vh, h);
	if (!c)
		return -EBADF;
	c->accepted = true;
	c->local_port = local_port;
	return 0;
}

static ssize_t mem_send(struct vsock_host *vh, int h, const void *buf, size_t len)
{
	struct mem_conn *c = conn(vh, h);
	if (!c)
		return -EBADF;
	if (c->peer_closed)
		return -EPIPE;
	size_t n = pipe_put(&c->to_host, buf, len);
	return n || !len ? (ssize_t)n : -EAGAIN;
}

static ssize_t mem_recv(struct vsock_host *vh, int h, void *buf, size_t len)
{
	struct mem_conn *c = conn(vh, h);
	if (!c)
		return -EBADF;
	size_t n = pipe_get(&c->to_guest, buf, len);
	if (n)
		return (ssize_t)n;
	return c->peer_closed ? 0 : -EAGAIN;
}

static void mem_shutdown_send(struct vsock_host *vh, int h)
{
	struct mem_conn *c = conn(vh, h);
	if (c)
		c->send_shut = true;
}

static void mem_watch(struct vsock_host *vh, int h, unsigned events)
{
	struct mem_conn *c = conn(vh, h);
	if (!c)
		return;
	c->watch = events;
	/* Level-triggered, as epoll on a socket would be. */
	unsigned now = 0;
	if ((events & VSOCK_HOST_IN) && (c->to_guest.len || c->peer_closed))
		now |= VSOCK_HOST_IN;
	if ((events & VSOCK_HOST_OUT) && c->to_host.len < VSOCK_MEM_CAP)
		now |= VSOCK_HOST_OUT;
	if (now)
		vsock_host_ready(vh, h, now);
}

static void mem_close(struct vsock_host *vh, int h)
{
	struct mem_conn *c = conn(vh, h);
	if (!c)
		return;
	/* Kept for vsock_mem_state() until the slot is needed again. */
	c->used = false;
	c->closed_by_device = true;
	c->watch = 0;
}

static void mem_free(struct vsock_host *vh)
{
	free(to_mem(vh));
}

static const struct vsock_host_ops mem_ops = {
	.connect = mem_connect, .accept = mem_accept, .send = mem_send,
	.recv = mem_recv, .shutdown_send = mem_shutdown_send,
	.watch = mem_watch, .close = mem_close, .free = mem_free,
};

struct vsock_host *vsock_mem_new(void)
{
	struct vsock_mem *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->vh.ops = &mem_ops;
	return &m->vh;
}

void vsock_mem_listen(struct vsock_host *vh, uint32_t port, bool on)
{
	struct vsock_mem *m = to_mem(vh);
	for (unsigned i = 0; i < m->nlisten; i++)
		if (m->listen[i] == port) {
			if (!on)
				m->listen[i] = m->listen[--m->nlisten];
			return;
		}
	if (on && m->nlisten < MEM_PORTS)
		m->listen[m->nlisten++] = port;
}

int vsock_mem_host_connect(struct vsock_host *vh, uint32_t port)
{
	struct vsock_mem *m = to_mem(vh);
	int k = alloc_conn(m);
	if (k < 0)
		return k;
	m->c[k].port = port;
	int r = vsock_host_incoming(vh, k, port);
	if (r < 0) {
		m->c[k].used = false;
		m->c[k].closed_by_device = true;
		return r;
	}
	return k;
}

int vsock_mem_find(struct vsock_host *vh, uint32_t port)
{
	struct vsock_mem *m = to_mem(vh);
	for (int i = (int)VSOCK_HOST_MAX_CONNS - 1; i >= 0; i--)
		if (m->c[i].used && m->c[i].guest_made && m->c[i].port == port)
			return i;
	return -1;
}

size_t vsock_mem_write(struct vsock_host *vh, int h, const void *buf, size_t len)
{
	struct mem_conn *c = conn(vh, h);
	if (!c || c->peer_closed)
		return 0;
	size_t n = pipe_put(&c->to_guest, buf, len);
	if (n)
		notify(vh, h, VSOCK_HOST_IN);
	return n;
}

size_t vsock_mem_read(struct vsock_host *vh, int h, void *buf, size_t len)
{
	struct vsock_mem *m = to_mem(vh);
	if (h < 0 || (unsigned)h >= VSOCK_HOST_MAX_CONNS)
		return 0;
	/* What the guest sent stays readable after the device closed. */
	size_t n = pipe_get(&m->c[h].to_host, buf, len);
	if (n)
		notify(vh, h, VSOCK_HOST_OUT);
	return n;
}

void vsock_mem_peer_close(struct vsock_host *vh, int h)
{
	struct mem_conn *c = conn(vh, h);
	if (!c)
		return;
	c->peer_closed = true;
	notify(vh, h, VSOCK_HOST_IN);
}

int vsock_mem_state(const struct vsock_host *vh, int h, struct vsock_mem_state *st)
{
	const struct vsock_mem *m = (const struct vsock_mem *)vh;
	if (h < 0 || (unsigned)h >= VSOCK_HOST_MAX_CONNS)
		return -EBADF;
	const struct mem_conn *c = &m->c[h];
	st->open = c->used;
	st->accepted = c->accepted;
	st->closed_by_device = c->closed_by_device;
	st->send_shut = c->send_shut;
	st->local_port = c->local_port;
	st->to_host = c->to_host.len;
	st->to_guest = c->to_guest.len;
	return 0;
}

unsigned vsock_mem_open_count(const struct vsock_host *vh)
{
	const struct vsock_mem *m = (const struct vsock_mem *)vh;
	unsigned n = 0;
	for (unsigned i = 0; i < VSOCK_HOST_MAX_CONNS; i++)
		n += m->c[i].used;
	return n;
}
