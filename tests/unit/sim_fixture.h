/* Shared by the platform-device unit tests that run a device on the
 * simulator (test_pit*.c, test_rtc*.c): an IRQ line recorder that notes
 * the virtual time of every rising edge and forwards the line to the
 * simulator's interrupt controller, the simulator such a fixture starts
 * from, port registration, and stepping virtual time to an exact instant.
 * static inline helpers only. */
#ifndef VMM_TESTS_SIM_FIXTURE_H
#define VMM_TESTS_SIM_FIXTURE_H

#include "core/bus.h"
#include "core/irq.h"
#include "sim/sim.h"

#define SIMFX_MAX_EDGES 4096

struct simfx_rec {
	struct sim *s;
	struct irq_chip chip;
	uint64_t t[SIMFX_MAX_EDGES]; /* edge times; n may run past the end */
	size_t n;
	int level;
};

static inline void simfx_rec_set_level(void *o, unsigned gsi, int level)
{
	struct simfx_rec *r = o;

	if (level && !r->level) {
		if (r->n < SIMFX_MAX_EDGES)
			r->t[r->n] = r->s->now_ns;
		r->n++;
	}
	r->level = level;
	r->s->m.irqchip->ops->set_level(r->s->m.irqchip->opaque, gsi, level);
}

static const struct irq_chip_ops simfx_rec_ops = {
	.set_level = simfx_rec_set_level
};

/* Record the lines of r->chip (irq_line(&r->chip, gsi)) on sim s. */
static inline void simfx_rec_init(struct simfx_rec *r, struct sim *s)
{
	r->s = s;
	r->chip = (struct irq_chip){ &simfx_rec_ops, r };
}

/* A new simulator (keeping its event record if `record`) whose device IRQ
 * lines are to go through rec: the start of every platform-device fixture. */
static inline struct sim *simfx_sim_new(struct simfx_rec *rec, bool record)
{
	struct sim_config sc = { .record_events = record };
	struct sim *s = sim_new(&sc);

	assert_non_null(s);
	simfx_rec_init(rec, s);
	return s;
}

/* Put a device's ports [base, base+n) on the simulator's I/O bus. */
static inline void simfx_pio_register(struct sim *s, uint16_t base, uint16_t n,
				      bus_access_fn fn, void *opaque,
				      const char *name)
{
	assert_int_equal(bus_register(s->m.pio, base, n, fn, opaque, name), 0);
}

/* Advance virtual time to exactly t. */
static inline void simfx_step_to(struct sim *s, uint64_t t)
{
	assert_true(t >= s->now_ns);
	sim_clock_step(s, t - s->now_ns);
}

#endif
