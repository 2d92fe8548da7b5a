/* Guest physical memory: the only way device code touches guest RAM.
 *
 * Every access is overflow-checked (gpa + len may not wrap) and must lie
 * wholly inside RAM regions (it may span adjacent regions); anything else
 * returns -EFAULT and copies nothing.  Devices copy in and out ("copy, don't
 * alias"): a guest can rewrite bytes under a pointer at any time.  The one
 * raw path, gm_map(), is for bulk data and returns NULL on any doubt.
 *
 * Regions are added at machine build time, before any vCPU or device runs;
 * lookups afterwards are lock-free reads of an immutable table. */
#ifndef VMM_CORE_GM_H
#define VMM_CORE_GM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 32

enum gm_flags {
	GM_READONLY = 1u << 0, /* guest may read; gm_write/gm_map(writable) fail */
	GM_ROM = 1u << 1,      /* firmware/ROM image (implies GM_READONLY) */
	GM_PMEM = 1u << 2,     /* nvdimm backing (persistent memory) */
	/* MAP_SHARED over an fd (memfd, a shared file): another process
	 * (a vhost-user backend) can map the same pages from region->fd. */
	GM_SHARED = 1u << 3,
};

/* How a region's host memory was obtained; gm_free() releases it to match. */
enum gm_backing {
	GM_BACKING_EXTERNAL, /* caller owns host memory */
	GM_BACKING_HEAP,     /* calloc'd (simulator) */
	GM_BACKING_MMAP,     /* mmap'd (anonymous, memfd, file, hugetlbfs) */
};

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	unsigned flags;
	enum gm_backing backing;
	int fd;              /* backing fd for memfd/file mappings, else -1 */
	uint64_t fd_offset;
	char name[32];
};

/* Fault injection (simulator and tests): a range that fails reads and/or
 * writes with -EFAULT as if it were a hole. */
enum gm_fault_kind { GM_FAULT_READ = 1, GM_FAULT_WRITE = 2 };
#define GM_MAX_FAULTS 8

struct gm;

struct gm *gm_new(void);
void gm_free(struct gm *gm);

/* Add a region backed by caller-owned host memory.  Returns 0, -EINVAL for
 * zero size / wrapping range / unaligned host pointer misuse, -EEXIST if it
 * overlaps an existing region, -ENOSPC when the table is full. */
int gm_add_region(struct gm *gm, uint64_t gpa, uint64_t size, void *host,
		  unsigned flags, const char *name);
/* Add a region whose host memory gm takes ownership of: gm_free() releases
 * it according to backing (free() for HEAP; munmap() and close(fd) for
 * MMAP).  Used by the heap and mmap backends; same errors as
 * gm_add_region (on error the caller still owns host/fd). */
int gm_add_region_owned(struct gm *gm, uint64_t gpa, uint64_t size, void *host,
			unsigned flags, const char *name,
			enum gm_backing backing, int fd, uint64_t fd_offset);
/* 0 when a region [gpa, gpa+size) could be added now, else the error
 * gm_add_region would return (-EINVAL, -EEXIST, -ENOSPC).  Backends check
 * before allocating or mapping so a bad request has no side effects. */
int gm_can_add(const struct gm *gm, uint64_t gpa, uint64_t size);
/* Allocate zeroed host memory (heap) for a region: the simulator's backend. */
int gm_add_heap(struct gm *gm, uint64_t gpa, uint64_t size, unsigned flags,
		const char *name);

/* mmap-backed regions for the KVM backend. */
enum gm_mmap_kind {
	GM_MMAP_ANON,     /* MAP_PRIVATE|MAP_ANONYMOUS */
	GM_MMAP_MEMFD,    /* memfd_create, MAP_SHARED (shareable with vhost etc.) */
	GM_MMAP_FILE,     /* a file: MAP_SHARED if share, else MAP_PRIVATE */
	GM_MMAP_HUGETLBFS /* a temp file in a hugetlbfs directory (path) */
};
struct gm_mmap_spec {
	enum gm_mmap_kind kind;
	const char *path;  /* FILE: the file; HUGETLBFS: the mount directory */
	bool share;        /* FILE: MAP_SHARED so guest writes reach the file */
	bool readonly;     /* FILE: O_RDONLY + PROT_READ; region is GM_READONLY */
	/* FILE: lock the file as QEMU locks images (core/imglock.h): a
	 * writer (share, not readonly) excludes every other user, a reader
	 * other writers.  -EBUSY when another process holds a conflicting
	 * lock. */
	bool lock;
	/* FILE: where in the file the region starts (guest RAM split around
	 * the PCI hole takes two pieces of one node's backend).  The file is
	 * grown to offset + size when writable. */
	uint64_t offset;
	/* FILE: create the file (0600) when it does not exist, as QEMU's
	 * memory-backend-file does for guest RAM. */
	bool create;
};
/* Returns 0 or -errno (FILE: -ENODEV for a path that is not a regular
 * file, never waited on); on error nothing is left mapped. */
int gm_add_mmap(struct gm *gm, uint64_t gpa, uint64_t size,
		const struct gm_mmap_spec *spec, unsigned flags, const char *name);

/* A gated view of parent for one DMA-capable function (a PCI function's
 * Bus Master Enable, PCI 3.0 §6.2.2): while gate(opaque) is false, every
 * data access through the view (gm_read/write/fill and the typed helpers)
 * fails with -EFAULT and gm_map returns NULL, so the device behind it
 * cannot touch guest memory however its work was triggered.  Layout
 * queries (gm_range_valid, gm_region_*) see the parent regardless: they
 * are no memory access.  The parent outlives the view; gm_free(view)
 * frees only the view.  No regions can be added to a view. */
typedef bool (*gm_gate_fn)(void *opaque);
struct gm *gm_view_new(const struct gm *parent, gm_gate_fn gate, void *opaque);
/* False while a view's gate (or a gate of a view it is built on) is
 * closed; true for a plain gm. */
bool gm_enabled(const struct gm *gm);

/* Copy between guest and a host buffer.  0 or -EFAULT; zero length is 0 for
 * any gpa (nothing is touched). */
int gm_read(const struct gm *gm, uint64_t gpa, void *buf, size_t len);
int gm_write(const struct gm *gm, uint64_t gpa, const void *buf, size_t len);
int gm_fill(const struct gm *gm, uint64_t gpa, int byte, size_t len);

int gm_read_u8(const struct gm *gm, uint64_t gpa, uint8_t *v);
int gm_read_u16le(const struct gm *gm, uint64_t gpa, uint16_t *v);
int gm_read_u32le(const struct gm *gm, uint64_t gpa, uint32_t *v);
int gm_read_u64le(const struct gm *gm, uint64_t gpa, uint64_t *v);
int gm_write_u8(const struct gm *gm, uint64_t gpa, uint8_t v);
int gm_write_u16le(const struct gm *gm, uint64_t gpa, uint16_t v);
int gm_write_u32le(const struct gm *gm, uint64_t gpa, uint32_t v);
int gm_write_u64le(const struct gm *gm, uint64_t gpa, uint64_t v);

/* Host pointer for [gpa, gpa+len) when it lies inside ONE region, has no
 * injected fault and (if writable) is not read-only; NULL otherwise.  The
 * guest may change the bytes at any time: never validate then reuse. */
void *gm_map(const struct gm *gm, uint64_t gpa, size_t len, bool writable);

/* True when [gpa, gpa+len) is wholly RAM (any flags). */
bool gm_range_valid(const struct gm *gm, uint64_t gpa, size_t len);

/* Remove the region that starts at gpa and release its host memory
 * (memory hot-unplug; the simulator tearing a board down for a snapshot
 * restore).  Only with nothing else reading the table: the caller holds
 * the machine's big lock and no iothread or vCPU uses it.  0 or -ENOENT. */
int gm_remove_region(struct gm *gm, uint64_t gpa);

/* Region table, for the KVM backend (memory slots), e820 and ACPI. */
unsigned gm_region_count(const struct gm *gm);
const struct gm_region *gm_region_at(const struct gm *gm, unsigned idx);
const struct gm_region *gm_region_find(const struct gm *gm, uint64_t gpa);

/* Fault injection.  Returns 0, -ENOSPC when the fault table is full. */
int gm_inject_fault(struct gm *gm, uint64_t gpa, uint64_t len, unsigned kinds);
void gm_clear_faults(struct gm *gm);

/* Observer for trace record/replay (core/trace.h): called after every
 * successful gm_read/gm_write/gm_fill (and so the typed helpers) with the
 * bytes moved; gm_fill reports its bytes in chunks.  A read observer may
 * rewrite buf: replay serves the recorded bytes that way.  While an
 * observer is set gm_map() returns NULL ("NULL on any doubt"), so bulk
 * paths fall back to the observed copies and nothing escapes the trace.
 * Set it before devices run; NULL fn removes it. */
enum gm_obs_op { GM_OBS_READ, GM_OBS_WRITE };
typedef void (*gm_observer_fn)(void *opaque, enum gm_obs_op op, uint64_t gpa,
			       void *buf, size_t len);
void gm_set_observer(struct gm *gm, gm_observer_fn fn, void *opaque);

/* msync every shared file-backed region (nvdimm share=on flush/shutdown). */
int gm_sync(const struct gm *gm);

#endif
