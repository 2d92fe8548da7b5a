/* virtio-scsi device model (virtio 1.2 §5.6).  See scsi.h.  This file
 * holds the device ops, the config space, the LU table and the hot-plug
 * events; the request and control queues are in scsi_req.c, the
 * snapshot in scsi_snap.c. */
#include "devices/virtio/scsi.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/clk.h"
#include "core/log.h"
#include "core/tokenbucket.h"
#include "devices/virtio/scsi_disk.h"
#include "devices/virtio/scsi_disk_priv.h"
#include "devices/virtio/scsi_priv.h"
#include "devices/virtio/virtio.h"

/* ---- vdev_ops ---- */

static uint64_t scsi_features(struct vdev *vd)
{
	(void)vd;
	return VIRTIO_BIT(VIRTIO_SCSI_F_HOTPLUG);
}

/* §5.6.6.3: hand held events to the buffers the driver posted on the
 * event queue, oldest first; one the driver made too small loses its
 * event, which the next one reports as missed. */
static void push_events(struct vscsi *s)
{
	struct vq *vq = &s->vd.vqs[VSCSI_EVENTQ];
	bool pushed = false;
	while (vscsi_running(s) && (s->npend || s->missed)) {
		int r = vdev_pop(&s->vd, vq, s->elem, &pushed,
				 "virtio-scsi: broken event ring");
		if (r == 0 || r == -EPROTO)
			break;
		if (r < 0)
			continue;
		struct virtio_scsi_event ev = { 0 };
		if (s->npend) {
			ev = s->pend[0];
			memmove(s->pend, s->pend + 1, --s->npend * sizeof(s->pend[0]));
		}
		if (s->missed)
			ev.event |= htole32(VIRTIO_SCSI_T_EVENTS_MISSED);
		pushed = true;
		if (s->elem->in_len < sizeof(ev) ||
		    vq_elem_write(s->vd.gm, s->elem, 0, &ev, sizeof(ev))) {
			vscsi_drop(s, vq, s->elem, "event buffer too small");
			s->missed = true;
			s->st.events_missed++;
			continue;
		}
		s->missed = false;
		s->st.events++;
		vq_push(vq, s->elem, sizeof(ev));
	}
	if (pushed)
		vdev_notify_queue(&s->vd, VSCSI_EVENTQ);
}

/* An LU came or went: tell a driver that asked for hot-plug events. */
static void lun_changed(struct vscsi *s, unsigned target, unsigned lun, uint32_t reason)
{
	for (unsigned i = 0; i < s->nlus; i++)
		if (s->lus[i].target == target && s->lus[i].lun != lun)
			sdisk_set_ua(s->lus[i].d, SCSI_ASC_REPORTED_LUNS_CHANGED);
	if (!vscsi_running(s) || !vdev_has(&s->vd, VIRTIO_SCSI_F_HOTPLUG))
		return;    /* a driver that starts later scans anyway */
	if (s->npend == VSCSI_MAX_EVENTS) {
		s->missed = true;
		s->st.events_missed++;
	} else {
		/* §5.6.6.1 LUN format: 1, target, flat-space LUN. */
		struct virtio_scsi_event *ev = &s->pend[s->npend++];
		memset(ev, 0, sizeof(*ev));
		ev->event = htole32(VIRTIO_SCSI_T_TRANSPORT_RESET);
		ev->lun[0] = 1;
		ev->lun[1] = (uint8_t)target;
		ev->lun[2] = (uint8_t)(0x40 | lun >> 8);
		ev->lun[3] = (uint8_t)lun;
		ev->reason = htole32(reason);
	}
	push_events(s);
}

static void fill_config(const struct vscsi *s, struct virtio_scsi_config *c)
{
	memset(c, 0, sizeof(*c));
	c->num_queues = htole32(s->vd.nqueues - VSCSI_REQQ);
	/* Two descriptors carry the request and response headers. */
	c->seg_max = htole32(s->vd.queue_max[VSCSI_REQQ] - 2u);
	c->max_sectors = htole32(SDISK_MAX_XFER_BYTES / 512u);
	c->cmd_per_lun = htole32(s->vd.queue_max[VSCSI_REQQ]);
	c->event_info_size = htole32(VIRTIO_SCSI_EVENT_SIZE);
	c->sense_size = htole32(s->sense_size);
	c->cdb_size = htole32(s->cdb_size);
	c->max_channel = 0;
	c->max_target = htole16(VSCSI_MAX_TARGET);
	c->max_lun = htole32(VSCSI_MAX_LUN);
}

static void scsi_config_read(struct vdev *vd, uint32_t off, void *data,
			     unsigned len)
{
	struct virtio_scsi_config c;
	fill_config(to_scsi(vd), &c);
	memcpy(data, (const uint8_t *)&c + off, len);
}

static void scsi_config_write(struct vdev *vd, uint32_t off, const void *data,
			      unsigned len)
{
	/* §5.6.4: only sense_size and cdb_size are writable.  A value out of
	 * range is ignored (logged): the request layout keeps the old one. */
	struct vscsi *s = to_scsi(vd);
	struct virtio_scsi_config c;
	fill_config(s, &c);
	uint32_t lo = offsetof(struct virtio_scsi_config, sense_size);
	uint32_t hi = offsetof(struct virtio_scsi_config, max_channel);
	if (off < lo || off + len > hi) {
		log_rl(s->log, &s->rl, LOG_DEBUG,
		       "virtio-scsi: config write at %u len %u ignored", off, len);
		return;
	}
	memcpy((uint8_t *)&c + off, data, len);
	uint32_t sense = le32toh(c.sense_size), cdb = le32toh(c.cdb_size);
	if (sense > VIRTIO_SCSI_SENSE_MAX || cdb > VIRTIO_SCSI_CDB_MAX) {
		log_rl(s->log, &s->rl, LOG_WARN,
		       "virtio-scsi: sense_size %u / cdb_size %u out of range, ignored",
		       sense, cdb);
		return;
	}
	s->sense_size = sense;
	s->cdb_size = cdb;
}

static int scsi_activate(struct vdev *vd)
{
	vscsi_process_all(to_scsi(vd));
	push_events(to_scsi(vd));
	return 0;
}

static void scsi_notify(struct vdev *vd, unsigned q)
{
	struct vscsi *s = to_scsi(vd);
	/* The event queue holds buffers until there is an event to report
	 * (§5.6.6.3): new buffers may take held ones. */
	if (q == VSCSI_EVENTQ)
		push_events(s);
	else
		vscsi_process_all(s);
}

static void scsi_reset(struct vdev *vd)
{
	struct vscsi *s = to_scsi(vd);
	clk_timer_cancel(s->clk, &s->resume);
	s->parked = 0;
	s->npend = 0;
	s->missed = false;
	/* A device reset resets the bus: every LU raises a unit attention
	 * (SAM-5 §6.3.1), as after power-on. */
	for (unsigned i = 0; i < s->nlus; i++)
		sdisk_reset(s->lus[i].d);
	/* §5.6.4: a reset restores the default sizes. */
	s->cdb_size = VIRTIO_SCSI_CDB_DEFAULT_SIZE;
	s->sense_size = VIRTIO_SCSI_SENSE_DEFAULT_SIZE;
}

static const struct vdev_ops scsi_ops = {
	.features = scsi_features,
	.config_read = scsi_config_read,
	.config_write = scsi_config_write,
	.activate = scsi_activate,
	.notify = scsi_notify,
	.reset = scsi_reset,
	.save = vscsi_save,
	.load = vscsi_load,
};

struct vscsi *vscsi_new(const struct vscsi_config *cfg)
{
	struct vscsi *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->elem = malloc(sizeof(*s->elem));
	if (!s->elem) {
		free(s);
		return NULL;
	}
	s->clk = cfg->clk;
	s->log = cfg->log;
	s->cdb_size = VIRTIO_SCSI_CDB_DEFAULT_SIZE;
	s->sense_size = VIRTIO_SCSI_SENSE_DEFAULT_SIZE;
	clk_timer_init(&s->resume, vscsi_resume_fired, s);
	struct vdev *vd = &s->vd;
	vd->ops = &scsi_ops;
	vd->priv = s;
	vd->device_id = VIRTIO_ID_SCSI;
	vd->config_size = sizeof(struct virtio_scsi_config);
	unsigned nreq = cfg->num_queues ? cfg->num_queues : 1;
	if (nreq > VSCSI_MAX_REQ_QUEUES) {
		vscsi_free(s);
		return NULL;
	}
	vd->nqueues = VSCSI_REQQ + nreq;
	for (unsigned q = 0; q < vd->nqueues; q++)
		vd->queue_max[q] = cfg->queue_size ? cfg->queue_size : VSCSI_QUEUE_SIZE;
	vd->gm = cfg->gm;
	vd->log = cfg->log;
	return s;
}

int vscsi_add_lun(struct vscsi *s, const struct vscsi_lun_config *lc)
{
	if (lc->target > VSCSI_MAX_TARGET || lc->lun > VSCSI_MAX_LUN || !lc->bd)
		return -EINVAL;
	if (vscsi_lun(s, lc->target, lc->lun))
		return -EEXIST;
	if (s->nlus == VSCSI_MAX_LUNS)
		return -ENOSPC;
	struct sdisk_config dc = {
		.bd = lc->bd, .cdrom = lc->cdrom, .serial = lc->serial,
		.dev_id = lc->dev_id, .log = s->log,
	};
	struct vscsi_lu *lu = &s->lus[s->nlus];
	memset(lu, 0, sizeof(*lu));
	lu->d = sdisk_new(&dc);
	if (!lu->d)
		return -ENOMEM;
	lu->target = (uint8_t)lc->target;
	lu->lun = (uint16_t)lc->lun;
	/* The same bucket shape as virtio-blk's (blk.c): a tenth of a second
	 * of burst keeps the short-term rate near the limit. */
	if (lc->iops_total) {
		uint64_t burst = lc->iops_total / 10 ? lc->iops_total / 10 : 1;
		tokenbucket_init(&lu->tb, burst, 1000000000ull * burst / lc->iops_total,
				 clk_now_ns(s->clk));
		lu->limited = true;
	}
	s->nlus++;
	return 0;
}

int vscsi_hot_add_lun(struct vscsi *s, const struct vscsi_lun_config *lc)
{
	int r = vscsi_add_lun(s, lc);
	if (r == 0)
		lun_changed(s, lc->target, lc->lun, VIRTIO_SCSI_EVT_RESET_RESCAN);
	return r;
}

int vscsi_remove_lun(struct vscsi *s, unsigned target, unsigned lun)
{
	for (unsigned i = 0; i < s->nlus; i++) {
		if (s->lus[i].target != target || s->lus[i].lun != lun)
			continue;
		/* Commands complete within their kick, so none is in flight
		 * on this LU; a parked one meets no LU and fails cleanly. */
		sdisk_free(s->lus[i].d);
		memmove(&s->lus[i], &s->lus[i + 1], (s->nlus - i - 1) * sizeof(s->lus[0]));
		s->nlus--;
		lun_changed(s, target, lun, VIRTIO_SCSI_EVT_RESET_REMOVED);
		return 0;
	}
	return -ENOENT;
}

void vscsi_free(struct vscsi *s)
{
	if (!s)
		return;
	if (s->clk && clk_timer_armed(&s->resume))
		clk_timer_cancel(s->clk, &s->resume);
	for (unsigned i = 0; i < s->nlus; i++)
		sdisk_free(s->lus[i].d);
	free(s->elem);
	free(s);
}

struct vdev *vscsi_vdev(struct vscsi *s)
{
	return &s->vd;
}

const struct vscsi_stats *vscsi_get_stats(const struct vscsi *s)
{
	return &s->st;
}

struct sdisk *vscsi_lun(struct vscsi *s, unsigned target, unsigned lun)
{
	for (unsigned i = 0; i < s->nlus; i++)
		if (s->lus[i].target == target && s->lus[i].lun == lun)
			return s->lus[i].d;
	return NULL;
}
