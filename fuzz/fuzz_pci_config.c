/* libFuzzer target: PCI config space through ECAM and 0xCF8/0xCFC, BAR
 * programming and decode, MSI-X table and PBA accesses, interrupts and
 * sim-driver steps interleaved; see fuzz_pci_config.h for the format and
 * the invariants checked.  Seeds in fuzz/corpus/pci_config are recorded by
 * tests/unit/test_virtio_pci_seeds.c. */
#include <stddef.h>
#include <stdint.h>
#include "fuzz_pci_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fpci_stats st;
	fpci_run(data, size, &st);
	return 0;
}
