/* Snapshot save and restore under KVM (issue 18): save time of a
 * 128 MiB test guest with and without x-ignore-shared, and restore exec ->
 * first KVM_RUN beside a cold boot, QEMU 7.2's -incoming of the same guest
 * and Firecracker's published resume figure.  The driving is in
 * snapshot_bench.py (python3, as the integration tests); figures, not
 * gates. */
#include "tests/bench/bench_paths.h"

int main(int argc, char **argv)
{
	(void)argc;
	return bench_run_driver("bench_snapshot", argv[0], "snapshot_bench.py");
}
