/* vCPU hot-plug latency under KVM, next to QEMU q35 with the same test
 * guest doing the guest's part (testguest.action=cpuhp): device_add of a
 * host-x86_64-cpu to the new vCPU running guest code, and device_del to
 * DEVICE_DELETED.  The QMP driving is in cpuhp_bench.py (python3, as the
 * integration tests); figures, not gates. */
#include "tests/bench/bench_paths.h"

int main(int argc, char **argv)
{
	(void)argc;
	return bench_run_driver("bench_cpu_hotplug", argv[0], "cpuhp_bench.py");
}
