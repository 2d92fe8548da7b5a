/* query-qmp-schema: QEMU's introspection (qapi/introspect.json
 * SchemaInfo), listing exactly the commands in our table and the events
 * the machine emits, so a client probing for a command (libvirt, Kata's
 * govmm) learns the truth instead of QEMU's full list.  As QEMU does,
 * type names are opaque numbers; builtins keep their names. */
#include "qmp_priv.h"

#include <stdio.h>
#include <string.h>

/* Emitted by kvm/ (kvm_qmp.c, kvm_machine.c) and the hot-plug code. */
const char *const qmp_event_names[] = {
	"SHUTDOWN", "POWERDOWN", "RESET", "STOP", "RESUME", "DEVICE_DELETED",
	"MIGRATION", "MIGRATION_PASS", NULL,
};

struct qmp_ev_member {
	const char *event, *name, *type;
	bool optional;
};

/* The data members of the events above (qapi/run-state.json,
 * qapi/qdev.json). */
static const struct qmp_ev_member qmp_ev_members[] = {
	{ "SHUTDOWN", "guest", "bool", false },
	{ "SHUTDOWN", "reason", "str", false },
	{ "RESET", "guest", "bool", false },
	{ "RESET", "reason", "str", false },
	{ "DEVICE_DELETED", "device", "str", true },
	{ "DEVICE_DELETED", "path", "str", false },
	{ "MIGRATION", "status", "str", false },    /* qapi/migration.json */
	{ "MIGRATION_PASS", "pass", "int", false },
};

static struct json *schema_add(struct json *list, struct json *e)
{
	if (!list || !e || json_array_add(list, e) != 0) {
		json_free(e);
		json_free(list);
		return NULL;
	}
	return list;
}

static struct json *schema_obj(struct json *o, const char *k, struct json *v)
{
	if (o && json_object_add(o, k, v) == 0)
		return o;
	json_free(o);
	if (o == NULL)
		json_free(v);
	return NULL;
}

static struct json *schema_member(const char *name, const char *type, bool optional)
{
	struct json *m = json_new_object();
	m = schema_obj(m, "name", json_new_str(name));
	if (optional)
		m = schema_obj(m, "default", json_new_null());
	return schema_obj(m, "type", json_new_str(type));
}

static const char *schema_type_of(enum json_type t)
{
	switch (t) {
	case JSON_STRING: return "str";
	case JSON_INT: return "int";
	case JSON_BOOL: return "bool";
	case JSON_ARRAY: return "[str]";
	default: return "any";
	}
}

/* An object type named by number, its members added by the caller. */
static struct json *schema_objtype(unsigned num, struct json **members)
{
	char name[16];
	snprintf(name, sizeof(name), "%u", num);
	struct json *t = json_new_object();
	t = schema_obj(t, "name", json_new_str(name));
	*members = json_new_array();
	return t;
}

static struct json *schema_finish(struct json *t, struct json *members)
{
	if (!members) {
		json_free(t);
		return NULL;
	}
	t = schema_obj(t, "members", members);
	return schema_obj(t, "meta-type", json_new_str("object"));
}

static struct json *schema_entity(const char *name, const char *meta, unsigned arg, bool ret)
{
	char n[16];
	struct json *e = json_new_object();
	e = schema_obj(e, "name", json_new_str(name));
	if (ret)
		e = schema_obj(e, "ret-type", json_new_str("any"));
	e = schema_obj(e, "meta-type", json_new_str(meta));
	snprintf(n, sizeof(n), "%u", arg);
	return schema_obj(e, "arg-type", json_new_str(n));
}

static struct json *schema_builtin(const char *name, const char *jt)
{
	struct json *e = json_new_object();
	e = schema_obj(e, "name", json_new_str(name));
	e = schema_obj(e, "meta-type", json_new_str("builtin"));
	return schema_obj(e, "json-type", json_new_str(jt));
}

void cmd_query_qmp_schema(struct qmp_call *c)
{
	struct json *list = json_new_array(), *members;
	unsigned next = 1; /* "0": the empty object, arguments of most */
	struct json *t0 = schema_objtype(0, &members);
	list = schema_add(list, schema_finish(t0, members));
	for (size_t i = 0; i < qmp_cmd_count() && list; i++) {
		const struct qmp_cmd *cmd = qmp_cmd_at(i);
		unsigned arg = 0;
		if (cmd->params[0].name) {
			arg = next++;
			struct json *t = schema_objtype(arg, &members);
			for (int p = 0; p < QMP_MAX_PARAMS && cmd->params[p].name && members; p++) {
				struct json *m = schema_member(cmd->params[p].name,
							       schema_type_of(cmd->params[p].type),
							       !cmd->params[p].required);
				if (!m || json_array_add(members, m) != 0) {
					json_free(m);
					json_free(members);
					members = NULL;
				}
			}
			list = schema_add(list, schema_finish(t, members));
		}
		list = schema_add(list, schema_entity(cmd->name, "command", arg, true));
	}
	for (size_t i = 0; qmp_event_names[i] && list; i++) {
		const char *ev = qmp_event_names[i];
		unsigned arg = 0;
		struct json *t = NULL;
		members = NULL;
		for (size_t m = 0; m < sizeof(qmp_ev_members) / sizeof(qmp_ev_members[0]); m++) {
			if (strcmp(qmp_ev_members[m].event, ev) != 0)
				continue;
			if (!t) {
				arg = next++;
				t = schema_objtype(arg, &members);
			}
			struct json *mm = schema_member(qmp_ev_members[m].name, qmp_ev_members[m].type,
							qmp_ev_members[m].optional);
			if (!members || !mm || json_array_add(members, mm) != 0) {
				json_free(mm);
				json_free(members);
				members = NULL;
			}
		}
		if (t)
			list = schema_add(list, schema_finish(t, members));
		list = schema_add(list, schema_entity(ev, "event", arg, false));
	}
	list = schema_add(list, schema_builtin("str", "string"));
	list = schema_add(list, schema_builtin("int", "int"));
	list = schema_add(list, schema_builtin("bool", "boolean"));
	list = schema_add(list, schema_builtin("any", "value"));
	struct json *arr = json_new_object();
	arr = schema_obj(arr, "name", json_new_str("[str]"));
	arr = schema_obj(arr, "element-type", json_new_str("str"));
	arr = schema_add(list, schema_obj(arr, "meta-type", json_new_str("array")));
	if (!arr)
		qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
	c->ret = arr;
}
