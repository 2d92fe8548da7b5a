/* A SCSI logical unit over a block backend: the command set Linux's sd
 * and sr drivers send (SPC-4, SBC-3, MMC for the read-only CD-ROM), with
 * fixed-format sense data for every error.  It knows nothing of virtio:
 * the HBA (devices/virtio/scsi.c) hands it a CDB and the chain's data
 * buffers and gets back a SAM status, sense bytes and byte counts.
 *
 * Data buffers are the byte ranges [out_off, out_off+out_len) of the
 * chain's readable part and [in_off, in_off+in_len) of its writable part;
 * bulk data moves between them and the backend through a bounded bounce
 * (or straight into the guest page when gm_map vouches for it). */
#ifndef VMM_VIRTIO_SCSI_DISK_H
#define VMM_VIRTIO_SCSI_DISK_H

#include <stdbool.h>
#include <stdint.h>

struct gm;
struct log;
struct blockdev;
struct vq_elem;

/* SAM-5 status codes. */
#define SCSI_STATUS_GOOD 0x00u
#define SCSI_STATUS_CHECK_CONDITION 0x02u

/* SPC-4 §4.5.6 sense keys. */
#define SCSI_SENSE_NO_SENSE 0x0u
#define SCSI_SENSE_NOT_READY 0x2u
#define SCSI_SENSE_MEDIUM_ERROR 0x3u
#define SCSI_SENSE_HARDWARE_ERROR 0x4u
#define SCSI_SENSE_ILLEGAL_REQUEST 0x5u
#define SCSI_SENSE_UNIT_ATTENTION 0x6u
#define SCSI_SENSE_DATA_PROTECT 0x7u

/* Additional sense code and qualifier, as one 16-bit value (SPC-4 D.2). */
#define SCSI_ASC_INVALID_OPCODE 0x2000u
#define SCSI_ASC_LBA_OUT_OF_RANGE 0x2100u
#define SCSI_ASC_INVALID_FIELD_CDB 0x2400u
#define SCSI_ASC_LUN_NOT_SUPPORTED 0x2500u
#define SCSI_ASC_INVALID_FIELD_PARAM 0x2600u
#define SCSI_ASC_PARAM_LIST_LENGTH 0x1a00u
#define SCSI_ASC_WRITE_PROTECTED 0x2700u
#define SCSI_ASC_POWER_ON_RESET 0x2900u
#define SCSI_ASC_REPORTED_LUNS_CHANGED 0x3f0eu   /* SPC-4 §7.8.2 */
#define SCSI_ASC_SAVING_NOT_SUPPORTED 0x3900u
#define SCSI_ASC_WRITE_ERROR 0x0c00u
#define SCSI_ASC_READ_ERROR 0x1100u

/* Fixed-format sense data length (SPC-4 §4.5.3). */
#define SDISK_SENSE_LEN 18u

/* Operation codes handled (SPC-4, SBC-3, MMC-6). */
enum {
	SCSI_TEST_UNIT_READY = 0x00, SCSI_REQUEST_SENSE = 0x03,
	SCSI_READ_6 = 0x08, SCSI_WRITE_6 = 0x0a, SCSI_INQUIRY = 0x12,
	SCSI_MODE_SENSE_6 = 0x1a, SCSI_START_STOP_UNIT = 0x1b,
	SCSI_PREVENT_ALLOW = 0x1e, SCSI_READ_CAPACITY_10 = 0x25,
	SCSI_READ_10 = 0x28, SCSI_WRITE_10 = 0x2a, SCSI_SYNC_CACHE_10 = 0x35,
	SCSI_UNMAP = 0x42, SCSI_MODE_SENSE_10 = 0x5a, SCSI_READ_16 = 0x88,
	SCSI_WRITE_16 = 0x8a, SCSI_SYNC_CACHE_16 = 0x91,
	SCSI_SERVICE_ACTION_IN_16 = 0x9e, SCSI_REPORT_LUNS = 0xa0,
	SCSI_READ_12 = 0xa8, SCSI_WRITE_12 = 0xaa,
};
#define SCSI_SAI_READ_CAPACITY_16 0x10u

/* Blocks moved by one command at most (VPD page b0 MAXIMUM TRANSFER
 * LENGTH): bounds the work one guest request causes. */
#define SDISK_MAX_XFER_BYTES (32u << 20)
/* UNMAP limits (VPD page b0). */
#define SDISK_MAX_UNMAP_DESC 32u
#define SDISK_MAX_UNMAP_BLOCKS (1u << 22)

struct sdisk_config {
	struct blockdev *bd;    /* not owned */
	bool cdrom;             /* scsi-cd: read-only MMC device, 2048-byte blocks */
	const char *serial;     /* VPD 0x80; NULL or "": no serial page */
	const char *dev_id;     /* VPD 0x83 designator (the drive id) */
	struct log *log;
};

/* One command as the HBA hands it over, and what came of it. */
struct sdisk_cmd {
	const uint8_t *cdb;
	unsigned cdb_size;            /* bytes of cdb the driver supplied */
	const struct gm *gm;
	const struct vq_elem *e;
	uint32_t out_off, out_len;    /* data-out in the readable part */
	uint32_t in_off, in_len;      /* data-in in the writable part */
	const uint16_t *luns;         /* LUNs of this target (REPORT LUNS) */
	unsigned nluns;
	/* Results: */
	uint8_t status;               /* SCSI_STATUS_* */
	uint8_t sense[SDISK_SENSE_LEN];
	uint8_t sense_len;            /* 0 unless CHECK CONDITION */
	uint32_t in_done;             /* data-in bytes written */
	uint32_t out_done;            /* data-out bytes consumed */
	bool overrun;                 /* buffers too small / wrong way for the
				       * transfer the CDB asks for */
};

struct sdisk;

struct sdisk *sdisk_new(const struct sdisk_config *cfg);
void sdisk_free(struct sdisk *d);
/* Run one command.  d NULL: the target exists but this LUN does not
 * (SPC-4 §4.6.20: INQUIRY answers peripheral qualifier 011b, REPORT LUNS
 * and REQUEST SENSE work, everything else is LOGICAL UNIT NOT
 * SUPPORTED). */
void sdisk_exec(struct sdisk *d, struct sdisk_cmd *c);
/* LOGICAL UNIT RESET / I_T NEXUS RESET (SAM-5 §7.6), bus reset: the
 * next command gets UNIT ATTENTION, POWER ON OR RESET OCCURRED (29/00),
 * as it does after sdisk_new (power-on). */
void sdisk_reset(struct sdisk *d);
/* Raise a unit attention with asc/ascq (e.g. REPORTED LUNS DATA HAS
 * CHANGED) unless one is already pending. */
void sdisk_set_ua(struct sdisk *d, uint16_t asc);
/* CDB length from the operation code's group (SPC-4 §4.2.5.1); 0 for the
 * groups with no defined length. */
unsigned sdisk_cdb_len(uint8_t opcode);
uint32_t sdisk_block_size(const struct sdisk *d);
uint64_t sdisk_blocks(const struct sdisk *d);

struct sdisk_stats {
	uint64_t commands, check_conditions, bytes_read, bytes_written;
	uint64_t unmaps, flushes;
};
const struct sdisk_stats *sdisk_get_stats(const struct sdisk *d);

#endif
