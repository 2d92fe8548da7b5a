/* Determinism: a randomized workload of bus accesses, guest-memory pokes
 * and clock steps on a few toy devices with timers, interrupts, MSIs and
 * DMA, driven by one seed, must give a byte-identical event log and digest
 * on every run; another seed must give another log.  The two machines of a
 * comparison run interleaved in one process, which also shows that no
 * state is shared between machines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/bus.h"
#include "core/gm.h"
#include "core/irq.h"
#include "sim/sim.h"

/* Toy 1 (PIO 0x100..0x107): an accumulator; a write adds to it and arms a
 * one-shot timer "value % 5000" ns out which pulses GSI 5 and DMAs the
 * accumulator into guest memory at 0x1000. */
struct acc {
	struct machine *m;
	uint64_t sum;
	struct clk_timer t;
	struct irq line;
	unsigned fired;
};

static void acc_fire(void *arg, uint64_t now)
{
	struct acc *a = arg;
	a->fired++;
	gm_write_u64le(a->m->gm, 0x1000, a->sum ^ now);
	irq_pulse(&a->line);
}

static int acc_access(void *dev, uint64_t off, void *data, unsigned len, bool w)
{
	struct acc *a = dev;
	uint64_t v = 0;
	if (w) {
		memcpy(&v, data, len);
		a->sum += v;
		clk_timer_arm(a->m->clk, &a->t, clk_now_ns(a->m->clk) + v % 5000);
	} else {
		v = a->sum >> (8 * off);
		memcpy(data, &v, len);
	}
	return 0;
}

/* Toy 2 (MMIO 0xd0000000, 0x100): register 0 is a periodic timer period
 * (0 stops it); each tick raises an MSI with a counter and reads a word of
 * guest memory it folds into a checksum register (8); register 16 returns
 * bytes from the machine's seeded PRNG (an entropy device). */
struct ticker {
	struct machine *m;
	uint64_t period, ticks, csum;
	struct clk_timer t;
};

static void tick_fire(void *arg, uint64_t now)
{
	struct ticker *k = arg;
	uint64_t w = 0;
	k->ticks++;
	if (gm_read_u64le(k->m->gm, (k->ticks * 64) & 0xffff, &w) == 0)
		k->csum = k->csum * 31 + w;
	irq_msi(k->m->irqchip, 0xfee00000, (uint32_t)k->ticks);
	if (k->period)
		clk_timer_arm(k->m->clk, &k->t, now + k->period);
}

static int tick_access(void *dev, uint64_t off, void *data, unsigned len, bool w)
{
	struct ticker *k = dev;
	uint64_t v = 0;
	if (w) {
		memcpy(&v, data, len);
		if (off != 0)
			return -EINVAL;
		k->period = v % 20000;
		if (k->period)
			clk_timer_arm(k->m->clk, &k->t, clk_now_ns(k->m->clk) + k->period);
		else
			clk_timer_cancel(k->m->clk, &k->t);
		return 0;
	}
	switch (off) {
	case 0: v = k->period; break;
	case 8: v = k->csum; break;
	case 16: v = prng_next(&k->m->prng); break;
	default: v = k->ticks; break;
	}
	memcpy(data, &v, len);
	return 0;
}

/* Toy 3 (PIO 0x200, 1 byte): a level-triggered line: writes set GSI 7 to
 * bit 0 of the value. */
struct lvl {
	struct irq line;
	uint8_t level;
};

static int lvl_access(void *dev, uint64_t off, void *data, unsigned len, bool w)
{
	(void)off;
	(void)len;
	struct lvl *l = dev;
	if (w) {
		l->level = *(uint8_t *)data & 1;
		irq_set_level(&l->line, l->level);
	} else {
		*(uint8_t *)data = l->level;
	}
	return 0;
}

struct run {
	struct sim *s;
	struct prng drv; /* the "guest": its own seeded stream */
	struct acc acc;
	struct ticker tick;
	struct lvl lvl;
};

static struct run *run_new(uint64_t seed)
{
	struct run *r = calloc(1, sizeof(*r));
	struct sim_config cfg = { .ram_size = 1 << 16, .seed = seed, .record_events = true };
	r->s = sim_new(&cfg);
	assert_non_null(r->s);
	struct machine *m = &r->s->m;
	prng_seed(&r->drv, seed ^ 0x5eed);
	r->acc.m = m;
	r->acc.line = irq_line(m->irqchip, 5);
	clk_timer_init(&r->acc.t, acc_fire, &r->acc);
	r->tick.m = m;
	clk_timer_init(&r->tick.t, tick_fire, &r->tick);
	r->lvl.line = irq_line(m->irqchip, 7);
	assert_int_equal(bus_register(m->pio, 0x100, 8, acc_access, &r->acc, "acc"), 0);
	assert_int_equal(bus_register(m->mmio, 0xd0000000, 0x100, tick_access, &r->tick, "tick"), 0);
	assert_int_equal(bus_register(m->pio, 0x200, 1, lvl_access, &r->lvl, "lvl"), 0);
	return r;
}

static void run_free(struct run *r)
{
	clk_timer_cancel(r->s->m.clk, &r->acc.t);
	clk_timer_cancel(r->s->m.clk, &r->tick.t);
	sim_free(r->s);
	free(r);
}

static const unsigned lens[4] = { 1, 2, 4, 8 };

/* One step of the guest's random program. */
static void run_step(struct run *r)
{
	struct sim *s = r->s;
	struct prng *p = &r->drv;
	unsigned len = lens[prng_below(p, 4)];
	switch (prng_below(p, 8)) {
	case 0:
		sim_pio_write(s, (uint16_t)(0x100 + prng_below(p, 10)), len, prng_next(p));
		break;
	case 1:
		sim_pio_read(s, (uint16_t)(0x100 + prng_below(p, 10)), len);
		break;
	case 2:
		sim_mmio_write(s, 0xd0000000 + 8 * prng_below(p, 3), len, prng_next(p));
		break;
	case 3:
		sim_mmio_read(s, 0xd0000000 + 8 * prng_below(p, 4), len);
		break;
	case 4:
		sim_pio_write(s, 0x200, 1, prng_next(p));
		break;
	case 5: {
		uint8_t buf[32];
		prng_fill(p, buf, sizeof(buf));
		gm_write(s->m.gm, prng_below(p, 1 << 16), buf, prng_below(p, 33));
		break;
	}
	case 6:
		/* Unclaimed accesses are part of the log too. */
		sim_mmio_read(s, prng_next(p), len);
		break;
	default:
		sim_clock_step(s, prng_below(p, 30000));
		break;
	}
}

enum { STEPS = 4000 };

static void test_same_seed_same_log(void **state)
{
	(void)state;
	struct run *a = run_new(42), *b = run_new(42);
	for (int i = 0; i < STEPS; i++) {
		run_step(a);
		run_step(b);
	}
	sim_clock_step(a->s, 1000000);
	sim_clock_step(b->s, 1000000);
	/* The workload really did exercise timers, interrupts and MSIs. */
	assert_true(a->acc.fired > 50);
	assert_true(a->tick.ticks > 50);
	assert_true(a->s->gsi_edges[5] > 50);
	assert_true(a->s->gsi_edges[7] > 50);
	assert_true(a->s->msi_count > 50);
	assert_true(bus_unclaimed_count(a->s->m.mmio) > 50);
	assert_true(sim_event_count(a->s) > STEPS);
	assert_int_equal(sim_event_count(a->s), sim_event_count(b->s));
	assert_memory_equal(sim_events(a->s), sim_events(b->s),
			    sim_event_count(a->s) * sizeof(struct sim_event));
	assert_int_equal(sim_digest(a->s), sim_digest(b->s));
	assert_int_equal(a->s->now_ns, b->s->now_ns);
	run_free(a);
	run_free(b);
}

static void test_other_seed_other_log(void **state)
{
	(void)state;
	struct run *a = run_new(42), *b = run_new(43);
	for (int i = 0; i < STEPS; i++) {
		run_step(a);
		run_step(b);
	}
	assert_int_not_equal(sim_digest(a->s), sim_digest(b->s));
	size_t n = sim_event_count(a->s) < sim_event_count(b->s) ?
		   sim_event_count(a->s) : sim_event_count(b->s);
	assert_true(n > 0);
	assert_true(sim_event_count(a->s) != sim_event_count(b->s) ||
		    memcmp(sim_events(a->s), sim_events(b->s),
			   n * sizeof(struct sim_event)) != 0);
	run_free(a);
	run_free(b);
}

/* A digest recorded for seed 42 must not drift when the machine is built
 * again later in the same process (no hidden global state carried over). */
static void test_rerun_after_other_machine(void **state)
{
	(void)state;
	struct run *a = run_new(7);
	for (int i = 0; i < STEPS / 4; i++)
		run_step(a);
	uint64_t d1 = sim_digest(a->s);
	run_free(a);
	struct run *noise = run_new(8);
	for (int i = 0; i < STEPS / 4; i++)
		run_step(noise);
	struct run *c = run_new(7);
	for (int i = 0; i < STEPS / 4; i++)
		run_step(c);
	assert_int_equal(sim_digest(c->s), d1);
	run_free(noise);
	run_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_log),
		cmocka_unit_test(test_other_seed_other_log),
		cmocka_unit_test(test_rerun_after_other_machine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
