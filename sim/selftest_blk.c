/* Self-test of virtio-blk (virtio 1.2 §5.2) as Linux's virtio_blk uses
 * it: capacity from config space, a read of sector 0, GET_ID against
 * serial=, and on a writable drive a write, FLUSH and read-back of the
 * last sector.  The drive is the self-test's copy-on-write stand-in
 * (selftest_backend.c): the write stays in memory, and the check
 * also confirms the image file still holds its old bytes.  A readonly=on
 * drive must offer VIRTIO_BLK_F_RO and fail a write with IOERR. */
#include <stdio.h>
#include <string.h>

#include "core/blockdev.h"
#include "core/gm.h"
#include "core/prng.h"
#include "core/trace.h"
#include "sim/selftest_int.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/virtio.h"

struct st_blkq {
	struct selftest *t;
	struct vdriver *d;
	struct vdq vq;
	uint64_t hdr, data, status;
};

/* One request: header, optional data (device-writable for IN and
 * GET_ID), status byte.  Returns the status, or 0x100 + the st_vq_run
 * result when the request did not complete with an interrupt. */
static unsigned st_blk_req(struct st_blkq *q, uint32_t type, uint64_t sector,
			   uint32_t len)
{
	const struct gm *gm = q->t->sim->m.gm;
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };
	gm_write(gm, q->hdr, &h, sizeof(h));
	gm_write_u8(gm, q->status, 0xff);
	bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	struct vdq_buf bufs[3];
	unsigned n = 0;
	bufs[n++] = (struct vdq_buf){ q->hdr, sizeof(h), false };
	if (len)
		bufs[n++] = (struct vdq_buf){ q->data, len, in };
	bufs[n++] = (struct vdq_buf){ q->status, 1, true };
	uint32_t used;
	int r = st_vq_run(q->t, q->d, 0, &q->vq, bufs, n, &used);
	uint8_t st = 0xff;
	if (r != 1 || gm_read_u8(gm, q->status, &st) < 0)
		return 0x100u + (unsigned)(r & 0xff);
	return st;
}

/* GET_ID (§5.2.6.4): 20 bytes, NUL-padded when shorter. */
static bool st_blk_id(struct st_blkq *q, const char *serial, char *got)
{
	gm_fill(q->t->sim->m.gm, q->data, 0xaa, VIRTIO_BLK_ID_BYTES);
	unsigned st = st_blk_req(q, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES);
	uint8_t id[VIRTIO_BLK_ID_BYTES + 1] = { 0 };
	gm_read(q->t->sim->m.gm, q->data, id, VIRTIO_BLK_ID_BYTES);
	st_printable(got, id, strnlen((char *)id, VIRTIO_BLK_ID_BYTES));
	uint8_t want[VIRTIO_BLK_ID_BYTES] = { 0 };
	memcpy(want, serial, strnlen(serial, VIRTIO_BLK_ID_BYTES));
	return st == VIRTIO_BLK_S_OK && !memcmp(id, want, VIRTIO_BLK_ID_BYTES);
}

/* Writable drive: write a PRNG pattern over the last sector, FLUSH, read
 * it back; the image file must still hold what sector read before. */
static bool st_blk_write(struct st_blkq *q, struct st_backend *bk,
			 uint64_t sector, char *what, size_t wlen)
{
	const struct gm *gm = q->t->sim->m.gm;
	uint8_t before[512], pat[512], back[512], file[512];
	unsigned st = st_blk_req(q, VIRTIO_BLK_T_IN, sector, 512);
	gm_read(gm, q->data, before, sizeof(before));
	prng_fill(&q->t->sim->m.prng, pat, sizeof(pat));
	gm_write(gm, q->data, pat, sizeof(pat));
	unsigned stw = st == 0 ? st_blk_req(q, VIRTIO_BLK_T_OUT, sector, 512) : st;
	bool flush = q->d->features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	unsigned stf = stw == 0 && flush ? st_blk_req(q, VIRTIO_BLK_T_FLUSH, 0, 0) : stw;
	gm_fill(gm, q->data, 0, 512);
	unsigned str = stf == 0 ? st_blk_req(q, VIRTIO_BLK_T_IN, sector, 512) : stf;
	gm_read(gm, q->data, back, sizeof(back));
	bool same = str == 0 && !memcmp(back, pat, sizeof(pat));
	bool file_ok = bk && bk->lower &&
		       blockdev_read(bk->lower, sector * 512, file, 512) == 0 &&
		       !memcmp(file, before, sizeof(file));
	snprintf(what, wlen, "write%s+read back of sector %llu %s (%s)",
		 flush ? "+flush" : "", (unsigned long long)sector,
		 same ? "ok" : str > 0xff ? "timed out" : "MISMATCH",
		 file_ok ? "kept in memory: the image file is not written" :
		 "the image file CHANGED");
	return same && file_ok;
}

void st_blk(struct selftest *t, unsigned i, struct vdriver *d, const char *where)
{
	const struct cfg_device *cd = &t->cfg->devices[i];
	struct st_backend *bk = st_backend_find(t, TRACE_BK_BLOCK, cd->drive);
	struct st_blkq q = { .t = t, .d = d };
	uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
			VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
			VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX);
	int r = vdriver_negotiate(d, want);
	if (r == 0)
		r = vdriver_setup_queue(d, 0, &q.vq, 16);
	q.hdr = vdriver_alloc(d, 16, 16);
	q.data = vdriver_alloc(d, 512, 512);
	q.status = vdriver_alloc(d, 1, 1);
	if (r < 0 || !q.status) {
		st_report(t, false, "virtio-blk over %s: set-up failed (%d), drive %s",
			  where, r, cd->drive);
		return;
	}
	vdriver_driver_ok(d);
	uint64_t cap = st_cfg32(d, offsetof(struct virtio_blk_config, capacity)) |
		(uint64_t)st_cfg32(d, offsetof(struct virtio_blk_config, capacity) + 4)
		<< 32;
	uint8_t data[512];
	unsigned st = st_blk_req(&q, VIRTIO_BLK_T_IN, 0, 512);
	gm_read(t->sim->m.gm, q.data, data, sizeof(data));
	char text[33], id[VIRTIO_BLK_ID_BYTES + 1], what[128];
	st_printable(text, data, 32);
	bool ok = st == VIRTIO_BLK_S_OK && cap > 0;
	bool id_ok = st_blk_id(&q, cd->serial, id);
	const struct cfg_drive *drv = config_drive(t->cfg, cd->drive);
	bool ro = d->features & VIRTIO_BIT(VIRTIO_BLK_F_RO);
	bool w_ok;
	if (drv && drv->readonly) {
		unsigned stw = st_blk_req(&q, VIRTIO_BLK_T_OUT, cap - 1, 512);
		w_ok = ro && stw == VIRTIO_BLK_S_IOERR;
		snprintf(what, sizeof(what), "readonly=on: VIRTIO_BLK_F_RO %s, a "
			 "write %s", ro ? "offered" : "MISSING",
			 stw == VIRTIO_BLK_S_IOERR ? "fails with IOERR" : "is NOT refused");
	} else {
		w_ok = !ro && cap > 0 &&
		       st_blk_write(&q, bk, cap - 1, what, sizeof(what));
	}
	st_report(t, ok && id_ok && w_ok, "virtio-blk over %s: sector 0 \"%s\" "
		  "(status %u), drive %s, %llu sectors, GET_ID \"%s\"%s, %s", where,
		  text, st, cd->drive, (unsigned long long)cap, id,
		  id_ok ? "" : " (NOT serial=)", what);
}
