/* Character backend dispatch (chr_*) and the in-memory backend used by
 * tests and the simulator.
 *
 * The in-memory backend models a host that reads output slowly (out_limit
 * bytes of room until the test drains it) and types input the front end
 * takes only as fast as it has room: the same flow control the host
 * backends implement, made deterministic. */
#include "chardev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void chr_attach(struct chr *c, const struct chr_frontend *fe)
{
	if (!c)
		return;
	if (fe)
		c->fe = *fe;
	else
		memset(&c->fe, 0, sizeof(c->fe));
	c->attached = c->fe.can_receive && c->fe.receive;
	/* A new front end may have room for input the backend holds. */
	if (c->attached && c->ops->accept_input)
		c->ops->accept_input(c);
}

size_t chr_write(struct chr *c, const uint8_t *buf, size_t len)
{
	if (!c || !len || !c->ops->write)
		return 0;
	return c->ops->write(c, buf, len);
}

void chr_accept_input(struct chr *c)
{
	if (c && c->attached && c->ops->accept_input)
		c->ops->accept_input(c);
}

void chr_close(struct chr *c)
{
	if (c && c->ops->close)
		c->ops->close(c);
}

size_t chr_fe_can_receive(struct chr *c)
{
	if (!c->attached)
		return 0;
	return c->fe.can_receive(c->fe.opaque);
}

void chr_fe_receive(struct chr *c, const uint8_t *buf, size_t len)
{
	if (c->attached && len)
		c->fe.receive(c->fe.opaque, buf, len);
}

void chr_fe_writable(struct chr *c)
{
	if (c->attached && c->fe.writable)
		c->fe.writable(c->fe.opaque);
}

void chr_fe_connected(struct chr *c, bool up)
{
	c->connected = up;
	if (c->attached && c->fe.connected)
		c->fe.connected(c->fe.opaque, up ? 1 : 0);
}

/* ---- in-memory backend ---- */

struct chr_mem {
	struct chr c;
	size_t out_limit;
	uint8_t *out;
	size_t out_len;
	bool want_writable; /* a write was cut short: tell the front end */
	uint8_t *in;        /* CHR_OUT_BUF bytes: input queued by the test */
	size_t in_len;
	bool delivering, redeliver;
};

static struct chr_mem *chr_mem_of(const struct chr *c)
{
	return (struct chr_mem *)c;
}

static size_t chr_mem_write(struct chr *c, const uint8_t *buf, size_t len)
{
	struct chr_mem *m = chr_mem_of(c);
	size_t room = m->out_limit - m->out_len;
	size_t n = len < room ? len : room;
	memcpy(m->out + m->out_len, buf, n);
	m->out_len += n;
	if (n < len)
		m->want_writable = true;
	return n;
}

/* Offer queued input while the front end has room.  Re-entrant calls
 * (receive -> chr_accept_input) just ask the outer loop to go round. */
static void chr_mem_deliver(struct chr *c)
{
	struct chr_mem *m = chr_mem_of(c);
	if (m->delivering) {
		m->redeliver = true;
		return;
	}
	m->delivering = true;
	do {
		m->redeliver = false;
		while (m->in_len) {
			size_t room = chr_fe_can_receive(c);
			if (!room)
				break;
			size_t n = room < m->in_len ? room : m->in_len;
			/* Hand over a copy: the front end may push more input
			 * (or drain) from inside receive. */
			uint8_t tmp[256];
			if (n > sizeof(tmp))
				n = sizeof(tmp);
			memcpy(tmp, m->in, n);
			memmove(m->in, m->in + n, m->in_len - n);
			m->in_len -= n;
			chr_fe_receive(c, tmp, n);
		}
	} while (m->redeliver);
	m->delivering = false;
}

static void chr_mem_close(struct chr *c)
{
	struct chr_mem *m = chr_mem_of(c);
	free(m->out);
	free(m->in);
	free(m);
}

static const struct chr_ops chr_mem_ops = {
	.write = chr_mem_write,
	.accept_input = chr_mem_deliver,
	.close = chr_mem_close,
};

struct chr *chr_mem_new(const char *id, size_t out_limit)
{
	struct chr_mem *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->out_limit = out_limit ? out_limit : CHR_OUT_BUF;
	m->out = malloc(m->out_limit);
	m->in = malloc(CHR_OUT_BUF);
	if (!m->out || !m->in) {
		chr_mem_close(&m->c);
		return NULL;
	}
	m->c.ops = &chr_mem_ops;
	m->c.connected = true;
	snprintf(m->c.id, sizeof(m->c.id), "%s", id ? id : "mem");
	return &m->c;
}

size_t chr_mem_push_input(struct chr *c, const uint8_t *buf, size_t len)
{
	struct chr_mem *m = chr_mem_of(c);
	size_t room = CHR_OUT_BUF - m->in_len;
	size_t n = len < room ? len : room;
	memcpy(m->in + m->in_len, buf, n);
	m->in_len += n;
	chr_mem_deliver(c);
	return n;
}

size_t chr_mem_pending_input(const struct chr *c)
{
	return chr_mem_of(c)->in_len;
}

size_t chr_mem_take_output(struct chr *c, uint8_t *buf, size_t len)
{
	struct chr_mem *m = chr_mem_of(c);
	size_t n = len < m->out_len ? len : m->out_len;
	memcpy(buf, m->out, n);
	memmove(m->out, m->out + n, m->out_len - n);
	m->out_len -= n;
	if (n && m->want_writable) {
		m->want_writable = false;
		chr_fe_writable(c);
	}
	return n;
}

size_t chr_mem_output_len(const struct chr *c)
{
	return chr_mem_of(c)->out_len;
}
