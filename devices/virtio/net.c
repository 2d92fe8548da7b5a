/* virtio-net device model (virtio 1.2 §5.1).  See net.h. */
#include "devices/virtio/net.h"
#include "devices/virtio/net_priv.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/gm.h"
#include "core/log.h"
#include "core/netdev.h"
#include "devices/virtio/virtio.h"

#define HDR_LEN sizeof(struct virtio_net_hdr_v1)

_Static_assert(sizeof(struct virtio_net_hdr_v1) == NETDEV_HDR_LEN,
	       "the backend and the device agree on the v1 header size");

static struct vnet *to_net(struct vdev *vd)
{
	return vd->priv;
}

static bool running(const struct vnet *n)
{
	return vdev_live(&n->vd);
}

static bool check_pop(struct vnet *n, struct vq *vq, int r)
{
	if (r == -EPROTO || vq->broken) {
		vdev_needs_reset(&n->vd, "virtio-net: broken ring");
		return false;
	}
	return true;
}

/* Offloads in a header must have been negotiated by whoever receives it
 * (§5.1.6.2): `csum`, `tso4`... are the feature bits for that direction. */
static bool hdr_allowed(const struct vnet *n, const struct virtio_net_hdr_v1 *h,
			unsigned csum, unsigned tso4, unsigned tso6, unsigned ecn,
			unsigned ufo)
{
	const struct vdev *vd = &n->vd;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !vdev_has(vd, csum))
		return false;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !vdev_has(vd, ecn))
		return false;
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return vdev_has(vd, tso4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return vdev_has(vd, tso6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return vdev_has(vd, ufo);
	default:
		return false;
	}
}

/* The header the driver uses (§5.1.6.1 and its legacy note): 12 bytes
 * with VERSION_1 or MRG_RXBUF, the 10-byte struct virtio_net_hdr for a
 * legacy driver without MRG_RXBUF.  The backend always gets 12. */
static uint32_t guest_hdr_len(const struct vnet *n)
{
	return vdev_has(&n->vd, VIRTIO_F_VERSION_1) ||
	       vdev_has(&n->vd, VIRTIO_NET_F_MRG_RXBUF) ?
	       HDR_LEN : (uint32_t)offsetof(struct virtio_net_hdr_v1, num_buffers);
}

/* ---- transmit ---- */

static bool tx_one(struct vnet *n, struct netdev *nd, const struct vq_elem *e)
{
	uint32_t hl = guest_hdr_len(n), pad = HDR_LEN - hl;
	uint32_t len = e->out_len;
	if (len < hl || len > NETDEV_MAX_FRAME - pad) {
		log_rl(n->log, &n->rl, LOG_WARN,
		       "virtio-net: tx frame of %u bytes dropped", len);
		return false;
	}
	/* A short header is read in after room for num_buffers, then
	 * moved down so the backend sees the 12-byte layout. */
	if (vq_elem_read(n->vd.gm, e, 0, n->txbuf + pad, len))
		return false;
	if (pad)
		memmove(n->txbuf, n->txbuf + pad, hl);
	len += pad;
	const struct virtio_net_hdr_v1 *h = (const void *)n->txbuf;
	if (!hdr_allowed(n, h, VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4,
			 VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_ECN,
			 VIRTIO_NET_F_HOST_UFO)) {
		log_rl(n->log, &n->rl, LOG_WARN,
		       "virtio-net: tx header uses offloads not negotiated");
		return false;
	}
	/* num_buffers means nothing on transmit (§5.1.6.2): clear it. */
	memset(n->txbuf + offsetof(struct virtio_net_hdr_v1, num_buffers), 0, 2);
	struct iovec iov = { n->txbuf, len };
	if (netdev_send(nd, &iov, 1))
		return false;
	n->st.tx_bytes += len - HDR_LEN;
	return true;
}

static void process_tx(struct vnet_pair *p)
{
	struct vnet *n = p->n;
	unsigned q = vnet_txq(p->idx);
	struct vq *vq = &n->vd.vqs[q];
	bool pushed = false;
	struct vdev_budget b;
	if (!running(n))
		return;
	vdev_budget_init(&b);
	for (;;) {
		if (vdev_budget_spent(&n->vd, &b)) {
			vdev_resume_later(&n->vd, q);
			break;
		}
		int r = vq_pop(vq, n->txe);
		if (r == 0)
			break;
		pushed = true;
		if (r < 0) {
			if (!check_pop(n, vq, r))
				return;
			continue;
		}
		if (tx_one(n, p->nd, n->txe))
			n->st.tx_frames++;
		else
			n->st.tx_dropped++;
		vq_push(vq, n->txe, 0);
		vdev_budget_charge(&b, n->txe->out_len);
	}
	if (pushed)
		vdev_notify_queue(&n->vd, q);
}

/* ---- receive ---- */

static struct vq_elem *rx_elem(struct vnet *n, unsigned i)
{
	if (!n->rxe[i])
		n->rxe[i] = malloc(sizeof(struct vq_elem));
	return n->rxe[i];
}

/* 1: delivered; 0: not enough buffers (frame kept, nothing consumed);
 * -1: frame refused (drop it). */
static int rx_one(struct vnet_pair *p, const uint8_t *frame, size_t len)
{
	struct vnet *n = p->n;
	struct vq *vq = &n->vd.vqs[vnet_rxq(p->idx)];
	bool mrg = vdev_has(&n->vd, VIRTIO_NET_F_MRG_RXBUF);
	unsigned max = mrg ? VNET_MAX_MRG : 1;
	unsigned used = 0;
	size_t have = 0;
	uint32_t hl = guest_hdr_len(n);

	if (len < HDR_LEN || len > NETDEV_MAX_FRAME)
		return -1;
	/* What the guest gets: hl header bytes, then the payload. */
	const uint8_t *payload = frame + HDR_LEN;
	size_t glen = len - HDR_LEN + hl;
	struct virtio_net_hdr_v1 h;
	memcpy(&h, frame, sizeof(h));
	if (!hdr_allowed(n, &h, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4,
			 VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_ECN,
			 VIRTIO_NET_F_GUEST_UFO))
		return -1;
	while (have < glen && used < max) {
		struct vq_elem *e = rx_elem(n, used);
		if (!e)
			break;
		int r = vq_pop(vq, e);
		if (r == 0)
			break;
		if (r > 0 && e->in_len == 0) {
			vq_push(vq, e, 0); /* no room at all: hand it back */
			r = -EINVAL;
		}
		if (r < 0) {
			if (!check_pop(n, vq, r))
				return -1;
			if (used == 0)
				continue; /* bad chain already returned */
			/* The ring moved past a consumed bad chain, so the
			 * chains we hold can no longer be put back in order:
			 * return them empty (the driver drops a short frame)
			 * and drop this frame. */
			while (used)
				vq_push(vq, n->rxe[--used], 0);
			return -1;
		}
		have += e->in_len;
		used++;
	}
	if (have < glen) {
		/* Not enough room now.  Without MRG_RXBUF a single chain that
		 * is too small never will be: drop the frame, keep the chain. */
		bool hopeless = used == max;
		while (used)
			vq_unpop(vq, n->rxe[--used]);
		return hopeless ? -1 : 0;
	}
	/* §5.1.6.4: num_buffers is the number of chains the frame used
	 * (1 without MRG_RXBUF under VERSION_1). */
	h.num_buffers = htole16((uint16_t)used);
	size_t off = 0;
	uint32_t written[VNET_MAX_MRG];
	for (unsigned i = 0; i < used; i++) {
		struct vq_elem *e = n->rxe[i];
		size_t take = glen - off < e->in_len ? glen - off : e->in_len;
		int r = 0;
		size_t done = 0;
		if (off < hl) {
			size_t hb = hl - off < take ? hl - off : take;
			r = vq_elem_write(n->vd.gm, e, 0, (uint8_t *)&h + off, hb);
			done = hb;
		}
		if (!r && take > done)
			r = vq_elem_write(n->vd.gm, e, (uint32_t)done,
					  payload + (off + done - hl), take - done);
		if (r)
			log_rl(n->log, &n->rl, LOG_WARN,
			       "virtio-net: rx buffer not writable");
		written[i] = r ? 0 : (uint32_t)take;
		off += take;
	}
	/* All chains of the frame become visible to the driver together. */
	vq_push_batch(vq, n->rxe, written, used);
	n->st.rx_bytes += len - HDR_LEN;
	return 1;
}

static void pend_drop_head(struct vnet_pair *p)
{
	free(p->pend[p->pend_head].data);
	p->pend_head = (p->pend_head + 1) % VNET_RX_QLEN;
	p->pend_count--;
}

void vnet_pair_drop_pending(struct vnet_pair *p)
{
	while (p->pend_count) {
		pend_drop_head(p);
		p->n->st.rx_dropped++;
	}
}

/* Deliver waiting frames in order, within one entry's budget (the rest
 * from the resume timer); true if anything was pushed. */
static bool flush_pending(struct vnet_pair *p)
{
	struct vnet *n = p->n;
	bool pushed = false;
	struct vdev_budget b;
	vdev_budget_init(&b);
	while (p->pend_count && running(n)) {
		if (vdev_budget_spent(&n->vd, &b)) {
			vdev_resume_later(&n->vd, vnet_rxq(p->idx));
			break;
		}
		vdev_budget_charge(&b, p->pend[p->pend_head].len);
		struct rxframe *f = &p->pend[p->pend_head];
		int r = rx_one(p, f->data, f->len);
		if (r == 0)
			break;
		if (r > 0) {
			n->st.rx_frames++;
			pushed = true;
		} else {
			n->st.rx_dropped++;
		}
		pend_drop_head(p);
	}
	return pushed;
}

/* A pair out of use takes nothing (§5.1.6.5.5: no frames on queues past
 * the pair count); its tap queue is detached, so the kernel keeps them. */
static bool net_can_receive(void *opaque)
{
	struct vnet_pair *p = opaque;
	return running(p->n) && p->idx < p->n->cur_pairs &&
	       p->pend_count < VNET_RX_QLEN;
}

static void net_receive(void *opaque, const uint8_t *frame, size_t len)
{
	struct vnet_pair *p = opaque;
	struct vnet *n = p->n;
	if (!vdev_driver_ok(&n->vd)) {
		n->st.rx_dropped++;
		return;
	}
	/* Guest memory out of reach (bus mastering off): the frame waits
	 * with the others, delivered when the queues are kicked again. */
	if (p->idx >= n->cur_pairs) {
		n->st.rx_dropped++;
		return;
	}
	if (p->pend_count == 0 && running(n)) {
		int r = rx_one(p, frame, len);
		if (r != 0) {
			if (r > 0)
				n->st.rx_frames++;
			else
				n->st.rx_dropped++;
			if (r > 0)
				vdev_notify_queue(&n->vd, vnet_rxq(p->idx));
			return;
		}
	}
	if (p->pend_count == VNET_RX_QLEN) {
		n->st.rx_dropped++;
		return;
	}
	uint8_t *copy = malloc(len);
	if (!copy) {
		n->st.rx_dropped++;
		return;
	}
	memcpy(copy, frame, len);
	struct rxframe *f = &p->pend[(p->pend_head + p->pend_count) % VNET_RX_QLEN];
	f->data = copy;
	f->len = len;
	p->pend_count++;
	n->st.rx_queued++;
}

static void process_rx(struct vnet_pair *p)
{
	struct vnet *n = p->n;
	if (!running(n))
		return;
	if (flush_pending(p))
		vdev_notify_queue(&n->vd, vnet_rxq(p->idx));
	if (p->pend_count < VNET_RX_QLEN)
		netdev_accept_input(p->nd);
}

void vnet_pair_kick(struct vnet_pair *p)
{
	process_tx(p);
	process_rx(p);
}

/* ---- vdev_ops ---- */

static uint64_t net_features(struct vdev *vd)
{
	struct vnet *n = to_net(vd);
	uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) |
		     VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
		     VIRTIO_BIT(VIRTIO_NET_F_STATUS);
	if (n->has_mac)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MAC);
	if (n->mq)
		f |= VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_BIT(VIRTIO_NET_F_MQ);
	return f;
}

static void net_config_read(struct vdev *vd, uint32_t off, void *data,
			    unsigned len)
{
	struct vnet *n = to_net(vd);
	struct virtio_net_config c;
	memset(&c, 0, sizeof(c));
	memcpy(c.mac, n->mac, sizeof(c.mac));
	c.status = htole16(n->link_up ? VIRTIO_NET_S_LINK_UP : 0);
	c.max_virtqueue_pairs = htole16((uint16_t)n->max_pairs);
	c.mtu = htole16(1500);
	memcpy(data, (const uint8_t *)&c + off, len);
}

static void net_config_write(struct vdev *vd, uint32_t off, const void *data,
			     unsigned len)
{
	/* §5.1.4: the mac is driver-writable only for legacy devices; a
	 * modern driver sets it through the control queue with
	 * VIRTIO_NET_F_CTRL_MAC_ADDR, which we do not offer.  Ignore. */
	(void)data;
	struct vnet *n = to_net(vd);
	log_rl(n->log, &n->rl, LOG_DEBUG,
	       "virtio-net: config write at %u len %u ignored", off, len);
}

static int net_activate(struct vdev *vd)
{
	struct vnet *n = to_net(vd);
	unsigned off = 0;
	if (vdev_has(vd, VIRTIO_NET_F_GUEST_CSUM))
		off |= NETDEV_OFF_CSUM;
	if (vdev_has(vd, VIRTIO_NET_F_GUEST_TSO4))
		off |= NETDEV_OFF_TSO4;
	if (vdev_has(vd, VIRTIO_NET_F_GUEST_TSO6))
		off |= NETDEV_OFF_TSO6;
	if (vdev_has(vd, VIRTIO_NET_F_GUEST_ECN))
		off |= NETDEV_OFF_ECN;
	for (unsigned i = 0; i < n->npairs; i++)
		if (netdev_set_offload(n->pair[i].nd, off))
			log_warn(n->log, "virtio-net: backend refused offloads %#x", off);
	for (unsigned i = 0; i < n->cur_pairs; i++)
		vnet_pair_kick(&n->pair[i]);
	return 0;
}

static void net_notify(struct vdev *vd, unsigned q)
{
	struct vnet *n = to_net(vd);
	if (n->mq && vdev_has(vd, VIRTIO_NET_F_CTRL_VQ) && q == vnet_ctrlq(n)) {
		vnet_ctrl_process(n);
		return;
	}
	/* A kick on a pair out of use is the driver's error (§5.1.6.5.5):
	 * the pair is served when it comes into use. */
	if (q / 2 >= n->cur_pairs)
		return;
	if (q % 2)
		process_tx(&n->pair[q / 2]);
	else
		process_rx(&n->pair[q / 2]);
}

static void net_reset(struct vdev *vd)
{
	struct vnet *n = to_net(vd);
	/* Frames queued for a driver that is gone would reach the next one
	 * out of context: drop them.  A new driver starts on one pair. */
	for (unsigned i = 0; i < n->npairs; i++)
		vnet_pair_drop_pending(&n->pair[i]);
	vnet_set_pairs(n, 1);
}

static const struct vdev_ops net_ops = {
	.features = net_features,
	.config_read = net_config_read,
	.config_write = net_config_write,
	.activate = net_activate,
	.notify = net_notify,
	.reset = net_reset,
	.save = vnet_save,
	.load = vnet_load,
};

struct vnet *vnet_new(const struct vnet_config *cfg)
{
	struct vnet *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->txe = malloc(sizeof(*n->txe));
	n->txbuf = malloc(NETDEV_MAX_FRAME);
	if (!n->txe || !n->txbuf || !rx_elem(n, 0)) {
		vnet_free(n);
		return NULL;
	}
	n->log = cfg->log;
	n->npairs = cfg->pairs > 1 ? cfg->pairs : 1;
	if (n->npairs > VNET_MAX_PAIRS || !cfg->nd) {
		vnet_free(n);
		return NULL;
	}
	for (unsigned i = 0; i < n->npairs; i++) {
		n->pair[i].n = n;
		n->pair[i].idx = i;
		n->pair[i].nd = i ? cfg->nds[i] : cfg->nd;
		if (!n->pair[i].nd) {
			vnet_free(n);
			return NULL;
		}
	}
	n->mq = cfg->mq;
	n->max_pairs = n->mq ? n->npairs : 1;
	n->ctrlq = 2 * n->max_pairs;
	memcpy(n->mac, cfg->mac, sizeof(n->mac));
	n->has_mac = cfg->has_mac;
	n->link_up = true;

	struct vdev *vd = &n->vd;
	vd->clk = cfg->clk;
	vd->ops = &net_ops;
	vd->priv = n;
	vd->device_id = VIRTIO_ID_NET;
	vd->config_size = sizeof(struct virtio_net_config);
	vd->nqueues = 2 * n->max_pairs + (n->mq ? 1 : 0);
	for (unsigned q = 0; q < 2 * n->max_pairs; q++)
		vd->queue_max[q] = cfg->queue_size ? cfg->queue_size : VNET_QUEUE_SIZE;
	if (n->mq)
		vd->queue_max[n->ctrlq] = VNET_CTRL_QUEUE_SIZE;
	vd->gm = cfg->gm;
	vd->log = cfg->log;

	for (unsigned i = 0; i < n->npairs; i++) {
		struct netdev_frontend fe = {
			.can_receive = net_can_receive,
			.receive = net_receive,
			.opaque = &n->pair[i],
		};
		netdev_attach(n->pair[i].nd, &fe);
	}
	n->cur_pairs = n->npairs; /* so that set_pairs disables the rest */
	vnet_set_pairs(n, 1);
	return n;
}

void vnet_free(struct vnet *n)
{
	if (!n)
		return;
	for (unsigned i = 0; i < VNET_MAX_PAIRS; i++) {
		struct vnet_pair *p = &n->pair[i];
		if (p->nd && p->nd->attached && p->nd->fe.opaque == p)
			netdev_detach(p->nd);
		while (p->pend_count)
			pend_drop_head(p);
	}
	vdev_resume_cancel(&n->vd);
	for (unsigned i = 0; i < VNET_MAX_MRG; i++)
		free(n->rxe[i]);
	free(n->txe);
	free(n->txbuf);
	free(n);
}

struct vdev *vnet_vdev(struct vnet *n)
{
	return &n->vd;
}

const struct vnet_stats *vnet_get_stats(const struct vnet *n)
{
	return &n->st;
}

void vnet_set_link(struct vnet *n, bool up)
{
	if (n->link_up == up)
		return;
	n->link_up = up;
	if (vdev_has(&n->vd, VIRTIO_NET_F_STATUS))
		vdev_config_changed(&n->vd);
}

unsigned vnet_rx_pending(const struct vnet *n)
{
	unsigned c = 0;
	for (unsigned i = 0; i < n->npairs; i++)
		c += n->pair[i].pend_count;
	return c;
}

unsigned vnet_cur_pairs(const struct vnet *n)
{
	return n->cur_pairs;
}

uint64_t vnet_ctrl_errors(const struct vnet *n)
{
	return n->ctrl_errors;
}

