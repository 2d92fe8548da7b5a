/* virtio-net control queue (virtio 1.2 §5.1.6.5) and queue pairs.
 *
 * Offered with -device ...,mq=on: VIRTIO_NET_F_CTRL_VQ and VIRTIO_NET_F_MQ.
 * The one command class served is VIRTIO_NET_CTRL_MQ with
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (§5.1.6.5.5): the driver picks how many
 * of max_virtqueue_pairs it uses.  Every other command, and a pair count
 * outside 1..max_virtqueue_pairs, gets VIRTIO_NET_ERR and changes
 * nothing.  A chain too short to hold the header, or with no writable
 * byte for the ack, is returned unanswered (nothing written) and logged:
 * the guest is wrong, the device lives on. */
#include "devices/virtio/net_priv.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include "core/netdev.h"

void vnet_set_pairs(struct vnet *n, unsigned k)
{
	unsigned old = n->cur_pairs;
	if (k < 1)
		k = 1;
	if (k > n->max_pairs)
		k = n->max_pairs;
	n->cur_pairs = k;
	for (unsigned i = 0; i < n->npairs; i++) {
		int r = netdev_set_enabled(n->pair[i].nd, i < k);
		if (r)
			log_rl(n->log, &n->rl, LOG_WARN,
			       "virtio-net: backend queue %u: %s failed (%d)", i,
			       i < k ? "attach" : "detach", r);
		/* Frames held for a pair out of use would reach the guest on
		 * a queue it no longer reads. */
		if (i >= k)
			vnet_pair_drop_pending(&n->pair[i]);
	}
	for (unsigned i = old; i < k; i++)
		vnet_pair_kick(&n->pair[i]);
}

/* One command: the ack to write (VIRTIO_NET_OK / VIRTIO_NET_ERR). */
static uint8_t ctrl_command(struct vnet *n, const struct vq_elem *e)
{
	uint8_t hdr[2];
	uint16_t pairs;

	if (vq_elem_read(n->vd.gm, e, 0, hdr, sizeof(hdr)))
		return VIRTIO_NET_ERR;
	if (hdr[0] != VIRTIO_NET_CTRL_MQ ||
	    hdr[1] != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET) {
		log_rl(n->log, &n->rl, LOG_DEBUG,
		       "virtio-net: control class %u command %u not supported",
		       hdr[0], hdr[1]);
		return VIRTIO_NET_ERR;
	}
	/* §5.1.6.5.5: only with VIRTIO_NET_F_MQ negotiated, and the count
	 * must lie in 1..max_virtqueue_pairs. */
	if (!vdev_has(&n->vd, VIRTIO_NET_F_MQ) || e->out_len < 4 ||
	    vq_elem_read(n->vd.gm, e, 2, &pairs, sizeof(pairs)))
		return VIRTIO_NET_ERR;
	pairs = le16toh(pairs);
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > n->max_pairs) {
		log_rl(n->log, &n->rl, LOG_WARN,
		       "virtio-net: %u queue pairs refused (device has %u)",
		       pairs, n->max_pairs);
		return VIRTIO_NET_ERR;
	}
	vnet_set_pairs(n, pairs);
	return VIRTIO_NET_OK;
}

void vnet_ctrl_process(struct vnet *n)
{
	unsigned cq = vnet_ctrlq(n);
	struct vq *vq = &n->vd.vqs[cq];
	struct vdev_budget b;
	bool pushed = false;

	/* Without CTRL_VQ negotiated there is no control queue (§5.1.2):
	 * a kick on its index is a data queue's, or nothing. */
	if (!vdev_live(&n->vd) || !vdev_has(&n->vd, VIRTIO_NET_F_CTRL_VQ))
		return;
	vdev_budget_init(&b);
	for (;;) {
		if (vdev_budget_spent(&n->vd, &b)) {
			vdev_resume_later(&n->vd, cq);
			break;
		}
		int r = vdev_pop(&n->vd, vq, n->txe, &pushed,
				 "virtio-net: broken control queue");
		if (r == 0 || r == -EPROTO)
			break;
		if (r < 0)
			continue;
		uint32_t written = 0;
		if (n->txe->out_len < 2 || n->txe->in_len < 1) {
			log_rl(n->log, &n->rl, LOG_WARN,
			       "virtio-net: control chain of %u/%u bytes unanswered",
			       n->txe->out_len, n->txe->in_len);
			n->ctrl_errors++;
		} else {
			uint8_t ack = ctrl_command(n, n->txe);
			if (ack != VIRTIO_NET_OK)
				n->ctrl_errors++;
			/* The in part is the ack byte (§5.1.6.5). */
			if (!vq_elem_write(n->vd.gm, n->txe, 0, &ack, 1))
				written = 1;
		}
		vq_push(vq, n->txe, written);
		pushed = true;
		vdev_budget_charge(&b, n->txe->out_len);
	}
	if (pushed)
		vdev_notify_queue(&n->vd, cq);
}
