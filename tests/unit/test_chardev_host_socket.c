/* chardev_host: the unix socket server (-chardev socket,server): nowait,
 * wait (and SIGTERM while waiting), reconnects, errors, back-pressure
 * from a slow client, and output no client reads never stalling. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "core/chardev_host.h"
#include "core/evloop.h"
#include "core/log.h"
#include "chardev_host_fixture.h"

static int connect_to(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* A fresh directory for one test's socket at dir/name. */
struct sockdir {
	char dir[32];
	char path[128];
};

static void sockdir_make(struct sockdir *sd, const char *name)
{
	strcpy(sd->dir, "/tmp/vmm-chr-sock-XXXXXX");
	assert_non_null(mkdtemp(sd->dir));
	snprintf(sd->path, sizeof(sd->path), "%s/%s", sd->dir, name);
}

/* Read what the backend sends to client cl, running the loop between
 * reads (the backend drains its buffer from the loop), until `want` bytes
 * came or `tries` rounds passed; the byte count. With keep the bytes are
 * stored at buf in order (cap >= want), else buf is scratch of cap bytes. */
static size_t client_read_all(struct evloop *loop, int cl, uint8_t *buf,
			      size_t cap, size_t want, bool keep, int tries)
{
	size_t n = 0;
	fcntl(cl, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < tries && n < want; i++) {
		ssize_t r = keep ? read(cl, buf + n, want - n) : read(cl, buf, cap);
		if (r > 0)
			n += (size_t)r;
		evloop_run_once(loop, 1);
	}
	return n;
}

static void test_socket_nowait_reconnect(void **state)
{
	(void)state;
	struct sockdir sd;
	sockdir_make(&sd, "console.sock");
	const char *path = sd.path;
	struct evloop *loop = evloop_new(NULL);
	struct chr *c = chr_socket_new("c0", path, false, loop, NULL);
	assert_non_null(c);
	assert_false(c->connected);
	struct fe f = { .room = 64 };
	attach(c, &f);
	/* Written while nobody is connected: kept for the client. */
	assert_int_equal(chr_write(c, (const uint8_t *)"early", 5), 5);
	assert_int_equal(chr_host_out_pending(c), 5);
	int cl = connect_to(path);
	SPIN_UNTIL(loop, f.up == 1);
	assert_true(c->connected);
	char buf[16] = { 0 };
	assert_int_equal(read(cl, buf, 5), 5);
	assert_memory_equal(buf, "early", 5);
	assert_int_equal(write(cl, "in", 2), 2);
	SPIN_UNTIL(loop, f.got_len == 2);
	assert_memory_equal(f.got, "in", 2);
	/* Client leaves; the next one is accepted. */
	close(cl);
	SPIN_UNTIL(loop, f.down == 1);
	assert_false(c->connected);
	assert_int_equal(chr_write(c, (const uint8_t *)"between", 7), 7);
	cl = connect_to(path);
	SPIN_UNTIL(loop, f.up == 2);
	assert_int_equal(read(cl, buf, 7), 7);
	assert_memory_equal(buf, "between", 7);
	assert_int_equal(chr_write(c, (const uint8_t *)"live", 4), 4);
	assert_int_equal(read(cl, buf, 4), 4);
	assert_memory_equal(buf, "live", 4);
	/* Peer gone while we write: disconnect, keep the bytes, no SIGPIPE. */
	close(cl);
	SPIN_UNTIL(loop, f.down == 2);
	chr_close(c);
	/* The socket file is removed on close. */
	struct stat st;
	assert_int_equal(stat(path, &st), -1);
	/* A stale socket file from an earlier run is replaced. */
	int stale = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(stale);
	c = chr_socket_new("c0", path, false, loop, NULL);
	assert_non_null(c);
	chr_close(c);
	rmdir(sd.dir);
	evloop_free(loop);
}

struct waiter {
	const char *path;
	int fd;
};

static void *late_client(void *arg)
{
	struct waiter *w = arg;
	struct stat st;
	for (int i = 0; i < 200 && stat(w->path, &st) != 0; i++)
		usleep(5000);
	usleep(10000);
	w->fd = connect_to(w->path);
	return NULL;
}

/* wait=on with nobody connecting must not outlast a termination signal:
 * the VMM keeps SIGTERM blocked (for its signalfd), so a pending one ends
 * the wait with EINTR instead of a VMM that `kill` cannot stop. */
static void test_socket_wait_gives_way_to_sigterm(void **state)
{
	(void)state;
	struct sockdir sd;
	sigset_t set, old;
	int sig;
	struct timespec zero = { 0, 0 };

	sockdir_make(&sd, "term.sock");
	struct evloop *loop = evloop_new(NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	raise(SIGTERM); /* pending, as if `kill` came during the wait */
	assert_null(chr_socket_new("t", sd.path, true, loop, NULL));
	assert_int_equal(errno, EINTR);
	/* The signal is still there for the VMM's loop to read. */
	sig = sigtimedwait(&set, NULL, &zero);
	assert_int_equal(sig, SIGTERM);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	evloop_free(loop);
	unlink(sd.path);
	rmdir(sd.dir);
}

static void test_socket_wait_and_errors(void **state)
{
	(void)state;
	struct sockdir sd;
	sockdir_make(&sd, "wait.sock");
	const char *path = sd.path;
	struct evloop *loop = evloop_new(NULL);
	struct waiter w = { .path = path, .fd = -1 };
	pthread_t th;
	pthread_create(&th, NULL, late_client, &w);
	struct chr *c = chr_socket_new("c1", path, true, loop, NULL);
	pthread_join(th, NULL);
	assert_non_null(c);
	assert_true(c->connected);
	assert_int_equal(chr_write(c, (const uint8_t *)"hi", 2), 2);
	char buf[4];
	assert_int_equal(read(w.fd, buf, 2), 2);
	/* Input held back while the front end has no room. */
	struct fe f = { .room = 0 };
	attach(c, &f);
	assert_int_equal(write(w.fd, "abc", 3), 3);
	for (int i = 0; i < 5; i++)
		evloop_run_once(loop, 5);
	assert_int_equal(f.got_len, 0);
	f.room = 3;
	chr_accept_input(c);
	SPIN_UNTIL(loop, f.got_len == 3);
	close(w.fd);
	chr_close(c);
	/* Errors: path too long, directory missing, a non-socket file. */
	struct log *log = log_new_memory(LOG_INFO);
	char lp[300];
	memset(lp, 'a', sizeof(lp) - 1);
	lp[sizeof(lp) - 1] = '\0';
	assert_null(chr_socket_new("e", lp, false, loop, log));
	assert_int_equal(errno, ENAMETOOLONG);
	assert_null(chr_socket_new("e", NULL, false, loop, log));
	assert_null(chr_socket_new("e", "/nonexistent/dir/s.sock", false, loop, log));
	snprintf(sd.path, sizeof(sd.path), "%s/plain", sd.dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	close(fd);
	assert_null(chr_socket_new("e", path, false, loop, log));
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(log_memory_text(log), "cannot listen"));
	unlink(path);
	rmdir(sd.dir);
	log_free(log);
	evloop_free(loop);
}

static void test_socket_backpressure(void **state)
{
	(void)state;
	struct sockdir sd;
	sockdir_make(&sd, "bp.sock");
	const char *path = sd.path;
	struct evloop *loop = evloop_new(NULL);
	struct chr *c = chr_socket_new("bp", path, false, loop, NULL);
	struct fe f = { .room = 64 };
	attach(c, &f);
	int cl = connect_to(path);
	SPIN_UNTIL(loop, f.up == 1);
	/* The client does not read: the socket fills, then our buffer. */
	static uint8_t chunk[8192];
	memset(chunk, 'y', sizeof(chunk));
	size_t total = 0, took;
	do {
		took = chr_write(c, chunk, sizeof(chunk));
		total += took;
	} while (took == sizeof(chunk));
	assert_int_equal(chr_host_out_pending(c), CHR_OUT_BUF);
	/* Input still flows while output is backed up (one fd, both ways). */
	assert_int_equal(write(cl, "k", 1), 1);
	SPIN_UNTIL(loop, f.got_len == 1);
	/* Now the client reads everything. */
	static uint8_t sink[65536];
	size_t got = client_read_all(loop, cl, sink, sizeof(sink), total, false, 4000);
	assert_int_equal(got, total);
	assert_true(f.writable_calls >= 1);
	/* Peer gone before the loop notices: the write itself detects it
	 * (EPIPE, no signal) and the bytes are kept for the next client. */
	close(cl);
	usleep(1000);
	size_t w = chr_write(c, (const uint8_t *)"lost?", 5);
	assert_int_equal(w, 5);
	SPIN_UNTIL(loop, f.down == 1);
	assert_int_equal(chr_host_out_pending(c), 5);
	cl = connect_to(path);
	SPIN_UNTIL(loop, f.up == 2);
	char buf[8];
	assert_int_equal(read(cl, buf, 5), 5);
	assert_memory_equal(buf, "lost?", 5);
	close(cl);
	SPIN_UNTIL(loop, f.down == 2);
	/* Closing with output still buffered and nobody connected. */
	assert_int_equal(chr_write(c, (const uint8_t *)"bye", 3), 3);
	chr_close(c);
	rmdir(sd.dir);
	evloop_free(loop);
}

static void test_unread_output_never_stalls(void **state)
{
	(void)state;
	struct sockdir sd;
	sockdir_make(&sd, "late.sock");
	const char *path = sd.path;
	struct evloop *loop = evloop_new(NULL);
	struct log *log = log_new_memory(LOG_INFO);
	struct chr *c = chr_socket_new("late", path, false, loop, log);
	struct fe f = { .room = 8 };
	attach(c, &f);
	/* 100 KiB with nobody connected: all accepted, newest 64 KiB kept. */
	static uint8_t big[100 * 1024];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i / 1024);
	assert_int_equal(chr_write(c, big, 30 * 1024), 30 * 1024);
	assert_int_equal(chr_write(c, big + 30 * 1024, 70 * 1024), 70 * 1024);
	assert_int_equal(chr_host_out_pending(c), CHR_OUT_BUF);
	assert_non_null(strstr(log_memory_text(log), "nobody reading"));
	/* One write bigger than the whole buffer keeps only its tail. */
	assert_int_equal(chr_write(c, big, sizeof(big)), sizeof(big));
	assert_int_equal(chr_host_out_pending(c), CHR_OUT_BUF);
	int cl = connect_to(path);
	SPIN_UNTIL(loop, f.up == 1);
	static uint8_t got[CHR_OUT_BUF];
	size_t n = client_read_all(loop, cl, got, sizeof(got), CHR_OUT_BUF, true, 2000);
	assert_int_equal(n, CHR_OUT_BUF);
	assert_memory_equal(got, big + sizeof(big) - CHR_OUT_BUF, CHR_OUT_BUF);
	close(cl);
	chr_close(c);
	rmdir(sd.dir);

	/* A pty nobody opened: the guest's output never reports "full". */
	c = chr_pty_new("pty1", loop, NULL);
	if (c) {
		for (int i = 0; i < 4; i++)
			assert_int_equal(chr_write(c, big, sizeof(big)), sizeof(big));
		assert_int_equal(chr_host_out_pending(c), CHR_OUT_BUF);
		chr_close(c);
	}
	log_free(log);
	evloop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_nowait_reconnect),
		cmocka_unit_test(test_socket_wait_and_errors),
		cmocka_unit_test(test_socket_backpressure),
		cmocka_unit_test(test_socket_wait_gives_way_to_sigterm),
		cmocka_unit_test(test_unread_output_never_stalls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
