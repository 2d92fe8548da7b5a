/* virtio-vsock device model (virtio 1.2 §5.10): the queues and the
 * packets on them.  Connections and the host side: vsock_conn.c.  See
 * vsock.h. */
#include "devices/virtio/vsock.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/vsock_host.h"
#include "devices/virtio/vsock_priv.h"

#define HDR_LEN ((uint32_t)sizeof(struct virtio_vsock_hdr))

_Static_assert(sizeof(struct virtio_vsock_hdr) == 44, "§5.10.6 header is 44 bytes");

static struct vvsock *to_vs(struct vdev *vd)
{
	return vd->priv;
}

bool vvsock_cid_valid(uint64_t cid)
{
	return cid >= VVSOCK_MIN_CID && cid <= VVSOCK_MAX_CID;
}

/* ---- device -> guest (rx queue) ---- */

static void fill_hdr(const struct vvsock *v, struct virtio_vsock_hdr *h,
		     uint32_t gport, uint32_t hport, uint16_t op, uint32_t len,
		     uint32_t flags, const struct vconn *c)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(VSOCK_HOST_CID);
	h->dst_cid = htole64(v->guest_cid);
	h->src_port = htole32(hport);
	h->dst_port = htole32(gport);
	h->len = htole32(len);
	h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h->op = htole16(op);
	h->flags = htole32(flags);
	if (c) {
		h->buf_alloc = htole32(VVSOCK_BUF_ALLOC);
		h->fwd_cnt = htole32(c->fwd_cnt);
	}
}

/* What c has for the guest next, into the popped buffer e: bytes written
 * (header included), 0 when c has nothing now.  May drop c. */
static uint32_t conn_packet(struct vvsock *v, struct vconn *c,
			    const struct vq_elem *e)
{
	struct virtio_vsock_hdr h;
	uint16_t op = 0;
	uint32_t flags = 0;
	if (c->pend & VC_P_REQUEST) {
		c->pend &= ~VC_P_REQUEST;
		op = VIRTIO_VSOCK_OP_REQUEST;
	} else if (c->pend & VC_P_RESPONSE) {
		c->pend &= ~VC_P_RESPONSE;
		op = VIRTIO_VSOCK_OP_RESPONSE;
	} else if (c->pend & VC_P_CREDIT) {
		c->pend &= ~VC_P_CREDIT;
		op = VIRTIO_VSOCK_OP_CREDIT_UPDATE;
	} else if (c->pend & VC_P_SHUTDOWN) {
		c->pend &= ~VC_P_SHUTDOWN;
		op = VIRTIO_VSOCK_OP_SHUTDOWN;
		/* §5.10.6.5: end of stream means the host will send no
		 * more; it may still read (a half-close), so only F_SEND.  If
		 * it closed for good, the guest's next data meets EPIPE and
		 * gets RST. */
		flags = VIRTIO_VSOCK_SHUTDOWN_F_SEND;
	}
	if (op) {
		fill_hdr(v, &h, c->gport, c->hport, op, 0, flags, c);
		c->fwd_reported = c->fwd_cnt;
		return vq_elem_write(v->vd.gm, e, 0, &h, HDR_LEN) ? 0 : HDR_LEN;
	}
	if (c->state != VC_EST || !c->readable || c->host_eof || c->guest_no_rcv)
		return 0;
	uint32_t want = vconn_peer_credit(c);
	if (want > e->in_len - HDR_LEN)
		want = e->in_len - HDR_LEN;
	if (want > VVSOCK_MAX_PKT)
		want = VVSOCK_MAX_PKT;
	if (!want)
		return 0;
	ssize_t n = vsock_host_recv(v->host, c->h, v->scratch, want);
	if (n == -EAGAIN) {
		c->readable = false;
		vconn_rewatch(v, c);
		return 0;
	}
	if (n <= 0) {
		/* End of stream (or an error): the host peer sends no more;
		 * tell the guest. */
		c->host_eof = true;
		c->readable = false;
		vconn_rewatch(v, c);
		if (n < 0) {
			vconn_reset(v, c);
			return 0;
		}
		c->pend |= VC_P_SHUTDOWN;
		return conn_packet(v, c, e);
	}
	fill_hdr(v, &h, c->gport, c->hport, VIRTIO_VSOCK_OP_RW, (uint32_t)n, 0, c);
	if (vq_elem_write(v->vd.gm, e, 0, &h, HDR_LEN) ||
	    vq_elem_write(v->vd.gm, e, HDR_LEN, v->scratch, (size_t)n)) {
		/* The guest's buffer is bad and the bytes are lost: the stream
		 * cannot go on intact. */
		vconn_reset(v, c);
		return 0;
	}
	c->tx_cnt += (uint32_t)n;
	c->fwd_reported = c->fwd_cnt;
	v->st.rx_bytes += (uint64_t)n;
	if (!vconn_peer_credit(c))
		vconn_rewatch(v, c);
	return HDR_LEN + (uint32_t)n;
}

/* Fill e with the next packet anyone owes the guest: 0 when nobody has
 * one. */
static uint32_t next_packet(struct vvsock *v, const struct vq_elem *e)
{
	if (v->nrst) {
		struct virtio_vsock_hdr h;
		fill_hdr(v, &h, v->rst[0].gport, v->rst[0].hport,
			 VIRTIO_VSOCK_OP_RST, 0, 0, NULL);
		memmove(&v->rst[0], &v->rst[1], (v->nrst - 1) * sizeof(v->rst[0]));
		v->nrst--;
		v->st.rst_sent++;
		return vq_elem_write(v->vd.gm, e, 0, &h, HDR_LEN) ? 0 : HDR_LEN;
	}
	for (unsigned k = 0; k < VVSOCK_MAX_CONNS; k++) {
		unsigned i = (v->rr + k) % VVSOCK_MAX_CONNS;
		struct vconn *c = &v->conns[i];
		if (c->state == VC_FREE)
			continue;
		uint32_t n = conn_packet(v, c, e);
		if (n) {
			/* Next time start after this one: one busy connection
			 * does not starve the others. */
			v->rr = (i + 1) % VVSOCK_MAX_CONNS;
			return n;
		}
		if (v->nrst) /* conn_packet reset c: its RST goes first */
			return next_packet(v, e);
	}
	return 0;
}

static void process_tx(struct vvsock *v);

void vvsock_process_rx(struct vvsock *v)
{
	struct vdev *vd = &v->vd;
	struct vq *vq = &vd->vqs[VVSOCK_RXQ];
	bool pushed = false;
	struct vdev_budget b;
	if (!vdev_live(vd) || v->in_rx)
		return;
	v->in_rx = true;
	vdev_budget_init(&b);
	for (;;) {
		if (vdev_budget_spent(vd, &b)) {
			vdev_resume_later(vd, VVSOCK_RXQ);
			break;
		}
		int k = vdev_pop(vd, vq, v->rxe, &pushed, "virtio-vsock: broken rx ring");
		if (k == 0)
			break;
		if (k == -EPROTO)
			goto out;
		if (k < 0)
			continue;
		if (v->rxe->in_len < HDR_LEN) {
			/* §5.10.6.1: rx buffers hold at least a header. */
			v->st.bad_len++;
			log_rl(v->log, &v->rl, LOG_WARN,
			       "virtio-vsock: rx buffer of %u bytes is too small",
			       v->rxe->in_len);
			vq_push(vq, v->rxe, 0);
			pushed = true;
			continue;
		}
		uint32_t n = next_packet(v, v->rxe);
		if (!n) {
			vq_unpop(vq, v->rxe);
			break;
		}
		vq_push(vq, v->rxe, n);
		pushed = true;
		v->st.rx_pkts++;
		vdev_budget_charge(&b, n);
	}
	if (pushed)
		vdev_notify_queue(vd, VVSOCK_RXQ);
out:
	v->in_rx = false;
	/* Replies found room: the tx queue may go on. */
	if (v->tx_stalled && v->nrst < VVSOCK_RST_QLEN) {
		v->tx_stalled = false;
		process_tx(v);
	}
}

/* ---- guest -> device (tx queue) ---- */

/* Answer an RST to (gport, hport) unless the packet was one itself. */
static void reply_rst(struct vvsock *v, uint16_t op, uint32_t gport,
		      uint32_t hport)
{
	if (op == VIRTIO_VSOCK_OP_RST)
		return;
	if (!vvsock_queue_rst(v, gport, hport))
		v->st.rst_dropped++;
}

static void guest_request(struct vvsock *v, uint32_t gport, uint32_t hport,
			  const struct virtio_vsock_hdr *h)
{
	struct vconn *c = vconn_alloc(v);
	int hd = -1;
	if (!c || vsock_host_connect(v->host, hport, &hd) < 0) {
		v->st.refused++;
		reply_rst(v, VIRTIO_VSOCK_OP_REQUEST, gport, hport);
		return;
	}
	c->state = VC_EST;
	c->h = hd;
	c->gport = gport;
	c->hport = hport;
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	/* Counters are relative: whatever the guest starts from. */
	c->peer_fwd_cnt = c->tx_cnt = le32toh(h->fwd_cnt);
	c->pend = VC_P_RESPONSE;
	v->st.conns_opened++;
	vconn_rewatch(v, c);
}

static void tx_packet(struct vvsock *v, const struct virtio_vsock_hdr *h,
		      const uint8_t *data, uint32_t len)
{
	uint16_t op = le16toh(h->op);
	uint32_t gport = le32toh(h->src_port), hport = le32toh(h->dst_port);
	struct vconn *c = vconn_find(v, gport, hport);

	if (le16toh(h->type) != VIRTIO_VSOCK_TYPE_STREAM) {
		/* No SEQPACKET offered: refuse as Linux does for an unknown
		 * type, and end a connection it came on. */
		v->st.bad_type++;
		if (c)
			vconn_drop(v, c);
		reply_rst(v, op, gport, hport);
		return;
	}
	if (!c) {
		if (op == VIRTIO_VSOCK_OP_REQUEST)
			guest_request(v, gport, hport, h);
		else
			reply_rst(v, op, gport, hport);
		return;
	}
	vconn_peer_update(c, h);
	uint32_t flags = le32toh(h->flags);
	switch (op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state != VC_HOST_REQ) {
			vconn_reset(v, c);
			return;
		}
		c->state = VC_EST;
		c->pend &= ~VC_P_REQUEST;
		if (vsock_host_accept(v->host, c->h, c->hport) < 0) {
			vconn_reset(v, c);
			return;
		}
		break;
	case VIRTIO_VSOCK_OP_RST:
		vconn_drop(v, c);
		return;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (flags & VIRTIO_VSOCK_SHUTDOWN_F_RECEIVE)
			c->guest_no_rcv = true;
		if (flags & VIRTIO_VSOCK_SHUTDOWN_F_SEND)
			c->guest_no_send = true;
		/* Both ways closed: the connection is over; we close it with
		 * RST as the host side does in Firecracker and Linux. */
		if (c->guest_no_rcv && c->guest_no_send) {
			if (!vconn_flush(v, c))
				return;
			vconn_reset(v, c);
			return;
		}
		if (!vconn_flush(v, c))
			return;
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state != VC_EST) {
			vconn_reset(v, c);
			return;
		}
		if (vconn_from_guest(v, c, data, len) < 0)
			return;
		v->st.tx_bytes += len;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->pend |= VC_P_CREDIT;
		break;
	default:
		/* REQUEST on a live connection, INVALID, or no op at all:
		 * Linux resets the connection. */
		v->st.bad_op++;
		log_rl(v->log, &v->rl, LOG_WARN,
		       "virtio-vsock: op %u on port %u; reset", op, gport);
		vconn_reset(v, c);
		return;
	}
	vconn_rewatch(v, c);
}

/* One tx chain: header, then payload. */
static void tx_one(struct vvsock *v, const struct vq_elem *e)
{
	struct virtio_vsock_hdr h;
	if (e->out_len < HDR_LEN || vq_elem_read(v->vd.gm, e, 0, &h, HDR_LEN)) {
		v->st.bad_len++;
		return;
	}
	uint32_t len = le32toh(h.len);
	/* §5.10.6.1: len is the payload after the header; it must be there,
	 * and one packet carries at most VVSOCK_MAX_PKT.  Payload only
	 * means something on RW. */
	if (len > e->out_len - HDR_LEN || len > VVSOCK_MAX_PKT ||
	    (len && le16toh(h.op) != VIRTIO_VSOCK_OP_RW)) {
		v->st.bad_len++;
		log_rl(v->log, &v->rl, LOG_WARN,
		       "virtio-vsock: tx packet len %u in a %u-byte chain dropped",
		       len, e->out_len);
		return;
	}
	/* §5.10.6.3: packets not from the guest's CID to the host are not
	 * ours to route; dropped. */
	if (le64toh(h.src_cid) != v->guest_cid ||
	    le64toh(h.dst_cid) != VSOCK_HOST_CID) {
		v->st.bad_cid++;
		log_rl(v->log, &v->rl, LOG_WARN,
		       "virtio-vsock: packet from cid %llu to cid %llu dropped",
		       (unsigned long long)le64toh(h.src_cid),
		       (unsigned long long)le64toh(h.dst_cid));
		return;
	}
	if (len && vq_elem_read(v->vd.gm, e, HDR_LEN, v->scratch, len)) {
		v->st.bad_len++;
		return;
	}
	v->st.tx_pkts++;
	tx_packet(v, &h, v->scratch, len);
}

static void process_tx(struct vvsock *v)
{
	struct vdev *vd = &v->vd;
	struct vq *vq = &vd->vqs[VVSOCK_TXQ];
	bool pushed = false;
	struct vdev_budget b;
	if (!vdev_live(vd))
		return;
	vdev_budget_init(&b);
	for (;;) {
		/* A packet may owe the guest a reply; with no room left for
		 * one, stop taking packets until the guest gives rx buffers
		 * (§5.10.6.3 lets the device wait on the rx queue). */
		if (v->nrst == VVSOCK_RST_QLEN) {
			v->tx_stalled = true;
			v->st.tx_stalls++;
			break;
		}
		if (vdev_budget_spent(vd, &b)) {
			vdev_resume_later(vd, VVSOCK_TXQ);
			break;
		}
		int k = vdev_pop(vd, vq, v->txe, &pushed, "virtio-vsock: broken tx ring");
		if (k == 0)
			break;
		if (k == -EPROTO)
			return;
		if (k < 0)
			continue;
		tx_one(v, v->txe);
		vq_push(vq, v->txe, 0);
		pushed = true;
		vdev_budget_charge(&b, v->txe->out_len);
	}
	if (pushed)
		vdev_notify_queue(vd, VVSOCK_TXQ);
	vvsock_process_rx(v);
}

/* ---- vdev ops ---- */

static uint64_t vs_features(struct vdev *vd)
{
	(void)vd;
	return VIRTIO_BIT(VIRTIO_VSOCK_F_STREAM);
}

static void vs_config_read(struct vdev *vd, uint32_t off, void *data, unsigned len)
{
	/* §5.10.4: le64 guest_cid, read-only. */
	uint8_t cfg[8];
	uint64_t cid = htole64(to_vs(vd)->guest_cid);
	memcpy(cfg, &cid, sizeof(cfg));
	memset(data, 0, len);
	if (off < sizeof(cfg))
		memcpy(data, cfg + off, len < sizeof(cfg) - off ? len : sizeof(cfg) - off);
}

static void vs_config_write(struct vdev *vd, uint32_t off, const void *data,
			    unsigned len)
{
	(void)vd;
	(void)off;
	(void)data;
	(void)len; /* read-only */
}

static int vs_activate(struct vdev *vd)
{
	struct vvsock *v = to_vs(vd);
	process_tx(v);
	return 0;
}

static void vs_notify(struct vdev *vd, unsigned q)
{
	struct vvsock *v = to_vs(vd);
	if (q == VVSOCK_TXQ)
		process_tx(v);
	else if (q == VVSOCK_RXQ)
		vvsock_process_rx(v);
	else if (q == VVSOCK_EVQ)
		vvsock_send_reset(v);   /* a restore's event waiting for a buffer */
}

static void vs_reset(struct vdev *vd)
{
	/* §5.10.6.6: a reset ends every connection; host peers see them
	 * closed. */
	vvsock_close_all(to_vs(vd));
	to_vs(vd)->reset_pending = false;   /* a new driver has no sockets */
	vdev_resume_cancel(vd);
}

static const struct vdev_ops vs_ops = {
	.features = vs_features,
	.config_read = vs_config_read,
	.config_write = vs_config_write,
	.activate = vs_activate,
	.notify = vs_notify,
	.reset = vs_reset,
	.save = vvsock_save,
	.load = vvsock_load,
	.resume = vvsock_resume,
};

struct vvsock *vvsock_new(const struct vvsock_config *cfg)
{
	if (!vvsock_cid_valid(cfg->guest_cid) || !cfg->host) {
		errno = EINVAL;
		return NULL;
	}
	struct vvsock *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->rxe = malloc(sizeof(*v->rxe));
	v->txe = malloc(sizeof(*v->txe));
	v->scratch = malloc(VVSOCK_MAX_PKT);
	if (!v->rxe || !v->txe || !v->scratch) {
		free(v->rxe);
		free(v->txe);
		free(v->scratch);
		free(v);
		return NULL;
	}
	for (unsigned i = 0; i < VVSOCK_MAX_CONNS; i++)
		v->conns[i].h = -1;
	v->host = cfg->host;
	v->log = cfg->log;
	v->guest_cid = cfg->guest_cid;
	v->next_local = VVSOCK_LOCAL_PORT_BASE;
	struct vdev *vd = &v->vd;
	vd->ops = &vs_ops;
	vd->priv = v;
	vd->device_id = VIRTIO_ID_VSOCK;
	vd->config_size = 8;
	vd->nqueues = 3;
	for (unsigned q = 0; q < 3; q++)
		vd->queue_max[q] = cfg->queue_size ? cfg->queue_size : VVSOCK_QUEUE_SIZE;
	vd->gm = cfg->gm;
	vd->log = cfg->log;
	vd->clk = cfg->clk;
	struct vsock_host_frontend fe = {
		.incoming = vvsock_incoming, .ready = vvsock_ready, .opaque = v,
	};
	vsock_host_attach(cfg->host, &fe);
	return v;
}

void vvsock_free(struct vvsock *v)
{
	if (!v)
		return;
	vvsock_close_all(v);
	vsock_host_detach(v->host);
	vdev_resume_cancel(&v->vd);
	free(v->rxe);
	free(v->txe);
	free(v->scratch);
	free(v);
}

struct vdev *vvsock_vdev(struct vvsock *v)
{
	return &v->vd;
}

const struct vvsock_stats *vvsock_get_stats(const struct vvsock *v)
{
	return &v->st;
}

unsigned vvsock_conn_count(const struct vvsock *v)
{
	unsigned n = 0;
	for (unsigned i = 0; i < VVSOCK_MAX_CONNS; i++)
		n += v->conns[i].state != VC_FREE;
	return n;
}

uint64_t vvsock_buffered(const struct vvsock *v)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < VVSOCK_MAX_CONNS; i++)
		n += v->conns[i].len;
	return n;
}
