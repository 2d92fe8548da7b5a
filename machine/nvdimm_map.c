/* Host side of the NVDIMM, run once at machine build time before any vCPU:
 * check each backing file and map it into guest memory.  This is the only
 * NVDIMM code that looks at files; guest accesses afterwards go through gm
 * like any RAM (a read-only slot for readonly=on).  Replay maps anonymous
 * memory instead (nvdimm_map_anon): its configuration is untrusted. */
#include "machine/nvdimm_map.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/gm.h"
#include "core/log.h"
#include "devices/nvdimm.h"

static int check_file(const struct nvdimm_desc *d, char *err, size_t errlen)
{
	struct stat st;
	if (stat(d->path, &st) < 0) {
		snprintf(err, errlen, "nvdimm %s: mem-path '%s': %s", d->id,
			 d->path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "nvdimm %s: mem-path '%s' is not a regular "
			 "file", d->id, d->path);
		return -2;
	}
	/* size= must equal the file: larger would map past its end
	 * (SIGBUS), smaller would hide the rest of the image from the guest
	 * (a rootfs whose partition table promises more than it gets). */
	if ((uint64_t)st.st_size != d->size) {
		snprintf(err, errlen, "-object memory-backend-file,id=%s: size="
			 "%" PRIu64 " does not equal the size of '%s' (%" PRIu64
			 " bytes; accepted: the file's size)", d->memdev, d->size,
			 d->path, (uint64_t)st.st_size);
		return -1;
	}
	return 0;
}

int nvdimm_map_check(const struct machine_config *cfg, const struct layout *l,
		     char *err, size_t errlen)
{
	struct nvdimm_desc nv[LAYOUT_MAX_NVDIMM];
	int n = nvdimm_describe(cfg, l, nv, err, errlen);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (check_file(&nv[i], err, errlen) < 0)
			return -1;
	return 0;
}

int nvdimm_map_all(struct gm *gm, const struct machine_config *cfg,
		   const struct layout *l, struct log *log,
		   char *err, size_t errlen)
{
	struct nvdimm_desc nv[LAYOUT_MAX_NVDIMM];
	int n = nvdimm_describe(cfg, l, nv, err, errlen);
	if (n < 0)
		return -1;
	/* Every file is checked before the first mapping, so a bad one is
	 * reported before anything of this machine is half-built. */
	for (int i = 0; i < n; i++) {
		int rc = check_file(&nv[i], err, errlen);
		if (rc < 0)
			return rc;
	}

	for (int i = 0; i < n; i++) {
		const struct nvdimm_desc *d = &nv[i];
		struct gm_mmap_spec spec = {
			.kind = GM_MMAP_FILE,
			.path = d->path,
			.share = d->share,
			.readonly = d->readonly,
			.lock = true,
		};
		unsigned flags = GM_PMEM | (d->readonly ? GM_READONLY : 0);
		char name[32];
		snprintf(name, sizeof(name), "nvdimm-%.24s", d->id);
		int rc = gm_add_mmap(gm, d->base, d->size, &spec, flags, name);
		if (rc == -ENODEV) {   /* swapped for a FIFO since the check */
			snprintf(err, errlen, "nvdimm %s: mem-path '%s' is not a "
				 "regular file", d->id, d->path);
			return -2;
		}
		if (rc == -EBUSY) {
			snprintf(err, errlen, "nvdimm %s: mem-path '%s': Failed to "
				 "get the image lock (%s): is another process (QEMU "
				 "or vmm) using the file?", d->id, d->path,
				 d->share && !d->readonly ? "writer" : "reader");
			return -2;
		}
		if (rc < 0) {
			snprintf(err, errlen, "nvdimm %s: cannot map '%s' at 0x%"
				 PRIx64 ": %s", d->id, d->path, d->base,
				 strerror(-rc));
			return -1;
		}
		log_info(log, "nvdimm %s: %s mapped at 0x%" PRIx64 " size 0x%"
			 PRIx64 "%s%s%s", d->id, d->path, d->base, d->size,
			 d->readonly ? " readonly" : "",
			 d->share ? " shared" : " private",
			 d->unarmed ? " unarmed" : "");
	}
	return 0;
}

int nvdimm_map_anon(struct gm *gm, const struct machine_config *cfg,
		    const struct layout *l, char *err, size_t errlen)
{
	struct nvdimm_desc nv[LAYOUT_MAX_NVDIMM];
	int n = nvdimm_describe(cfg, l, nv, err, errlen);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const struct nvdimm_desc *d = &nv[i];
		/* d->path and d->share are never looked at: the path came
		 * from a trace, and a shared mapping of it is how a trace
		 * would write a host file. */
		struct gm_mmap_spec spec = { .kind = GM_MMAP_ANON };
		unsigned flags = GM_PMEM | (d->readonly ? GM_READONLY : 0);
		char name[32];
		snprintf(name, sizeof(name), "nvdimm-%.24s", d->id);
		int rc = gm_add_mmap(gm, d->base, d->size, &spec, flags, name);
		if (rc < 0) {
			snprintf(err, errlen, "nvdimm %s: cannot map 0x%" PRIx64
				 " bytes of anonymous memory at 0x%" PRIx64 ": %s",
				 d->id, d->size, d->base, strerror(-rc));
			return -1;
		}
	}
	return 0;
}
