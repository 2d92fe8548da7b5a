/* The unix socket vsock host backend (core/vsock_uds.c) with real
 * sockets and the event loop, a fake device as its front end: the
 * CONNECT/OK handshake, guest connections to PATH_P, readiness only for
 * what is watched, hostile host peers (bad lines, silence), the bounds,
 * and that only its own socket file is ever removed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "core/evloop.h"
#include "core/log.h"
#include "core/vsock_host.h"

struct fe {
	int incoming, last_h;
	uint32_t last_port;
	int refuse;
	unsigned ready_in, ready_out;
};

static int fe_incoming(void *o, int h, uint32_t port)
{
	struct fe *f = o;
	f->incoming++;
	f->last_h = h;
	f->last_port = port;
	return f->refuse ? -ECONNREFUSED : 0;
}

static void fe_ready(void *o, int h, unsigned ev)
{
	struct fe *f = o;
	(void)h;
	f->ready_in += !!(ev & VSOCK_HOST_IN);
	f->ready_out += !!(ev & VSOCK_HOST_OUT);
}

#define SPIN_UNTIL(loop, cond)                                     \
	do {                                                       \
		for (int i_ = 0; i_ < 200 && !(cond); i_++)        \
			evloop_run_once((loop), 10);               \
		assert_true(cond);                                 \
	} while (0)

struct ut {
	char dir[64], path[128];
	struct evloop *loop;
	struct log *log;
	struct vsock_host *vh;
	struct fe f;
};

static struct ut *ut_new(void)
{
	struct ut *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/vsock-uds.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/v.sock", t->dir);
	t->loop = evloop_new(NULL);
	t->log = log_new_memory(LOG_DEBUG);
	char err[256];
	t->vh = vsock_uds_new(t->path, t->loop, t->log, err, sizeof(err));
	assert_non_null(t->vh);
	struct vsock_host_frontend fe = { fe_incoming, fe_ready, &t->f };
	vsock_host_attach(t->vh, &fe);
	return t;
}

static void ut_free(struct ut *t)
{
	vsock_host_free(t->vh);
	struct stat st;
	assert_int_not_equal(stat(t->path, &st), 0);   /* removed */
	evloop_free(t->loop);
	log_free(t->log);
	rmdir(t->dir);
	free(t);
}

static int peer(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return s;
}

static void test_host_connect_handshake(void **state)
{
	(void)state;
	struct ut *t = ut_new();
	int s = peer(t->path);
	/* The line in two pieces, stream bytes right behind it. */
	assert_int_equal(write(s, "CONNECT 5", 9), 9);
	for (int i = 0; i < 5; i++)
		evloop_run_once(t->loop, 10);
	assert_int_equal(t->f.incoming, 0);
	assert_int_equal(write(s, "2\nabc", 5), 5);
	SPIN_UNTIL(t->loop, t->f.incoming == 1);
	assert_int_equal(t->f.last_port, 52);
	int h = t->f.last_h;
	assert_int_equal(vsock_host_accept(t->vh, h, 1u << 30), 0);
	char buf[64] = "";
	assert_int_equal(read(s, buf, sizeof(buf)), 14);
	assert_memory_equal(buf, "OK 1073741824\n", 14);
	/* Nothing after the line was consumed by the handshake. */
	vsock_host_watch(t->vh, h, VSOCK_HOST_IN);
	SPIN_UNTIL(t->loop, t->f.ready_in > 0);
	assert_int_equal(vsock_host_recv(t->vh, h, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(vsock_host_recv(t->vh, h, buf, sizeof(buf)), -EAGAIN);
	/* Unwatched: no reports however much arrives. */
	vsock_host_watch(t->vh, h, 0);
	unsigned before = t->f.ready_in;
	assert_int_equal(write(s, "xyz", 3), 3);
	for (int i = 0; i < 5; i++)
		evloop_run_once(t->loop, 10);
	assert_int_equal(t->f.ready_in, before);
	assert_int_equal(vsock_host_send(t->vh, h, "back", 4), 4);
	assert_int_equal(read(s, buf, sizeof(buf)), 4);
	/* The peer goes: end of stream, then the device closes. */
	close(s);
	assert_int_equal(vsock_host_recv(t->vh, h, buf, sizeof(buf)), 3);
	assert_int_equal(vsock_host_recv(t->vh, h, buf, sizeof(buf)), 0);
	assert_true(vsock_host_send(t->vh, h, "x", 1) < 0);
	vsock_host_close(t->vh, h);
	ut_free(t);
}

static void test_hostile_host_peers(void **state)
{
	(void)state;
	struct ut *t = ut_new();
	const char *bad[] = { "HELLO 1\n", "CONNECT\n", "CONNECT 99999999999\n",
			      "CONNECT 1x\n", "CONNECT -1\n",
			      "CONNECT 11111111111111111111111111111111111111" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int s = peer(t->path);
		assert_int_equal(write(s, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		char c;
		/* Closed by the backend without a word (reset when it
		 * left bytes unread). */
		for (int k = 0; k < 50; k++)
			evloop_run_once(t->loop, 10);
		ssize_t r = read(s, &c, 1);
		assert_true(r == 0 || (r < 0 && errno == ECONNRESET));
		close(s);
	}
	assert_int_equal(t->f.incoming, 0);
	/* The device refuses: closed too. */
	t->f.refuse = 1;
	int s = peer(t->path);
	assert_int_equal(write(s, "CONNECT 1\n", 10), 10);
	SPIN_UNTIL(t->loop, t->f.incoming == 1);
	char c;
	assert_int_equal(read(s, &c, 1), 0);
	close(s);
	/* Silent peers hold at most VSOCK_UDS_MAX_HANDSHAKES slots. */
	int quiet[VSOCK_UDS_MAX_HANDSHAKES + 2];
	for (unsigned i = 0; i < VSOCK_UDS_MAX_HANDSHAKES + 2; i++) {
		quiet[i] = peer(t->path);
		for (int k = 0; k < 3; k++)
			evloop_run_once(t->loop, 5);
	}
	for (int k = 0; k < 20; k++)
		evloop_run_once(t->loop, 5);
	unsigned closed = 0;
	for (unsigned i = 0; i < VSOCK_UDS_MAX_HANDSHAKES + 2; i++) {
		struct timeval tv = { 0, 1000 };
		setsockopt(quiet[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		closed += read(quiet[i], &c, 1) == 0;
		close(quiet[i]);
	}
	assert_int_equal(closed, 2);
	ut_free(t);
}

static void test_guest_connects(void **state)
{
	(void)state;
	struct ut *t = ut_new();
	int h;
	/* Nobody listens at PATH_7. */
	assert_int_equal(vsock_host_connect(t->vh, 7, &h), -ECONNREFUSED);
	char lp[160];
	snprintf(lp, sizeof(lp), "%s_7", t->path);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	assert_true(strlen(lp) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, lp, strlen(lp) + 1);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(vsock_host_connect(t->vh, 7, &h), 0);
	int a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(vsock_host_send(t->vh, h, "hi", 2), 2);
	char buf[8];
	assert_int_equal(read(a, buf, sizeof(buf)), 2);
	/* A peer that stops reading: sends stop at the socket buffer. */
	static char big[65536];
	ssize_t n, total = 0;
	while ((n = vsock_host_send(t->vh, h, big, sizeof(big))) > 0)
		total += n;
	assert_int_equal(n, -EAGAIN);
	assert_true(total > 0);
	vsock_host_watch(t->vh, h, VSOCK_HOST_OUT);
	while (read(a, big, sizeof(big)) == (ssize_t)sizeof(big) && t->f.ready_out == 0)
		evloop_run_once(t->loop, 0);
	SPIN_UNTIL(t->loop, t->f.ready_out > 0);
	vsock_host_shutdown_send(t->vh, h);
	vsock_host_close(t->vh, h);
	close(a);
	close(l);
	unlink(lp);   /* the test's listener: vmm never removes it */
	ut_free(t);
}

static void test_path_rules(void **state)
{
	(void)state;
	char dir[] = "/tmp/vsock-uds.XXXXXX", p[128], err[256];
	assert_non_null(mkdtemp(dir));
	struct evloop *loop = evloop_new(NULL);
	/* A regular file there is never ours to remove. */
	snprintf(p, sizeof(p), "%s/file", dir);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_null(vsock_uds_new(p, loop, NULL, err, sizeof(err)));
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	unlink(p);
	/* A path without room for "_<port>". */
	char longp[120];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_null(vsock_uds_new(longp, loop, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "too long"));
	/* No event loop (the simulator). */
	snprintf(p, sizeof(p), "%s/s", dir);
	assert_null(vsock_uds_new(p, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "accel=kvm"));
	evloop_free(loop);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_connect_handshake),
		cmocka_unit_test(test_hostile_host_peers),
		cmocka_unit_test(test_guest_connects),
		cmocka_unit_test(test_path_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
