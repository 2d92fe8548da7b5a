/* QMP as Kata's runtime (govmm qmp.go) speaks it: JSON keys sorted (so
 * "arguments" before "execute"), <>& sent as \u003c-style escapes, a
 * fresh connection per operation repeating greeting + qmp_capabilities;
 * getfd/closefd with SCM_RIGHTS (a descriptor nobody claims is closed,
 * the table is bounded and shared across a monitor's connections); and
 * query-qmp-schema listing exactly what we implement. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
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

static int fake_reset(void *o) { ++*(int *)o; return 0; }
static const struct qmp_machine_ops ops = { .name = "kata", .reset = fake_reset };

static char *drain(struct qmp_session *s)
{
	size_t len;
	const char *out = qmp_session_output(s, &len);
	char *copy = strndup(out, len);
	qmp_session_consume(s, len);
	return copy;
}

static void expect_fds(struct qmp_session *s, const char *in, const int *fds, unsigned n,
		       const char *want)
{
	qmp_session_input_fds(s, in, strlen(in), fds, n);
	char *got = drain(s);
	if (strcmp(got, want) != 0)
		fail_msg("input: %s\n got: %s\nwant: %s", in, got, want);
	free(got);
}

static void expect(struct qmp_session *s, const char *in, const char *want)
{
	expect_fds(s, in, NULL, 0, want);
}

#define OK "{\"return\": {}}\r\n"
#define GENERIC(desc) "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" desc "\"}}\r\n"

static struct qmp_session *govmm_connect(void *opaque, struct qmp_fdtab *shared)
{
	struct qmp_session *s = qmp_session_new(&ops, opaque);
	assert_non_null(s);
	if (shared)
		qmp_session_share_fdtab(s, shared);
	char *g = drain(s);
	assert_non_null(strstr(g, "\"QMP\""));
	free(g);
	/* govmm's encoding/json marshals a map: keys sorted. */
	expect(s, "{\"execute\":\"qmp_capabilities\"}\n", OK);
	return s;
}

static bool fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static void test_sorted_keys_and_escapes(void **state)
{
	(void)state;
	int resets = 0;
	struct qmp_session *s = govmm_connect(&resets, NULL);
	expect(s, "{\"arguments\":{},\"execute\":\"system_reset\"}\n", OK);
	assert_int_equal(resets, 1);
	/* "id" last, "arguments" first, and the id echoed after the return. */
	expect(s, "{\"arguments\":{},\"execute\":\"system_reset\",\"id\":\"x\"}",
	       "{\"return\": {}, \"id\": \"x\"}\r\n");
	/* \u003c \u003e \u0026: the name arrives as <b&c>. */
	expect(s, "{\"arguments\":{\"fdname\":\"\\u003cb\\u0026c\\u003e\"},\"execute\":\"closefd\"}",
	       GENERIC("File descriptor named '<b&c>' not found"));
	qmp_session_free(s);
}

static void test_fresh_connection_per_operation(void **state)
{
	(void)state;
	int resets = 0;
	struct qmp_fdtab *tab = qmp_fdtab_new();
	int p[2];
	assert_int_equal(pipe(p), 0);
	/* Operation 1 on its own connection: getfd. */
	struct qmp_session *s = govmm_connect(&resets, tab);
	expect_fds(s, "{\"arguments\":{\"fdname\":\"fd-tap0\"},\"execute\":\"getfd\"}", &p[0], 1, OK);
	qmp_session_free(s);
	assert_true(fd_open(p[0])); /* the monitor keeps it after the client left */
	assert_int_equal(qmp_fdtab_count(tab), 1);
	/* Operation 2, a new connection: greeting and negotiation again. */
	s = govmm_connect(&resets, tab);
	expect(s, "{\"execute\":\"qmp_capabilities\"}",
	       "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities negotiation "
	       "is already complete, command ignored\"}}\r\n");
	expect(s, "{\"arguments\":{\"fdname\":\"fd-tap0\"},\"execute\":\"closefd\"}", OK);
	assert_false(fd_open(p[0]));
	assert_int_equal(qmp_fdtab_count(tab), 0);
	expect(s, "{\"arguments\":{\"fdname\":\"fd-tap0\"},\"execute\":\"closefd\"}",
	       GENERIC("File descriptor named 'fd-tap0' not found"));
	qmp_session_free(s);
	qmp_fdtab_free(tab);
	close(p[1]);
}

static void test_getfd_errors(void **state)
{
	(void)state;
	struct qmp_session *s = govmm_connect(NULL, NULL);
	int p[2];
	assert_int_equal(pipe(p), 0);
	expect(s, "{\"arguments\":{\"fdname\":\"a\"},\"execute\":\"getfd\"}",
	       GENERIC("No file descriptor supplied via SCM_RIGHTS"));
	expect(s, "{\"execute\":\"getfd\"}", GENERIC("Parameter 'fdname' is missing"));
	expect(s, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":1}}",
	       GENERIC("Invalid parameter type for 'fdname', expected: string"));
	/* A name like a number is refused and the fd closed, not kept. */
	expect_fds(s, "{\"arguments\":{\"fdname\":\"3x\"},\"execute\":\"getfd\"}", &p[0], 1,
		   GENERIC("Parameter 'fdname' expects a name not starting with a digit"));
	assert_false(fd_open(p[0]));
	/* A descriptor sent with a command that is not getfd: closed. */
	expect_fds(s, "{\"execute\":\"query-name\"}", &p[1], 1, "{\"return\": {\"name\": \"kata\"}}\r\n");
	assert_false(fd_open(p[1]));
	assert_int_equal(qmp_session_pending_fds(s), 0);
	qmp_session_free(s);
}

static void test_getfd_split_and_replace(void **state)
{
	(void)state;
	struct qmp_session *s = govmm_connect(NULL, NULL);
	int a[2], b[2];
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	/* The fd comes with the first half of the message: it waits for it. */
	const char *half = "{\"arguments\":{\"fdname\":\"n\"},";
	qmp_session_input_fds(s, half, strlen(half), &a[0], 1);
	assert_int_equal(qmp_session_pending_fds(s), 1);
	expect(s, "\"execute\":\"getfd\"}", OK);
	assert_int_equal(qmp_session_pending_fds(s), 0);
	assert_true(fd_open(a[0]));
	/* Same name again: the old one is replaced and closed (QEMU). */
	expect_fds(s, "{\"arguments\":{\"fdname\":\"n\"},\"execute\":\"getfd\"}", &b[0], 1, OK);
	assert_false(fd_open(a[0]));
	assert_int_equal(qmp_fdtab_take(qmp_session_fdtab(s), "n"), b[0]);
	assert_int_equal(qmp_fdtab_count(qmp_session_fdtab(s)), 0);
	close(b[0]);
	/* Two with one getfd: getfd takes the latest; the other is closed. */
	expect_fds(s, "{\"arguments\":{\"fdname\":\"m\"},\"execute\":\"getfd\"}", (int[]){ a[1], b[1] }, 2, OK);
	assert_false(fd_open(a[1]));
	assert_true(fd_open(b[1]));
	qmp_session_free(s); /* owns its table: closes b[1] */
	assert_false(fd_open(b[1]));
}

static void test_getfd_bounds(void **state)
{
	(void)state;
	struct qmp_session *s = govmm_connect(NULL, NULL);
	char cmd[128];
	int fds[QMP_MAX_FDS + 1];
	for (int i = 0; i <= QMP_MAX_FDS; i++) {
		fds[i] = dup(0);
		assert_true(fds[i] >= 0);
		snprintf(cmd, sizeof(cmd), "{\"arguments\":{\"fdname\":\"f%d\"},\"execute\":\"getfd\"}", i);
		expect_fds(s, cmd, &fds[i], 1, i < QMP_MAX_FDS ? OK :
			   GENERIC("Too many file descriptors (at most 64)"));
	}
	assert_false(fd_open(fds[QMP_MAX_FDS]));
	assert_int_equal(qmp_fdtab_count(qmp_session_fdtab(s)), QMP_MAX_FDS);
	/* More received at once than we hold pending: the excess is closed
	 * on arrival, the rest after the message. */
	int many[QMP_MAX_PENDING_FDS + 4];
	for (unsigned i = 0; i < QMP_MAX_PENDING_FDS + 4; i++)
		many[i] = dup(0);
	const char *partial = "{\"execute\":";
	qmp_session_input_fds(s, partial, strlen(partial), many, QMP_MAX_PENDING_FDS + 4);
	assert_int_equal(qmp_session_pending_fds(s), QMP_MAX_PENDING_FDS);
	assert_false(fd_open(many[QMP_MAX_PENDING_FDS]));
	free(drain(s));
	expect(s, "\"query-name\"}", "{\"return\": {\"name\": \"kata\"}}\r\n");
	for (unsigned i = 0; i < QMP_MAX_PENDING_FDS + 4; i++)
		assert_false(fd_open(many[i]));
	/* A name longer than the table holds is refused, not truncated. */
	char longname[QMP_FD_NAME_MAX + 2];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(qmp_fdtab_take(qmp_session_fdtab(s), "f0") >= 0, 1);
	int d = dup(0);
	snprintf(cmd, sizeof(cmd), "{\"arguments\":{\"fdname\":\"%s\"},\"execute\":\"getfd\"}", longname);
	expect_fds(s, cmd, &d, 1, GENERIC("Parameter 'fdname' expects a name of at most 63 bytes"));
	assert_false(fd_open(d));
	qmp_session_free(s);
	for (int i = 0; i < QMP_MAX_FDS; i++)
		if (i != 0)
			assert_false(fd_open(fds[i]));
	close(fds[0]);
}

static void test_schema_lists_exactly_ours(void **state)
{
	(void)state;
	struct qmp_session *s = govmm_connect(NULL, NULL);
	expect(s, "", "");
	const char *q = "{\"execute\":\"query-commands\"}{\"execute\":\"query-qmp-schema\"}";
	qmp_session_input(s, q, strlen(q));
	char *out = drain(s);
	char *nl = strstr(out, "\r\n");
	assert_non_null(nl);
	struct json *cmds = json_parse(out, (size_t)(nl - out), NULL, 0);
	struct json *schema = json_parse(nl + 2, strlen(nl + 2) - 2, NULL, 0);
	assert_non_null(cmds);
	assert_non_null(schema);
	struct json *cl = json_get(cmds, "return"), *sl = json_get(schema, "return");
	size_t ncmd = 0, nev = 0;
	for (size_t i = 0; i < json_len(sl); i++) {
		struct json *e = json_at(sl, i);
		const char *meta = json_get_str(json_get(e, "meta-type"));
		const char *name = json_get_str(json_get(e, "name"));
		assert_non_null(meta);
		assert_non_null(name);
		if (strcmp(meta, "command") == 0) {
			ncmd++;
			bool found = false;
			for (size_t k = 0; k < json_len(cl); k++)
				found |= strcmp(json_get_str(json_get(json_at(cl, k), "name")), name) == 0;
			if (!found)
				fail_msg("schema lists %s, query-commands does not", name);
			/* Its argument type is in the schema too. */
			const char *at = json_get_str(json_get(e, "arg-type"));
			bool have = false;
			for (size_t k = 0; k < json_len(sl); k++)
				have |= strcmp(json_get_str(json_get(json_at(sl, k), "name")), at) == 0;
			assert_true(have);
		} else if (strcmp(meta, "event") == 0) {
			nev++;
		}
		/* What we do not implement is not there. */
		assert_string_not_equal(name, "blockdev-snapshot-sync");
		assert_string_not_equal(name, "BLOCK_JOB_COMPLETED");
	}
	assert_int_equal(ncmd, json_len(cl));
	assert_true(nev >= 5);
	assert_non_null(strstr(out, "\"name\": \"getfd\""));
	assert_non_null(strstr(out, "\"name\": \"SHUTDOWN\""));
	json_free(cmds);
	json_free(schema);
	free(out);
	qmp_session_free(s);
}

/* Over the real socket: SCM_RIGHTS in, the descriptor stored, and one
 * sent without getfd closed (its pipe's reader sees EOF). */
static void send_with_fd(int sock, const char *msg, int fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)strlen(msg));
}

/* Run the loop until sock has a line containing want (deadline-bound). */
static void wait_line(struct evloop *loop, int sock, const char *want)
{
	char buf[8192];
	size_t len = 0;
	for (int round = 0; round < 400; round++) {
		evloop_run_once(loop, round < 5 ? 0 : 5);
		ssize_t r = recv(sock, buf + len, sizeof(buf) - 1 - len, MSG_DONTWAIT);
		if (r > 0)
			len += (size_t)r;
		buf[len] = '\0';
		if (strstr(buf, want))
			return;
	}
	fail_msg("never got %s (have: %s)", want, buf);
}

static bool wait_eof(struct evloop *loop, int rfd)
{
	for (int round = 0; round < 400; round++) {
		evloop_run_once(loop, 5);
		struct pollfd pf = { .fd = rfd, .events = POLLIN };
		if (poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP))
			return true;
	}
	return false;
}

static void test_server_scm_rights(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_qmp_govmm_XXXXXX", path[128], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/q.sock", dir);
	struct evloop *loop = evloop_new(NULL);
	struct qmp_server *srv = qmp_server_new(loop, path, &ops, NULL, NULL, err, sizeof(err));
	assert_non_null(srv);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int p[2], q[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	for (int conn = 0; conn < 2; conn++) {
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
		wait_line(loop, c, "\"QMP\"");
		send_with_fd(c, "{\"execute\":\"qmp_capabilities\"}", q[1]);
		wait_line(loop, c, "{\"return\": {}}");
		if (conn == 0) {
			send_with_fd(c, "{\"arguments\":{\"fdname\":\"tap\"},\"execute\":\"getfd\"}", p[1]);
			wait_line(loop, c, "{\"return\": {}}");
		} else {
			assert_true(qmp_fdtab_has(qmp_server_fdtab(srv), "tap"));
			send_with_fd(c, "{\"arguments\":{\"fdname\":\"tap\"},\"execute\":\"closefd\"}", q[1]);
			wait_line(loop, c, "{\"return\": {}}");
		}
		close(c);
	}
	close(p[1]);
	close(q[1]);
	/* Both write ends are gone from the VMM: readers see hang-up. */
	assert_true(wait_eof(loop, p[0]));
	assert_true(wait_eof(loop, q[0]));
	assert_int_equal(qmp_fdtab_count(qmp_server_fdtab(srv)), 0);
	qmp_server_free(srv);
	evloop_free(loop);
	close(p[0]);
	close(q[0]);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_keys_and_escapes),
		cmocka_unit_test(test_fresh_connection_per_operation),
		cmocka_unit_test(test_getfd_errors),
		cmocka_unit_test(test_getfd_split_and_replace),
		cmocka_unit_test(test_getfd_bounds),
		cmocka_unit_test(test_schema_lists_exactly_ours),
		cmocka_unit_test(test_server_scm_rights),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
