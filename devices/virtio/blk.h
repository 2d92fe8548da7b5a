/* virtio-blk (virtio 1.2 §5.2): one request queue over a block backend.
 *
 * Requests: IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES.  Anything the
 * guest gets wrong (short header, a range past the end, sector overflow,
 * bad segment lengths, a missing or unwritable status byte) fails that one
 * request with VIRTIO_BLK_S_IOERR/UNSUPP, or drops it when there is no
 * status byte to write, and is counted; the device carries on.
 *
 * throttling.iops-total: every request takes one token from a bucket
 * refilled on clk time; an empty bucket parks the queue until a timer. */
#ifndef VMM_VIRTIO_BLK_H
#define VMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

struct vdev;
struct gm;
struct log;
struct clk;
struct blockdev;

/* §5.2.3 feature bits. */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* §5.2.6 request types and status. */
#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u
#define VIRTIO_BLK_T_GET_ID 8u
#define VIRTIO_BLK_T_DISCARD 11u
#define VIRTIO_BLK_T_WRITE_ZEROES 13u
#define VIRTIO_BLK_S_OK 0u
#define VIRTIO_BLK_S_IOERR 1u
#define VIRTIO_BLK_S_UNSUPP 2u
#define VIRTIO_BLK_ID_BYTES 20u
#define VIRTIO_BLK_SECTOR 512u
#define VIRTIO_BLK_WZ_UNMAP 1u

struct virtio_blk_outhdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
} __attribute__((packed));

struct virtio_blk_discard_write_zeroes {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
} __attribute__((packed));

/* §5.2.4 device configuration layout (little-endian). */
struct virtio_blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	struct {
		uint16_t cylinders;
		uint8_t heads;
		uint8_t sectors;
	} __attribute__((packed)) geometry;
	uint32_t blk_size;
	struct {
		uint8_t physical_block_exp;
		uint8_t alignment_offset;
		uint16_t min_io_size;
		uint32_t opt_io_size;
	} __attribute__((packed)) topology;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));

/* What we advertise. */
#define VBLK_QUEUE_SIZE 256u
#define VBLK_SIZE_MAX (1u << 20)        /* bytes per segment */
#define VBLK_MAX_DISCARD_SECTORS (1u << 22)
#define VBLK_MAX_DISCARD_SEG 32u

struct vblk_config {
	const struct gm *gm;
	struct log *log;
	const struct clk *clk;
	struct blockdev *bd;       /* not owned */
	const char *serial;        /* GET_ID, up to 20 bytes; NULL: empty */
	uint64_t iops_total;       /* 0: unlimited */
	uint16_t queue_size;       /* 0: VBLK_QUEUE_SIZE */
	unsigned num_queues;       /* request queues (VIRTIO_BLK_F_MQ when > 1),
				    * 1..VDEV_MAX_QUEUES; 0: 1 */
};

struct vblk_stats {
	uint64_t requests;   /* completed with a status */
	uint64_t ok, ioerr, unsupp;
	uint64_t dropped;    /* no usable status byte: returned unwritten */
	uint64_t throttled;  /* times the token bucket parked the queue */
	uint64_t bytes_read, bytes_written;
};

struct vblk;

struct vblk *vblk_new(const struct vblk_config *cfg);
void vblk_free(struct vblk *b);
/* The device as transports see it. */
struct vdev *vblk_vdev(struct vblk *b);
const struct vblk_stats *vblk_get_stats(const struct vblk *b);

#endif
