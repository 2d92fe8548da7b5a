/* Shared by the QMP server unit tests (test_qmp_server*.c): a fake
 * machine whose stop/cont/reset/quit emit the events QEMU would, a
 * server on a unix socket in a temp dir (env_setup/env_teardown), and a
 * client connection that reads whole lines while running the loop with a
 * bounded number of rounds.  static inline helpers only. */
#ifndef VMM_TESTS_QMP_SERVER_FIXTURE_H
#define VMM_TESTS_QMP_SERVER_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "core/evloop.h"
#include "core/qmp.h"

struct sfake {
	struct evloop *loop;
	struct qmp_server *srv;
	const char *status;
	int stops;
};

static inline int sf_stop(void *o)
{
	struct sfake *f = o;
	f->stops++;
	f->status = "paused";
	return qmp_server_emit_event(f->srv, "STOP", NULL);
}
static inline int sf_cont(void *o)
{
	struct sfake *f = o;
	f->status = "running";
	return qmp_server_emit_event(f->srv, "RESUME", NULL);
}
static inline int sf_reset(void *o)
{
	struct sfake *f = o;
	return qmp_server_emit_event(f->srv, "RESET",
				     "{\"guest\": false, \"reason\": \"host-qmp-system-reset\"}");
}
static inline int sf_powerdown(void *o)
{
	return qmp_server_emit_event(((struct sfake *)o)->srv, "POWERDOWN", NULL);
}
static inline int sf_quit(void *o)
{
	struct sfake *f = o;
	int rc = qmp_server_emit_event(f->srv, "SHUTDOWN",
				       "{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
	evloop_stop(f->loop, 0);
	return rc;
}
static inline const char *sf_status(void *o) { return ((struct sfake *)o)->status; }
static inline uint64_t sf_clock(void *o)
{
	(void)o;
	return 42000000000ull;
}

static const struct qmp_machine_ops sf_ops = {
	.name = "srv", .ncpus = 1, .kvm_present = true,
	.stop = sf_stop, .cont = sf_cont, .reset = sf_reset, .powerdown = sf_powerdown,
	.quit = sf_quit, .status = sf_status, .realtime_ns = sf_clock,
};

struct env {
	char dir[64], path[128];
	struct evloop *loop;
	struct sfake f;
};

struct conn {
	int fd;
	char buf[1 << 17];
	size_t len;
	bool eof;
};

static inline int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	strcpy(e->dir, "/tmp/test_qmp_XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/qmp.sock", e->dir);
	e->loop = evloop_new(NULL);
	e->f.loop = e->loop;
	e->f.status = "running";
	char err[256];
	e->f.srv = qmp_server_new(e->loop, e->path, &sf_ops, &e->f, NULL, err, sizeof(err));
	if (!e->f.srv)
		fail_msg("%s", err);
	*state = e;
	return 0;
}

static inline int env_teardown(void **state)
{
	struct env *e = *state;
	qmp_server_free(e->f.srv);
	/* The server removed its socket: the directory is empty again. */
	int rc = rmdir(e->dir);
	evloop_free(e->loop);
	free(e);
	return rc;
}

static inline struct conn *conn_open(const char *path)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return c;
}

static inline void conn_close(struct conn *c)
{
	close(c->fd);
	free(c);
}

static inline void conn_send(struct conn *c, const char *s)
{
	size_t n = strlen(s);
	assert_int_equal(send(c->fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

static inline void conn_pull(struct conn *c)
{
	ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);
	if (r == 0)
		c->eof = true;
	else if (r > 0)
		c->len += (size_t)r;
}

/* Run the loop until c has a whole line (returned without "\r\n", caller
 * frees) or, after a bounded number of rounds, NULL. */
static inline char *conn_line(struct env *e, struct conn *c)
{
	for (int round = 0; round < 200; round++) {
		c->buf[c->len] = '\0';
		char *nl = strstr(c->buf, "\r\n");
		if (nl) {
			char *line = strndup(c->buf, (size_t)(nl - c->buf));
			size_t used = (size_t)(nl - c->buf) + 2;
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return line;
		}
		if (c->eof)
			return NULL;
		evloop_run_once(e->loop, round < 5 ? 0 : 5);
		conn_pull(c);
	}
	return NULL;
}

static inline void expect_line(struct env *e, struct conn *c, const char *want)
{
	char *got = conn_line(e, c);
	if (!got || strcmp(got, want) != 0)
		fail_msg("got: %s\nwant: %s", got ? got : "(nothing)", want);
	free(got);
}

static inline void pump(struct env *e, int rounds)
{
	for (int i = 0; i < rounds; i++)
		evloop_run_once(e->loop, 2);
}

static inline struct conn *conn_negotiated(struct env *e)
{
	struct conn *c = conn_open(e->path);
	char *g = conn_line(e, c);
	assert_non_null(g);
	assert_non_null(strstr(g, "{\"QMP\": {\"version\""));
	free(g);
	conn_send(c, "{\"execute\":\"qmp_capabilities\"}\n");
	expect_line(e, c, "{\"return\": {}}");
	return c;
}

#endif
