/* i8254 PIT on the simulator: exact IRQ0 edge times in virtual time for
 * every mode (0-5), the channel 2 gate, Linux's quick calibration, and
 * determinism.  The register interface is in test_pit_regs.c, lost-tick
 * policies in test_pit_lost_tick.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pit_fixture.h"

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
	assert_true(f->rec.n > SIMFX_MAX_EDGES);
	assert_int_equal(f->rec.t[SIMFX_MAX_EDGES - 1], tick_ns(load + 1193ull * SIMFX_MAX_EDGES));
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
		cmocka_unit_test(test_determinism),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
