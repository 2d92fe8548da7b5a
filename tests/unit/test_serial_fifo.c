/* 16550A UART data path on the simulator: output to the backend, the THRE
 * interrupt rules (including after a drain), loss-free output to a slow
 * backend, FIFO overflow only when the driver ignores THRE, input flow
 * control, FIFO trigger levels and the character timeout at its exact
 * virtual time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "serial_fixture.h"

static void test_transmit_to_backend(void **state)
{
	struct fx *f = *state;
	uint8_t buf[16];

	for (const char *p = "hello"; *p; p++) {
		assert_int_equal(in(f, LSR) & 0x60, 0x60);
		out(f, RBR, (uint8_t)*p);
	}
	assert_int_equal(chr_mem_take_output(f->chr, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
}

static void test_thre_interrupt_rules(void **state)
{
	struct fx *f = *state;

	/* Enabling ETBEI with THR empty raises THRE at once (Linux's
	 * serial8250_do_startup checks exactly this). */
	out(f, IER, 0x02);
	assert_int_equal(irq4(f), 1);
	assert_int_equal(in(f, IIR), 0x02);
	/* Reading IIR that shows THRE clears it. */
	assert_int_equal(in(f, IIR), 0x01);
	assert_int_equal(irq4(f), 0);
	/* Re-enabling raises it again; staying enabled does not. */
	out(f, IER, 0x02);
	assert_int_equal(in(f, IIR), 0x01);
	out(f, IER, 0x00);
	out(f, IER, 0x02);
	assert_int_equal(in(f, IIR), 0x02);
	/* After a transmitted byte THR is empty again: THRE pending. */
	out(f, RBR, 'x');
	assert_int_equal(irq4(f), 1);
	assert_int_equal(in(f, IIR), 0x02);
	/* Disabling ETBEI drops the line. */
	out(f, IER, 0x00);
	assert_int_equal(irq4(f), 0);
}

static void test_thre_after_drain(void **state)
{
	struct fx *f = *state;
	uint8_t b[4];

	fx_free(f);
	*state = f = fx_new(1, true, false);
	out(f, IER, 0x02);
	assert_int_equal(irq4(f), 1);
	out(f, RBR, 'a'); /* the host takes it: THR empty again */
	assert_int_equal(in(f, IIR), 0x02);
	out(f, IER, 0x00);
	out(f, IER, 0x02);
	assert_int_equal(irq4(f), 1);
	/* The host is full: writing THR clears THRE and it stays clear. */
	out(f, RBR, 'b');
	assert_int_equal(irq4(f), 0);
	assert_int_equal(in(f, IIR), 0x01);
	assert_int_equal(in(f, LSR) & 0x60, 0);
	/* The host drains: the byte moves on, THRE rises with the line. */
	assert_int_equal(chr_mem_take_output(f->chr, b, sizeof(b)), 1);
	assert_int_equal(b[0], 'a');
	assert_int_equal(irq4(f), 1);
	assert_int_equal(in(f, LSR) & 0x60, 0x60);
	assert_int_equal(in(f, IIR), 0x02);
	assert_int_equal(chr_mem_take_output(f->chr, b, sizeof(b)), 1);
	assert_int_equal(b[0], 'b');
}

static void test_slow_backend_loss_free(void **state)
{
	struct fx *f = *state;
	uint8_t msg[1000], got[1000], tmp[64];
	size_t sent = 0, recv = 0;
	unsigned stalls = 0;

	fx_free(f);
	*state = f = fx_new(4, true, false); /* the host takes 4 bytes at a time */
	out(f, FCR, 0x07);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	/* The guest driver: fill the FIFO whenever THRE says empty. */
	while (recv < sizeof(msg)) {
		if (sent < sizeof(msg) && (in(f, LSR) & 0x20)) {
			for (int i = 0; i < 16 && sent < sizeof(msg); i++)
				out(f, RBR, msg[sent++]);
			continue;
		}
		if (!(in(f, LSR) & 0x20)) {
			stalls++;
			assert_int_equal(in(f, LSR) & 0x40, 0); /* TEMT too */
		}
		/* The host reads some output; the UART gets writable. */
		size_t n = chr_mem_take_output(f->chr, tmp, 3);
		memcpy(got + recv, tmp, n);
		recv += n;
	}
	assert_memory_equal(got, msg, sizeof(msg));
	assert_true(stalls > 100);
	assert_int_equal(in(f, LSR) & 0x60, 0x60);
}

static void test_full_fifo_drops_only_when_ignoring_thre(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];

	fx_free(f);
	*state = f = fx_new(1, true, false);
	out(f, FCR, 0x01);
	/* One byte goes to the host, 16 wait in the FIFO, the rest of a
	 * driver that ignores THRE is lost (as on the chip). */
	for (int i = 0; i < 20; i++)
		out(f, RBR, (uint8_t)('a' + i));
	assert_int_equal(in(f, LSR) & 0x60, 0);
	size_t n = 0;
	for (int i = 0; i < 40; i++)
		n += chr_mem_take_output(f->chr, buf + n, 1);
	assert_int_equal(n, 17);
	assert_memory_equal(buf, "abcdefghijklmnopq", 17);
	assert_int_equal(in(f, LSR) & 0x60, 0x60);
	/* FIFO off: a single holding register. */
	out(f, FCR, 0x00);
	out(f, RBR, '1');
	out(f, RBR, '2');
	out(f, RBR, '3');
	assert_int_equal(in(f, LSR) & 0x60, 0);
	n = chr_mem_take_output(f->chr, buf, 4);
	n += chr_mem_take_output(f->chr, buf + n, 4);
	assert_int_equal(n, 2);
	assert_memory_equal(buf, "12", 2);
	/* Clearing the TX FIFO discards what the host never took. */
	out(f, FCR, 0x01);
	out(f, RBR, 'A');
	out(f, RBR, 'B');
	assert_int_equal(in(f, LSR) & 0x60, 0);
	out(f, FCR, 0x05);
	assert_int_equal(in(f, LSR) & 0x60, 0x60);
	n = chr_mem_take_output(f->chr, buf, 4);
	n += chr_mem_take_output(f->chr, buf + n, 4);
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], 'A');
}

static void test_input_flow_control(void **state)
{
	struct fx *f = *state;
	char msg[301];
	size_t got = 0;

	for (int i = 0; i < 300; i++)
		msg[i] = (char)('!' + i % 90);
	msg[300] = 0;
	out(f, FCR, 0x01);
	push(f, msg);
	/* The FIFO holds 16; the backend keeps the rest. */
	assert_int_equal(chr_mem_pending_input(f->chr), 300 - 16);
	while (in(f, LSR) & 0x01) {
		assert_int_equal(in(f, LSR) & 0x02, 0); /* never an overrun */
		assert_int_equal(in(f, RBR), (uint8_t)msg[got]);
		got++;
	}
	assert_int_equal(got, 300);
	assert_int_equal(chr_mem_pending_input(f->chr), 0);
	/* Without FIFOs: one byte at a time. */
	out(f, FCR, 0x00);
	push(f, "xyz");
	assert_int_equal(chr_mem_pending_input(f->chr), 2);
	assert_int_equal(in(f, RBR), 'x');
	assert_int_equal(in(f, RBR), 'y');
	assert_int_equal(in(f, RBR), 'z');
	assert_int_equal(in(f, LSR) & 0x01, 0);
	/* Reading an empty RBR gives 0 and changes nothing. */
	assert_int_equal(in(f, RBR), 0);
}

static void test_trigger_levels_and_timeout(void **state)
{
	struct fx *f = *state;
	static const unsigned lvl[4] = { 1, 4, 8, 14 };
	/* 115200 8N1: 10 bits of 16 clocks at 1.8432 MHz. */
	const uint64_t char_ns = 10ull * 16 * 1000000000ull / 1843200;

	out(f, LCR, 0x83);
	out(f, RBR, 1);
	out(f, IER, 0);
	out(f, LCR, 0x03);
	out(f, IER, 0x01);
	for (unsigned t = 0; t < 4; t++) {
		out(f, FCR, (uint8_t)(0x07 | t << 6));
		assert_int_equal(in(f, IIR), 0xc1);
		for (unsigned n = 1; n <= lvl[t]; n++) {
			push(f, "k");
			if (n < lvl[t])
				assert_int_equal(in(f, IIR), 0xc1);
		}
		assert_int_equal(in(f, IIR), 0xc4);
		assert_int_equal(irq4(f), 1);
		/* Reading below the trigger drops RDA. */
		in(f, RBR);
		if (lvl[t] > 1) {
			assert_int_equal(in(f, IIR), 0xc1);
			assert_int_equal(irq4(f), 0);
			/* The rest raises a character timeout after four
			 * character times without activity. */
			uint64_t t0 = f->s->now_ns;
			sim_clock_step(f->s, 4 * char_ns - 1);
			assert_int_equal(in(f, IIR), 0xc1);
			/* (the read above did not touch the FIFO) */
			sim_clock_step(f->s, t0 + 4 * char_ns - f->s->now_ns);
			assert_int_equal(in(f, IIR), 0xcc);
			assert_int_equal(irq4(f), 1);
			in(f, RBR); /* reading clears the timeout */
			assert_int_equal(in(f, IIR), 0xc1);
		}
		out(f, FCR, 0x03);
		assert_int_equal(in(f, LSR) & 0x01, 0);
	}
	/* FIFO off: RDA on every byte, never a timeout. */
	out(f, FCR, 0x00);
	push(f, "q");
	assert_int_equal(in(f, IIR), 0x04);
	sim_clock_step(f->s, 100 * char_ns);
	assert_int_equal(in(f, IIR), 0x04);
	assert_int_equal(in(f, RBR), 'q');
	assert_int_equal(in(f, IIR), 0x01);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transmit_to_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_after_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_backend_loss_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_fifo_drops_only_when_ignoring_thre, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_flow_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trigger_levels_and_timeout, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
