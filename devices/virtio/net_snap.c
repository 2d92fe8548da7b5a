/* virtio-net state in a snapshot (docs/snapshot.md "virtio-net"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/netdev.h"
#include "core/snapshot.h"
#include "devices/virtio/net_priv.h"

static struct vnet *to_vnet(struct vdev *vd)
{
	return vd->priv;
}

/* ---- snapshot (docs/snapshot.md "virtio-net") ----
 * Transmit and receive chains are pushed or put back within one entry
 * point, so none is held between them; what is held is the link state
 * and the frames that came from the backend while the guest had no
 * receive buffers (host input already accepted: it must not be lost). */

int vnet_save(struct vdev *vd, struct snap_w *w)
{
	struct vnet *n = to_vnet(vd);
	char f[32];
	snap_w_begin(w, "virtio-net", 2);
	snap_w_bool(w, "link_up", n->link_up);
	snap_w_u32(w, "pairs", n->npairs);
	snap_w_u32(w, "cur_pairs", n->cur_pairs);
	for (unsigned q = 0; q < n->npairs; q++) {
		const struct vnet_pair *p = &n->pair[q];
		snprintf(f, sizeof(f), "pair%u.pending", q);
		snap_w_u32(w, f, p->pend_count);
		for (unsigned i = 0; i < p->pend_count; i++) {
			const struct rxframe *fr = &p->pend[(p->pend_head + i) % VNET_RX_QLEN];
			snprintf(f, sizeof(f), "pair%u.frame%u", q, i);
			snap_w_blob(w, f, fr->data, fr->len);
		}
	}
	snap_w_end(w);
	return 0;
}

/* Everything is read and checked first; only then are the held frames
 * replaced and the pair count applied (which re-attaches tap queues). */
int vnet_load(struct vdev *vd, struct snap_r *r)
{
	struct vnet *n = to_vnet(vd);
	bool up = false;
	uint32_t npairs = 0, cur = 0, count[VNET_MAX_PAIRS] = { 0 };
	const uint8_t *data[VNET_MAX_PAIRS][VNET_RX_QLEN];
	size_t len[VNET_MAX_PAIRS][VNET_RX_QLEN];
	char f[32];
	snap_r_begin(r, "virtio-net", 2, NULL);
	snap_r_bool(r, "link_up", &up);
	snap_r_u32(r, "pairs", &npairs);
	snap_r_check(r, npairs == n->npairs, "pairs",
		     "a different number of queue pairs than this device has");
	snap_r_u32(r, "cur_pairs", &cur);
	snap_r_check(r, cur >= 1 && cur <= n->max_pairs, "cur_pairs",
		     "pair count outside 1..max_virtqueue_pairs");
	for (unsigned q = 0; q < n->npairs && !snap_r_failed(r); q++) {
		snprintf(f, sizeof(f), "pair%u.pending", q);
		snap_r_u32(r, f, &count[q]);
		snap_r_check(r, count[q] <= VNET_RX_QLEN, f,
			     "more frames than the device holds");
		for (unsigned i = 0; i < count[q] && !snap_r_failed(r); i++) {
			snprintf(f, sizeof(f), "pair%u.frame%u", q, i);
			snap_r_blob(r, f, &data[q][i], &len[q][i]);
			snap_r_check(r, len[q][i] >= NETDEV_HDR_LEN &&
				     len[q][i] <= NETDEV_MAX_FRAME, f,
				     "frame length out of range");
		}
	}
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	for (unsigned q = 0; q < n->npairs; q++) {
		struct vnet_pair *p = &n->pair[q];
		for (unsigned i = 0; i < p->pend_count; i++)
			free(p->pend[(p->pend_head + i) % VNET_RX_QLEN].data);
		p->pend_count = 0;
		p->pend_head = 0;
		for (unsigned i = 0; i < count[q]; i++) {
			uint8_t *copy = malloc(len[q][i]);
			if (!copy)
				return snap_r_check(r, false, "pending", "out of memory");
			memcpy(copy, data[q][i], len[q][i]);
			p->pend[i].data = copy;
			p->pend[i].len = len[q][i];
			p->pend_count++;
		}
	}
	n->link_up = up;
	vnet_set_pairs(n, cur);
	return 0;
}
