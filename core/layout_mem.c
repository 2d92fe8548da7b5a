/* Memory devices in the device memory window (layout.h
 * layout_place_memdevs): pc-dimm and virtio-mem, after the nvdimms, as
 * QEMU's memory_device_get_free_addr and pc_dimm_get_free_slot place
 * them -- first fit, lowest slot -- with QEMU 7.2's error texts, which
 * device_add hands back over QMP. */
#include <stdio.h>
#include <string.h>
#include "layout.h"

static uint64_t lm_align(const struct machine_config *cfg, const struct cfg_device *d)
{
	if (d->type == CFG_DEV_VIRTIO_MEM)
		return d->vmem_block_size ? d->vmem_block_size : CFG_VMEM_MIN_BLOCK;
	(void)cfg;
	return CFG_DIMM_ALIGN;
}

/* Does [a, a + n) overlap a memory device placed before index `upto`
 * (or any placed one with upto = ndevices)?  Returns its index or -1. */
static int lm_conflict(const struct layout *l, const struct machine_config *cfg,
		       const bool *placed, uint64_t a, uint64_t n)
{
	for (unsigned j = 0; j < cfg->ndevices; j++) {
		const struct layout_dev *o = &l->devs[j];
		if (!placed[j])
			continue;
		if (a < o->pmem_base + o->pmem_size && o->pmem_base < a + n)
			return (int)j;
	}
	return -1;
}

static int lm_err(char *err, size_t errlen, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "vmm: %s", what);
	return -1;
}

int layout_place_memdevs(struct layout *l, const struct machine_config *cfg,
			 uint64_t nv_end, char *err, size_t errlen)
{
	bool placed[CFG_MAX_ITEMS] = { false };
	bool slot_used[CFG_MAX_MEM_SLOTS] = { false };
	uint64_t win = l->devmem_base, win_end = l->devmem_base + l->devmem_size;
	uint64_t used = nv_end - l->devmem_base;
	char m[200];

	/* The nvdimms are placed: they count as used. */
	for (unsigned i = 0; i < cfg->ndevices; i++)
		placed[i] = cfg->devices[i].type == CFG_DEV_NVDIMM;
	/* Pass 0: slots; pass 1: fixed addresses; pass 2: first fit. */
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		if (d->type != CFG_DEV_PC_DIMM || d->mem_slot < 0)
			continue;
		if ((unsigned)d->mem_slot >= cfg->mem.slots || slot_used[d->mem_slot]) {
			snprintf(m, sizeof(m), "slot %d is busy", d->mem_slot);
			return lm_err(err, errlen, m);
		}
		slot_used[d->mem_slot] = true;
		l->devs[i].mem_slot = d->mem_slot;
	}
	for (int pass = 1; pass <= 2; pass++) {
		for (unsigned i = 0; i < cfg->ndevices; i++) {
			const struct cfg_device *d = &cfg->devices[i];
			struct layout_dev *ld = &l->devs[i];
			if (!config_is_memdev(d) || (pass == 1) != (d->mem_addr != 0))
				continue;
			uint64_t size = config_memdev_size(cfg, d), al = lm_align(cfg, d);
			if (d->type == CFG_DEV_PC_DIMM && ld->mem_slot < 0) {
				unsigned s = 0;
				while (s < cfg->mem.slots && slot_used[s])
					s++;
				if (s == cfg->mem.slots)
					return lm_err(err, errlen, cfg->mem.slots ?
						      "no free slots available" :
						      "no slots where allocated, please specify the 'slots' option");
				slot_used[s] = true;
				ld->mem_slot = (int)s;
			}
			if (!size || size > l->devmem_size || used + size > l->devmem_size) {
				snprintf(m, sizeof(m), "not enough space, currently 0x%llx in use of total space for memory devices 0x%llx",
					 (unsigned long long)used,
					 (unsigned long long)l->devmem_size);
				return lm_err(err, errlen, m);
			}
			if (size % al) {
				snprintf(m, sizeof(m), "backend memory size must be multiple of 0x%llx",
					 (unsigned long long)al);
				return lm_err(err, errlen, m);
			}
			uint64_t a = d->mem_addr;
			if (pass == 1) {
				if (a < win || a + size < a || a + size > win_end) {
					snprintf(m, sizeof(m), "can't add memory device [0x%llx:0x%llx], usable range for memory devices [0x%llx:0x%llx]",
						 (unsigned long long)a, (unsigned long long)size,
						 (unsigned long long)win,
						 (unsigned long long)(win_end - win));
					return lm_err(err, errlen, m);
				}
				int c = a % al ? -2 : lm_conflict(l, cfg, placed, a, size);
				if (c == -2) {
					snprintf(m, sizeof(m), "address must be aligned to 0x%llx",
						 (unsigned long long)al);
					return lm_err(err, errlen, m);
				}
				if (c >= 0 || a < nv_end) {
					snprintf(m, sizeof(m), "address range conflicts with memory device id='%s'",
						 c >= 0 ? cfg->devices[c].id : "");
					return lm_err(err, errlen, m);
				}
			} else {
				a = (nv_end + al - 1) & ~(al - 1);
				int c;
				while (a + size <= win_end &&
				       (c = lm_conflict(l, cfg, placed, a, size)) >= 0) {
					const struct layout_dev *o = &l->devs[c];
					a = (o->pmem_base + o->pmem_size + al - 1) & ~(al - 1);
				}
				if (a + size > win_end || a + size < a)
					return lm_err(err, errlen, "could not find position in guest address space for memory device - memory fragmented due to alignments");
			}
			ld->pmem_base = a;
			ld->pmem_size = size;
			placed[i] = true;
			used += size;
		}
	}
	return 0;
}
