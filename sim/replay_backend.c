/* Stand-ins for the host backends during replay: each device-initiated
 * call takes its record from the trace (block reads and entropy get the
 * recorded bytes; writes and sends must match what was recorded), and
 * the engine delivers recorded input through them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blockdev.h"
#include "core/chardev.h"
#include "core/entropy.h"
#include "core/netdev.h"
#include "sim/replay_int.h"

struct rpb {
	union {
		struct chr c;
		struct blockdev bd;
		struct netdev nd;
		struct entropy e;
	} u;
	struct replay *rp;
	unsigned unit;
	int kind;
};

/* The record for this backend, of this kind; NULL after a divergence. */
static const struct trace_ev *rpb_take(struct rpb *w, unsigned kind,
				       const char *what)
{
	const struct trace_ev *e = replay_take(w->rp, kind, "%s on backend %u",
					       what, w->unit);
	if (e && e->unit != w->unit) {
		replay_diverge(w->rp, (size_t)(e - w->rp->r->ev), "expected %s on "
			       "backend %u, got it on backend %u",
			       trace_kind_name(kind), e->unit, w->unit);
		return NULL;
	}
	return e;
}

static void rpb_mismatch(struct rpb *w, const struct trace_ev *e,
			 const char *what, unsigned long long want,
			 unsigned long long got)
{
	replay_diverge(w->rp, (size_t)(e - w->rp->r->ev), "expected %s on backend "
		       "%u with %s %llu, got %llu", trace_kind_name(e->kind), w->unit,
		       what, want, got);
}

/* ---- char ---- */

static size_t rpb_chr_write(struct chr *c, const uint8_t *buf, size_t len)
{
	struct rpb *w = (struct rpb *)c;
	const struct trace_ev *e = rpb_take(w, TR_CHR_WRITE, "chr-write");
	if (!e)
		return len;
	const uint8_t *p = replay_payload(w->rp, e);
	if (e->size != len || memcmp(p, buf, len)) {
		size_t i = 0;
		while (i < len && i < e->size && p[i] == buf[i])
			i++;
		replay_diverge(w->rp, (size_t)(e - w->rp->r->ev), "expected chr-write "
			       "of %u byte(s) on backend %u, got %zu byte(s) differing "
			       "at byte %zu (0x%02x vs 0x%02x)", e->size, w->unit, len, i,
			       i < e->size ? p[i] : 0, i < len ? buf[i] : 0);
		return len;
	}
	replay_drain(w->rp);
	return (size_t)e->a;
}

static void rpb_chr_accept(struct chr *c)
{
	struct rpb *w = (struct rpb *)c;
	if (rpb_take(w, TR_CHR_ACCEPT, "chr-accept"))
		replay_drain(w->rp);
}

static void rpb_nop_chr(struct chr *c) { (void)c; }

static const struct chr_ops rpb_chr_ops = { rpb_chr_write, rpb_chr_accept,
					    rpb_nop_chr };

/* ---- block ---- */

static int rpb_blk_check(struct rpb *w, const struct trace_ev *e, uint64_t off,
			 uint64_t len)
{
	if (e->a != off) {
		rpb_mismatch(w, e, "offset", e->a, off);
		return -1;
	}
	if (e->b != len) {
		rpb_mismatch(w, e, "length", e->b, len);
		return -1;
	}
	return 0;
}

static int rpb_blk_read(struct blockdev *bd, uint64_t off, void *buf, size_t len)
{
	struct rpb *w = (struct rpb *)bd;
	const struct trace_ev *e = rpb_take(w, TR_BLK_READ, "blk-read");
	if (!e || rpb_blk_check(w, e, off, len) < 0)
		return -EIO;
	if (e->c == 0)
		memcpy(buf, replay_payload(w->rp, e), len);
	return (int)(int64_t)e->c;
}

static int rpb_blk_write(struct blockdev *bd, uint64_t off, const void *buf,
			 size_t len)
{
	struct rpb *w = (struct rpb *)bd;
	const struct trace_ev *e = rpb_take(w, TR_BLK_WRITE, "blk-write");
	if (!e || rpb_blk_check(w, e, off, len) < 0)
		return -EIO;
	uint64_t h = trace_fnv1a(TRACE_FNV_INIT, buf, len);
	if (h != e->d)
		rpb_mismatch(w, e, "data hash", e->d, h);
	return (int)(int64_t)e->c;
}

static int rpb_blk_flush(struct blockdev *bd)
{
	struct rpb *w = (struct rpb *)bd;
	const struct trace_ev *e = rpb_take(w, TR_BLK_FLUSH, "blk-flush");
	return e ? (int)(int64_t)e->c : -EIO;
}

static int rpb_blk_discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
	struct rpb *w = (struct rpb *)bd;
	const struct trace_ev *e = rpb_take(w, TR_BLK_DISCARD, "blk-discard");
	if (!e || rpb_blk_check(w, e, off, len) < 0)
		return -EIO;
	return (int)(int64_t)e->c;
}

static int rpb_blk_zeroes(struct blockdev *bd, uint64_t off, uint64_t len,
			  bool unmap)
{
	struct rpb *w = (struct rpb *)bd;
	const struct trace_ev *e = rpb_take(w, TR_BLK_ZEROES, "blk-write-zeroes");
	if (!e || rpb_blk_check(w, e, off, len) < 0)
		return -EIO;
	if (e->d != (uint64_t)unmap)
		rpb_mismatch(w, e, "unmap", e->d, unmap);
	return (int)(int64_t)e->c;
}

static void rpb_nop_blk(struct blockdev *bd) { (void)bd; }

static const struct blockdev_ops rpb_blk_ops = {
	rpb_blk_read, rpb_blk_write, rpb_blk_flush, rpb_blk_discard,
	rpb_blk_zeroes, rpb_nop_blk,
};

/* ---- net ---- */

static int rpb_net_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	struct rpb *w = (struct rpb *)nd;
	const struct trace_ev *e = rpb_take(w, TR_NET_SEND, "net-send");
	if (!e)
		return 0;
	uint64_t h = TRACE_FNV_INIT, len = 0;
	for (int i = 0; i < iovcnt; i++) {
		h = trace_fnv1a(h, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	if (e->b != len)
		rpb_mismatch(w, e, "frame length", e->b, len);
	else if (e->d != h)
		rpb_mismatch(w, e, "frame hash", e->d, h);
	else
		replay_drain(w->rp);
	return (int)(int64_t)e->c;
}

static int rpb_net_offload(struct netdev *nd, unsigned flags)
{
	struct rpb *w = (struct rpb *)nd;
	const struct trace_ev *e = rpb_take(w, TR_NET_OFFLOAD, "net-offload");
	if (!e)
		return 0;
	if (e->a != flags)
		rpb_mismatch(w, e, "flags", e->a, flags);
	return (int)(int64_t)e->c;
}

static void rpb_net_accept(struct netdev *nd)
{
	struct rpb *w = (struct rpb *)nd;
	if (rpb_take(w, TR_NET_ACCEPT, "net-accept"))
		replay_drain(w->rp);
}

static void rpb_nop_net(struct netdev *nd) { (void)nd; }

static const struct netdev_ops rpb_net_ops = {
	rpb_net_send, rpb_net_offload, rpb_net_accept, rpb_nop_net, NULL,
};

/* ---- entropy ---- */

static ssize_t rpb_ent_read(struct entropy *en, void *buf, size_t len)
{
	struct rpb *w = (struct rpb *)en;
	const struct trace_ev *e = rpb_take(w, TR_ENT_READ, "entropy-read");
	if (!e)
		return -EAGAIN;
	if (e->a != len) {
		rpb_mismatch(w, e, "length", e->a, len);
		return -EAGAIN;
	}
	ssize_t rc = (ssize_t)(int64_t)e->c;
	if (rc > 0)
		memcpy(buf, replay_payload(w->rp, e), (size_t)rc);
	return rc;
}

static void rpb_nop_ent(struct entropy *en) { (void)en; }

static const struct entropy_ops rpb_ent_ops = { rpb_ent_read, rpb_nop_ent };

/* ---- the board hook and deliveries ---- */

int replay_backend(void *opaque, int kind, const char *id, void *opened,
		   void **out, char *err, size_t errlen)
{
	struct replay *rp = opaque;
	(void)opened;
	*out = NULL;
	for (unsigned u = 0; u < rp->ndecl; u++) {
		const struct trace_ev *d = rp->decl[u];
		if ((int)d->a != kind || rp->stand_in[u] || strlen(id) != d->size ||
		    memcmp(id, rp->decl_id[u], d->size))
			continue;
		struct rpb *w = calloc(1, sizeof(*w));
		if (!w) {
			snprintf(err, errlen, "vmm-replay: out of memory");
			return -1;
		}
		w->rp = rp;
		w->unit = d->unit;
		w->kind = kind;
		switch (kind) {
		case TRACE_BK_CHR:
			w->u.c.ops = &rpb_chr_ops;
			w->u.c.connected = true;
			snprintf(w->u.c.id, sizeof(w->u.c.id), "%s", id);
			break;
		case TRACE_BK_BLOCK:
			w->u.bd.ops = &rpb_blk_ops;
			w->u.bd.size = d->b;
			w->u.bd.readonly = d->c & TRACE_BK_READONLY;
			snprintf(w->u.bd.id, sizeof(w->u.bd.id), "%s", id);
			break;
		case TRACE_BK_NET:
			w->u.nd.ops = &rpb_net_ops;
			snprintf(w->u.nd.id, sizeof(w->u.nd.id), "%s", id);
			break;
		default:
			w->u.e.ops = &rpb_ent_ops;
			snprintf(w->u.e.id, sizeof(w->u.e.id), "%s", id);
			break;
		}
		rp->stand_in[u] = w;
		*out = w;
		return 0;
	}
	return 0;   /* the recording had no backend here either */
}

void replay_backend_deliver(struct replay *rp, const struct trace_ev *e,
			    const uint8_t *payload)
{
	size_t idx = (size_t)(e - rp->r->ev);
	struct rpb *w = e->unit < rp->ndecl ? rp->stand_in[e->unit] : NULL;
	int want = e->kind == TR_NET_RX_BEGIN ? TRACE_BK_NET : TRACE_BK_CHR;
	if (!w || w->kind != want) {
		replay_diverge(rp, idx, "expected %s into backend %u, got no such "
			       "backend in the rebuilt machine",
			       trace_kind_name(e->kind), e->unit);
		return;
	}
	switch (e->kind) {
	case TR_CHR_IN_BEGIN: {
		size_t room = chr_fe_can_receive(&w->u.c);
		if (room < e->size) {
			replay_diverge(rp, idx, "expected the front end to take %u "
				       "input byte(s), got room for %zu", e->size, room);
			return;
		}
		chr_fe_receive(&w->u.c, payload, e->size);
		break;
	}
	case TR_CHR_WRITABLE_BEGIN:
		chr_fe_writable(&w->u.c);
		break;
	case TR_CHR_CONN_BEGIN:
		chr_fe_connected(&w->u.c, e->a != 0);
		break;
	case TR_NET_RX_BEGIN:
		if (!w->u.nd.attached || !w->u.nd.fe.can_receive(w->u.nd.fe.opaque)) {
			replay_diverge(rp, idx, "expected the front end to take a "
				       "%u-byte frame, got no room", e->size);
			return;
		}
		w->u.nd.rx_frames++;
		w->u.nd.fe.receive(w->u.nd.fe.opaque, payload, e->size);
		break;
	default:
		break;
	}
}

void replay_backends_free(struct replay *rp)
{
	for (unsigned u = 0; u < rp->ndecl; u++)
		free(rp->stand_in[u]);
}
