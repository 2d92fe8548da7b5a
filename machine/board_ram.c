/* Guest RAM from -m, -mem-path and -numa node,memdev= (board_ram.h). */
#include "machine/board_ram.h"
#include "core/gm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const struct cfg_object *node_backend(const struct machine_config *cfg,
					     unsigned i)
{
	for (unsigned j = 0; j < cfg->nobjects; j++)
		if (!strcmp(cfg->objects[j].id, cfg->numa[i].memdev))
			return &cfg->objects[j];
	return NULL;
}

bool board_ram_shareable(const struct machine_config *cfg)
{
	if (!cfg->nnuma)
		return false;
	for (unsigned i = 0; i < cfg->nnuma; i++) {
		const struct cfg_object *o = node_backend(cfg, i);
		if (!o || !o->share || o->readonly)
			return false;
	}
	return true;
}

/* How one node's backend is mapped.  A memory-backend-file mem-path that
 * is a directory (QEMU's mem-path=/dev/shm) gets an unlinked temp file
 * there per piece; a file is used in place at the node's offset. */
int board_ram_spec(const struct cfg_object *o, struct gm_mmap_spec *spec,
		   uint64_t offset)
{
	memset(spec, 0, sizeof(*spec));
	switch (o->type) {
	case CFG_OBJ_MEMORY_BACKEND_MEMFD:
		spec->kind = GM_MMAP_MEMFD;
		return 0;
	case CFG_OBJ_MEMORY_BACKEND_RAM:
		spec->kind = o->share ? GM_MMAP_MEMFD : GM_MMAP_ANON;
		return 0;
	case CFG_OBJ_MEMORY_BACKEND_FILE: {
		struct stat st;
		if (o->readonly)
			return -EROFS;
		spec->path = o->mem_path;
		spec->share = o->share;
		if (stat(o->mem_path, &st) == 0 && S_ISDIR(st.st_mode)) {
			spec->kind = GM_MMAP_HUGETLBFS; /* temp file in the dir */
			return 0;
		}
		spec->kind = GM_MMAP_FILE;
		spec->lock = o->share;
		spec->create = true;
		spec->offset = offset;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

static int map_nodes(struct gm *gm, const struct layout *l,
		     const struct machine_config *cfg, char *err, size_t errlen)
{
	unsigned node = 0;
	uint64_t node_off = 0;   /* bytes of the current node already placed */
	unsigned piece = 0;

	for (unsigned i = 0; i < l->nram; i++) {
		uint64_t gpa = l->ram[i].gpa, left = l->ram[i].size;
		while (left) {
			if (node >= cfg->nnuma) {
				snprintf(err, errlen, "vmm: -numa: the nodes' memory is smaller than -m");
				return -2;
			}
			const struct cfg_object *o = node_backend(cfg, node);
			if (!o) {
				snprintf(err, errlen, "vmm: -numa: memdev '%s' names no memory backend",
					 cfg->numa[node].memdev);
				return -2;
			}
			uint64_t take = o->size - node_off;
			if (take > left)
				take = left;
			struct gm_mmap_spec spec;
			int e = board_ram_spec(o, &spec, node_off);
			char name[32];
			snprintf(name, sizeof(name), "ram%u", piece++);
			if (!e)
				e = gm_add_mmap(gm, gpa, take, &spec, 0, name);
			if (e < 0) {
				snprintf(err, errlen, "vmm: -object %s: cannot map %llu MiB of guest RAM%s%s: %s",
					 o->id, (unsigned long long)(take >> 20),
					 spec.path ? " from " : "",
					 spec.path ? spec.path : "", strerror(-e));
				return e == -ENOMEM ? -1 : -2;
			}
			gpa += take;
			left -= take;
			node_off += take;
			if (node_off == o->size) {
				node++;
				node_off = 0;
			}
		}
	}
	return 0;
}

int board_ram_map(struct gm *gm, const struct layout *l,
		  const struct machine_config *cfg, char *err, size_t errlen)
{
	if (cfg->nnuma)
		return map_nodes(gm, l, cfg, err, errlen);
	for (unsigned i = 0; i < l->nram; i++) {
		const struct layout_ram *r = &l->ram[i];
		struct gm_mmap_spec spec = { .kind = GM_MMAP_ANON };
		if (cfg->mem.mem_path[0]) {
			spec.kind = GM_MMAP_HUGETLBFS;
			spec.path = cfg->mem.mem_path;
		}
		char name[32];
		snprintf(name, sizeof(name), "ram%u", i);
		int e = gm_add_mmap(gm, r->gpa, r->size, &spec, 0, name);
		if (e < 0) {
			snprintf(err, errlen, "vmm: -m: cannot map %llu MiB of guest "
				 "RAM%s%s: %s", (unsigned long long)(r->size >> 20),
				 spec.path ? " in " : "", spec.path ? spec.path : "",
				 strerror(-e));
			return -1;
		}
	}
	return 0;
}
