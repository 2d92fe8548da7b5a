/* virtio-vsock (virtio 1.2 §5.10): stream sockets between the guest (its
 * CID from config) and the host (CID 2), over an rx, a tx and an event
 * queue.  Every packet starts with struct virtio_vsock_hdr; connections
 * are set up with REQUEST/RESPONSE, torn down with SHUTDOWN/RST, and data
 * (RW) flows under credit-based flow control (§5.10.6.3): each side
 * advertises buf_alloc and fwd_cnt and the sender keeps what it has in
 * flight within them.
 *
 * The host side is a core/vsock_host.h backend; the device reads no more
 * from it than the guest has credit and rx buffers for, and holds at
 * most VVSOCK_BUF_ALLOC bytes per connection that the host peer has not
 * taken yet (what it advertises as buf_alloc), for at most
 * VVSOCK_MAX_CONNS connections.  A guest that sends past its credit gets
 * the connection reset; replies that cannot be delivered (no rx buffers)
 * stop the tx queue rather than pile up. */
#ifndef VMM_VIRTIO_VSOCK_H
#define VMM_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

struct vdev;
struct gm;
struct log;
struct clk;
struct vsock_host;

/* §5.10.3 */
#define VIRTIO_VSOCK_F_STREAM 0
#define VIRTIO_VSOCK_F_SEQPACKET 1

/* §5.10.6 packet header (little-endian). */
struct virtio_vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

enum {
	VIRTIO_VSOCK_TYPE_STREAM = 1,
	VIRTIO_VSOCK_TYPE_SEQPACKET = 2,
};
enum {
	VIRTIO_VSOCK_OP_INVALID = 0,
	VIRTIO_VSOCK_OP_REQUEST = 1,
	VIRTIO_VSOCK_OP_RESPONSE = 2,
	VIRTIO_VSOCK_OP_RST = 3,
	VIRTIO_VSOCK_OP_SHUTDOWN = 4,
	VIRTIO_VSOCK_OP_RW = 5,
	VIRTIO_VSOCK_OP_CREDIT_UPDATE = 6,
	VIRTIO_VSOCK_OP_CREDIT_REQUEST = 7,
};
#define VIRTIO_VSOCK_SHUTDOWN_F_RECEIVE 1u
#define VIRTIO_VSOCK_SHUTDOWN_F_SEND 2u
/* §5.10.6.6 event queue. */
#define VIRTIO_VSOCK_EVENT_TRANSPORT_RESET 0u

#define VIRTIO_ID_VSOCK 19
#define VSOCK_HOST_CID 2ull
/* CIDs 0-2 are reserved (hypervisor, local, host) and 0xffffffff is
 * VMADDR_CID_ANY; the config field is 64 bits but Linux takes 32. */
#define VVSOCK_MIN_CID 3ull
#define VVSOCK_MAX_CID 0xfffffffeull

#define VVSOCK_RXQ 0u
#define VVSOCK_TXQ 1u
#define VVSOCK_EVQ 2u
#define VVSOCK_QUEUE_SIZE 128u
/* Bytes of one packet's payload we send or accept: Linux's
 * VIRTIO_VSOCK_MAX_PKT_BUF_SIZE. */
#define VVSOCK_MAX_PKT (64u * 1024u)
/* Receive buffer per connection, advertised as buf_alloc. */
#define VVSOCK_BUF_ALLOC (64u * 1024u)
#define VVSOCK_MAX_CONNS 64u
/* RSTs waiting for an rx buffer (to connections we do not hold). */
#define VVSOCK_RST_QLEN 16u
/* First host-side port of host-initiated connections (Firecracker's
 * range; guest-initiated ones use the port the guest asked for). */
#define VVSOCK_LOCAL_PORT_BASE (1u << 30)

struct vvsock_config {
	const struct gm *gm;
	struct log *log;
	const struct clk *clk;      /* bounded work per entry (NULL: off) */
	uint64_t guest_cid;
	struct vsock_host *host;    /* not owned; attached by vvsock_new */
	uint16_t queue_size;        /* 0: VVSOCK_QUEUE_SIZE */
};

struct vvsock_stats {
	uint64_t tx_pkts, rx_pkts, tx_bytes, rx_bytes;
	uint64_t bad_len, bad_cid, bad_op, bad_type, credit_violations;
	uint64_t rst_sent, rst_dropped, refused, conns_opened;
	uint64_t tx_stalls;          /* tx stopped: replies had no rx buffer */
};

struct vvsock;

bool vvsock_cid_valid(uint64_t cid);
/* NULL with errno EINVAL for a bad CID or no host backend. */
struct vvsock *vvsock_new(const struct vvsock_config *cfg);
void vvsock_free(struct vvsock *v);
struct vdev *vvsock_vdev(struct vvsock *v);
const struct vvsock_stats *vvsock_get_stats(const struct vvsock *v);
/* Connections held, and bytes buffered for host peers (tests, bounds). */
unsigned vvsock_conn_count(const struct vvsock *v);
uint64_t vvsock_buffered(const struct vvsock *v);

#endif
