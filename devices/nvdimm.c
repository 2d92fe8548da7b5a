/* NVDIMM geometry: which memory-backend-file each -device nvdimm maps,
 * where, and with which properties.  Pure: no files are touched here (see
 * nvdimm_map.c), so the ACPI builder, the simulator and the tests can
 * call it freely. */
#include "nvdimm.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/gm.h"
#include "core/log.h"

#define PAGE_4K 4096u

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int nvdimm_describe(const struct machine_config *cfg, const struct layout *l,
		    struct nvdimm_desc out[LAYOUT_MAX_NVDIMM],
		    char *err, size_t errlen)
{
	unsigned n = 0;
	uint64_t total = 0;

	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *dev = &cfg->devices[i];
		if (dev->type != CFG_DEV_NVDIMM)
			continue;
		if (n == LAYOUT_MAX_NVDIMM)
			return fail(err, errlen, "nvdimm %s: at most %d nvdimms",
				    dev->id, LAYOUT_MAX_NVDIMM);
		const struct cfg_object *obj = config_object(cfg, dev->memdev);
		if (!obj || obj->type != CFG_OBJ_MEMORY_BACKEND_FILE)
			return fail(err, errlen, "nvdimm %s: memdev '%s' is not a "
				    "memory-backend-file", dev->id, dev->memdev);
		for (unsigned k = 0; k < n; k++)
			if (strcmp(out[k].memdev, dev->memdev) == 0)
				return fail(err, errlen, "nvdimm %s: memdev '%s' is "
					    "already used by nvdimm %s", dev->id,
					    dev->memdev, out[k].id);
		const struct layout_dev *ld = layout_dev_for(l, (int)i);
		if (!ld || ld->pmem_size == 0)
			return fail(err, errlen, "nvdimm %s: not placed in the "
				    "device memory window (-m ...,maxmem=?)", dev->id);
		uint64_t size = obj->size;
		if (dev->label_size &&
		    (dev->label_size < NVDIMM_LABEL_MIN ||
		     dev->label_size % PAGE_4K || dev->label_size >= size))
			return fail(err, errlen, "nvdimm %s: label-size 0x%" PRIx64
				    " must be a multiple of 4 KiB, at least 128 KiB "
				    "and below the size", dev->id, dev->label_size);
		uint64_t pmem = size - dev->label_size;
		/* Linux maps pmem for DAX in 2 MiB sections (memremap
		 * compat alignment), and the slots are 2 MiB aligned. */
		if (pmem % LAYOUT_NVDIMM_ALIGN || ld->pmem_base % LAYOUT_NVDIMM_ALIGN)
			return fail(err, errlen, "-object %s: size=0x%" PRIx64
				    " (minus the nvdimm's label-size 0x%" PRIx64
				    ") is not a multiple of 2 MiB (accepted: "
				    "whole 2 MiB sections for the nvdimm)",
				    obj->id, size, dev->label_size);
		if (pmem != ld->pmem_size)
			return fail(err, errlen, "nvdimm %s: placed with 0x%" PRIx64
				    " bytes, memdev %s gives 0x%" PRIx64, dev->id,
				    ld->pmem_size, obj->id, pmem);
		total += size;
		if (total > l->devmem_size || total < size)
			return fail(err, errlen, "nvdimm %s: nvdimms total 0x%" PRIx64
				    " bytes, beyond maxmem - memory (0x%" PRIx64 ")",
				    dev->id, total, l->devmem_size);

		struct nvdimm_desc *d = &out[n];
		memset(d, 0, sizeof(*d));
		d->cfg_index = (int)i;
		d->id = dev->id;
		d->memdev = obj->id;
		d->path = obj->mem_path;
		/* Handles 1..N, as QEMU numbers them (slot + 1); 0 would read
		 * as "no handle" in some NFIT consumers. */
		d->handle = n + 1;
		d->base = ld->pmem_base;
		d->size = size;
		d->pmem_size = pmem;
		d->label_size = dev->label_size;
		d->readonly = obj->readonly;
		d->share = obj->share && !obj->readonly;
		/* A read-only backend can never persist a guest write: tell
		 * the guest the DIMM is not armed so it mounts read-only. */
		d->unarmed = dev->unarmed || obj->readonly;
		n++;
	}
	/* The label area is the backend's tail, mapped right after the pmem
	 * range; it must not run into the next slot or out of the window. */
	for (unsigned a = 0; a < n; a++) {
		uint64_t end = out[a].base + out[a].size;
		bool clash = end > l->devmem_base + l->devmem_size;
		for (unsigned b = 0; b < n; b++)
			if (b != a && out[b].base >= out[a].base &&
			    out[b].base < end)
				clash = true;
		if (out[a].label_size && clash)
			return fail(err, errlen, "nvdimm %s: no room for its "
				    "0x%" PRIx64 "-byte label area after the pmem "
				    "range (raise maxmem, or put the nvdimm with "
				    "label-size last)", out[a].id, out[a].label_size);
	}
	return (int)n;
}

int nvdimm_flush(const struct gm *gm)
{
	return gm_sync(gm);
}

void nvdimm_flusher_init(struct nvdimm_flusher *f, const struct gm *gm,
			 struct log *log)
{
	memset(f, 0, sizeof(*f));
	f->gm = gm;
	f->log = log;
}

int nvdimm_flush_access(void *dev, uint64_t offset, void *data, unsigned len,
			bool is_write)
{
	struct nvdimm_flusher *f = dev;
	(void)offset;
	if (!is_write) {
		memset(data, 0, len);
		return 0;
	}
	/* Any write to any hint is a flush of every shared mapping: the
	 * value and width carry no meaning (§5.2.25.8). */
	f->flushes++;
	int rc = gm_sync(f->gm);
	if (rc < 0) {
		f->errors++;
		log_rl(f->log, &f->rl, LOG_ERROR, "nvdimm: flush (msync) failed: %s",
		       strerror(-rc));
	}
	return 0;
}
