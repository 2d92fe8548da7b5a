/* sim: machine wiring, virtual clock order, irq recorder, MSI, machine
 * requests, bus observer, waits, event log and digest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include "core/bus.h"
#include "core/gm.h"
#include "core/log.h"
#include "sim/sim.h"

static struct sim *mk(bool rec)
{
	struct sim_config cfg = { .ram_size = 1 << 20, .seed = 1, .record_events = rec };
	struct sim *s = sim_new(&cfg);
	assert_non_null(s);
	return s;
}

static void test_wiring(void **state)
{
	(void)state;
	struct sim *s = sim_new(NULL); /* defaults: 64 MiB */
	assert_non_null(s);
	assert_int_equal(gm_region_count(s->m.gm), 1);
	assert_int_equal(gm_region_at(s->m.gm, 0)->gpa, 0);
	assert_int_equal(gm_region_at(s->m.gm, 0)->size, 64ull << 20);
	assert_non_null(s->m.pio);
	assert_non_null(s->m.mmio);
	assert_string_equal(bus_name(s->m.pio), "pio");
	assert_non_null(s->m.irqchip);
	assert_non_null(s->m.clk);
	assert_null(s->m.loop);
	assert_int_equal(clk_now_ns(s->m.clk), 0);
	assert_int_equal(s->last_request, MACHINE_RUNNING);
	assert_int_equal(sim_next_deadline(s), UINT64_MAX);
	/* RAM is zeroed and writable. */
	uint32_t v = 1;
	assert_int_equal(gm_read_u32le(s->m.gm, (64 << 20) - 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(gm_read_u32le(s->m.gm, 64 << 20, &v), -EFAULT);
	/* Lock usable. */
	assert_int_equal(pthread_mutex_lock(&s->m.lock), 0);
	pthread_mutex_unlock(&s->m.lock);
	sim_free(s);
	sim_free(NULL);
}

static void test_too_much_ram(void **state)
{
	(void)state;
	struct log *log = log_new_memory(LOG_ERROR);
	struct sim_config cfg = { .ram_size = UINT64_MAX, .log = log };
	assert_null(sim_new(&cfg));
	assert_non_null(strstr(log_memory_text(log), "cannot create"));
	log_free(log);
}

struct tfire;
struct ttimer {
	struct clk_timer t;
	int idx;
	struct tfire *f;
};

struct tfire {
	struct sim *s;
	struct ttimer t[4];
	int order[16];
	uint64_t at[16];
	int n;
	bool rearm_chain;
};

static void fire(void *arg, uint64_t now)
{
	struct ttimer *tt = arg;
	struct tfire *f = tt->f;
	assert_int_equal(clk_now_ns(f->s->m.clk), now);
	f->order[f->n] = tt->idx;
	f->at[f->n] = now;
	f->n++;
	/* Timer 0 re-arms itself once, 10 ns later (within the step). */
	if (tt->idx == 0 && f->rearm_chain) {
		f->rearm_chain = false;
		clk_timer_arm(f->s->m.clk, &tt->t, now + 10);
	}
}

static void test_clock_order(void **state)
{
	(void)state;
	struct sim *s = mk(true);
	struct tfire f;
	memset(&f, 0, sizeof(f));
	f.s = s;
	for (int i = 0; i < 4; i++) {
		f.t[i].idx = i;
		f.t[i].f = &f;
		clk_timer_init(&f.t[i].t, fire, &f.t[i]);
	}
	clk_timer_arm(s->m.clk, &f.t[2].t, 300);
	clk_timer_arm(s->m.clk, &f.t[0].t, 100);
	clk_timer_arm(s->m.clk, &f.t[3].t, 100); /* tie: after t0 */
	clk_timer_arm(s->m.clk, &f.t[1].t, 5000);
	f.rearm_chain = true;
	assert_int_equal(sim_next_deadline(s), 100);
	sim_clock_step(s, 99);
	assert_int_equal(f.n, 0);
	assert_int_equal(s->now_ns, 99);
	sim_clock_step(s, 301);
	assert_int_equal(s->now_ns, 400);
	/* t0@100, t3@100, t0 again @110 (armed by itself), t2@300. */
	assert_int_equal(f.n, 4);
	int want[4] = { 0, 3, 0, 2 };
	uint64_t want_at[4] = { 100, 100, 110, 300 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(f.order[i], want[i]);
		assert_int_equal(f.at[i], want_at[i]);
	}
	/* Cancel, and an arm in the past fires at the next step at "now". */
	clk_timer_cancel(s->m.clk, &f.t[1].t);
	clk_timer_arm(s->m.clk, &f.t[2].t, 5);
	assert_int_equal(sim_next_deadline(s), 400);
	sim_clock_step(s, 0);
	assert_int_equal(f.n, 5);
	assert_int_equal(f.at[4], 400);
	sim_clock_step(s, 10000);
	assert_int_equal(f.n, 5);
	/* Saturating step. */
	sim_clock_step(s, UINT64_MAX);
	assert_int_equal(s->now_ns, UINT64_MAX);
	/* Timer firings are in the event log. */
	size_t timers = 0;
	for (size_t i = 0; i < sim_event_count(s); i++)
		timers += sim_events(s)[i].kind == SIM_EV_TIMER;
	assert_int_equal(timers, 5);
	sim_free(s);
}

static void test_irq_recorder(void **state)
{
	(void)state;
	struct log *log = log_new_memory(LOG_WARN);
	struct sim_config cfg = { .ram_size = 4096, .record_events = true, .log = log };
	struct sim *s = sim_new(&cfg);
	struct irq line = irq_line(s->m.irqchip, 5);
	irq_set_level(&line, 1);
	irq_set_level(&line, 1); /* no new edge */
	assert_int_equal(s->gsi_level[5], 1);
	assert_int_equal(s->gsi_edges[5], 1);
	irq_set_level(&line, 0);
	irq_pulse(&line);
	assert_int_equal(s->gsi_level[5], 0);
	assert_int_equal(s->gsi_edges[5], 2);
	assert_int_equal(irq_msi(s->m.irqchip, 0xfee01000, 0x31), 0);
	assert_int_equal(s->msi_count, 1);
	assert_int_equal(s->last_msi_addr, 0xfee01000);
	assert_int_equal(s->last_msi_data, 0x31);
	/* Out-of-range GSI: recorded, warned, not stored. */
	struct irq bad = irq_line(s->m.irqchip, 1000);
	irq_set_level(&bad, 1);
	assert_non_null(strstr(log_memory_text(log), "GSI 1000"));
	assert_int_equal(sim_event_count(s), 7);
	const struct sim_event *e = sim_events(s);
	assert_int_equal(e[0].kind, SIM_EV_IRQ);
	assert_int_equal(e[0].addr, 5);
	assert_int_equal(e[0].len_or_level, 1);
	assert_int_equal(e[2].len_or_level, 0);
	assert_int_equal(e[5].kind, SIM_EV_MSI);
	assert_int_equal(e[5].data, 0x31);
	sim_free(s);
	log_free(log);
}

static void test_requests(void **state)
{
	(void)state;
	struct sim *s = mk(true);
	machine_request(&s->m.ctl, MACHINE_EXIT, 3);
	assert_int_equal(s->last_request, MACHINE_EXIT);
	assert_int_equal(s->last_request_status, 3);
	machine_request(&s->m.ctl, MACHINE_RESET, -1);
	assert_int_equal(s->last_request, MACHINE_RESET);
	assert_int_equal(s->last_request_status, -1);
	assert_int_equal(sim_event_count(s), 2);
	assert_int_equal(sim_events(s)[0].kind, SIM_EV_REQUEST);
	assert_int_equal(sim_events(s)[0].addr, MACHINE_EXIT);
	sim_free(s);
}

static int echo(void *dev, uint64_t off, void *data, unsigned len, bool is_write)
{
	uint64_t *reg = dev;
	if (is_write)
		memcpy(reg, data, len);
	else
		memcpy(data, reg, len);
	return off == 4 ? -EIO : 0;
}

static void test_bus_events(void **state)
{
	(void)state;
	struct sim *s = mk(true);
	uint64_t reg = 0;
	assert_int_equal(bus_register(s->m.pio, 0x510, 8, echo, &reg, "echo"), 0);
	assert_int_equal(bus_register(s->m.mmio, 0xd0000000, 8, echo, &reg, "echo"), 0);
	sim_clock_step(s, 7);
	sim_pio_write(s, 0x510, 2, 0xbeef);
	assert_int_equal(sim_pio_read(s, 0x510, 2), 0xbeef);
	sim_mmio_write(s, 0xd0000000, 4, 0x12345678);
	assert_int_equal(sim_mmio_read(s, 0xd0000000, 4), 0x12345678);
	/* The device's error is recorded; its data is what it left. */
	assert_int_equal(sim_mmio_read(s, 0xd0000004, 1), 0x78);
	assert_int_equal(sim_mmio_read(s, 0xe0000000, 4), 0xffffffff);
	const struct sim_event *e = sim_events(s);
	assert_int_equal(sim_event_count(s), 6);
	assert_int_equal(e[0].kind, SIM_EV_PIO);
	assert_int_equal(e[0].time_ns, 7);
	assert_int_equal(e[0].is_write, 1);
	assert_int_equal(e[0].data, 0xbeef);
	assert_int_equal(e[0].len_or_level, 2);
	assert_int_equal(e[1].is_write, 0);
	assert_int_equal(e[2].kind, SIM_EV_MMIO);
	assert_int_equal(e[3].data, 0x12345678);
	assert_int_equal((int)e[4].rc, -EIO);
	assert_int_equal((int)e[5].rc, -ENOENT);
	assert_int_equal(e[5].data, 0xffffffff);
	sim_events_clear(s);
	assert_int_equal(sim_event_count(s), 0);
	assert_int_equal(sim_events_dropped(s), 0);
	sim_free(s);
}

struct raiser {
	struct clk_timer t;
	struct irq line;
	struct irq_chip *chip;
	bool msi;
};

static void raise_fn(void *arg, uint64_t now)
{
	(void)now;
	struct raiser *r = arg;
	if (r->msi)
		irq_msi(r->chip, 0xfee00000, 0x41);
	else
		irq_pulse(&r->line);
}

static void test_wait(void **state)
{
	(void)state;
	struct sim *s = mk(false);
	struct raiser r = { .line = irq_line(s->m.irqchip, 9), .chip = s->m.irqchip };
	clk_timer_init(&r.t, raise_fn, &r);
	clk_timer_arm(s->m.clk, &r.t, 1000);
	/* Not within 500 ns: time advanced exactly by the bound. */
	assert_false(sim_wait_irq(s, 9, 500));
	assert_int_equal(s->now_ns, 500);
	/* An edge (pulse) counts even though the line is low again. */
	assert_true(sim_wait_irq(s, 9, 10000));
	assert_int_equal(s->now_ns, 1000);
	assert_false(sim_wait_irq(s, 9, 0));
	assert_false(sim_wait_irq(s, 300, 10));
	/* Level already high: immediate. */
	struct irq l3 = irq_line(s->m.irqchip, 3);
	irq_set_level(&l3, 1);
	assert_true(sim_wait_irq(s, 3, 0));
	r.msi = true;
	clk_timer_arm(s->m.clk, &r.t, 5000);
	assert_false(sim_wait_msi(s, 100));
	assert_true(sim_wait_msi(s, UINT64_MAX));
	assert_int_equal(s->now_ns, 5000);
	assert_int_equal(s->msi_count, 1);
	/* Without recording, no events are kept. */
	assert_int_equal(sim_event_count(s), 0);
	sim_free(s);
}

static void test_digest(void **state)
{
	(void)state;
	struct sim *a = mk(true), *b = mk(true);
	assert_int_equal(sim_digest(a), sim_digest(b));
	sim_pio_write(a, 0x80, 1, 1);
	assert_int_not_equal(sim_digest(a), sim_digest(b));
	sim_pio_write(b, 0x80, 1, 1);
	assert_int_equal(sim_digest(a), sim_digest(b));
	/* RAM is part of it. */
	assert_int_equal(gm_write_u8(a->m.gm, 0x1234, 1), 0);
	assert_int_not_equal(sim_digest(a), sim_digest(b));
	assert_int_equal(gm_write_u8(b->m.gm, 0x1234, 1), 0);
	assert_int_equal(sim_digest(a), sim_digest(b));
	/* Same bytes at a different offset give a different digest. */
	assert_int_equal(gm_write_u8(a->m.gm, 0x5000, 9), 0);
	assert_int_equal(gm_write_u8(b->m.gm, 0x6000, 9), 0);
	assert_int_not_equal(sim_digest(a), sim_digest(b));
	assert_int_equal(gm_write_u8(a->m.gm, 0x5000, 0), 0);
	assert_int_equal(gm_write_u8(b->m.gm, 0x6000, 0), 0);
	assert_int_equal(sim_digest(a), sim_digest(b));
	/* The last byte of RAM (a partial tail page elsewhere) counts. */
	assert_int_equal(gm_write_u8(a->m.gm, (1 << 20) - 1, 1), 0);
	assert_int_not_equal(sim_digest(a), sim_digest(b));
	assert_int_equal(gm_write_u8(a->m.gm, (1 << 20) - 1, 0), 0);
	/* A RAM size that is not whole pages: the tail counts too. */
	struct sim_config odd = { .ram_size = 5000 };
	struct sim *o = sim_new(&odd);
	uint64_t d0 = sim_digest(o);
	assert_int_equal(gm_write_u8(o->m.gm, 4999, 1), 0);
	assert_int_not_equal(sim_digest(o), d0);
	sim_free(o);
	/* So is time. */
	sim_clock_step(a, 1);
	assert_int_not_equal(sim_digest(a), sim_digest(b));
	sim_free(a);
	sim_free(b);
}

static void test_event_bound(void **state)
{
	(void)state;
	struct sim *s = mk(true);
	for (unsigned i = 0; i < SIM_MAX_EVENTS + 10; i++)
		sim_pio_write(s, 0x80, 1, i);
	assert_int_equal(sim_event_count(s), SIM_MAX_EVENTS);
	assert_int_equal(sim_events_dropped(s), 10);
	sim_free(s);
}

struct spinner {
	struct clk_timer t;
	const struct clk *clk;
	uint64_t n;
};

static void spin_fire(void *arg, uint64_t now)
{
	struct spinner *sp = arg;
	sp->n++;
	clk_timer_arm(sp->clk, &sp->t, now); /* a device bug: period 0 */
}

static void test_livelock_guard(void **state)
{
	(void)state;
	struct log *log = log_new_memory(LOG_ERROR);
	struct sim_config cfg = { .ram_size = 4096, .log = log };
	struct sim *s = sim_new(&cfg);
	struct spinner sp = { .clk = s->m.clk };
	clk_timer_init(&sp.t, spin_fire, &sp);
	clk_timer_arm(s->m.clk, &sp.t, 50);
	sim_clock_step(s, 1000); /* must return */
	assert_true(sp.n > (1u << 20));
	assert_int_equal(s->now_ns, 50); /* time stopped where it spun */
	assert_non_null(strstr(log_memory_text(log), "without time advancing"));
	assert_true(clk_timer_armed(&sp.t));
	clk_timer_cancel(s->m.clk, &sp.t);
	sim_clock_step(s, 1000);
	assert_int_equal(s->now_ns, 1050);
	sim_free(s);
	log_free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wiring),
		cmocka_unit_test(test_too_much_ram),
		cmocka_unit_test(test_clock_order),
		cmocka_unit_test(test_irq_recorder),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_bus_events),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_event_bound),
		cmocka_unit_test(test_livelock_guard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
