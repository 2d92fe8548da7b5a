/* Memory devices in the configuration (issue 17): pc-dimm and
 * virtio-mem-{pci,device} properties and rules, and the run-time
 * object-add / object-del of memory backends.  Placement in the
 * hot-plug window is core/layout.c's. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_priv.h"

bool config_is_memdev(const struct cfg_device *d)
{
	return d->type == CFG_DEV_PC_DIMM || d->type == CFG_DEV_VIRTIO_MEM;
}

uint64_t config_memdev_size(const struct machine_config *cfg,
			    const struct cfg_device *d)
{
	const struct cfg_object *o = config_object(cfg, d->memdev);
	return o ? o->size : 0;
}

int cfg_mem_prop(struct cfg_ctx *c, bool dimm, struct cfg_device *d,
		 const struct cfg_kv *kv, bool *handled)
{
	const char *key = kv->key;
	uint64_t v;

	*handled = true;
	if (!strcmp(key, "memdev"))
		return cfg_id(c, key, kv->val, d->memdev);
	if (!strcmp(key, "node")) {
		/* One NUMA node per -numa (at most CFG_MAX_NUMA). */
		if (cfg_uint(c, key, kv->val, 0, CFG_MAX_NUMA - 1, &v))
			return -1;
		d->mem_node = (unsigned)v;
		return 0;
	}
	if (dimm && !strcmp(key, "addr")) {
		if (cfg_uint(c, key, kv->val, 0, UINT64_MAX, &d->mem_addr))
			return -1;
		if (d->mem_addr % CFG_DIMM_ALIGN)
			return cfg_error(c, "pc-dimm: addr=0x%llx is not a multiple of 0x%llx",
					 (unsigned long long)d->mem_addr,
					 (unsigned long long)CFG_DIMM_ALIGN);
		return 0;
	}
	if (dimm && !strcmp(key, "slot")) {
		if (cfg_uint(c, key, kv->val, 0, CFG_MAX_MEM_SLOTS - 1, &v))
			return -1;
		d->mem_slot = (int)v;
		return 0;
	}
	if (!dimm && !strcmp(key, "block-size")) {
		/* virtio 1.2 §5.15.4: a power of two; QEMU's minimum is the
		 * THP size (2 MiB on x86), so Linux can (un)plug whole huge
		 * pages. */
		if (cfg_size(c, key, kv->val, 1, CFG_VMEM_MIN_BLOCK, 1ull << 40,
			     &d->vmem_block_size))
			return -1;
		if (d->vmem_block_size & (d->vmem_block_size - 1))
			return cfg_error(c, "block-size='%s' is not a power of two", kv->val);
		return 0;
	}
	if (!dimm && !strcmp(key, "requested-size"))
		return cfg_size(c, key, kv->val, 1, 0, CFG_MAX_MAXMEM, &d->vmem_requested);
	*handled = false;
	return 0;
}

/* After parsing one memory device: what needs the rest of the
 * configuration (called from cfg_check for every memory device). */
int cfg_mem_check(struct cfg_ctx *c, const struct cfg_device *d, const char *lb)
{
	const struct machine_config *cfg = c->cfg;
	const struct cfg_object *o = config_object(cfg, d->memdev);

	if (!d->memdev[0])
		return cfg_error(c, "%s: 'memdev' property must be set", lb);
	if (!o)
		return 0;   /* check_refs words that one */
	if (!cfg->mem.maxmem || cfg->mem.maxmem == cfg->mem.size)
		return cfg_error(c, "%s: memory devices (e.g. for memory hotplug) are not supported by the machine (give -m SIZE,slots=N,maxmem=MAX)",
				 lb);
	if (d->type == CFG_DEV_PC_DIMM) {
		if (!cfg->mem.slots)
			return cfg_error(c, "%s: no slots where allocated, please specify the 'slots' option",
					 lb);
		if (o->size % CFG_DIMM_ALIGN)
			return cfg_error(c, "%s: backend memory size must be multiple of 0x%llx",
					 lb, (unsigned long long)CFG_DIMM_ALIGN);
		if (d->mem_slot >= (int)cfg->mem.slots)
			return cfg_error(c, "%s: invalid slot number %d, valid range is [0-%u]",
					 lb, d->mem_slot, cfg->mem.slots - 1);
		return 0;
	}
	uint64_t bs = d->vmem_block_size ? d->vmem_block_size : CFG_VMEM_MIN_BLOCK;
	if (o->size % bs)
		return cfg_error(c, "%s: memdev size (0x%llx) must be a multiple of block-size (0x%llx)",
				 lb, (unsigned long long)o->size, (unsigned long long)bs);
	if (d->vmem_requested % bs)
		return cfg_error(c, "%s: requested-size (0x%llx) must be a multiple of block-size (0x%llx)",
				 lb, (unsigned long long)d->vmem_requested,
				 (unsigned long long)bs);
	if (d->vmem_requested > o->size)
		return cfg_error(c, "%s: requested-size (0x%llx) exceeds the memdev size (0x%llx)",
				 lb, (unsigned long long)d->vmem_requested,
				 (unsigned long long)o->size);
	if (o->readonly)
		return cfg_error(c, "%s: memdev '%s' is read-only", lb, d->memdev);
	return 0;
}

bool config_object_in_use(const struct machine_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (!strcmp(cfg->devices[i].memdev, id))
			return true;
	for (unsigned i = 0; i < cfg->nnuma; i++)
		if (!strcmp(cfg->numa[i].memdev, id))
			return true;
	return false;
}

int config_add_object(struct machine_config *cfg, const char *arg, char *err,
		      size_t errlen)
{
	return cfg_add_one(cfg, "-object", cfg_opt_object,
			   offsetof(struct machine_config, nobjects), "object", arg,
			   err, errlen);
}

int config_remove_object(struct machine_config *cfg, const char *id)
{
	const struct cfg_object *o = id && *id ? config_object(cfg, id) : NULL;
	if (!o)
		return -1;
	unsigned k = (unsigned)(o - cfg->objects);
	memmove(&cfg->objects[k], &cfg->objects[k + 1],
		(cfg->nobjects - k - 1) * sizeof(cfg->objects[0]));
	cfg->nobjects--;
	return 0;
}
