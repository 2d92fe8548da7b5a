/* virtio-scsi device model (virtio 1.2 §5.6).  See scsi.h.
 *
 * The request layout depends on two driver-writable config fields:
 * a command request is the fixed header plus cdb_size CDB bytes, then
 * data-out; a response is the fixed header plus sense_size sense bytes,
 * then data-in (§5.6.6.1).  Both are read once per request, so a driver
 * changing them mid-flight affects only later requests. */
#include "devices/virtio/scsi.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/clk.h"
#include "core/gm.h"
#include "core/log.h"
#include "core/tokenbucket.h"
#include "devices/virtio/scsi_disk.h"
#include "devices/virtio/virtio.h"

#define REQ_HDR sizeof(struct virtio_scsi_req_cmd)
#define RESP_HDR sizeof(struct virtio_scsi_resp_cmd)

struct vscsi_lu {
	uint8_t target;
	uint16_t lun;
	struct sdisk *d;
	struct tokenbucket tb;
	bool limited;
};

struct vscsi {
	struct vdev vd;
	const struct clk *clk;
	struct log *log;
	struct log_rl rl;
	uint32_t cdb_size, sense_size;
	struct vscsi_lu lus[VSCSI_MAX_LUNS];
	unsigned nlus;
	/* One timer for both reasons to come back later: an LU's iops bucket
	 * ran dry (the request queue that met it is parked: requests leave a
	 * ring in order, the others go on), or a kick's budget ran out with
	 * requests left.  It is armed for the earliest of them. */
	struct clk_timer resume;
	uint64_t resume_at;
	uint32_t parked;         /* bit q: request queue q waits for a token */
	struct vscsi_stats st;
	/* Hot-plug events waiting for an event queue buffer. */
	struct virtio_scsi_event pend[VSCSI_MAX_EVENTS];
	unsigned npend;
	bool missed;
	struct vq_elem *elem;
	uint8_t cdb[VIRTIO_SCSI_CDB_MAX];
};

static struct vscsi *to_scsi(struct vdev *vd)
{
	return vd->priv;
}

/* §5.6.6.1: lun[0] is 1, lun[1] the target, lun[2..3] the LUN in SAM
 * single-level format (peripheral or flat addressing).  NULL and *target
 * false when no LU of that target exists; *lu NULL when the target
 * exists but the LUN does not. */
static bool find_lu(struct vscsi *s, const uint8_t lun[8], struct vscsi_lu **lu)
{
	*lu = NULL;
	if (lun[0] != 1 || (lun[2] != 0 && (lun[2] < 0x40 || lun[2] >= 0x80)))
		return false;
	unsigned l = ((unsigned)lun[2] << 8 | lun[3]) & 0x3fff;
	bool target = false;
	for (unsigned i = 0; i < s->nlus; i++) {
		if (s->lus[i].target != lun[1])
			continue;
		target = true;
		if (s->lus[i].lun == l)
			*lu = &s->lus[i];
	}
	return target;
}

/* Push the chain back unwritten: no room for any answer. */
static void drop(struct vscsi *s, struct vq *vq, struct vq_elem *e, const char *why)
{
	log_rl(s->log, &s->rl, LOG_WARN, "virtio-scsi: %s: request dropped", why);
	s->st.dropped++;
	vq_push(vq, e, 0);
}

enum { DONE, THROTTLED };

/* Come back at `when`, or earlier if already asked to. */
static void resume_at(struct vscsi *s, uint64_t when)
{
	if (clk_timer_armed(&s->resume) && s->resume_at <= when)
		return;
	s->resume_at = when;
	clk_timer_arm(s->clk, &s->resume, when);
}

static int handle_cmd(struct vscsi *s, struct vq *vq, struct vq_elem *e,
		      uint64_t *moved)
{
	const uint32_t cdb_size = s->cdb_size, sense_size = s->sense_size;
	const uint32_t req_len = REQ_HDR + cdb_size, resp_len = RESP_HDR + sense_size;
	struct virtio_scsi_resp_cmd r = { 0 };
	struct virtio_scsi_req_cmd h;
	uint32_t written = resp_len;
	struct vscsi_lu *lu;

	if (e->in_len < resp_len) {
		drop(s, vq, e, "response buffer shorter than its header");
		return DONE;
	}
	if (e->out_len < req_len || vq_elem_read(s->vd.gm, e, 0, &h, sizeof(h)) ||
	    vq_elem_read(s->vd.gm, e, REQ_HDR, s->cdb, cdb_size)) {
		log_rl(s->log, &s->rl, LOG_WARN,
		       "virtio-scsi: request shorter than its %u-byte header", req_len);
		r.response = VIRTIO_SCSI_S_FAILURE;
		s->st.failure++;
		goto answer;
	}
	if (!find_lu(s, h.lun, &lu)) {
		r.response = VIRTIO_SCSI_S_BAD_TARGET;
		s->st.bad_target++;
		goto answer;
	}
	if (lu && lu->limited &&
	    !tokenbucket_reduce(&lu->tb, 1, clk_now_ns(s->clk))) {
		uint64_t now = clk_now_ns(s->clk);
		vq_unpop(vq, e);
		s->parked |= 1u << vq->index;
		s->st.throttled++;
		resume_at(s, now + tokenbucket_wait_ns(&lu->tb, 1, now));
		return THROTTLED;
	}
	uint16_t luns[VSCSI_MAX_LUNS];
	unsigned nl = 0;
	for (unsigned i = 0; i < s->nlus; i++)
		if (s->lus[i].target == h.lun[1])
			luns[nl++] = s->lus[i].lun;
	struct sdisk_cmd c = {
		.cdb = s->cdb, .cdb_size = cdb_size, .gm = s->vd.gm, .e = e,
		.out_off = req_len, .out_len = e->out_len - req_len,
		.in_off = resp_len, .in_len = e->in_len - resp_len,
		.luns = luns, .nluns = nl,
	};
	sdisk_exec(lu ? lu->d : NULL, &c);
	*moved += (uint64_t)c.in_done + c.out_done;
	/* §5.6.6.1: residual is the data buffer's length less what moved. */
	uint32_t data_len = c.in_len ? c.in_len : c.out_len;
	if (c.overrun) {
		r.response = VIRTIO_SCSI_S_OVERRUN;
		r.residual = htole32(data_len);
		s->st.overrun++;
		goto answer;
	}
	r.status = c.status;
	r.residual = htole32(data_len - (c.in_len ? c.in_done : c.out_done));
	uint32_t sl = c.sense_len < sense_size ? c.sense_len : sense_size;
	if (sl && vq_elem_write(s->vd.gm, e, RESP_HDR, c.sense, sl)) {
		drop(s, vq, e, "sense not writable");
		return DONE;
	}
	r.sense_len = htole32(sl);
	written += c.in_done;
answer:
	if (vq_elem_write(s->vd.gm, e, 0, &r, sizeof(r))) {
		drop(s, vq, e, "response not writable");
		return DONE;
	}
	s->st.requests++;
	vq_push(vq, e, written);
	return DONE;
}

/* §5.6.6.2 task management: commands complete before their request is
 * returned, so there is never a task in flight to abort or query; the
 * resets raise a unit attention on the LUs they name (SAM-5 §7). */
static uint8_t tmf(struct vscsi *s, const struct virtio_scsi_ctrl_tmf *t)
{
	struct vscsi_lu *lu;
	bool target = find_lu(s, t->lun, &lu);
	uint32_t sub = le32toh(t->subtype);

	s->st.tmfs++;
	if (!target)
		return VIRTIO_SCSI_S_BAD_TARGET;
	if (sub == VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET) {
		for (unsigned i = 0; i < s->nlus; i++)
			if (s->lus[i].target == t->lun[1])
				sdisk_reset(s->lus[i].d);
		return VIRTIO_SCSI_S_FUNCTION_COMPLETE;
	}
	if (!lu)
		return VIRTIO_SCSI_S_INCORRECT_LUN;
	switch (sub) {
	case VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET:
		sdisk_reset(lu->d);
		return VIRTIO_SCSI_S_FUNCTION_COMPLETE;
	case VIRTIO_SCSI_T_TMF_ABORT_TASK:
	case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET:
	case VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET:
	case VIRTIO_SCSI_T_TMF_QUERY_TASK:
	case VIRTIO_SCSI_T_TMF_QUERY_TASK_SET:
		return VIRTIO_SCSI_S_FUNCTION_COMPLETE;
	default:   /* CLEAR ACA (no NACA), unknown subtypes */
		return VIRTIO_SCSI_S_FUNCTION_REJECTED;
	}
}

static void handle_ctrl(struct vscsi *s, struct vq *vq, struct vq_elem *e)
{
	uint32_t type = 0;
	uint8_t resp = VIRTIO_SCSI_S_FAILURE;
	uint32_t written = 1;

	if (e->in_len < 1) {
		drop(s, vq, e, "control request without a response byte");
		return;
	}
	if (vq_elem_read(s->vd.gm, e, 0, &type, sizeof(type)))
		goto answer;
	type = le32toh(type);
	if (type == VIRTIO_SCSI_T_TMF) {
		struct virtio_scsi_ctrl_tmf t;
		if (!vq_elem_read(s->vd.gm, e, 0, &t, sizeof(t)))
			resp = tmf(s, &t);
	} else if (type == VIRTIO_SCSI_T_AN_QUERY ||
		   type == VIRTIO_SCSI_T_AN_SUBSCRIBE) {
		/* §5.6.6.2.2: no asynchronous events are supported, so
		 * event_actual is 0 for any request. */
		struct virtio_scsi_ctrl_an a;
		uint8_t out[5] = { 0, 0, 0, 0, VIRTIO_SCSI_S_OK };
		s->st.ans++;
		if (vq_elem_read(s->vd.gm, e, 0, &a, sizeof(a)) || e->in_len < 5)
			goto answer;
		struct vscsi_lu *lu;
		if (!find_lu(s, a.lun, &lu))
			out[4] = VIRTIO_SCSI_S_BAD_TARGET;
		if (vq_elem_write(s->vd.gm, e, 0, out, sizeof(out))) {
			drop(s, vq, e, "control response not writable");
			return;
		}
		vq_push(vq, e, sizeof(out));
		return;
	}
answer:
	if (resp == VIRTIO_SCSI_S_FAILURE)
		log_rl(s->log, &s->rl, LOG_WARN,
		       "virtio-scsi: malformed control request (type %u)", type);
	if (vq_elem_write(s->vd.gm, e, 0, &resp, 1)) {
		drop(s, vq, e, "control response not writable");
		return;
	}
	vq_push(vq, e, written);
}

/* Handle up to VSCSI_KICK_BUDGET chains (and VSCSI_KICK_BYTES of data)
 * of queue q.  Returns true when requests may be left (budget spent). */
static bool process_queue(struct vscsi *s, unsigned q)
{
	struct vdev *vd = &s->vd;
	struct vq *vq = &vd->vqs[q];
	bool pushed = false, more = false;
	uint64_t moved = 0;

	for (unsigned n = 0;; n++) {
		if (n == VSCSI_KICK_BUDGET || moved >= VSCSI_KICK_BYTES) {
			more = vq_has_avail(vq);
			break;
		}
		int r = vdev_pop(vd, vq, s->elem, &pushed,
				 "virtio-scsi: broken ring");
		if (r == 0)
			break;
		if (r == -EPROTO)
			return false;
		if (r < 0)
			continue;
		if (q == VSCSI_CTRLQ) {
			handle_ctrl(s, vq, s->elem);
		} else if (handle_cmd(s, vq, s->elem, &moved) == THROTTLED) {
			break;
		}
		pushed = true;
	}
	if (pushed)
		vdev_notify_queue(vd, q);
	return more;
}

static bool running(const struct vscsi *s)
{
	uint8_t st = s->vd.status;
	return (st & VIRTIO_STATUS_DRIVER_OK) &&
	       !(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void process_all(struct vscsi *s)
{
	bool more = false;
	if (!running(s))
		return;
	more |= process_queue(s, VSCSI_CTRLQ);
	for (unsigned q = VSCSI_REQQ; q < s->vd.nqueues; q++)
		if (!(s->parked & 1u << q))
			more |= process_queue(s, q);
	if (more && running(s)) {
		s->st.deferred++;
		resume_at(s, clk_now_ns(s->clk));
	}
}

static void resume_fired(void *arg, uint64_t now)
{
	(void)now;
	struct vscsi *s = arg;
	s->parked = 0;
	process_all(s);
}

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
	while (running(s) && (s->npend || s->missed)) {
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
			drop(s, vq, s->elem, "event buffer too small");
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
	if (!running(s) || !vdev_has(&s->vd, VIRTIO_SCSI_F_HOTPLUG))
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
	process_all(to_scsi(vd));
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
		process_all(s);
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
	clk_timer_init(&s->resume, resume_fired, s);
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
