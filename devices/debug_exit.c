/* isa-debug-exit (QEMU hw/misc/debugexit.c semantics). */
#include "debug_exit.h"

#include <stdlib.h>
#include <string.h>

struct debug_exit {
	struct debug_exit_config cfg;
};

/* QEMU exits with (val << 1) | 1 where val is the access-sized value; the
 * process exit status keeps the low 8 bits of that, so do we, computing in
 * unsigned arithmetic (a 64-bit v would overflow an int shift). */
int debug_exit_status(uint64_t v, unsigned len)
{
	if (len < 8)
		v &= (1ull << (len * 8)) - 1;
	return (int)(((v << 1) | 1) & 0xff);
}

int debug_exit_access(void *dev, uint64_t offset, void *data, unsigned len,
		      bool is_write)
{
	struct debug_exit *d = dev;
	uint64_t v = 0;

	(void)offset;
	if (len > 8)
		len = 8;
	if (!is_write) {
		memset(data, 0, len);
		return 0;
	}
	memcpy(&v, data, len); /* little-endian host, as x86 */
	machine_request(&d->cfg.ctl, MACHINE_EXIT, debug_exit_status(v, len));
	return 0;
}

struct debug_exit *debug_exit_new(const struct debug_exit_config *cfg)
{
	struct debug_exit *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cfg = *cfg;
	if (!d->cfg.iosize)
		d->cfg.iosize = DEBUG_EXIT_DEFAULT_IOSIZE;
	return d;
}

void debug_exit_free(struct debug_exit *d)
{
	free(d);
}
