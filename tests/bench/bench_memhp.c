/* Memory hot-plug latency under KVM (issue 17), next to QEMU q35 with the same
 * test guest: device_add pc-dimm to the guest having written and read it,
 * device_del to DEVICE_DELETED, and qom-set requested-size of a virtio-mem
 * to the guest having plugged it.  The QMP driving is in memhp_bench.py
 * (python3, as the integration tests); figures, not gates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tests/bench/bench_paths.h"

int main(int argc, char **argv)
{
	(void)argc;
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("bench_memhp: SKIP: no usable /dev/kvm\n");
		return 0;
	}
	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		printf("bench_memhp: SKIP: python3 not installed\n");
		return 0;
	}
	/* $BUILD/bench/bench_memhp -> $BUILD; the source tree is its parent
	 * unless ROOT says otherwise. */
	char build[2048], root[2100], cmd[8192];
	bench_build_dir(argv[0], build, sizeof(build));
	const char *r = getenv("ROOT");
	snprintf(root, sizeof(root), "%s/..", build);
	if (r)
		snprintf(root, sizeof(root), "%s", r);
	if (strchr(build, '\'') || strchr(root, '\'')) {
		fprintf(stderr, "bench_memhp: a quote in the build path\n");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "timeout 600 python3 '%s/tests/bench/memhp_bench.py' '%s' '%s'",
		 root, build, root);
	int rc = system(cmd);
	return rc == 0 ? 0 : 1;
}
