/* virtio-scsi through the sim guest driver on virtio-mmio and virtio-pci:
 * the probe Linux's sd driver makes (INQUIRY and VPD pages, REPORT LUNS,
 * READ CAPACITY, MODE SENSE), data commands, sense data for every error,
 * task management, and the malformed requests a hostile guest can send. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

static enum vfx_kind kind(void **state)
{
	return (enum vfx_kind)(uintptr_t)*state;
}

static void power_on_ua(struct st *t);

/* Target 0: a disk at LUN 0 (writable unless ro) and a CD at LUN 2;
 * target 3: a disk at LUN 300 (flat addressing) sharing the backend. */
static struct st *st_new(enum vfx_kind k, bool ro, uint64_t iops)
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

static void st_free(struct st *t)
{
	vfx_detach(t->f);
	vscsi_free(t->s);
	vfx_free(t->f);
	blockdev_close(t->bd);
	blockdev_close(t->cd);
	free(t);
}

static void lun_bytes(uint8_t l[8], unsigned target, unsigned lun)
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
static void raw(struct st *t, const uint8_t *hdr, uint32_t hdr_len,
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
static void cmd_to(struct st *t, unsigned target, unsigned lun,
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

static void cmd(struct st *t, const uint8_t *cdb, unsigned cdb_len,
		const void *out, uint32_t out_len, uint32_t in_len)
{
	cmd_to(t, 0, 0, cdb, cdb_len, out, out_len, in_len);
}

static void expect_good(struct st *t)
{
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OK);
	assert_int_equal(t->r.status, SCSI_STATUS_GOOD);
	assert_int_equal(le32toh(t->r.sense_len), 0);
}

static void expect_sense(struct st *t, uint8_t key, uint16_t asc)
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
static void power_on_ua(struct st *t)
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

static void cdb10(uint8_t *c, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(c, 0, 10);
	c[0] = op;
	c[2] = (uint8_t)(lba >> 24); c[3] = (uint8_t)(lba >> 16);
	c[4] = (uint8_t)(lba >> 8); c[5] = (uint8_t)lba;
	c[7] = (uint8_t)(n >> 8); c[8] = (uint8_t)n;
}

static void cdb16(uint8_t *c, uint8_t op, uint64_t lba, uint32_t n)
{
	memset(c, 0, 16);
	c[0] = op;
	for (int i = 0; i < 8; i++)
		c[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		c[10 + i] = (uint8_t)(n >> (24 - 8 * i));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_config(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	struct vfx *f = t->f;
#define CFG(field) vfx_cfg(f, offsetof(struct virtio_scsi_config, field), \
			   sizeof(((struct virtio_scsi_config *)0)->field))
	assert_int_equal(f->d.bus->device_id(&f->d), VIRTIO_ID_SCSI);
	/* PCI: mass storage / SCSI controller, as QEMU's virtio-scsi-pci. */
	if (f->kind == VFX_PCI)
		assert_int_equal(vdriver_pci_cfg_read(&f->d, 0x08, 4) >> 8, 0x010000);
	assert_int_equal(CFG(num_queues), 1);
	assert_int_equal(CFG(seg_max), QSZ - 2);
	assert_int_equal(CFG(cdb_size), 32);
	assert_int_equal(CFG(sense_size), 96);
	assert_int_equal(CFG(event_info_size), 16);
	assert_int_equal(CFG(max_channel), 0);
	assert_int_equal(CFG(max_target), 255);
	assert_int_equal(CFG(max_lun), 16383);
	/* The two writable fields take in-range values only; the rest are
	 * read-only. */
	f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config, cdb_size), 4, 16);
	f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config, sense_size), 4, 20);
	assert_int_equal(CFG(cdb_size), 16);
	assert_int_equal(CFG(sense_size), 20);
	f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config, cdb_size), 4, 256);
	f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config, sense_size), 4, 65536);
	f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config, max_lun), 4, 1);
	assert_int_equal(CFG(cdb_size), 16);
	assert_int_equal(CFG(sense_size), 20);
	assert_int_equal(CFG(max_lun), 16383);
	/* Requests follow the new layout: a 16-byte CDB area, 20 sense bytes. */
	t->cdb_size = 16;
	t->sense_size = 20;
	uint8_t c[16];
	cdb10(c, SCSI_READ_10, 5000, 1);     /* out of range: sense fits 20 */
	cmd(t, c, 10, NULL, 0, 512);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* §5.6.4: reset restores the defaults. */
	vdriver_reset(&f->d);
	assert_int_equal(CFG(cdb_size), 32);
	assert_int_equal(CFG(sense_size), 96);
#undef CFG
	st_free(t);
}

/* What Linux's scan and sd probe ask, in order. */
static void test_linux_probe(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	uint8_t c[16] = { SCSI_INQUIRY, 0, 0, 0, 36 };
	cmd(t, c, 6, NULL, 0, 36);
	expect_good(t);
	assert_int_equal(t->data[0], 0x00);           /* direct access */
	assert_int_equal(t->data[2], 0x05);           /* SPC-3 */
	assert_int_equal(t->data[4], 31);
	assert_memory_equal(t->data + 8, "VMM     ", 8);
	assert_memory_equal(t->data + 16, "VMM HARDDISK    ", 16);
	assert_int_equal(le32toh(t->r.residual), 0);
	assert_int_equal(t->used, sizeof(struct virtio_scsi_resp_cmd) + 96 + 36);

	uint8_t rl[12] = { SCSI_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	cmd(t, rl, 12, NULL, 0, 256);
	expect_good(t);
	assert_int_equal(rd32(t->data), 16);          /* LUNs 0 and 2 */
	assert_int_equal(t->data[8 + 1], 0);
	assert_int_equal(t->data[16 + 1], 2);
	assert_int_equal(le32toh(t->r.residual), 256 - 24);
	cmd_to(t, 3, 300, rl, 12, NULL, 0, 256);      /* flat addressing */
	expect_good(t);
	assert_int_equal(t->data[8], 0x41);
	assert_int_equal(t->data[9], 300 & 0xff);

	/* VPD: the supported list, then each page it names. */
	uint8_t v[6] = { SCSI_INQUIRY, 1, 0x00, 0, 255 };
	cmd(t, v, 6, NULL, 0, 255);
	expect_good(t);
	assert_int_equal(t->data[3], 6);
	const uint8_t pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
	assert_memory_equal(t->data + 4, pages, 6);
	for (unsigned i = 0; i < 6; i++) {
		v[2] = pages[i];
		cmd(t, v, 6, NULL, 0, 255);
		expect_good(t);
		assert_int_equal(t->data[1], pages[i]);
	}
	v[2] = 0x80;
	cmd(t, v, 6, NULL, 0, 255);
	assert_memory_equal(t->data + 4, "SER0", 4);
	v[2] = 0xb0;
	cmd(t, v, 6, NULL, 0, 255);
	assert_int_equal(rd32(t->data + 8), SDISK_MAX_XFER_BYTES / 512);
	assert_int_equal(rd32(t->data + 20), SDISK_MAX_UNMAP_BLOCKS);
	assert_int_equal(rd32(t->data + 24), SDISK_MAX_UNMAP_DESC);
	v[2] = 0xb2;
	cmd(t, v, 6, NULL, 0, 255);
	assert_int_equal(t->data[5] & 0x80, 0x80);    /* LBPU: UNMAP works */
	v[2] = 0x89;                                  /* a page not listed */
	cmd(t, v, 6, NULL, 0, 255);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
	uint8_t bad[6] = { SCSI_INQUIRY, 0, 0x80, 0, 36 };  /* page, no EVPD */
	cmd(t, bad, 6, NULL, 0, 36);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);

	uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	cmd(t, tur, 6, NULL, 0, 0);
	expect_good(t);
	uint8_t rc16[16] = { SCSI_SERVICE_ACTION_IN_16, SCSI_SAI_READ_CAPACITY_16 };
	rc16[13] = 32;
	cmd(t, rc16, 16, NULL, 0, 32);
	expect_good(t);
	assert_int_equal(rd32(t->data + 4), DISK / 512 - 1);
	assert_int_equal(rd32(t->data + 8), 512);
	assert_int_equal(t->data[14] & 0x80, 0x80);   /* LBPME */
	uint8_t rc10[10] = { SCSI_READ_CAPACITY_10 };
	cmd(t, rc10, 10, NULL, 0, 8);
	expect_good(t);
	assert_int_equal(rd32(t->data), DISK / 512 - 1);
	assert_int_equal(rd32(t->data + 4), 512);

	/* sd_read_write_protect_flag: MODE SENSE(6) all pages; then the
	 * caching page, in 6- and 10-byte forms. */
	uint8_t ms[6] = { SCSI_MODE_SENSE_6, 0, 0x3f, 0, 192 };
	cmd(t, ms, 6, NULL, 0, 192);
	expect_good(t);
	assert_int_equal(t->data[2] & 0x80, 0);       /* not write-protected */
	assert_int_equal(t->data[0] + 1, 4 + 8 + 20 + 12);
	uint8_t ms8[6] = { SCSI_MODE_SENSE_6, 0x08, 0x08, 0, 32 };
	cmd(t, ms8, 6, NULL, 0, 32);
	expect_good(t);
	assert_int_equal(t->data[3], 0);              /* DBD: no descriptor */
	assert_int_equal(t->data[4], 0x08);
	assert_int_equal(t->data[6] & 0x04, 0x04);    /* WCE */
	uint8_t ms10[10] = { SCSI_MODE_SENSE_10, 0, 0x08, 0, 0, 0, 0, 0, 64 };
	cmd(t, ms10, 10, NULL, 0, 64);
	expect_good(t);
	assert_int_equal(t->data[7], 8);              /* block descriptor */
	assert_int_equal(t->data[16], 0x08);
	ms10[2] = 0xc8;                               /* saved values */
	cmd(t, ms10, 10, NULL, 0, 64);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_SAVING_NOT_SUPPORTED);
	uint8_t ssu[6] = { SCSI_START_STOP_UNIT, 0, 0, 0, 1 };
	cmd(t, ssu, 6, NULL, 0, 0);
	expect_good(t);
	st_free(t);
}

static void test_read_write(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	uint8_t buf[2048], c[16];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i ^ 0x3c);
	cdb10(c, SCSI_WRITE_10, 100, 4);
	cmd(t, c, 10, buf, sizeof(buf), 0);
	expect_good(t);
	assert_int_equal(le32toh(t->r.residual), 0);
	assert_memory_equal(blockdev_mem_data(t->bd) + 100 * 512, buf, sizeof(buf));
	cdb16(c, SCSI_READ_16, 100, 4);
	cmd(t, c, 16, NULL, 0, 2048);
	expect_good(t);
	assert_memory_equal(t->data, buf, 2048);
	/* A data buffer larger than the transfer: the rest is residual. */
	cdb10(c, SCSI_READ_10, 0, 1);
	cmd(t, c, 10, NULL, 0, 1024);
	expect_good(t);
	assert_int_equal(le32toh(t->r.residual), 512);
	assert_memory_equal(t->data, blockdev_mem_data(t->bd), 512);
	/* READ(6)/WRITE(6) with their 21-bit LBA; READ(12). */
	uint8_t w6[6] = { SCSI_WRITE_6, 0x00, 0x01, 0x00, 1 };  /* LBA 256 */
	cmd(t, w6, 6, buf, 512, 0);
	expect_good(t);
	assert_memory_equal(blockdev_mem_data(t->bd) + 256 * 512, buf, 512);
	uint8_t r12[12] = { SCSI_READ_12, 0, 0, 0, 1, 0, 0, 0, 0, 1 };
	cmd(t, r12, 12, NULL, 0, 512);
	expect_good(t);
	assert_memory_equal(t->data, buf, 512);
	/* WRITE(16) with FUA, SYNCHRONIZE CACHE(10/16). */
	uint64_t flushes = t->bd->nr_flush;
	cdb16(c, SCSI_WRITE_16, 7, 1);
	c[1] = 0x08;
	cmd(t, c, 16, buf, 512, 0);
	expect_good(t);
	assert_int_equal(t->bd->nr_flush, flushes + 1);
	uint8_t sc[10] = { SCSI_SYNC_CACHE_10 };
	cmd(t, sc, 10, NULL, 0, 0);
	expect_good(t);
	uint8_t sc16[16] = { SCSI_SYNC_CACHE_16 };
	cmd(t, sc16, 16, NULL, 0, 0);
	expect_good(t);
	assert_int_equal(t->bd->nr_flush, flushes + 3);
	/* UNMAP two ranges: they read back as zeroes. */
	uint8_t par[8 + 32] = { 0, 38, 0, 32 };
	par[8 + 7] = 100;  par[8 + 11] = 2;      /* LBA 100, 2 blocks */
	par[24 + 7] = 7;   par[24 + 11] = 1;     /* LBA 7, 1 block */
	uint8_t um[10] = { SCSI_UNMAP, 0, 0, 0, 0, 0, 0, 0, sizeof(par) };
	cmd(t, um, 10, par, sizeof(par), 0);
	expect_good(t);
	static const uint8_t zero[1024];
	assert_memory_equal(blockdev_mem_data(t->bd) + 100 * 512, zero, 1024);
	assert_memory_equal(blockdev_mem_data(t->bd) + 7 * 512, zero, 512);
	assert_memory_equal(blockdev_mem_data(t->bd) + 102 * 512, buf + 1024, 1024);
	assert_int_equal(sdisk_get_stats(vscsi_lun(t->s, 0, 0))->unmaps, 2);
	st_free(t);
}

static void test_sense_errors(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	uint8_t c[16], buf[512] = { 0 };
	/* One block past the end, and a range straddling it. */
	cdb10(c, SCSI_READ_10, DISK / 512, 1);
	cmd(t, c, 10, NULL, 0, 512);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	assert_int_equal(le32toh(t->r.residual), 512);
	cdb10(c, SCSI_WRITE_10, DISK / 512 - 1, 2);
	uint8_t two[1024] = { 0 };
	cmd(t, c, 10, two, sizeof(two), 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* lba + n wraps 64 bits. */
	cdb16(c, SCSI_READ_16, UINT64_MAX - 1, 4);
	cmd(t, c, 16, NULL, 0, 2048);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* lba * block size wraps 64 bits. */
	cdb16(c, SCSI_WRITE_16, 1ull << 55, 1);
	cmd(t, c, 16, buf, 512, 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* A transfer beyond the maximum transfer length. */
	cdb16(c, SCSI_READ_16, 0, 0xffffffffu);
	cmd(t, c, 16, NULL, 0, 512);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
	/* Unknown opcode, an opcode group with no length, RDPROTECT. */
	uint8_t unk[6] = { 0x02 };
	cmd(t, unk, 6, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	uint8_t g3[6] = { 0x7e };
	cmd(t, g3, 6, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	cdb10(c, SCSI_READ_10, 0, 1);
	c[1] = 0x20;
	cmd(t, c, 10, NULL, 0, 512);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
	/* REPORT LUNS with an allocation length under 16. */
	uint8_t rl[12] = { SCSI_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 0, 8 };
	cmd(t, rl, 12, NULL, 0, 8);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
	/* UNMAP: a parameter list of 4 bytes, too many descriptors, a range
	 * past the end. */
	uint8_t par[8 + 16 * 33] = { 0 };
	uint8_t um[10] = { SCSI_UNMAP, 0, 0, 0, 0, 0, 0, 0, 4 };
	cmd(t, um, 10, par, 4, 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_PARAM_LIST_LENGTH);
	par[2] = (16 * 33) >> 8;
	par[3] = (uint8_t)(16 * 33);
	um[7] = sizeof(par) >> 8;
	um[8] = (uint8_t)sizeof(par);
	cmd(t, um, 10, par, sizeof(par), 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_PARAM);
	par[3] = 16;
	par[2] = 0;
	par[8 + 6] = 0x08;   /* LBA 2048 = the end */
	par[8 + 11] = 1;
	um[7] = 0;
	um[8] = 24;
	cmd(t, um, 10, par, 24, 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* A backend error is a medium error. */
	blockdev_mem_fail(t->bd, -5);
	cdb10(c, SCSI_READ_10, 0, 1);
	cmd(t, c, 10, NULL, 0, 512);
	expect_sense(t, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_READ_ERROR);
	blockdev_mem_fail(t->bd, 0);
	/* REQUEST SENSE: nothing pending; descriptor format on request. */
	uint8_t rs[6] = { SCSI_REQUEST_SENSE, 1, 0, 0, 252 };
	cmd(t, rs, 6, NULL, 0, 252);
	expect_good(t);
	assert_int_equal(t->data[0], 0x72);
	assert_int_equal(t->data[1], 0);
	st_free(t);
}

static void test_readonly_and_cdrom(void **state)
{
	struct st *t = st_new(kind(state), true, 0);
	uint8_t c[16], buf[2048] = { 0 };
	uint8_t before = blockdev_mem_data(t->bd)[0];
	cdb10(c, SCSI_WRITE_10, 0, 1);
	cmd(t, c, 10, buf, 512, 0);
	expect_sense(t, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	assert_int_equal(blockdev_mem_data(t->bd)[0], before);
	uint8_t par[24] = { 0, 22, 0, 16 };
	par[8 + 11] = 1;
	uint8_t um[10] = { SCSI_UNMAP, 0, 0, 0, 0, 0, 0, 0, sizeof(par) };
	cmd(t, um, 10, par, sizeof(par), 0);
	expect_sense(t, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	/* MODE SENSE reports WP, VPD b2 no UNMAP. */
	uint8_t ms[6] = { SCSI_MODE_SENSE_6, 0, 0x3f, 0, 192 };
	cmd(t, ms, 6, NULL, 0, 192);
	assert_int_equal(t->data[2] & 0x80, 0x80);
	uint8_t v[6] = { SCSI_INQUIRY, 1, 0xb2, 0, 64 };
	cmd(t, v, 6, NULL, 0, 64);
	assert_int_equal(t->data[5] & 0x80, 0);

	/* The CD-ROM at LUN 2: MMC type, removable, 2048-byte blocks. */
	uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36 };
	cmd_to(t, 0, 2, inq, 6, NULL, 0, 36);
	expect_good(t);
	assert_int_equal(t->data[0], 0x05);
	assert_int_equal(t->data[1], 0x80);
	uint8_t rc10[10] = { SCSI_READ_CAPACITY_10 };
	cmd_to(t, 0, 2, rc10, 10, NULL, 0, 8);
	assert_int_equal(rd32(t->data), 63);
	assert_int_equal(rd32(t->data + 4), 2048);
	memset(blockdev_mem_data(t->cd) + 2048, 0xcd, 2048);
	cdb10(c, SCSI_READ_10, 1, 1);
	cmd_to(t, 0, 2, c, 10, NULL, 0, 2048);
	expect_good(t);
	assert_int_equal(t->data[0], 0xcd);
	assert_int_equal(t->data[2047], 0xcd);
	cdb10(c, SCSI_WRITE_10, 1, 1);
	cmd_to(t, 0, 2, c, 10, buf, 2048, 0);
	expect_sense(t, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	uint8_t ms10[10] = { SCSI_MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 64 };
	cmd_to(t, 0, 2, ms10, 10, NULL, 0, 64);
	expect_good(t);
	assert_int_equal(t->data[8], 0x2a);
	cmd_to(t, 0, 2, um, 10, par, sizeof(par), 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	uint8_t eject[6] = { SCSI_START_STOP_UNIT, 0, 0, 0, 2 };
	cmd_to(t, 0, 2, eject, 6, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
	st_free(t);
}

static void test_addressing(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36 };
	/* No such target. */
	cmd_to(t, 1, 0, tur, 6, NULL, 0, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_BAD_TARGET);
	assert_int_equal(vscsi_get_stats(t->s)->bad_target, 1);
	/* A LUN the target lacks: INQUIRY says "no LU here", commands fail
	 * with LOGICAL UNIT NOT SUPPORTED, REPORT LUNS still lists. */
	cmd_to(t, 0, 1, inq, 6, NULL, 0, 36);
	expect_good(t);
	assert_int_equal(t->data[0], 0x7f);
	cmd_to(t, 0, 1, tur, 6, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	uint8_t rl[12] = { SCSI_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 0, 64 };
	cmd_to(t, 3, 0, rl, 12, NULL, 0, 64);
	expect_good(t);
	assert_int_equal(rd32(t->data), 8);
	/* lun[0] must be 1, lun[2] a single-level format. */
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	struct virtio_scsi_req_cmd *h = (void *)hdr;
	lun_bytes(h->lun, 0, 0);
	h->lun[0] = 2;
	raw(t, hdr, sizeof(hdr), NULL, 0, sizeof(struct virtio_scsi_resp_cmd) + 96, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_BAD_TARGET);
	lun_bytes(h->lun, 0, 0);
	h->lun[2] = 0x80;
	raw(t, hdr, sizeof(hdr), NULL, 0, sizeof(struct virtio_scsi_resp_cmd) + 96, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_BAD_TARGET);
	/* Peripheral addressing (lun[2] = 0) reaches LUN 0 too. */
	lun_bytes(h->lun, 0, 0);
	h->lun[2] = 0;
	raw(t, hdr, sizeof(hdr), NULL, 0, sizeof(struct virtio_scsi_resp_cmd) + 96, 0);
	expect_good(t);
	st_free(t);
}

static void test_hostile_chains(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	const uint32_t resp = sizeof(struct virtio_scsi_resp_cmd) + 96;
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	struct virtio_scsi_req_cmd *h = (void *)hdr;
	lun_bytes(h->lun, 0, 0);
	/* Request header shorter than header + cdb_size: FAILURE. */
	raw(t, hdr, sizeof(hdr) - 1, NULL, 0, resp, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_FAILURE);
	raw(t, NULL, 0, NULL, 0, resp, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_FAILURE);
	/* Response buffer too short for its header: returned unwritten. */
	raw(t, hdr, sizeof(hdr), NULL, 0, resp - 1, 0);
	assert_int_equal(t->used, 0);
	raw(t, hdr, sizeof(hdr), NULL, 0, 0, 0);
	assert_int_equal(t->used, 0);
	assert_int_equal(vscsi_get_stats(t->s)->dropped, 2);
	/* Data buffer too small for the transfer, or the wrong way round. */
	uint8_t c[16];
	cdb10(c, SCSI_READ_10, 0, 2);
	cmd(t, c, 10, NULL, 0, 1023);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OVERRUN);
	assert_int_equal(le32toh(t->r.residual), 1023);
	cmd(t, c, 10, NULL, 0, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OVERRUN);
	uint8_t buf[1024] = { 0 };
	cmd(t, c, 10, buf, sizeof(buf), 0);          /* read with data-out */
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OVERRUN);
	cdb10(c, SCSI_WRITE_10, 0, 2);
	uint8_t before = blockdev_mem_data(t->bd)[0];
	cmd(t, c, 10, buf, 1000, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OVERRUN);
	assert_int_equal(blockdev_mem_data(t->bd)[0], before);
	uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 96 };
	cmd(t, inq, 6, NULL, 0, 36);                  /* allocation > buffer */
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OVERRUN);
	assert_int_equal(vscsi_get_stats(t->s)->overrun, 5);
	/* A CDB longer than cdb_size: the driver shrank it to 6 bytes. */
	t->f->d.bus->config_write(&t->f->d, offsetof(struct virtio_scsi_config,
						      cdb_size), 4, 6);
	t->cdb_size = 6;
	cdb10(c, SCSI_READ_10, 0, 1);
	cmd(t, c, 10, NULL, 0, 512);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	cmd(t, tur, 6, NULL, 0, 0);
	expect_good(t);
	/* cdb_size 0: no command can be complete. */
	t->f->d.bus->config_write(&t->f->d, offsetof(struct virtio_scsi_config,
						      cdb_size), 4, 0);
	t->cdb_size = 0;
	cmd(t, tur, 6, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	/* Still serving afterwards. */
	assert_false(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	st_free(t);
}

/* Control queue: one request with out bytes and a response of in_len. */
static void ctrl(struct st *t, const void *req, uint32_t len, uint32_t in_len,
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

static uint8_t tmf(struct st *t, uint32_t sub, unsigned target, unsigned lun)
{
	struct virtio_scsi_ctrl_tmf m = { .type = htole32(VIRTIO_SCSI_T_TMF),
					  .subtype = htole32(sub) };
	lun_bytes(m.lun, target, lun);
	uint8_t r = 0xee;
	ctrl(t, &m, sizeof(m), 1, &r);
	assert_int_equal(t->used, 1);
	return r;
}

static void test_task_management(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36 };
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	/* INQUIRY does not consume the unit attention; TUR reports it once. */
	cmd(t, inq, 6, NULL, 0, 36);
	expect_good(t);
	cmd(t, tur, 6, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_POWER_ON_RESET);
	cmd(t, tur, 6, NULL, 0, 0);
	expect_good(t);
	/* I_T nexus reset reaches every LU of the target, REQUEST SENSE
	 * returns and clears the unit attention. */
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	uint8_t rs[6] = { SCSI_REQUEST_SENSE, 0, 0, 0, 18 };
	cmd_to(t, 0, 2, rs, 6, NULL, 0, 18);
	expect_good(t);
	assert_int_equal(t->data[2], SCSI_SENSE_UNIT_ATTENTION);
	cmd_to(t, 0, 2, tur, 6, NULL, 0, 0);
	expect_good(t);
	cmd(t, tur, 6, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_POWER_ON_RESET);
	/* Nothing is ever in flight: aborts and queries complete. */
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_ABORT_TASK_SET, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_CLEAR_ACA, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_REJECTED);
	assert_int_equal(tmf(t, 99, 0, 0), VIRTIO_SCSI_S_FUNCTION_REJECTED);
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 9, 0),
			 VIRTIO_SCSI_S_BAD_TARGET);
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 0, 1),
			 VIRTIO_SCSI_S_INCORRECT_LUN);
	/* Asynchronous notification: none supported. */
	struct virtio_scsi_ctrl_an an = { .type = htole32(VIRTIO_SCSI_T_AN_QUERY) };
	lun_bytes(an.lun, 0, 0);
	an.event_requested = htole32(0xffffffffu);
	uint8_t ar[5];
	ctrl(t, &an, sizeof(an), sizeof(ar), ar);
	assert_int_equal(t->used, 5);
	assert_int_equal(ar[0] | ar[1] | ar[2] | ar[3], 0);
	assert_int_equal(ar[4], VIRTIO_SCSI_S_OK);
	/* Malformed: unknown type, short TMF, no response byte. */
	uint32_t bogus = htole32(77);
	uint8_t r = 0;
	ctrl(t, &bogus, 4, 1, &r);
	assert_int_equal(r, VIRTIO_SCSI_S_FAILURE);
	struct virtio_scsi_ctrl_tmf m = { .type = htole32(VIRTIO_SCSI_T_TMF) };
	ctrl(t, &m, 8, 1, &r);
	assert_int_equal(r, VIRTIO_SCSI_S_FAILURE);
	ctrl(t, &m, sizeof(m), 0, &r);
	assert_int_equal(t->used, 0);
	ctrl(t, NULL, 0, 1, &r);
	assert_int_equal(r, VIRTIO_SCSI_S_FAILURE);
	assert_int_equal(vscsi_get_stats(t->s)->tmfs, 9);
	/* A device reset is a bus reset: every LU raises the unit
	 * attention again. */
	vfx_start(t->f, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC), 3, QSZ);
	power_on_ua(t);
	st_free(t);
}

/* The event queue holds the driver's buffers: there is nothing to report. */
static void test_event_queue_held(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	uint64_t ev = vfx_alloc(t->f, VIRTIO_SCSI_EVENT_SIZE);
	struct vdq_buf b = { ev, VIRTIO_SCSI_EVENT_SIZE, true };
	vfx_add(t->f, VSCSI_EVENTQ, &b, 1);
	uint16_t id;
	uint32_t len;
	assert_int_equal(vfx_used(t->f, VSCSI_EVENTQ, &id, &len), 0);
	assert_int_equal(vdq_outstanding(&t->f->q[VSCSI_EVENTQ]), 1);
	st_free(t);
}

/* One kick handles VSCSI_KICK_BUDGET requests; the rest run when the
 * clock next fires timers, without another kick. */
static void test_kick_budget(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	const unsigned n = VSCSI_KICK_BUDGET + 20;
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr)->lun, 0, 0);   /* TUR */
	const uint32_t resp = sizeof(struct virtio_scsi_resp_cmd) + 96;
	const uint64_t before = vscsi_get_stats(t->s)->requests;
	/* Indirect chains: more requests than the ring has descriptors for
	 * direct two-descriptor chains. */
	for (unsigned i = 0; i < n; i++) {
		struct vdq_buf b[2] = {
			{ vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
			{ vfx_alloc(t->f, resp), resp, true },
		};
		assert_true(vdq_add(&t->f->q[RQ], b, 2, true) >= 0);
	}
	vdq_publish(&t->f->q[RQ]);
	vfx_kick(t->f, RQ);
	uint16_t id;
	uint32_t len;
	unsigned got = 0;
	while (vfx_used(t->f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, VSCSI_KICK_BUDGET);
	assert_int_equal(vscsi_get_stats(t->s)->deferred, 1);
	sim_clock_step(t->f->sim, 0);
	while (vfx_used(t->f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, n);
	assert_int_equal(vscsi_get_stats(t->s)->requests - before, n);
	st_free(t);
}

/* The byte budget: 32 MiB reads (the largest a command may move) stop
 * a kick after VSCSI_KICK_BYTES; the rest wait for the clock. */
static void test_kick_byte_budget(void **state)
{
	struct vfx *f = vfx_new(kind(state));
	/* A sim RAM big enough for three 32 MiB buffers. */
	sim_free(f->sim);
	struct sim_config sc = { .ram_size = 160ull << 20, .seed = 1, .log = f->log };
	f->sim = sim_new(&sc);
	assert_non_null(f->sim);
	struct blockdev *bd = blockdev_mem_new("big", 40ull << 20, true);
	struct vscsi_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f) };
	struct vscsi *s = vscsi_new(&c);
	struct vscsi_lun_config l = { .bd = bd };
	assert_int_equal(vscsi_add_lun(s, &l), 0);
	vfx_attach(f, vscsi_vdev(s));
	vfx_start(f, 0, 3, QSZ);
	const uint32_t rl = sizeof(struct virtio_scsi_resp_cmd) + 96, big = 32u << 20;
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr)->lun, 0, 0);
	uint8_t *cdb = hdr + sizeof(struct virtio_scsi_req_cmd);
	const uint64_t hdr_gpa = 100ull << 20;
	assert_int_equal(gm_write(vfx_gm(f), hdr_gpa, hdr, sizeof(hdr)), 0); /* TUR */
	cdb16(cdb, SCSI_READ_16, 0, big / 512);
	assert_int_equal(gm_write(vfx_gm(f), hdr_gpa + 64, hdr, sizeof(hdr)), 0);
	/* The power-on unit attention first, then three 32 MiB reads. */
	struct vdq_buf t0[2] = { { hdr_gpa, sizeof(hdr), false },
				 { hdr_gpa + 128, rl, true } };
	vfx_add(f, RQ, t0, 2);
	uint16_t id;
	uint32_t len;
	assert_int_equal(vfx_used(f, RQ, &id, &len), 1);
	for (unsigned i = 0; i < 3; i++) {
		struct vdq_buf b[3] = { { hdr_gpa + 64, sizeof(hdr), false },
					{ hdr_gpa + 256 + i * 256, rl, true },
					{ (16ull << 20) + i * (uint64_t)big, big, true } };
		vfx_add_nokick(f, RQ, b, 3);
	}
	vfx_kick(f, RQ);
	unsigned got = 0;
	while (vfx_used(f, RQ, &id, &len) == 1) {
		assert_int_equal(len, rl + big);
		got++;
	}
	assert_int_equal(got, 2);            /* 64 MiB: the budget */
	sim_clock_step(f->sim, 0);
	while (vfx_used(f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, 3);
	vfx_detach(f);
	vscsi_free(s);
	vfx_free(f);
	blockdev_close(bd);
}

static void test_throttle(void **state)
{
	struct st *t = st_new(kind(state), false, 10);   /* 10 iops, burst 1 */
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr)->lun, 0, 0);
	const uint32_t resp = sizeof(struct virtio_scsi_resp_cmd) + 96;
	for (unsigned i = 0; i < 3; i++) {
		struct vdq_buf b[2] = {
			{ vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
			{ vfx_alloc(t->f, resp), resp, true },
		};
		vfx_add_nokick(t->f, RQ, b, 2);
	}
	vfx_kick(t->f, RQ);
	uint16_t id;
	uint32_t len;
	unsigned got = 0;
	while (vfx_used(t->f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, 1);
	assert_true(vscsi_get_stats(t->s)->throttled >= 1);
	sim_clock_step(t->f->sim, 100000000ull);
	while (vfx_used(t->f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, 2);
	sim_clock_step(t->f->sim, 100000000ull);
	while (vfx_used(t->f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, 3);
	st_free(t);
}

/* num_queues=3: three request queues (2, 3, 4), each served on its own
 * kick; more than VSCSI_MAX_REQ_QUEUES is refused. */
static void test_request_queues(void **state)
{
	struct vfx *f = vfx_new(kind(state));
	struct blockdev *bd = blockdev_mem_new("d0", DISK, false);
	memcpy(blockdev_mem_data(bd) + 512, "BLOCK-ONE", 9);
	struct vscsi_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f),
				  .num_queues = 3 };
	struct vscsi *s = vscsi_new(&c);
	assert_non_null(s);
	struct vscsi_lun_config l = { .target = 0, .lun = 0, .bd = bd };
	assert_int_equal(vscsi_add_lun(s, &l), 0);
	vfx_attach(f, vscsi_vdev(s));
	vfx_start(f, 0, 5, QSZ);
	assert_int_equal(vfx_cfg(f, offsetof(struct virtio_scsi_config, num_queues), 4), 3);
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr)->lun, 0, 0);
	uint8_t *cdb = hdr + sizeof(struct virtio_scsi_req_cmd);
	cdb10(cdb, SCSI_READ_10, 1, 1);
	const uint32_t rl = sizeof(struct virtio_scsi_resp_cmd) + 96;
	for (unsigned q = VSCSI_REQQ; q < VSCSI_REQQ + 3; q++) {
		uint64_t resp = vfx_alloc(f, rl), data = vfx_alloc(f, 512);
		struct vdq_buf b[3] = {
			{ vfx_put(f, hdr, sizeof(hdr)), sizeof(hdr), false },
			{ resp, rl, true }, { data, 512, true },
		};
		vfx_add(f, q, b, 3);
		uint16_t id;
		uint32_t len;
		assert_int_equal(vfx_used(f, q, &id, &len), 1);
		struct virtio_scsi_resp_cmd r;
		assert_int_equal(gm_read(vfx_gm(f), resp, &r, sizeof(r)), 0);
		uint8_t got[9];
		assert_int_equal(gm_read(vfx_gm(f), data, got, 9), 0);
		if (q == VSCSI_REQQ) {   /* the power-on unit attention */
			assert_int_equal(r.status, SCSI_STATUS_CHECK_CONDITION);
			continue;
		}
		assert_int_equal(r.status, SCSI_STATUS_GOOD);
		assert_int_equal(len, rl + 512);
		assert_memory_equal(got, "BLOCK-ONE", 9);
	}
	vfx_detach(f);
	vscsi_free(s);
	vfx_free(f);
	blockdev_close(bd);
	c.num_queues = VSCSI_MAX_REQ_QUEUES + 1;
	assert_null(vscsi_new(&c));
}

/* Guest memory that fails under the device: a data-in page that cannot
 * be written is a medium error (the bounce path), a response header that
 * cannot be written drops the request; a ring the guest breaks sets
 * DEVICE_NEEDS_RESET. */
static void test_hostile_memory(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	struct gm *gm = (struct gm *)vfx_gm(t->f);
	const uint32_t rl = sizeof(struct virtio_scsi_resp_cmd) + 96;
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr)->lun, 0, 0);
	uint8_t *cdb = hdr + sizeof(struct virtio_scsi_req_cmd);
	cdb10(cdb, SCSI_READ_10, 0, 8);
	uint64_t resp = vfx_alloc(t->f, rl);
	uint64_t data = (vfx_alloc(t->f, 3 * 4096) + 4095) & ~4095ull;
	assert_int_equal(gm_inject_fault(gm, data + 4096, 4096, GM_FAULT_WRITE), 0);
	struct vdq_buf b[3] = { { vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
				{ resp, rl, true }, { data + 2048, 4096, true } };
	vfx_add(t->f, RQ, b, 3);
	uint16_t id;
	assert_int_equal(vfx_used(t->f, RQ, &id, &t->used), 1);
	assert_int_equal(gm_read(gm, resp, &t->r, sizeof(t->r)), 0);
	assert_int_equal(gm_read(gm, resp + sizeof(t->r), t->sense, 18), 0);
	expect_sense(t, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_READ_ERROR);
	/* Data-out from an unreadable page: a write error; the disk keeps
	 * what the faulting page would have written. */
	assert_int_equal(gm_inject_fault(gm, data + 4096, 4096, GM_FAULT_READ), 0);
	cdb10(cdb, SCSI_WRITE_10, 0, 8);
	uint8_t before = blockdev_mem_data(t->bd)[2048];
	struct vdq_buf w[3] = { { vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
				{ data + 2048, 4096, false }, { resp, rl, true } };
	vfx_add(t->f, RQ, w, 3);
	assert_int_equal(vfx_used(t->f, RQ, &id, &t->used), 1);
	assert_int_equal(gm_read(gm, resp, &t->r, sizeof(t->r)), 0);
	assert_int_equal(gm_read(gm, resp + sizeof(t->r), t->sense, 18), 0);
	expect_sense(t, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
	assert_int_equal(blockdev_mem_data(t->bd)[2048], before);
	/* The response header (or the sense after it) in a faulting page:
	 * nothing can be said, the chain comes back unwritten. */
	uint64_t bad = data + 4096;
	uint8_t unk[6] = { 0x02 };
	memcpy(cdb, unk, 6);
	struct vdq_buf r1[2] = { { vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
				 { bad, rl, true } };
	vfx_add(t->f, RQ, r1, 2);
	assert_int_equal(vfx_used(t->f, RQ, &id, &t->used), 1);
	assert_int_equal(t->used, 0);
	struct vdq_buf r2[3] = { { vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
				 { resp, sizeof(struct virtio_scsi_resp_cmd), true },
				 { bad, 96, true } };
	vfx_add(t->f, RQ, r2, 3);
	assert_int_equal(vfx_used(t->f, RQ, &id, &t->used), 1);
	assert_int_equal(t->used, 0);
	/* The same on the control queue. */
	struct virtio_scsi_ctrl_tmf m = { .type = htole32(VIRTIO_SCSI_T_TMF) };
	lun_bytes(m.lun, 0, 0);
	struct vdq_buf c1[2] = { { vfx_put(t->f, &m, sizeof(m)), sizeof(m), false },
				 { bad, 1, true } };
	vfx_add(t->f, VSCSI_CTRLQ, c1, 2);
	assert_int_equal(vfx_used(t->f, VSCSI_CTRLQ, &id, &t->used), 1);
	assert_int_equal(t->used, 0);
	assert_int_equal(vscsi_get_stats(t->s)->dropped, 3);
	assert_false(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* An avail index far ahead of the ring: the ring is broken. */
	if (!t->f->q[RQ].packed) {
		assert_int_equal(vdq_raw_avail_idx(&t->f->q[RQ],
			(uint16_t)(t->f->q[RQ].avail_idx + QSZ + 1)), 0);
		vfx_kick(t->f, RQ);
		assert_true(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	}
	st_free(t);
}

/* The remaining error answers of the command set and the control queue. */
static void test_more_errors(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	uint8_t c[16];
	/* SERVICE ACTION IN(16) other than READ CAPACITY(16). */
	uint8_t sai[16] = { SCSI_SERVICE_ACTION_IN_16, 0x11 };
	cmd(t, sai, 16, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
	/* REQUEST SENSE to a missing LUN names it. */
	uint8_t rs[6] = { SCSI_REQUEST_SENSE, 0, 0, 0, 18 };
	cmd_to(t, 0, 1, rs, 6, NULL, 0, 18);
	expect_good(t);
	assert_int_equal(t->data[2], SCSI_SENSE_ILLEGAL_REQUEST);
	assert_int_equal(t->data[12], SCSI_ASC_LUN_NOT_SUPPORTED >> 8);
	/* UNMAP: ANCHOR, a block count over the limit, a descriptor count
	 * larger than the list holds (only what is there is used), and a
	 * backend failure. */
	uint8_t par[8 + 16] = { 0, 22, 0, 16 };
	par[8 + 7] = 1;
	par[8 + 11] = 1;
	uint8_t um[10] = { SCSI_UNMAP, 1, 0, 0, 0, 0, 0, 0, sizeof(par) };
	cmd(t, um, 10, par, sizeof(par), 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
	um[1] = 0;
	par[8 + 8] = 0xff;                 /* 0xff000001 blocks */
	cmd(t, um, 10, par, sizeof(par), 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_PARAM);
	par[8 + 8] = 0;
	par[3] = 0xf0;                     /* 15 descriptors claimed, 1 sent */
	memset(blockdev_mem_data(t->bd) + 512, 0x77, 512);
	cmd(t, um, 10, par, sizeof(par), 0);
	expect_good(t);
	assert_int_equal(blockdev_mem_data(t->bd)[512], 0);
	blockdev_mem_fail(t->bd, -5);
	cmd(t, um, 10, par, sizeof(par), 0);
	expect_sense(t, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
	uint8_t sc[10] = { SCSI_SYNC_CACHE_10 };
	cmd(t, sc, 10, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
	blockdev_mem_fail(t->bd, 0);
	/* UNMAP with a zero-length list does nothing, successfully. */
	um[8] = 0;
	cmd(t, um, 10, NULL, 0, 0);
	expect_good(t);
	/* MODE SENSE of a page we do not have, and of a subpage. */
	uint8_t ms[6] = { SCSI_MODE_SENSE_6, 0, 0x1c, 0, 64 };
	cmd(t, ms, 6, NULL, 0, 64);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
	ms[2] = 0x08;
	ms[3] = 0x01;
	cmd(t, ms, 6, NULL, 0, 64);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
	/* A zero-length READ(10) moves nothing and succeeds. */
	cdb10(c, SCSI_READ_10, 0, 0);
	cmd(t, c, 10, NULL, 0, 0);
	expect_good(t);
	/* AN to a target that does not exist. */
	struct virtio_scsi_ctrl_an an = { .type = htole32(VIRTIO_SCSI_T_AN_SUBSCRIBE) };
	lun_bytes(an.lun, 9, 0);
	uint8_t ar[5];
	ctrl(t, &an, sizeof(an), sizeof(ar), ar);
	assert_int_equal(ar[4], VIRTIO_SCSI_S_BAD_TARGET);
	/* An AN request with no room for event_actual. */
	uint8_t r1 = 0;
	ctrl(t, &an, sizeof(an), 1, &r1);
	assert_int_equal(r1, VIRTIO_SCSI_S_FAILURE);
	st_free(t);
}

#define BOTH(fn)                                                           \
	cmocka_unit_test_prestate(fn, (void *)(uintptr_t)VFX_MMIO),        \
		cmocka_unit_test_prestate(fn, (void *)(uintptr_t)VFX_PCI)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_config),
		BOTH(test_linux_probe),
		BOTH(test_read_write),
		BOTH(test_sense_errors),
		BOTH(test_readonly_and_cdrom),
		BOTH(test_addressing),
		BOTH(test_hostile_chains),
		BOTH(test_task_management),
		BOTH(test_event_queue_held),
		BOTH(test_kick_budget),
		BOTH(test_kick_byte_budget),
		BOTH(test_throttle),
		BOTH(test_request_queues),
		BOTH(test_hostile_memory),
		BOTH(test_more_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
