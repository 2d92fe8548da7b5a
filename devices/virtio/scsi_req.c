/* virtio-scsi request and control queues (virtio 1.2 §5.6.6).  See
 * scsi.h; the device ops and hot-plug events are in scsi.c.
 *
 * The request layout depends on two driver-writable config fields:
 * a command request is the fixed header plus cdb_size CDB bytes, then
 * data-out; a response is the fixed header plus sense_size sense bytes,
 * then data-in (§5.6.6.1).  Both are read once per request, so a driver
 * changing them mid-flight affects only later requests. */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "core/clk.h"
#include "core/gm.h"
#include "core/log.h"
#include "core/tokenbucket.h"
#include "devices/virtio/scsi_disk.h"
#include "devices/virtio/scsi_disk_priv.h"
#include "devices/virtio/scsi_priv.h"

#define REQ_HDR sizeof(struct virtio_scsi_req_cmd)
#define RESP_HDR sizeof(struct virtio_scsi_resp_cmd)

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
void vscsi_drop(struct vscsi *s, struct vq *vq, struct vq_elem *e, const char *why)
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
		vscsi_drop(s, vq, e, "response buffer shorter than its header");
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
		vscsi_drop(s, vq, e, "sense not writable");
		return DONE;
	}
	r.sense_len = htole32(sl);
	written += c.in_done;
answer:
	if (vq_elem_write(s->vd.gm, e, 0, &r, sizeof(r))) {
		vscsi_drop(s, vq, e, "response not writable");
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
		vscsi_drop(s, vq, e, "control request without a response byte");
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
			vscsi_drop(s, vq, e, "control response not writable");
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
		vscsi_drop(s, vq, e, "control response not writable");
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

bool vscsi_running(const struct vscsi *s)
{
	uint8_t st = s->vd.status;
	return (st & VIRTIO_STATUS_DRIVER_OK) &&
	       !(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

void vscsi_process_all(struct vscsi *s)
{
	bool more = false;
	if (!vscsi_running(s))
		return;
	more |= process_queue(s, VSCSI_CTRLQ);
	for (unsigned q = VSCSI_REQQ; q < s->vd.nqueues; q++)
		if (!(s->parked & 1u << q))
			more |= process_queue(s, q);
	if (more && vscsi_running(s)) {
		s->st.deferred++;
		resume_at(s, clk_now_ns(s->clk));
	}
}

void vscsi_resume_fired(void *arg, uint64_t now)
{
	(void)now;
	struct vscsi *s = arg;
	s->parked = 0;
	vscsi_process_all(s);
}
