/* Command-line fuzzing: split an input at NUL and newline bytes into an
 * argv ("vmm" first) and parse it quietly (--help/--version print to
 * stdout, which would drown the fuzzer's own output). */
#ifndef VMM_FUZZ_ARGV_H
#define VMM_FUZZ_ARGV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"

#define FUZZ_MAX_ARGS 256

struct fuzz_argv {
	char *text;
	char *argv[FUZZ_MAX_ARGS + 1];
	int argc;
};

static inline void fuzz_argv_split(struct fuzz_argv *a, const uint8_t *data,
				   size_t size)
{
	char *p;

	a->text = malloc(size + 1);
	memcpy(a->text, data, size);
	a->text[size] = '\0';
	a->argc = 0;
	a->argv[a->argc++] = "vmm";
	p = a->text;
	for (size_t i = 0; i <= size && a->argc < FUZZ_MAX_ARGS; i++) {
		if (a->text[i] == '\n' || a->text[i] == '\0') {
			a->text[i] = '\0';
			a->argv[a->argc++] = p;
			p = &a->text[i + 1];
		}
	}
	a->argv[a->argc] = NULL;
}

static inline int fuzz_argv_parse(struct fuzz_argv *a, struct machine_config *cfg,
				  char *err, size_t errlen)
{
	FILE *saved = stdout;
	int rc;

	stdout = fopen("/dev/null", "w");
	rc = config_parse(cfg, a->argc, a->argv, err, errlen);
	fclose(stdout);
	stdout = saved;
	return rc;
}

static inline void fuzz_argv_free(struct fuzz_argv *a)
{
	free(a->text);
}

#endif
