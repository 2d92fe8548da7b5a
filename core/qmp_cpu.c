/* query-hotpluggable-cpus (QEMU 7.2 qapi/machine.json HotpluggableCPU):
 * one entry per possible CPU (-smp maxcpus), the last one first as QEMU
 * lists them, with the props device_add takes to fill the slot
 * (socket-id, core-id, thread-id; QEMU adds die-id only with dies > 1,
 * which we do not model) and, once a CPU is in it, its qom-path. */
#include "qmp_priv.h"

#include <errno.h>
#include <stdio.h>

unsigned qmp_cpu_slots(const struct qmp_machine_ops *ops)
{
	unsigned n = ops->max_cpus > ops->ncpus ? ops->max_cpus : ops->ncpus;
	return n < QMP_MAX_CPUS ? n : QMP_MAX_CPUS;
}

static struct json *put(struct json *o, const char *k, struct json *v)
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

void cmd_query_hotpluggable_cpus(struct qmp_call *c)
{
	const char *type = c->ops->cpu_type ? c->ops->cpu_type : "host-x86_64-cpu";
	struct json *list = json_new_array();
	for (unsigned k = qmp_cpu_slots(c->ops); k > 0 && list; k--) {
		unsigned i = k - 1;
		struct qmp_cpu_info ci = { .core_id = i };
		int rc = c->ops->cpu_info ? c->ops->cpu_info(c->opaque, i, &ci) : 0;
		if (rc != 0 && rc != -ENOENT)
			ci = (struct qmp_cpu_info){ .core_id = i };
		struct json *props = json_new_object();
		props = put(props, "socket-id", json_new_int(ci.socket_id));
		props = put(props, "core-id", json_new_int(ci.core_id));
		props = put(props, "thread-id", json_new_int(ci.thread_id_in_core));
		struct json *e = json_new_object();
		e = put(e, "type", json_new_str(type));
		e = put(e, "vcpus-count", json_new_int(1));
		e = put(e, "props", props);
		if (rc != -ENOENT) {
			char path[sizeof(ci.qom_path)];
			if (ci.qom_path[0])
				snprintf(path, sizeof(path), "%s", ci.qom_path);
			else
				snprintf(path, sizeof(path), "/machine/unattached/device[%u]", i);
			e = put(e, "qom-path", json_new_str(path));
		}
		if (json_array_add(list, e) != 0) { /* frees e */
			json_free(list);
			list = NULL;
		}
	}
	if (!list)
		qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
	c->ret = list;
}
