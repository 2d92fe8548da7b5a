/* gm_read/gm_write throughput against plain memcpy of the same sizes.
 * The gm path adds a binary search and range checks per call; the ratio
 * shows what they cost for typical virtio buffer sizes (4 KiB pages,
 * 64 KiB requests). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/gm.h"

#define WORKSET (8u << 20) /* same working set for both paths */

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Keep the compiler from dropping or merging copies. */
static inline void bench_clobber(void)
{
	__asm__ volatile("" ::: "memory");
}

enum bench_op { OP_MEMCPY_READ, OP_MEMCPY_WRITE, OP_GM_READ, OP_GM_WRITE };

/* MB/s for copies of size bytes, best of 3 runs of ~50 ms each. */
static double bench_run(struct gm *gm, uint8_t *ram, uint8_t *buf, size_t size,
			enum bench_op op)
{
	size_t slots = WORKSET / size;
	double best = 0;
	for (int rep = 0; rep < 3; rep++) {
		uint64_t bytes = 0;
		double t0 = bench_now(), t1;
		do {
			for (int k = 0; k < 256; k++) {
				size_t off = (size_t)((bytes / size) % slots) * size;
				switch (op) {
				case OP_MEMCPY_READ:
					memcpy(buf, ram + off, size);
					break;
				case OP_MEMCPY_WRITE:
					memcpy(ram + off, buf, size);
					break;
				case OP_GM_READ:
					if (gm_read(gm, 0x100000 + off, buf, size))
						abort();
					break;
				case OP_GM_WRITE:
					if (gm_write(gm, 0x100000 + off, buf, size))
						abort();
					break;
				}
				bench_clobber();
				bytes += size;
			}
			t1 = bench_now();
		} while (t1 - t0 < 0.05);
		double mbs = (double)bytes / (t1 - t0) / 1e6;
		if (mbs > best)
			best = mbs;
	}
	return best;
}

int main(void)
{
	/* A realistic table: low RAM, a gap, the RAM under test, more above. */
	struct gm *gm = gm_new();
	uint8_t *plain = calloc(1, WORKSET);
	uint8_t *buf = calloc(1, 64 * 1024);
	if (!gm || !plain || !buf ||
	    gm_add_heap(gm, 0, 0x80000, 0, "low") ||
	    gm_add_heap(gm, 0x100000, WORKSET, 0, "ram") ||
	    gm_add_heap(gm, 0x100000000ull, 0x10000, 0, "high")) {
		fprintf(stderr, "bench_gm: setup failed\n");
		return 1;
	}
	uint8_t *ram = gm_region_find(gm, 0x100000)->host;
	memset(ram, 1, WORKSET);
	memset(plain, 1, WORKSET);
	static const struct { size_t size; const char *tag; } sizes[] = {
		{ 4096, "4k" }, { 65536, "64k" },
	};
	for (unsigned i = 0; i < 2; i++) {
		size_t sz = sizes[i].size;
		double mr = bench_run(gm, plain, buf, sz, OP_MEMCPY_READ);
		double gr = bench_run(gm, ram, buf, sz, OP_GM_READ);
		printf("BENCH gm_read_%s %.1f MB/s vs memcpy %.1f MB/s ratio %.3f\n",
		       sizes[i].tag, gr, mr, gr / mr);
		double mw = bench_run(gm, plain, buf, sz, OP_MEMCPY_WRITE);
		double gw = bench_run(gm, ram, buf, sz, OP_GM_WRITE);
		printf("BENCH gm_write_%s %.1f MB/s vs memcpy %.1f MB/s ratio %.3f\n",
		       sizes[i].tag, gw, mw, gw / mw);
	}
	free(buf);
	free(plain);
	gm_free(gm);
	return 0;
}
