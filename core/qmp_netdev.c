/* netdev_add / netdev_del (QEMU 7.2 qapi/net.json, net/net.c
 * qmp_netdev_add, qmp_netdev_del): the checks QEMU's input visitor and
 * dispatcher make, in its order and words, then the machine's op.
 *
 * Descriptors come only by name, from getfd (core/qmp_fds.c), as Kata's
 * govmm passes taps: "fds": "fd-tap0:fd-tap1".  Every name is looked up
 * before any is taken, so a bad name leaves the table as it was; once
 * taken, a descriptor is either the machine's (success) or closed here
 * (failure): never left behind.  QEMU also takes a bare number as the
 * process's own fd of that number; a QMP client naming our descriptors
 * by number could hand a disk image or the QMP socket itself to a
 * device, so vmm refuses numbers (docs/qmp.md). */
#include "qmp_priv.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* QEMU's NetClientDriver values: any other type is not a type at all. */
static const char *const net_drivers[] = {
	"none", "nic", "user", "tap", "l2tpv3", "socket", "stream", "dgram",
	"vde", "bridge", "hubport", "netmap", "vhost-user", "vhost-vdpa",
	"vmnet-host", "vmnet-shared", "vmnet-bridged", NULL,
};

enum nk_kind { NK_STR, NK_BOOL, NK_UINT, NK_SIZE };

/* NetdevTapOptions members in schema order (QEMU reports the first bad
 * one in this order); `fd` marks the ones naming descriptors. */
static const struct net_key {
	const char *name;
	enum nk_kind kind;
	bool supported, fd;
} tap_keys[] = {
	{ "ifname", NK_STR, true, false },
	{ "fd", NK_STR, true, true },
	{ "fds", NK_STR, true, true },
	{ "script", NK_STR, true, false },
	{ "downscript", NK_STR, true, false },
	{ "br", NK_STR, false, false },
	{ "helper", NK_STR, false, false },
	{ "sndbuf", NK_SIZE, false, false },
	{ "vnet_hdr", NK_BOOL, false, false },
	{ "vhost", NK_BOOL, true, false },
	{ "vhostfd", NK_STR, true, true },
	{ "vhostfds", NK_STR, true, true },
	{ "vhostforce", NK_BOOL, false, false },
	{ "queues", NK_UINT, true, false },
	{ "poll-us", NK_UINT, false, false },
};
#define NTAP_KEYS (sizeof(tap_keys) / sizeof(tap_keys[0]))

#define NETDEV_MAX_FDS 16  /* fds + vhostfds of one netdev */

/* QEMU's id_wellformed: a letter, then letters, digits, '-', '.', '_'. */
static bool id_wellformed(const char *id)
{
	if (!isalpha((unsigned char)id[0]))
		return false;
	for (const char *p = id + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
			return false;
	return true;
}

static bool is_driver(const char *t)
{
	for (unsigned i = 0; net_drivers[i]; i++)
		if (!strcmp(net_drivers[i], t))
			return true;
	return false;
}

static const struct net_key *tap_key(const char *name)
{
	for (unsigned i = 0; i < NTAP_KEYS; i++)
		if (!strcmp(tap_keys[i].name, name))
			return &tap_keys[i];
	return NULL;
}

/* QEMU's visitor: members in schema order, then anything unexpected. */
static bool check_members(struct qmp_call *c)
{
	for (unsigned i = 0; i < NTAP_KEYS; i++) {
		const struct json *v = json_get(c->args, tap_keys[i].name);
		if (!v)
			continue;
		enum json_type want = tap_keys[i].kind == NK_STR ? JSON_STRING :
				      tap_keys[i].kind == NK_BOOL ? JSON_BOOL : JSON_INT;
		if (json_type(v) != want) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for '%s', expected: %s",
				       tap_keys[i].name,
				       tap_keys[i].kind == NK_STR ? "string" :
				       tap_keys[i].kind == NK_BOOL ? "boolean" :
				       tap_keys[i].kind == NK_SIZE ? "size" : "uint32");
			return false;
		}
		if (want == JSON_INT && (json_get_int(v) < 0 ||
					 (tap_keys[i].kind == NK_UINT &&
					  json_get_int(v) > UINT32_MAX))) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%s' expects %s",
				       tap_keys[i].name,
				       tap_keys[i].kind == NK_SIZE ? "uint64" : "uint32_t");
			return false;
		}
	}
	for (size_t i = 0; i < json_len(c->args); i++) {
		const char *k = json_key_at(c->args, i);
		if (strcmp(k, "id") && strcmp(k, "type") && !tap_key(k)) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%.100s' is unexpected", k);
			return false;
		}
	}
	return true;
}

struct taken {
	int fd[NETDEV_MAX_FDS];
	unsigned n;
};

static void taken_close(struct taken *t)
{
	while (t->n)
		close(t->fd[--t->n]);
}

/* Every name of a "a:b:c" list is in the getfd table (none taken yet). */
static bool names_present(struct qmp_call *c, const char *list, unsigned *count)
{
	char name[QMP_FD_NAME_MAX + 1];
	const char *p = list;
	for (;;) {
		size_t len = strcspn(p, ":");
		if (len == 0 || len > QMP_FD_NAME_MAX) {
			qmp_call_error(c, QMP_ERR_GENERIC, "File descriptor named '%.*s' has not been found",
				       (int)(len > 100 ? 100 : len), p);
			return false;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		if (isdigit((unsigned char)name[0])) {
			qmp_call_error(c, QMP_ERR_GENERIC,
				       "fd '%s' is a number: vmm takes descriptors only by the name given to getfd",
				       name);
			return false;
		}
		/* Each descriptor serves one queue: a name given twice
		 * would be taken once. */
		for (const char *q = list; q < p; q += strcspn(q, ":") + 1)
			if (strcspn(q, ":") == len && !strncmp(q, name, len)) {
				qmp_call_error(c, QMP_ERR_GENERIC,
					       "File descriptor named '%s' is given twice", name);
				return false;
			}
		if (!qmp_fdtab_has(c->fds, name)) {
			qmp_call_error(c, QMP_ERR_GENERIC, "File descriptor named '%s' has not been found",
				       name);
			return false;
		}
		if (++*count > NETDEV_MAX_FDS) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Too many file descriptors (at most %d)",
				       NETDEV_MAX_FDS);
			return false;
		}
		if (!p[len])
			return true;
		p += len + 1;
	}
}

/* Placeholder numbers for the check pass: distinct, never a real fd we
 * could be confused with (the check touches no descriptor anyway). */
#define NETDEV_FD_PLACEHOLDER 0x7fff0000

/* Take each name's descriptor (t NULL: a placeholder per name) and write
 * the numbers, ':'-separated. */
static void take_names(struct qmp_call *c, const char *list, struct taken *t,
		       unsigned *nph, struct json_buf *b)
{
	char name[QMP_FD_NAME_MAX + 1];
	const char *p = list;
	for (bool first = true;; first = false) {
		size_t len = strcspn(p, ":");
		memcpy(name, p, len);
		name[len] = '\0';
		int fd = t ? qmp_fdtab_take(c->fds, name) :
			 NETDEV_FD_PLACEHOLDER + (int)(*nph)++;
		/* Present a moment ago; a name given twice is found once. */
		json_buf_printf(b, "%s%d", first ? "" : ":", fd);
		if (t && fd >= 0)
			t->fd[t->n++] = fd;
		if (!p[len])
			return;
		p += len + 1;
	}
}

/* The -netdev option string for c's arguments: fds taken into tk, or
 * placeholders when tk is NULL.  0, or -1 with the error set (b is
 * initialised either way). */
static int netdev_opts(struct qmp_call *c, struct taken *tk, struct json_buf *b)
{
	unsigned nph = 0;
	json_buf_init(b);
	json_buf_puts(b, "tap,id=");
	json_buf_puts(b, json_get_str(json_get(c->args, "id")));
	for (unsigned i = 0; i < NTAP_KEYS; i++) {
		const struct json *v = json_get(c->args, tap_keys[i].name);
		if (!v)
			continue;
		json_buf_printf(b, ",%s=", tap_keys[i].name);
		if (tap_keys[i].fd) {
			take_names(c, json_get_str(v), tk, &nph, b);
		} else if (json_type(v) == JSON_BOOL) {
			json_buf_puts(b, json_get_bool(v) ? "on" : "off");
		} else if (json_type(v) == JSON_INT) {
			json_buf_printf(b, "%" PRId64, json_get_int(v));
		} else {
			/* A ',' would start another option: QEMU's ",," escape. */
			for (const char *s = json_get_str(v); *s; s++) {
				if (*s == ',')
					json_buf_put(b, ",", 1);
				json_buf_put(b, s, 1);
			}
		}
	}
	if (b->oom) {
		qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
		return -1;
	}
	return 0;
}

void cmd_netdev_add(struct qmp_call *c)
{
	const struct json *id = json_get(c->args, "id");
	const struct json *type = json_get(c->args, "type");
	if (!id) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'id' is missing");
		return;
	}
	if (json_type(id) != JSON_STRING) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for 'id', expected: string");
		return;
	}
	if (!type) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'type' is missing");
		return;
	}
	if (json_type(type) != JSON_STRING) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for 'type', expected: string");
		return;
	}
	const char *t = json_get_str(type);
	if (!is_driver(t)) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'type' does not accept value '%.100s'", t);
		return;
	}
	if (strcmp(t, "tap")) {
		qmp_call_error(c, QMP_ERR_GENERIC, "netdev type '%s' is not supported (accepted: tap)", t);
		return;
	}
	if (!check_members(c))
		return;
	if (!id_wellformed(json_get_str(id))) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'id' expects an identifier");
		return;
	}
	for (unsigned i = 0; i < NTAP_KEYS; i++)
		if (!tap_keys[i].supported && json_get(c->args, tap_keys[i].name)) {
			qmp_call_error(c, QMP_ERR_GENERIC, "tap option '%s' is not supported by vmm",
				       tap_keys[i].name);
			return;
		}
	unsigned count = 0;
	for (unsigned i = 0; i < NTAP_KEYS; i++) {
		const struct json *v = json_get(c->args, tap_keys[i].name);
		if (v && tap_keys[i].fd && !names_present(c, json_get_str(v), &count))
			return;
	}
	if (!c->ops->netdev_add) {
		qmp_call_error(c, QMP_ERR_GENERIC, "netdev_add is not supported on this machine");
		return;
	}
	/* QEMU refuses a duplicate id or a bad combination of options
	 * before it takes any descriptor: check first, with placeholders. */
	struct qmp_err e = { 0 };
	struct json_buf b;
	if (netdev_opts(c, NULL, &b) == 0 &&
	    c->ops->netdev_add(c->opaque, json_get_str(id), b.data, true, &e) != 0)
		qmp_call_error(c, e.cls ? e.cls : QMP_ERR_GENERIC, "%s",
			       e.desc[0] ? e.desc : "netdev_add failed");
	json_buf_free(&b);
	if (c->err_class)
		return;
	struct taken tk = { .n = 0 };
	if (netdev_opts(c, &tk, &b) == 0 &&
	    c->ops->netdev_add(c->opaque, json_get_str(id), b.data, false, &e) != 0) {
		qmp_call_error(c, e.cls ? e.cls : QMP_ERR_GENERIC, "%s",
			       e.desc[0] ? e.desc : "netdev_add failed");
	}
	/* Refused after taking: QEMU's monitor_fd_param took them, so the
	 * names are gone and the descriptors closed. */
	if (c->err_class)
		taken_close(&tk);
	json_buf_free(&b);
}

void cmd_netdev_del(struct qmp_call *c)
{
	const char *id = json_get_str(json_get(c->args, "id"));
	struct qmp_err e = { 0 };
	if (!c->ops->netdev_del) {
		qmp_call_error(c, "DeviceNotFound", "Device '%.100s' not found", id);
		return;
	}
	if (c->ops->netdev_del(c->opaque, id, &e) != 0)
		qmp_call_error(c, e.cls ? e.cls : QMP_ERR_GENERIC, "%s",
			       e.desc[0] ? e.desc : "netdev_del failed");
}
