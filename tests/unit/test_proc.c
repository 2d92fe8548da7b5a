/* proc: -pidfile (written, locked, removed) and -daemonize (the parent
 * waits for the daemon to be ready, and says so in its exit status). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/proc.h"

static void tmp_path(char *buf, size_t len, const char *name)
{
	char dir[] = "/tmp/test_proc.XXXXXX";
	assert_non_null(mkdtemp(dir));
	snprintf(buf, len, "%s/%s", dir, name);
}

static void rm_tmp(const char *path)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	unlink(path);
	*slash = '\0';
	rmdir(dir);
}

static void test_pidfile(void **state)
{
	(void)state;
	char path[256], err[256] = "";
	tmp_path(path, sizeof(path), "vmm.pid");
	struct proc p = PROC_INIT;
	assert_int_equal(proc_write_pidfile(&p, path, err, sizeof(err)), 0);

	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int pid = 0;
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	assert_int_equal(pid, (int)getpid());

	/* A second VMM on the same pidfile is refused while we hold it. */
	struct proc q = PROC_INIT;
	assert_int_equal(proc_write_pidfile(&q, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "locked"));
	assert_int_equal(q.pidfile_fd, -1);

	proc_cleanup(&p);
	assert_int_equal(p.pidfile_fd, -1);
	struct stat st;
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	proc_cleanup(&p); /* twice is harmless */
	rm_tmp(path);
}

static void test_pidfile_bad_path(void **state)
{
	(void)state;
	char err[256] = "";
	struct proc p = PROC_INIT;
	assert_int_equal(proc_write_pidfile(&p, "/nonexistent-dir/x/vmm.pid",
					    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-pidfile: cannot open"));
	assert_int_equal(p.pidfile_fd, -1);
	proc_cleanup(&p);
}

static void test_ready_not_daemonized(void **state)
{
	(void)state;
	struct proc p = PROC_INIT;
	proc_ready(&p); /* no parent waiting: nothing happens */
	assert_int_equal(p.ready_fd, -1);
}

/* Run proc_daemonize in a child; the daemon reports its session and
 * directory through rep, then either says it is ready or dies.  Returns
 * the exit status of the process that called proc_daemonize. */
static int run_daemon(int rep[2], int ready)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(rep[0]);
		struct proc p = PROC_INIT;
		if (proc_daemonize(&p) < 0)
			_exit(99);
		/* Only the daemon gets here. */
		char cwd[64] = "";
		char line[128];
		int n = snprintf(line, sizeof(line), "%d %s\n",
				 getsid(0) == getpid(),
				 getcwd(cwd, sizeof(cwd)) ? cwd : "?");
		if (write(rep[1], line, (size_t)n) != n)
			_exit(98);
		if (ready)
			proc_ready(&p);
		_exit(0);
	}
	close(rep[1]);
	int ws = 0;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	return WEXITSTATUS(ws);
}

static void read_report(int fd, char *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	while (got + 1 < len && !memchr(buf, '\n', got)) {
		assert_int_equal(poll(&pfd, 1, 10000), 1);
		ssize_t r = read(fd, buf + got, len - 1 - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	buf[got] = '\0';
}

static void test_daemonize_ready(void **state)
{
	(void)state;
	int rep[2];
	assert_int_equal(pipe(rep), 0);
	assert_int_equal(run_daemon(rep, 1), 0);
	char buf[128] = "";
	read_report(rep[0], buf, sizeof(buf));
	/* A session leader of its own, out of the launcher's directory. */
	assert_string_equal(buf, "1 /\n");
	close(rep[0]);
}

static void test_daemonize_dies_first(void **state)
{
	(void)state;
	int rep[2];
	assert_int_equal(pipe(rep), 0);
	/* The daemon exits before the VM runs: the launcher sees failure. */
	assert_int_equal(run_daemon(rep, 0), 1);
	char buf[128] = "";
	read_report(rep[0], buf, sizeof(buf));
	assert_string_equal(buf, "1 /\n");
	close(rep[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pidfile),
		cmocka_unit_test(test_pidfile_bad_path),
		cmocka_unit_test(test_ready_not_daemonized),
		cmocka_unit_test(test_daemonize_ready),
		cmocka_unit_test(test_daemonize_dies_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
