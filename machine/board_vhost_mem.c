/* Hot-plugged guest RAM and the board's vhost-user backends (issue 16
 * beside issue 17): a backend maps all guest RAM, so a DIMM or a
 * virtio-mem region added at run time must be shareable and fit in its
 * memory slots (checked before anything is mapped, refused with one
 * line), is announced to every backend before the guest hears of it,
 * and is withdrawn before its memory goes (core/vhost_user_mem.h).  A
 * backend that fails that exchange is broken (its device shows
 * NEEDS_RESET); the plug goes on for the guest and the other devices. */
#include <stdio.h>
#include <string.h>
#include "machine/board_int.h"
#include "machine/board_ram.h"
#include "core/gm.h"
#include "core/vhost_user.h"
#include "core/vhost_user_mem.h"
#include "devices/virtio/vhost_user_dev.h"

#define BVM_MAX 16

static bool bvm_spec_shared(const struct gm_mmap_spec *s)
{
	return s->kind == GM_MMAP_MEMFD ||
	       ((s->kind == GM_MMAP_FILE || s->kind == GM_MMAP_HUGETLBFS) && s->share);
}

/* The first vhost-user -device's name, for the refusal. */
static const char *bvm_name(const struct board *b)
{
	for (unsigned i = 0; i < b->cfg->ndevices; i++)
		if (board_is_vhost(&b->cfg->devices[i]))
			return b->cfg->devices[i].id[0] ? b->cfg->devices[i].id :
			       config_device_name(&b->cfg->devices[i]);
	return "vhost-user";
}

int board_vhost_ram_check(struct board *b, const struct cfg_object *o, char *why,
			  size_t whylen)
{
	struct vhud *devs[BVM_MAX];
	unsigned n = board_vhost_devices(b, devs, BVM_MAX);
	if (!n)
		return 0;
	struct gm_mmap_spec spec;
	if (board_ram_spec(o, &spec, 0) < 0 || !bvm_spec_shared(&spec)) {
		snprintf(why, whylen, "memdev '%s' is not shareable with vhost-user device '%s' (use memory-backend-memfd, or memory-backend-file with share=on)",
			 o->id, bvm_name(b));
		return -1;
	}
	unsigned have = vhu_mem_regions(b->m->gm);
	for (unsigned i = 0; i < n; i++) {
		struct vhu *c = vhud_conn(devs[i]);
		if (vhu_is_broken(c))
			continue;   /* it maps nothing any more */
		/* At most a memory table's worth: a reset starts the device
		 * again with SET_MEM_TABLE, which holds no more. */
		unsigned max = vhu_mem_max_slots(c);
		if (max > VHU_MAX_REGIONS)
			max = VHU_MAX_REGIONS;
		if (!vhu_is_broken(c) && have + 1 > max) {
			/* QEMU's words (memory_device_check_addable). */
			snprintf(why, whylen, "a used vhost backend has no free memory slots left");
			return -1;
		}
	}
	return 0;
}

static void bvm_each(struct board *b, uint64_t gpa, bool add)
{
	const struct gm_region *r = gm_region_find(b->m->gm, gpa);
	struct vhud *devs[BVM_MAX];
	unsigned n = board_vhost_devices(b, devs, BVM_MAX);
	if (!r || r->gpa != gpa)
		return;
	for (unsigned i = 0; i < n; i++) {
		struct vhu *c = vhud_conn(devs[i]);
		/* A failure breaks c (logged once, the device's NEEDS_RESET). */
		if (add)
			vhu_mem_add(c, b->m->gm, r);
		else
			vhu_mem_remove(c, b->m->gm, r);
	}
}

void board_vhost_ram_added(struct board *b, uint64_t gpa)
{
	bvm_each(b, gpa, true);
}

void board_vhost_ram_removing(struct board *b, uint64_t gpa)
{
	bvm_each(b, gpa, false);
}
