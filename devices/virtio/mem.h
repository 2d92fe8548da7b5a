/* virtio-mem (virtio 1.2 §5.15): a region of guest-physical memory the
 * host grows and shrinks in blocks.  The host sets requested_size (QMP
 * qom-set requested-size); the driver plugs and unplugs blocks with
 * requests on the one guest request queue, and the device answers ACK,
 * NACK, BUSY or ERROR as the spec says (§5.15.6.3).  Unplugged blocks are
 * given back to the host through cfg.release (the board's host hook:
 * MADV_DONTNEED or a punched hole), so the model makes no syscall.
 * The region itself is guest memory the board maps at cfg.addr. */
#ifndef VMM_VIRTIO_MEM_H
#define VMM_VIRTIO_MEM_H

#include <stdbool.h>
#include <stdint.h>

struct vdev;
struct gm;
struct log;
struct clk;

#define VIRTIO_ID_MEM 24
#define VMEM_QUEUE_SIZE 128u
/* Feature bits (§5.15.3). */
#define VIRTIO_MEM_F_ACPI_PXM 0
/* Requests and responses (§5.15.6). */
#define VIRTIO_MEM_REQ_PLUG 0
#define VIRTIO_MEM_REQ_UNPLUG 1
#define VIRTIO_MEM_REQ_UNPLUG_ALL 2
#define VIRTIO_MEM_REQ_STATE 3
#define VIRTIO_MEM_RESP_ACK 0
#define VIRTIO_MEM_RESP_NACK 1
#define VIRTIO_MEM_RESP_BUSY 2
#define VIRTIO_MEM_RESP_ERROR 3
#define VIRTIO_MEM_STATE_PLUGGED 0
#define VIRTIO_MEM_STATE_UNPLUGGED 1
#define VIRTIO_MEM_STATE_MIXED 2
/* QEMU's margin of the usable region beyond requested_size, so the
 * driver can plug where it likes (VIRTIO_MEM_USABLE_EXTENT). */
#define VMEM_USABLE_EXTENT (256ull << 20)

/* §5.15.4, little-endian. */
struct virtio_mem_config {
	uint64_t block_size;
	uint16_t node_id;
	uint8_t padding[6];
	uint64_t addr;
	uint64_t region_size;
	uint64_t usable_region_size;
	uint64_t plugged_size;
	uint64_t requested_size;
} __attribute__((packed));

struct virtio_mem_req {
	uint16_t type;
	uint16_t padding[3];
	uint64_t addr;
	uint16_t nb_blocks;
	uint16_t padding2[3];
} __attribute__((packed));

struct virtio_mem_resp {
	uint16_t type;
	uint16_t padding[3];
	uint16_t state;
} __attribute__((packed));

struct vmem_config {
	const struct gm *gm;
	struct log *log;
	const struct clk *clk;
	uint64_t addr, region_size, block_size;  /* block_size a power of 2 */
	uint64_t requested_size;
	uint16_t node_id;
	/* Give [gpa, gpa + len) back to the host (unplugged); NULL: keep. */
	void (*release)(void *opaque, uint64_t gpa, uint64_t len);
	void *release_opaque;
};

struct vmem_stats {
	uint64_t acks, nacks, busy, errors;
	uint64_t released_bytes;
};

struct vmem;

/* NULL with errno EINVAL (sizes not block multiples, block not a power
 * of two, requested beyond the region) or ENOMEM. */
struct vmem *vmem_new(const struct vmem_config *cfg);
void vmem_free(struct vmem *m);
struct vdev *vmem_vdev(struct vmem *m);
/* qom-set requested-size: 0, or -EINVAL (not a multiple of the block
 * size, or beyond the region).  Raises a config interrupt. */
int vmem_set_requested(struct vmem *m, uint64_t size);
uint64_t vmem_requested(const struct vmem *m);
uint64_t vmem_plugged(const struct vmem *m);
uint64_t vmem_block_size(const struct vmem *m);
const struct vmem_stats *vmem_get_stats(const struct vmem *m);
/* System reset: every block unplugged (and released), as QEMU. */
void vmem_unplug_all(struct vmem *m);

#endif
