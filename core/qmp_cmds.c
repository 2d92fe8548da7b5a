/* The QMP commands we implement, with QEMU 7.2's argument checking and
 * reply shapes (the qapi schema files; messages checked against a real
 * qemu-system-x86_64 by tests/integration/test_qmp_vs_qemu.sh). */
#include "qmp_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "config.h"

void qmp_call_error(struct qmp_call *c, const char *cls, const char *fmt, ...)
{
	va_list ap;
	c->err_class = cls;
	va_start(ap, fmt);
	vsnprintf(c->desc, sizeof(c->desc), fmt, ap);
	va_end(ap);
}

/* Build helpers: on allocation failure the reply falls back to an error
 * (qmp_reply_return), so handlers only check the final object. */
static struct json *qmp_obj_add(struct json *o, const char *key, struct json *v)
{
	if (o && json_object_add(o, key, v) != 0) {
		json_free(o);
		return NULL;
	}
	if (!o)
		json_free(v);
	return o;
}

static void qmp_set_ret(struct qmp_call *c, struct json *ret)
{
	if (!ret)
		qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
	c->ret = ret;
}

static void qmp_op_result(struct qmp_call *c, const char *what, int rc)
{
	if (rc < 0)
		qmp_call_error(c, QMP_ERR_GENERIC, "%s failed: %s", what, strerror(-rc));
}

static void qmp_not_supported(struct qmp_call *c, const char *what)
{
	qmp_call_error(c, QMP_ERR_GENERIC, "%s is not supported by this machine", what);
}

static void cmd_qmp_capabilities(struct qmp_call *c)
{
	const struct json *en = json_get(c->args, "enable");
	/* We offer no capabilities (the greeting's list is empty), so the
	 * only acceptable "enable" is an empty one. */
	for (size_t i = 0; i < json_len(en); i++) {
		const char *cap = json_get_str(json_at(en, i));
		if (!cap) {
			qmp_call_error(c, QMP_ERR_GENERIC,
				       "Invalid parameter type for 'enable[%zu]', expected: string", i);
			return;
		}
		if (strcmp(cap, "oob") == 0)
			qmp_call_error(c, QMP_ERR_GENERIC, "Capability 'oob' not available");
		else
			qmp_call_error(c, QMP_ERR_GENERIC,
				       "Parameter 'enable' does not accept value '%.100s'", cap);
		return;
	}
	*c->negotiated = true;
}

static struct json *qmp_version_obj(void)
{
	struct json *q = json_new_object();
	q = qmp_obj_add(q, "micro", json_new_int(QMP_QEMU_MICRO));
	q = qmp_obj_add(q, "minor", json_new_int(QMP_QEMU_MINOR));
	q = qmp_obj_add(q, "major", json_new_int(QMP_QEMU_MAJOR));
	return q;
}

static void cmd_query_version(struct qmp_call *c)
{
	struct json *r = json_new_object();
	r = qmp_obj_add(r, "qemu", qmp_version_obj());
	r = qmp_obj_add(r, "package", json_new_str("vmm " VMM_VERSION));
	qmp_set_ret(c, r);
}

static void cmd_query_status(struct qmp_call *c)
{
	const char *st = c->ops->status ? c->ops->status(c->opaque) : "running";
	if (!st)
		st = "running";
	struct json *r = json_new_object();
	r = qmp_obj_add(r, "status", json_new_str(st));
	/* singlestep is always false (a TCG debugging knob). */
	r = qmp_obj_add(r, "singlestep", json_new_bool(false));
	r = qmp_obj_add(r, "running", json_new_bool(strcmp(st, "running") == 0));
	qmp_set_ret(c, r);
}

static void cmd_query_name(struct qmp_call *c)
{
	struct json *r = json_new_object();
	if (c->ops->name)
		r = qmp_obj_add(r, "name", json_new_str(c->ops->name));
	qmp_set_ret(c, r);
}

static void cmd_query_uuid(struct qmp_call *c)
{
	const char *u = c->ops->uuid ? c->ops->uuid : "00000000-0000-0000-0000-000000000000";
	qmp_set_ret(c, qmp_obj_add(json_new_object(), "UUID", json_new_str(u)));
}

static void cmd_query_kvm(struct qmp_call *c)
{
	struct json *r = json_new_object();
	r = qmp_obj_add(r, "enabled", json_new_bool(c->ops->kvm_enabled));
	r = qmp_obj_add(r, "present", json_new_bool(c->ops->kvm_present));
	qmp_set_ret(c, r);
}

static void cmd_query_cpus_fast(struct qmp_call *c)
{
	struct json *list = json_new_array();
	unsigned n = qmp_cpu_slots(c->ops);
	for (unsigned i = 0; i < n && list; i++) {
		struct qmp_cpu_info ci = { .core_id = i };
		int rc = c->ops->cpu_info ? c->ops->cpu_info(c->opaque, i, &ci) : 0;
		if (rc == -ENOENT)
			continue; /* an empty hot-plug slot */
		if (rc != 0)
			ci = (struct qmp_cpu_info){ .core_id = i };
		char path[sizeof(ci.qom_path)];
		/* Where QEMU's machine code puts -smp CPUs in the QOM tree. */
		if (ci.qom_path[0])
			snprintf(path, sizeof(path), "%s", ci.qom_path);
		else
			snprintf(path, sizeof(path), "/machine/unattached/device[%u]", i);
		struct json *props = json_new_object();
		props = qmp_obj_add(props, "core-id", json_new_int(ci.core_id));
		props = qmp_obj_add(props, "thread-id", json_new_int(ci.thread_id_in_core));
		props = qmp_obj_add(props, "socket-id", json_new_int(ci.socket_id));
		struct json *cpu = json_new_object();
		cpu = qmp_obj_add(cpu, "thread-id", json_new_int(ci.thread_id));
		cpu = qmp_obj_add(cpu, "props", props);
		cpu = qmp_obj_add(cpu, "qom-path", json_new_str(path));
		cpu = qmp_obj_add(cpu, "cpu-index", json_new_int(i));
		cpu = qmp_obj_add(cpu, "target", json_new_str("x86_64"));
		if (!cpu || json_array_add(list, cpu) != 0) {
			json_free(list);
			list = NULL;
		}
	}
	qmp_set_ret(c, list);
}

#define QMP_SIMPLE_OP(fnname, op, what)                      \
	static void fnname(struct qmp_call *c)               \
	{                                                    \
		if (!c->ops->op)                             \
			qmp_not_supported(c, what);          \
		else                                         \
			qmp_op_result(c, what, c->ops->op(c->opaque)); \
	}

QMP_SIMPLE_OP(cmd_stop, stop, "stop")
QMP_SIMPLE_OP(cmd_cont, cont, "cont")
QMP_SIMPLE_OP(cmd_system_powerdown, powerdown, "system_powerdown")
QMP_SIMPLE_OP(cmd_system_reset, reset, "system_reset")
QMP_SIMPLE_OP(cmd_quit, quit, "quit")

static void qmp_no_balloon(struct qmp_call *c)
{
	qmp_call_error(c, QMP_ERR_NOT_ACTIVE, "No balloon device has been activated");
}

static void cmd_balloon(struct qmp_call *c)
{
	int64_t target = json_get_int(json_get(c->args, "value"));
	/* QEMU's order (qmp_balloon: have_balloon() first): no device,
	 * then the value.  A machine that has the ops but no balloon
	 * device says so through balloon_get. */
	uint64_t cur;
	if (!c->ops->balloon_set ||
	    (c->ops->balloon_get &&
	     c->ops->balloon_get(c->opaque, &cur) == -ENODEV)) {
		qmp_no_balloon(c);
		return;
	}
	if (target <= 0) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'target' expects a size");
		return;
	}
	char err[160] = "";
	int rc = c->ops->balloon_set(c->opaque, (uint64_t)target, err, sizeof(err));
	if (rc == -ENODEV)
		qmp_no_balloon(c); /* ops exist, but this machine has no balloon */
	else if (rc != 0)
		qmp_call_error(c, QMP_ERR_GENERIC, "%s",
			       err[0] ? err : (rc < 0 ? strerror(-rc) : "balloon failed"));
}

static void cmd_query_balloon(struct qmp_call *c)
{
	uint64_t actual = 0;
	if (!c->ops->balloon_get) {
		qmp_no_balloon(c);
		return;
	}
	int rc = c->ops->balloon_get(c->opaque, &actual);
	if (rc == -ENODEV) {
		qmp_no_balloon(c);
		return;
	}
	if (rc != 0) {
		qmp_op_result(c, "query-balloon", rc < 0 ? rc : -EIO);
		return;
	}
	if (actual > INT64_MAX)
		actual = INT64_MAX; /* the schema's type is int */
	qmp_set_ret(c, qmp_obj_add(json_new_object(), "actual", json_new_int((int64_t)actual)));
}

static void cmd_query_commands(struct qmp_call *c);

static const struct qmp_cmd qmp_cmd_table[] = {
	{ "qmp_capabilities", cmd_qmp_capabilities, { { "enable", JSON_ARRAY, false } } },
	{ "query-version", cmd_query_version, { { 0 } } },
	{ "query-commands", cmd_query_commands, { { 0 } } },
	{ "query-status", cmd_query_status, { { 0 } } },
	{ "query-name", cmd_query_name, { { 0 } } },
	{ "query-uuid", cmd_query_uuid, { { 0 } } },
	{ "query-kvm", cmd_query_kvm, { { 0 } } },
	{ "query-cpus-fast", cmd_query_cpus_fast, { { 0 } } },
	{ "query-hotpluggable-cpus", cmd_query_hotpluggable_cpus, { { 0 } } },
	{ "stop", cmd_stop, { { 0 } } },
	{ "cont", cmd_cont, { { 0 } } },
	{ "system_powerdown", cmd_system_powerdown, { { 0 } } },
	{ "system_reset", cmd_system_reset, { { 0 } } },
	{ "quit", cmd_quit, { { 0 } } },
	{ "balloon", cmd_balloon, { { "value", JSON_INT, true } } },
	{ "query-balloon", cmd_query_balloon, { { 0 } } },
	{ "getfd", cmd_getfd, { { "fdname", JSON_STRING, true } } },
	{ "closefd", cmd_closefd, { { "fdname", JSON_STRING, true } } },
	{ "query-qmp-schema", cmd_query_qmp_schema, { { 0 } } },
	{ "device_add", cmd_device_add, { { "driver", JSON_STRING, true }, { "id", JSON_STRING, false } } },
	{ "device_del", cmd_device_del, { { "id", JSON_STRING, true } } },
	{ "qom-get", cmd_qom_get, { { "path", JSON_STRING, true }, { "property", JSON_STRING, true } } },
	{ "netdev_add", cmd_netdev_add, { { "type", JSON_STRING, true }, { "id", JSON_STRING, true } } },
	{ "netdev_del", cmd_netdev_del, { { "id", JSON_STRING, true } } },
	{ "blockdev-add", cmd_blockdev_add, { { "driver", JSON_STRING, true }, { "node-name", JSON_STRING, false } } },
	{ "blockdev-del", cmd_blockdev_del, { { "node-name", JSON_STRING, true } } },
	{ "chardev-add", cmd_chardev_add, { { "id", JSON_STRING, true }, { "backend", JSON_OBJECT, true } } },
	{ "chardev-remove", cmd_chardev_remove, { { "id", JSON_STRING, true } } },
	{ "query-pci", cmd_query_machine, { { 0 } } },
	{ "query-block", cmd_query_machine, { { 0 } } },
	{ "query-chardev", cmd_query_machine, { { 0 } } },
	{ "migrate", cmd_migrate, { { "uri", JSON_STRING, true }, { "blk", JSON_BOOL, false },
		{ "inc", JSON_BOOL, false }, { "detach", JSON_BOOL, false }, { "resume", JSON_BOOL, false } } },
	{ "migrate-incoming", cmd_migrate_incoming, { { "uri", JSON_STRING, true } } },
	{ "query-migrate", cmd_query_migrate, { { 0 } } },
	{ "migrate-set-capabilities", cmd_migrate_set_capabilities, { { "capabilities", JSON_ARRAY, true } } },
	{ "query-migrate-capabilities", cmd_query_migrate_capabilities, { { 0 } } },
	{ "object-add", cmd_object_add, { { "qom-type", JSON_STRING, true }, { "id", JSON_STRING, true } } },
	{ "object-del", cmd_object_del, { { "id", JSON_STRING, true } } },
	{ "query-memory-devices", cmd_query_memory_devices, { { 0 } } },
	{ "qom-set", cmd_qom_set, { { "path", JSON_STRING, true }, { "property", JSON_STRING, true } } },
};

#define QMP_NCMDS (sizeof(qmp_cmd_table) / sizeof(qmp_cmd_table[0]))

static void cmd_query_commands(struct qmp_call *c)
{
	struct json *list = json_new_array();
	for (size_t i = 0; i < QMP_NCMDS && list; i++) {
		struct json *e = qmp_obj_add(json_new_object(), "name",
					     json_new_str(qmp_cmd_table[i].name));
		if (!e || json_array_add(list, e) != 0) {
			json_free(list);
			list = NULL;
		}
	}
	qmp_set_ret(c, list);
}

size_t qmp_cmd_count(void) { return QMP_NCMDS; }
const struct qmp_cmd *qmp_cmd_at(size_t i) { return i < QMP_NCMDS ? &qmp_cmd_table[i] : NULL; }

const struct qmp_cmd *qmp_cmd_find(const char *name)
{
	for (size_t i = 0; i < QMP_NCMDS; i++)
		if (strcmp(qmp_cmd_table[i].name, name) == 0)
			return &qmp_cmd_table[i];
	return NULL;
}

static const struct qmp_param *qmp_param_find(const struct qmp_cmd *cmd, const char *name)
{
	for (int i = 0; i < QMP_MAX_PARAMS && cmd->params[i].name; i++)
		if (strcmp(cmd->params[i].name, name) == 0)
			return &cmd->params[i];
	return NULL;
}

void qmp_cmd_run(const struct qmp_cmd *cmd, struct qmp_call *c)
{
	c->name = cmd->name;
	/* device_add takes every device property, netdev_add, blockdev-add
	 * and chardev-add nested unions, object-add members that depend on
	 * its qom-type, qom-set a value of any type: their handlers check. */
	if (cmd->fn == cmd_device_add || cmd->fn == cmd_netdev_add ||
	    cmd->fn == cmd_blockdev_add || cmd->fn == cmd_chardev_add ||
	    cmd->fn == cmd_object_add || cmd->fn == cmd_qom_set) {
		cmd->fn(c);
		return;
	}
	/* QEMU's input visitor: unknown members, then missing ones, then
	 * types, with its wording. */
	for (size_t i = 0; i < json_len(c->args); i++) {
		const char *key = json_key_at(c->args, i);
		const struct qmp_param *p = qmp_param_find(cmd, key);
		if (!p) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%.100s' is unexpected", key);
			return;
		}
		if (json_type(json_at(c->args, i)) != p->type) {
			qmp_call_error(c, QMP_ERR_GENERIC,
				       "Invalid parameter type for '%s', expected: %s",
				       p->name, json_type_name(p->type));
			return;
		}
	}
	for (int i = 0; i < QMP_MAX_PARAMS && cmd->params[i].name; i++) {
		if (cmd->params[i].required && !json_get(c->args, cmd->params[i].name)) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%s' is missing",
				       cmd->params[i].name);
			return;
		}
	}
	cmd->fn(c);
}
