/* Private to devices/pit*.c: one 8254 counter as a pure function of the
 * ticks since its counting element was loaded (pit_chan.c), used by the
 * device (pit.c: ports, port 0x61, IRQ0 scheduling).  Users include
 * pit.h only. */
#ifndef VMM_DEVICES_PIT_PRIV_H
#define VMM_DEVICES_PIT_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "pit.h"

#define NS_PER_SEC 1000000000ull

/* Control word (datasheet Figure 8). */
#define CW_SC_SHIFT 6
#define CW_RW_SHIFT 4
#define CW_RW_LATCH 0
#define CW_RW_LSB 1
#define CW_RW_MSB 2
#define CW_RW_WORD 3
#define CW_READBACK 3 /* SC = 11 */
#define RB_NO_COUNT 0x20
#define RB_NO_STATUS 0x10
#define ST_OUT 0x80
#define ST_NULL 0x40

struct pit_chan {
	uint8_t mode;      /* effective mode 0-5 */
	uint8_t mode_raw;  /* M2-M0 as written (6/7 alias 2/3), for status */
	uint8_t rw, bcd;
	bool gate;
	bool loaded;       /* a count has been loaded since the control word */
	bool running;      /* the counting element is counting */
	bool triggered;    /* modes 1/5: a gate trigger started counting */
	bool null_count;
	bool wr_msb, rd_msb; /* word access flip-flops */
	uint8_t wr_lsb;
	uint32_t n;        /* count in the counting element: 1..65536/10000 */
	uint32_t n_cr;     /* count register, decoded: used at next (re)load */
	uint64_t load_tick;
	uint64_t d_frozen; /* ticks counted when not running */
	uint16_t ce_stale; /* what the counter shows before any count */
	bool pend;         /* modes 2/3: n_cr takes over at pend_tick */
	uint64_t pend_tick;
	bool count_latched, status_latched;
	uint16_t latch;
	uint8_t status;
	/* Channel 0 edge accounting (IRQ0). */
	uint64_t k_done;   /* rising edges delivered in the current load */
	uint64_t owed;     /* edges of a previous load not yet delivered */
};

/* PIT input clock ticks <-> nanoseconds (PIT_FREQ_HZ). */
uint64_t pit_ticks_at(uint64_t ns);
uint64_t pit_tick_ns(uint64_t k);

/* Counter state at tick t (d = ticks counted since the load). */
uint64_t pit_chan_d(const struct pit_chan *c, uint64_t t);
uint64_t pit_chan_edges(const struct pit_chan *c, uint64_t d);
uint64_t pit_chan_next_edge(const struct pit_chan *c, uint64_t d);
int pit_chan_out(const struct pit_chan *c, uint64_t t);
void pit_chan_sync(struct pit_chan *c, uint64_t t);

/* Guest programming: control word, count writes, reads and latches,
 * channel 2's gate (datasheet "Operation"). */
void pit_chan_control(struct pit_chan *c, uint8_t cw, uint64_t t);
void pit_chan_latch_count(struct pit_chan *c, uint64_t t);
void pit_chan_latch_status(struct pit_chan *c, uint64_t t);
uint8_t pit_chan_read(struct pit_chan *c, uint64_t t);
void pit_chan_set_gate(struct pit_chan *c, bool gate, uint64_t t);
void pit_chan_write(struct pit_chan *c, uint8_t b, uint64_t t);
void pit_chan_write_count(struct pit_chan *c, uint16_t v, uint64_t t);

#endif
