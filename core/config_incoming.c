/* -incoming (QEMU's docs/devel/migration.rst, qemu-options.hx): start
 * from a saved state instead of booting.  vmm reads its own stream
 * (docs/snapshot.md) from three sources:
 *   defer       wait, vCPUs stopped, for QMP migrate-incoming {"uri": ...}
 *   exec:CMD    the stdout of `/bin/sh -c CMD` (Kata: "exec:cat FILE")
 *   file:PATH   a file
 * tcp:, unix:, fd: and rdma: (QEMU's network transports) are refused:
 * accepting one and never listening would be worse. */
#include <string.h>

#include "config_priv.h"

int cfg_opt_incoming(struct cfg_ctx *c, const char *arg)
{
	struct machine_config *cfg = c->cfg;
	if (cfg->incoming != CFG_INCOMING_NONE)
		return cfg_error(c, "given twice");
	const char *rest = NULL;
	enum cfg_incoming kind = CFG_INCOMING_NONE;
	if (strcmp(arg, "defer") == 0) {
		kind = CFG_INCOMING_DEFER;
		rest = "";
	} else if (strncmp(arg, "exec:", 5) == 0) {
		kind = CFG_INCOMING_EXEC;
		rest = arg + 5;
	} else if (strncmp(arg, "file:", 5) == 0) {
		kind = CFG_INCOMING_FILE;
		rest = arg + 5;
	} else {
		return cfg_error(c, "'%.100s': vmm reads a saved state from defer, "
				 "exec:CMD or file:PATH only", arg);
	}
	if (kind != CFG_INCOMING_DEFER && !rest[0])
		return cfg_error(c, "'%.100s': the %s is empty", arg,
				 kind == CFG_INCOMING_EXEC ? "command" : "path");
	if (strlen(rest) >= sizeof(cfg->incoming_arg))
		return cfg_error(c, "too long (at most %zu bytes)",
				 sizeof(cfg->incoming_arg) - 1);
	cfg->incoming = kind;
	strcpy(cfg->incoming_arg, rest);
	return 0;
}

int cfg_check_incoming(struct cfg_ctx *c)
{
	const struct machine_config *cfg = c->cfg;
	if (cfg->incoming == CFG_INCOMING_NONE)
		return 0;
	c->opt = "-incoming";
	if (cfg->machine.accel == CFG_ACCEL_SIM)
		return cfg_error(c, "needs accel=kvm (the simulator restores through "
				 "its own tests, not a command line)");
	/* Only QMP migrate-incoming ends the wait. */
	if (cfg->incoming == CFG_INCOMING_DEFER && !cfg->qmp_path[0] && !cfg->qmp_has_fd)
		return cfg_error(c, "defer needs -qmp: only QMP migrate-incoming "
				 "names the source");
	c->opt = NULL;
	return 0;
}
