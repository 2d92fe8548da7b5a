/* Saving and restoring a vhost-user device (docs/snapshot.md
 * "vhost-user"): the transport saves status, features and the queue
 * configuration as for any virtio device; the rings' positions live in
 * the backend, so a save stops them there (GET_VRING_BASE, checked and
 * drained by core/vhost_user_snap.c) and records where each stopped.
 *
 * The rings start again from those bases only when the guest is about
 * to run (vdev_ops.resume): in the saving VMM if the VM goes on, in the
 * restoring one on its fresh connection (the new vmm connected to its
 * socket at start-up) after guest RAM was loaded, with the loaded
 * features, the memory table, the ring addresses and the saved bases.
 * Between the save and then, the backend serves nothing, so a stream
 * whose RAM stays in a shared file (x-ignore-shared) is not changed
 * under it.  A backend that fails there marks the device
 * DEVICE_NEEDS_RESET (§2.1.2); the VMM runs on. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "core/log.h"
#include "core/snapshot.h"
#include "devices/virtio/vhost_user_priv.h"

static struct vhud *of(struct vdev *vd)
{
	return vd->priv;
}

static bool packed(const struct vdev *vd)
{
	return vdev_has(vd, VIRTIO_F_RING_PACKED);
}

/* The rings the driver enabled, from the transport's queue config. */
static void rings_of(const struct vhud *d, struct vhu_vring *r)
{
	const struct vdev *vd = &d->vd;
	memset(r, 0, sizeof(*r) * VDEV_MAX_QUEUES);
	for (unsigned q = 0; q < vd->nqueues; q++) {
		const struct vq_config *qc = &vd->vqs[q].cfg;
		if (qc->ready && qc->size)
			r[q] = (struct vhu_vring){ qc->size, qc->desc, qc->driver,
						   qc->device, d->bases[q] };
	}
}

static void base_name(char *buf, size_t n, unsigned q)
{
	snprintf(buf, n, "base%u", q);
}

int vhud_save(struct vdev *vd, struct snap_w *w)
{
	struct vhud *d = of(vd);
	bool live = (d->started || d->restart) && vdev_driver_ok(vd) &&
		    !vhu_is_broken(d->c);
	vd->save_error = NULL;
	if (d->started && live) {
		struct vhu_vring r[VDEV_MAX_QUEUES];
		uint32_t bases[VDEV_MAX_QUEUES] = { 0 };
		rings_of(d, r);
		char why[160];
		int rc = vhu_stop_for_save(d->c, vd->gm, vd->nqueues, r, packed(vd),
					   bases, why, sizeof(why));
		/* Stopped either way: whatever answered restarts when the
		 * guest runs again (a broken backend has the device reset). */
		d->started = false;
		memcpy(d->bases, bases, sizeof(d->bases));
		d->restart = !vhu_is_broken(d->c);
		if (rc < 0) {
			snprintf(d->why, sizeof(d->why), "vhost-user backend: %s", why);
			vd->save_error = d->why;
			return -EIO;
		}
		for (unsigned q = 0; q < vd->nqueues; q++)
			if (r[q].num)
				log_info(vd->log, "vhost-user: ring %u stopped for the save at base %u",
					 q, bases[q]);
	}
	char f[16];
	snap_w_begin(w, "vhost-user", 1);
	snap_w_u8(w, "kind", (uint8_t)d->kind);
	snap_w_bool(w, "live", live);
	snap_w_u32(w, "nqueues", vd->nqueues);
	for (unsigned q = 0; q < vd->nqueues; q++) {
		base_name(f, sizeof(f), q);
		snap_w_u32(w, f, live ? d->bases[q] : 0);
	}
	snap_w_blob(w, "config", d->config, vd->config_size);
	snap_w_end(w);
	return 0;
}

int vhud_load(struct vdev *vd, struct snap_r *r)
{
	struct vhud *d = of(vd);
	uint8_t kind = 0;
	bool live = false;
	uint32_t nq = 0, bases[VDEV_MAX_QUEUES] = { 0 };
	const uint8_t *cfg = NULL;
	size_t clen = 0;
	char f[16];
	snap_r_begin(r, "vhost-user", 1, NULL);
	snap_r_u8(r, "kind", &kind);
	snap_r_bool(r, "live", &live);
	snap_r_u32(r, "nqueues", &nq);
	snap_r_check(r, kind == (uint8_t)d->kind, "kind",
		     "another kind of vhost-user device (blk / fs)");
	snap_r_check(r, nq == vd->nqueues, "nqueues",
		     "the device has another number of queues");
	snap_r_check(r, !live || vdev_driver_ok(vd), "live",
		     "rings served before DRIVER_OK (or after NEEDS_RESET)");
	for (unsigned q = 0; q < nq && !snap_r_failed(r); q++) {
		base_name(f, sizeof(f), q);
		snap_r_u32(r, f, &bases[q]);
		const struct vq_config *qc = &vd->vqs[q].cfg;
		bool ready = qc->ready && qc->size;
		snap_r_check(r, ready || bases[q] == 0, f,
			     "a base for a queue the driver did not enable");
		if (!ready || snap_r_failed(r))
			continue;
		/* What needs no guest RAM now; the rest when the rings start
		 * (RAM is loaded after the devices). */
		if (packed(vd))
			snap_r_check(r, (bases[q] & 0x7fffu) < qc->size &&
				     ((bases[q] >> 16) & 0x7fffu) < qc->size, f,
				     "an index beyond the queue size");
		else
			snap_r_check(r, bases[q] <= 0xffffu, f,
				     "reserved bits set (split rings use 16)");
	}
	snap_r_blob(r, "config", &cfg, &clen);
	snap_r_check(r, clen == vd->config_size, "config",
		     "another config space size");
	if (snap_r_failed(r))
		return snap_r_failed(r);
	/* The config space comes from the backend (blk: GET_CONFIG) or the
	 * command line (fs: tag, queues): the new one must be the same
	 * device, but for blk's writeback byte, which the guest sets and
	 * the new backend is told (§5.2.4 CONFIG_WCE). */
	for (size_t i = 0; i < clen; i++) {
		if (d->kind == VHUD_BLK && i == VHUD_BLK_CFG_WCE_OFF)
			continue;
		if (cfg[i] != d->config[i]) {
			char why[96];
			snprintf(why, sizeof(why), "byte %zu differs from this backend's "
				 "(another image, export or tag)", i);
			snap_r_check(r, false, "config", why);
			return snap_r_failed(r);
		}
	}
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	d->started = false;
	d->restart = live;
	memcpy(d->bases, bases, sizeof(d->bases));
	if (d->kind == VHUD_BLK && clen > VHUD_BLK_CFG_WCE_OFF &&
	    d->config[VHUD_BLK_CFG_WCE_OFF] != cfg[VHUD_BLK_CFG_WCE_OFF]) {
		d->config[VHUD_BLK_CFG_WCE_OFF] = cfg[VHUD_BLK_CFG_WCE_OFF];
		d->wce_dirty = true;
	}
	return 0;
}

void vhud_resume(struct vdev *vd)
{
	struct vhud *d = of(vd);
	if (d->wce_dirty && !vhu_is_broken(d->c)) {
		d->wce_dirty = false;
		/* A failure breaks the connection: the device resets. */
		(void)vhu_set_config(d->c, VHUD_BLK_CFG_WCE_OFF,
				     &d->config[VHUD_BLK_CFG_WCE_OFF], 1);
	}
	if (!d->restart)
		return;
	d->restart = false;
	if (!vdev_driver_ok(vd) || vhu_is_broken(d->c))
		return;
	struct vhu_vring r[VDEV_MAX_QUEUES];
	rings_of(d, r);
	for (unsigned q = 0; q < vd->nqueues; q++) {
		char why[160], line[224];
		if (!r[q].num || vhu_check_base(vd->gm, &r[q], packed(vd), why,
						sizeof(why)) == 0)
			continue;
		snprintf(line, sizeof(line), "vhost-user: restored ring %u cannot start: %s",
			 q, why);
		vdev_needs_reset(vd, line);
		return;
	}
	d->started = true;
	if (vhu_start(d->c, vd->gm, vd->features, vd->nqueues, r) < 0)
		return;   /* broken: the handler set DEVICE_NEEDS_RESET */
	for (unsigned q = 0; q < vd->nqueues; q++)
		if (r[q].num)
			log_info(vd->log, "vhost-user: ring %u started at base %u", q, r[q].base);
	vhud_route(d);
	/* A completion the backend signalled while the save drained it was
	 * counted in the saving VMM: one interrupt per ring makes the driver
	 * look (a used ring with nothing new costs it one check). */
	for (unsigned q = 0; q < vd->nqueues; q++)
		if (r[q].num && vd->tops && vd->tops->notify_queue)
			vd->tops->notify_queue(vd->transport, q);
	/* And a kick per ring: chains the driver made available before
	 * the save and nobody took yet wait for one (the old backend read
	 * the kicks that announced them). */
	for (unsigned q = 0; q < vd->nqueues; q++)
		if (r[q].num)
			vhu_kick(d->c, q);
}
