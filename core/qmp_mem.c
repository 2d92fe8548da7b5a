/* object-add, object-del, query-memory-devices and qom-set (QEMU 7.2
 * qapi/qom.json, qapi/machine.json): the argument checks QEMU's input
 * visitor makes, in its words, then the machine's op.  object-add takes
 * the memory backends' members (MemoryBackendProperties and the -file /
 * -memfd extras) and hands them on as a -object option string, which
 * the machine parses with the command-line parser. */
#include "qmp_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct qm_member { const char *name; enum json_type type; bool required; };

/* The members each backend type accepts; QEMU has more (policy,
 * host-nodes, prealloc, ...), which we refuse as unexpected rather than
 * accept and ignore. */
static const struct qm_member qm_ram[] = {
	{ "size", JSON_INT, true }, { "share", JSON_BOOL, false },
	{ "merge", JSON_BOOL, false }, { "dump", JSON_BOOL, false }, { 0 } };
static const struct qm_member qm_file[] = {
	{ "size", JSON_INT, true }, { "mem-path", JSON_STRING, true },
	{ "share", JSON_BOOL, false }, { "readonly", JSON_BOOL, false },
	{ "merge", JSON_BOOL, false }, { "dump", JSON_BOOL, false }, { 0 } };
static const struct qm_member qm_memfd[] = {
	{ "size", JSON_INT, true }, { "share", JSON_BOOL, false },
	{ "merge", JSON_BOOL, false }, { "dump", JSON_BOOL, false }, { 0 } };

static const struct qm_member *qm_find(const struct qm_member *m, const char *k)
{
	for (; m->name; m++)
		if (!strcmp(m->name, k))
			return m;
	return NULL;
}

static void qm_failed(struct qmp_call *c, const struct qmp_err *e, const char *what)
{
	qmp_call_error(c, e->cls ? e->cls : QMP_ERR_GENERIC, "%s",
		       e->desc[0] ? e->desc : what);
}

static void qm_put_escaped(struct json_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == ',')
			json_buf_put(b, ",", 1);
		json_buf_put(b, s, 1);
	}
}

static const char *qm_type_word(enum json_type t)
{
	return t == JSON_INT ? "uint64" : t == JSON_BOOL ? "bool" : "string";
}

void cmd_object_add(struct qmp_call *c)
{
	const struct json *qt = json_get(c->args, "qom-type");
	const struct json *id = json_get(c->args, "id");
	if (!qt) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'qom-type' is missing");
		return;
	}
	if (json_type(qt) != JSON_STRING) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for 'qom-type', expected: string");
		return;
	}
	const char *type = json_get_str(qt);
	const struct qm_member *mem = !strcmp(type, "memory-backend-ram") ? qm_ram :
				      !strcmp(type, "memory-backend-file") ? qm_file :
				      !strcmp(type, "memory-backend-memfd") ? qm_memfd : NULL;
	if (!mem) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'qom-type' does not accept value '%.100s'",
			       type);
		return;
	}
	if (!id) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'id' is missing");
		return;
	}
	if (json_type(id) != JSON_STRING) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for 'id', expected: string");
		return;
	}
	/* QEMU's visitor: unexpected members, then types, then missing. */
	for (size_t i = 0; i < json_len(c->args); i++) {
		const char *k = json_key_at(c->args, i);
		const struct qm_member *m = qm_find(mem, k);
		if (!strcmp(k, "qom-type") || !strcmp(k, "id"))
			continue;
		if (!m) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%.100s' is unexpected", k);
			return;
		}
		const struct json *v = json_at(c->args, i);
		if (json_type(v) != m->type || (m->type == JSON_INT && json_get_int(v) < 0)) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%s' expects %s", m->name,
				       qm_type_word(m->type));
			return;
		}
	}
	for (const struct qm_member *m = mem; m->name; m++)
		if (m->required && !json_get(c->args, m->name)) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%s' is missing", m->name);
			return;
		}
	if (!c->ops->object_add) {
		qmp_call_error(c, QMP_ERR_GENERIC, "object-add is not supported");
		return;
	}
	struct json_buf b;
	json_buf_init(&b);
	json_buf_puts(&b, type);
	for (size_t i = 0; i < json_len(c->args); i++) {
		const char *k = json_key_at(c->args, i);
		const struct json *v = json_at(c->args, i);
		if (!strcmp(k, "qom-type"))
			continue;
		json_buf_printf(&b, ",%s=", k);
		if (json_type(v) == JSON_STRING)
			qm_put_escaped(&b, json_get_str(v));
		else if (json_type(v) == JSON_BOOL)
			json_buf_puts(&b, json_get_bool(v) ? "on" : "off");
		else
			json_buf_printf(&b, "%" PRId64, json_get_int(v));
	}
	struct qmp_err e = { 0 };
	if (b.oom)
		qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
	else if (c->ops->object_add(c->opaque, type, json_get_str(id), b.data, &e) != 0)
		qm_failed(c, &e, "object-add failed");
	json_buf_free(&b);
}

void cmd_object_del(struct qmp_call *c)
{
	const char *id = json_get_str(json_get(c->args, "id"));
	struct qmp_err e = { 0 };
	if (!c->ops->object_del) {
		qmp_call_error(c, QMP_ERR_GENERIC, "object '%.100s' not found", id);
		return;
	}
	if (c->ops->object_del(c->opaque, id, &e) != 0)
		qm_failed(c, &e, "object-del failed");
}

void cmd_query_memory_devices(struct qmp_call *c)
{
	struct qmp_err e = { 0 };
	struct json *out = NULL;
	if (!c->ops->query_memory_devices) {
		c->ret = json_new_array();
		if (!c->ret)
			qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
		return;
	}
	if (c->ops->query_memory_devices(c->opaque, &out, &e) != 0) {
		json_free(out);
		qm_failed(c, &e, "query-memory-devices failed");
		return;
	}
	if (!out)
		qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
	c->ret = out;
}

void cmd_qom_set(struct qmp_call *c)
{
	static const char *const need[] = { "path", "property", "value" };
	for (size_t i = 0; i < json_len(c->args); i++) {
		const char *k = json_key_at(c->args, i);
		if (strcmp(k, "path") && strcmp(k, "property") && strcmp(k, "value")) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%.100s' is unexpected", k);
			return;
		}
	}
	for (unsigned i = 0; i < 3; i++) {
		const struct json *v = json_get(c->args, need[i]);
		if (!v) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%s' is missing", need[i]);
			return;
		}
		if (i < 2 && json_type(v) != JSON_STRING) {
			qmp_call_error(c, QMP_ERR_GENERIC,
				       "Invalid parameter type for '%s', expected: string", need[i]);
			return;
		}
	}
	const char *path = json_get_str(json_get(c->args, "path"));
	struct qmp_err e = { 0 };
	if (!c->ops->qom_set) {
		qmp_call_error(c, "DeviceNotFound", "Device '%.100s' not found", path);
		return;
	}
	if (c->ops->qom_set(c->opaque, path, json_get_str(json_get(c->args, "property")),
			    json_get(c->args, "value"), &e) != 0)
		qm_failed(c, &e, "qom-set failed");
}
