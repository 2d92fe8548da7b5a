/* Saving and restoring virtio-vsock (docs/snapshot.md "virtio-vsock").
 * Host-side connections are sockets of this process and cannot move to
 * another, so a restore does what QEMU's vhost-vsock does on migration:
 * the transport and queue state come back (the transport saves them),
 * the guest CID must be the same, the connections are gone, and the
 * driver is told with VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event
 * queue (virtio 1.2 §5.10.6.6 "Device Events"), upon which it resets
 * its sockets and reads the CID again.  Listening host sockets are the
 * restoring VMM's own (its -device uds=). */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "core/snapshot.h"
#include "devices/virtio/vsock_priv.h"

/* §5.10.6.6: struct virtio_vsock_event { le32 id; }. */
#define VSOCK_EVENT_LEN 4u

static struct vvsock *to_vs(struct vdev *vd)
{
	return vd->priv;
}

int vvsock_save(struct vdev *vd, struct snap_w *w)
{
	struct vvsock *v = to_vs(vd);
	snap_w_begin(w, "virtio-vsock", 1);
	snap_w_u64(w, "guest_cid", v->guest_cid);
	/* Informational for the loader's log: they do not come back. */
	snap_w_u32(w, "nconns", vvsock_conn_count(v));
	snap_w_u32(w, "next_local", v->next_local);
	snap_w_bool(w, "reset_pending", v->reset_pending);
	snap_w_end(w);
	return 0;
}

int vvsock_load(struct vdev *vd, struct snap_r *r)
{
	struct vvsock *v = to_vs(vd);
	uint64_t cid = 0;
	uint32_t nconns = 0, next_local = 0;
	bool pending = false;
	char why[96];
	snap_r_begin(r, "virtio-vsock", 1, NULL);
	snap_r_u64(r, "guest_cid", &cid);
	snap_r_u32(r, "nconns", &nconns);
	snap_r_u32(r, "next_local", &next_local);
	snap_r_bool(r, "reset_pending", &pending);
	/* The guest's sockets are bound to its CID; another one would need
	 * a config change the driver does not expect mid-run. */
	snprintf(why, sizeof(why), "saved with guest-cid=%llu, this device has guest-cid=%llu",
		 (unsigned long long)cid, (unsigned long long)v->guest_cid);
	snap_r_check(r, cid == v->guest_cid, "guest_cid", why);
	snap_r_check(r, nconns <= VVSOCK_MAX_CONNS, "nconns",
		     "more connections than the device holds");
	snap_r_check(r, next_local >= VVSOCK_LOCAL_PORT_BASE, "next_local",
		     "below the host-initiated port range");
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	/* Whatever this device held is not the saved guest's. */
	vvsock_close_all(v);
	v->in_rx = false;
	v->next_local = next_local;
	/* QEMU's rule (vhost-vsock-common.c post_load): a driver that set
	 * up its event queue has sockets to reset. */
	v->reset_pending = pending || vd->vqs[VVSOCK_EVQ].cfg.size != 0;
	if (nconns)
		log_info(v->log, "virtio-vsock: restored; %u host connection%s dropped "
			 "(the guest gets TRANSPORT_RESET)", nconns, nconns == 1 ? "" : "s");
	return 0;
}

void vvsock_send_reset(struct vvsock *v)
{
	struct vdev *vd = &v->vd;
	struct vq *vq = &vd->vqs[VVSOCK_EVQ];
	bool pushed = false;
	if (!v->reset_pending || !vdev_live(vd))
		return;
	/* Bounded: at most a ring of too-small buffers, each used empty. */
	for (unsigned i = 0; i <= vd->queue_max[VVSOCK_EVQ]; i++) {
		int k = vdev_pop(vd, vq, v->txe, &pushed, "virtio-vsock: broken event ring");
		if (k == 0 || k == -EPROTO)
			break;   /* no buffer yet: sent when the driver adds one */
		if (k < 0)
			continue;
		uint32_t id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
		if (v->txe->in_len < VSOCK_EVENT_LEN ||
		    vq_elem_write(vd->gm, v->txe, 0, &id, VSOCK_EVENT_LEN)) {
			vq_push(vq, v->txe, 0);
			pushed = true;
			continue;
		}
		vq_push(vq, v->txe, VSOCK_EVENT_LEN);
		pushed = true;
		v->reset_pending = false;
		break;
	}
	if (pushed)
		vdev_notify_queue(vd, VVSOCK_EVQ);
}

void vvsock_resume(struct vdev *vd)
{
	vvsock_send_reset(to_vs(vd));
}
