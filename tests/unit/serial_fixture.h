/* Shared by the 16550A UART unit tests (test_serial*.c): a simulator with
 * COM1 on its I/O bus, IRQ4 and the in-memory char backend, the register
 * offsets (NS16550A datasheet, table 2), and port/backend helpers.
 * static inline helpers only. */
#ifndef VMM_TESTS_SERIAL_FIXTURE_H
#define VMM_TESTS_SERIAL_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/chardev.h"
#include "devices/serial.h"
#include "sim/sim.h"

#define BASE SERIAL_COM1_BASE
#define RBR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

struct fx {
	struct sim *s;
	struct chr *chr;
	struct serial *ser;
};

static inline struct fx *fx_new(size_t out_limit, bool with_chr, bool record)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sim_config sc = { .record_events = record };

	assert_non_null(f);
	f->s = sim_new(&sc);
	assert_non_null(f->s);
	if (with_chr) {
		f->chr = chr_mem_new("ser", out_limit);
		assert_non_null(f->chr);
	}
	struct serial_config cfg = { .clk = f->s->m.clk,
				     .irq = irq_line(f->s->m.irqchip, 4),
				     .chr = f->chr };
	f->ser = serial_new(&cfg);
	assert_non_null(f->ser);
	assert_int_equal(bus_register(f->s->m.pio, BASE, SERIAL_NREGS,
				      serial_access, f->ser, "com1"), 0);
	return f;
}

static inline void fx_free(struct fx *f)
{
	serial_free(f->ser);
	if (f->chr)
		chr_close(f->chr);
	sim_free(f->s);
	free(f);
}

static inline int setup(void **state)
{
	*state = fx_new(0, true, false);
	return 0;
}

static inline int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static inline uint8_t in(struct fx *f, unsigned reg)
{
	return (uint8_t)sim_pio_read(f->s, (uint16_t)(BASE + reg), 1);
}

static inline void out(struct fx *f, unsigned reg, uint8_t v)
{
	sim_pio_write(f->s, (uint16_t)(BASE + reg), 1, v);
}

static inline int irq4(struct fx *f)
{
	return f->s->gsi_level[4];
}

static inline void push(struct fx *f, const char *str)
{
	size_t n = strlen(str);

	assert_int_equal(chr_mem_push_input(f->chr, (const uint8_t *)str, n), n);
}


#endif
