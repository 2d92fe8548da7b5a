/* PCIe hot-plug latency under KVM, next to QEMU q35 with the same test
 * guest playing pciehp (testguest.action=hotplug): device_add of a
 * virtio-blk-pci to the guest having read sector 0 from it, and
 * device_del to DEVICE_DELETED.  The QMP driving is in hotplug_bench.py
 * (python3, as the integration tests); figures, not gates. */
#include "tests/bench/bench_paths.h"

int main(int argc, char **argv)
{
	(void)argc;
	return bench_run_driver("bench_hotplug", argv[0], "hotplug_bench.py");
}
