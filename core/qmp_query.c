/* query-pci, query-block, query-chardev (QEMU 7.2 qapi/pci.json,
 * block-core.json, char.json): the machine builds the reply from what it
 * holds (machine/board_query.c), shaped as QEMU's; a machine without the
 * op has none of them: an empty list. */
#include "qmp_priv.h"

void cmd_query_machine(struct qmp_call *c)
{
	struct json *out = NULL;
	struct qmp_err e = { 0 };
	if (!c->ops->query) {
		out = json_new_array();
	} else if (c->ops->query(c->opaque, c->name, &out, &e) != 0) {
		json_free(out);
		qmp_call_error(c, e.cls ? e.cls : QMP_ERR_GENERIC, "%s",
			       e.desc[0] ? e.desc : "query failed");
		return;
	}
	if (!out)
		qmp_call_error(c, QMP_ERR_GENERIC, "out of memory");
	c->ret = out;
}
