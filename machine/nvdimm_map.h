/* The host side of the NVDIMMs, at machine build time: each backing file
 * checked and mapped into guest memory (devices/nvdimm.h has the geometry).
 * This is the one place NVDIMM files are opened.  Replay never calls
 * nvdimm_map_all (a trace names paths, and a trace is untrusted): the
 * board maps nvdimm_map_anon for it (board_host.no_host_paths). */
#ifndef VMM_MACHINE_NVDIMM_MAP_H
#define VMM_MACHINE_NVDIMM_MAP_H

#include <stddef.h>

struct gm;
struct layout;
struct log;
struct machine_config;

/* Host side, machine build time: check every backing file (exists, is at
 * least `size` bytes) and map each NVDIMM into gm as a GM_PMEM region.
 * Each file is locked as QEMU locks images (a writer for share=on
 * without readonly=on, else a reader).  Returns 0, -2 with one line in
 * err when another process holds a conflicting lock or a mem-path is not
 * a regular file (the configuration's errors), or -1 with one line in
 * err.  Every file is checked before
 * the first one is mapped; a failed mmap leaves earlier NVDIMMs mapped
 * in gm, which the caller frees with the half-built machine. */
/* Each nvdimm's backing file exists, is a regular file and has exactly
 * its memory backend's size=.  0, or -1 with err. */
int nvdimm_map_check(const struct machine_config *cfg, const struct layout *l,
		     char *err, size_t errlen);
int nvdimm_map_all(struct gm *gm, const struct machine_config *cfg,
		   const struct layout *l, struct log *log,
		   char *err, size_t errlen);

/* The same regions, the same sizes and flags, backed by anonymous memory:
 * no mem-path is opened, looked at or written (replay).  0, or -1 with
 * one line in err. */
int nvdimm_map_anon(struct gm *gm, const struct machine_config *cfg,
		    const struct layout *l, char *err, size_t errlen);

#endif
