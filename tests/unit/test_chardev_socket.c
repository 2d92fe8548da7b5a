/* chardev_socket: the unix socket client (connect, reconnect=) and what a
 * server may and may not do to a path that is already there: another
 * program's live socket is never removed or stolen, a stale one is
 * replaced, and only the file we created is removed at close. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "core/chardev_host.h"
#include "core/evloop.h"
#include "core/log.h"

struct fe {
	uint8_t got[256];
	size_t got_len;
	int up, down;
	bool full;      /* takes no input (a guest not reading its UART) */
};

static size_t fe_can_receive(void *o)
{
	struct fe *f = o;
	return f->full ? 0 : sizeof(f->got) - f->got_len;
}

static void fe_receive(void *o, const uint8_t *buf, size_t len)
{
	struct fe *f = o;
	memcpy(f->got + f->got_len, buf, len);
	f->got_len += len;
}

static void fe_connected(void *o, int up)
{
	struct fe *f = o;
	if (up)
		f->up++;
	else
		f->down++;
}

static void attach(struct chr *c, struct fe *f)
{
	struct chr_frontend fe = { fe_can_receive, fe_receive, NULL,
				   fe_connected, f };
	chr_attach(c, &fe);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the loop until cond, with a deadline (reconnects take a second). */
#define SPIN_UNTIL(loop, cond, ms)                                     \
	do {                                                           \
		uint64_t end_ = mono_ms() + (ms);                      \
		while (!(cond) && mono_ms() < end_)                    \
			evloop_run_once((loop), 20);                   \
		assert_true(cond);                                     \
	} while (0)

struct sockdir {
	char dir[32];
	char path[128];
};

static void sockdir_make(struct sockdir *sd, const char *name)
{
	strcpy(sd->dir, "/tmp/vmm-chr-cli-XXXXXX");
	assert_non_null(mkdtemp(sd->dir));
	snprintf(sd->path, sizeof(sd->path), "%s/%s", sd->dir, name);
}

static void sockdir_done(struct sockdir *sd)
{
	unlink(sd->path);
	assert_int_equal(rmdir(sd->dir), 0);
}

static struct sockaddr_un addr_of(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	return sa;
}

/* Another program's server: a listening socket at path. */
static int listener(const char *path)
{
	struct sockaddr_un sa = addr_of(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static ino_t inode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	return st.st_ino;
}

/* Does someone accept on path?  A connect that goes through says so. */
static bool accepts(const char *path)
{
	struct sockaddr_un sa = addr_of(path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int accept_one(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void test_client_carries_bytes_both_ways(void **state)
{
	(void)state;
	struct sockdir sd;
	sockdir_make(&sd, "fs.sock");
	int lfd = listener(sd.path);
	ino_t ino = inode_of(sd.path);
	struct evloop *loop = evloop_new(NULL);
	struct chr *c = chr_socket_client_new("c0", sd.path, 0, loop, NULL);
	assert_non_null(c);
	assert_true(c->connected);
	struct fe f = { 0 };
	attach(c, &f);
	int peer = accept_one(lfd);
	assert_int_equal(chr_write(c, (const uint8_t *)"to-peer", 7), 7);
	char buf[16] = { 0 };
	assert_int_equal(read(peer, buf, 7), 7);
	assert_memory_equal(buf, "to-peer", 7);
	assert_int_equal(write(peer, "to-vmm", 6), 6);
	SPIN_UNTIL(loop, f.got_len == 6, 2000);
	assert_memory_equal(f.got, "to-vmm", 6);
	/* Peer hangs up: disconnected, and without reconnect it stays so. */
	close(peer);
	SPIN_UNTIL(loop, f.down == 1, 2000);
	assert_false(c->connected);
	chr_close(c);
	/* The server's socket is its own: still there, still accepting. */
	assert_int_equal(inode_of(sd.path), ino);
	assert_true(accepts(sd.path));
	close(lfd);
	evloop_free(loop);
	sockdir_done(&sd);
}

static void test_client_missing_or_refused(void **state)
{
	(void)state;
	struct sockdir sd;
	sockdir_make(&sd, "none.sock");
	struct evloop *loop = evloop_new(NULL);
	struct log *log = log_new_memory(LOG_ERROR);
	errno = 0;
	assert_null(chr_socket_client_new("c0", sd.path, 0, loop, log));
	assert_int_equal(errno, ENOENT);
	/* Nothing was created at the path. */
	struct stat st;
	assert_int_equal(lstat(sd.path, &st), -1);
	/* A socket file nobody listens on: refused, and left alone. */
	int lfd = listener(sd.path);
	ino_t ino = inode_of(sd.path);
	close(lfd);
	errno = 0;
	assert_null(chr_socket_client_new("c0", sd.path, 0, loop, log));
	assert_int_equal(errno, ECONNREFUSED);
	assert_int_equal(inode_of(sd.path), ino);
	log_free(log);
	evloop_free(loop);
	sockdir_done(&sd);
}

/* reconnect=1: starts without a peer, connects when one appears, and
 * connects again after the peer restarts (a new socket at the path). */
static void test_client_reconnects_after_peer_restart(void **state)
{
	(void)state;
	struct sockdir sd;
	sockdir_make(&sd, "re.sock");
	struct evloop *loop = evloop_new(NULL);
	struct chr *c = chr_socket_client_new("c0", sd.path, 1, loop, NULL);
	assert_non_null(c);
	assert_false(c->connected);
	struct fe f = { 0 };
	attach(c, &f);
	/* Output meanwhile is kept for the peer. */
	assert_int_equal(chr_write(c, (const uint8_t *)"early", 5), 5);
	int lfd = listener(sd.path);
	SPIN_UNTIL(loop, f.up == 1, 5000);
	int peer = accept_one(lfd);
	char buf[16] = { 0 };
	assert_int_equal(read(peer, buf, 5), 5);
	assert_memory_equal(buf, "early", 5);
	/* The peer restarts: connection and listener go, a new one comes. */
	close(peer);
	close(lfd);
	unlink(sd.path);
	SPIN_UNTIL(loop, f.down == 1, 2000);
	lfd = listener(sd.path);
	SPIN_UNTIL(loop, f.up == 2, 5000);
	peer = accept_one(lfd);
	assert_int_equal(chr_write(c, (const uint8_t *)"again", 5), 5);
	assert_int_equal(read(peer, buf, 5), 5);
	assert_memory_equal(buf, "again", 5);
	assert_int_equal(write(peer, "back", 4), 4);
	SPIN_UNTIL(loop, f.got_len == 4, 2000);
	assert_memory_equal(f.got, "back", 4);
	chr_close(c);
	/* Closing the client leaves the peer's socket alone. */
	assert_true(accepts(sd.path));
	close(peer);
	close(lfd);
	evloop_free(loop);
	sockdir_done(&sd);
}

/* The front end takes no input (a guest that never reads its console)
 * and the peer restarts: the hang-up is still noticed, and a client with
 * reconnect connects to the new peer. */
static void test_client_reconnects_with_input_paused(void **state)
{
	(void)state;
	struct sockdir sd;
	sockdir_make(&sd, "paused.sock");
	int lfd = listener(sd.path);
	struct evloop *loop = evloop_new(NULL);
	struct chr *c = chr_socket_client_new("c0", sd.path, 1, loop, NULL);
	assert_non_null(c);
	struct fe f = { .full = true };
	attach(c, &f);
	int peer = accept_one(lfd);
	assert_int_equal(write(peer, "unread", 6), 6);
	for (int i = 0; i < 5; i++)
		evloop_run_once(loop, 5);
	assert_int_equal(f.got_len, 0);
	close(peer);
	close(lfd);
	unlink(sd.path);
	SPIN_UNTIL(loop, f.down == 1, 2000);
	lfd = listener(sd.path);
	SPIN_UNTIL(loop, f.up == 1, 5000);
	assert_true(c->connected);
	chr_close(c);
	close(lfd);
	evloop_free(loop);
	sockdir_done(&sd);
}

/* A server at a path another program serves on: refused, the other
 * program's socket untouched and still accepting. */
static void test_server_never_steals_a_live_socket(void **state)
{
	(void)state;
	struct sockdir sd;
	sockdir_make(&sd, "live.sock");
	int lfd = listener(sd.path);
	ino_t ino = inode_of(sd.path);
	struct evloop *loop = evloop_new(NULL);
	struct log *log = log_new_memory(LOG_ERROR);
	errno = 0;
	assert_null(chr_socket_new("s", sd.path, false, loop, log));
	assert_int_equal(errno, EADDRINUSE);
	assert_int_equal(inode_of(sd.path), ino);
	assert_true(accepts(sd.path));
	/* A stale one (nobody listening) is replaced, as QEMU does. */
	close(lfd);
	struct chr *c = chr_socket_new("s", sd.path, false, loop, log);
	assert_non_null(c);
	assert_true(accepts(sd.path));
	/* Someone replaces our file while we run: close removes only ours. */
	unlink(sd.path);
	lfd = listener(sd.path);
	ino = inode_of(sd.path);
	chr_close(c);
	assert_int_equal(inode_of(sd.path), ino);
	assert_true(accepts(sd.path));
	close(lfd);
	log_free(log);
	evloop_free(loop);
	sockdir_done(&sd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_carries_bytes_both_ways),
		cmocka_unit_test(test_client_missing_or_refused),
		cmocka_unit_test(test_client_reconnects_after_peer_restart),
		cmocka_unit_test(test_client_reconnects_with_input_paused),
		cmocka_unit_test(test_server_never_steals_a_live_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
