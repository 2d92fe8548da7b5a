/* Guest RAM from the configuration: anonymous private memory by default,
 * a hugetlbfs temp file with -mem-path, or -- with -numa node,memdev=ID
 * -- the nodes' memory backends laid end to end over the layout's RAM
 * ranges (QEMU: a node's memdev is its RAM).  Shared backends
 * (memory-backend-file share=on, memory-backend-memfd, memory-backend-ram
 * share=on) are mapped MAP_SHARED over an fd, which is what a vhost-user
 * backend needs to map guest RAM itself (SET_MEM_TABLE). */
#ifndef VMM_MACHINE_BOARD_RAM_H
#define VMM_MACHINE_BOARD_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include "core/config.h"
#include "core/layout.h"

struct gm;

/* Is every byte of guest RAM going to be shareable (MAP_SHARED over an
 * fd)?  Pure: looks at the configuration only. */
bool board_ram_shareable(const struct machine_config *cfg);

/* Map guest RAM into gm over l's RAM ranges.  0; -2 when the host refuses
 * what the configuration names (a mem-path that cannot hold it, a locked
 * file); -1 otherwise.  err holds one line. */
int board_ram_map(struct gm *gm, const struct layout *l,
		  const struct machine_config *cfg, char *err, size_t errlen);

/* How a memory backend object is mapped at `offset` into it (guest RAM
 * nodes, pc-dimms): 0, -EROFS (readonly=on), -EINVAL. */
struct gm_mmap_spec;
int board_ram_spec(const struct cfg_object *o, struct gm_mmap_spec *spec,
		   uint64_t offset);

#endif
