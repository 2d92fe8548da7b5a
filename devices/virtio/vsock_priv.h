/* virtio-vsock internals shared by vsock.c (queues, packets) and
 * vsock_conn.c (connection table, host side). */
#ifndef VMM_VIRTIO_VSOCK_PRIV_H
#define VMM_VIRTIO_VSOCK_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "core/log.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/vsock.h"

/* Control packets a connection owes the guest (vconn.pend). */
enum {
	VC_P_REQUEST = 1u,     /* host-initiated: ask the guest */
	VC_P_RESPONSE = 2u,    /* guest-initiated: accepted */
	VC_P_CREDIT = 4u,      /* CREDIT_UPDATE */
	VC_P_SHUTDOWN = 8u,    /* host peer's end of stream: SHUTDOWN F_SEND */
};

enum vconn_state { VC_FREE, VC_HOST_REQ, VC_EST };

struct vconn {
	enum vconn_state state;
	int h;                     /* host backend handle */
	uint32_t gport, hport;     /* guest port, host-side port */
	/* The guest's receive credit (§5.10.6.3) and what we sent it. */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* Our receive side: bytes taken from the guest, forwarded to the
	 * host peer, and the fwd_cnt the guest last saw. */
	uint32_t rx_cnt, fwd_cnt, fwd_reported;
	unsigned pend;             /* VC_P_* */
	unsigned watch;            /* VSOCK_HOST_* asked of the backend */
	bool readable;             /* host data (or EOF) waiting */
	bool host_eof, guest_no_send, guest_no_rcv, host_send_shut;
	/* Guest data the host peer has not taken yet (ring, at most
	 * VVSOCK_BUF_ALLOC bytes, allocated when first needed). */
	uint8_t *buf;
	uint32_t head, len;
};

struct vrst {
	uint32_t gport, hport;
};

struct vvsock {
	struct vdev vd;
	struct vsock_host *host;
	struct log *log;
	struct log_rl rl;
	uint64_t guest_cid;
	struct vvsock_stats st;
	struct vconn conns[VVSOCK_MAX_CONNS];
	unsigned rr;               /* round-robin start for rx */
	uint32_t next_local;       /* next host-initiated local port */
	struct vrst rst[VVSOCK_RST_QLEN];
	unsigned nrst;
	bool tx_stalled;           /* waiting for rx room for replies */
	bool in_rx;                /* process_rx running (no re-entry) */
	/* A restore owes the driver TRANSPORT_RESET (vsock_snap.c). */
	bool reset_pending;
	/* One element per queue loop: rx runs from inside tx handling. */
	struct vq_elem *rxe, *txe;
	uint8_t *scratch;          /* VVSOCK_MAX_PKT bytes */
};

/* vsock_conn.c */
struct vconn *vconn_find(struct vvsock *v, uint32_t gport, uint32_t hport);
struct vconn *vconn_by_handle(struct vvsock *v, int h);
struct vconn *vconn_alloc(struct vvsock *v);
/* Close the host side and forget c. */
void vconn_drop(struct vvsock *v, struct vconn *c);
/* Queue an RST for (gport, hport); false when the queue is full. */
bool vvsock_queue_rst(struct vvsock *v, uint32_t gport, uint32_t hport);
/* RST the guest's side of c and drop c. */
void vconn_reset(struct vvsock *v, struct vconn *c);
/* Bytes the guest can take from us now. */
uint32_t vconn_peer_credit(const struct vconn *c);
/* Guest payload for the host peer: 0, or -1 when c was reset (credit
 * violated, peer gone). */
int vconn_from_guest(struct vvsock *v, struct vconn *c, const uint8_t *d,
		     uint32_t len);
/* Push buffered data to the host peer and apply a pending send shutdown;
 * false when c was reset. */
bool vconn_flush(struct vvsock *v, struct vconn *c);
/* Tell the backend what c waits for now. */
void vconn_rewatch(struct vvsock *v, struct vconn *c);
/* The guest's buf_alloc/fwd_cnt from a packet on c. */
void vconn_peer_update(struct vconn *c, const struct virtio_vsock_hdr *h);
/* Owe a CREDIT_UPDATE when the guest's view of our space lags. */
void vconn_credit_check(struct vconn *c);
void vvsock_close_all(struct vvsock *v);
int vvsock_incoming(void *opaque, int h, uint32_t port);
void vvsock_ready(void *opaque, int h, unsigned events);

/* vsock.c */
void vvsock_process_rx(struct vvsock *v);

/* vsock_snap.c: vdev_ops save, load and resume; send a pending
 * TRANSPORT_RESET event if the event queue has a buffer. */
struct snap_w;
struct snap_r;
int vvsock_save(struct vdev *vd, struct snap_w *w);
int vvsock_load(struct vdev *vd, struct snap_r *r);
void vvsock_resume(struct vdev *vd);
void vvsock_send_reset(struct vvsock *v);

#endif
