/* Recording host backends: a wrapper per backend the board hands a
 * device (char, block, net, entropy).  The wrapper is what the device
 * sees; it forwards to the real backend and records what crossed: data
 * delivered to the device (input, block reads, frames, entropy) in full,
 * data the device handed out as bytes (char) or a hash (block writes, net
 * frames).  Deliveries the backend starts are bracketed *_BEGIN ... TR_END
 * so replay knows which device activity they caused.  Before TR_START the
 * wrappers hold input back (the front end "has no room"), so the board's
 * construction never depends on host timing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blockdev.h"
#include "core/chardev.h"
#include "core/entropy.h"
#include "core/netdev.h"
#include "core/trace_int.h"

static void trb_declare(struct trace_rec *tr, unsigned unit, unsigned kind,
			const char *id, uint64_t size, uint64_t flags)
{
	struct trace_ev e = { .kind = TR_BACKEND, .unit = (uint16_t)unit, .a = kind,
			      .b = size, .c = flags };
	size_t n = strlen(id);
	trace_rec_emit(tr, &e, id, n > 63 ? 63 : n);
}

static void trb_end(struct trace_rec *tr)
{
	struct trace_ev e = { .kind = TR_END };
	trace_rec_emit(tr, &e, NULL, 0);
}

/* ---- char ---- */

struct trb_chr {
	struct chr c;          /* what the device sees */
	struct chr *inner;
	struct trace_rec *tr;
	unsigned unit;
};

static size_t trb_chr_write(struct chr *c, const uint8_t *buf, size_t len)
{
	struct trb_chr *w = (struct trb_chr *)c;
	size_t n = chr_write(w->inner, buf, len);
	struct trace_ev e = { .kind = TR_CHR_WRITE, .unit = (uint16_t)w->unit, .a = n };
	trace_rec_emit(w->tr, &e, buf, len);
	return n;
}

static void trb_chr_accept(struct chr *c)
{
	struct trb_chr *w = (struct trb_chr *)c;
	struct trace_ev e = { .kind = TR_CHR_ACCEPT, .unit = (uint16_t)w->unit };
	trace_rec_emit(w->tr, &e, NULL, 0);
	chr_accept_input(w->inner);
}

static void trb_chr_close(struct chr *c)
{
	(void)c;   /* the board closes the real backend; the session frees us */
}

static const struct chr_ops trb_chr_ops = {
	trb_chr_write, trb_chr_accept, trb_chr_close,
};

/* A wrapper whose machine is gone (a reset rebuilt it and hooked the
 * unit again with a new wrapper, or has not yet) takes no input: its
 * front end was the old device. */
static bool trb_current(const struct trace_rec *tr, unsigned unit, const void *w)
{
	return tr->live && tr->claimed[unit] && tr->backends[unit] == w;
}

static size_t trb_fe_can_receive(void *opaque)
{
	struct trb_chr *w = opaque;
	return trb_current(w->tr, w->unit, w) ? chr_fe_can_receive(&w->c) : 0;
}

static void trb_fe_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct trb_chr *w = opaque;
	struct trace_ev e = { .kind = TR_CHR_IN_BEGIN, .unit = (uint16_t)w->unit };
	trace_rec_emit(w->tr, &e, buf, len);
	chr_fe_receive(&w->c, buf, len);
	trb_end(w->tr);
}

static void trb_fe_writable(void *opaque)
{
	struct trb_chr *w = opaque;
	struct trace_ev e = { .kind = TR_CHR_WRITABLE_BEGIN, .unit = (uint16_t)w->unit };
	trace_rec_emit(w->tr, &e, NULL, 0);
	chr_fe_writable(&w->c);
	trb_end(w->tr);
}

static void trb_fe_connected(void *opaque, int up)
{
	struct trb_chr *w = opaque;
	struct trace_ev e = { .kind = TR_CHR_CONN_BEGIN, .unit = (uint16_t)w->unit,
			      .a = up ? 1 : 0 };
	trace_rec_emit(w->tr, &e, NULL, 0);
	chr_fe_connected(&w->c, up != 0);
	trb_end(w->tr);
}

static void trb_chr_free(void *p)
{
	struct trb_chr *w = p;
	free(w);
}

static void *trb_chr_new(struct trace_rec *tr, unsigned unit, struct chr *inner)
{
	struct trb_chr *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->c.ops = &trb_chr_ops;
	w->c.connected = inner->connected;
	snprintf(w->c.id, sizeof(w->c.id), "%s", inner->id);
	w->inner = inner;
	w->tr = tr;
	w->unit = unit;
	struct chr_frontend fe = {
		.can_receive = trb_fe_can_receive, .receive = trb_fe_receive,
		.writable = trb_fe_writable, .connected = trb_fe_connected,
		.opaque = w,
	};
	chr_attach(inner, &fe);
	return w;
}

/* ---- block ---- */

struct trb_blk {
	struct blockdev bd;
	struct blockdev *inner;
	struct trace_rec *tr;
	unsigned unit;
};

static void trb_blk_ev(struct trb_blk *w, unsigned kind, uint64_t off,
		       uint64_t len, int rc, uint64_t d, const void *p, size_t n)
{
	struct trace_ev e = { .kind = (uint16_t)kind, .unit = (uint16_t)w->unit,
			      .a = off, .b = len, .c = (uint64_t)(int64_t)rc, .d = d };
	trace_rec_emit(w->tr, &e, p, n);
}

static int trb_blk_read(struct blockdev *bd, uint64_t off, void *buf, size_t len)
{
	struct trb_blk *w = (struct trb_blk *)bd;
	int rc = blockdev_read(w->inner, off, buf, len);
	trb_blk_ev(w, TR_BLK_READ, off, len, rc, 0, buf, rc == 0 ? len : 0);
	return rc;
}

static int trb_blk_write(struct blockdev *bd, uint64_t off, const void *buf,
			 size_t len)
{
	struct trb_blk *w = (struct trb_blk *)bd;
	int rc = blockdev_write(w->inner, off, buf, len);
	trb_blk_ev(w, TR_BLK_WRITE, off, len, rc,
		   trace_fnv1a(TRACE_FNV_INIT, buf, len), NULL, 0);
	return rc;
}

static int trb_blk_flush(struct blockdev *bd)
{
	struct trb_blk *w = (struct trb_blk *)bd;
	int rc = blockdev_flush(w->inner);
	trb_blk_ev(w, TR_BLK_FLUSH, 0, 0, rc, 0, NULL, 0);
	return rc;
}

static int trb_blk_discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
	struct trb_blk *w = (struct trb_blk *)bd;
	int rc = blockdev_discard(w->inner, off, len);
	trb_blk_ev(w, TR_BLK_DISCARD, off, len, rc, 0, NULL, 0);
	return rc;
}

static int trb_blk_zeroes(struct blockdev *bd, uint64_t off, uint64_t len,
			  bool unmap)
{
	struct trb_blk *w = (struct trb_blk *)bd;
	int rc = blockdev_write_zeroes(w->inner, off, len, unmap);
	trb_blk_ev(w, TR_BLK_ZEROES, off, len, rc, unmap, NULL, 0);
	return rc;
}

static void trb_blk_close(struct blockdev *bd)
{
	(void)bd;
}

static const struct blockdev_ops trb_blk_ops = {
	trb_blk_read, trb_blk_write, trb_blk_flush, trb_blk_discard,
	trb_blk_zeroes, trb_blk_close,
};

static void *trb_blk_new(struct trace_rec *tr, unsigned unit,
			 struct blockdev *inner)
{
	struct trb_blk *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->bd.ops = &trb_blk_ops;
	w->bd.size = inner->size;
	w->bd.readonly = inner->readonly;
	w->bd.direct = inner->direct;
	snprintf(w->bd.id, sizeof(w->bd.id), "%s", inner->id);
	w->inner = inner;
	w->tr = tr;
	w->unit = unit;
	return w;
}

/* ---- net ---- */

struct trb_net {
	struct netdev nd;
	struct netdev *inner;
	struct trace_rec *tr;
	unsigned unit;
};

static int trb_net_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	struct trb_net *w = (struct trb_net *)nd;
	int rc = netdev_send(w->inner, iov, iovcnt);
	uint64_t h = TRACE_FNV_INIT, len = 0;
	for (int i = 0; i < iovcnt; i++) {
		h = trace_fnv1a(h, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	struct trace_ev e = { .kind = TR_NET_SEND, .unit = (uint16_t)w->unit,
			      .b = len, .c = (uint64_t)(int64_t)rc, .d = h };
	trace_rec_emit(w->tr, &e, NULL, 0);
	return rc;
}

static int trb_net_offload(struct netdev *nd, unsigned flags)
{
	struct trb_net *w = (struct trb_net *)nd;
	int rc = netdev_set_offload(w->inner, flags);
	struct trace_ev e = { .kind = TR_NET_OFFLOAD, .unit = (uint16_t)w->unit,
			      .a = flags, .c = (uint64_t)(int64_t)rc };
	trace_rec_emit(w->tr, &e, NULL, 0);
	return rc;
}

static void trb_net_accept(struct netdev *nd)
{
	struct trb_net *w = (struct trb_net *)nd;
	struct trace_ev e = { .kind = TR_NET_ACCEPT, .unit = (uint16_t)w->unit };
	trace_rec_emit(w->tr, &e, NULL, 0);
	netdev_accept_input(w->inner);
}

static void trb_net_close(struct netdev *nd)
{
	(void)nd;
}

/* Steering on the host side only: the device's behaviour does not
 * depend on the answer (it logs a failure), so nothing is recorded. */
static int trb_net_enable(struct netdev *nd, bool on)
{
	return netdev_set_enabled(((struct trb_net *)nd)->inner, on);
}

static const struct netdev_ops trb_net_ops = {
	trb_net_send, trb_net_offload, trb_net_accept, trb_net_close,
	trb_net_enable,
};

static bool trb_net_can_receive(void *opaque)
{
	struct trb_net *w = opaque;
	return trb_current(w->tr, w->unit, w) && w->nd.attached &&
	       w->nd.fe.can_receive(w->nd.fe.opaque);
}

static void trb_net_receive(void *opaque, const uint8_t *frame, size_t len)
{
	struct trb_net *w = opaque;
	struct trace_ev e = { .kind = TR_NET_RX_BEGIN, .unit = (uint16_t)w->unit };
	trace_rec_emit(w->tr, &e, frame, len);
	w->nd.rx_frames++;
	w->nd.fe.receive(w->nd.fe.opaque, frame, len);
	trb_end(w->tr);
}

static void *trb_net_new(struct trace_rec *tr, unsigned unit, struct netdev *inner)
{
	struct trb_net *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->nd.ops = &trb_net_ops;
	snprintf(w->nd.id, sizeof(w->nd.id), "%s", inner->id);
	w->inner = inner;
	w->tr = tr;
	w->unit = unit;
	struct netdev_frontend fe = { trb_net_can_receive, trb_net_receive, w };
	netdev_attach(inner, &fe);
	return w;
}

/* ---- entropy ---- */

struct trb_ent {
	struct entropy e;
	struct entropy *inner;
	struct trace_rec *tr;
	unsigned unit;
};

static ssize_t trb_ent_read(struct entropy *e, void *buf, size_t len)
{
	struct trb_ent *w = (struct trb_ent *)e;
	ssize_t rc = entropy_read(w->inner, buf, len);
	struct trace_ev ev = { .kind = TR_ENT_READ, .unit = (uint16_t)w->unit,
			       .a = len, .c = (uint64_t)(int64_t)rc };
	trace_rec_emit(w->tr, &ev, buf, rc > 0 ? (size_t)rc : 0);
	return rc;
}

static void trb_ent_close(struct entropy *e)
{
	(void)e;
}

static const struct entropy_ops trb_ent_ops = { trb_ent_read, trb_ent_close };

static void *trb_ent_new(struct trace_rec *tr, unsigned unit,
			 struct entropy *inner)
{
	struct trb_ent *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->e.ops = &trb_ent_ops;
	snprintf(w->e.id, sizeof(w->e.id), "%s", inner->id);
	w->inner = inner;
	w->tr = tr;
	w->unit = unit;
	return w;
}

static void trb_free(void *p)
{
	free(p);
}

int trace_rec_backend(void *opaque, int kind, const char *id, void *opened,
		      void **out, char *err, size_t errlen)
{
	struct trace_rec *tr = opaque;
	*out = NULL;
	if (tr->inner_backend) {
		void *in = NULL;
		int r = tr->inner_backend(tr->inner_backend_opaque, kind, id,
					  opened, &in, err, errlen);
		if (r < 0)
			return r;
		opened = in;
	}
	if (!opened)
		return 0;   /* no backend: nothing to record */
	/* A machine rebuilt after a reset hooks the backends it keeps
	 * again: the same unit, no new declaration. */
	unsigned unit = tr->nbackends;
	bool again = false;
	for (unsigned u = 0; u < tr->nbackends && !again; u++)
		if (!tr->claimed[u] && tr->backend_kind[u] == kind &&
		    !strncmp(tr->backend_id[u], id, sizeof(tr->backend_id[u]) - 1)) {
			unit = u;
			again = true;
		}
	if (!again && tr->nbackends == TRACE_MAX_BACKENDS) {
		snprintf(err, errlen, "vmm: -trace-record: more than %u host "
			 "backends", TRACE_MAX_BACKENDS);
		return -1;
	}
	void *w = NULL;
	uint64_t size = 0, flags = 0;
	switch (kind) {
	case TRACE_BK_CHR:
		w = trb_chr_new(tr, unit, opened);
		break;
	case TRACE_BK_BLOCK: {
		struct blockdev *bd = opened;
		size = bd->size;
		flags = bd->readonly ? TRACE_BK_READONLY : 0;
		w = trb_blk_new(tr, unit, bd);
		break;
	}
	case TRACE_BK_NET:
		w = trb_net_new(tr, unit, opened);
		break;
	case TRACE_BK_ENTROPY:
		w = trb_ent_new(tr, unit, opened);
		break;
	default:
		snprintf(err, errlen, "vmm: -trace-record: unknown backend kind %d",
			 kind);
		return -1;
	}
	if (!w) {
		snprintf(err, errlen, "vmm: -trace-record: out of memory");
		return -1;
	}
	/* The old wrapper: its device is gone and its backend now feeds
	 * the new one (trb_*_new attached it), so nothing points at it. */
	if (again)
		tr->backend_free[unit](tr->backends[unit]);
	tr->backends[unit] = w;
	tr->backend_free[unit] = kind == TRACE_BK_CHR ? trb_chr_free : trb_free;
	tr->backend_kind[unit] = kind;
	tr->claimed[unit] = true;
	*out = w;
	if (again)
		return 0;
	snprintf(tr->backend_id[unit], sizeof(tr->backend_id[unit]), "%.63s", id);
	tr->nbackends++;
	trb_declare(tr, unit, (unsigned)kind, id, size, flags);
	return 0;
}

void trace_rec_backends_start(struct trace_rec *tr)
{
	for (unsigned i = 0; i < tr->nbackends; i++) {
		void *w = tr->backends[i];
		if (!tr->claimed[i])
			continue;   /* the machine of this boot has no such backend */
		if (tr->backend_kind[i] == TRACE_BK_CHR)
			chr_accept_input(((struct trb_chr *)w)->inner);
		else if (tr->backend_kind[i] == TRACE_BK_NET)
			netdev_accept_input(((struct trb_net *)w)->inner);
	}
}
