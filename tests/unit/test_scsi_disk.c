/* The SCSI disk and CD-ROM emulation (devices/virtio/scsi_disk*.c) as
 * Linux's sd and sr drivers use it, through virtio-scsi on virtio-mmio
 * and virtio-pci: the probe (INQUIRY and VPD pages, REPORT LUNS, READ
 * CAPACITY, MODE SENSE), data commands, and the sense data of every
 * error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "scsi_fixture.h"

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


int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_linux_probe),
		BOTH(test_read_write),
		BOTH(test_sense_errors),
		BOTH(test_readonly_and_cdrom),
		BOTH(test_more_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
