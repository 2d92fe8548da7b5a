/* core/qmp server level: a real unix socket in a temp dir, driven with
 * evloop_run_once: greeting, commands, events to negotiated clients only,
 * several clients at once and in sequence, a client vanishing
 * mid-command, oversized input, the client limit.  Socket path handling
 * and -qmp unix:fd=N are in test_qmp_server_paths.c.
 *
 * Two extra modes serve tests/integration/test_qmp_vs_qemu.sh:
 *   test_qmp_server --serve PATH NAME UUID   a QMP server with a fake
 *       machine shaped like `qemu-system-x86_64 -M none` (no CPUs, no
 *       balloon), until "quit";
 *   test_qmp_server --client PATH < commands  send each line, print the
 *       shape (keys, types, error class and text) of the events and
 *       reply. */
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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "core/evloop.h"
#include "core/json.h"
#include "core/qmp.h"
#include "qmp_server_fixture.h"

static void test_server_commands(void **state)
{
	struct env *e = *state;
	struct conn *c = conn_negotiated(e);
	assert_int_equal(qmp_server_nclients(e->f.srv), 1);
	conn_send(c, "{\"execute\":\"query-status\"}");
	expect_line(e, c, "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}}");
	/* The op emits STOP through the server: event, then reply. */
	conn_send(c, "{\"execute\":\"stop\",\"id\":\"s\"}{\"execute\":\"query-status\"}");
	expect_line(e, c, "{\"timestamp\": {\"seconds\": 42, \"microseconds\": 0}, \"event\": \"STOP\"}");
	expect_line(e, c, "{\"return\": {}, \"id\": \"s\"}");
	expect_line(e, c, "{\"return\": {\"status\": \"paused\", \"singlestep\": false, \"running\": false}}");
	/* A message split over two writes with the loop running between. */
	conn_send(c, "{\"execute\":\"sys");
	pump(e, 3);
	conn_send(c, "tem_reset\"}\n");
	expect_line(e, c, "{\"timestamp\": {\"seconds\": 42, \"microseconds\": 0}, \"event\": \"RESET\", "
		    "\"data\": {\"guest\": false, \"reason\": \"host-qmp-system-reset\"}}");
	expect_line(e, c, "{\"return\": {}}");
	conn_close(c);
	pump(e, 5);
	assert_int_equal(qmp_server_nclients(e->f.srv), 0);
}

static void test_server_two_clients(void **state)
{
	struct env *e = *state;
	struct conn *a = conn_negotiated(e);
	struct conn *b = conn_open(e->path);
	free(conn_line(e, b)); /* greeting; b stays in negotiation mode */
	assert_int_equal(qmp_server_nclients(e->f.srv), 2);
	assert_int_equal(qmp_server_emit_event(e->f.srv, "POWERDOWN", NULL), 0);
	expect_line(e, a, "{\"timestamp\": {\"seconds\": 42, \"microseconds\": 0}, \"event\": \"POWERDOWN\"}");
	/* b sees only its own reply, not the event. */
	conn_send(b, "{\"execute\":\"query-name\"}");
	expect_line(e, b, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
		    "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}");
	/* Sessions are independent: a's commands do not negotiate b. */
	conn_send(a, "{\"execute\":\"query-name\"}");
	expect_line(e, a, "{\"return\": {\"name\": \"srv\"}}");
	conn_close(a);
	conn_close(b);
	pump(e, 5);
	assert_int_equal(qmp_server_nclients(e->f.srv), 0);
}

static void test_server_sequence_and_vanish(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 3; i++) {
		struct conn *c = conn_negotiated(e);
		/* Half a command, then gone. */
		conn_send(c, "{\"execute\": \"sto");
		pump(e, 2);
		conn_close(c);
		pump(e, 5);
		assert_int_equal(qmp_server_nclients(e->f.srv), 0);
	}
	assert_int_equal(e->f.stops, 0);
	/* Gone with a reply still to be written: no SIGPIPE, no crash. */
	struct conn *c = conn_negotiated(e);
	conn_send(c, "{\"execute\":\"query-version\"}");
	shutdown(c->fd, SHUT_RDWR);
	pump(e, 5);
	conn_close(c);
	pump(e, 5);
	assert_int_equal(qmp_server_nclients(e->f.srv), 0);
	/* Events with no client at all are fine; bad ones are still bad. */
	assert_int_equal(qmp_server_emit_event(e->f.srv, "RESUME", NULL), 0);
	assert_int_equal(qmp_server_emit_event(e->f.srv, "bad name", NULL), -EINVAL);
	assert_int_equal(qmp_server_emit_event(e->f.srv, "STOP", "[]"), -EINVAL);
}

static void test_server_oversize(void **state)
{
	struct env *e = *state;
	struct conn *c = conn_negotiated(e);
	size_t n = QMP_MAX_MESSAGE + 100;
	char *big = malloc(n + 1);
	memset(big, '[', n);
	big[n] = '\0';
	/* The socket buffer may not take it all at once: send in pieces,
	 * running the loop between them. */
	for (size_t off = 0; off < n && !c->eof;) {
		ssize_t w = send(c->fd, big + off, n - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0)
			off += (size_t)w;
		else if (errno != EAGAIN)
			break;
		pump(e, 1);
	}
	free(big);
	expect_line(e, c, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON token size limit exceeded\"}}");
	assert_null(conn_line(e, c)); /* then EOF */
	assert_true(c->eof);
	conn_close(c);
	pump(e, 3);
	assert_int_equal(qmp_server_nclients(e->f.srv), 0);
}

static void test_server_client_limit(void **state)
{
	struct env *e = *state;
	struct conn *c[QMP_MAX_CLIENTS + 1];
	for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
		c[i] = conn_open(e->path);
		char *g = conn_line(e, c[i]);
		assert_non_null(g);
		free(g);
	}
	/* One more waits in the backlog: connected, but not served. */
	c[QMP_MAX_CLIENTS] = conn_open(e->path);
	pump(e, 10);
	conn_pull(c[QMP_MAX_CLIENTS]);
	assert_int_equal(c[QMP_MAX_CLIENTS]->len, 0);
	assert_int_equal(qmp_server_nclients(e->f.srv), QMP_MAX_CLIENTS);
	/* One leaves: the waiting one gets its greeting. */
	conn_close(c[0]);
	char *g = conn_line(e, c[QMP_MAX_CLIENTS]);
	assert_non_null(g);
	assert_non_null(strstr(g, "\"QMP\""));
	free(g);
	for (int i = 1; i <= QMP_MAX_CLIENTS; i++)
		conn_close(c[i]);
	pump(e, 5);
	assert_int_equal(qmp_server_nclients(e->f.srv), 0);
}

static void test_server_quit(void **state)
{
	struct env *e = *state;
	struct conn *c = conn_negotiated(e);
	conn_send(c, "{\"execute\":\"quit\"}");
	expect_line(e, c, "{\"timestamp\": {\"seconds\": 42, \"microseconds\": 0}, \"event\": \"SHUTDOWN\", "
		    "\"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}");
	expect_line(e, c, "{\"return\": {}}");
	assert_true(evloop_stopped(e->loop));
	conn_close(c);
}

static void test_server_throttle(void **state)
{
	struct env *e = *state;
	struct conn *c = conn_negotiated(e);
	/* A guest flapping its balloon: the first change goes out at once,
	 * then at most one a second, the latest one (QEMU's rate limit). */
	assert_int_equal(qmp_server_emit_event(e->f.srv, "BALLOON_CHANGE", "{\"actual\": 1}"), 0);
	expect_line(e, c, "{\"timestamp\": {\"seconds\": 42, \"microseconds\": 0}, "
		    "\"event\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 1}}");
	for (int i = 2; i <= 50; i++) {
		char data[64];
		snprintf(data, sizeof(data), "{\"actual\": %d}", i);
		assert_int_equal(qmp_server_emit_event(e->f.srv, "BALLOON_CHANGE", data), 0);
	}
	/* Other events are not held back. */
	assert_int_equal(qmp_server_emit_event(e->f.srv, "POWERDOWN", NULL), 0);
	expect_line(e, c, "{\"timestamp\": {\"seconds\": 42, \"microseconds\": 0}, \"event\": \"POWERDOWN\"}");
	/* Within the window: nothing more. */
	pump(e, 5);
	conn_pull(c);
	assert_int_equal(c->len, 0);
	/* When it closes, only the latest value. */
	c->buf[c->len] = '\0';
	for (int i = 0; i < 300 && !strstr(c->buf, "\r\n"); i++) {
		evloop_run_once(e->loop, 10);
		conn_pull(c);
		c->buf[c->len] = '\0';
	}
	expect_line(e, c, "{\"timestamp\": {\"seconds\": 42, \"microseconds\": 0}, "
		    "\"event\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 50}}");
	pump(e, 5);
	conn_pull(c);
	assert_int_equal(c->len, 0);
	conn_close(c);
}

static void test_server_unread_events(void **state)
{
	struct env *e = *state;
	struct conn *c = conn_negotiated(e);
	struct conn *reader = conn_negotiated(e);
	/* c never reads again: after the socket buffer and QMP_MAX_OUTPUT
	 * fill up it is dropped; the client that reads is not. */
	int i;
	for (i = 0; i < 200000 && qmp_server_nclients(e->f.srv) == 2; i++) {
		assert_int_equal(qmp_server_emit_event(e->f.srv, "POWERDOWN", NULL), 0);
		if (i % 64 == 0) {
			reader->len = 0;
			conn_pull(reader);
		}
	}
	assert_int_equal(qmp_server_nclients(e->f.srv), 1);
	/* It was c: what reached its socket ends in EOF. */
	for (int n = 0; n < 100000 && !c->eof; n++) {
		c->len = 0;
		conn_pull(c);
	}
	assert_true(c->eof);
	conn_close(c);
	conn_close(reader);
	pump(e, 5);
	assert_int_equal(qmp_server_nclients(e->f.srv), 0);
}
/* ---- modes for tests/integration/test_qmp_vs_qemu.sh ------------------- */

static int serve(const char *path, const char *name, const char *uuid)
{
	struct qmp_machine_ops ops = sf_ops;
	char err[256];
	struct sfake f = { .status = "running" };
	ops.name = name;
	ops.uuid = uuid;
	ops.ncpus = 0;         /* like -M none */
	ops.realtime_ns = NULL; /* the real clock */
	f.loop = evloop_new(NULL);
	f.srv = qmp_server_new(f.loop, path, &ops, &f, NULL, err, sizeof(err));
	if (!f.srv) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	int rc = evloop_run(f.loop);
	qmp_server_free(f.srv);
	evloop_free(f.loop);
	return rc;
}

/* Keys (sorted), types, error classes and messages, event names and
 * run states: what must match QEMU. */
static void shape(struct json_buf *b, const struct json *v, const char *key)
{
	switch (json_type(v)) {
	case JSON_OBJECT: {
		const char *keys[64];
		size_t n = json_len(v) < 64 ? json_len(v) : 64;
		for (size_t i = 0; i < n; i++)
			keys[i] = json_key_at(v, i);
		for (size_t i = 1; i < n; i++) /* insertion sort: small */
			for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
				const char *t = keys[j];
				keys[j] = keys[j - 1];
				keys[j - 1] = t;
			}
		json_buf_puts(b, "{");
		for (size_t i = 0; i < n; i++) {
			json_buf_printf(b, "%s%s:", i ? "," : "", keys[i]);
			shape(b, json_get(v, keys[i]), keys[i]);
		}
		json_buf_puts(b, "}");
		break;
	}
	case JSON_ARRAY:
		json_buf_puts(b, "[");
		if (json_len(v))
			shape(b, json_at(v, 0), NULL);
		json_buf_puts(b, "]");
		break;
	case JSON_STRING:
		if (key && (!strcmp(key, "class") || !strcmp(key, "event") ||
			    !strcmp(key, "status") || !strcmp(key, "desc")))
			json_buf_printf(b, "%s", json_get_str(v));
		else
			json_buf_puts(b, "string");
		break;
	default:
		json_buf_puts(b, json_type_name(json_type(v)));
	}
}

static char *client_read_line(int fd, char *buf, size_t *len, size_t cap)
{
	for (;;) {
		buf[*len] = '\0';
		char *nl = strstr(buf, "\r\n");
		if (nl) {
			char *line = strndup(buf, (size_t)(nl - buf));
			size_t used = (size_t)(nl - buf) + 2;
			memmove(buf, buf + used, *len - used);
			*len -= used;
			return line;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		/* A deadline for a missing reply, generous for a loaded CI
		 * runner: replies come within milliseconds. */
		if (poll(&p, 1, 30000) <= 0 || *len + 1 >= cap)
			return NULL;
		ssize_t r = recv(fd, buf + *len, cap - 1 - *len, 0);
		if (r <= 0)
			return NULL;
		*len += (size_t)r;
	}
}

static int client(const char *path)
{
	size_t len = 0, cap = 1 << 20;
	char *buf = malloc(cap);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror(path);
		return 1;
	}
	char *line = client_read_line(fd, buf, &len, cap);
	struct json *g = line ? json_parse(line, strlen(line), NULL, 0) : NULL;
	struct json_buf b;
	json_buf_init(&b);
	shape(&b, json_get(json_get(g, "QMP"), "version"), NULL);
	printf("greeting %s\n", b.data);
	json_free(g);
	free(line);
	char cmd[4096];
	while (fgets(cmd, sizeof(cmd), stdin)) {
		if (send(fd, cmd, strlen(cmd), MSG_NOSIGNAL) < 0)
			return 1;
		printf("> %s", cmd);
		for (;;) {
			line = client_read_line(fd, buf, &len, cap);
			if (!line) {
				printf("(no reply)\n");
				return 1;
			}
			struct json *v = json_parse(line, strlen(line), NULL, 0);
			json_buf_reset(&b);
			shape(&b, v, NULL);
			printf("%s\n", b.data ? b.data : "(unparsable)");
			bool event = json_get(v, "event") != NULL;
			json_free(v);
			free(line);
			if (!event)
				break;
		}
	}
	json_buf_free(&b);
	free(buf);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--serve") == 0)
		return serve(argv[2], argv[3], argv[4]);
	if (argc == 3 && strcmp(argv[1], "--client") == 0)
		return client(argv[2]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_server_commands, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_server_two_clients, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_server_sequence_and_vanish, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_server_oversize, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_server_client_limit, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_server_quit, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_server_throttle, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_server_unread_events, env_setup, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
