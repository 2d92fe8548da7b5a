/* Snapshot save and restore under KVM (issue 18): save time of a
 * 128 MiB test guest with and without x-ignore-shared, and restore exec ->
 * first KVM_RUN beside a cold boot, QEMU 7.2's -incoming of the same guest
 * and Firecracker's published resume figure.  The driving is in
 * snapshot_bench.py (python3, as the integration tests); figures, not
 * gates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tests/bench/bench_paths.h"

int main(int argc, char **argv)
{
	(void)argc;
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("bench_snapshot: SKIP: no usable /dev/kvm\n");
		return 0;
	}
	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		printf("bench_snapshot: SKIP: python3 not installed\n");
		return 0;
	}
	/* $BUILD/bench/bench_snapshot -> $BUILD; the source tree is its parent
	 * unless ROOT says otherwise. */
	char build[2048], root[2100], cmd[8192];
	bench_build_dir(argv[0], build, sizeof(build));
	const char *r = getenv("ROOT");
	snprintf(root, sizeof(root), "%s/..", build);
	if (r)
		snprintf(root, sizeof(root), "%s", r);
	if (strchr(build, '\'') || strchr(root, '\'')) {
		fprintf(stderr, "bench_snapshot: a quote in the build path\n");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "timeout 600 python3 '%s/tests/bench/snapshot_bench.py' '%s' '%s'",
		 root, build, root);
	int rc = system(cmd);
	return rc == 0 ? 0 : 1;
}
