/* Memory hot-plug latency under KVM (issue 17), next to QEMU q35 with the same
 * test guest: device_add pc-dimm to the guest having written and read it,
 * device_del to DEVICE_DELETED, and qom-set requested-size of a virtio-mem
 * to the guest having plugged it.  The QMP driving is in memhp_bench.py
 * (python3, as the integration tests); figures, not gates. */
#include "tests/bench/bench_paths.h"

int main(int argc, char **argv)
{
	(void)argc;
	return bench_run_driver("bench_memhp", argv[0], "memhp_bench.py");
}
