/* The migration commands at the QMP level (core/qmp_migrate.c): QEMU
 * 7.2's argument checks and words before the machine is asked, the
 * capabilities (unknown ones refused by name, ones vmm does not implement
 * refused when switched on, never silently accepted), query-migrate's
 * shapes per status ({} before any migration; active, completed, failed),
 * and a machine without migration. */
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
	char uri[128], in_uri[128];
	unsigned caps;
	int migrate_calls;
	struct qmp_migrate_info info;
	const char *status;
};

static int f_migrate(void *o, const char *uri, struct qmp_err *e)
{
	struct fake *f = o;
	(void)e;
	f->migrate_calls++;
	snprintf(f->uri, sizeof(f->uri), "%s", uri);
	return 0;
}
static int f_incoming(void *o, const char *uri, struct qmp_err *e)
{
	struct fake *f = o;
	snprintf(f->in_uri, sizeof(f->in_uri), "%s", uri);
	snprintf(e->desc, sizeof(e->desc), "The incoming migration has already been started");
	return -1;
}
static void f_query(void *o, struct qmp_migrate_info *out)
{
	struct fake *f = o;
	*out = f->info;
	out->status = f->status;
}
static unsigned f_caps(void *o)
{
	return ((struct fake *)o)->caps;
}
static int f_set_caps(void *o, unsigned caps, struct qmp_err *e)
{
	(void)e;
	((struct fake *)o)->caps = caps;
	return 0;
}

static const struct qmp_machine_ops ops = {
	.migrate = f_migrate, .migrate_incoming = f_incoming,
	.migrate_query = f_query, .migrate_caps = f_caps,
	.migrate_set_caps = f_set_caps,
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

/* The reply parsed, for shape checks. */
static struct json *reply(struct qmp_session *s, const char *in)
{
	qmp_session_input(s, in, strlen(in));
	char *got = drain(s);
	struct json *j = json_parse(got, strlen(got), NULL, 0);
	free(got);
	assert_non_null(j);
	return j;
}

static struct qmp_session *open_s(const struct qmp_machine_ops *o, void *f)
{
	struct qmp_session *s = qmp_session_new(o, f);
	free(drain(s));
	expect(s, "{\"execute\":\"qmp_capabilities\"}", "{\"return\": {}}\r\n");
	return s;
}

#define OK "{\"return\": {}}\r\n"
#define ERR(d) "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" d "\"}}\r\n"

static void test_migrate_args(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct qmp_session *s = open_s(&ops, &f);
	expect(s, "{\"execute\":\"migrate\"}", ERR("Parameter 'uri' is missing"));
	expect(s, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":1}}",
	       ERR("Invalid parameter type for 'uri', expected: string"));
	expect(s, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:x\",\"foo\":1}}",
	       ERR("Parameter 'foo' is unexpected"));
	expect(s, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:x\",\"blk\":true}}",
	       ERR("vmm does not migrate block devices ('blk' and 'inc' must be false)"));
	expect(s, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:x\",\"inc\":true}}",
	       ERR("vmm does not migrate block devices ('blk' and 'inc' must be false)"));
	expect(s, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:x\",\"resume\":true}}",
	       ERR("Cannot resume if there is no paused migration"));
	assert_int_equal(f.migrate_calls, 0);
	/* detach is accepted and means nothing (QEMU ignores it too). */
	expect(s, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:cat >f\",\"detach\":true,"
		  "\"blk\":false}}", OK);
	assert_string_equal(f.uri, "exec:cat >f");
	expect(s, "{\"execute\":\"migrate-incoming\"}", ERR("Parameter 'uri' is missing"));
	expect(s, "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"file:/x\"}}",
	       ERR("The incoming migration has already been started"));
	assert_string_equal(f.in_uri, "file:/x");
	qmp_session_free(s);
	/* A machine without migration says what QEMU says without -incoming. */
	s = open_s(&none, NULL);
	expect(s, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:x\"}}",
	       ERR("migrate is not supported by this machine"));
	expect(s, "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"exec:x\"}}",
	       ERR("'-incoming' was not specified on the command line"));
	expect(s, "{\"execute\":\"query-migrate\"}", OK);
	qmp_session_free(s);
}

static void test_capabilities(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct qmp_session *s = open_s(&ops, &f);
	expect(s, "{\"execute\":\"migrate-set-capabilities\"}", ERR("Parameter 'capabilities' is missing"));
	expect(s, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"capability\":\"foo\",\"state\":true}]}}",
	       ERR("Parameter 'capability' does not accept value 'foo'"));
	expect(s, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"capability\":\"events\"}]}}",
	       ERR("Parameter 'capabilities[0].state' is missing"));
	expect(s, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"state\":true}]}}",
	       ERR("Parameter 'capabilities[0].capability' is missing"));
	expect(s, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[1]}}",
	       ERR("Invalid parameter type for 'capabilities[0]', expected: object"));
	expect(s, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"capability\":\"events\",\"state\":1}]}}",
	       ERR("Invalid parameter type for 'capabilities[0].state', expected: boolean"));
	expect(s, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"capability\":\"events\",\"state\":true,\"x\":1}]}}",
	       ERR("Parameter 'capabilities[0].x' is unexpected"));
	assert_int_equal(f.caps, 0);
	/* One vmm does not implement: off is fine, on is refused whole. */
	expect(s, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"capability\":\"xbzrle\",\"state\":false}]}}", OK);
	expect(s, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":["
		  "{\"capability\":\"events\",\"state\":true},{\"capability\":\"xbzrle\",\"state\":true}]}}",
	       ERR("Migration capability 'xbzrle' is not supported by vmm (supported: events, x-ignore-shared)"));
	assert_int_equal(f.caps, 0);
	expect(s, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":["
		  "{\"capability\":\"events\",\"state\":true},{\"capability\":\"x-ignore-shared\",\"state\":true}]}}", OK);
	assert_int_equal(f.caps, QMP_MIG_CAP_EVENTS | QMP_MIG_CAP_IGNORE_SHARED);
	expect(s, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":["
		  "{\"capability\":\"events\",\"state\":false}]}}", OK);
	assert_int_equal(f.caps, QMP_MIG_CAP_IGNORE_SHARED);
	struct json *r = reply(s, "{\"execute\":\"query-migrate-capabilities\"}");
	const struct json *list = json_get(r, "return");
	assert_int_equal(json_len(list), 21);
	unsigned on = 0;
	for (size_t i = 0; i < json_len(list); i++) {
		const struct json *e = json_at(list, i);
		if (json_get_bool(json_get(e, "state"))) {
			on++;
			assert_string_equal(json_get_str(json_get(e, "capability")), "x-ignore-shared");
		}
	}
	assert_int_equal(on, 1);
	json_free(r);
	qmp_session_free(s);
}

static void test_query_shapes(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct qmp_session *s = open_s(&ops, &f);
	expect(s, "{\"execute\":\"query-migrate\"}", OK);
	f.status = "setup";
	expect(s, "{\"execute\":\"query-migrate\"}", "{\"return\": {\"status\": \"setup\"}}\r\n");
	f.status = "active";
	f.info = (struct qmp_migrate_info){ .setup_ms = 3, .total_ms = 9, .ram_total = 1 << 20,
					    .ram_transferred = 4096, .ram_remaining = 8192,
					    .ram_normal_pages = 3, .mbps = 1.5 };
	struct json *r = reply(s, "{\"execute\":\"query-migrate\"}");
	const struct json *v = json_get(r, "return");
	assert_int_equal(json_get_int(json_get(v, "expected-downtime")), 300);
	assert_int_equal(json_get_int(json_get(v, "total-time")), 9);
	assert_null(json_get(v, "downtime"));
	const struct json *ram = json_get(v, "ram");
	assert_int_equal(json_len(ram), 18);
	assert_int_equal(json_get_int(json_get(ram, "total")), 1 << 20);
	assert_int_equal(json_get_int(json_get(ram, "transferred")), 4096);
	assert_int_equal(json_get_int(json_get(ram, "remaining")), 8192);
	assert_int_equal(json_get_int(json_get(ram, "normal-bytes")), 3 * 4096);
	assert_true(json_type(json_get(ram, "mbps")) == JSON_DOUBLE);
	json_free(r);
	f.status = "completed";
	f.info.downtime_ms = 5;
	r = reply(s, "{\"execute\":\"query-migrate\"}");
	v = json_get(r, "return");
	assert_null(json_get(v, "expected-downtime"));
	assert_int_equal(json_get_int(json_get(v, "downtime")), 5);
	assert_non_null(json_get(v, "ram"));
	json_free(r);
	f.status = "failed";
	snprintf(f.info.error, sizeof(f.info.error), "Unable to write to command: Broken pipe");
	expect(s, "{\"execute\":\"query-migrate\"}",
	       "{\"return\": {\"status\": \"failed\", \"error-desc\": \"Unable to write to command: Broken pipe\"}}\r\n");
	f.info.error[0] = 0;
	expect(s, "{\"execute\":\"query-migrate\"}", "{\"return\": {\"status\": \"failed\"}}\r\n");
	qmp_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_args),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_query_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
