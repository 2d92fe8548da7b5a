/* NVDIMM: a memory-backend-file mapped into the device-memory window as
 * persistent memory, as Kata Containers boots its rootfs (README.md).
 *
 * The guest sees each NVDIMM through the ACPI NFIT and the ACPI0012 root
 * device (devices/acpi); this module owns the geometry both sides agree on
 * and the host-side mapping:
 *   readonly=on  the file is opened O_RDONLY and mapped PROT_READ into a
 *                GM_READONLY region (a read-only KVM memory slot), so a
 *                guest write never reaches the file;
 *   share=on     MAP_SHARED: guest writes reach the file; gm_sync (msync)
 *                runs when the guest writes a flush hint (below) and, via
 *                nvdimm_flush(), on every shutdown path;
 *   share=off    MAP_PRIVATE: a copy-on-write view, the file never changes.
 * With label-size=N the last N bytes of the mapping are the namespace label
 * area (ACPI 6.4 §6.5.10 _LSI/_LSR/_LSW), outside the SPA range.
 *
 * nvdimm_describe() is a pure function of the configuration.  The files
 * are opened and mapped by the machine layer (machine/nvdimm_map.h), at
 * build time, before any vCPU: no device code touches a file. */
#ifndef VMM_DEVICES_NVDIMM_H
#define VMM_DEVICES_NVDIMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/layout.h"
#include "core/log.h"

struct gm;
struct log;
struct machine_config;

/* Linux (and QEMU) want at least 128 KiB of label space. */
#define NVDIMM_LABEL_MIN (128u << 10)
/* Largest _LSR/_LSW transfer the label methods accept. */
#define NVDIMM_LABEL_MAX_XFER 4096u

struct nvdimm_desc {
	int cfg_index;            /* index in cfg->devices[] */
	const char *id;           /* device id= */
	const char *memdev;       /* memory-backend-file id= */
	const char *path;         /* mem-path= */
	uint32_t handle;          /* NFIT device handle, also the ACPI _ADR */
	uint64_t base;            /* guest-physical start of the mapping */
	uint64_t size;            /* whole mapping (pmem + label area) */
	uint64_t pmem_size;       /* the SPA range the guest uses as pmem */
	uint64_t label_size;      /* 0: no labels */
	bool readonly, share;
	bool unarmed;             /* unarmed=on, or forced by readonly=on */
};

/* The NVDIMMs of a configuration in device order.  Returns the count, or
 * -1 with one line in err when the configuration is inconsistent (memdev
 * missing or used twice, size/alignment/label/maxmem problems). */
int nvdimm_describe(const struct machine_config *cfg, const struct layout *l,
		    struct nvdimm_desc out[LAYOUT_MAX_NVDIMM],
		    char *err, size_t errlen);

/* Shutdown (or any host-side flush point): write shared mappings back to
 * their files.  0 or -errno. */
int nvdimm_flush(const struct gm *gm);

/* Flush hints (ACPI 6.4 §5.2.25.8): one 4 KiB MMIO page per NVDIMM in the
 * free stretch of the 32-bit hole below the IOAPIC.  Linux's nvdimm_flush()
 * writes to it on REQ_PREFLUSH/FUA (fsync), which is the guest's "make it
 * durable"; we answer with gm_sync().  Reads return 0. */
#define NVDIMM_FLUSH_BASE 0xfe000000ull
#define NVDIMM_FLUSH_STRIDE 0x1000ull

struct nvdimm_flusher {
	const struct gm *gm;
	struct log *log;
	struct log_rl rl;
	uint64_t flushes, errors;
};
void nvdimm_flusher_init(struct nvdimm_flusher *f, const struct gm *gm,
			 struct log *log);
/* bus_access_fn for [NVDIMM_FLUSH_BASE, + n * NVDIMM_FLUSH_STRIDE). */
int nvdimm_flush_access(void *dev, uint64_t offset, void *data, unsigned len,
			bool is_write);

#endif
