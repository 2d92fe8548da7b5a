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
	struct json *ret;        /* the handler's result; NULL means {} */
	const char *err_class;   /* set on failure, with desc */
	char desc[256];
};

void qmp_call_error(struct qmp_call *c, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define QMP_MAX_PARAMS 2

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

const struct qmp_cmd *qmp_cmd_find(const char *name);
/* Check c->args against cmd's parameters (QEMU's wording); then run. */
void qmp_cmd_run(const struct qmp_cmd *cmd, struct qmp_call *c);

/* 0 or -EINVAL: name is a QAPI event name, data_json NULL or an object. */
int qmp_event_validate(const char *name, const char *data_json);

#endif
