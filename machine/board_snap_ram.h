/* Guest RAM regions in a snapshot stream (machine/board_snap_ram.c): the
 * `ram` section's per-region page map and pages (docs/snapshot.md).
 * board_save_ram/board_load_ram (board_snapshot.h) call these per region;
 * the run helpers are exported for the unit tests and the fuzzer. */
#ifndef VMM_MACHINE_BOARD_SNAP_RAM_H
#define VMM_MACHINE_BOARD_SNAP_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gm_region;
struct snap_w;
struct snap_r;

#define SNAPRAM_PAGE 4096u

/* Pages of a region of `size` bytes (the last one may be short). */
uint64_t snapram_npages(uint64_t size);
bool snapram_map_bit(const uint8_t *map, uint64_t pg);
/* The first run of pages at or after `from` whose map bit equals `set`:
 * returns its first page and sets *len (0, returning npg, when there is
 * none).  Reads only map[0 .. (npg + 7) / 8). */
uint64_t snapram_next_run(const uint8_t *map, uint64_t npg, uint64_t from,
			  bool set, uint64_t *len);
bool snapram_page_zero(const uint8_t *p, size_t n);
/* A stream's map (mlen bytes) and page bytes (dlen) for a region of
 * region_size bytes in npg pages: 0; -1 the map's length is wrong; -2 a
 * bit past the last page, or dlen is not the bytes the set bits name. */
int snapram_check_map(const uint8_t *map, size_t mlen, uint64_t npg,
		      size_t dlen, uint64_t region_size);
/* page_map and pages of one region (inside its regionN section). */
void snapram_save_region(struct snap_w *w, const struct gm_region *g);
/* The same, checked, written into the region; errors go to r. */
void snapram_load_region(struct snap_r *r, const struct gm_region *g);

#endif
