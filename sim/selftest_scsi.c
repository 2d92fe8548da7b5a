/* Self-test of virtio-scsi (virtio 1.2 §5.6) as Linux's virtio_scsi and
 * sd/sr drivers use it: for every scsi-hd/scsi-cd on the adapter, REPORT
 * LUNS on its target, INQUIRY (peripheral type), TEST UNIT READY (the
 * power-on unit attention once, then ready), READ CAPACITY(10), a
 * READ(10) of block 0; on a writable disk a WRITE(10) + SYNCHRONIZE CACHE
 * + read-back of the last block (kept in the self-test's copy-on-write
 * stand-in: the image file must keep its bytes), and on a read-only one
 * or a CD-ROM a WRITE(10) that must fail with DATA PROTECT. */
#include <endian.h>
#include <stdio.h>
#include <string.h>

#include "core/blockdev.h"
#include "core/gm.h"
#include "core/prng.h"
#include "core/trace.h"
#include "sim/selftest_int.h"
#include "devices/virtio/scsi.h"
#include "devices/virtio/scsi_disk.h"
#include "devices/virtio/virtio.h"

#define ST_SCSI_DATA 4096u

struct st_scsiq {
	struct selftest *t;
	struct vdriver *d;
	struct vdq vq;
	uint64_t req, resp, data;
	struct virtio_scsi_resp_cmd r;
	uint8_t sense[SDISK_SENSE_LEN];
};

/* One command to (target, lun) with optional data-out (copied from
 * q->data) or data-in (into q->data) of len bytes.  0 when the device
 * answered GOOD, else the SCSI status (or 0x100 + response, 0x200 when
 * it did not complete with an interrupt). */
static unsigned st_scsi_cmd(struct st_scsiq *q, unsigned target, unsigned lun,
			    const uint8_t *cdb, unsigned cdb_len, uint32_t len,
			    bool in)
{
	const struct gm *gm = q->t->sim->m.gm;
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + VIRTIO_SCSI_CDB_DEFAULT_SIZE];
	struct virtio_scsi_req_cmd h = { .lun = { 1, (uint8_t)target,
		(uint8_t)(0x40 | lun >> 8), (uint8_t)lun } };
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, &h, sizeof(h));
	memcpy(hdr + sizeof(h), cdb, cdb_len);
	gm_write(gm, q->req, hdr, sizeof(hdr));
	gm_fill(gm, q->resp, 0xff, sizeof(q->r));
	const uint32_t rl = sizeof(q->r) + VIRTIO_SCSI_SENSE_DEFAULT_SIZE;
	struct vdq_buf b[3];
	unsigned n = 0;
	b[n++] = (struct vdq_buf){ q->req, sizeof(hdr), false };
	if (len && !in)
		b[n++] = (struct vdq_buf){ q->data, len, false };
	b[n++] = (struct vdq_buf){ q->resp, rl, true };
	if (len && in)
		b[n++] = (struct vdq_buf){ q->data, len, true };
	uint32_t used;
	if (st_vq_run(q->t, q->d, VSCSI_REQQ, &q->vq, b, n, &used) != 1 ||
	    gm_read(gm, q->resp, &q->r, sizeof(q->r)) < 0)
		return 0x200;
	gm_read(gm, q->resp + sizeof(q->r), q->sense, sizeof(q->sense));
	if (q->r.response != VIRTIO_SCSI_S_OK)
		return 0x100u + q->r.response;
	return q->r.status;
}

static void cdb10(uint8_t *c, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(c, 0, 10);
	c[0] = op;
	c[2] = (uint8_t)(lba >> 24);
	c[3] = (uint8_t)(lba >> 16);
	c[4] = (uint8_t)(lba >> 8);
	c[5] = (uint8_t)lba;
	c[7] = (uint8_t)(n >> 8);
	c[8] = (uint8_t)n;
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Writable disk: PRNG pattern over the last block, SYNCHRONIZE CACHE,
 * read back; the image file keeps what the block held. */
static bool st_scsi_write(struct st_scsiq *q, const struct cfg_device *p,
			  struct st_backend *bk, uint32_t last, uint32_t bs,
			  char *what, size_t wlen)
{
	const struct gm *gm = q->t->sim->m.gm;
	uint8_t before[512], pat[512], back[512], file[512], c[10];
	cdb10(c, SCSI_READ_10, last, 1);
	unsigned st = st_scsi_cmd(q, (unsigned)p->scsi_id, p->scsi_lun, c, 10, bs, true);
	gm_read(gm, q->data, before, sizeof(before));
	prng_fill(&q->t->sim->m.prng, pat, sizeof(pat));
	gm_write(gm, q->data, pat, sizeof(pat));
	cdb10(c, SCSI_WRITE_10, last, 1);
	if (!st)
		st = st_scsi_cmd(q, (unsigned)p->scsi_id, p->scsi_lun, c, 10, bs, false);
	cdb10(c, SCSI_SYNC_CACHE_10, 0, 0);
	if (!st)
		st = st_scsi_cmd(q, (unsigned)p->scsi_id, p->scsi_lun, c, 10, 0, false);
	gm_fill(gm, q->data, 0, bs);
	cdb10(c, SCSI_READ_10, last, 1);
	if (!st)
		st = st_scsi_cmd(q, (unsigned)p->scsi_id, p->scsi_lun, c, 10, bs, true);
	gm_read(gm, q->data, back, sizeof(back));
	bool same = !st && !memcmp(back, pat, sizeof(pat));
	bool file_ok = bk && bk->lower &&
		       blockdev_read(bk->lower, (uint64_t)last * bs, file, 512) == 0 &&
		       !memcmp(file, before, sizeof(file));
	snprintf(what, wlen, "write+sync+read back of block %u %s (%s)", last,
		 same ? "ok" : st ? "FAILED" : "MISMATCH",
		 file_ok ? "kept in memory: the image file is not written" :
		 "the image file CHANGED");
	return same && file_ok;
}

static void st_scsi_lun(struct st_scsiq *q, const struct cfg_device *p,
			const char *where)
{
	struct selftest *t = q->t;
	const struct gm *gm = t->sim->m.gm;
	const unsigned tg = (unsigned)p->scsi_id, lun = p->scsi_lun;
	uint8_t c[12] = { SCSI_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 0x10, 0 };
	uint8_t buf[64] = { 0 };
	unsigned nluns = 0, want_luns = 0;
	for (unsigned j = 0; j < t->cfg->ndevices; j++) {
		const struct cfg_device *o = &t->cfg->devices[j];
		want_luns += (o->type == CFG_DEV_SCSI_HD || o->type == CFG_DEV_SCSI_CD) &&
			     o->parent == p->parent && o->scsi_id == p->scsi_id;
	}
	unsigned st = st_scsi_cmd(q, tg, lun, c, 12, ST_SCSI_DATA, true);
	gm_read(gm, q->data, buf, 8);
	if (!st)
		nluns = be32_at(buf) / 8;
	uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
	unsigned sti = st_scsi_cmd(q, tg, lun, inq, 6, 36, true);
	gm_read(gm, q->data, buf, 36);
	char product[17];
	st_printable(product, buf + 16, 16);
	bool cd = p->type == CFG_DEV_SCSI_CD;
	uint8_t ptype = buf[0];
	bool type_ok = !sti && ptype == (cd ? 0x05 : 0x00);
	/* TEST UNIT READY, as sd does first: the power-on unit attention
	 * (29/00) comes back once, then the LU is ready. */
	uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	unsigned stu = st_scsi_cmd(q, tg, lun, tur, 6, 0, false);
	bool ua = stu == SCSI_STATUS_CHECK_CONDITION &&
		  q->sense[2] == SCSI_SENSE_UNIT_ATTENTION &&
		  q->sense[12] == (SCSI_ASC_POWER_ON_RESET >> 8);
	unsigned stu2 = st_scsi_cmd(q, tg, lun, tur, 6, 0, false);
	bool ready = ua && !stu2;
	uint8_t rc[10] = { SCSI_READ_CAPACITY_10 };
	unsigned stc = st_scsi_cmd(q, tg, lun, rc, 10, 8, true);
	gm_read(gm, q->data, buf, 8);
	uint32_t last = be32_at(buf), bs = be32_at(buf + 4);
	bool cap_ok = !stc && bs == (cd ? 2048u : 512u);
	uint8_t r0[10];
	cdb10(r0, SCSI_READ_10, 0, 1);
	unsigned str = cap_ok ? st_scsi_cmd(q, tg, lun, r0, 10, bs, true) : stc;
	gm_read(gm, q->data, buf, 32);
	char text[33], what[160];
	st_printable(text, buf, 32);
	const struct cfg_drive *drv = config_drive(t->cfg, p->drive);
	struct st_backend *bk = st_backend_find(t, TRACE_BK_BLOCK, p->drive);
	bool w_ok;
	if (cd || (drv && drv->readonly)) {
		uint8_t w[10];
		cdb10(w, SCSI_WRITE_10, 0, 1);
		unsigned stw = cap_ok ? st_scsi_cmd(q, tg, lun, w, 10, bs, false) : stc;
		w_ok = stw == SCSI_STATUS_CHECK_CONDITION &&
		       q->sense[2] == SCSI_SENSE_DATA_PROTECT;
		snprintf(what, sizeof(what), "a write %s",
			 w_ok ? "fails with DATA PROTECT" : "is NOT refused");
	} else {
		w_ok = cap_ok && st_scsi_write(q, p, bk, last, bs, what, sizeof(what));
	}
	st_report(t, !st && nluns == want_luns && type_ok && ready && cap_ok &&
		  !str && w_ok,
		  "virtio-scsi over %s: %s drive %s at target %u lun %u: REPORT LUNS "
		  "%u, INQUIRY type %u \"%s\", %s, %u blocks of %u, block 0 \"%s\" "
		  "(status %#x), %s", where, config_device_name(p), p->drive, tg,
		  lun, nluns, ptype, product, ready ? "power-on unit attention, "
		  "then ready" : ua ? "NOT ready after the unit attention" :
		  "NO power-on unit attention", last + 1, bs, text, str, what);
}

void st_scsi(struct selftest *t, unsigned i, struct vdriver *d, const char *where)
{
	struct st_scsiq q = { .t = t, .d = d };
	struct vdq ctrl, event;
	int r = vdriver_negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	if (r == 0)
		r = vdriver_setup_queue(d, VSCSI_CTRLQ, &ctrl, 16);
	if (r == 0)
		r = vdriver_setup_queue(d, VSCSI_EVENTQ, &event, 16);
	if (r == 0)
		r = vdriver_setup_queue(d, VSCSI_REQQ, &q.vq, 16);
	q.req = vdriver_alloc(d, 64, 16);
	q.resp = vdriver_alloc(d, 128, 16);
	q.data = vdriver_alloc(d, ST_SCSI_DATA, 4096);
	uint32_t cdb_size = st_cfg32(d, offsetof(struct virtio_scsi_config, cdb_size));
	if (r < 0 || !q.data || cdb_size != VIRTIO_SCSI_CDB_DEFAULT_SIZE) {
		st_report(t, false, "virtio-scsi over %s: set-up failed (%d, cdb_size %u)",
			  where, r, cdb_size);
		return;
	}
	vdriver_driver_ok(d);
	unsigned n = 0;
	for (unsigned j = 0; j < t->cfg->ndevices; j++) {
		const struct cfg_device *p = &t->cfg->devices[j];
		if ((p->type == CFG_DEV_SCSI_HD || p->type == CFG_DEV_SCSI_CD) &&
		    p->parent == (int)i) {
			st_scsi_lun(&q, p, where);
			n++;
		}
	}
	if (!n) {
		/* No LU: a command to target 0 must say there is none. */
		uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
		unsigned st = st_scsi_cmd(&q, 0, 0, tur, 6, 0, false);
		st_report(t, st == 0x100u + VIRTIO_SCSI_S_BAD_TARGET,
			  "virtio-scsi over %s: no LUs; a command to target 0 %s",
			  where, st == 0x100u + VIRTIO_SCSI_S_BAD_TARGET ?
			  "gets BAD_TARGET" : "is NOT refused");
	}
}
