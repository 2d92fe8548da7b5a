/* isa-debug-exit, QEMU's test-guest exit port: -device
 * isa-debug-exit,iobase=0xf4,iosize=0x04.  A guest write of value v asks
 * the machine to exit with status (v << 1) | 1, exactly as QEMU does, so
 * test guests written for QEMU run unchanged (a guest cannot produce exit
 * status 0, which tells "the guest said so" from a clean VMM exit).  Reads
 * return 0, as in QEMU. */
#ifndef VMM_DEVICES_DEBUG_EXIT_H
#define VMM_DEVICES_DEBUG_EXIT_H

#include <stdbool.h>
#include <stdint.h>
#include "core/machine.h"

/* QEMU's defaults. */
#define DEBUG_EXIT_DEFAULT_IOBASE 0x501
#define DEBUG_EXIT_DEFAULT_IOSIZE 0x02

struct debug_exit;

struct debug_exit_config {
	uint16_t iobase, iosize;  /* the board registers this range */
	struct machine_ctl ctl;
};

struct debug_exit *debug_exit_new(const struct debug_exit_config *cfg);
void debug_exit_free(struct debug_exit *d);

/* The exit status a write of v (len bytes) requests. */
int debug_exit_status(uint64_t v, unsigned len);

/* bus_access_fn for [iobase, iobase + iosize). */
int debug_exit_access(void *dev, uint64_t offset, void *data, unsigned len,
		      bool is_write);

#endif
