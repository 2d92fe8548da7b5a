/* The ACPI memory hot-plug register block (mem_hotplug.h). */
#include "mem_hotplug.h"

#include <errno.h>
#include <string.h>

#include "core/log.h"

void memhp_init(struct memhp *h, unsigned nslots, struct log *log)
{
	memset(h, 0, sizeof(*h));
	h->nslots = nslots > MEMHP_MAX_SLOTS ? MEMHP_MAX_SLOTS : nslots;
	h->log = log;
}

int memhp_plug(struct memhp *h, unsigned slot, uint64_t base, uint64_t size,
	       uint32_t node, bool notify)
{
	if (slot >= h->nslots)
		return -EINVAL;
	struct memhp_slot *s = &h->slots[slot];
	if (s->enabled)
		return -EBUSY;
	*s = (struct memhp_slot){ .enabled = true, .inserting = notify,
				  .base = base, .size = size, .node = node };
	if (notify && h->notify)
		h->notify(h->opaque);
	return 0;
}

int memhp_request_unplug(struct memhp *h, unsigned slot)
{
	if (slot >= h->nslots || !h->slots[slot].enabled)
		return -ENODEV;
	if (h->slots[slot].removing)
		return -EALREADY;
	h->slots[slot].removing = true;
	if (h->notify)
		h->notify(h->opaque);
	return 0;
}

static uint32_t memhp_reg(const struct memhp_slot *s, unsigned reg)
{
	switch (reg) {
	case MEMHP_REG_BASE_LO: return (uint32_t)s->base;
	case MEMHP_REG_BASE_HI: return (uint32_t)(s->base >> 32);
	case MEMHP_REG_LEN_LO: return (uint32_t)s->size;
	case MEMHP_REG_LEN_HI: return (uint32_t)(s->size >> 32);
	case MEMHP_REG_PXM: return s->node;
	case MEMHP_REG_STATUS:
		return (s->enabled ? MEMHP_STS_ENABLED : 0) |
		       (s->inserting ? MEMHP_STS_INSERT : 0) |
		       (s->removing ? MEMHP_STS_REMOVE : 0);
	default: return 0;  /* 0x15-0x17 reserved */
	}
}

static void memhp_control(struct memhp *h, uint8_t v)
{
	struct memhp_slot *s = &h->slots[h->selector];
	/* QEMU's order: one action per write. */
	if (v & MEMHP_CTL_CLEAR_INSERT) {
		s->inserting = false;
	} else if (v & MEMHP_CTL_CLEAR_REMOVE) {
		s->removing = false;
	} else if (v & MEMHP_CTL_EJECT) {
		if (!s->enabled) {
			h->rejected++;
			return;
		}
		/* An eject nobody asked for is still an eject: ACPI lets
		 * OSPM eject on its own (QEMU's behaviour too). */
		unsigned slot = h->selector;
		*s = (struct memhp_slot){ 0 };
		log_info(h->log, "memhp: slot %u ejected by the guest", slot);
		if (h->ejected)
			h->ejected(h->opaque, slot);
	}
}

int memhp_access(void *dev, uint64_t offset, void *data, unsigned len,
		 bool is_write)
{
	struct memhp *h = dev;
	if (offset >= MEMHP_IO_SIZE || len == 0 || len > 4 ||
	    len > MEMHP_IO_SIZE - offset)
		return -1;
	unsigned reg = (unsigned)offset & ~3u, sh = 8 * ((unsigned)offset & 3u);
	if (!is_write) {
		uint32_t v = h->selector < h->nslots ?
			     memhp_reg(&h->slots[h->selector], reg) >> sh : 0;
		memcpy(data, &v, len);   /* little-endian host */
		return 0;
	}
	uint32_t v = 0;
	memcpy(&v, data, len);
	if (reg == MEMHP_REG_SEL && sh == 0) {
		/* A selector beyond the slots reads zeros; every write
		 * through it is dropped. */
		h->selector = v;
		if (v >= h->nslots)
			h->rejected++;
		return 0;
	}
	if (h->selector >= h->nslots) {
		h->rejected++;
		return 0;
	}
	struct memhp_slot *s = &h->slots[h->selector];
	if (reg == MEMHP_REG_OST_EVENT && sh == 0)
		s->ost_event = v;
	else if (reg == MEMHP_REG_OST_STATUS && sh == 0)
		s->ost_status = v;
	else if (offset == MEMHP_REG_STATUS)
		memhp_control(h, (uint8_t)v);
	else
		h->rejected++;
	return 0;
}
