/* Guest RAM into and out of a snapshot stream (machine/board_snap_ram.c),
 * without KVM: 128 MiB of freshly mapped private anonymous RAM of which
 * the "guest" touched 1 MiB (256 scattered pages and a 1 MiB block minus
 * those), saved into a stream and loaded into another fresh mapping --
 * beside the same work done the way it was before (every page read and
 * zero-checked, faulting in pages never touched; every page left out of
 * the map read to see it is zero), which is what the KVM figures of
 * bench_snapshot measured before.  Figures, not gates. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/gm.h"
#include "core/snapshot.h"
#include "machine/board_snap_ram.h"

#define SIZE (128ull << 20)
#define PG SNAPRAM_PAGE
#define RUNS 5

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint8_t *fresh(void)
{
	void *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static void touch(uint8_t *p)
{
	for (unsigned i = 0; i < 256; i++)
		p[(uint64_t)i * 131 * PG % SIZE] = (uint8_t)(i | 1);
	memset(p + (64ull << 20), 0x5a, 1u << 20);
}

static struct gm_region region(uint8_t *p)
{
	struct gm_region g = { .size = SIZE, .host = p, .backing = GM_BACKING_MMAP,
			       .fd = -1 };
	strcpy(g.name, "ram0");
	return g;
}

/* The former way: every page read; non-zero ones copied. */
static size_t old_save(const uint8_t *p, uint8_t *map, uint8_t *out)
{
	size_t at = 0;
	for (uint64_t pg = 0; pg < SIZE / PG; pg++) {
		if (snapram_page_zero(p + pg * PG, PG))
			continue;
		map[pg / 8] |= (uint8_t)(1u << (pg % 8));
		memcpy(out + at, p + pg * PG, PG);
		at += PG;
	}
	return at;
}

static void old_load(uint8_t *p, const uint8_t *map, const uint8_t *in)
{
	size_t at = 0;
	for (uint64_t pg = 0; pg < SIZE / PG; pg++) {
		if (map[pg / 8] >> (pg % 8) & 1) {
			memcpy(p + pg * PG, in + at, PG);
			at += PG;
		} else if (!snapram_page_zero(p + pg * PG, PG)) {
			memset(p + pg * PG, 0, PG);
		}
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, RUNS, sizeof(*v), cmp);
	return v[RUNS / 2];
}

int main(void)
{
	double save_new[RUNS], load_new[RUNS], save_old[RUNS], load_old[RUNS];
	uint8_t *map = malloc(SIZE / PG / 8), *buf = malloc(4u << 20);
	if (!map || !buf)
		return 1;
	for (int r = 0; r < RUNS; r++) {
		uint8_t *a = fresh(), *b = fresh();
		touch(a);
		struct gm_region ga = region(a), gb = region(b);
		struct snap_w *w = snap_w_new();
		double t0 = now_ms();
		snap_w_begin(w, "r", 1);
		snapram_save_region(w, &ga);
		snap_w_end(w);
		save_new[r] = now_ms() - t0;
		const uint8_t *s;
		size_t len;
		if (snap_w_finish(w, &s, &len) < 0)
			return 1;
		struct snap_r *rd;
		char e[SNAP_ERR_LEN];
		if (snap_r_open(&rd, s, len, e, sizeof(e)) < 0)
			return 1;
		t0 = now_ms();
		snap_r_begin(rd, "r", 1, NULL);
		snapram_load_region(rd, &gb);
		snap_r_end(rd);
		load_new[r] = now_ms() - t0;
		if (snap_r_failed(rd) || memcmp(a + (64ull << 20), b + (64ull << 20), 1u << 20)) {
			fprintf(stderr, "bench_snapshot_ram: the load differs\n");
			return 1;
		}
		snap_r_free(rd);
		snap_w_free(w);
		munmap(a, SIZE);
		munmap(b, SIZE);

		a = fresh();
		b = fresh();
		touch(a);
		memset(map, 0, SIZE / PG / 8);
		t0 = now_ms();
		old_save(a, map, buf);
		save_old[r] = now_ms() - t0;
		t0 = now_ms();
		old_load(b, map, buf);
		load_old[r] = now_ms() - t0;
		munmap(a, SIZE);
		munmap(b, SIZE);
	}
	double sn = median(save_new), so = median(save_old);
	double ln = median(load_new), lo = median(load_old);
	printf("BENCH snapshot_ram_save_128M_1M_touched %.2f ms vs every-page-read %.2f ms ratio %.3f\n",
	       sn, so, sn / so);
	printf("BENCH snapshot_ram_load_128M_1M_touched %.2f ms vs every-page-read %.2f ms ratio %.3f\n",
	       ln, lo, ln / lo);
	free(map);
	free(buf);
	return 0;
}
