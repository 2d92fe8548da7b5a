/* vhost-user wire format (QEMU docs/interop/vhost-user.rst, "Message
 * specification"): a 12-byte header {request, flags, size} and a payload
 * of at most VHU_MAX_PAYLOAD bytes, little-endian.  Pure code: no fds, no
 * I/O, so the parser of what an untrusted backend sends can be fuzzed. */
#ifndef VMM_CORE_VHOST_USER_MSG_H
#define VMM_CORE_VHOST_USER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vhu_req {
	VHU_GET_FEATURES = 1, VHU_SET_FEATURES = 2, VHU_SET_OWNER = 3,
	VHU_RESET_OWNER = 4, VHU_SET_MEM_TABLE = 5, VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9, VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11, VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13, VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15, VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17, VHU_SET_VRING_ENABLE = 18,
	VHU_GET_CONFIG = 24, VHU_SET_CONFIG = 25,
	/* Memory slots one at a time (CONFIGURE_MEM_SLOTS): hot-plugged
	 * RAM (core/vhost_user_mem.c). */
	VHU_GET_MAX_MEM_SLOTS = 36, VHU_ADD_MEM_REG = 37, VHU_REM_MEM_REG = 38,
};

/* Header flags: version 1 in bits 0-1, REPLY bit 2, NEED_REPLY bit 3. */
#define VHU_VERSION 0x1u
#define VHU_FLAG_REPLY (1u << 2)
#define VHU_FLAG_NEED_REPLY (1u << 3)

/* Protocol feature bits. */
#define VHU_PF_MQ 0
#define VHU_PF_REPLY_ACK 3
#define VHU_PF_CONFIG 9
#define VHU_PF_CONFIGURE_MEM_SLOTS 15
/* Virtio feature bit 30: the backend speaks protocol features. */
#define VHU_F_PROTOCOL_FEATURES 30

#define VHU_HDR_SIZE 12u
#define VHU_MAX_REGIONS 8u            /* VHOST_MEMORY_BASELINE_NREGIONS */
#define VHU_CONFIG_MAX 256u           /* GET_CONFIG payload bound */
/* Largest payload either side sends: SET_MEM_TABLE with 8 regions. */
#define VHU_MAX_PAYLOAD (12u + VHU_CONFIG_MAX) /* >= 8 + 8 * 32 (MEM_TABLE) */
#define VHU_VRING_NOFD (1ull << 8)    /* u64 vring fd payload: no fd */

struct vhu_msg {
	uint32_t request, flags, size;
	uint8_t payload[VHU_MAX_PAYLOAD];
};

/* Header of a message received: checks version and that size fits the
 * buffer.  0 or -EPROTO. */
int vhu_msg_parse_hdr(const uint8_t hdr[VHU_HDR_SIZE], struct vhu_msg *m);

/* Validate a reply m to request `req` (REPLY set, version 1, request
 * matches) and extract what it carries:
 *   want_u64: a u64 payload (GET_FEATURES/GET_PROTOCOL_FEATURES/
 *   GET_QUEUE_NUM, REPLY_ACK) into *u64;
 *   VHU_GET_VRING_BASE: state {index == *u64 on entry, num} into *u64;
 *   VHU_GET_CONFIG: {offset, size == cfg_len, flags, payload} into cfg.
 * 0, or -EPROTO with a static reason in *why. */
int vhu_msg_check_reply(const struct vhu_msg *m, uint32_t req, bool ack,
			uint64_t *u64, uint8_t *cfg, uint32_t cfg_len,
			const char **why);

/* Builders: fill m (header and payload). */
void vhu_msg_init(struct vhu_msg *m, uint32_t req, bool need_reply);
void vhu_msg_u64(struct vhu_msg *m, uint32_t req, uint64_t v, bool need_reply);
void vhu_msg_state(struct vhu_msg *m, uint32_t req, uint32_t index,
		   uint32_t num, bool need_reply);
void vhu_msg_addr(struct vhu_msg *m, uint32_t index, uint64_t desc,
		  uint64_t used, uint64_t avail, bool need_reply);
struct vhu_mem_region {
	uint64_t gpa, size, uaddr, mmap_offset;
};
void vhu_msg_mem_table(struct vhu_msg *m, const struct vhu_mem_region *r,
		       unsigned n, bool need_reply);
/* ADD_MEM_REG / REM_MEM_REG: one region, after 8 bytes of padding
 * ("Single memory region description"). */
void vhu_msg_mem_reg(struct vhu_msg *m, uint32_t req, const struct vhu_mem_region *r,
		     bool need_reply);
void vhu_msg_config(struct vhu_msg *m, uint32_t req, uint32_t offset,
		    const uint8_t *data, uint32_t len, bool need_reply);

#endif
