/* -daemonize changes directory to "/" (so the daemon holds no mount
 * busy), yet files named on the command line are opened afterwards, some
 * of them again on every guest reset (kernel, initrd, nvdimm images).
 * QEMU opens them all before its chdir, so a relative path means the
 * starting directory; we get the same meaning by making every relative
 * path absolute before the chdir. */
#include <stdio.h>
#include <string.h>
#include "config.h"

static int cfg_abs(char *path, const char *cwd, const char *what, char *err,
		   size_t errlen)
{
	char buf[CFG_PATH_MAX];
	if (!path[0] || path[0] == '/')
		return 0;
	int n = snprintf(buf, sizeof(buf), "%s/%s", cwd, path);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		snprintf(err, errlen, "vmm: -daemonize: %s '%s' in '%s' is longer "
			 "than %d characters as an absolute path (give it "
			 "absolute and shorter)", what, path, cwd,
			 CFG_PATH_MAX - 1);
		return -1;
	}
	memcpy(path, buf, (size_t)n + 1);
	return 0;
}

int config_absolute_paths(struct machine_config *cfg, const char *cwd,
			  char *err, size_t errlen)
{
	struct { char *p; const char *what; } one[] = {
		{ cfg->kernel, "-kernel" }, { cfg->initrd, "-initrd" },
		{ cfg->mem.mem_path, "-mem-path" }, { cfg->qmp_path, "-qmp" },
		{ cfg->pidfile, "-pidfile" }, { cfg->logfile, "-D" },
		{ cfg->dump_dtb, "-dump-dtb" },
		{ cfg->trace_record, "-trace-record" },
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (cfg_abs(one[i].p, cwd, one[i].what, err, errlen) < 0)
			return -1;
	for (unsigned i = 0; i < cfg->nobjects; i++)
		if (cfg_abs(cfg->objects[i].mem_path, cwd, "mem-path", err, errlen) < 0 ||
		    cfg_abs(cfg->objects[i].filename, cwd, "filename", err, errlen) < 0)
			return -1;
	for (unsigned i = 0; i < cfg->ndrives; i++)
		if (cfg_abs(cfg->drives[i].file, cwd, "-drive file", err, errlen) < 0)
			return -1;
	for (unsigned i = 0; i < cfg->nchardevs; i++)
		if ((cfg->chardevs[i].type == CFG_CHR_FILE ||
		     cfg->chardevs[i].type == CFG_CHR_SOCKET) &&
		    cfg_abs(cfg->chardevs[i].path, cwd, "-chardev path", err, errlen) < 0)
			return -1;
	for (unsigned i = 0; i < cfg->nserial; i++)
		if ((cfg->serial[i].type == CFG_SERIAL_FILE ||
		     cfg->serial[i].type == CFG_SERIAL_SOCKET) &&
		    cfg_abs(cfg->serial[i].arg, cwd, "-serial", err, errlen) < 0)
			return -1;
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (cfg_abs(cfg->devices[i].vsock_uds, cwd, "uds", err, errlen) < 0)
			return -1;
	return 0;
}
