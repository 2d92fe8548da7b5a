/* blockdev-add / blockdev-del, chardev-add / chardev-remove and the
 * machine queries at the QMP level (core/qmp_block.c, qmp_chardev.c,
 * qmp_query.c): QEMU 7.2's argument checks and words before the machine
 * is asked (the words checked against a real QEMU by
 * tests/integration/test_qmp_block_vs_qemu.sh), the checked arguments
 * handed to the machine as Kata's govmm sends them (nested and flat
 * forms, cache, read-only, aio), the machine's errors passed through, and
 * the answers of a machine without the ops. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "core/qmp.h"

struct fake {
	int nadd, ndel, ncadd, ncrm;
	char node[64], driver[16], proto[16], filename[128], file_ref[64], del[64];
	bool ro, direct, no_flush;
	enum qmp_aio aio;
	char cid[64], cpath[128];
	bool server, wait;
	char what[32];
	int fail;
};

static int f_bd_add(void *o, const struct qmp_blockdev *b, struct qmp_err *e)
{
	struct fake *f = o;
	f->nadd++;
	snprintf(f->node, sizeof(f->node), "%s", b->node_name);
	snprintf(f->driver, sizeof(f->driver), "%s", b->driver);
	snprintf(f->proto, sizeof(f->proto), "%s", b->proto ? b->proto : "-");
	snprintf(f->filename, sizeof(f->filename), "%s", b->filename ? b->filename : "-");
	snprintf(f->file_ref, sizeof(f->file_ref), "%s", b->file_ref ? b->file_ref : "-");
	f->ro = b->read_only;
	f->direct = b->direct;
	f->no_flush = b->no_flush;
	f->aio = b->aio;
	if (f->fail) {
		e->cls = "GenericError";
		snprintf(e->desc, sizeof(e->desc), "Duplicate nodes with node-name='%s'", b->node_name);
		return -1;
	}
	return 0;
}

static int f_bd_del(void *o, const char *name, struct qmp_err *e)
{
	struct fake *f = o;
	f->ndel++;
	snprintf(f->del, sizeof(f->del), "%s", name);
	if (f->fail) {
		e->cls = "GenericError";
		snprintf(e->desc, sizeof(e->desc), "Node %s is in use", name);
		return -1;
	}
	return 0;
}

static int f_chr_add(void *o, const struct qmp_chardev *c, struct qmp_err *e)
{
	struct fake *f = o;
	f->ncadd++;
	snprintf(f->cid, sizeof(f->cid), "%s", c->id);
	snprintf(f->cpath, sizeof(f->cpath), "%s", c->path);
	f->server = c->server;
	f->wait = c->wait;
	(void)e;
	return 0;
}

static int f_chr_rm(void *o, const char *id, struct qmp_err *e)
{
	struct fake *f = o;
	f->ncrm++;
	e->cls = "GenericError";
	snprintf(e->desc, sizeof(e->desc), "Chardev '%s' is busy", id);
	return -1;
}

static int f_query(void *o, const char *what, struct json **out, struct qmp_err *e)
{
	struct fake *f = o;
	(void)e;
	snprintf(f->what, sizeof(f->what), "%s", what);
	*out = json_new_array();
	return 0;
}

static const struct qmp_machine_ops ops = {
	.blockdev_add = f_bd_add, .blockdev_del = f_bd_del, .chardev_add = f_chr_add,
	.chardev_remove = f_chr_rm, .query = f_query,
};
static const struct qmp_machine_ops none = { 0 };

static char *drain(struct qmp_session *s)
{
	size_t len;
	const char *out = qmp_session_output(s, &len);
	char *copy = strndup(out, len);
	qmp_session_consume(s, len);
	return copy;
}

static void expect(struct qmp_session *s, const char *in, const char *want)
{
	qmp_session_input(s, in, strlen(in));
	char *got = drain(s);
	if (strcmp(got, want) != 0)
		fail_msg("input: %s\n got: %s\nwant: %s", in, got, want);
	free(got);
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
#define BDA(args) "{\"arguments\":" args ",\"execute\":\"blockdev-add\"}"
#define FILE_OK "\"file\":{\"driver\":\"file\",\"filename\":\"/img\"}"

/* Each malformed blockdev-add gets QEMU's words, and the machine is never
 * asked. */
static void test_blockdev_add_checks(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct qmp_session *s = open_s(&ops, &f);
	expect(s, "{\"execute\":\"blockdev-add\"}", ERR("GenericError", "Parameter 'driver' is missing"));
	expect(s, BDA("{\"node-name\":\"n\"}"), ERR("GenericError", "Parameter 'driver' is missing"));
	expect(s, BDA("{\"driver\":7}"),
	       ERR("GenericError", "Invalid parameter type for 'driver', expected: string"));
	expect(s, BDA("{\"driver\":\"qcow2\",\"node-name\":\"n\"}"),
	       ERR("GenericError", "Parameter 'driver' does not accept value 'qcow2'"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":1}"),
	       ERR("GenericError", "Invalid parameter type for 'node-name', expected: string"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"read-only\":\"on\"," FILE_OK "}"),
	       ERR("GenericError", "Invalid parameter type for 'read-only', expected: boolean"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"cache\":true," FILE_OK "}"),
	       ERR("GenericError", "Invalid parameter type for 'cache', expected: object"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"cache\":{\"direct\":1}," FILE_OK "}"),
	       ERR("GenericError", "Invalid parameter type for 'cache.direct', expected: boolean"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"cache\":{\"writeback\":true}," FILE_OK "}"),
	       ERR("GenericError", "Parameter 'cache.writeback' is unexpected"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\"}"),
	       ERR("GenericError", "Parameter 'file' is missing"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":3}"),
	       ERR("GenericError", "Invalid parameter type for 'file', expected: BlockdevOptions"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":{}}"),
	       ERR("GenericError", "Parameter 'file.driver' is missing"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":{\"driver\":\"raw\"}}"),
	       ERR("GenericError", "Parameter 'driver' does not accept value 'raw'"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":{\"driver\":\"file\"}}"),
	       ERR("GenericError", "Parameter 'file.filename' is missing"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":{\"driver\":\"file\",\"filename\":[]}}"),
	       ERR("GenericError", "Invalid parameter type for 'file.filename', expected: string"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":{\"driver\":\"file\",\"filename\":\"/i\",\"aio\":\"posix\"}}"),
	       ERR("GenericError", "Parameter 'aio' does not accept value 'posix'"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":{\"driver\":\"file\",\"filename\":\"/i\",\"locking\":\"on\"}}"),
	       ERR("GenericError", "Parameter 'file.locking' is unexpected"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":{\"driver\":\"file\",\"filename\":\"/i\",\"node-name\":\"x\"}}"),
	       ERR("GenericError", "Parameter 'file.node-name' is unexpected"));
	/* aio belongs to the protocol node, not to raw. */
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"aio\":\"threads\"," FILE_OK "}"),
	       ERR("GenericError", "Parameter 'aio' is unexpected"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"detect-zeroes\":\"on\"," FILE_OK "}"),
	       ERR("GenericError", "Parameter 'detect-zeroes' is unexpected"));
	expect(s, BDA("{\"driver\":\"raw\"," FILE_OK "}"),
	       ERR("GenericError", "'node-name' must be specified for the root node"));
	expect(s, BDA("{\"driver\":\"file\",\"node-name\":\"f\"}"),
	       ERR("GenericError", "Parameter 'filename' is missing"));
	expect(s, BDA("{\"driver\":\"file\",\"node-name\":\"f\",\"filename\":\"/i\",\"file\":\"x\"}"),
	       ERR("GenericError", "Parameter 'file' is unexpected"));
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":{\"driver\":\"file\",\"filename\":\"/i\",\"aio\":\"native\"}}"),
	       ERR("GenericError", "aio=native was specified, but it requires cache.direct=on, which was not specified."));
	assert_int_equal(f.nadd, 0);
	qmp_session_free(s);
}

/* What the machine is handed, for the forms govmm sends. */
static void test_blockdev_add_forms(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct qmp_session *s = open_s(&ops, &f);
	/* ExecuteBlockdevAddWithCache: keys sorted, nested file. */
	expect(s, "{\"arguments\":{\"cache\":{\"direct\":true,\"no-flush\":true},\"driver\":\"raw\","
		  "\"file\":{\"driver\":\"file\",\"filename\":\"/dev/rbd0\"},\"node-name\":\"drive-1\","
		  "\"read-only\":true},\"execute\":\"blockdev-add\"}", OK);
	assert_int_equal(f.nadd, 1);
	assert_string_equal(f.node, "drive-1");
	assert_string_equal(f.driver, "raw");
	assert_string_equal(f.proto, "file");
	assert_string_equal(f.filename, "/dev/rbd0");
	assert_string_equal(f.file_ref, "-");
	assert_true(f.ro && f.direct && f.no_flush);
	assert_int_equal(f.aio, QMP_AIO_THREADS);
	/* host_device with aio=native under cache.direct. */
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n2\",\"cache\":{\"direct\":true},"
		      "\"file\":{\"driver\":\"host_device\",\"filename\":\"/dev/sdb\",\"aio\":\"native\"}}"), OK);
	assert_string_equal(f.proto, "host_device");
	assert_int_equal(f.aio, QMP_AIO_NATIVE);
	assert_false(f.ro || f.no_flush);
	/* The flat form: a protocol node, then raw naming it. */
	expect(s, BDA("{\"driver\":\"file\",\"node-name\":\"f0\",\"filename\":\"/img\",\"aio\":\"io_uring\"}"), OK);
	assert_string_equal(f.driver, "file");
	assert_string_equal(f.proto, "file");
	assert_int_equal(f.aio, QMP_AIO_IO_URING);
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"r0\",\"file\":\"f0\"}"), OK);
	assert_string_equal(f.file_ref, "f0");
	assert_string_equal(f.filename, "-");
	/* The machine's refusal passes through as it gave it. */
	f.fail = 1;
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"r0\",\"file\":\"f0\"}"),
	       ERR("GenericError", "Duplicate nodes with node-name='r0'"));
	expect(s, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"r0\"}}",
	       ERR("GenericError", "Node r0 is in use"));
	f.fail = 0;
	expect(s, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"r0\"}}", OK);
	assert_string_equal(f.del, "r0");
	expect(s, "{\"execute\":\"blockdev-del\"}", ERR("GenericError", "Parameter 'node-name' is missing"));
	expect(s, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"r0\",\"force\":true}}",
	       ERR("GenericError", "Parameter 'force' is unexpected"));
	assert_int_equal(f.ndel, 2);
	qmp_session_free(s);
}

#define CHA(args) "{\"arguments\":" args ",\"execute\":\"chardev-add\"}"
#define UNIX(p) "\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" p "\"}}"

static void test_chardev_add(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct qmp_session *s = open_s(&ops, &f);
	expect(s, CHA("{}"), ERR("GenericError", "Parameter 'id' is missing"));
	expect(s, CHA("{\"id\":1}"), ERR("GenericError", "Invalid parameter type for 'id', expected: string"));
	expect(s, CHA("{\"id\":\"c\"}"), ERR("GenericError", "Parameter 'backend' is missing"));
	expect(s, CHA("{\"id\":\"c\",\"backend\":{}}"), ERR("GenericError", "Parameter 'backend.type' is missing"));
	expect(s, CHA("{\"id\":\"c\",\"backend\":{\"type\":\"tty9\",\"data\":{}}}"),
	       ERR("GenericError", "Parameter 'type' does not accept value 'tty9'"));
	expect(s, CHA("{\"id\":\"c\",\"backend\":{\"type\":\"socket\"}}"),
	       ERR("GenericError", "Parameter 'backend.data' is missing"));
	expect(s, CHA("{\"id\":\"c\",\"backend\":{\"type\":\"pty\",\"data\":{}}}"),
	       ERR("GenericError", "chardev-add: backend type 'pty' is not supported by this machine (socket only)"));
	expect(s, CHA("{\"id\":\"c\",\"backend\":{\"type\":\"socket\",\"data\":{}}}"),
	       ERR("GenericError", "Parameter 'backend.data.addr' is missing"));
	expect(s, CHA("{\"id\":\"c\",\"backend\":{\"type\":\"socket\",\"data\":{\"addr\":{\"type\":\"unix\",\"data\":{}}}}}"),
	       ERR("GenericError", "Parameter 'backend.data.addr.data.path' is missing"));
	expect(s, CHA("{\"id\":\"c\",\"backend\":{\"type\":\"socket\",\"data\":{\"server\":1," UNIX("/s") "}}}"),
	       ERR("GenericError", "Invalid parameter type for 'backend.data.server', expected: boolean"));
	expect(s, CHA("{\"id\":\"c\",\"backend\":{\"type\":\"socket\",\"data\":{\"tls\":1," UNIX("/s") "}}}"),
	       ERR("GenericError", "Parameter 'backend.data.tls' is unexpected"));
	expect(s, CHA("{\"id\":\"c\",\"x\":1,\"backend\":{\"type\":\"socket\",\"data\":{" UNIX("/s") "}}}"),
	       ERR("GenericError", "Parameter 'x' is unexpected"));
	/* Never block the loop waiting for a client. */
	expect(s, CHA("{\"id\":\"c\",\"backend\":{\"type\":\"socket\",\"data\":{\"wait\":true," UNIX("/s") "}}}"),
	       ERR("GenericError", "chardev-add: a server socket with wait=true is not supported (use wait=false)"));
	expect(s, CHA("{\"id\":\"c\",\"backend\":{\"type\":\"socket\",\"data\":{\"reconnect\":5,\"server\":false," UNIX("/s") "}}}"),
	       ERR("GenericError", "chardev-add: reconnect and logfile are not supported by this machine"));
	assert_int_equal(f.ncadd, 0);
	/* govmm's ExecuteCharDevUnixSocketAdd (a vhost-user client). */
	expect(s, "{\"arguments\":{\"backend\":{\"data\":{\"addr\":{\"data\":{\"path\":\"/run/vfs.sock\"},"
		  "\"type\":\"unix\"},\"server\":false,\"wait\":false},\"type\":\"socket\"},\"id\":\"char-1\"},"
		  "\"execute\":\"chardev-add\"}", OK);
	assert_string_equal(f.cid, "char-1");
	assert_string_equal(f.cpath, "/run/vfs.sock");
	assert_false(f.server || f.wait);
	/* server defaults to true (qapi/char.json ChardevSocket). */
	expect(s, CHA("{\"id\":\"c2\",\"backend\":{\"type\":\"socket\",\"data\":{" UNIX("/s2") "}}}"), OK);
	assert_true(f.server);
	expect(s, "{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"c2\"}}",
	       ERR("GenericError", "Chardev 'c2' is busy"));
	expect(s, "{\"execute\":\"chardev-remove\"}", ERR("GenericError", "Parameter 'id' is missing"));
	assert_int_equal(f.ncrm, 1);
	qmp_session_free(s);
}

static void test_queries_and_no_ops(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct qmp_session *s = open_s(&ops, &f);
	expect(s, "{\"execute\":\"query-block\"}", "{\"return\": []}\r\n");
	assert_string_equal(f.what, "query-block");
	expect(s, "{\"execute\":\"query-pci\"}", "{\"return\": []}\r\n");
	assert_string_equal(f.what, "query-pci");
	expect(s, "{\"execute\":\"query-chardev\",\"arguments\":{\"x\":1}}",
	       ERR("GenericError", "Parameter 'x' is unexpected"));
	qmp_session_free(s);
	/* A machine without the ops: QEMU's answers for nothing there. */
	s = open_s(&none, NULL);
	expect(s, "{\"execute\":\"query-chardev\"}", "{\"return\": []}\r\n");
	expect(s, BDA("{\"driver\":\"raw\",\"node-name\":\"n\"," FILE_OK "}"),
	       ERR("GenericError", "blockdev-add is not supported by this machine"));
	expect(s, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"n\"}}",
	       ERR("GenericError", "Failed to find node with node-name='n'"));
	expect(s, "{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"c\"}}",
	       ERR("GenericError", "Chardev 'c' not found"));
	qmp_session_free(s);
}

/* query-qmp-schema lists the new commands, and nothing not in the
 * command table. */
static void test_schema_lists_them(void **state)
{
	(void)state;
	struct qmp_session *s = open_s(&none, NULL);
	const char *in = "{\"execute\":\"query-qmp-schema\"}";
	qmp_session_input(s, in, strlen(in));
	char *got = drain(s);
	struct json *v = json_parse(got, strlen(got), NULL, 0);
	assert_non_null(v);
	struct json *list = json_get(v, "return");
	const char *want[] = { "blockdev-add", "blockdev-del", "chardev-add", "chardev-remove",
			       "query-pci", "query-block", "query-chardev" };
	for (unsigned w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		bool found = false;
		for (size_t i = 0; i < json_len(list); i++) {
			const struct json *e = json_at(list, i);
			const char *mt = json_get_str(json_get(e, "meta-type"));
			found |= mt && !strcmp(mt, "command") &&
				 !strcmp(json_get_str(json_get(e, "name")), want[w]);
		}
		if (!found)
			fail_msg("%s not in query-qmp-schema", want[w]);
	}
	json_free(v);
	free(got);
	qmp_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blockdev_add_checks),
		cmocka_unit_test(test_blockdev_add_forms),
		cmocka_unit_test(test_chardev_add),
		cmocka_unit_test(test_queries_and_no_ops),
		cmocka_unit_test(test_schema_lists_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
