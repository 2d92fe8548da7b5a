/* libFuzzer target: a virtio-mmio register sequence with guest memory
 * pokes and device-side events in between; see fuzz_virtio_mmio.h for the
 * input format and the invariants checked.  Seeds in
 * fuzz/corpus/virtio_mmio are recorded by tests/unit/test_virtio_mmio.c. */
#include <stddef.h>
#include <stdint.h>
#include "fuzz_virtio_mmio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fmmio_stats st;
	fmmio_run(data, size, &st);
	return 0;
}
