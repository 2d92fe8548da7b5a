/* virtio-scsi state in a snapshot (docs/snapshot.md "virtio-scsi").
 * Commands complete within the entry point that pops them, so no chain
 * is held; the state is the guest-set CDB/sense sizes, the queues parked
 * on an empty iops bucket and the one resume timer, and per LU its
 * bucket and pending UNIT ATTENTION.  The LUs must be the same set. */
#include <stdio.h>
#include "core/snapshot.h"
#include "core/tokenbucket.h"
#include "devices/virtio/scsi_disk.h"
#include "devices/virtio/scsi_disk_priv.h"
#include "devices/virtio/scsi_priv.h"

int vscsi_save(struct vdev *vd, struct snap_w *w)
{
	struct vscsi *s = to_scsi(vd);
	char f[16];
	snap_w_begin(w, "virtio-scsi", 1);
	snap_w_u32(w, "cdb_size", s->cdb_size);
	snap_w_u32(w, "sense_size", s->sense_size);
	snap_w_u32(w, "parked", s->parked);
	snap_w_time(w, "resume_at", s->resume_at);
	snap_w_timer(w, "resume", &s->resume);
	snap_w_u32(w, "nlus", s->nlus);
	for (unsigned i = 0; i < s->nlus; i++) {
		const struct vscsi_lu *lu = &s->lus[i];
		snprintf(f, sizeof(f), "lu%u", i);
		snap_w_begin(w, f, 1);
		snap_w_u8(w, "target", lu->target);
		snap_w_u16(w, "lun", lu->lun);
		snap_w_u16(w, "ua", lu->d->ua);
		snap_w_tokenbucket(w, "iops", &lu->tb);
		snap_w_end(w);
	}
	snap_w_end(w);
	return 0;
}

int vscsi_load(struct vdev *vd, struct snap_r *r)
{
	struct vscsi *s = to_scsi(vd);
	uint32_t cdb = 0, sense = 0, parked = 0, nlus = 0;
	uint64_t at = 0;
	struct snap_timer t;
	uint16_t ua[VSCSI_MAX_LUNS];
	struct tokenbucket tb[VSCSI_MAX_LUNS];
	char f[16];
	snap_r_begin(r, "virtio-scsi", 1, NULL);
	snap_r_u32(r, "cdb_size", &cdb);
	snap_r_u32(r, "sense_size", &sense);
	snap_r_u32(r, "parked", &parked);
	snap_r_time(r, "resume_at", &at);
	snap_r_timer(r, "resume", &t);
	snap_r_u32(r, "nlus", &nlus);
	/* §5.6.4: the same bounds the config write enforces. */
	snap_r_check(r, cdb <= VIRTIO_SCSI_CDB_MAX, "cdb_size", "above the maximum");
	snap_r_check(r, sense <= VIRTIO_SCSI_SENSE_MAX, "sense_size",
		     "above the maximum");
	snap_r_check(r, (parked >> (vd->nqueues < 32 ? vd->nqueues : 31)) == 0 ||
		     vd->nqueues >= 32, "parked", "names a queue the device lacks");
	snap_r_check(r, nlus == s->nlus, "nlus", "another set of LUs");
	for (unsigned i = 0; i < nlus && !snap_r_failed(r); i++) {
		struct vscsi_lu *lu = &s->lus[i];
		uint8_t target = 0;
		uint16_t lun = 0;
		snprintf(f, sizeof(f), "lu%u", i);
		snap_r_begin(r, f, 1, NULL);
		snap_r_u8(r, "target", &target);
		snap_r_u16(r, "lun", &lun);
		snap_r_u16(r, "ua", &ua[i]);
		snap_r_tokenbucket(r, "iops", &lu->tb, &tb[i]);
		snap_r_check(r, target == lu->target && lun == lu->lun, "target",
			     "another LU here (scsi-id, lun)");
		snap_r_end(r);
	}
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	s->cdb_size = cdb;
	s->sense_size = sense;
	s->parked = parked;
	s->resume_at = at;
	for (unsigned i = 0; i < nlus; i++) {
		s->lus[i].d->ua = ua[i];
		s->lus[i].tb = tb[i];
	}
	snap_timer_apply(&t, s->clk, &s->resume);
	return 0;
}
