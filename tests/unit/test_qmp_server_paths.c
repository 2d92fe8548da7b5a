/* core/qmp server: where its socket comes from.  A path (a stale socket
 * replaced, another program's live socket, a file or a directory
 * refused and left alone, bad paths, the file removed on free) and a
 * listening fd handed over by a launcher (-qmp unix:fd=N). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "core/evloop.h"
#include "core/qmp.h"
#include "qmp_server_fixture.h"

static void test_server_paths(void **state)
{
	(void)state;
	char dir[64] = "/tmp/test_qmp_XXXXXX", path[256], err[256];
	assert_non_null(mkdtemp(dir));
	struct evloop *loop = evloop_new(NULL);
	struct sfake f = { .loop = loop, .status = "running" };

	/* A stale socket file (its server died) is replaced. */
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	struct qmp_server *srv = qmp_server_new(loop, path, &sf_ops, &f, NULL, err, sizeof(err));
	if (!srv)
		fail_msg("%s", err);
	/* Another file put in its place is not ours to delete on free. */
	assert_int_equal(unlink(path), 0);
	int rf = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(rf >= 0);
	close(rf);
	qmp_server_free(srv);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	/* Another program's live socket (it accepts connections): refused,
	 * never unlinked or taken over. */
	snprintf(path, sizeof(path), "%s/live.sock", dir);
	int live = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un la = { .sun_family = AF_UNIX };
	strcpy(la.sun_path, path);
	assert_int_equal(bind(live, (struct sockaddr *)&la, sizeof(la)), 0);
	assert_int_equal(listen(live, 1), 0);
	struct stat lst;
	assert_int_equal(lstat(path, &lst), 0);
	assert_null(qmp_server_new(loop, path, &sf_ops, &f, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "a live socket is there"));
	struct stat lst2;
	assert_int_equal(lstat(path, &lst2), 0);
	assert_true(lst2.st_ino == lst.st_ino);
	int probe = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(probe, (struct sockaddr *)&la, sizeof(la)), 0);
	close(probe);
	close(live);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/stale.sock", dir);

	/* A regular file at the path: refused, and left alone. */
	srv = qmp_server_new(loop, path, &sf_ops, &f, NULL, err, sizeof(err));
	assert_null(srv);
	assert_non_null(strstr(err, "exists and is not a socket"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(unlink(path), 0);

	/* A directory too. */
	snprintf(path, sizeof(path), "%s/d", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(qmp_server_new(loop, path, &sf_ops, &f, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "exists and is not a socket"));
	assert_int_equal(rmdir(path), 0);

	/* Missing directory, over-long and empty paths. */
	snprintf(path, sizeof(path), "%s/nodir/q.sock", dir);
	assert_null(qmp_server_new(loop, path, &sf_ops, &f, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot listen"));
	memset(path, 'a', 200);
	path[200] = '\0';
	assert_null(qmp_server_new(loop, path, &sf_ops, &f, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "socket path must be"));
	assert_null(qmp_server_new(loop, "", &sf_ops, &f, NULL, err, sizeof(err)));
	assert_null(qmp_server_new(loop, NULL, &sf_ops, &f, NULL, err, sizeof(err)));

	/* free() removes its own socket file. */
	snprintf(path, sizeof(path), "%s/ok.sock", dir);
	srv = qmp_server_new(loop, path, &sf_ops, &f, NULL, err, sizeof(err));
	assert_non_null(srv);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	qmp_server_free(srv);
	assert_int_equal(lstat(path, &st), -1);
	evloop_free(loop);
	assert_int_equal(rmdir(dir), 0);
}

/* -qmp unix:fd=N: the launcher bound and listens; clients connect by its
 * path, and the file is the launcher's to remove. */
static void test_server_fd(void **state)
{
	(void)state;
	struct env *e = calloc(1, sizeof(*e));
	char err[256];
	strcpy(e->dir, "/tmp/test_qmp_XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/kata.sock", e->dir);
	e->loop = evloop_new(NULL);
	e->f.loop = e->loop;
	e->f.status = "running";

	/* Not a socket, not listening, not open: refused with the reason. */
	int nf = open("/dev/null", O_RDONLY);
	assert_null(qmp_server_new_fd(e->loop, nf, &sf_ops, &e->f, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not a listening stream socket"));
	close(nf);
	int us = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_null(qmp_server_new_fd(e->loop, us, &sf_ops, &e->f, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not a listening"));
	close(us);
	int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_null(qmp_server_new_fd(e->loop, dg, &sf_ops, &e->f, NULL, err, sizeof(err)));
	close(dg);
	assert_null(qmp_server_new_fd(e->loop, 1000000, &sf_ops, &e->f, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "is not open"));

	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, e->path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	e->f.srv = qmp_server_new_fd(e->loop, lfd, &sf_ops, &e->f, NULL, err, sizeof(err));
	if (!e->f.srv)
		fail_msg("%s", err);
	assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(lfd, F_GETFL) & O_NONBLOCK);
	for (int i = 0; i < 2; i++) { /* one client after another, by path */
		struct conn *c = conn_negotiated(e);
		conn_send(c, "{\"execute\":\"query-status\"}");
		expect_line(e, c, "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}}");
		conn_close(c);
		pump(e, 5);
	}
	qmp_server_free(e->f.srv);
	/* The server owned the fd (closed now) but not the file. */
	assert_int_equal(fcntl(lfd, F_GETFD), -1);
	struct stat st;
	assert_int_equal(lstat(e->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(unlink(e->path), 0);
	assert_int_equal(rmdir(e->dir), 0);
	evloop_free(e->loop);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_paths),
		cmocka_unit_test(test_server_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
