/* blockdev-add / blockdev-del (QEMU 7.2 qapi/block-core.json).  The
 * arguments are a flat union on "driver" with nested objects, so they are
 * checked here the way QEMU's input visitor walks BlockdevOptions: the
 * discriminator first, then each member's type in schema order, then the
 * variant's required members, nested objects as they are met (their
 * unknown members reported with a dotted path, 'file.x'), and unknown
 * top-level members last.  The words are QEMU's
 * (tests/integration/test_qmp_block_vs_qemu.sh compares them).  Only the
 * subset Kata's govmm sends is accepted: driver raw over file or
 * host_device (inline or by node name), or a protocol node alone;
 * read-only, cache.direct, cache.no-flush, aio.  The machine's op checks
 * names against its node table, and the file. */
#include "qmp_priv.h"

#include <stdio.h>
#include <string.h>

/* What blockdev-add accepts, per object: name and JSON type. */
struct qb_member {
	const char *name;
	enum json_type type;
};

static const struct qb_member qb_base[] = {
	{ "driver", JSON_STRING }, { "node-name", JSON_STRING },
	{ "cache", JSON_OBJECT }, { "read-only", JSON_BOOL }, { NULL, 0 },
};
static const struct qb_member qb_raw[] = { { "file", JSON_NULL }, { NULL, 0 } };
static const struct qb_member qb_proto[] = {
	{ "filename", JSON_STRING }, { "aio", JSON_STRING }, { NULL, 0 },
};
static const struct qb_member qb_cache[] = {
	{ "direct", JSON_BOOL }, { "no-flush", JSON_BOOL }, { NULL, 0 },
};

static bool qb_known(const struct qb_member *set, const char *key)
{
	for (; set->name; set++)
		if (!strcmp(set->name, key))
			return true;
	return false;
}

static bool qb_is_proto(const char *drv)
{
	return !strcmp(drv, "file") || !strcmp(drv, "host_device");
}

/* Types of the members of obj listed in set (JSON_NULL: any). */
static int qb_types(struct qmp_call *c, const struct json *obj, const char *pfx,
		    const struct qb_member *set)
{
	for (; set->name; set++) {
		const struct json *v = json_get(obj, set->name);
		if (v && set->type != JSON_NULL && json_type(v) != set->type) {
			qmp_call_error(c, QMP_ERR_GENERIC,
				       "Invalid parameter type for '%s%s', expected: %s",
				       pfx, set->name, json_type_name(set->type));
			return -1;
		}
	}
	return 0;
}

/* Unknown members of obj (not in any of the sets). */
static int qb_unexpected(struct qmp_call *c, const struct json *obj, const char *pfx,
			 const struct qb_member *a, const struct qb_member *b)
{
	for (size_t i = 0; i < json_len(obj); i++) {
		const char *k = json_key_at(obj, i);
		if (!qb_known(a, k) && !(b && qb_known(b, k))) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%s%.100s' is unexpected",
				       pfx, k);
			return -1;
		}
	}
	return 0;
}

static int qb_cache_opts(struct qmp_call *c, const struct json *obj, const char *pfx,
			 struct qmp_blockdev *b)
{
	const struct json *cache = json_get(obj, "cache");
	if (!cache)
		return 0;
	char p[32];
	snprintf(p, sizeof(p), "%scache.", pfx);
	if (qb_types(c, cache, p, qb_cache) < 0 ||
	    qb_unexpected(c, cache, p, qb_cache, NULL) < 0)
		return -1;
	if (json_get(cache, "direct"))
		b->direct = json_get_bool(json_get(cache, "direct"));
	if (json_get(cache, "no-flush"))
		b->no_flush = json_get_bool(json_get(cache, "no-flush"));
	return 0;
}

/* A protocol node's own members (filename, aio) under pfx. */
static int qb_proto_opts(struct qmp_call *c, const struct json *obj, const char *pfx,
			 struct qmp_blockdev *b)
{
	if (qb_types(c, obj, pfx, qb_proto) < 0)
		return -1;
	const char *fn = json_get_str(json_get(obj, "filename"));
	if (!fn) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%sfilename' is missing", pfx);
		return -1;
	}
	b->filename = fn;
	const char *aio = json_get_str(json_get(obj, "aio"));
	if (aio) {
		if (!strcmp(aio, "threads"))
			b->aio = QMP_AIO_THREADS;
		else if (!strcmp(aio, "native"))
			b->aio = QMP_AIO_NATIVE;
		else if (!strcmp(aio, "io_uring"))
			b->aio = QMP_AIO_IO_URING;
		else {
			/* QEMU's enum errors name the bare member. */
			qmp_call_error(c, QMP_ERR_GENERIC,
				       "Parameter 'aio' does not accept value '%.100s'", aio);
			return -1;
		}
	}
	return 0;
}

/* The discriminator of obj under pfx: "raw", "file" or "host_device". */
static const char *qb_driver(struct qmp_call *c, const struct json *obj, const char *pfx,
			     bool proto_only)
{
	const struct json *d = json_get(obj, "driver");
	if (!d) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter '%sdriver' is missing", pfx);
		return NULL;
	}
	if (json_type(d) != JSON_STRING) {
		qmp_call_error(c, QMP_ERR_GENERIC,
			       "Invalid parameter type for '%sdriver', expected: string", pfx);
		return NULL;
	}
	const char *s = json_get_str(d);
	if (!qb_is_proto(s) && (proto_only || strcmp(s, "raw"))) {
		/* QEMU knows more drivers (qcow2, nbd...); this machine
		 * does not, and says so in the enum's words. */
		qmp_call_error(c, QMP_ERR_GENERIC,
			       "Parameter 'driver' does not accept value '%.100s'", s);
		return NULL;
	}
	return s;
}

/* "file": {"driver": "file", "filename": ...} inline. */
static int qb_inline_file(struct qmp_call *c, const struct json *f, struct qmp_blockdev *b)
{
	const char *drv = qb_driver(c, f, "file.", true);
	if (!drv || qb_types(c, f, "file.", qb_base) < 0)
		return -1;
	if (json_get(f, "node-name")) {
		/* A second name for the protocol node: we keep one table
		 * entry per blockdev-add, so refuse rather than ignore it. */
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'file.node-name' is unexpected");
		return -1;
	}
	bool saved_direct = b->direct, saved_nf = b->no_flush;
	if (qb_cache_opts(c, f, "file.", b) < 0 || qb_proto_opts(c, f, "file.", b) < 0 ||
	    qb_unexpected(c, f, "file.", qb_base, qb_proto) < 0)
		return -1;
	/* The outer node's cache options win where both are given (the
	 * format layer is what the device sees). */
	if (json_get(json_get(c->args, "cache"), "direct"))
		b->direct = saved_direct;
	if (json_get(json_get(c->args, "cache"), "no-flush"))
		b->no_flush = saved_nf;
	if (json_get(f, "read-only") && json_get_bool(json_get(f, "read-only")))
		b->read_only = true;
	b->proto = drv;
	return 0;
}

void cmd_blockdev_add(struct qmp_call *c)
{
	struct qmp_blockdev b = { .aio = QMP_AIO_THREADS };
	const struct json *a = c->args;
	const char *drv = qb_driver(c, a, "", false);
	if (!drv || qb_types(c, a, "", qb_base) < 0)
		return;
	b.driver = drv;
	b.node_name = json_get_str(json_get(a, "node-name"));
	b.read_only = json_get_bool(json_get(a, "read-only"));
	if (qb_cache_opts(c, a, "", &b) < 0)
		return;
	const struct qb_member *variant = qb_raw;
	if (!strcmp(drv, "raw")) {
		const struct json *f = json_get(a, "file");
		if (!f) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'file' is missing");
			return;
		}
		if (json_type(f) == JSON_STRING) {
			b.file_ref = json_get_str(f);
		} else if (json_type(f) == JSON_OBJECT) {
			if (qb_inline_file(c, f, &b) < 0)
				return;
		} else {
			/* BlockdevRef is an alternate of an object and a str. */
			qmp_call_error(c, QMP_ERR_GENERIC,
				       "Invalid parameter type for 'file', expected: BlockdevOptions");
			return;
		}
	} else {
		variant = qb_proto;
		b.proto = drv;
		if (qb_proto_opts(c, a, "", &b) < 0)
			return;
	}
	if (qb_unexpected(c, a, "", qb_base, variant) < 0)
		return;
	if (!b.node_name) {
		qmp_call_error(c, QMP_ERR_GENERIC, "'node-name' must be specified for the root node");
		return;
	}
	if (b.aio == QMP_AIO_NATIVE && !b.direct) {
		/* file-posix.c raw_open_common: Linux AIO needs O_DIRECT. */
		qmp_call_error(c, QMP_ERR_GENERIC,
			       "aio=native was specified, but it requires cache.direct=on, which was not specified.");
		return;
	}
	if (!c->ops->blockdev_add) {
		qmp_call_error(c, QMP_ERR_GENERIC, "blockdev-add is not supported by this machine");
		return;
	}
	struct qmp_err e = { 0 };
	if (c->ops->blockdev_add(c->opaque, &b, &e) != 0)
		qmp_call_error(c, e.cls ? e.cls : QMP_ERR_GENERIC, "%s",
			       e.desc[0] ? e.desc : "blockdev-add failed");
}

void cmd_blockdev_del(struct qmp_call *c)
{
	const char *name = json_get_str(json_get(c->args, "node-name"));
	struct qmp_err e = { 0 };
	if (!c->ops->blockdev_del) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Failed to find node with node-name='%.100s'",
			       name);
		return;
	}
	if (c->ops->blockdev_del(c->opaque, name, &e) != 0)
		qmp_call_error(c, e.cls ? e.cls : QMP_ERR_GENERIC, "%s",
			       e.desc[0] ? e.desc : "blockdev-del failed");
}
