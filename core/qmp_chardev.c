/* chardev-add / chardev-remove (QEMU 7.2 qapi/char.json) for the one
 * backend Kata hot-adds: a unix socket ({"type": "socket", "data":
 * {"addr": {"type": "unix", "data": {"path": ...}}, "server": ...,
 * "wait": ...}}), the vhost-user backends' sockets among them.  The
 * arguments are checked as QEMU's visitor walks ChardevBackend, with its
 * words (tests/integration/test_qmp_block_vs_qemu.sh compares them);
 * the machine's op checks the id and opens the socket. */
#include "qmp_priv.h"

#include <stdio.h>
#include <string.h>

/* ChardevBackendKind (7.2): known to QEMU, so not an enum error. */
static const char *const qc_kinds[] = {
	"file", "serial", "parallel", "pipe", "socket", "udp", "pty", "null",
	"mux", "msmouse", "wctablet", "braille", "testdev", "stdio",
	"console", "spicevmc", "spiceport", "qemu-vdagent", "dbus", "vc",
	"ringbuf", "memory", NULL,
};

static bool qc_known_kind(const char *t)
{
	for (unsigned i = 0; qc_kinds[i]; i++)
		if (!strcmp(qc_kinds[i], t))
			return true;
	return false;
}

/* obj[key] must be there with type t; pfx names where for messages. */
static const struct json *qc_need(struct qmp_call *c, const struct json *obj,
				  const char *pfx, const char *key, enum json_type t)
{
	const struct json *v = json_get(obj, key);
	if (!v) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%s%s' is missing", pfx, key);
		return NULL;
	}
	if (json_type(v) != t) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for '%s%s', expected: %s",
			       pfx, key, json_type_name(t));
		return NULL;
	}
	return v;
}

static int qc_opt_type(struct qmp_call *c, const struct json *obj, const char *pfx,
		       const char *key, enum json_type t)
{
	const struct json *v = json_get(obj, key);
	if (v && json_type(v) != t) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for '%s%s', expected: %s",
			       pfx, key, json_type_name(t));
		return -1;
	}
	return 0;
}

static int qc_only(struct qmp_call *c, const struct json *obj, const char *pfx,
		   const char *const *keys)
{
	for (size_t i = 0; i < json_len(obj); i++) {
		const char *k = json_key_at(obj, i);
		unsigned j = 0;
		while (keys[j] && strcmp(keys[j], k))
			j++;
		if (!keys[j]) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%s%.100s' is unexpected",
				       pfx, k);
			return -1;
		}
	}
	return 0;
}

/* A simple union {"type": ..., "data": {...}}: its type (checked against
 * the kinds by the caller). */
static int qc_union(struct qmp_call *c, const struct json *u, const char *pfx,
		    const char **type)
{
	const struct json *t = qc_need(c, u, pfx, "type", JSON_STRING);
	if (!t)
		return -1;
	*type = json_get_str(t);
	return 0;
}

static int qc_socket(struct qmp_call *c, const struct json *data, struct qmp_chardev *ch)
{
	static const char *const keys[] = { "addr", "server", "wait", "reconnect",
					    "logfile", "logappend", NULL };
	const char *pfx = "backend.data.";
	const struct json *addr = qc_need(c, data, pfx, "addr", JSON_OBJECT);
	if (!addr || qc_opt_type(c, data, pfx, "server", JSON_BOOL) < 0 ||
	    qc_opt_type(c, data, pfx, "wait", JSON_BOOL) < 0 ||
	    qc_opt_type(c, data, pfx, "reconnect", JSON_INT) < 0)
		return -1;
	const char *at;
	if (qc_union(c, addr, "backend.data.addr.", &at) < 0)
		return -1;
	if (strcmp(at, "unix") && strcmp(at, "inet") && strcmp(at, "vsock") && strcmp(at, "fd")) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'type' does not accept value '%.100s'",
			       at);
		return -1;
	}
	const struct json *ad = qc_need(c, addr, "backend.data.addr.", "data", JSON_OBJECT);
	if (!ad)
		return -1;
	if (strcmp(at, "unix")) {
		qmp_call_error(c, QMP_ERR_GENERIC,
			       "chardev-add: socket address type '%s' is not supported by this machine (unix only)",
			       at);
		return -1;
	}
	const struct json *path = qc_need(c, ad, "backend.data.addr.data.", "path", JSON_STRING);
	static const char *const ukeys[] = { "path", NULL };
	static const char *const akeys[] = { "type", "data", NULL };
	if (!path || qc_only(c, ad, "backend.data.addr.data.", ukeys) < 0 ||
	    qc_only(c, addr, "backend.data.addr.", akeys) < 0 ||
	    qc_only(c, data, pfx, keys) < 0)
		return -1;
	ch->path = json_get_str(path);
	/* ChardevSocket: server defaults to true; a QMP-added server does
	 * not wait unless told to. */
	ch->server = json_get(data, "server") ? json_get_bool(json_get(data, "server")) : true;
	ch->wait = json_get_bool(json_get(data, "wait"));
	if (json_get_int(json_get(data, "reconnect")) != 0 || json_get(data, "logfile") ||
	    json_get(data, "logappend")) {
		qmp_call_error(c, QMP_ERR_GENERIC,
			       "chardev-add: reconnect and logfile are not supported by this machine");
		return -1;
	}
	if (ch->server && ch->wait) {
		/* QEMU would block its monitor until a client connects; we
		 * never block the loop on a client's say-so. */
		qmp_call_error(c, QMP_ERR_GENERIC,
			       "chardev-add: a server socket with wait=true is not supported (use wait=false)");
		return -1;
	}
	if (!ch->path[0]) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Failed to add chardev '%.100s': empty socket path",
			       ch->id);
		return -1;
	}
	return 0;
}

void cmd_chardev_add(struct qmp_call *c)
{
	struct qmp_chardev ch = { 0 };
	const struct json *id = qc_need(c, c->args, "", "id", JSON_STRING);
	if (!id)
		return;
	const struct json *be = qc_need(c, c->args, "", "backend", JSON_OBJECT);
	if (!be)
		return;
	ch.id = json_get_str(id);
	const char *type;
	if (qc_union(c, be, "backend.", &type) < 0)
		return;
	if (!qc_known_kind(type)) {
		/* QEMU names the bare member here, not 'backend.type'. */
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'type' does not accept value '%.100s'",
			       type);
		return;
	}
	const struct json *data = qc_need(c, be, "backend.", "data", JSON_OBJECT);
	if (!data)
		return;
	if (strcmp(type, "socket")) {
		qmp_call_error(c, QMP_ERR_GENERIC,
			       "chardev-add: backend type '%s' is not supported by this machine (socket only)",
			       type);
		return;
	}
	static const char *const bkeys[] = { "type", "data", NULL };
	static const char *const top[] = { "id", "backend", NULL };
	if (qc_socket(c, data, &ch) < 0 || qc_only(c, be, "backend.", bkeys) < 0 ||
	    qc_only(c, c->args, "", top) < 0)
		return;
	if (!c->ops->chardev_add) {
		qmp_call_error(c, QMP_ERR_GENERIC, "chardev-add is not supported by this machine");
		return;
	}
	struct qmp_err e = { 0 };
	if (c->ops->chardev_add(c->opaque, &ch, &e) != 0)
		qmp_call_error(c, e.cls ? e.cls : QMP_ERR_GENERIC, "%s",
			       e.desc[0] ? e.desc : "chardev-add failed");
}

void cmd_chardev_remove(struct qmp_call *c)
{
	const char *id = json_get_str(json_get(c->args, "id"));
	struct qmp_err e = { 0 };
	if (!c->ops->chardev_remove) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Chardev '%.100s' not found", id);
		return;
	}
	if (c->ops->chardev_remove(c->opaque, id, &e) != 0)
		qmp_call_error(c, e.cls ? e.cls : QMP_ERR_GENERIC, "%s",
			       e.desc[0] ? e.desc : "chardev-remove failed");
}
