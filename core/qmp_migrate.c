/* migrate, migrate-incoming, query-migrate, migrate-set-capabilities and
 * query-migrate-capabilities (QEMU 7.2 qapi/migration.json): the checks
 * and error wording of QEMU's dispatcher and migration core, the reply
 * shapes of its MigrationInfo, then the machine's ops.  Reply shapes and
 * messages are compared with a real qemu-system-x86_64 by
 * tests/integration/test_qmp_migrate_vs_qemu.sh. */
#include "qmp_priv.h"

#include <stdio.h>
#include <string.h>

/* QEMU 7.2's MigrationCapability enum, in its order (query-migrate-
 * capabilities lists them so). */
static const char *const qmp_mig_caps[] = {
	"xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "compress",
	"events", "postcopy-ram", "x-colo", "release-ram", "block",
	"return-path", "pause-before-switchover", "multifd", "dirty-bitmaps",
	"postcopy-blocktime", "late-block-activate", "x-ignore-shared",
	"validate-uuid", "background-snapshot", "zero-copy-send",
	"postcopy-preempt",
};
#define QMP_NMIG_CAPS (sizeof(qmp_mig_caps) / sizeof(qmp_mig_caps[0]))

/* The bit vmm keeps for a capability, 0 for one it does not implement. */
static unsigned qmp_mig_cap_bit(const char *name)
{
	if (strcmp(name, "events") == 0)
		return QMP_MIG_CAP_EVENTS;
	if (strcmp(name, "x-ignore-shared") == 0)
		return QMP_MIG_CAP_IGNORE_SHARED;
	return 0;
}

static void qmp_mig_failed(struct qmp_call *c, const struct qmp_err *e)
{
	qmp_call_error(c, e->cls ? e->cls : QMP_ERR_GENERIC, "%s",
		       e->desc[0] ? e->desc : "migration failed");
}

void cmd_migrate(struct qmp_call *c)
{
	const char *uri = json_get_str(json_get(c->args, "uri"));
	/* Block migration (blk, inc) copies disks over the stream; vmm's
	 * stream holds no disk contents, so saying yes would lose them. */
	if (json_get_bool(json_get(c->args, "blk")) || json_get_bool(json_get(c->args, "inc"))) {
		qmp_call_error(c, QMP_ERR_GENERIC, "vmm does not migrate block devices "
			       "('blk' and 'inc' must be false)");
		return;
	}
	if (json_get_bool(json_get(c->args, "resume"))) {
		qmp_call_error(c, QMP_ERR_GENERIC, "Cannot resume if there is no "
			       "paused migration");
		return;
	}
	if (!c->ops->migrate) {
		qmp_call_error(c, QMP_ERR_GENERIC, "migrate is not supported by this machine");
		return;
	}
	/* The URI is the machine's to check: QEMU refuses a protocol it
	 * does not know only after its migration state went to "setup",
	 * and sends MIGRATION events for it (kvm_migrate.c). */
	struct qmp_err e = { 0 };
	if (c->ops->migrate(c->opaque, uri, &e) != 0)
		qmp_mig_failed(c, &e);
}

void cmd_migrate_incoming(struct qmp_call *c)
{
	const char *uri = json_get_str(json_get(c->args, "uri"));
	if (!c->ops->migrate_incoming) {
		qmp_call_error(c, QMP_ERR_GENERIC, "'-incoming' was not specified on "
			       "the command line");
		return;
	}
	struct qmp_err e = { 0 };
	if (c->ops->migrate_incoming(c->opaque, uri, &e) != 0)
		qmp_mig_failed(c, &e);
}

static struct json *qmp_mig_add(struct json *o, const char *k, struct json *v)
{
	/* json_object_add frees v when it fails. */
	if (!o) {
		json_free(v);
		return NULL;
	}
	if (json_object_add(o, k, v) != 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

static struct json *qmp_mig_int(uint64_t v)
{
	return json_new_int(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* MigrationStats, every member QEMU 7.2 sends, in its order; what vmm
 * has no counterpart for (dirty pages, postcopy, multifd) is 0. */
static struct json *qmp_mig_ram(const struct qmp_migrate_info *i)
{
	struct json *r = json_new_object();
	r = qmp_mig_add(r, "transferred", qmp_mig_int(i->ram_transferred));
	r = qmp_mig_add(r, "remaining", qmp_mig_int(i->ram_remaining));
	r = qmp_mig_add(r, "total", qmp_mig_int(i->ram_total));
	r = qmp_mig_add(r, "duplicate", qmp_mig_int(i->ram_duplicate_pages));
	r = qmp_mig_add(r, "skipped", json_new_int(0));
	r = qmp_mig_add(r, "normal", qmp_mig_int(i->ram_normal_pages));
	r = qmp_mig_add(r, "normal-bytes", qmp_mig_int(i->ram_normal_pages * 4096));
	r = qmp_mig_add(r, "dirty-pages-rate", json_new_int(0));
	r = qmp_mig_add(r, "mbps", json_new_double(i->mbps));
	r = qmp_mig_add(r, "dirty-sync-count", json_new_int(1));
	r = qmp_mig_add(r, "postcopy-requests", json_new_int(0));
	r = qmp_mig_add(r, "page-size", json_new_int(4096));
	r = qmp_mig_add(r, "multifd-bytes", json_new_int(0));
	r = qmp_mig_add(r, "pages-per-second", json_new_int(0));
	r = qmp_mig_add(r, "precopy-bytes", json_new_int(0));
	r = qmp_mig_add(r, "downtime-bytes", qmp_mig_int(i->ram_transferred));
	r = qmp_mig_add(r, "postcopy-bytes", json_new_int(0));
	r = qmp_mig_add(r, "dirty-sync-missed-zero-copy", json_new_int(0));
	return r;
}

void cmd_query_migrate(struct qmp_call *c)
{
	struct qmp_migrate_info i;
	memset(&i, 0, sizeof(i));
	if (c->ops->migrate_query)
		c->ops->migrate_query(c->opaque, &i);
	struct json *r = json_new_object();
	if (!i.status) {
		c->ret = r;   /* QEMU: {} before any migration */
		if (!r)
			qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
		return;
	}
	bool active = strcmp(i.status, "active") == 0;
	bool done = strcmp(i.status, "completed") == 0;
	if (active)
		r = qmp_mig_add(r, "expected-downtime", json_new_int(300));
	r = qmp_mig_add(r, "status", json_new_str(i.status));
	if (active || done) {
		r = qmp_mig_add(r, "setup-time", qmp_mig_int(i.setup_ms));
		if (done)
			r = qmp_mig_add(r, "downtime", qmp_mig_int(i.downtime_ms));
		r = qmp_mig_add(r, "total-time", qmp_mig_int(i.total_ms));
		r = qmp_mig_add(r, "ram", qmp_mig_ram(&i));
	}
	if (strcmp(i.status, "failed") == 0 && i.error[0])
		r = qmp_mig_add(r, "error-desc", json_new_str(i.error));
	if (!r)
		qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
	c->ret = r;
}

void cmd_migrate_set_capabilities(struct qmp_call *c)
{
	const struct json *caps = json_get(c->args, "capabilities");
	unsigned cur = c->ops->migrate_caps ? c->ops->migrate_caps(c->opaque) : 0;
	unsigned want = cur;
	/* QEMU's input visitor, member by member, then its checks. */
	for (size_t n = 0; n < json_len(caps); n++) {
		const struct json *el = json_at(caps, n);
		if (json_type(el) != JSON_OBJECT) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for "
				       "'capabilities[%zu]', expected: object", n);
			return;
		}
		const struct json *cap = json_get(el, "capability");
		const struct json *st = json_get(el, "state");
		if (!cap) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'capabilities[%zu]."
				       "capability' is missing", n);
			return;
		}
		if (json_type(cap) != JSON_STRING) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for "
				       "'capabilities[%zu].capability', expected: string", n);
			return;
		}
		size_t k = 0;
		while (k < QMP_NMIG_CAPS && strcmp(qmp_mig_caps[k], json_get_str(cap)))
			k++;
		if (k == QMP_NMIG_CAPS) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'capability' does not "
				       "accept value '%.100s'", json_get_str(cap));
			return;
		}
		if (!st) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'capabilities[%zu]."
				       "state' is missing", n);
			return;
		}
		if (json_type(st) != JSON_BOOL) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Invalid parameter type for "
				       "'capabilities[%zu].state', expected: boolean", n);
			return;
		}
		for (size_t m = 0; m < json_len(el); m++) {
			const char *key = json_key_at(el, m);
			if (strcmp(key, "capability") && strcmp(key, "state")) {
				qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'capabilities[%zu]."
					       "%.100s' is unexpected", n, key);
				return;
			}
		}
		unsigned bit = qmp_mig_cap_bit(json_get_str(cap));
		bool on = json_get_bool(st);
		/* An accepted capability does what it says: one vmm does
		 * not implement may be switched off, never on. */
		if (!bit && on) {
			qmp_call_error(c, QMP_ERR_GENERIC, "Migration capability '%s' is "
				       "not supported by vmm (supported: events, "
				       "x-ignore-shared)", qmp_mig_caps[k]);
			return;
		}
		want = on ? want | bit : want & ~bit;
	}
	if (!c->ops->migrate_set_caps) {
		if (want != cur)
			qmp_call_error(c, QMP_ERR_GENERIC, "migrate-set-capabilities is "
				       "not supported by this machine");
		return;
	}
	struct qmp_err e = { 0 };
	if (c->ops->migrate_set_caps(c->opaque, want, &e) != 0)
		qmp_mig_failed(c, &e);
}

void cmd_query_migrate_capabilities(struct qmp_call *c)
{
	unsigned cur = c->ops->migrate_caps ? c->ops->migrate_caps(c->opaque) : 0;
	struct json *list = json_new_array();
	for (size_t k = 0; k < QMP_NMIG_CAPS && list; k++) {
		struct json *e = json_new_object();
		unsigned bit = qmp_mig_cap_bit(qmp_mig_caps[k]);
		e = qmp_mig_add(e, "state", json_new_bool(bit && (cur & bit)));
		e = qmp_mig_add(e, "capability", json_new_str(qmp_mig_caps[k]));
		if (!e || json_array_add(list, e) != 0) {
			json_free(list);
			list = NULL;
		}
	}
	if (!list)
		qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
	c->ret = list;
}
