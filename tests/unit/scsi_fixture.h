/* Shared by the virtio-scsi unit tests (test_virtio_scsi.c: the HBA and
 * its queues; test_scsi_disk.c: the SCSI command set): an adapter with
 * three LUs on the vdev fixture, on virtio-mmio or virtio-pci, and
 * helpers that build command and control requests the way Linux's
 * virtio_scsi does and read the answers back.  Static functions only. */
#ifndef VMM_TESTS_SCSI_FIXTURE_H
#define VMM_TESTS_SCSI_FIXTURE_H

#include <endian.h>
#include <stdio.h>
#include "core/blockdev.h"
#include "devices/virtio/scsi.h"
#include "devices/virtio/scsi_disk.h"
#include "vdev_fixture.h"

#define DISK (1u << 20)           /* 2048 blocks of 512 */
#define QSZ 128u
#define RQ VSCSI_REQQ

struct st {
	struct vfx *f;
	struct blockdev *bd, *cd;
	struct vscsi *s;
	/* Last response. */
	uint32_t used;
	struct virtio_scsi_resp_cmd r;
	uint8_t sense[VIRTIO_SCSI_SENSE_DEFAULT_SIZE];
	uint8_t data[4096];
	uint32_t cdb_size, sense_size;  /* what requests are laid out for */
};

static __attribute__((unused)) enum vfx_kind kind(void **state)
{
	return (enum vfx_kind)(uintptr_t)*state;
}

static __attribute__((unused)) void power_on_ua(struct st *t);

/* Target 0: a disk at LUN 0 (writable unless ro) and a CD at LUN 2;
 * target 3: a disk at LUN 300 (flat addressing) sharing the backend. */
static __attribute__((unused)) struct st *st_new(enum vfx_kind k, bool ro, uint64_t iops)
{
	struct st *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = vfx_new(k);
	t->bd = blockdev_mem_new("d0", DISK, ro);
	t->cd = blockdev_mem_new("cd0", 64 * 2048, true);
	assert_non_null(t->bd);
	for (unsigned i = 0; i < DISK; i++)
		blockdev_mem_data(t->bd)[i] = (uint8_t)(i * 7 + i / 512);
	struct vscsi_config c = { .gm = vfx_gm(t->f), .log = t->f->log,
				  .clk = vfx_clk(t->f) };
	t->s = vscsi_new(&c);
	assert_non_null(t->s);
	struct vscsi_lun_config l0 = { .target = 0, .lun = 0, .bd = t->bd,
				       .serial = "SER0", .dev_id = "d0",
				       .iops_total = iops };
	struct vscsi_lun_config l2 = { .target = 0, .lun = 2, .bd = t->cd,
				       .cdrom = true, .dev_id = "cd0" };
	struct vscsi_lun_config l3 = { .target = 3, .lun = 300, .bd = t->bd,
				       .dev_id = "d0b" };
	assert_int_equal(vscsi_add_lun(t->s, &l0), 0);
	assert_int_equal(vscsi_add_lun(t->s, &l2), 0);
	assert_int_equal(vscsi_add_lun(t->s, &l3), 0);
	assert_int_equal(vscsi_add_lun(t->s, &l0), -EEXIST);
	l0.target = 256;
	assert_int_equal(vscsi_add_lun(t->s, &l0), -EINVAL);
	vfx_attach(t->f, vscsi_vdev(t->s));
	vfx_start(t->f, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC), 3, QSZ);
	t->cdb_size = VIRTIO_SCSI_CDB_DEFAULT_SIZE;
	t->sense_size = VIRTIO_SCSI_SENSE_DEFAULT_SIZE;
	/* (With an iops limit every command costs a token: the throttle
	 * test counts from a fresh bucket.) */
	if (!iops)
		power_on_ua(t);
	return t;
}

static __attribute__((unused)) void st_free(struct st *t)
{
	vfx_detach(t->f);
	vscsi_free(t->s);
	vfx_free(t->f);
	blockdev_close(t->bd);
	blockdev_close(t->cd);
	free(t);
}

static __attribute__((unused)) void lun_bytes(uint8_t l[8], unsigned target, unsigned lun)
{
	memset(l, 0, 8);
	l[0] = 1;
	l[1] = (uint8_t)target;
	l[2] = (uint8_t)(0x40 | lun >> 8);
	l[3] = (uint8_t)lun;
}

/* Queue one request built from raw pieces and wait for its answer:
 * hdr (req header + CDB, hdr_len bytes), optional data-out, then a
 * response buffer of resp_len and optional data-in of in_len. */
static __attribute__((unused)) void raw(struct st *t, const uint8_t *hdr, uint32_t hdr_len,
		const void *out, uint32_t out_len, uint32_t resp_len,
		uint32_t in_len)
{
	struct vdq_buf b[4];
	unsigned n = 0;
	uint64_t resp = 0, in = 0;
	if (hdr_len)
		b[n++] = (struct vdq_buf){ vfx_put(t->f, hdr, hdr_len), hdr_len, false };
	if (out_len)
		b[n++] = (struct vdq_buf){ vfx_put(t->f, out, out_len), out_len, false };
	if (resp_len) {
		resp = vfx_alloc(t->f, resp_len);
		b[n++] = (struct vdq_buf){ resp, resp_len, true };
	}
	if (in_len) {
		in = vfx_alloc(t->f, in_len);
		b[n++] = (struct vdq_buf){ in, in_len, true };
	}
	vfx_add(t->f, RQ, b, n);
	uint16_t id;
	assert_int_equal(vfx_used(t->f, RQ, &id, &t->used), 1);
	memset(&t->r, 0xee, sizeof(t->r));
	memset(t->data, 0, sizeof(t->data));
	if (resp_len >= sizeof(t->r)) {
		assert_int_equal(gm_read(vfx_gm(t->f), resp, &t->r, sizeof(t->r)), 0);
		uint32_t sl = resp_len - sizeof(t->r);
		sl = sl < sizeof(t->sense) ? sl : sizeof(t->sense);
		assert_int_equal(gm_read(vfx_gm(t->f), resp + sizeof(t->r), t->sense,
					 sl), 0);
	}
	if (in_len)
		assert_int_equal(gm_read(vfx_gm(t->f), in, t->data,
					 in_len < sizeof(t->data) ? in_len : sizeof(t->data)), 0);
}

/* A well-formed command to (target, lun). */
static __attribute__((unused)) void cmd_to(struct st *t, unsigned target, unsigned lun,
		   const uint8_t *cdb, unsigned cdb_len, const void *out,
		   uint32_t out_len, uint32_t in_len)
{
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + VIRTIO_SCSI_CDB_MAX] = { 0 };
	struct virtio_scsi_req_cmd *h = (void *)hdr;
	lun_bytes(h->lun, target, lun);
	h->id = htole64(0x1234);
	memcpy(hdr + sizeof(*h), cdb, cdb_len);
	raw(t, hdr, sizeof(*h) + t->cdb_size, out, out_len,
	    sizeof(struct virtio_scsi_resp_cmd) + t->sense_size, in_len);
}

static __attribute__((unused)) void cmd(struct st *t, const uint8_t *cdb, unsigned cdb_len,
		const void *out, uint32_t out_len, uint32_t in_len)
{
	cmd_to(t, 0, 0, cdb, cdb_len, out, out_len, in_len);
}

static __attribute__((unused)) void expect_good(struct st *t)
{
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OK);
	assert_int_equal(t->r.status, SCSI_STATUS_GOOD);
	assert_int_equal(le32toh(t->r.sense_len), 0);
}

static __attribute__((unused)) void expect_sense(struct st *t, uint8_t key, uint16_t asc)
{
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OK);
	assert_int_equal(t->r.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(le32toh(t->r.sense_len), SDISK_SENSE_LEN);
	assert_int_equal(t->sense[0], 0x70);
	assert_int_equal(t->sense[2], key);
	assert_int_equal(t->sense[12] << 8 | t->sense[13], asc);
}

/* SAM-5 §6.2: each LU reports its power-on once, with UNIT ATTENTION
 * 29/00, on the first command other than INQUIRY, REPORT LUNS and
 * REQUEST SENSE (QEMU's scsi-disk does the same; Linux clears it with
 * TEST UNIT READY). */
static __attribute__((unused)) void power_on_ua(struct st *t)
{
	static const unsigned lus[3][2] = { { 0, 0 }, { 0, 2 }, { 3, 300 } };
	uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	for (unsigned i = 0; i < 3; i++) {
		cmd_to(t, lus[i][0], lus[i][1], tur, 6, NULL, 0, 0);
		expect_sense(t, SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_POWER_ON_RESET);
		cmd_to(t, lus[i][0], lus[i][1], tur, 6, NULL, 0, 0);
		expect_good(t);
	}
}

static __attribute__((unused)) void cdb10(uint8_t *c, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(c, 0, 10);
	c[0] = op;
	c[2] = (uint8_t)(lba >> 24); c[3] = (uint8_t)(lba >> 16);
	c[4] = (uint8_t)(lba >> 8); c[5] = (uint8_t)lba;
	c[7] = (uint8_t)(n >> 8); c[8] = (uint8_t)n;
}

static __attribute__((unused)) void cdb16(uint8_t *c, uint8_t op, uint64_t lba, uint32_t n)
{
	memset(c, 0, 16);
	c[0] = op;
	for (int i = 0; i < 8; i++)
		c[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		c[10 + i] = (uint8_t)(n >> (24 - 8 * i));
}

static __attribute__((unused)) uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}


/* Control queue: one request with out bytes and a response of in_len. */
static __attribute__((unused)) void ctrl(struct st *t, const void *req, uint32_t len, uint32_t in_len,
		 uint8_t *resp)
{
	struct vdq_buf b[2];
	unsigned n = 0;
	if (len)
		b[n++] = (struct vdq_buf){ vfx_put(t->f, req, len), len, false };
	uint64_t r = in_len ? vfx_alloc(t->f, in_len) : 0;
	if (in_len)
		b[n++] = (struct vdq_buf){ r, in_len, true };
	vfx_add(t->f, VSCSI_CTRLQ, b, n);
	uint16_t id;
	assert_int_equal(vfx_used(t->f, VSCSI_CTRLQ, &id, &t->used), 1);
	if (in_len)
		assert_int_equal(gm_read(vfx_gm(t->f), r, resp, in_len), 0);
}

static __attribute__((unused)) uint8_t tmf(struct st *t, uint32_t sub, unsigned target, unsigned lun)
{
	struct virtio_scsi_ctrl_tmf m = { .type = htole32(VIRTIO_SCSI_T_TMF),
					  .subtype = htole32(sub) };
	lun_bytes(m.lun, target, lun);
	uint8_t r = 0xee;
	ctrl(t, &m, sizeof(m), 1, &r);
	assert_int_equal(t->used, 1);
	return r;
}


#define BOTH(fn)                                                           \
	cmocka_unit_test_prestate(fn, (void *)(uintptr_t)VFX_MMIO),        \
		cmocka_unit_test_prestate(fn, (void *)(uintptr_t)VFX_PCI)

#endif
