/* The command/file helper (core/spawn.h): a stream written to `cat >F`
 * lands in F before the exit status comes back; a command's output is
 * read; exit codes and signals are reported; files open for writing
 * (created 0600, truncated) and reading; bad requests and a cancelled
 * wait fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/spawn.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vmm-spawn.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_all(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void test_to_cmd(void **state)
{
	(void)state;
	char err[128], cmd[256], path[128];
	struct spawn *s = spawn_new(err, sizeof(err));
	assert_non_null(s);
	snprintf(path, sizeof(path), "%s/out", dir);
	snprintf(cmd, sizeof(cmd), "sleep 0.05; cat >'%s'", path);
	int fd = spawn_shell(s, cmd, SPAWN_TO_CMD);
	assert_true(fd >= 0);
	write_all(fd, "stream-bytes", 12);
	close(fd);
	assert_int_equal(spawn_wait(s), 0);
	/* Written by the time the status came. */
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char buf[32] = "";
	assert_int_equal(fread(buf, 1, sizeof(buf), f), 12);
	fclose(f);
	assert_memory_equal(buf, "stream-bytes", 12);
	/* Exit codes, a signal. */
	fd = spawn_shell(s, "exit 3", SPAWN_TO_CMD);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(spawn_wait(s), 3);
	fd = spawn_shell(s, "kill -9 $$", SPAWN_TO_CMD);
	close(fd);
	assert_int_equal(spawn_wait(s), 128 + 9);
	spawn_free(s);
}

static void test_from_cmd_and_open(void **state)
{
	(void)state;
	char err[128], path[128];
	struct spawn *s = spawn_new(err, sizeof(err));
	assert_non_null(s);
	int fd = spawn_shell(s, "printf 'from-command'", SPAWN_FROM_CMD);
	assert_true(fd >= 0);
	char buf[32] = "";
	size_t got = 0;
	ssize_t n;
	while ((n = read(fd, buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n;
	close(fd);
	assert_int_equal(got, 12);
	assert_memory_equal(buf, "from-command", 12);
	assert_int_equal(spawn_wait(s), 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = spawn_open(s, path, true);
	assert_true(fd >= 0);
	write_all(fd, "0123456789", 10);
	close(fd);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Truncated on the next open for writing. */
	fd = spawn_open(s, path, true);
	write_all(fd, "ab", 2);
	close(fd);
	fd = spawn_open(s, path, false);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 2);
	close(fd);
	snprintf(path, sizeof(path), "%s/none/x", dir);
	assert_int_equal(spawn_open(s, path, false), -ENOENT);
	assert_int_equal(spawn_open(s, "", false), -EINVAL);
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(spawn_shell(s, big, SPAWN_TO_CMD), -EINVAL);
	/* Still serving after the refusals. */
	fd = spawn_shell(s, "true", SPAWN_TO_CMD);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(spawn_wait(s), 0);
	spawn_free(s);
}

static void test_cancel(void **state)
{
	(void)state;
	char err[128];
	struct spawn *s = spawn_new(err, sizeof(err));
	assert_non_null(s);
	spawn_cancel(s);
	assert_int_equal(spawn_wait(s), -ESHUTDOWN);
	spawn_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_to_cmd),
		cmocka_unit_test(test_from_cmd_and_open),
		cmocka_unit_test(test_cancel),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
