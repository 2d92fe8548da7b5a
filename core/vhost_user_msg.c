/* vhost-user message encoding and reply validation (vhost_user_msg.h).
 * Everything here treats the backend's bytes as hostile: sizes are
 * checked before any field is read, and a reply must answer exactly the
 * request that was made. */
#include "core/vhost_user_msg.h"

#include <errno.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

int vhu_msg_parse_hdr(const uint8_t hdr[VHU_HDR_SIZE], struct vhu_msg *m)
{
	m->request = get32(hdr);
	m->flags = get32(hdr + 4);
	m->size = get32(hdr + 8);
	if ((m->flags & 3u) != VHU_VERSION || m->size > VHU_MAX_PAYLOAD)
		return -EPROTO;
	return 0;
}

int vhu_msg_check_reply(const struct vhu_msg *m, uint32_t req, bool ack,
			uint64_t *u64, uint8_t *cfg, uint32_t cfg_len,
			const char **why)
{
	*why = NULL;
	if ((m->flags & 3u) != VHU_VERSION)
		*why = "bad version";
	else if (!(m->flags & VHU_FLAG_REPLY))
		*why = "a message that is not a reply";
	else if (m->request != req)
		*why = "a reply to another request";
	else if (m->size > VHU_MAX_PAYLOAD)
		*why = "an oversized reply";
	if (*why)
		return -EPROTO;
	if (ack || req == VHU_GET_FEATURES || req == VHU_GET_PROTOCOL_FEATURES ||
	    req == VHU_GET_QUEUE_NUM || req == VHU_GET_MAX_MEM_SLOTS) {
		if (m->size != 8) {
			*why = "a u64 reply of the wrong size";
			return -EPROTO;
		}
		*u64 = get64(m->payload);
		return 0;
	}
	if (req == VHU_GET_VRING_BASE) {
		if (m->size != 8 || get32(m->payload) != (uint32_t)*u64) {
			*why = "a vring state for another queue";
			return -EPROTO;
		}
		*u64 = get32(m->payload + 4);
		return 0;
	}
	if (req == VHU_GET_CONFIG) {
		if (m->size != 12 + cfg_len || get32(m->payload + 4) != cfg_len ||
		    cfg_len > VHU_CONFIG_MAX) {
			*why = "a config reply of the wrong size";
			return -EPROTO;
		}
		memcpy(cfg, m->payload + 12, cfg_len);
		return 0;
	}
	*why = "a reply to a request that has none";
	return -EPROTO;
}

void vhu_msg_init(struct vhu_msg *m, uint32_t req, bool need_reply)
{
	m->request = req;
	m->flags = VHU_VERSION | (need_reply ? VHU_FLAG_NEED_REPLY : 0);
	m->size = 0;
}

void vhu_msg_u64(struct vhu_msg *m, uint32_t req, uint64_t v, bool need_reply)
{
	vhu_msg_init(m, req, need_reply);
	put64(m->payload, v);
	m->size = 8;
}

void vhu_msg_state(struct vhu_msg *m, uint32_t req, uint32_t index,
		   uint32_t num, bool need_reply)
{
	vhu_msg_init(m, req, need_reply);
	put32(m->payload, index);
	put32(m->payload + 4, num);
	m->size = 8;
}

void vhu_msg_addr(struct vhu_msg *m, uint32_t index, uint64_t desc,
		  uint64_t used, uint64_t avail, bool need_reply)
{
	vhu_msg_init(m, VHU_SET_VRING_ADDR, need_reply);
	put32(m->payload, index);
	put32(m->payload + 4, 0);            /* flags: no dirty logging */
	put64(m->payload + 8, desc);
	put64(m->payload + 16, used);
	put64(m->payload + 24, avail);
	put64(m->payload + 32, 0);           /* log address */
	m->size = 40;
}

void vhu_msg_mem_table(struct vhu_msg *m, const struct vhu_mem_region *r,
		       unsigned n, bool need_reply)
{
	vhu_msg_init(m, VHU_SET_MEM_TABLE, need_reply);
	if (n > VHU_MAX_REGIONS)
		n = VHU_MAX_REGIONS;
	put32(m->payload, n);
	put32(m->payload + 4, 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = m->payload + 8 + 32 * i;
		put64(p, r[i].gpa);
		put64(p + 8, r[i].size);
		put64(p + 16, r[i].uaddr);
		put64(p + 24, r[i].mmap_offset);
	}
	m->size = 8 + 32 * n;
}

void vhu_msg_mem_reg(struct vhu_msg *m, uint32_t req, const struct vhu_mem_region *r,
		     bool need_reply)
{
	vhu_msg_init(m, req, need_reply);
	put64(m->payload, 0);
	put64(m->payload + 8, r->gpa);
	put64(m->payload + 16, r->size);
	put64(m->payload + 24, r->uaddr);
	put64(m->payload + 32, r->mmap_offset);
	m->size = 40;
}

void vhu_msg_config(struct vhu_msg *m, uint32_t req, uint32_t offset,
		    const uint8_t *data, uint32_t len, bool need_reply)
{
	vhu_msg_init(m, req, need_reply);
	if (len > VHU_CONFIG_MAX)
		len = VHU_CONFIG_MAX;
	put32(m->payload, offset);
	put32(m->payload + 4, len);
	put32(m->payload + 8, 0);
	if (data)
		memcpy(m->payload + 12, data, len);
	else
		memset(m->payload + 12, 0, len);
	m->size = 12 + len;
}
