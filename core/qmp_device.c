/* device_add, device_del and qom-get (QEMU 7.2 qapi/qdev.json,
 * qapi/qom.json): the checks QEMU's dispatcher makes before the device
 * code, then the machine's op.  device_add takes any property, so its
 * arguments are handed on as a -device option string, which the machine
 * parses with the command-line parser (one set of rules for both). */
#include "qmp_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void qmp_op_failed(struct qmp_call *c, const struct qmp_err *e, const char *what)
{
	qmp_call_error(c, e->cls ? e->cls : QMP_ERR_GENERIC, "%s",
		       e->desc[0] ? e->desc : what);
}

/* QEMU's opts syntax: a ',' inside a value is written ",,". */
static void opts_put_escaped(struct json_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == ',')
			json_buf_put(b, ",", 1);
		json_buf_put(b, s, 1);
	}
}

int qmp_args_to_opts(const struct json *args, struct json_buf *b, char *err, size_t errlen)
{
	for (size_t i = 0; i < json_len(args); i++) {
		const char *key = json_key_at(args, i);
		const struct json *v = json_at(args, i);
		if (!*key || strchr(key, ',') || strchr(key, '=')) {
			snprintf(err, errlen, "Parameter '%.100s' is unexpected", key);
			return -1;
		}
		if (i)
			json_buf_put(b, ",", 1);
		json_buf_puts(b, key);
		json_buf_put(b, "=", 1);
		switch (json_type(v)) {
		case JSON_STRING:
			opts_put_escaped(b, json_get_str(v));
			break;
		case JSON_BOOL:
			json_buf_puts(b, json_get_bool(v) ? "on" : "off");
			break;
		case JSON_INT:
			json_buf_printf(b, "%" PRId64, json_get_int(v));
			break;
		default:
			snprintf(err, errlen, "Invalid parameter type for '%.100s', expected: string",
				 key);
			return -1;
		}
	}
	return b->oom ? (snprintf(err, errlen, "out of memory"), -1) : 0;
}

void cmd_device_add(struct qmp_call *c)
{
	const struct json *drv = json_get(c->args, "driver");
	const struct json *id = json_get(c->args, "id");
	if (!drv) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'driver' is missing");
		return;
	}
	if (json_type(drv) != JSON_STRING) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for 'driver', expected: string");
		return;
	}
	if (id && json_type(id) != JSON_STRING) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for 'id', expected: string");
		return;
	}
	if (!c->ops->device_add) {
		qmp_call_error(c, QMP_ERR_GENERIC, "'%.100s' is not a valid device model name",
			       json_get_str(drv));
		return;
	}
	struct json_buf b;
	char err[200];
	json_buf_init(&b);
	if (qmp_args_to_opts(c->args, &b, err, sizeof(err)) != 0) {
		qmp_call_error(c, QMP_ERR_GENERIC, "%s", err);
	} else {
		struct qmp_err e = { 0 };
		if (c->ops->device_add(c->opaque, json_get_str(drv), json_get_str(id),
				       b.data, &e) != 0)
			qmp_op_failed(c, &e, "device_add failed");
	}
	json_buf_free(&b);
}

void cmd_device_del(struct qmp_call *c)
{
	const char *id = json_get_str(json_get(c->args, "id"));
	struct qmp_err e = { 0 };
	if (!c->ops->device_del) {
		qmp_call_error(c, "DeviceNotFound", "Device '%.100s' not found", id);
		return;
	}
	if (c->ops->device_del(c->opaque, id, &e) != 0)
		qmp_op_failed(c, &e, "device_del failed");
}

void cmd_qom_get(struct qmp_call *c)
{
	const char *path = json_get_str(json_get(c->args, "path"));
	const char *prop = json_get_str(json_get(c->args, "property"));
	struct qmp_err e = { 0 };
	struct json *out = NULL;
	if (!c->ops->qom_get) {
		qmp_call_error(c, "DeviceNotFound", "Device '%.100s' not found", path);
		return;
	}
	if (c->ops->qom_get(c->opaque, path, prop, &out, &e) != 0) {
		json_free(out);
		qmp_op_failed(c, &e, "qom-get failed");
		return;
	}
	if (!out)
		qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
	c->ret = out;
}
