/* Where a benchmark finds the programs it runs: $BUILD, or the build
 * directory it was started from ($BUILD/bench/bench_x -> $BUILD). */
#ifndef VMM_BENCH_PATHS_H
#define VMM_BENCH_PATHS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void bench_build_dir(const char *argv0, char *build, size_t size)
{
	const char *b = getenv("BUILD");
	if (b) {
		snprintf(build, size, "%s", b);
		return;
	}
	snprintf(build, size, "%s", argv0);
	for (int up = 0; up < 2; up++) {
		char *s = strrchr(build, '/');
		if (s)
			*s = '\0';
		else
			snprintf(build, size, "%s", up ? "." : "..");
	}
}

/* A KVM benchmark whose driving is a Python script in tests/bench (as
 * the integration tests drive QMP): run SCRIPT with the build directory
 * and the source tree (its parent unless ROOT says otherwise).  Without
 * /dev/kvm or python3 it prints a SKIP line and succeeds: figures, not
 * gates.  The exit status for main(). */
static inline int bench_run_driver(const char *name, const char *argv0,
				   const char *script)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("%s: SKIP: no usable /dev/kvm\n", name);
		return 0;
	}
	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		printf("%s: SKIP: python3 not installed\n", name);
		return 0;
	}
	char build[2048], root[2100], cmd[8192];
	bench_build_dir(argv0, build, sizeof(build));
	const char *r = getenv("ROOT");
	snprintf(root, sizeof(root), "%s/..", build);
	if (r)
		snprintf(root, sizeof(root), "%s", r);
	if (strchr(build, '\'') || strchr(root, '\'')) {
		fprintf(stderr, "%s: a quote in the build path\n", name);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "timeout 600 python3 '%s/tests/bench/%s' '%s' '%s'",
		 root, script, build, root);
	return system(cmd) == 0 ? 0 : 1;
}

#endif
