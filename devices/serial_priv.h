/* Private to devices/serial*.c: the 16550A state, shared by the model
 * (serial.c) and its snapshot (serial_snap.c).  Users include serial.h
 * only. */
#ifndef VMM_DEVICES_SERIAL_PRIV_H
#define VMM_DEVICES_SERIAL_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "core/clk.h"
#include "core/log.h"
#include "serial.h"

#define FIFO_SIZE 16u

struct fifo {
	uint8_t buf[FIFO_SIZE];
	unsigned head, count;
};

struct serial {
	struct serial_config cfg;
	struct clk_timer cti_timer;
	struct fifo rx, tx;
	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint16_t divisor;
	bool thr_ipending; /* THRE interrupt latched until IIR read/THR write */
	bool cti_pending;  /* character timeout indication */
	bool in_flush;     /* chr_write -> writable -> flush re-entry guard */
	int irq_level;
	struct log_rl rl;
};

#endif
