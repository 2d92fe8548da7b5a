/* device_add / device_del / qom-get at the QMP level (core/qmp_device.c):
 * QEMU 7.2's argument checks before the machine is asked, the arguments
 * handed on as a -device option string (",," inside values, on/off,
 * numbers), the machine's error class and description passed through,
 * and QEMU's answers on a machine without hot-plug. */
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
	char driver[64], id[64], opts[512], del[64];
	int fail;
};

static int f_add(void *o, const char *driver, const char *id, const char *opts, struct qmp_err *e)
{
	struct fake *f = o;
	snprintf(f->driver, sizeof(f->driver), "%s", driver);
	snprintf(f->id, sizeof(f->id), "%s", id ? id : "(none)");
	snprintf(f->opts, sizeof(f->opts), "%s", opts);
	if (f->fail) {
		e->cls = "GenericError";
		snprintf(e->desc, sizeof(e->desc), "Bus 'rp9' not found");
		return -1;
	}
	return 0;
}
static int f_del(void *o, const char *id, struct qmp_err *e)
{
	struct fake *f = o;
	snprintf(f->del, sizeof(f->del), "%s", id);
	if (f->fail) {
		e->cls = "DeviceNotFound";
		snprintf(e->desc, sizeof(e->desc), "Device '%s' not found", id);
		return -1;
	}
	return 0;
}
static int f_qom(void *o, const char *path, const char *prop, struct json **out, struct qmp_err *e)
{
	(void)o;
	if (!strcmp(path, "v0") && !strcmp(prop, "addr")) {
		*out = json_new_int(0);
		return 0;
	}
	e->cls = "DeviceNotFound";
	snprintf(e->desc, sizeof(e->desc), "Device '%s' not found", path);
	return -1;
}

static const struct qmp_machine_ops ops = { .device_add = f_add, .device_del = f_del,
					    .qom_get = f_qom };
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

static void test_device_add_args(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct qmp_session *s = open_s(&ops, &f);
	expect(s, "{\"arguments\":{},\"execute\":\"device_add\"}",
	       ERR("GenericError", "Parameter 'driver' is missing"));
	expect(s, "{\"execute\":\"device_add\"}", ERR("GenericError", "Parameter 'driver' is missing"));
	expect(s, "{\"arguments\":{\"driver\":1},\"execute\":\"device_add\"}",
	       ERR("GenericError", "Invalid parameter type for 'driver', expected: string"));
	expect(s, "{\"arguments\":{\"driver\":\"virtio-blk-pci\",\"id\":[]},\"execute\":\"device_add\"}",
	       ERR("GenericError", "Invalid parameter type for 'id', expected: string"));
	expect(s, "{\"arguments\":{\"driver\":\"virtio-blk-pci\",\"x\":{}},\"execute\":\"device_add\"}",
	       ERR("GenericError", "Invalid parameter type for 'x', expected: string"));
	expect(s, "{\"arguments\":{\"driver\":\"virtio-blk-pci\",\"a,b\":\"1\"},\"execute\":\"device_add\"}",
	       ERR("GenericError", "Parameter 'a,b' is unexpected"));
	assert_string_equal(f.driver, ""); /* the machine was never asked */
	/* Kata's arguments: sorted, strings, "addr" as "0x0"; a comma in a
	 * value is doubled for the option parser. */
	expect(s, "{\"arguments\":{\"addr\":\"0x0\",\"bus\":\"rp0\",\"driver\":\"virtio-blk-pci\","
		  "\"drive\":\"d,0\",\"id\":\"v0\",\"share-rw\":true,\"num-queues\":4},\"execute\":\"device_add\"}",
	       OK);
	assert_string_equal(f.driver, "virtio-blk-pci");
	assert_string_equal(f.id, "v0");
	assert_string_equal(f.opts, "addr=0x0,bus=rp0,driver=virtio-blk-pci,drive=d,,0,id=v0,share-rw=on,num-queues=4");
	/* The machine's class and words come back as they are. */
	f.fail = 1;
	expect(s, "{\"arguments\":{\"driver\":\"virtio-net-pci\"},\"execute\":\"device_add\",\"id\":7}",
	       "{\"id\": 7, \"error\": {\"class\": \"GenericError\", \"desc\": \"Bus 'rp9' not found\"}}\r\n");
	assert_string_equal(f.id, "(none)");
	qmp_session_free(s);
}

static void test_device_del_and_qom_get(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct qmp_session *s = open_s(&ops, &f);
	expect(s, "{\"execute\":\"device_del\"}", ERR("GenericError", "Parameter 'id' is missing"));
	expect(s, "{\"execute\":\"device_del\",\"arguments\":{\"id\":1}}",
	       ERR("GenericError", "Invalid parameter type for 'id', expected: string"));
	expect(s, "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"v0\",\"force\":true}}",
	       ERR("GenericError", "Parameter 'force' is unexpected"));
	expect(s, "{\"arguments\":{\"id\":\"v0\"},\"execute\":\"device_del\"}", OK);
	assert_string_equal(f.del, "v0");
	f.fail = 1;
	expect(s, "{\"arguments\":{\"id\":\"x\"},\"execute\":\"device_del\"}",
	       ERR("DeviceNotFound", "Device 'x' not found"));
	expect(s, "{\"arguments\":{\"path\":\"v0\",\"property\":\"addr\"},\"execute\":\"qom-get\"}",
	       "{\"return\": 0}\r\n");
	expect(s, "{\"arguments\":{\"path\":\"v0\"},\"execute\":\"qom-get\"}",
	       ERR("GenericError", "Parameter 'property' is missing"));
	expect(s, "{\"arguments\":{\"path\":\"q\",\"property\":\"addr\"},\"execute\":\"qom-get\"}",
	       ERR("DeviceNotFound", "Device 'q' not found"));
	qmp_session_free(s);
}

/* A machine without hot-plug answers as QEMU does for what it lacks. */
static void test_no_hotplug_machine(void **state)
{
	(void)state;
	struct qmp_session *s = open_s(&none, NULL);
	expect(s, "{\"arguments\":{\"driver\":\"virtio-blk-pci\"},\"execute\":\"device_add\"}",
	       ERR("GenericError", "'virtio-blk-pci' is not a valid device model name"));
	expect(s, "{\"arguments\":{\"id\":\"v0\"},\"execute\":\"device_del\"}",
	       ERR("DeviceNotFound", "Device 'v0' not found"));
	expect(s, "{\"arguments\":{\"path\":\"v0\",\"property\":\"addr\"},\"execute\":\"qom-get\"}",
	       ERR("DeviceNotFound", "Device 'v0' not found"));
	qmp_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_add_args),
		cmocka_unit_test(test_device_del_and_qom_get),
		cmocka_unit_test(test_no_hotplug_machine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
