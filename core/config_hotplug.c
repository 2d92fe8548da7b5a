/* The machine description at run time: device_add appends a -device to
 * it and device_del's completion takes one out, so the description stays
 * what the running board holds and a rebuild (KVM's reset) includes the
 * hot-plugged set, as QEMU keeps it across system_reset. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_priv.h"

/* All or nothing: parse and check a copy, so a refusal leaves cfg as it
 * was (nothing half-added).  parse is the command line's handler for opt;
 * it must add exactly one entry to the list counted at count_off. */
int cfg_add_one(struct machine_config *cfg, const char *opt,
		int (*parse)(struct cfg_ctx *c, const char *arg), size_t count_off,
		const char *what, const char *arg, char *err, size_t errlen)
{
	struct machine_config *tmp = malloc(sizeof(*tmp));
	if (!tmp) {
		if (err && errlen)
			snprintf(err, errlen, "vmm: out of memory");
		return -1;
	}
	memcpy(tmp, cfg, sizeof(*tmp));
	struct cfg_ctx c = { .cfg = tmp, .err = err, .errlen = errlen,
			     .opt = opt, .accel_given = true,
			     .qmp_given = cfg->qmp_path[0] != '\0' };
	const unsigned *count = (const unsigned *)((const char *)tmp + count_off);
	unsigned before = *count;
	int r = parse(&c, arg);
	if (r == 0 && *count != before + 1)
		r = cfg_error(&c, "'%s' adds no single %s", arg, what);
	c.opt = NULL;
	if (r == 0)
		r = cfg_check(&c);
	if (r == 0)
		memcpy(cfg, tmp, sizeof(*tmp));
	free(tmp);
	return r;
}

int config_add_device(struct machine_config *cfg, const char *arg, char *err,
		      size_t errlen)
{
	return cfg_add_one(cfg, "-device", cfg_opt_device,
			   offsetof(struct machine_config, ndevices), "device", arg,
			   err, errlen);
}

int config_remove_device(struct machine_config *cfg, const char *id)
{
	const struct cfg_device *d = id && *id ? config_device(cfg, id) : NULL;
	if (!d)
		return -1;
	unsigned k = (unsigned)(d - cfg->devices);
	memmove(&cfg->devices[k], &cfg->devices[k + 1],
		(cfg->ndevices - k - 1) * sizeof(cfg->devices[0]));
	cfg->ndevices--;
	/* parent is an index into devices[]: the ones past k moved down. */
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].parent > (int)k)
			cfg->devices[i].parent--;
	return (int)k;
}
