/* i8254 PIT on the simulator: exact IRQ0 edge times in virtual time for
 * every mode, counter access modes, latch and read-back, BCD, the channel 2
 * gate and output through port 0x61, lost-tick policies (with a clock that
 * fires late on purpose), hostile programming, determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "devices/pit.h"
#include "sim/sim.h"

#define F PIT_FREQ_HZ
#define MAX_EDGES 4096

/* Records the virtual time of every rising edge on IRQ0 and forwards the
 * line to the simulator's controller. */
struct rec {
	struct sim *s;
	struct irq_chip chip;
	uint64_t t[MAX_EDGES];
	size_t n;
	int level;
};

static void rec_set_level(void *o, unsigned gsi, int level)
{
	struct rec *r = o;

	if (level && !r->level) {
		if (r->n < MAX_EDGES)
			r->t[r->n] = r->s->now_ns;
		r->n++;
	}
	r->level = level;
	r->s->m.irqchip->ops->set_level(r->s->m.irqchip->opaque, gsi, level);
}

static const struct irq_chip_ops rec_ops = { .set_level = rec_set_level };

struct fx {
	struct sim *s;
	struct pit *pit;
	struct rec rec;
};

static struct fx *fx_new(enum pit_lost_tick policy, bool record)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sim_config sc = { .record_events = record };

	assert_non_null(f);
	f->s = sim_new(&sc);
	assert_non_null(f->s);
	f->rec.s = f->s;
	f->rec.chip = (struct irq_chip){ &rec_ops, &f->rec };
	struct pit_config pc = { .clk = f->s->m.clk,
				 .irq = irq_line(&f->rec.chip, 0),
				 .lost_tick_policy = policy };
	f->pit = pit_new(&pc);
	assert_non_null(f->pit);
	assert_int_equal(bus_register(f->s->m.pio, PIT_PORT_BASE, PIT_NPORTS,
				      pit_access, f->pit, "pit"), 0);
	assert_int_equal(bus_register(f->s->m.pio, PIT_PORT61, 1,
				      pit_port61_access, f->pit, "port61"), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	pit_free(f->pit);
	sim_free(f->s);
	free(f);
}

static int setup(void **state)
{
	*state = fx_new(PIT_LOST_TICK_DELAY, false);
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static uint64_t ticks_at(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * F / 1000000000u);
}

/* First ns at which tick k has happened. */
static uint64_t tick_ns(uint64_t k)
{
	return (uint64_t)(((unsigned __int128)k * 1000000000u + F - 1) / F);
}

static void out8(struct fx *f, uint16_t port, uint8_t v)
{
	sim_pio_write(f->s, port, 1, v);
}

static uint8_t in8(struct fx *f, uint16_t port)
{
	return (uint8_t)sim_pio_read(f->s, port, 1);
}

/* Program channel ch: control word, then the count per rw mode. */
static void program(struct fx *f, unsigned ch, unsigned rw, unsigned mode,
		    unsigned bcd, uint16_t count)
{
	out8(f, 0x43, (uint8_t)(ch << 6 | rw << 4 | mode << 1 | bcd));
	if (rw & 1)
		out8(f, (uint16_t)(0x40 + ch), (uint8_t)count);
	if (rw & 2)
		out8(f, (uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

static uint16_t latch_read(struct fx *f, unsigned ch)
{
	uint16_t v;

	out8(f, 0x43, (uint8_t)(ch << 6)); /* counter latch */
	v = in8(f, (uint16_t)(0x40 + ch));
	v |= (uint16_t)(in8(f, (uint16_t)(0x40 + ch)) << 8);
	return v;
}

/* Advance virtual time to exactly t. */
static void step_to(struct fx *f, uint64_t t)
{
	assert_true(t >= f->s->now_ns);
	sim_clock_step(f->s, t - f->s->now_ns);
}

static void test_mode2_divisor_1193_1ms(void **state)
{
	struct fx *f = *state;
	uint64_t load;

	program(f, 0, 3, 2, 0, 1193);
	load = ticks_at(f->s->now_ns);
	f->rec.n = 0;
	step_to(f, 1000000000ull);
	/* 1000 periods of 1193 ticks: edge k at tick load + 1193k, never
	 * drifting; the intervals are 999847 or 999848 ns (~1 ms). */
	assert_int_equal(f->rec.n, 1000);
	for (uint64_t k = 1; k <= 1000; k++) {
		assert_int_equal(f->rec.t[k - 1], tick_ns(load + 1193 * k));
		if (k > 1) {
			uint64_t dt = f->rec.t[k - 1] - f->rec.t[k - 2];

			assert_true(dt == 999847 || dt == 999848);
		}
	}
	assert_int_equal(f->rec.t[999], 999847467ull);
	assert_int_equal(f->s->gsi_edges[0], 1000);
}

static void test_mode2_offset_start_no_drift(void **state)
{
	struct fx *f = *state;
	uint64_t load, n_exp;

	step_to(f, 12345);
	program(f, 0, 3, 2, 0, 1193);
	load = ticks_at(12345);
	assert_int_equal(load, 14);
	f->rec.n = 0;
	/* 100 s of virtual time, 100k interrupts: the last edge is exactly
	 * where integer math puts it. */
	step_to(f, 100000000000ull);
	n_exp = (ticks_at(100000000000ull) - load) / 1193;
	assert_int_equal(f->rec.n, n_exp);
	/* The last recorded edge (within the buffer) sits on the grid. */
	assert_true(f->rec.n > MAX_EDGES);
	assert_int_equal(f->rec.t[MAX_EDGES - 1], tick_ns(load + 1193ull * MAX_EDGES));
}

static void test_mode2_count_and_reprogram(void **state)
{
	struct fx *f = *state;
	uint64_t load;

	program(f, 0, 3, 2, 0, 1000);
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 250));
	assert_int_equal(latch_read(f, 0), 750);
	step_to(f, tick_ns(load + 999));
	assert_int_equal(latch_read(f, 0), 1);
	assert_int_equal(pit_channel_out(f->pit, 0), 0); /* low for one tick */
	step_to(f, tick_ns(load + 1000));
	assert_int_equal(latch_read(f, 0), 1000);
	assert_int_equal(pit_channel_out(f->pit, 0), 1);
	/* A new count without a control word waits for the period's end. */
	step_to(f, tick_ns(load + 1100));
	f->rec.n = 0;
	out8(f, 0x40, 500 & 0xff);
	out8(f, 0x40, 500 >> 8);
	assert_int_equal(latch_read(f, 0), 900);
	step_to(f, tick_ns(load + 2000 + 1500));
	assert_int_equal(f->rec.n, 4);
	assert_int_equal(f->rec.t[0], tick_ns(load + 2000));
	assert_int_equal(f->rec.t[1], tick_ns(load + 2500));
	assert_int_equal(f->rec.t[3], tick_ns(load + 3500));
}

static void test_mode3_square_wave(void **state)
{
	struct fx *f = *state;
	uint64_t load;

	program(f, 0, 3, 3, 0, 1001); /* odd: high 501, low 500 ticks */
	load = ticks_at(f->s->now_ns);
	f->rec.n = 0;
	step_to(f, tick_ns(load + 500));
	assert_int_equal(pit_channel_out(f->pit, 0), 1);
	step_to(f, tick_ns(load + 501));
	assert_int_equal(pit_channel_out(f->pit, 0), 0);
	step_to(f, tick_ns(load + 1000));
	assert_int_equal(pit_channel_out(f->pit, 0), 0);
	assert_int_equal(f->rec.n, 0);
	step_to(f, tick_ns(load + 1001));
	assert_int_equal(pit_channel_out(f->pit, 0), 1);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.t[0], tick_ns(load + 1001));
	step_to(f, tick_ns(load + 10 * 1001));
	assert_int_equal(f->rec.n, 10);
	assert_int_equal(f->rec.t[9], tick_ns(load + 10 * 1001));
	/* Even count: counts down by two, reads even values. */
	program(f, 0, 3, 3, 0, 100);
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 10));
	assert_int_equal(latch_read(f, 0), 80);
}

static void test_mode0_one_shot(void **state)
{
	struct fx *f = *state;
	uint64_t load;

	program(f, 0, 3, 0, 0, 100);
	load = ticks_at(f->s->now_ns);
	assert_int_equal(pit_channel_out(f->pit, 0), 0);
	f->rec.n = 0;
	step_to(f, tick_ns(load + 60));
	assert_int_equal(latch_read(f, 0), 40);
	step_to(f, tick_ns(load + 100) - 1);
	assert_int_equal(f->rec.n, 0);
	step_to(f, tick_ns(load + 100));
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.t[0], tick_ns(load + 100));
	/* The counter wraps on and OUT stays high: no second edge. */
	step_to(f, tick_ns(load + 200000));
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(latch_read(f, 0), (uint16_t)(100 - 200000));
	/* Writing only the LSB stops counting and drives OUT low. */
	out8(f, 0x40, 0x10);
	assert_int_equal(pit_channel_out(f->pit, 0), 0);
	out8(f, 0x43, 0xe2); /* read-back status of ch0 */
	/* OUT low, rw3, mode 0; NULL COUNT only rises with the second byte
	 * of a word count (datasheet, read-back status). */
	assert_int_equal(in8(f, 0x40), 0x30);
	out8(f, 0x40, 0x00);
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 0x10));
	assert_int_equal(f->rec.n, 2);
	assert_int_equal(f->rec.t[1], tick_ns(load + 0x10));
}

static void test_mode0_to_mode2_edge(void **state)
{
	struct fx *f = *state;

	program(f, 0, 3, 0, 0, 5000); /* OUT low while counting */
	f->rec.n = 0;
	sim_clock_step(f->s, 1000);
	/* The control word for mode 2 sets OUT high: a real rising edge. */
	out8(f, 0x43, 0x34);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.t[0], f->s->now_ns);
}

static void test_mode4_strobe(void **state)
{
	struct fx *f = *state;
	uint64_t load;

	program(f, 0, 3, 4, 0, 300);
	load = ticks_at(f->s->now_ns);
	f->rec.n = 0;
	step_to(f, tick_ns(load + 300));
	assert_int_equal(pit_channel_out(f->pit, 0), 0);
	assert_int_equal(f->rec.n, 0);
	step_to(f, tick_ns(load + 301));
	assert_int_equal(pit_channel_out(f->pit, 0), 1);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.t[0], tick_ns(load + 301));
	step_to(f, tick_ns(load + 70000));
	assert_int_equal(f->rec.n, 1); /* one strobe only */
}

static void test_mode1_gate_trigger_ch2(void **state)
{
	struct fx *f = *state;
	uint64_t trig;

	out8(f, 0x61, 0x00);
	program(f, 2, 3, 1, 0, 50);
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20); /* OUT high, not triggered */
	sim_clock_step(f->s, 10000);
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
	out8(f, 0x61, 0x01); /* gate rising edge: trigger */
	trig = ticks_at(f->s->now_ns);
	assert_int_equal(in8(f, 0x61) & 0x21, 0x01);
	step_to(f, tick_ns(trig + 20));
	assert_int_equal(latch_read(f, 2), 30);
	/* Gate low does not stop a one-shot in modes 1/5. */
	out8(f, 0x61, 0x00);
	step_to(f, tick_ns(trig + 49));
	assert_int_equal(in8(f, 0x61) & 0x20, 0x00);
	step_to(f, tick_ns(trig + 50));
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
	/* Retrigger with a new count: the count register is used. */
	out8(f, 0x42, 10);
	out8(f, 0x42, 0);
	out8(f, 0x61, 0x01);
	trig = ticks_at(f->s->now_ns);
	assert_int_equal(in8(f, 0x61) & 0x20, 0x00);
	step_to(f, tick_ns(trig + 10));
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
}

static void test_mode5_gate_strobe_ch2(void **state)
{
	struct fx *f = *state;
	uint64_t trig;

	out8(f, 0x61, 0x00);
	program(f, 2, 3, 5, 0, 40);
	out8(f, 0x61, 0x01);
	trig = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(trig + 39));
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
	step_to(f, tick_ns(trig + 40));
	assert_int_equal(in8(f, 0x61) & 0x20, 0x00);
	step_to(f, tick_ns(trig + 41));
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
}

static void test_gate_ch2_modes_0_2(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	/* Linux's PIT calibration: gate on, mode 0, poll OUT2 in 0x61. */
	out8(f, 0x61, 0x01);
	program(f, 2, 3, 0, 0, 1000);
	t0 = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(t0 + 400));
	/* Gate low suspends a mode 0 count; high resumes it. */
	out8(f, 0x61, 0x00);
	sim_clock_step(f->s, 1000000);
	assert_int_equal(latch_read(f, 2), 600);
	out8(f, 0x61, 0x01);
	t0 = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(t0 + 599));
	assert_int_equal(in8(f, 0x61) & 0x20, 0);
	step_to(f, tick_ns(t0 + 600));
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);

	/* Mode 2: gate low stops counting and forces OUT high; rising
	 * gate reloads. */
	program(f, 2, 3, 2, 0, 100);
	t0 = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(t0 + 99));
	assert_int_equal(in8(f, 0x61) & 0x20, 0);
	out8(f, 0x61, 0x00);
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
	assert_int_equal(latch_read(f, 2), 1);
	sim_clock_step(f->s, 500000);
	assert_int_equal(latch_read(f, 2), 1);
	out8(f, 0x61, 0x01);
	t0 = ticks_at(f->s->now_ns);
	assert_int_equal(latch_read(f, 2), 100);
	step_to(f, tick_ns(t0 + 30));
	assert_int_equal(latch_read(f, 2), 70);
}

/* Linux's quick_pit_calibrate: channel 2, gate on, speaker off, mode 0
 * with 0xffff, then only the MSB is watched (LSB read and dropped); it
 * must fall by one every 256 ticks. */
static void test_linux_quick_calibrate(void **state)
{
	struct fx *f = *state;
	uint64_t load;

	out8(f, 0x61, (uint8_t)((in8(f, 0x61) & ~0x02) | 0x01));
	out8(f, 0x43, 0xb0);
	out8(f, 0x42, 0xff);
	out8(f, 0x42, 0xff);
	load = ticks_at(f->s->now_ns);
	for (unsigned k = 0; k < 200; k++) {
		step_to(f, tick_ns(load + 256ull * k + 1));
		in8(f, 0x42);
		assert_int_equal(in8(f, 0x42), 0xff - k);
	}
	/* pit_calibrate_tsc: OUT2 rises when the count runs out. */
	out8(f, 0x43, 0xb0);
	out8(f, 0x42, 11932 & 0xff);
	out8(f, 0x42, 11932 >> 8);
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 11932) - 1);
	assert_int_equal(in8(f, 0x61) & 0x20, 0);
	step_to(f, tick_ns(load + 11932));
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
}

static void test_port61_bits(void **state)
{
	struct fx *f = *state;
	uint8_t a, b;

	out8(f, 0x61, 0xff);
	assert_int_equal(in8(f, 0x61) & 0xcf, 0x0f); /* bits 6/7 never set */
	out8(f, 0x61, 0x02);
	assert_int_equal(in8(f, 0x61) & 0x0f, 0x02);
	/* Refresh toggle flips every 15.085 us. */
	step_to(f, 15085 * 10);
	a = in8(f, 0x61) & 0x10;
	sim_clock_step(f->s, 15085);
	b = in8(f, 0x61) & 0x10;
	assert_int_not_equal(a, b);
	/* Outside the one-byte window: all ones, nothing stored. */
	assert_int_equal(pit_port61_access(f->pit, 1, &a, 1, false), 0);
	assert_int_equal(a, 0xff);
}

static void test_readback(void **state)
{
	struct fx *f = *state;
	uint64_t load;

	program(f, 0, 3, 2, 0, 1000);
	program(f, 1, 1, 3, 0, 200);
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 10));
	/* Latch count and status of ch0 and ch1 together. */
	out8(f, 0x43, 0xc6);
	step_to(f, tick_ns(load + 500));
	assert_int_equal(in8(f, 0x40), 0x80 | 0x34); /* OUT high, rw3, mode 2 */
	assert_int_equal(in8(f, 0x40), 990 & 0xff);
	assert_int_equal(in8(f, 0x40), 990 >> 8);
	assert_int_equal(in8(f, 0x41), 0x80 | 0x16); /* rw1, mode 3 */
	assert_int_equal(in8(f, 0x41), 180);
	/* Latches are released: live count now. */
	assert_int_equal(in8(f, 0x40), 500 & 0xff);
	assert_int_equal(in8(f, 0x40), 500 >> 8);
	/* Status only: the count stays live. */
	out8(f, 0x43, 0xe2);
	assert_int_equal(in8(f, 0x40), 0x80 | 0x34);
	assert_int_equal(in8(f, 0x40), 500 & 0xff);
	in8(f, 0x40);
	/* Count only, then a second latch before reading is ignored. */
	out8(f, 0x43, 0xd2);
	step_to(f, tick_ns(load + 600));
	out8(f, 0x43, 0x00);
	assert_int_equal(in8(f, 0x40), 500 & 0xff);
	assert_int_equal(in8(f, 0x40), 500 >> 8);
	/* Null count: set by the control word until a count is loaded. */
	out8(f, 0x43, 0x34);
	out8(f, 0x43, 0xe2);
	assert_int_equal(in8(f, 0x40) & 0x40, 0x40);
	out8(f, 0x40, 0x10);
	out8(f, 0x40, 0x00);
	out8(f, 0x43, 0xe2);
	assert_int_equal(in8(f, 0x40) & 0x40, 0);
	/* Reading the control port gives nothing. */
	assert_int_equal(in8(f, 0x43), 0xff);
}

static void test_access_modes(void **state)
{
	struct fx *f = *state;
	uint64_t load;

	/* LSB only. */
	program(f, 1, 1, 2, 0, 0x80);
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 0x20));
	out8(f, 0x43, 0x40);
	assert_int_equal(in8(f, 0x41), 0x60);
	/* MSB only: count 0x0200. */
	program(f, 1, 2, 2, 0, 0x0200);
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 0x100));
	out8(f, 0x43, 0x40);
	assert_int_equal(in8(f, 0x41), 0x01);
	/* Word: live reads alternate LSB/MSB through the flip-flop. */
	program(f, 1, 3, 2, 0, 0x1234);
	assert_int_equal(in8(f, 0x41), 0x34);
	assert_int_equal(in8(f, 0x41), 0x12);
	/* A 16-bit port access is two byte cycles, 0x41 then 0x42. */
	sim_pio_write(f->s, 0x40, 2, 0x3456);
	/* Count 0 means 65536. */
	program(f, 1, 3, 2, 0, 0);
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 1));
	assert_int_equal(latch_read(f, 1), 0xffff);
	/* Modes 6 and 7 alias 2 and 3 (status keeps the written bits). */
	out8(f, 0x43, 0x7c); /* ch1 rw3 mode 6 */
	out8(f, 0x41, 10);
	out8(f, 0x41, 0);
	out8(f, 0x43, 0xe4);
	assert_int_equal(in8(f, 0x41) & 0x0e, 0x0c);
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 13));
	assert_int_equal(latch_read(f, 1), 7); /* rate generator */
}

static void test_bcd(void **state)
{
	struct fx *f = *state;
	uint64_t load;

	program(f, 0, 3, 2, 1, 0x1000); /* BCD 1000 */
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 1));
	assert_int_equal(latch_read(f, 0), 0x0999);
	f->rec.n = 0;
	step_to(f, tick_ns(load + 3000));
	assert_int_equal(f->rec.n, 3);
	assert_int_equal(f->rec.t[2], tick_ns(load + 3000));
	/* BCD count 0 is 10000; mode 0 wraps through 9999. */
	program(f, 0, 3, 0, 1, 0x0000);
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 10001));
	assert_int_equal(latch_read(f, 0), 0x9999);
	/* Hostile: invalid BCD digits count at face value, mod 10000. */
	program(f, 0, 3, 2, 1, 0xffff); /* 15*1000+15*100+15*10+15 = 16665 */
	load = ticks_at(f->s->now_ns);
	step_to(f, tick_ns(load + 1));
	assert_int_equal(latch_read(f, 0), 0x6664);
}

static void test_min_period_cap(void **state)
{
	struct fx *f = *state;

	/* Divisor 2 asks for 596 kHz; IRQ0 is capped at one per 50 us
	 * while the count itself stays exact. */
	program(f, 0, 3, 2, 0, 2);
	f->rec.n = 0;
	sim_clock_step(f->s, 1000000);
	assert_true(f->rec.n >= 19 && f->rec.n <= 21);
	for (size_t i = 1; i < f->rec.n; i++)
		assert_true(f->rec.t[i] - f->rec.t[i - 1] >= PIT_MIN_IRQ_NS);
	/* Mode 2 with count 1 (illegal) neither hangs nor crashes. */
	program(f, 0, 3, 2, 0, 1);
	sim_clock_step(f->s, 1000000);
	assert_int_equal(pit_backlog(f->pit), 0);
}

/* --- a clock whose timer fires only when the test says (late) --- */

struct late_clk {
	uint64_t now;
	struct clk_timer *armed;
	uint64_t deadline;
};

static uint64_t late_now(void *o)
{
	return ((struct late_clk *)o)->now;
}

static void late_arm(void *o, struct clk_timer *t, uint64_t deadline)
{
	struct late_clk *c = o;

	c->armed = t;
	c->deadline = deadline;
	t->heap_idx = 0;
}

static void late_cancel(void *o, struct clk_timer *t)
{
	struct late_clk *c = o;

	if (c->armed == t)
		c->armed = NULL;
	t->heap_idx = -1;
}

static const struct clk_ops late_ops = { late_now, late_arm, late_cancel };

struct pulse_count {
	unsigned edges;
	int level;
};

static void pc_set_level(void *o, unsigned gsi, int level)
{
	struct pulse_count *p = o;

	(void)gsi;
	if (level && !p->level)
		p->edges++;
	p->level = level;
}

static const struct irq_chip_ops pc_ops = { .set_level = pc_set_level };

/* Fire the armed timer at time `at` (>= its deadline). */
static void late_fire(struct late_clk *c, uint64_t at)
{
	struct clk_timer *t = c->armed;

	assert_non_null(t);
	assert_true(at >= c->deadline);
	c->now = at;
	c->armed = NULL;
	t->heap_idx = -1;
	t->fn(t->arg, at);
}

static void write_raw(struct pit *pit, uint64_t port, uint8_t v)
{
	assert_int_equal(pit_access(pit, port, &v, 1, true), 0);
}

static void lost_ticks(enum pit_lost_tick policy, unsigned *after_late,
		       unsigned *after_catchup, uint64_t *catchup_at)
{
	struct late_clk lc = { 0 };
	struct clk clk = { &late_ops, &lc };
	struct pulse_count pc = { 0 };
	struct irq_chip chip = { &pc_ops, &pc };
	struct pit_config cfg = { .clk = &clk, .irq = irq_line(&chip, 0),
				  .lost_tick_policy = policy };
	struct pit *pit = pit_new(&cfg);
	uint64_t period_first;

	assert_non_null(pit);
	write_raw(pit, 3, 0x34);
	write_raw(pit, 0, 1193 & 0xff);
	write_raw(pit, 0, 1193 >> 8);
	period_first = tick_ns(1193);
	assert_int_equal(lc.deadline, period_first);
	late_fire(&lc, period_first);
	assert_int_equal(pc.edges, 1);
	/* The host stalls for five more periods. */
	late_fire(&lc, tick_ns(1193 * 6) + 10);
	*after_late = pc.edges;
	*catchup_at = lc.deadline;
	/* Run to the end of period 12 firing every timer on time. */
	while (lc.armed && lc.deadline <= tick_ns(1193 * 12))
		late_fire(&lc, lc.deadline);
	*after_catchup = pc.edges;
	/* The grid did not move: the next deadline is period 13. */
	assert_int_equal(lc.deadline, tick_ns(1193 * 13));
	assert_int_equal(pit_backlog(pit), 0);
	pit_free(pit);
}

static void test_lost_tick_discard(void **state)
{
	unsigned late, end;
	uint64_t next;

	(void)state;
	lost_ticks(PIT_LOST_TICK_DISCARD, &late, &end, &next);
	assert_int_equal(late, 2);       /* five missed ticks became one */
	assert_int_equal(next, tick_ns(1193 * 7));
	assert_int_equal(end, 2 + 6);    /* periods 7..12 */
}

static void test_lost_tick_delay(void **state)
{
	unsigned late, end;
	uint64_t next;

	(void)state;
	lost_ticks(PIT_LOST_TICK_DELAY, &late, &end, &next);
	assert_int_equal(late, 2);
	/* Catch-up firing half a period later, before period 7. */
	assert_true(next < tick_ns(1193 * 7));
	assert_int_equal(end, 12);       /* every tick delivered */
}

static void run_scenario(uint64_t *digest, uint64_t *edges)
{
	struct fx *f = fx_new(PIT_LOST_TICK_DELAY, true);

	program(f, 0, 3, 2, 0, 1193);
	out8(f, 0x61, 0x01);
	program(f, 2, 3, 0, 0, 5000);
	for (int i = 0; i < 50; i++) {
		sim_clock_step(f->s, 777777);
		latch_read(f, 0);
		in8(f, 0x61);
	}
	*digest = sim_digest(f->s);
	*edges = f->s->gsi_edges[0];
	fx_free(f);
}

static void test_determinism(void **state)
{
	uint64_t d1, d2, e1, e2;

	(void)state;
	run_scenario(&d1, &e1);
	run_scenario(&d2, &e2);
	assert_int_equal(d1, d2);
	assert_int_equal(e1, e2);
	assert_true(e1 > 30);
}

static void test_reset_state(void **state)
{
	struct fx *f = *state;

	/* BIOS state: ch0 mode 3 count 65536, 18.2 Hz. */
	f->rec.n = 0;
	sim_clock_step(f->s, 1000000000);
	assert_int_equal(f->rec.n, ticks_at(1000000000) / 65536);
	out8(f, 0x43, 0xe2);
	assert_int_equal(in8(f, 0x40) & 0x3f, 0x36);
	out8(f, 0x61, 0x01);
	pit_reset(f->pit);
	assert_int_equal(in8(f, 0x61) & 0x0f, 0);
	assert_int_equal(pit_channel_out(f->pit, 3), -1);
	/* Accesses beyond the 4 ports read as all ones. */
	uint8_t b[2] = { 0, 0 };
	assert_int_equal(pit_access(f->pit, 3, b, 2, false), 0);
	assert_int_equal(b[1], 0xff);
	pit_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mode2_divisor_1193_1ms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode2_offset_start_no_drift, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode2_count_and_reprogram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode3_square_wave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode0_one_shot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode0_to_mode2_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode4_strobe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode1_gate_trigger_ch2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode5_gate_strobe_ch2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gate_ch2_modes_0_2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_quick_calibrate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port61_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bcd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_min_period_cap, setup, teardown),
		cmocka_unit_test(test_lost_tick_discard),
		cmocka_unit_test(test_lost_tick_delay),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
