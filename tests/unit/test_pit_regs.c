/* i8254 PIT register interface on the simulator: port 0x61 bits, read-back
 * command, counter access modes and latch, BCD counting, the minimum
 * period cap against hostile programming, and the reset state. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pit_fixture.h"

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
		cmocka_unit_test_setup_teardown(test_port61_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bcd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_min_period_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
