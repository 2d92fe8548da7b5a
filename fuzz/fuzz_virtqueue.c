/* libFuzzer target: input bytes become a split or packed virtqueue's
 * descriptor table, rings and buffers in sim guest memory, then a sequence
 * of device operations (pop, push, unpop, notify checks, data copies) with
 * the guest rewriting ring bytes in between.  See fuzz_virtqueue.h for the
 * format and the invariants checked; seeds in fuzz/corpus/virtqueue are
 * written by tests/unit/test_queue_seeds.c. */
#include <stddef.h>
#include <stdint.h>
#include "fuzz_virtqueue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fvq_stats st;

	fvq_run(data, size, &st);
	return 0;
}
