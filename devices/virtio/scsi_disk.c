/* SCSI disk and CD-ROM emulation over a block backend.  See scsi_disk.h.
 *
 * Every field comes from a guest-written CDB or parameter list: lengths
 * are checked against the data buffers before anything moves, block
 * ranges with 64-bit arithmetic that cannot wrap, transfers are capped at
 * SDISK_MAX_XFER_BYTES.  Errors are CHECK CONDITION with fixed-format
 * sense (SPC-4 §4.5.3); buffers that do not fit the transfer set
 * `overrun` for the HBA to answer VIRTIO_SCSI_S_OVERRUN, as QEMU does. */
#include "devices/virtio/scsi_disk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/blockdev.h"
#include "core/gm.h"
#include "core/log.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/queue_blockdev.h"
#include "devices/virtio/scsi_disk_priv.h"

void sdisk_check(struct sdisk_cmd *c, uint8_t key, uint16_t asc)
{
	c->status = SCSI_STATUS_CHECK_CONDITION;
	memset(c->sense, 0, sizeof(c->sense));
	c->sense[0] = 0x70;                 /* current error, fixed format */
	c->sense[2] = key;
	c->sense[7] = SDISK_SENSE_LEN - 8;  /* additional sense length */
	c->sense[12] = (uint8_t)(asc >> 8);
	c->sense[13] = (uint8_t)asc;
	c->sense_len = SDISK_SENSE_LEN;
}

void sdisk_illegal(struct sdisk_cmd *c, uint16_t asc)
{
	sdisk_check(c, SCSI_SENSE_ILLEGAL_REQUEST, asc);
}

unsigned sdisk_cdb_len(uint8_t opcode)
{
	static const uint8_t len[8] = { 6, 10, 10, 0, 16, 12, 0, 0 };
	return len[opcode >> 5];
}

/* The data-in buffer must take `xfer` bytes and there must be no data-out
 * (no bidirectional commands: VIRTIO_SCSI_F_INOUT is not offered). */
bool sdisk_need_in(struct sdisk_cmd *c, uint64_t xfer)
{
	if (xfer && (c->in_len < xfer || c->out_len)) {
		c->overrun = true;
		return false;
	}
	return true;
}

static bool need_out(struct sdisk_cmd *c, uint64_t xfer)
{
	if (xfer && (c->out_len < xfer || c->in_len)) {
		c->overrun = true;
		return false;
	}
	return true;
}

/* Generated data: the first min(n, alloc) bytes go to the guest. */
void sdisk_reply(struct sdisk_cmd *c, const uint8_t *buf, uint32_t n,
		  uint32_t alloc)
{
	if (!sdisk_need_in(c, alloc))
		return;
	if (n > alloc)
		n = alloc;
	if (n && vq_elem_write(c->gm, c->e, c->in_off, buf, n)) {
		sdisk_check(c, SCSI_SENSE_HARDWARE_ERROR, 0);
		return;
	}
	c->in_done = n;
}

/* Move len bytes between the backend at pos and the chain's data buffer
 * starting at byte `off` of its writable (to_guest) or readable part. */
static int xfer(struct sdisk *d, const struct sdisk_cmd *c, bool to_guest,
		uint32_t off, uint64_t len, uint64_t pos)
{
	return vq_elem_blockdev_xfer(c->gm, c->e, to_guest, off, len, d->bd,
				     pos, d->bounce, BOUNCE_SIZE);
}

/* ---- READ / WRITE (SBC-3 §5.11-5.16, §5.30-5.35) ---- */

static void do_rw(struct sdisk *d, struct sdisk_cmd *c, bool write,
		  uint64_t lba, uint32_t nblk, uint8_t flags)
{
	/* RDPROTECT/WRPROTECT: no protection information here. */
	if (flags & 0xe0) {
		sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_CDB);
		return;
	}
	uint64_t bytes = (uint64_t)nblk * d->bs;
	if (bytes > SDISK_MAX_XFER_BYTES) {
		sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_CDB);
		return;
	}
	if (!(write ? need_out(c, bytes) : sdisk_need_in(c, bytes)))
		return;
	/* lba + nblk may not pass the end; written so nothing can wrap. */
	if (lba > d->nblocks || nblk > d->nblocks - lba) {
		sdisk_illegal(c, SCSI_ASC_LBA_OUT_OF_RANGE);
		return;
	}
	if (write && d->readonly) {
		sdisk_check(c, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
		return;
	}
	if (!bytes)
		return;
	int r = xfer(d, c, !write, write ? c->out_off : c->in_off, bytes,
		     lba * d->bs);
	/* FUA (SBC-3 §5.35): the write is durable before GOOD. */
	if (!r && write && (flags & 0x08))
		r = blockdev_flush(d->bd);
	if (r) {
		log_rl(d->log, &d->rl, LOG_WARN, "scsi: %s of %u blocks at %llu failed: %s",
		       write ? "write" : "read", nblk, (unsigned long long)lba,
		       strerror(-r));
		sdisk_check(c, SCSI_SENSE_MEDIUM_ERROR,
		      write ? SCSI_ASC_WRITE_ERROR : SCSI_ASC_READ_ERROR);
		return;
	}
	if (write) {
		c->out_done = (uint32_t)bytes;
		d->st.bytes_written += bytes;
	} else {
		c->in_done = (uint32_t)bytes;
		d->st.bytes_read += bytes;
	}
}

static void do_unmap(struct sdisk *d, struct sdisk_cmd *c)
{
	uint32_t plen = be16(c->cdb + 7);
	uint8_t h[8], desc[16];
	if (d->cdrom) {
		sdisk_illegal(c, SCSI_ASC_INVALID_OPCODE);
		return;
	}
	if (c->cdb[1] & 1) {           /* ANCHOR: not supported */
		sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_CDB);
		return;
	}
	if (!need_out(c, plen) || !plen)
		return;
	if (plen < 8) {
		sdisk_illegal(c, SCSI_ASC_PARAM_LIST_LENGTH);
		return;
	}
	if (d->readonly) {
		sdisk_check(c, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
		return;
	}
	if (vq_elem_read(c->gm, c->e, c->out_off, h, sizeof(h))) {
		sdisk_check(c, SCSI_SENSE_HARDWARE_ERROR, 0);
		return;
	}
	/* SBC-3 §5.28.2: block descriptors as the header says, no more than
	 * the parameter list holds, no more than VPD b0 allows. */
	uint32_t bdl = be16(h + 2), nd = bdl / 16;
	if (nd > (plen - 8) / 16)
		nd = (plen - 8) / 16;
	if (nd > SDISK_MAX_UNMAP_DESC) {
		sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_PARAM);
		return;
	}
	for (uint32_t i = 0; i < nd; i++) {
		if (vq_elem_read(c->gm, c->e, c->out_off + 8 + i * 16, desc,
				 sizeof(desc))) {
			sdisk_check(c, SCSI_SENSE_HARDWARE_ERROR, 0);
			return;
		}
		uint64_t lba = be64(desc);
		uint32_t nb = be32(desc + 8);
		if (nb > SDISK_MAX_UNMAP_BLOCKS) {
			sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_PARAM);
			return;
		}
		if (lba > d->nblocks || nb > d->nblocks - lba) {
			sdisk_illegal(c, SCSI_ASC_LBA_OUT_OF_RANGE);
			return;
		}
		if (nb && blockdev_discard(d->bd, lba * d->bs, (uint64_t)nb * d->bs)) {
			sdisk_check(c, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
			return;
		}
		d->st.unmaps++;
	}
	c->out_done = plen;
}

static void do_sync(struct sdisk *d, struct sdisk_cmd *c)
{
	d->st.flushes++;
	if (blockdev_flush(d->bd))
		sdisk_check(c, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
}

/* A LUN the target does not have (SPC-4 §4.6.20, SAM-5 §5.9.5). */
static void no_lun(struct sdisk_cmd *c)
{
	switch (c->cdb[0]) {
	case SCSI_INQUIRY:
		sdisk_inquiry(NULL, c);
		break;
	case SCSI_REPORT_LUNS:
		sdisk_report_luns(c);
		break;
	case SCSI_REQUEST_SENSE:
		sdisk_request_sense(NULL, c);
		break;
	default:
		sdisk_illegal(c, SCSI_ASC_LUN_NOT_SUPPORTED);
		break;
	}
}

void sdisk_exec(struct sdisk *d, struct sdisk_cmd *c)
{
	const uint8_t *cdb = c->cdb;
	uint8_t op = cdb[0];
	unsigned len = sdisk_cdb_len(op);

	c->status = SCSI_STATUS_GOOD;
	c->sense_len = 0;
	c->in_done = c->out_done = 0;
	c->overrun = false;
	/* A CDB the driver did not hand over in full, or from a group with no
	 * defined length, cannot be a command we know. */
	if (!len || len > c->cdb_size) {
		sdisk_illegal(c, SCSI_ASC_INVALID_OPCODE);
		goto out;
	}
	if (!d) {
		no_lun(c);
		goto out;
	}
	d->st.commands++;
	/* SAM-5 §5.14: a pending unit attention fails the next command,
	 * except INQUIRY, REPORT LUNS and REQUEST SENSE. */
	if (d->ua && op != SCSI_INQUIRY && op != SCSI_REPORT_LUNS &&
	    op != SCSI_REQUEST_SENSE) {
		sdisk_check(c, SCSI_SENSE_UNIT_ATTENTION, d->ua);
		d->ua = 0;
		goto out;
	}
	switch (op) {
	case SCSI_TEST_UNIT_READY:
	case SCSI_PREVENT_ALLOW:
		break;
	case SCSI_START_STOP_UNIT:
		/* LOEJ: there is no tray to open. */
		if (cdb[4] & 0x02)
			sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_CDB);
		break;
	case SCSI_REQUEST_SENSE:
		sdisk_request_sense(d, c);
		break;
	case SCSI_INQUIRY:
		sdisk_inquiry(d, c);
		break;
	case SCSI_REPORT_LUNS:
		sdisk_report_luns(c);
		break;
	case SCSI_MODE_SENSE_6:
	case SCSI_MODE_SENSE_10:
		sdisk_mode_sense(d, c, op == SCSI_MODE_SENSE_10);
		break;
	case SCSI_READ_CAPACITY_10:
		sdisk_read_capacity(d, c, false);
		break;
	case SCSI_SERVICE_ACTION_IN_16:
		if ((cdb[1] & 0x1f) == SCSI_SAI_READ_CAPACITY_16)
			sdisk_read_capacity(d, c, true);
		else
			sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_CDB);
		break;
	case SCSI_READ_6:
	case SCSI_WRITE_6: {
		/* SBC-3 §5.12: 21-bit LBA; a length of 0 means 256 blocks. */
		uint32_t lba = (uint32_t)(cdb[1] & 0x1f) << 16 | be16(cdb + 2);
		do_rw(d, c, op == SCSI_WRITE_6, lba, cdb[4] ? cdb[4] : 256u, 0);
		break;
	}
	case SCSI_READ_10:
	case SCSI_WRITE_10:
		do_rw(d, c, op == SCSI_WRITE_10, be32(cdb + 2), be16(cdb + 7), cdb[1]);
		break;
	case SCSI_READ_12:
	case SCSI_WRITE_12:
		do_rw(d, c, op == SCSI_WRITE_12, be32(cdb + 2), be32(cdb + 6), cdb[1]);
		break;
	case SCSI_READ_16:
	case SCSI_WRITE_16:
		do_rw(d, c, op == SCSI_WRITE_16, be64(cdb + 2), be32(cdb + 10), cdb[1]);
		break;
	case SCSI_SYNC_CACHE_10:
	case SCSI_SYNC_CACHE_16:
		do_sync(d, c);
		break;
	case SCSI_UNMAP:
		do_unmap(d, c);
		break;
	default:
		sdisk_illegal(c, SCSI_ASC_INVALID_OPCODE);
		break;
	}
	if (c->status != SCSI_STATUS_GOOD)
		d->st.check_conditions++;
out:
	if (c->overrun) {    /* nothing moved; no SCSI status to report */
		c->status = SCSI_STATUS_GOOD;
		c->sense_len = 0;
		c->in_done = c->out_done = 0;
	}
}

void sdisk_reset(struct sdisk *d)
{
	if (d)
		d->ua = SCSI_ASC_POWER_ON_RESET;
}

void sdisk_set_ua(struct sdisk *d, uint16_t asc)
{
	/* One pending condition is kept; a power-on/reset one outranks
	 * others (SAM-5 §5.14: it reports the reset that cleared them). */
	if (d && !d->ua)
		d->ua = asc;
}

struct sdisk *sdisk_new(const struct sdisk_config *cfg)
{
	struct sdisk *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->bounce = malloc(BOUNCE_SIZE);
	if (!d->bounce) {
		free(d);
		return NULL;
	}
	d->bd = cfg->bd;
	d->cdrom = cfg->cdrom;
	d->readonly = cfg->cdrom || cfg->bd->readonly;
	d->bs = cfg->cdrom ? 2048u : 512u;
	d->nblocks = cfg->bd->size / d->bs;
	d->log = cfg->log;
	/* SAM-5 §6.2: a logical unit reports its power-on with a unit
	 * attention (29/00, as QEMU's scsi-disk does), which Linux's probe
	 * expects and clears with TEST UNIT READY. */
	d->ua = SCSI_ASC_POWER_ON_RESET;
	if (cfg->serial)
		strncpy(d->serial, cfg->serial, sizeof(d->serial) - 1);
	strncpy(d->dev_id, cfg->dev_id && cfg->dev_id[0] ? cfg->dev_id : "scsi-lun",
		sizeof(d->dev_id) - 1);
	return d;
}

void sdisk_free(struct sdisk *d)
{
	if (!d)
		return;
	free(d->bounce);
	free(d);
}

uint32_t sdisk_block_size(const struct sdisk *d) { return d->bs; }
uint64_t sdisk_blocks(const struct sdisk *d) { return d->nblocks; }
const struct sdisk_stats *sdisk_get_stats(const struct sdisk *d) { return &d->st; }
