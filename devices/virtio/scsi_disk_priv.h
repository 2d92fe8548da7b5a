/* Shared by scsi_disk.c (commands that move data, dispatch) and
 * scsi_disk_info.c (commands that describe the LU): the LU state and the
 * helpers both use.  Not for other modules. */
#ifndef VMM_VIRTIO_SCSI_DISK_PRIV_H
#define VMM_VIRTIO_SCSI_DISK_PRIV_H

#include "core/log.h"
#include "devices/virtio/scsi_disk.h"

#define BOUNCE_SIZE (64u * 1024u)
#define REPLY_MAX 1024u        /* INQUIRY, MODE SENSE, REPORT LUNS data */

struct sdisk {
	struct blockdev *bd;
	bool cdrom, readonly;
	uint32_t bs;             /* logical block size */
	uint64_t nblocks;
	char serial[21];
	char dev_id[65];
	uint16_t ua;             /* pending UNIT ATTENTION asc/ascq, 0: none */
	struct log *log;
	struct log_rl rl;
	struct sdisk_stats st;
	uint8_t *bounce;
};

/* Big-endian CDB and parameter fields (SPC-4 §3.5). */
static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static inline void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }


/* CHECK CONDITION with fixed-format sense key/asc. */
void sdisk_check(struct sdisk_cmd *c, uint8_t key, uint16_t asc);
void sdisk_illegal(struct sdisk_cmd *c, uint16_t asc);
/* Data-in of xfer bytes possible?  Sets overrun when not. */
bool sdisk_need_in(struct sdisk_cmd *c, uint64_t xfer);
/* Generated data: the first min(n, alloc) bytes go to the guest. */
void sdisk_reply(struct sdisk_cmd *c, const uint8_t *buf, uint32_t n,
		 uint32_t alloc);

/* scsi_disk_info.c (d NULL: a LUN the target lacks). */
void sdisk_inquiry(struct sdisk *d, struct sdisk_cmd *c);
void sdisk_mode_sense(struct sdisk *d, struct sdisk_cmd *c, bool ten);
void sdisk_read_capacity(struct sdisk *d, struct sdisk_cmd *c, bool sixteen);
void sdisk_report_luns(struct sdisk_cmd *c);
void sdisk_request_sense(struct sdisk *d, struct sdisk_cmd *c);

#endif
