/* virtio-vsock connections and their host side (virtio 1.2 §5.10.6):
 * the table, credit accounting both ways, and the bounded buffer of
 * guest data a slow host peer has not taken yet.  See vsock.h. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/vsock_host.h"
#include "devices/virtio/vsock_priv.h"

struct vconn *vconn_find(struct vvsock *v, uint32_t gport, uint32_t hport)
{
	for (unsigned i = 0; i < VVSOCK_MAX_CONNS; i++) {
		struct vconn *c = &v->conns[i];
		if (c->state != VC_FREE && c->gport == gport && c->hport == hport)
			return c;
	}
	return NULL;
}

struct vconn *vconn_by_handle(struct vvsock *v, int h)
{
	for (unsigned i = 0; i < VVSOCK_MAX_CONNS; i++)
		if (v->conns[i].state != VC_FREE && v->conns[i].h == h)
			return &v->conns[i];
	return NULL;
}

struct vconn *vconn_alloc(struct vvsock *v)
{
	for (unsigned i = 0; i < VVSOCK_MAX_CONNS; i++)
		if (v->conns[i].state == VC_FREE) {
			struct vconn *c = &v->conns[i];
			memset(c, 0, sizeof(*c));
			c->h = -1;
			return c;
		}
	return NULL;
}

void vconn_drop(struct vvsock *v, struct vconn *c)
{
	if (c->state == VC_FREE)
		return;
	if (c->h >= 0)
		vsock_host_close(v->host, c->h);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->state = VC_FREE;
	c->h = -1;
}

bool vvsock_queue_rst(struct vvsock *v, uint32_t gport, uint32_t hport)
{
	if (v->nrst == VVSOCK_RST_QLEN)
		return false;
	v->rst[v->nrst].gport = gport;
	v->rst[v->nrst].hport = hport;
	v->nrst++;
	return true;
}

void vconn_reset(struct vvsock *v, struct vconn *c)
{
	/* An RST that cannot be queued is lost; the guest's socket then
	 * times out on its own, and nothing here grows. */
	if (!vvsock_queue_rst(v, c->gport, c->hport))
		v->st.rst_dropped++;
	vconn_drop(v, c);
}

uint32_t vconn_peer_credit(const struct vconn *c)
{
	/* Unsigned wrap-around as §5.10.6.3 counts; a guest claiming more
	 * forwarded than we sent (fwd_cnt ahead of tx_cnt) gets nothing, not
	 * 4 GiB. */
	uint32_t inflight = c->tx_cnt - c->peer_fwd_cnt;
	if (inflight >= c->peer_buf_alloc)
		return 0;
	return c->peer_buf_alloc - inflight;
}

void vconn_peer_update(struct vconn *c, const struct virtio_vsock_hdr *h)
{
	/* Every packet carries the sender's credit (§5.10.6.3).  fwd_cnt
	 * only moves forward and never past what we sent: a guest claiming
	 * otherwise would be handed credit for bytes it never freed, so its
	 * claim is ignored. */
	uint32_t fwd = le32toh(h->fwd_cnt);
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	if (fwd - c->peer_fwd_cnt <= c->tx_cnt - c->peer_fwd_cnt)
		c->peer_fwd_cnt = fwd;
}

void vconn_credit_check(struct vconn *c)
{
	/* Tell the guest about freed space before its view of our buffer
	 * falls below a quarter; every packet we send carries fwd_cnt too. */
	if (c->state == VC_EST &&
	    c->fwd_cnt - c->fwd_reported >= VVSOCK_BUF_ALLOC / 4)
		c->pend |= VC_P_CREDIT;
}

void vconn_rewatch(struct vvsock *v, struct vconn *c)
{
	unsigned w = 0;
	if (c->state == VC_EST && !c->readable && !c->host_eof &&
	    !c->guest_no_rcv && vconn_peer_credit(c) > 0)
		w |= VSOCK_HOST_IN;
	if (c->state == VC_EST && c->len)
		w |= VSOCK_HOST_OUT;
	if (w != c->watch && c->h >= 0) {
		c->watch = w;
		vsock_host_watch(v->host, c->h, w);
	}
}

static void forwarded(struct vconn *c, uint32_t n)
{
	c->fwd_cnt += n;
	vconn_credit_check(c);
}

bool vconn_flush(struct vvsock *v, struct vconn *c)
{
	while (c->len) {
		uint32_t run = c->len;
		if (c->head + run > VVSOCK_BUF_ALLOC)
			run = VVSOCK_BUF_ALLOC - c->head;
		ssize_t n = vsock_host_send(v->host, c->h, c->buf + c->head, run);
		if (n == -EAGAIN || n == 0)
			break;
		if (n < 0) {
			vconn_reset(v, c);
			return false;
		}
		c->head = (c->head + (uint32_t)n) % VVSOCK_BUF_ALLOC;
		c->len -= (uint32_t)n;
		forwarded(c, (uint32_t)n);
	}
	if (!c->len && c->guest_no_send && !c->host_send_shut) {
		vsock_host_shutdown_send(v->host, c->h);
		c->host_send_shut = true;
	}
	return true;
}

int vconn_from_guest(struct vvsock *v, struct vconn *c, const uint8_t *d,
		     uint32_t len)
{
	/* §5.10.6.3.1: the sender keeps what is in flight within the
	 * receiver's buf_alloc; bytes in flight are exactly what we still
	 * hold, so a guest past its credit is a broken peer: reset. */
	if (len > VVSOCK_BUF_ALLOC - c->len || c->guest_no_send) {
		v->st.credit_violations++;
		log_rl(v->log, &v->rl, LOG_WARN,
		       "virtio-vsock: port %u sent %u bytes past its credit; reset",
		       c->gport, len);
		vconn_reset(v, c);
		return -1;
	}
	c->rx_cnt += len;
	uint32_t done = 0;
	if (!c->len) {
		while (done < len) {
			ssize_t n = vsock_host_send(v->host, c->h, d + done, len - done);
			if (n == -EAGAIN || n == 0)
				break;
			if (n < 0) {
				vconn_reset(v, c);
				return -1;
			}
			done += (uint32_t)n;
		}
		forwarded(c, done);
	}
	if (done < len) {
		if (!c->buf && !(c->buf = malloc(VVSOCK_BUF_ALLOC))) {
			vconn_reset(v, c);
			return -1;
		}
		/* Into the ring after what it holds, in at most two runs. */
		while (done < len) {
			uint32_t tail = (c->head + c->len) % VVSOCK_BUF_ALLOC;
			uint32_t run = VVSOCK_BUF_ALLOC - tail;
			if (run > len - done)
				run = len - done;
			memcpy(c->buf + tail, d + done, run);
			c->len += run;
			done += run;
		}
	}
	return 0;
}

void vvsock_close_all(struct vvsock *v)
{
	for (unsigned i = 0; i < VVSOCK_MAX_CONNS; i++)
		vconn_drop(v, &v->conns[i]);
	v->nrst = 0;
	v->tx_stalled = false;
}

/* ---- the backend's calls ---- */

int vvsock_incoming(void *opaque, int h, uint32_t port)
{
	struct vvsock *v = opaque;
	if (!vdev_live(&v->vd)) {
		v->st.refused++;
		return -ECONNREFUSED;
	}
	struct vconn *c = vconn_alloc(v);
	if (!c) {
		v->st.refused++;
		return -EBUSY;
	}
	/* A local port no live connection to this guest port uses. */
	uint32_t lp;
	do {
		lp = v->next_local++;
		if (v->next_local < VVSOCK_LOCAL_PORT_BASE)
			v->next_local = VVSOCK_LOCAL_PORT_BASE;
	} while (vconn_find(v, port, lp));
	c->state = VC_HOST_REQ;
	c->h = h;
	c->gport = port;
	c->hport = lp;
	c->pend = VC_P_REQUEST;
	v->st.conns_opened++;
	vvsock_process_rx(v);
	return 0;
}

void vvsock_ready(void *opaque, int h, unsigned events)
{
	struct vvsock *v = opaque;
	struct vconn *c = vconn_by_handle(v, h);
	if (!c)
		return;
	if (events & VSOCK_HOST_OUT) {
		if (!vconn_flush(v, c)) {
			vvsock_process_rx(v);
			return;
		}
	}
	if (events & VSOCK_HOST_IN)
		c->readable = true;
	vconn_rewatch(v, c);
	vvsock_process_rx(v);
}
