/* virtio-net (virtio 1.2 §5.1): one receive and one transmit queue over a
 * network backend (core/netdev.h).
 *
 * Every frame carries a 12-byte struct virtio_net_hdr_v1 both ways, passed
 * through to the backend, so checksum and TSO offloads cost nothing here.
 * A frame is only given to the guest with offloads it negotiated; a frame
 * arriving with no receive buffers waits in a bounded queue
 * (VNET_RX_QLEN frames), beyond which it is dropped and counted: guest
 * memory is never overwritten. */
#ifndef VMM_VIRTIO_NET_H
#define VMM_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

struct vdev;
struct gm;
struct clk;
struct log;
struct netdev;

/* §5.1.3 feature bits. */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_MQ 22

#define VIRTIO_NET_S_LINK_UP 1u

/* §5.1.6 header. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_F_DATA_VALID 2u
#define VIRTIO_NET_HDR_GSO_NONE 0u
#define VIRTIO_NET_HDR_GSO_TCPV4 1u
#define VIRTIO_NET_HDR_GSO_UDP 3u
#define VIRTIO_NET_HDR_GSO_TCPV6 4u
#define VIRTIO_NET_HDR_GSO_ECN 0x80u

struct virtio_net_hdr_v1 {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));

/* §5.1.4 */
struct virtio_net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));

/* §5.1.6.5 control virtqueue: class, command, data (driver-readable),
 * then one ack byte (device-writable). */
#define VIRTIO_NET_OK 0u
#define VIRTIO_NET_ERR 1u
#define VIRTIO_NET_CTRL_MQ 4u
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0u
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN 1u
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX 0x8000u

#define VNET_QUEUE_SIZE 256u
/* Queue pair i is receiveq 2i and transmitq 2i+1; with mq the control
 * queue follows the last pair (§5.1.2). */
#define VNET_RXQ 0u
#define VNET_TXQ 1u
#define VNET_MAX_PAIRS 7u   /* (VDEV_MAX_QUEUES - 1) / 2 */
#define VNET_CTRL_QUEUE_SIZE 64u
#define VNET_RX_QLEN 64u    /* frames held while the guest has no buffers */
#define VNET_MAX_MRG 64u    /* receive buffers one frame may span */

struct vnet_config {
	const struct gm *gm;
	struct log *log;
	struct netdev *nd;    /* not owned; attached by vnet_new (pair 0) */
	/* More tap queues: with pairs > 1, nds[i] is pair i's backend (nds[0]
	 * unused: that is nd).  Not owned.  Without mq only pair 0 is used
	 * and the others' queues are disabled (netdev_set_enabled). */
	struct netdev *nds[VNET_MAX_PAIRS];
	unsigned pairs;       /* backends given: 0 or 1 (nd only) .. VNET_MAX_PAIRS */
	/* Offer VIRTIO_NET_F_CTRL_VQ and VIRTIO_NET_F_MQ with pairs as
	 * max_virtqueue_pairs (-device ...,mq=on). */
	bool mq;
	const struct clk *clk; /* for bounded work per entry (NULL: unbounded) */
	uint8_t mac[6];
	bool has_mac;         /* offer VIRTIO_NET_F_MAC */
	uint16_t queue_size;  /* 0: VNET_QUEUE_SIZE */
};

struct vnet_stats {
	uint64_t tx_frames, tx_bytes, tx_dropped;
	uint64_t rx_frames, rx_bytes, rx_dropped, rx_queued;
};

struct vnet;

struct vnet *vnet_new(const struct vnet_config *cfg);
void vnet_free(struct vnet *n);
struct vdev *vnet_vdev(struct vnet *n);
const struct vnet_stats *vnet_get_stats(const struct vnet *n);
/* Host side link state (VIRTIO_NET_F_STATUS): config change interrupt. */
void vnet_set_link(struct vnet *n, bool up);
/* Frames waiting for receive buffers (all pairs). */
unsigned vnet_rx_pending(const struct vnet *n);
/* Queue pairs in use now (1 until the driver sets more, §5.1.6.5.5). */
unsigned vnet_cur_pairs(const struct vnet *n);
/* Control commands answered with VIRTIO_NET_ERR so far. */
uint64_t vnet_ctrl_errors(const struct vnet *n);

#endif
