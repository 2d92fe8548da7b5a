/* Where a benchmark finds the programs it runs: $BUILD, or the build
 * directory it was started from ($BUILD/bench/bench_x -> $BUILD). */
#ifndef VMM_BENCH_PATHS_H
#define VMM_BENCH_PATHS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif
