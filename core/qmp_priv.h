/* Between the QMP session (framing, dispatch, replies) and the command
 * table (qmp_cmds.c).  Not a public interface: see qmp.h. */
#ifndef VMM_CORE_QMP_PRIV_H
#define VMM_CORE_QMP_PRIV_H

#include <stdbool.h>
#include "json.h"
#include "qmp.h"

/* QEMU's error classes (qapi/error.json ErrorClass). */
#define QMP_ERR_GENERIC "GenericError"
#define QMP_ERR_NOT_FOUND "CommandNotFound"
#define QMP_ERR_NOT_ACTIVE "DeviceNotActive"

struct qmp_call {
	const struct qmp_machine_ops *ops;
	void *opaque;
	bool *negotiated;
	const struct json *args; /* an object, or NULL when absent */
	struct qmp_fdtab *fds;   /* the monitor's named descriptors */
	struct qmp_session *sess;
	/* The latest descriptor received with this message, or -1 (QEMU's
	 * qemu_chr_fe_get_msgfd); the caller owns it. */
	int (*take_pending_fd)(struct qmp_session *s);
	const char *name;        /* the command being run */
	struct json *ret;        /* the handler's result; NULL means {} */
	const char *err_class;   /* set on failure, with desc */
	char desc[256];
};

void qmp_call_error(struct qmp_call *c, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define QMP_MAX_PARAMS 5

struct qmp_param {
	const char *name;
	enum json_type type;
	bool required;
};

struct qmp_cmd {
	const char *name;
	void (*fn)(struct qmp_call *c);
	struct qmp_param params[QMP_MAX_PARAMS];
};

/* Handlers in their own files. */
void cmd_getfd(struct qmp_call *c);
void cmd_closefd(struct qmp_call *c);
void cmd_query_qmp_schema(struct qmp_call *c);
void cmd_device_add(struct qmp_call *c);
void cmd_device_del(struct qmp_call *c);
void cmd_qom_get(struct qmp_call *c);
void cmd_query_hotpluggable_cpus(struct qmp_call *c);
/* CPU slots the CPU queries walk: max_cpus, at least ncpus (qmp_cpu.c). */
unsigned qmp_cpu_slots(const struct qmp_machine_ops *ops);
void cmd_netdev_add(struct qmp_call *c);
void cmd_netdev_del(struct qmp_call *c);
void cmd_blockdev_add(struct qmp_call *c);
void cmd_blockdev_del(struct qmp_call *c);
void cmd_chardev_add(struct qmp_call *c);
void cmd_chardev_remove(struct qmp_call *c);
void cmd_query_machine(struct qmp_call *c); /* query-pci/-block/-chardev */
/* qmp_migrate.c */
void cmd_migrate(struct qmp_call *c);
void cmd_migrate_incoming(struct qmp_call *c);
void cmd_query_migrate(struct qmp_call *c);
void cmd_migrate_set_capabilities(struct qmp_call *c);
void cmd_query_migrate_capabilities(struct qmp_call *c);
/* Memory hot-plug commands (qmp_mem.c); object-add and qom-set check
 * their own arguments, as device_add does. */
void cmd_object_add(struct qmp_call *c);
void cmd_object_del(struct qmp_call *c);
void cmd_query_memory_devices(struct qmp_call *c);
void cmd_qom_set(struct qmp_call *c);
/* device_add's arguments as a -device option string (qmp_device.c). */
int qmp_args_to_opts(const struct json *args, struct json_buf *b, char *err, size_t errlen);

/* The command table, for query-commands and query-qmp-schema. */
size_t qmp_cmd_count(void);
const struct qmp_cmd *qmp_cmd_at(size_t i);
/* The events this VMM emits (query-qmp-schema lists exactly these). */
extern const char *const qmp_event_names[];

const struct qmp_cmd *qmp_cmd_find(const char *name);
/* Check c->args against cmd's parameters (QEMU's wording); then run. */
void qmp_cmd_run(const struct qmp_cmd *cmd, struct qmp_call *c);

/* 0 or -EINVAL: name is a QAPI event name, data_json NULL or an object. */
int qmp_event_validate(const char *name, const char *data_json);

#endif
