/* Shared by the i8254 PIT unit tests (test_pit*.c): a simulator with the
 * PIT on its I/O bus (ports 0x40-0x43 and 0x61) and IRQ0 recorded, tick
 * <-> ns conversion at PIT_FREQ_HZ, and port helpers to program and latch
 * a channel.  static inline helpers only. */
#ifndef VMM_TESTS_PIT_FIXTURE_H
#define VMM_TESTS_PIT_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "devices/pit.h"
#include "sim/sim.h"
#include "sim_fixture.h"

#define F PIT_FREQ_HZ

struct fx {
	struct sim *s;
	struct pit *pit;
	struct simfx_rec rec;
};

static inline struct fx *fx_new(enum pit_lost_tick policy, bool record)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->s = simfx_sim_new(&f->rec, record);
	struct pit_config pc = { .clk = f->s->m.clk,
				 .irq = irq_line(&f->rec.chip, 0),
				 .lost_tick_policy = policy };
	f->pit = pit_new(&pc);
	assert_non_null(f->pit);
	simfx_pio_register(f->s, PIT_PORT_BASE, PIT_NPORTS, pit_access, f->pit,
			   "pit");
	simfx_pio_register(f->s, PIT_PORT61, 1, pit_port61_access, f->pit,
			   "port61");
	return f;
}

static inline void fx_free(struct fx *f)
{
	pit_free(f->pit);
	sim_free(f->s);
	free(f);
}

static inline int setup(void **state)
{
	*state = fx_new(PIT_LOST_TICK_DELAY, false);
	return 0;
}

static inline int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static inline uint64_t ticks_at(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * F / 1000000000u);
}

/* First ns at which tick k has happened. */
static inline uint64_t tick_ns(uint64_t k)
{
	return (uint64_t)(((unsigned __int128)k * 1000000000u + F - 1) / F);
}

static inline void out8(struct fx *f, uint16_t port, uint8_t v)
{
	sim_pio_write(f->s, port, 1, v);
}

static inline uint8_t in8(struct fx *f, uint16_t port)
{
	return (uint8_t)sim_pio_read(f->s, port, 1);
}

/* Program channel ch: control word, then the count per rw mode. */
static inline void program(struct fx *f, unsigned ch, unsigned rw, unsigned mode,
		    unsigned bcd, uint16_t count)
{
	out8(f, 0x43, (uint8_t)(ch << 6 | rw << 4 | mode << 1 | bcd));
	if (rw & 1)
		out8(f, (uint16_t)(0x40 + ch), (uint8_t)count);
	if (rw & 2)
		out8(f, (uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

static inline uint16_t latch_read(struct fx *f, unsigned ch)
{
	uint16_t v;

	out8(f, 0x43, (uint8_t)(ch << 6)); /* counter latch */
	v = in8(f, (uint16_t)(0x40 + ch));
	v |= (uint16_t)(in8(f, (uint16_t)(0x40 + ch)) << 8);
	return v;
}

/* Advance virtual time to exactly t. */
static inline void step_to(struct fx *f, uint64_t t)
{
	simfx_step_to(f->s, t);
}

#endif
