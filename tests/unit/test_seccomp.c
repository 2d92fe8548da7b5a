/* The seccomp sandbox (kvm/seccomp.c).  Each case forks a child that
 * installs the filter, so the test process itself stays unfiltered: what
 * the running VMM needs still works (I/O, threads, allowed ioctls, unix
 * sockets when a rebuild may come), and what it must never do (execve,
 * fork, ptrace, AF_INET sockets, executable memory, foreign ioctls,
 * signals to other processes) is refused with the SIGSYS report on stderr
 * and exit status 1, or (openat without rebuild) with EACCES. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm/seccomp.h"

/* What a child did: exit status (or -signal) and what it wrote to
 * stderr. */
struct outcome {
	int status;
	char err[1024];
};

typedef int (*child_fn)(void);

/* Fork; the child redirects stderr into a pipe, installs the filter and
 * runs fn, whose return value is its exit status (_exit: no atexit
 * handlers, no sanitizer exit checks under the filter). */
static void run_child_opts(const struct kvm_seccomp_opts *opts, child_fn fn,
			   struct outcome *o);

static void run_child(bool rebuild, child_fn fn, struct outcome *o)
{
	struct kvm_seccomp_opts so = { .allow_rebuild = rebuild,
				       .in_sanitizer = true };
	run_child_opts(&so, fn, o);
}

static void run_child_opts(const struct kvm_seccomp_opts *opts, child_fn fn,
			   struct outcome *o)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		close(p[1]);
		char msg[256];
		if (kvm_seccomp_install(opts, msg, sizeof(msg)) != 0) {
			fprintf(stderr, "install: %s\n", msg);
			_exit(100);
		}
		if (!kvm_seccomp_active())
			_exit(101);
		_exit(fn());
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < sizeof(o->err) &&
	       (r = read(p[0], o->err + n, sizeof(o->err) - 1 - n)) > 0)
		n += (size_t)r;
	o->err[n] = 0;
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static void expect_blocked(bool rebuild, child_fn fn, const char *call)
{
	struct outcome o;
	run_child(rebuild, fn, &o);
	if (o.status != 1 || !strstr(o.err, call))
		fprintf(stderr, "child status %d, stderr: %s\n", o.status, o.err);
	assert_int_equal(o.status, 1);
	assert_non_null(strstr(o.err, "vmm: seccomp: blocked system call "));
	assert_non_null(strstr(o.err, call));
	assert_non_null(strstr(o.err, "-disable-seccomp"));
}

static void expect_ok(bool rebuild, child_fn fn)
{
	struct outcome o;
	run_child(rebuild, fn, &o);
	if (o.status != 0)
		fprintf(stderr, "child status %d, stderr: %s\n", o.status, o.err);
	assert_int_equal(o.status, 0);
	assert_string_equal(o.err, "");
}

/* ---- what a running VMM does: allowed ---------------------------------- */

static void *thread_body(void *arg)
{
	/* A zero-length write: the call runs, nothing is printed. */
	return write(STDOUT_FILENO, "", 0) == 0 ? arg : NULL;
}

static int vmm_io_and_threads(void)
{
	/* A thread: clone(CLONE_THREAD) after clone3 says ENOSYS. */
	int token = 0;
	pthread_t t;
	if (pthread_create(&t, NULL, thread_body, &token) != 0)
		return 3;
	void *ret = NULL;
	if (pthread_join(t, &ret) != 0 || ret != &token)
		return 4;
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || getpid() <= 0)
		return 5;
	/* malloc of a large block: mmap without PROT_EXEC. */
	void *p = malloc(1 << 22);
	if (!p)
		return 6;
	memset(p, 1, 1 << 22);
	free(p);
	/* An ioctl request from the runtime list, on a non-KVM fd: the
	 * filter lets it through, the kernel refuses it. */
	if (ioctl(STDOUT_FILENO, KVM_RUN, 0) == 0 || errno == ENOSYS)
		return 7;
	/* openat without rebuild: EACCES, not a kill. */
	if (open("/dev/null", O_RDONLY) >= 0 || errno != EACCES)
		return 8;
	/* Thread names (our own) and signals inside the process. */
	if (prctl(PR_SET_NAME, "vcpu0", 0, 0, 0) != 0)
		return 9;
	if (syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0) != 0)
		return 10;
	return 0;
}

static int vmm_rebuild(void)
{
	/* A rebuild opens files and unix sockets again. */
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 2;
	close(fd);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 3;
	close(s);
	/* A KVM set-up ioctl passes the filter (the kernel says ENOTTY). */
	if (ioctl(STDOUT_FILENO, KVM_CREATE_VM, 0) == 0 || errno == ENOSYS)
		return 4;
	return 0;
}

static void test_allowed_running(void **state)
{
	(void)state;
	expect_ok(false, vmm_io_and_threads);
}

static void test_allowed_rebuild(void **state)
{
	(void)state;
	expect_ok(true, vmm_rebuild);
}

/* A client chardev with reconnect= under -no-reboot: a new unix socket
 * and a connect (here to nobody: ENOENT, not the trap), nothing else. */
static int vmm_reconnect(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 2;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, "/nonexistent/vmm-peer.sock");
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != ENOENT)
		return 3;
	close(s);
	return 0;
}

static void test_allowed_reconnect(void **state)
{
	(void)state;
	struct kvm_seccomp_opts so = { .allow_unix_connect = true,
				       .in_sanitizer = true };
	struct outcome o;
	run_child_opts(&so, vmm_reconnect, &o);
	assert_int_equal(o.status, 0);
}

/* ---- never allowed: SIGSYS report, exit 1 ------------------------------ */

static int do_execve(void)
{
	char *argv[] = { (char *)"/bin/true", NULL };
	execve("/bin/true", argv, NULL);
	return 0; /* not reached: the filter ends the process */
}

static int do_fork(void)
{
	pid_t p = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (p == 0)
		_exit(0);
	return 0;
}

static int do_inet_socket(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
	return 0;
}

static int do_unix_socket(void)
{
	socket(AF_UNIX, SOCK_STREAM, 0);
	return 0;
}

static int do_exec_mmap(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int do_exec_mprotect(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 0;
}

static int do_foreign_ioctl(void)
{
	ioctl(STDOUT_FILENO, 0xdead, 0);
	return 0;
}

static int do_build_ioctl(void)
{
	ioctl(STDOUT_FILENO, KVM_CREATE_VM, 0);
	return 0;
}

static int do_ptrace(void)
{
	syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
	return 0;
}

static int do_kill_other(void)
{
	syscall(SYS_tgkill, 1, 1, 0);
	return 0;
}

static int do_from_thread_body(void)
{
	socket(AF_INET6, SOCK_DGRAM, 0);
	return 0;
}

static void *thread_violation(void *arg)
{
	(void)arg;
	do_from_thread_body();
	return NULL;
}

/* A thread started after the filter inherits it. */
static int do_thread_violation(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, thread_violation, NULL) != 0)
		return 2;
	pthread_join(t, NULL);
	return 0;
}

/* Each blocked-call test is a list of children that must die on the
 * filter, naming `call` in the message: a rebuild-capable filter
 * (rebuild true) or the running one. A NULL fn ends a list. */
struct blocked {
	bool rebuild;
	child_fn fn;
	const char *call;
};

static const struct blocked execve_blocked[] = {
	{ false, do_execve, "execve" },
	{ true, do_execve, "execve" },
	{ 0 },
};
static const struct blocked fork_blocked[] = {
	{ true, do_fork, "clone" },
	{ 0 },
};
static const struct blocked sockets[] = {
	{ true, do_inet_socket, "socket (41) argument 0x2" },
	/* Unix sockets only for a rebuild. */
	{ false, do_unix_socket, "socket" },
	{ 0 },
};
static const struct blocked exec_memory_blocked[] = {
	{ true, do_exec_mmap, "mmap" },
	{ true, do_exec_mprotect, "mprotect" },
	{ 0 },
};
static const struct blocked ioctl_requests[] = {
	{ true, do_foreign_ioctl, "ioctl (16) request 0xdead" },
	/* KVM set-up requests only when the machine may be rebuilt. */
	{ false, do_build_ioctl, "ioctl (16) request 0xae01" },
	{ 0 },
};
static const struct blocked ptrace_and_signals_blocked[] = {
	{ true, do_ptrace, "ptrace" },
	{ true, do_kill_other, "tgkill" },
	{ 0 },
};
static const struct blocked thread_inherits[] = {
	{ false, do_thread_violation, "socket" },
	{ 0 },
};

static void run_blocked(void **state)
{
	for (const struct blocked *b = *state; b->fn; b++)
		expect_blocked(b->rebuild, b->fn, b->call);
}

/* One cmocka test per list, named test_<list> as before. */
#define BLOCKED_TEST(list) \
	{ .name = "test_" #list, .test_func = run_blocked, \
	  .initial_state = (void *)(list) }

/* TSYNC: a thread that already ran before the filter gets it too. */
struct tsync {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int phase;
};

static void *tsync_thread(void *arg)
{
	struct tsync *t = arg;
	pthread_mutex_lock(&t->mu);
	t->phase = 1;
	pthread_cond_broadcast(&t->cv);
	while (t->phase != 2)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
	socket(AF_INET, SOCK_STREAM, 0);
	return NULL;
}

static void test_tsync_covers_running_threads(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		struct tsync t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
		pthread_t th;
		if (pthread_create(&th, NULL, tsync_thread, &t) != 0)
			_exit(2);
		pthread_mutex_lock(&t.mu);
		while (t.phase != 1)
			pthread_cond_wait(&t.cv, &t.mu);
		pthread_mutex_unlock(&t.mu);
		struct kvm_seccomp_opts so = { .allow_rebuild = true,
					       .in_sanitizer = true };
		char msg[256];
		if (kvm_seccomp_install(&so, msg, sizeof(msg)) != 0)
			_exit(3);
		pthread_mutex_lock(&t.mu);
		t.phase = 2;
		pthread_cond_broadcast(&t.cv);
		pthread_mutex_unlock(&t.mu);
		pthread_join(th, NULL);
		_exit(0);
	}
	close(p[1]);
	char buf[512];
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_non_null(strstr(buf, "blocked system call socket"));
}

static void test_rule_counts(void **state)
{
	(void)state;
	struct kvm_seccomp_opts strict = { .allow_rebuild = false };
	struct kvm_seccomp_opts rebuild = { .allow_rebuild = true };
	int a = kvm_seccomp_rule_count(&strict), b = kvm_seccomp_rule_count(&rebuild);
	assert_true(a > 40);
	/* The rebuild set is a strict superset. */
	assert_true(b > a);
	assert_false(kvm_seccomp_active()); /* the test process itself */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_counts),
		cmocka_unit_test(test_allowed_running),
		cmocka_unit_test(test_allowed_rebuild),
		cmocka_unit_test(test_allowed_reconnect),
		BLOCKED_TEST(execve_blocked),
		BLOCKED_TEST(fork_blocked),
		BLOCKED_TEST(sockets),
		BLOCKED_TEST(exec_memory_blocked),
		BLOCKED_TEST(ioctl_requests),
		BLOCKED_TEST(ptrace_and_signals_blocked),
		BLOCKED_TEST(thread_inherits),
		cmocka_unit_test(test_tsync_covers_running_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
