/* Shared by the config unit tests: parse a NULL-terminated argument list
 * (without argv[0]) and check the one-line error of a rejected one. */
#ifndef VMM_TESTS_CONFIG_FIXTURE_H
#define VMM_TESTS_CONFIG_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

#define CFGT_MAXARGS 160

/* Parse args into a fresh heap config (freed by the caller). */
static inline int cfgt_parse(struct machine_config **out,
			     const char *const *args, char *err, size_t errlen)
{
	char *argv[CFGT_MAXARGS];
	int argc = 0;

	argv[argc++] = (char *)"vmm";
	for (; *args; args++) {
		assert_true(argc < CFGT_MAXARGS - 1);
		argv[argc++] = (char *)*args;
	}
	argv[argc] = NULL;
	*out = calloc(1, sizeof(**out));
	assert_non_null(*out);
	memset(err, 'X', errlen - 1);
	err[errlen - 1] = '\0';
	return config_parse(*out, argc, argv, err, errlen);
}

/* Parse, expecting success; returns the config. */
#define CFG_OK(...) cfgt_ok((const char *const[]){ __VA_ARGS__, NULL })
static inline struct machine_config *cfgt_ok(const char *const *args)
{
	struct machine_config *cfg;
	char cfgt_err[512];
	int r = cfgt_parse(&cfg, args, cfgt_err, sizeof(cfgt_err));

	if (r != 0)
		fail_msg("expected success, got %d: %s", r, cfgt_err);
	return cfg;
}

/* Expect rejection with a one-line message containing want1 and want2. */
static inline void cfgt_bad(const char *const *args, const char *want1,
			    const char *want2)
{
	struct machine_config *cfg;
	char cfgt_err[512];
	int r = cfgt_parse(&cfg, args, cfgt_err, sizeof(cfgt_err));

	free(cfg);
	if (r != -1)
		fail_msg("expected rejection (%s), got %d", want1, r);
	if (strncmp(cfgt_err, "vmm: ", 5) || strchr(cfgt_err, '\n'))
		fail_msg("not a one-line 'vmm: ' message: '%s'", cfgt_err);
	if (want1 && !strstr(cfgt_err, want1))
		fail_msg("message '%s' lacks '%s'", cfgt_err, want1);
	if (want2 && !strstr(cfgt_err, want2))
		fail_msg("message '%s' lacks '%s'", cfgt_err, want2);
}

struct cfgt_bad_case {
	const char *args[16];
	const char *want1, *want2;
};

static inline void cfgt_bad_table(const struct cfgt_bad_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cfgt_bad(t[i].args, t[i].want1, t[i].want2);
}

#endif
