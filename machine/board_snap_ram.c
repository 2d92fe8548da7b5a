/* Guest RAM in a snapshot (docs/snapshot.md "RAM"): each region's
 * non-zero 4 KiB pages as a page map plus those pages' bytes.
 *
 * Saving looks only where a non-zero page can be, so RAM the guest never
 * touched is neither read nor faulted in (on nested KVM every fault is an
 * exit of the host's own hypervisor):
 *   - private anonymous RAM: mincore(2); a page that is not resident was
 *     never touched (or was given back, MADV_DONTNEED, by the balloon) and
 *     reads as zero -- unless the host has swap, where a non-resident page
 *     may hold data: then every page is looked at;
 *   - RAM over an fd shared with nobody's private copy (memfd, shared
 *     file): lseek(SEEK_DATA/SEEK_HOLE) on the fd; a hole reads as zero
 *     (shmem counts swapped pages as data);
 *   - anything else (heap RAM in the simulator, a private file mapping):
 *     every page.
 * Loading writes the stream's pages as runs of consecutive pages, and
 * makes every page the map leaves out zero without touching RAM that
 * already is: private anonymous RAM drops the resident stretches of such
 * runs (one mincore() of the region first; MADV_DONTNEED: they then read
 * as zero; freshly mapped RAM has nothing resident, so nothing is done),
 * or with swap drops the whole run; other RAM gets the same "where can
 * a non-zero page be" walk and those pages checked and cleared.  The stream is hostile: the map's length, its
 * bits past the region's end and the byte count are checked before any
 * RAM is written, and runs come only from the checked map. */
#include "machine/board_snap_ram.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "core/gm.h"
#include "core/snapshot.h"

#define RAM_PAGE SNAPRAM_PAGE
/* mincore's vector is one byte a page: this many pages at a time. */
#define MINCORE_CHUNK 32768u

uint64_t snapram_npages(uint64_t size)
{
	return size / RAM_PAGE + (size % RAM_PAGE != 0);
}

bool snapram_map_bit(const uint8_t *map, uint64_t pg)
{
	return map[pg / 8] >> (pg % 8) & 1;
}

uint64_t snapram_next_run(const uint8_t *map, uint64_t npg, uint64_t from,
			  bool set, uint64_t *len)
{
	uint64_t pg = from;
	/* Whole bytes of the other value are skipped eight pages at once. */
	while (pg < npg) {
		if (pg % 8 == 0 && map[pg / 8] == (set ? 0x00 : 0xff)) {
			pg += 8;
			continue;
		}
		if (snapram_map_bit(map, pg) == set)
			break;
		pg++;
	}
	if (pg >= npg) {
		*len = 0;
		return npg;
	}
	uint64_t end = pg;
	while (end < npg) {
		if (end % 8 == 0 && map[end / 8] == (set ? 0xff : 0x00)) {
			end += 8;
			continue;
		}
		if (snapram_map_bit(map, end) != set)
			break;
		end++;
	}
	if (end > npg)
		end = npg;
	*len = end - pg;
	return pg;
}

bool snapram_page_zero(const uint8_t *p, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		uint64_t v[4];
		memcpy(v, p + i, 32);
		acc |= v[0] | v[1] | v[2] | v[3];
		if (acc)
			return false;
	}
	for (; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static size_t page_len(const struct gm_region *g, uint64_t pg)
{
	uint64_t off = pg * RAM_PAGE;
	return g->size - off < RAM_PAGE ? (size_t)(g->size - off) : RAM_PAGE;
}

static bool host_has_swap(void)
{
	struct sysinfo si;
	/* Unknown: assume swap, the safe answer (every page looked at). */
	return sysinfo(&si) != 0 || si.totalswap != 0;
}

static bool region_anon(const struct gm_region *g)
{
	return g->backing == GM_BACKING_MMAP && g->fd < 0 && !(g->flags & GM_SHARED);
}

/* Calls fn(arg, first, n) for page ranges of [pg, pg + npg) that may hold
 * a non-zero byte; pages outside them read as zero.  See the top. */
typedef void (*cand_fn)(void *arg, uint64_t first, uint64_t n);

static void candidates(const struct gm_region *g, uint64_t pg, uint64_t npg,
		       bool swap, cand_fn fn, void *arg)
{
	uint64_t end = pg + npg;
	if (!npg)
		return;
	if (region_anon(g) && !swap && sysconf(_SC_PAGESIZE) == RAM_PAGE &&
	    ((uintptr_t)g->host % RAM_PAGE) == 0) {
		unsigned char *vec = malloc(MINCORE_CHUNK);
		for (uint64_t at = pg; vec && at < end;) {
			uint64_t n = end - at < MINCORE_CHUNK ? end - at : MINCORE_CHUNK;
			size_t bytes = (size_t)(n * RAM_PAGE);
			if (at * RAM_PAGE + bytes > g->size)
				bytes = (size_t)(g->size - at * RAM_PAGE);
			if (mincore(g->host + at * RAM_PAGE, bytes, vec) < 0) {
				fn(arg, at, end - at);   /* cannot tell: look */
				break;
			}
			for (uint64_t i = 0; i < n;) {
				if (!(vec[i] & 1)) {
					i++;
					continue;
				}
				uint64_t j = i;
				while (j < n && (vec[j] & 1))
					j++;
				fn(arg, at + i, j - i);
				i = j;
			}
			at += n;
		}
		if (!vec)
			fn(arg, pg, npg);
		free(vec);
		return;
	}
	if (g->fd >= 0 && (g->flags & GM_SHARED) && g->size % RAM_PAGE == 0) {
		off_t base = (off_t)g->fd_offset;
		off_t lo = base + (off_t)(pg * RAM_PAGE), hi = base + (off_t)(end * RAM_PAGE);
		while (lo < hi) {
			off_t d = lseek(g->fd, lo, SEEK_DATA);
			if (d < 0 && errno == ENXIO)
				return;           /* only a hole up to the file's end */
			if (d < 0) {
				fn(arg, (uint64_t)(lo - base) / RAM_PAGE,
				   end - (uint64_t)(lo - base) / RAM_PAGE);
				return;
			}
			if (d >= hi)
				return;
			off_t h = lseek(g->fd, d, SEEK_HOLE);
			if (h < 0 || h > hi)
				h = hi;
			uint64_t a = (uint64_t)(d - base) / RAM_PAGE;
			uint64_t b = ((uint64_t)(h - base) + RAM_PAGE - 1) / RAM_PAGE;
			if (b > end)
				b = end;
			if (b > a)
				fn(arg, a, b - a);
			lo = (off_t)(base + (off_t)(b * RAM_PAGE));
			if (h <= d)
				break;       /* a filesystem answering nonsense */
		}
		return;
	}
	fn(arg, pg, npg);
}

/* ---- saving ---- */

struct scan {
	const struct gm_region *g;
	uint8_t *map;
	size_t dlen;
};

static void scan_range(void *arg, uint64_t first, uint64_t n)
{
	struct scan *s = arg;
	for (uint64_t pg = first; pg < first + n; pg++) {
		size_t len = page_len(s->g, pg);
		if (snapram_page_zero(s->g->host + pg * RAM_PAGE, len))
			continue;
		s->map[pg / 8] |= (uint8_t)(1u << (pg % 8));
		s->dlen += len;
	}
}

void snapram_save_region(struct snap_w *w, const struct gm_region *g)
{
	uint64_t npg = snapram_npages(g->size);
	size_t mlen = (size_t)((npg + 7) / 8);
	struct scan s = { g, calloc(1, mlen ? mlen : 1), 0 };
	if (!s.map) {
		/* The writer records the failure: an empty name is refused. */
		snap_w_u8(w, "", 0);
		return;
	}
	candidates(g, 0, npg, host_has_swap(), scan_range, &s);
	snap_w_blob(w, "page_map", s.map, mlen);
	/* The pages go straight from RAM into the stream, run by run. */
	uint8_t *out = snap_w_bytes_reserve(w, "pages", s.dlen);
	size_t at = 0;
	for (uint64_t pg = 0, n; out && pg < npg; pg += n) {
		pg = snapram_next_run(s.map, npg, pg, true, &n);
		if (!n)
			break;
		size_t bytes = (size_t)(n * RAM_PAGE);
		if (pg * RAM_PAGE + bytes > g->size)
			bytes = (size_t)(g->size - pg * RAM_PAGE);
		memcpy(out + at, g->host + pg * RAM_PAGE, bytes);
		at += bytes;
	}
	free(s.map);
}

/* ---- loading ---- */

static void clear_range(void *arg, uint64_t first, uint64_t n)
{
	const struct gm_region *g = arg;
	for (uint64_t pg = first; pg < first + n; pg++) {
		uint8_t *p = g->host + pg * RAM_PAGE;
		size_t len = page_len(g, pg);
		if (!snapram_page_zero(p, len))
			memset(p, 0, len);
	}
}

/* Pages [pg, pg + n) must read as zero.  res: the region's mincore()
 * vector taken before the load (private anonymous RAM, no swap), or
 * NULL. */
static void zero_run(const struct gm_region *g, uint64_t pg, uint64_t n,
		     bool swap, const unsigned char *res)
{
	uint64_t whole = n;
	if ((pg + n) * RAM_PAGE > g->size)
		whole--;                /* a short last page: cleared by hand */
	if (res) {
		/* Only resident pages can hold anything; dropping is one
		 * syscall per resident stretch (on fresh RAM: none -- a
		 * madvise of a whole untouched run costs more than it does). */
		for (uint64_t i = pg; i < pg + whole;) {
			if (!(res[i] & 1)) {
				i++;
				continue;
			}
			uint64_t j = i;
			while (j < pg + whole && (res[j] & 1))
				j++;
			if (madvise(g->host + i * RAM_PAGE, (size_t)((j - i) * RAM_PAGE),
				    MADV_DONTNEED) < 0)
				clear_range((void *)g, i, j - i);
			i = j;
		}
		if (whole < n)
			clear_range((void *)g, pg + whole, n - whole);
		return;
	}
	if (region_anon(g) && whole && ((uintptr_t)g->host % RAM_PAGE) == 0 &&
	    sysconf(_SC_PAGESIZE) == RAM_PAGE &&
	    madvise(g->host + pg * RAM_PAGE, (size_t)(whole * RAM_PAGE),
		    MADV_DONTNEED) == 0) {
		/* Private anonymous memory reads as zero after this (madvise(2)),
		 * swapped-out pages included. */
		if (whole < n)
			clear_range((void *)g, pg + whole, n - whole);
		return;
	}
	candidates(g, pg, n, swap, clear_range, (void *)g);
}

int snapram_check_map(const uint8_t *map, size_t mlen, uint64_t npg,
		      size_t dlen, uint64_t region_size)
{
	if (mlen != (size_t)((npg + 7) / 8))
		return -1;
	/* No bit past the last page: such a bit names RAM that is not there. */
	if (npg % 8 && mlen && (map[mlen - 1] >> (npg % 8)) != 0)
		return -2;
	uint64_t need = 0;
	for (uint64_t pg = 0, n; pg < npg; pg += n) {
		pg = snapram_next_run(map, npg, pg, true, &n);
		if (!n)
			break;
		uint64_t bytes = n * RAM_PAGE;
		if (pg * RAM_PAGE + bytes > region_size)
			bytes = region_size - pg * RAM_PAGE;
		need += bytes;
	}
	return need == dlen ? 0 : -2;
}

void snapram_load_region(struct snap_r *r, const struct gm_region *g)
{
	uint64_t npg = snapram_npages(g->size);
	const uint8_t *map = NULL, *data = NULL;
	size_t gotm = 0, dlen = 0;
	snap_r_blob(r, "page_map", &map, &gotm);
	snap_r_blob(r, "pages", &data, &dlen);
	if (snap_r_failed(r))
		return;
	int c = snapram_check_map(map, gotm, npg, dlen, g->size);
	snap_r_check(r, c != -1, "page_map", "length disagrees with the region size");
	snap_r_check(r, c != -2, "pages", "length disagrees with the page map");
	if (snap_r_failed(r))
		return;
	bool swap = host_has_swap();
	unsigned char *res = NULL;
	if (region_anon(g) && !swap && sysconf(_SC_PAGESIZE) == RAM_PAGE &&
	    ((uintptr_t)g->host % RAM_PAGE) == 0 && npg) {
		res = malloc((size_t)npg);
		if (res && mincore(g->host, (size_t)g->size, res) < 0) {
			free(res);
			res = NULL;
		}
	}
	size_t at = 0;
	for (uint64_t pg = 0, n; pg < npg; pg += n) {
		bool set = snapram_map_bit(map, pg);
		pg = snapram_next_run(map, npg, pg, set, &n);
		if (!n)
			break;
		if (!set) {
			zero_run(g, pg, n, swap, res);
			continue;
		}
		size_t bytes = (size_t)(n * RAM_PAGE);
		if (pg * RAM_PAGE + bytes > g->size)
			bytes = (size_t)(g->size - pg * RAM_PAGE);
		memcpy(g->host + pg * RAM_PAGE, data + at, bytes);
		at += bytes;
	}
	free(res);
}
