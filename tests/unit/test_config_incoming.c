/* -incoming (core/config_incoming.c): defer, exec:CMD and file:PATH are
 * taken with their argument; what vmm cannot read from (tcp:, unix:, fd:,
 * an empty command or path), a second -incoming, defer without -qmp and
 * accel=sim are refused with one line; a relative file: path is made
 * absolute for -daemonize like every other path. */
#include "config_fixture.h"

static void test_incoming_ok(void **state)
{
	(void)state;
	struct machine_config *cfg = CFG_OK("-kernel", "k", "-incoming", "defer",
					     "-qmp", "unix:q.sock,server,nowait");
	assert_int_equal(cfg->incoming, CFG_INCOMING_DEFER);
	free(cfg);
	cfg = CFG_OK("-kernel", "k", "-incoming", "exec:cat /run/t/state");
	assert_int_equal(cfg->incoming, CFG_INCOMING_EXEC);
	assert_string_equal(cfg->incoming_arg, "cat /run/t/state");
	free(cfg);
	cfg = CFG_OK("-kernel", "k", "-incoming", "file:t/state");
	assert_int_equal(cfg->incoming, CFG_INCOMING_FILE);
	assert_string_equal(cfg->incoming_arg, "t/state");
	char err[256];
	assert_int_equal(config_absolute_paths(cfg, "/srv", err, sizeof(err)), 0);
	assert_string_equal(cfg->incoming_arg, "/srv/t/state");
	free(cfg);
	/* exec: commands stay as given: they run in a shell. */
	cfg = CFG_OK("-kernel", "k", "-incoming", "exec:cat state");
	assert_int_equal(config_absolute_paths(cfg, "/srv", err, sizeof(err)), 0);
	assert_string_equal(cfg->incoming_arg, "cat state");
	free(cfg);
	cfg = CFG_OK("-kernel", "k");
	assert_int_equal(cfg->incoming, CFG_INCOMING_NONE);
	free(cfg);
}

static void test_incoming_refused(void **state)
{
	(void)state;
	static const struct cfgt_bad_case bad[] = {
		{ { "-kernel", "k", "-incoming", "tcp:0:4444" }, "-incoming", "defer, exec:CMD or file:PATH" },
		{ { "-kernel", "k", "-incoming", "unix:/s" }, "-incoming", "'unix:/s'" },
		{ { "-kernel", "k", "-incoming", "fd:3" }, "-incoming", NULL },
		{ { "-kernel", "k", "-incoming", "exec:" }, "-incoming", "the command is empty" },
		{ { "-kernel", "k", "-incoming", "file:" }, "-incoming", "the path is empty" },
		{ { "-kernel", "k", "-incoming", "file:a", "-incoming", "file:b" }, "-incoming", "given twice" },
		{ { "-kernel", "k", "-incoming", "defer" }, "-incoming", "needs -qmp" },
		{ { "-machine", "microvm,accel=sim", "-incoming", "file:a" }, "-incoming", "accel=kvm" },
	};
	cfgt_bad_table(bad, sizeof(bad) / sizeof(bad[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incoming_ok),
		cmocka_unit_test(test_incoming_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
