/* netdev_add / netdev_del at the QMP level (core/qmp_netdev.c): QEMU
 * 7.2's argument checks and words before the machine is asked, fds named
 * by getfd turned into the -netdev option string's numbers, and what
 * becomes of every descriptor: a bad name takes none, a refused add
 * closes the ones it took, an accepted add hands them to the machine.
 * Real descriptors (pipes) are passed with getfd, and each is checked
 * open or closed afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/json.h"
#include "core/qmp.h"

struct fake {
	char id[64], opts[512], del[64], check_opts[512];
	int adds, checks;
	int fail, fail_check;
};

static int f_nadd(void *o, const char *id, const char *opts, bool check,
		  struct qmp_err *e)
{
	struct fake *f = o;
	if (check) {
		f->checks++;
		snprintf(f->check_opts, sizeof(f->check_opts), "%s", opts);
		if (f->fail_check) {
			e->cls = "GenericError";
			snprintf(e->desc, sizeof(e->desc), "Duplicate ID '%s'", id);
			return -1;
		}
		return 0;
	}
	f->adds++;
	snprintf(f->id, sizeof(f->id), "%s", id);
	snprintf(f->opts, sizeof(f->opts), "%s", opts);
	if (f->fail) {
		e->cls = "GenericError";
		snprintf(e->desc, sizeof(e->desc), "fd 9 is a pipe, not a tap");
		return -1;
	}
	return 0;
}

static int f_ndel(void *o, const char *id, struct qmp_err *e)
{
	struct fake *f = o;
	snprintf(f->del, sizeof(f->del), "%s", id);
	if (strcmp(id, "n0")) {
		e->cls = "DeviceNotFound";
		snprintf(e->desc, sizeof(e->desc), "Device '%s' not found", id);
		return -1;
	}
	return 0;
}

static const struct qmp_machine_ops ops = { .netdev_add = f_nadd, .netdev_del = f_ndel };
static const struct qmp_machine_ops none = { 0 };

static char *drain(struct qmp_session *s)
{
	size_t len;
	const char *out = qmp_session_output(s, &len);
	char *copy = strndup(out, len);
	qmp_session_consume(s, len);
	return copy;
}

static void expect_fds(struct qmp_session *s, const char *in, const int *fds,
		       unsigned n, const char *want)
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

static struct qmp_session *open_s(const struct qmp_machine_ops *o, void *f)
{
	struct qmp_session *s = qmp_session_new(o, f);
	free(drain(s));
	expect(s, "{\"execute\":\"qmp_capabilities\"}", "{\"return\": {}}\r\n");
	return s;
}

#define OK "{\"return\": {}}\r\n"
#define ERR(cls, d) "{\"error\": {\"class\": \"" cls "\", \"desc\": \"" d "\"}}\r\n"
#define G(d) ERR("GenericError", d)

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* getfd name <- a fresh pipe's read end (the write end is closed);
 * returns the number the session now holds. */
static int give(struct qmp_session *s, const char *name)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[1]);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "{\"arguments\":{\"fdname\":\"%s\"},\"execute\":\"getfd\"}", name);
	expect_fds(s, cmd, &p[0], 1, OK);
	return p[0];
}

static void test_netdev_add_args(void **state)
{
	(void)state;
	struct fake f = { .adds = 0 };
	struct qmp_session *s = open_s(&ops, &f);
	/* QEMU 7.2's order: id, then type, its value, the members. */
	expect(s, "{\"execute\":\"netdev_add\"}", G("Parameter 'id' is missing"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"tap\"}}",
	       G("Parameter 'id' is missing"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\"}}",
	       G("Parameter 'type' is missing"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":5,\"type\":\"tap\"}}",
	       G("Invalid parameter type for 'id', expected: string"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":true}}",
	       G("Invalid parameter type for 'type', expected: string"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"nope\"}}",
	       G("Parameter 'type' does not accept value 'nope'"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"user\"}}",
	       G("netdev type 'user' is not supported (accepted: tap)"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\",\"fds\":5}}",
	       G("Invalid parameter type for 'fds', expected: string"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\",\"vhost\":\"on\"}}",
	       G("Invalid parameter type for 'vhost', expected: boolean"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\",\"queues\":\"2\"}}",
	       G("Invalid parameter type for 'queues', expected: uint32"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\",\"queues\":-1}}",
	       G("Parameter 'queues' expects uint32_t"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\",\"x\":1}}",
	       G("Parameter 'x' is unexpected"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"0bad\",\"type\":\"tap\"}}",
	       G("Parameter 'id' expects an identifier"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\",\"vnet_hdr\":true}}",
	       G("tap option 'vnet_hdr' is not supported by vmm"));
	/* Descriptors by name only. */
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\",\"fds\":\"nope\"}}",
	       G("File descriptor named 'nope' has not been found"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\",\"fd\":\"3\"}}",
	       G("fd '3' is a number: vmm takes descriptors only by the name given to getfd"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\",\"fds\":\":b\"}}",
	       G("File descriptor named '' has not been found"));
	assert_int_equal(f.adds, 0);
	/* ifname needs no descriptor: the option string as the command line
	 * would have it, with ",," for a comma. */
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\","
	       "\"ifname\":\"t0\",\"queues\":2,\"vhost\":false,\"script\":\"a,b\"}}", OK);
	assert_string_equal(f.opts, "tap,id=n0,ifname=t0,script=a,,b,vhost=off,queues=2");
	qmp_session_free(s);
	/* A machine without netdevs. */
	s = open_s(&none, NULL);
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\",\"ifname\":\"t\"}}",
	       G("netdev_add is not supported on this machine"));
	expect(s, "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"n0\"}}",
	       ERR("DeviceNotFound", "Device 'n0' not found"));
	qmp_session_free(s);
}

static void test_netdev_add_fds(void **state)
{
	(void)state;
	struct fake f = { .adds = 0 };
	struct qmp_session *s = open_s(&ops, &f);
	int a = give(s, "fd-tap0"), b = give(s, "fd-tap1"), v = give(s, "fd-vhost0");

	/* One name missing: nothing taken, all still held. */
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\","
	       "\"fds\":\"fd-tap0:fd-tapX\"}}", G("File descriptor named 'fd-tapX' has not been found"));
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\","
	       "\"fds\":\"fd-tap0:fd-tap0\"}}", G("File descriptor named 'fd-tap0' is given twice"));
	assert_int_equal(f.adds, 0);
	assert_true(is_open(a) && is_open(b) && is_open(v));

	/* Refused before any descriptor is taken (a duplicate id, a bad
	 * combination): all stay in the table, as QEMU leaves them. */
	f.fail_check = 1;
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\","
	       "\"fds\":\"fd-tap0:fd-tap1\"}}", G("Duplicate ID 'n0'"));
	assert_string_equal(f.check_opts, "tap,id=n0,fds=2147418112:2147418113");
	assert_int_equal(f.adds, 0);
	assert_true(is_open(a) && is_open(b) && is_open(v));
	f.fail_check = 0;

	/* The machine refuses: every taken descriptor is closed. */
	f.fail = 1;
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\","
	       "\"vhost\":true,\"vhostfds\":\"fd-vhost0\",\"fds\":\"fd-tap0\"}}",
	       G("fd 9 is a pipe, not a tap"));
	char want[128];
	snprintf(want, sizeof(want), "tap,id=n0,fds=%d,vhost=on,vhostfds=%d", a, v);
	assert_string_equal(f.opts, want);
	assert_false(is_open(a));
	assert_false(is_open(v));
	assert_true(is_open(b));
	/* ... and their names are gone (QEMU's monitor_fd_param took them). */
	expect(s, "{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"fd-tap0\"}}",
	       G("File descriptor named 'fd-tap0' not found"));

	/* Accepted: the machine owns the descriptors (still open here). */
	f.fail = 0;
	a = give(s, "fd-tap0");
	expect(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"n0\",\"type\":\"tap\","
	       "\"fds\":\"fd-tap0:fd-tap1\"}}", OK);
	snprintf(want, sizeof(want), "tap,id=n0,fds=%d:%d", a, b);
	assert_string_equal(f.opts, want);
	assert_true(is_open(a) && is_open(b));
	expect(s, "{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"fd-tap1\"}}",
	       G("File descriptor named 'fd-tap1' not found"));
	qmp_session_free(s);
	/* The session's table closed what it held; what the machine got it
	 * keeps. */
	assert_true(is_open(a) && is_open(b));
	close(a);
	close(b);
}

static void test_netdev_del_args(void **state)
{
	(void)state;
	struct fake f = { .adds = 0 };
	struct qmp_session *s = open_s(&ops, &f);
	expect(s, "{\"execute\":\"netdev_del\"}", G("Parameter 'id' is missing"));
	expect(s, "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":1}}",
	       G("Invalid parameter type for 'id', expected: string"));
	expect(s, "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"n0\",\"x\":1}}",
	       G("Parameter 'x' is unexpected"));
	expect(s, "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"zz\"}}",
	       ERR("DeviceNotFound", "Device 'zz' not found"));
	expect(s, "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"n0\"}}", OK);
	assert_string_equal(f.del, "n0");
	qmp_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netdev_add_args),
		cmocka_unit_test(test_netdev_add_fds),
		cmocka_unit_test(test_netdev_del_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
