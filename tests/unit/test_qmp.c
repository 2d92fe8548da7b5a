/* core/qmp session level: the greeting, capabilities negotiation, every
 * command against a fake machine (and against a machine with no ops),
 * QEMU's error classes and wording, id echo, framing of split and merged
 * input, oversized messages, unread output, events and their order.
 * The unix socket server is in test_qmp_server*.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "core/qmp.h"

struct fake {
	int stops, conts, powerdowns, resets, quits;
	uint64_t balloon_bytes;
	int fail; /* ops return this when non-zero */
	const char *status;
	struct qmp_session *sess; /* for events emitted from inside an op */
};

static int fake_stop(void *o)
{
	struct fake *f = o;
	if (f->fail)
		return f->fail;
	f->stops++;
	f->status = "paused";
	if (f->sess)
		qmp_session_event(f->sess, "STOP", NULL, 1500000123456789000ull);
	return 0;
}
static int fake_cont(void *o)
{
	struct fake *f = o;
	f->conts++;
	f->status = "running";
	return f->fail;
}
static int fake_powerdown(void *o) { ((struct fake *)o)->powerdowns++; return 0; }
static int fake_reset(void *o) { ((struct fake *)o)->resets++; return 0; }
static int fake_quit(void *o) { ((struct fake *)o)->quits++; return 0; }
static int fake_balloon_set(void *o, uint64_t bytes, char *err, size_t errlen)
{
	struct fake *f = o;
	if (f->fail) {
		snprintf(err, errlen, "balloon is busy");
		return f->fail;
	}
	f->balloon_bytes = bytes;
	return 0;
}
static int fake_balloon_get(void *o, uint64_t *actual)
{
	struct fake *f = o;
	*actual = f->balloon_bytes;
	return f->fail;
}
static const char *fake_status(void *o) { return ((struct fake *)o)->status; }
static int fake_cpu_info(void *o, unsigned idx, struct qmp_cpu_info *ci)
{
	(void)o;
	ci->thread_id = 1000 + idx;
	ci->socket_id = idx / 2;
	ci->core_id = idx % 2;
	ci->thread_id_in_core = 0;
	return 0;
}

static const struct qmp_machine_ops fake_ops = {
	.name = "sandbox-1",
	.uuid = "977692f6-744c-4917-8ccd-ffad44020fe9",
	.ncpus = 2,
	.kvm_enabled = true,
	.kvm_present = true,
	.stop = fake_stop,
	.cont = fake_cont,
	.powerdown = fake_powerdown,
	.reset = fake_reset,
	.quit = fake_quit,
	.balloon_set = fake_balloon_set,
	.balloon_get = fake_balloon_get,
	.status = fake_status,
	.cpu_info = fake_cpu_info,
};

static const struct qmp_machine_ops null_ops = { 0 };

/* Everything queued so far, consumed; the caller frees. */
static char *drain(struct qmp_session *s)
{
	size_t len;
	const char *out = qmp_session_output(s, &len);
	char *copy = strndup(out, len);
	qmp_session_consume(s, len);
	return copy;
}

static char *send_str(struct qmp_session *s, const char *in)
{
	qmp_session_input(s, in, strlen(in));
	return drain(s);
}

/* Send `in`, expect exactly `want` (one or more "\r\n"-ended lines). */
static void expect(struct qmp_session *s, const char *in, const char *want)
{
	char *got = send_str(s, in);
	if (strcmp(got, want) != 0)
		fail_msg("input: %s\n got: %s\nwant: %s", in, got, want);
	free(got);
}

static struct qmp_session *negotiated(const struct qmp_machine_ops *ops, void *opaque)
{
	struct qmp_session *s = qmp_session_new(ops, opaque);
	assert_non_null(s);
	free(drain(s));
	expect(s, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}\r\n");
	assert_true(qmp_session_negotiated(s));
	return s;
}

#define OK "{\"return\": {}}\r\n"
#define ERR(cls, desc) "{\"error\": {\"class\": \"" cls "\", \"desc\": \"" desc "\"}}\r\n"
#define GENERIC(desc) ERR("GenericError", desc)

static void test_greeting(void **state)
{
	(void)state;
	struct qmp_session *s = qmp_session_new(&fake_ops, NULL);
	char *g = drain(s);
	assert_string_equal(g, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
			       "\"major\": 7}, \"package\": \"vmm 0.1.0\"}, \"capabilities\": []}}\r\n");
	/* It is valid JSON with the shape clients parse. */
	struct json *v = json_parse(g, strlen(g), NULL, 0);
	struct json *caps = json_get(json_get(v, "QMP"), "capabilities");
	assert_int_equal(json_type(caps), JSON_ARRAY);
	assert_int_equal(json_len(caps), 0);
	json_free(v);
	free(g);
	assert_false(qmp_session_negotiated(s));
	assert_false(qmp_session_closing(s));
	qmp_session_free(s);
}

static void test_negotiation(void **state)
{
	(void)state;
	struct fake f = { .status = "running" };
	struct qmp_session *s = qmp_session_new(&fake_ops, &f);
	free(drain(s));
	/* Before qmp_capabilities, nothing else exists (not even unknowns). */
	expect(s, "{\"execute\": \"query-status\"}",
	       ERR("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'"));
	expect(s, "{\"execute\": \"stop\", \"id\": 7}",
	       "{\"id\": 7, \"error\": {\"class\": \"CommandNotFound\", \"desc\": "
	       "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}\r\n");
	assert_int_equal(f.stops, 0);
	/* We advertise no capabilities: asking for oob fails, stays in mode. */
	expect(s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}",
	       GENERIC("Capability 'oob' not available"));
	expect(s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"x\"]}}",
	       GENERIC("Parameter 'enable' does not accept value 'x'"));
	expect(s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [1]}}",
	       GENERIC("Invalid parameter type for 'enable[0]', expected: string"));
	expect(s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": \"oob\"}}",
	       GENERIC("Invalid parameter type for 'enable', expected: array"));
	expect(s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"foo\": 1}}",
	       GENERIC("Parameter 'foo' is unexpected"));
	assert_false(qmp_session_negotiated(s));
	expect(s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": []}, \"id\": \"n\"}",
	       "{\"return\": {}, \"id\": \"n\"}\r\n");
	assert_true(qmp_session_negotiated(s));
	expect(s, "{\"execute\": \"qmp_capabilities\"}",
	       ERR("CommandNotFound", "Capabilities negotiation is already complete, command ignored"));
	qmp_session_free(s);
}

static void test_queries(void **state)
{
	(void)state;
	struct fake f = { .status = "running", .balloon_bytes = 536870912 };
	struct qmp_session *s = negotiated(&fake_ops, &f);
	expect(s, "{\"execute\": \"query-version\"}",
	       "{\"return\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
	       "\"package\": \"vmm 0.1.0\"}}\r\n");
	expect(s, "{\"execute\": \"query-status\"}",
	       "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}}\r\n");
	expect(s, "{\"execute\": \"query-name\"}", "{\"return\": {\"name\": \"sandbox-1\"}}\r\n");
	expect(s, "{\"execute\": \"query-uuid\"}",
	       "{\"return\": {\"UUID\": \"977692f6-744c-4917-8ccd-ffad44020fe9\"}}\r\n");
	expect(s, "{\"execute\": \"query-kvm\"}",
	       "{\"return\": {\"enabled\": true, \"present\": true}}\r\n");
	expect(s, "{\"execute\": \"query-cpus-fast\"}",
	       "{\"return\": [{\"thread-id\": 1000, \"props\": {\"core-id\": 0, \"thread-id\": 0, "
	       "\"socket-id\": 0}, \"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0, "
	       "\"target\": \"x86_64\"}, {\"thread-id\": 1001, \"props\": {\"core-id\": 1, "
	       "\"thread-id\": 0, \"socket-id\": 0}, \"qom-path\": \"/machine/unattached/device[1]\", "
	       "\"cpu-index\": 1, \"target\": \"x86_64\"}]}\r\n");
	expect(s, "{\"execute\": \"query-balloon\"}", "{\"return\": {\"actual\": 536870912}}\r\n");
	expect(s, "{\"execute\": \"query-version\", \"arguments\": {}}",
	       "{\"return\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
	       "\"package\": \"vmm 0.1.0\"}}\r\n");

	/* query-commands lists every command, and each listed one exists. */
	char *got = send_str(s, "{\"execute\": \"query-commands\"}");
	struct json *v = json_parse(got, strlen(got), NULL, 0);
	assert_non_null(v);
	struct json *list = json_get(v, "return");
	assert_int_equal(json_len(list), 40);
	for (size_t i = 0; i < json_len(list); i++) {
		const char *name = json_get_str(json_get(json_at(list, i), "name"));
		assert_non_null(name);
		if (strcmp(name, "qmp_capabilities") == 0)
			continue; /* already negotiated: refused before arguments */
		char cmd[128], *r;
		snprintf(cmd, sizeof(cmd), "{\"execute\": \"%s\", \"arguments\": {\"zz\": 1}}", name);
		r = send_str(s, cmd);
		/* Every command checks its arguments before running;
		 * device_add takes any property, but needs a driver;
		 * netdev_add (a union) wants its id first;
		 * blockdev-add, chardev-add and object-add check their discriminator
		 * and id first, as QEMU's visitor does. */
		const char *want = "Parameter 'zz' is unexpected";
		if (!strcmp(name, "device_add") || !strcmp(name, "blockdev-add"))
			want = "Parameter 'driver' is missing";
		else if (!strcmp(name, "chardev-add") || !strcmp(name, "netdev_add"))
			want = "Parameter 'id' is missing";
		else if (!strcmp(name, "object-add"))
			want = "Parameter 'qom-type' is missing";
		assert_non_null(strstr(r, want));
		free(r);
	}
	json_free(v);
	free(got);
	assert_int_equal(f.stops + f.conts + f.quits + f.resets + f.powerdowns, 0);
	qmp_session_free(s);
}

static void test_actions(void **state)
{
	(void)state;
	struct fake f = { .status = "running" };
	struct qmp_session *s = negotiated(&fake_ops, &f);
	f.sess = s;
	/* The op emits STOP synchronously: the event precedes the reply,
	 * in QEMU's order. */
	expect(s, "{\"execute\": \"stop\", \"id\": 1}",
	       "{\"timestamp\": {\"seconds\": 1500000123, \"microseconds\": 456789}, "
	       "\"event\": \"STOP\"}\r\n{\"return\": {}, \"id\": 1}\r\n");
	assert_int_equal(f.stops, 1);
	expect(s, "{\"execute\": \"query-status\"}",
	       "{\"return\": {\"status\": \"paused\", \"singlestep\": false, \"running\": false}}\r\n");
	expect(s, "{\"execute\": \"cont\"}", OK);
	expect(s, "{\"execute\": \"system_powerdown\"}", OK);
	expect(s, "{\"execute\": \"system_reset\"}", OK);
	expect(s, "{\"execute\": \"quit\"}", OK);
	assert_int_equal(f.conts, 1);
	assert_int_equal(f.powerdowns, 1);
	assert_int_equal(f.resets, 1);
	assert_int_equal(f.quits, 1);
	/* A failing op is a GenericError with the reason. */
	f.fail = -EBUSY;
	expect(s, "{\"execute\": \"stop\"}", GENERIC("stop failed: Device or resource busy"));
	expect(s, "{\"execute\": \"cont\"}", GENERIC("cont failed: Device or resource busy"));
	assert_int_equal(f.stops, 1);
	qmp_session_free(s);
}

static void test_balloon(void **state)
{
	(void)state;
	struct fake f = { .status = "running" };
	struct qmp_session *s = negotiated(&fake_ops, &f);
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 268435456}}", OK);
	assert_true(f.balloon_bytes == 268435456);
	expect(s, "{\"execute\": \"query-balloon\"}", "{\"return\": {\"actual\": 268435456}}\r\n");
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 9223372036854775807}}", OK);
	assert_true(f.balloon_bytes == INT64_MAX);
	/* Hostile values: missing, wrong types, beyond int64, zero, negative. */
	expect(s, "{\"execute\": \"balloon\"}", GENERIC("Parameter 'value' is missing"));
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {}}", GENERIC("Parameter 'value' is missing"));
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": \"1G\"}}",
	       GENERIC("Invalid parameter type for 'value', expected: integer"));
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 1.5}}",
	       GENERIC("Invalid parameter type for 'value', expected: integer"));
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 99999999999999999999}}",
	       GENERIC("Invalid parameter type for 'value', expected: integer"));
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": null}}",
	       GENERIC("Invalid parameter type for 'value', expected: integer"));
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 0}}",
	       GENERIC("Parameter 'target' expects a size"));
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": -9223372036854775808}}",
	       GENERIC("Parameter 'target' expects a size"));
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 1, \"value2\": 1}}",
	       GENERIC("Parameter 'value2' is unexpected"));
	assert_true(f.balloon_bytes == INT64_MAX);
	/* -ENODEV: the ops exist but this machine has no balloon. */
	f.fail = -ENODEV;
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 4096}}",
	       ERR("DeviceNotActive", "No balloon device has been activated"));
	expect(s, "{\"execute\": \"query-balloon\"}",
	       ERR("DeviceNotActive", "No balloon device has been activated"));
	/* The KVM machine has the ops and no device: still the device is
	 * checked before the value, as QEMU's qmp_balloon does. */
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 0}}",
	       ERR("DeviceNotActive", "No balloon device has been activated"));
	f.fail = -EBUSY;
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 4096}}",
	       GENERIC("balloon is busy"));
	expect(s, "{\"execute\": \"query-balloon\"}",
	       GENERIC("query-balloon failed: Device or resource busy"));
	qmp_session_free(s);
}

static void test_no_ops(void **state)
{
	(void)state;
	/* A machine that fills in nothing: defaults and clean refusals. */
	struct qmp_session *s = negotiated(&null_ops, NULL);
	expect(s, "{\"execute\": \"query-status\"}",
	       "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}}\r\n");
	expect(s, "{\"execute\": \"query-name\"}", OK);
	expect(s, "{\"execute\": \"query-uuid\"}",
	       "{\"return\": {\"UUID\": \"00000000-0000-0000-0000-000000000000\"}}\r\n");
	expect(s, "{\"execute\": \"query-kvm\"}",
	       "{\"return\": {\"enabled\": false, \"present\": false}}\r\n");
	expect(s, "{\"execute\": \"query-cpus-fast\"}", "{\"return\": []}\r\n");
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 1}}",
	       ERR("DeviceNotActive", "No balloon device has been activated"));
	/* QEMU checks for the device before the value. */
	expect(s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": -1}}",
	       ERR("DeviceNotActive", "No balloon device has been activated"));
	expect(s, "{\"execute\": \"query-balloon\"}",
	       ERR("DeviceNotActive", "No balloon device has been activated"));
	expect(s, "{\"execute\": \"stop\"}", GENERIC("stop is not supported by this machine"));
	expect(s, "{\"execute\": \"cont\"}", GENERIC("cont is not supported by this machine"));
	expect(s, "{\"execute\": \"system_reset\"}",
	       GENERIC("system_reset is not supported by this machine"));
	expect(s, "{\"execute\": \"system_powerdown\"}",
	       GENERIC("system_powerdown is not supported by this machine"));
	expect(s, "{\"execute\": \"quit\"}", GENERIC("quit is not supported by this machine"));
	qmp_session_free(s);
}

static void test_envelope_errors(void **state)
{
	(void)state;
	struct fake f = { .status = "running" };
	struct qmp_session *s = negotiated(&fake_ops, &f);
	expect(s, "[1]", GENERIC("QMP input must be a JSON object"));
	expect(s, "1 ", GENERIC("QMP input must be a JSON object"));
	expect(s, "\"stop\"", GENERIC("QMP input must be a JSON object"));
	expect(s, "{\"execute\": 1}", GENERIC("QMP input member 'execute' must be a string"));
	expect(s, "{\"foo\": 1}", GENERIC("QMP input member 'foo' is unexpected"));
	expect(s, "{\"execute\": \"stop\", \"arguments\": []}",
	       GENERIC("QMP input member 'arguments' must be an object"));
	expect(s, "{\"execute\": \"stop\", \"arguments\": null}",
	       GENERIC("QMP input member 'arguments' must be an object"));
	expect(s, "{\"exec-oob\": \"stop\"}", GENERIC("QMP input member 'exec-oob' is unexpected"));
	expect(s, "{\"id\": 5}",
	       "{\"id\": 5, \"error\": {\"class\": \"GenericError\", "
	       "\"desc\": \"QMP input lacks member 'execute'\"}}\r\n");
	expect(s, "{\"execute\": \"nope\", \"id\": \"x\"}",
	       "{\"id\": \"x\", \"error\": {\"class\": \"CommandNotFound\", "
	       "\"desc\": \"The command nope has not been found\"}}\r\n");
	/* The name is escaped on the way out (ASCII output). */
	expect(s, "{\"execute\": \"qmp\\u00e9\\n\"}",
	       ERR("CommandNotFound", "The command qmp\\u00E9\\n has not been found"));
	expect(s, "{\"a\": 1, \"a\": 2}", GENERIC("JSON parse error, duplicate key"));
	expect(s, "{\"execute\": \"stop\" ,}", GENERIC("JSON parse error, expecting value"));
	expect(s, "\"\\ud800\"", GENERIC("JSON parse error, \\\\ud800 is not a valid Unicode character"));
	expect(s, "}", GENERIC("JSON parse error, expecting value"));
	expect(s, "{\"id\": \"\xe9\"}", GENERIC("JSON parse error, invalid UTF-8 sequence in string"));
	expect(s, "{\"execute\": \"query-name\", \"id\": 1e999}",
	       GENERIC("JSON parse error, number out of range"));
	/* Nothing ran. */
	assert_int_equal(f.stops, 0);
	qmp_session_free(s);
}

static void test_ids(void **state)
{
	(void)state;
	struct qmp_session *s = negotiated(&fake_ops, &(struct fake){ .status = "running" });
	/* Any JSON value comes back as sent (re-serialized). */
	expect(s, "{\"execute\":\"query-name\",\"id\":null}",
	       "{\"return\": {\"name\": \"sandbox-1\"}, \"id\": null}\r\n");
	expect(s, "{\"id\":[1,{\"a\":\"\\u00e9\"}],\"execute\":\"query-name\"}",
	       "{\"return\": {\"name\": \"sandbox-1\"}, \"id\": [1, {\"a\": \"\\u00E9\"}]}\r\n");
	expect(s, "{\"execute\":\"query-name\",\"id\":-0.5}",
	       "{\"return\": {\"name\": \"sandbox-1\"}, \"id\": -0.5}\r\n");
	expect(s, "{\"execute\":\"nope\",\"id\":{\"deep\":[[[true]]]}}",
	       "{\"id\": {\"deep\": [[[true]]]}, \"error\": {\"class\": \"CommandNotFound\", "
	       "\"desc\": \"The command nope has not been found\"}}\r\n");
	/* Deeper than the parser allows: a parse error, no id to echo. */
	char deep[256];
	int n = snprintf(deep, sizeof(deep), "{\"execute\":\"stop\",\"id\":");
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	for (int i = 0; i < 40; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	expect(s, deep, GENERIC("JSON parse error, nesting too deep"));
	qmp_session_free(s);
}

static void test_split_and_merged(void **state)
{
	(void)state;
	const char *in =
		"{\"execute\": \"qmp_capabilities\"}\n"
		"{\"execute\":\"query-name\",\"id\":\"a}{\\\"\"}"
		"  {\"execute\": \"query-uuid\",\n \"id\": [\"]\"]}\r\n"
		"{\"execute\": \"query-kvm\"}";
	const char *want =
		OK
		"{\"return\": {\"name\": \"sandbox-1\"}, \"id\": \"a}{\\\"\"}\r\n"
		"{\"return\": {\"UUID\": \"977692f6-744c-4917-8ccd-ffad44020fe9\"}, \"id\": [\"]\"]}\r\n"
		"{\"return\": {\"enabled\": true, \"present\": true}}\r\n";
	/* All in one write. */
	struct qmp_session *s = qmp_session_new(&fake_ops, NULL);
	free(drain(s));
	expect(s, in, want);
	qmp_session_free(s);
	/* Byte by byte: the same replies, each only once complete. */
	s = qmp_session_new(&fake_ops, NULL);
	free(drain(s));
	struct json_buf all;
	json_buf_init(&all);
	for (size_t i = 0; i < strlen(in); i++) {
		assert_int_equal(qmp_session_input(s, in + i, 1), 0);
		char *o = drain(s);
		json_buf_puts(&all, o);
		free(o);
	}
	assert_string_equal(all.data, want);
	json_buf_free(&all);
	/* An incomplete message waits; a client that vanishes mid-command
	 * (session freed) leaks nothing. */
	expect(s, "{\"execute\": \"query-st", "");
	expect(s, "atus\"", "");
	qmp_session_free(s);
}

static void test_framing_scalars(void **state)
{
	(void)state;
	struct qmp_session *s = negotiated(&fake_ops, &(struct fake){ .status = "running" });
	/* A top-level scalar ends at whitespace or at the next value. */
	expect(s, "12", "");
	expect(s, " ", GENERIC("QMP input must be a JSON object"));
	expect(s, "true{\"execute\":\"query-kvm\"}",
	       GENERIC("QMP input must be a JSON object")
	       "{\"return\": {\"enabled\": true, \"present\": true}}\r\n");
	expect(s, "xyz\n", GENERIC("JSON parse error, expecting value"));
	expect(s, "]]", GENERIC("JSON parse error, expecting value")
	       GENERIC("JSON parse error, expecting value"));
	/* Blank lines and whitespace between messages are ignored. */
	expect(s, "\r\n\t \n", "");
	/* A raw NUL or 0xFF outside a string is not JSON. */
	qmp_session_input(s, "\0 ", 2);
	char *o = drain(s);
	assert_string_equal(o, GENERIC("JSON parse error, expecting value"));
	free(o);
	expect(s, "\xff\n", GENERIC("JSON parse error, expecting value"));
	/* Still in step afterwards. */
	expect(s, "{\"execute\":\"query-name\"}", "{\"return\": {\"name\": \"sandbox-1\"}}\r\n");
	qmp_session_free(s);
}

static void test_oversize(void **state)
{
	(void)state;
	struct qmp_session *s = negotiated(&fake_ops, &(struct fake){ .status = "running" });
	/* Exactly QMP_MAX_MESSAGE bytes is still one message. */
	char *msg = malloc(QMP_MAX_MESSAGE + 16);
	const char *head = "{\"execute\": \"query-kvm\", \"id\": \"";
	size_t hl = strlen(head);
	memcpy(msg, head, hl);
	memset(msg + hl, 'a', QMP_MAX_MESSAGE - hl - 2);
	memcpy(msg + QMP_MAX_MESSAGE - 2, "\"}", 2);
	assert_int_equal(qmp_session_input(s, msg, QMP_MAX_MESSAGE), 0);
	char *o = drain(s);
	assert_non_null(strstr(o, "\"return\": {\"enabled\": true"));
	free(o);
	/* One byte more: an error, then the session closes. */
	memset(msg + hl, 'a', QMP_MAX_MESSAGE - hl);
	assert_int_equal(qmp_session_input(s, msg, QMP_MAX_MESSAGE + 1), -1);
	o = drain(s);
	assert_string_equal(o, GENERIC("JSON token size limit exceeded"));
	free(o);
	assert_true(qmp_session_closing(s));
	/* Closed: input is ignored, events are not queued. */
	assert_int_equal(qmp_session_input(s, "{\"execute\":\"stop\"}", 18), -1);
	assert_int_equal(qmp_session_event(s, "STOP", NULL, 0), 0);
	size_t len;
	qmp_session_output(s, &len);
	assert_int_equal(len, 0);
	free(msg);
	qmp_session_free(s);
	/* Deep unbalanced input hits the same bound, not a stack. */
	s = negotiated(&fake_ops, NULL);
	char *deep = malloc(QMP_MAX_MESSAGE);
	memset(deep, '[', QMP_MAX_MESSAGE);
	assert_int_equal(qmp_session_input(s, deep, QMP_MAX_MESSAGE), -1);
	free(deep);
	qmp_session_free(s);
}

static void test_unread_output(void **state)
{
	(void)state;
	/* A client that sends but never reads is dropped at the bound. */
	struct qmp_session *s = negotiated(&fake_ops, NULL);
	const char *cmd = "{\"execute\":\"query-commands\"}";
	int i, rc = 0;
	for (i = 0; i < 100000 && rc == 0; i++)
		rc = qmp_session_input(s, cmd, strlen(cmd));
	assert_int_equal(rc, -1);
	assert_true(qmp_session_closing(s));
	size_t len;
	const char *out = qmp_session_output(s, &len);
	assert_true(len <= QMP_MAX_OUTPUT);
	/* What was queued is whole replies only. */
	assert_true(len >= 2 && memcmp(out + len - 2, "\r\n", 2) == 0);
	qmp_session_free(s);
}

static void test_events(void **state)
{
	(void)state;
	struct qmp_session *s = qmp_session_new(&fake_ops, NULL);
	free(drain(s));
	/* Before negotiation: dropped, as QEMU does. */
	assert_int_equal(qmp_session_event(s, "RESET", NULL, 5), 0);
	char *o = drain(s);
	assert_string_equal(o, "");
	free(o);
	expect(s, "{\"execute\":\"qmp_capabilities\"}", OK);
	assert_int_equal(qmp_session_event(s, "SHUTDOWN",
					   "{\"guest\": true, \"reason\": \"guest-shutdown\"}",
					   1700000000000001000ull), 0);
	assert_int_equal(qmp_session_event(s, "BALLOON_CHANGE", "{\"actual\":1073741824}", 999), 0);
	assert_int_equal(qmp_session_event(s, "POWERDOWN", NULL, 0), 0);
	o = drain(s);
	assert_string_equal(o,
		"{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 1}, \"event\": \"SHUTDOWN\", "
		"\"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}\r\n"
		"{\"timestamp\": {\"seconds\": 0, \"microseconds\": 0}, \"event\": \"BALLOON_CHANGE\", "
		"\"data\": {\"actual\": 1073741824}}\r\n"
		"{\"timestamp\": {\"seconds\": 0, \"microseconds\": 0}, \"event\": \"POWERDOWN\"}\r\n");
	free(o);
	/* Host bugs are refused, not sent. */
	assert_int_equal(qmp_session_event(s, "stop", NULL, 0), -EINVAL);
	assert_int_equal(qmp_session_event(s, "", NULL, 0), -EINVAL);
	assert_int_equal(qmp_session_event(s, NULL, NULL, 0), -EINVAL);
	assert_int_equal(qmp_session_event(s, "A\"B", NULL, 0), -EINVAL);
	assert_int_equal(qmp_session_event(s, "STOP", "[1]", 0), -EINVAL);
	assert_int_equal(qmp_session_event(s, "STOP", "{", 0), -EINVAL);
	o = drain(s);
	assert_string_equal(o, "");
	free(o);
	qmp_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_negotiation),
		cmocka_unit_test(test_queries),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_balloon),
		cmocka_unit_test(test_no_ops),
		cmocka_unit_test(test_envelope_errors),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_split_and_merged),
		cmocka_unit_test(test_framing_scalars),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_unread_output),
		cmocka_unit_test(test_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
