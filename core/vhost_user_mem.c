/* vhost-user memory slots for hot-plugged RAM (vhost_user_mem.h). */
#include "core/vhost_user_mem.h"
#include "core/vhost_user.h"
#include "core/gm.h"

#include <stddef.h>

static bool has_slots(const struct vhu *c)
{
	return (vhu_protocol_features(c) >> VHU_PF_CONFIGURE_MEM_SLOTS) & 1;
}

bool vhu_region_shareable(const struct gm_region *r)
{
	return (r->flags & GM_SHARED) && r->fd >= 0 && !(r->flags & (GM_ROM | GM_PMEM));
}

unsigned vhu_mem_regions(const struct gm *gm)
{
	unsigned n = 0;
	for (unsigned i = 0; i < gm_region_count(gm); i++)
		n += vhu_region_shareable(gm_region_at(gm, i));
	return n;
}

unsigned vhu_mem_max_slots(struct vhu *c)
{
	if (vhu_is_broken(c))
		return 0;
	if (!has_slots(c))
		return VHU_MAX_REGIONS;
	struct vhu_msg m;
	uint64_t v = 0;
	vhu_msg_init(&m, VHU_GET_MAX_MEM_SLOTS, false);
	if (vhu_request(c, &m, NULL, 0, true, &v) < 0)
		return 0;
	return v > VHU_MAX_MEM_SLOTS ? VHU_MAX_MEM_SLOTS : (unsigned)v;
}

static struct vhu_mem_region desc(const struct gm_region *r)
{
	return (struct vhu_mem_region){ r->gpa, r->size, (uint64_t)(uintptr_t)r->host,
					r->fd_offset };
}

/* The whole table again, without `skip` (the region about to go). */
static int resend_table(struct vhu *c, const struct gm *gm, const struct gm_region *skip)
{
	struct vhu_mem_region reg[VHU_MAX_REGIONS];
	int fds[VHU_MAX_REGIONS];
	unsigned n = 0;
	for (unsigned i = 0; i < gm_region_count(gm); i++) {
		const struct gm_region *r = gm_region_at(gm, i);
		if (!vhu_region_shareable(r) || (skip && r->gpa == skip->gpa))
			continue;
		if (n == VHU_MAX_REGIONS) {
			vhu_break(c, "more RAM regions than a memory table holds");
			return -1;
		}
		reg[n] = desc(r);
		fds[n++] = r->fd;
	}
	struct vhu_msg m;
	vhu_msg_mem_table(&m, reg, n, false);
	return vhu_request(c, &m, fds, n, false, NULL);
}

int vhu_mem_add(struct vhu *c, const struct gm *gm, const struct gm_region *r)
{
	if (vhu_is_broken(c))
		return -1;
	if (!vhu_region_shareable(r)) {
		vhu_break(c, "hot-added RAM is not shareable");
		return -1;
	}
	if (!vhu_has_mem_table(c))
		return 0;
	if (!has_slots(c))
		return resend_table(c, gm, NULL);
	struct vhu_msg m;
	struct vhu_mem_region d = desc(r);
	vhu_msg_mem_reg(&m, VHU_ADD_MEM_REG, &d, false);
	return vhu_request(c, &m, &r->fd, 1, false, NULL);
}

int vhu_mem_remove(struct vhu *c, const struct gm *gm, const struct gm_region *r)
{
	if (vhu_is_broken(c) || !vhu_region_shareable(r))
		return vhu_is_broken(c) ? -1 : 0;
	if (!vhu_has_mem_table(c))
		return 0;
	if (!has_slots(c))
		return resend_table(c, gm, r);
	/* The spec says no fd; libvhost-user before QEMU 8.0 (the
	 * virtiofsd of QEMU 7.2) insists on exactly one, and later ones
	 * close one they get: so the region's fd goes along. */
	struct vhu_msg m;
	struct vhu_mem_region d = desc(r);
	vhu_msg_mem_reg(&m, VHU_REM_MEM_REG, &d, false);
	return vhu_request(c, &m, &r->fd, 1, false, NULL);
}
