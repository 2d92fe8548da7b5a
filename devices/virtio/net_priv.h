/* virtio-net internals shared by net.c (data path) and net_ctrl.c
 * (control queue, queue pairs).  Not a public interface: see net.h. */
#ifndef VMM_VIRTIO_NET_PRIV_H
#define VMM_VIRTIO_NET_PRIV_H

#include "core/log.h"
#include "devices/virtio/net.h"
#include "devices/virtio/virtio.h"

struct rxframe {
	uint8_t *data;
	size_t len;
};

struct vnet;

/* One receive/transmit queue pair and the backend queue behind it. */
struct vnet_pair {
	struct vnet *n;
	unsigned idx;
	struct netdev *nd;
	/* Frames waiting for receive buffers. */
	struct rxframe pend[VNET_RX_QLEN];
	unsigned pend_head, pend_count;
};

struct vnet {
	struct vdev vd;
	struct vnet_pair pair[VNET_MAX_PAIRS];
	unsigned npairs;      /* backends given */
	unsigned max_pairs;   /* offered: npairs with mq, else 1 */
	unsigned cur_pairs;   /* in use (§5.1.6.5.5: 1 after reset) */
	bool mq;
	unsigned ctrlq;       /* the control queue's index with MQ (2N) */
	uint64_t ctrl_errors;
	struct log *log;
	struct log_rl rl;
	uint8_t mac[6];
	bool has_mac;
	bool link_up;
	struct vnet_stats st;
	/* Used only inside one call (device code runs one entry at a time),
	 * so all pairs share them. */
	struct vq_elem *txe;
	uint8_t *txbuf;
	/* Receive chains one frame spans (MRG_RXBUF), allocated on demand. */
	struct vq_elem *rxe[VNET_MAX_MRG];
};

static inline unsigned vnet_rxq(unsigned pair) { return 2u * pair; }
static inline unsigned vnet_txq(unsigned pair) { return 2u * pair + 1u; }
/* §5.1.2: the control queue follows max_virtqueue_pairs pairs when MQ is
 * negotiated, else the one pair (index 2).  Only meaningful with CTRL_VQ. */
static inline unsigned vnet_ctrlq(const struct vnet *n)
{
	return vdev_has(&n->vd, VIRTIO_NET_F_MQ) ? n->ctrlq : 2u;
}

/* net.c: serve a pair's queues (after it comes into use); drop the
 * frames a pair holds (it goes out of use). */
void vnet_pair_kick(struct vnet_pair *p);
void vnet_pair_drop_pending(struct vnet_pair *p);
/* net_ctrl.c: the driver kicked the control queue. */
void vnet_ctrl_process(struct vnet *n);
/* Put pairs [0, k) in use and the rest out (backend queues follow). */
void vnet_set_pairs(struct vnet *n, unsigned k);

/* net_snap.c: the vdev_ops snapshot hooks. */
struct snap_w;
struct snap_r;
int vnet_save(struct vdev *vd, struct snap_w *w);
int vnet_load(struct vdev *vd, struct snap_r *r);

#endif
