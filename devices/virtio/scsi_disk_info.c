/* The SCSI commands that describe a logical unit: INQUIRY and its VPD
 * pages, MODE SENSE, READ CAPACITY, REPORT LUNS, REQUEST SENSE (SPC-4,
 * SBC-3).  Each builds its answer in a bounded local buffer; the
 * allocation length in the CDB says how much of it the guest gets. */
#include <string.h>
#include "devices/virtio/scsi_disk_priv.h"

/* Space-padded ASCII field (SPC-4 §4.3.1). */
static void ascii(uint8_t *p, const char *s, size_t n)
{
	size_t l = strlen(s);
	memset(p, ' ', n);
	memcpy(p, s, l < n ? l : n);
}

/* ---- INQUIRY (SPC-4 §6.6) and the VPD pages Linux reads (§7.8) ---- */

static uint8_t devtype(const struct sdisk *d)
{
	return d ? (d->cdrom ? 0x05 : 0x00) : 0x7f; /* 0x7f: PQ 011b, no LU */
}

static uint32_t vpd(struct sdisk *d, uint8_t page, uint8_t *b)
{
	uint32_t n = 4;
	b[0] = devtype(d);
	b[1] = page;
	switch (page) {
	case 0x00: /* supported VPD pages */
		b[n++] = 0x00;
		if (d->serial[0])
			b[n++] = 0x80;
		b[n++] = 0x83;
		if (!d->cdrom) {
			b[n++] = 0xb0;
			b[n++] = 0xb1;
			b[n++] = 0xb2;
		}
		break;
	case 0x80: /* unit serial number */
		if (!d->serial[0])
			return 0;
		n += (uint32_t)strlen(d->serial);
		memcpy(b + 4, d->serial, n - 4);
		break;
	case 0x83: { /* device identification: one vendor-specific ASCII
		      * designator naming the LU */
		size_t l = strlen(d->dev_id);
		b[4] = 0x02;             /* code set: ASCII */
		b[5] = 0x00;             /* LU association, vendor specific */
		b[7] = (uint8_t)l;
		memcpy(b + 8, d->dev_id, l);
		n = 8 + (uint32_t)l;
		break;
	}
	case 0xb0: /* block limits (SBC-3 §6.5.3) */
		if (d->cdrom)
			return 0;
		n = 64;
		put32(b + 8, SDISK_MAX_XFER_BYTES / d->bs);   /* max transfer */
		if (!d->readonly) {
			put32(b + 20, SDISK_MAX_UNMAP_BLOCKS);
			put32(b + 24, SDISK_MAX_UNMAP_DESC);
			put32(b + 28, 1);                     /* granularity */
		}
		break;
	case 0xb1: /* block device characteristics (SBC-3 §6.5.2) */
		if (d->cdrom)
			return 0;
		n = 64;
		put16(b + 4, 1);                              /* non-rotating */
		break;
	case 0xb2: /* logical block provisioning (SBC-3 §6.5.4) */
		if (d->cdrom)
			return 0;
		n = 8;
		/* LBPU: UNMAP works (writable backends discard); LBPRZ: a
		 * discarded range reads as zeroes (core/blockdev.h). */
		b[5] = d->readonly ? 0 : 0x84;
		b[6] = d->readonly ? 0 : 0x02;                /* thin */
		break;
	default:
		return 0;
	}
	put16(b + 2, (uint16_t)(n - 4));
	return n;
}

void sdisk_inquiry(struct sdisk *d, struct sdisk_cmd *c)
{
	uint8_t b[REPLY_MAX] = { 0 };
	uint32_t alloc = be16(c->cdb + 3), n;
	if (c->cdb[1] & 1) {
		n = d ? vpd(d, c->cdb[2], b) : 0;
		if (!n) {
			sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_CDB);
			return;
		}
	} else {
		if (c->cdb[2]) {  /* page code without EVPD */
			sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_CDB);
			return;
		}
		n = 36;
		b[0] = devtype(d);
		b[1] = d && d->cdrom ? 0x80 : 0;   /* RMB */
		b[2] = 0x05;                       /* SPC-3 */
		b[3] = 0x12;                       /* HISUP, response format 2 */
		b[4] = (uint8_t)(n - 5);
		b[7] = 0x02;                       /* CMDQUE */
		ascii(b + 8, "VMM", 8);
		ascii(b + 16, d && d->cdrom ? "VMM CD-ROM" : "VMM HARDDISK", 16);
		ascii(b + 32, "0.1", 4);
	}
	sdisk_reply(c, b, n, alloc);
}

/* ---- MODE SENSE(6/10) (SPC-4 §6.11, §6.12) ---- */

static uint32_t mode_page(const struct sdisk *d, uint8_t page, bool changeable,
			  uint8_t *p)
{
	switch (page) {
	case 0x08: /* caching (SBC-3 §6.4.5): write cache on, so the guest
		    * sends SYNCHRONIZE CACHE; nothing is changeable */
		if (d->cdrom)
			return 0;
		p[0] = 0x08;
		p[1] = 0x12;
		if (!changeable)
			p[2] = 0x04;   /* WCE */
		return 20;
	case 0x0a: /* control (SPC-4 §7.5.8) */
		p[0] = 0x0a;
		p[1] = 0x0a;
		return 12;
	case 0x2a: /* MM capabilities (MMC-6 §7.3): a plain CD-ROM reader */
		if (!d->cdrom)
			return 0;
		p[0] = 0x2a;
		p[1] = 0x14;
		return 22;
	}
	return 0;
}

void sdisk_mode_sense(struct sdisk *d, struct sdisk_cmd *c, bool ten)
{
	uint8_t b[REPLY_MAX] = { 0 };
	uint8_t pc = c->cdb[2] >> 6, page = c->cdb[2] & 0x3f;
	bool dbd = c->cdb[1] & 0x08;
	uint32_t alloc = ten ? be16(c->cdb + 7) : c->cdb[4];
	uint32_t hdr = ten ? 8 : 4, n;

	if (pc == 3) {                 /* saved values */
		sdisk_illegal(c, SCSI_ASC_SAVING_NOT_SUPPORTED);
		return;
	}
	if (c->cdb[3] && c->cdb[3] != 0xff) { /* subpages: none */
		sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_CDB);
		return;
	}
	/* Device-specific parameter (SBC-3 §6.4.1): WP for read-only LUs,
	 * so Linux marks the disk read-only. */
	b[ten ? 3 : 2] = d->readonly ? 0x80 : 0;
	n = hdr;
	if (!dbd && !d->cdrom) {       /* one short block descriptor */
		b[ten ? 7 : 3] = 8;
		put32(b + n, d->nblocks > 0xffffff ? 0xffffff : (uint32_t)d->nblocks);
		put32(b + n + 4, d->bs);
		b[n] = 0;                  /* density code */
		n += 8;
	}
	if (page == 0x3f) {
		static const uint8_t all[] = { 0x08, 0x0a, 0x2a };
		for (unsigned i = 0; i < sizeof(all); i++)
			n += mode_page(d, all[i], pc == 1, b + n);
	} else {
		uint32_t m = mode_page(d, page, pc == 1, b + n);
		if (!m) {
			sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_CDB);
			return;
		}
		n += m;
	}
	if (ten)
		put16(b, (uint16_t)(n - 2));
	else
		b[0] = (uint8_t)(n - 1);
	sdisk_reply(c, b, n, alloc);
}

/* ---- Capacity, LUN list, sense, cache, unmap ---- */

void sdisk_read_capacity(struct sdisk *d, struct sdisk_cmd *c, bool sixteen)
{
	uint8_t b[32] = { 0 };
	uint64_t last = d->nblocks ? d->nblocks - 1 : 0;
	if (!sixteen) {
		/* SBC-3 §5.19: 0xffffffff says "use READ CAPACITY(16)". */
		put32(b, last > 0xffffffffull ? 0xffffffffu : (uint32_t)last);
		put32(b + 4, d->bs);
		sdisk_reply(c, b, 8, 8);
		return;
	}
	put64(b, last);
	put32(b + 8, d->bs);
	if (!d->readonly && !d->cdrom)
		b[14] = 0xc0;              /* LBPME, LBPRZ (SBC-3 §5.20.2) */
	sdisk_reply(c, b, 32, be32(c->cdb + 10));
}

void sdisk_report_luns(struct sdisk_cmd *c)
{
	uint8_t b[REPLY_MAX] = { 0 };
	uint32_t alloc = be32(c->cdb + 6), n = 8;
	/* SPC-4 §6.33: the allocation length is at least 16. */
	if (alloc < 16 || c->cdb[2] > 2) {
		sdisk_illegal(c, SCSI_ASC_INVALID_FIELD_CDB);
		return;
	}
	for (unsigned i = 0; i < c->nluns && n + 8 <= sizeof(b); i++, n += 8) {
		uint16_t l = c->luns[i];
		/* SAM-5 §4.7.7: peripheral addressing below 256, flat above. */
		b[n] = l < 256 ? 0 : (uint8_t)(0x40 | l >> 8);
		b[n + 1] = (uint8_t)l;
	}
	put32(b, n - 8);
	sdisk_reply(c, b, n, alloc);
}

void sdisk_request_sense(struct sdisk *d, struct sdisk_cmd *c)
{
	/* Sense goes back with each failed command (autosense), so what is
	 * left to report is a pending unit attention, a missing LU, or no
	 * sense; in the format the DESC bit asks for (SPC-4 §6.39). */
	uint8_t key = 0, b[SDISK_SENSE_LEN] = { 0 };
	uint16_t asc = 0;
	uint32_t n;
	if (!d) {
		key = SCSI_SENSE_ILLEGAL_REQUEST;
		asc = SCSI_ASC_LUN_NOT_SUPPORTED;
	} else if (d->ua) {
		key = SCSI_SENSE_UNIT_ATTENTION;
		asc = d->ua;
		d->ua = 0;
	}
	if (c->cdb[1] & 1) {
		b[0] = 0x72;
		b[1] = key;
		b[2] = (uint8_t)(asc >> 8);
		b[3] = (uint8_t)asc;
		n = 8;
	} else {
		b[0] = 0x70;
		b[2] = key;
		b[7] = SDISK_SENSE_LEN - 8;
		b[12] = (uint8_t)(asc >> 8);
		b[13] = (uint8_t)asc;
		n = SDISK_SENSE_LEN;
	}
	sdisk_reply(c, b, n, c->cdb[4]);
}

