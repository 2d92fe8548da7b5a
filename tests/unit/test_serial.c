/* 16550A UART on the simulator with the in-memory char backend: register
 * semantics (DLAB, scratch, IER/IIR/LSR/MSR/FCR), the probe Linux's 8250
 * driver runs, IIR priority order, loopback, modem status, hostile
 * accesses and backends, determinism.  The transmit/receive data path is
 * in test_serial_fifo.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "serial_fixture.h"

static void test_reset_values(void **state)
{
	struct fx *f = *state;

	assert_int_equal(in(f, IER), 0x00);
	assert_int_equal(in(f, IIR), 0x01);
	assert_int_equal(in(f, LCR), 0x00);
	assert_int_equal(in(f, MCR), 0x00);
	assert_int_equal(in(f, LSR), 0x60);
	assert_int_equal(in(f, MSR), 0xb0);
	assert_int_equal(in(f, SCR), 0x00);
	assert_int_equal(irq4(f), 0);
}

static void test_scratch_and_dlab(void **state)
{
	struct fx *f = *state;

	for (unsigned v = 0; v < 256; v++) {
		out(f, SCR, (uint8_t)v);
		assert_int_equal(in(f, SCR), v);
	}
	out(f, IER, 0x05);
	out(f, LCR, 0x83); /* DLAB, 8N1 */
	out(f, RBR, 0x01); /* DLL */
	out(f, IER, 0x02); /* DLM */
	assert_int_equal(in(f, RBR), 0x01);
	assert_int_equal(in(f, IER), 0x02);
	out(f, LCR, 0x03);
	assert_int_equal(in(f, IER), 0x05); /* IER untouched by DLM */
	assert_int_equal(in(f, LCR), 0x03);
	/* IER bits 4-7 read 0; MCR bits 5-7 read 0 on a 16550A. */
	out(f, IER, 0xff);
	assert_int_equal(in(f, IER), 0x0f);
	out(f, MCR, 0xff);
	assert_int_equal(in(f, MCR), 0x1f);
	/* LSR and MSR writes (factory test) change nothing. */
	out(f, MCR, 0x00);
	in(f, MSR);
	out(f, LSR, 0x00);
	out(f, MSR, 0x00);
	assert_int_equal(in(f, LSR), 0x60);
	assert_int_equal(in(f, MSR), 0xb0);
}

/* The probe of Linux's 8250 driver (autoconfig, autoconfig_16550a): every
 * decision it takes must come out as "16550A with working FIFOs". */
static void test_linux_autoconfig(void **state)
{
	struct fx *f = *state;
	uint8_t scratch, scratch2;

	/* IER: the low nibble is writable, nothing else. */
	out(f, IER, 0);
	scratch = in(f, IER) & 0x0f;
	out(f, IER, 0x0f);
	scratch2 = in(f, IER) & 0x0f;
	out(f, IER, 0);
	assert_int_equal(scratch, 0);
	assert_int_equal(scratch2, 0x0f);
	/* Loopback test: MCR = LOOP | OUT2 | RTS gives MSR 0x90. */
	out(f, MCR, 0x1a);
	assert_int_equal(in(f, MSR) & 0xf0, 0x90);
	out(f, MCR, 0);
	/* FIFO: IIR bits 6-7 both set means 16550A. */
	out(f, FCR, 0x01);
	assert_int_equal(in(f, IIR) >> 6, 3);
	/* No EFR (LCR 0xBF / 0x80 make offset 2 read IIR, nonzero). */
	out(f, LCR, 0xbf);
	assert_int_not_equal(in(f, IIR), 0);
	out(f, LCR, 0x80);
	assert_int_not_equal(in(f, IIR), 0);
	/* Not a 16750: the 64-byte FIFO bit never shows in IIR bit 5. */
	out(f, LCR, 0);
	out(f, FCR, 0x21);
	assert_int_equal(in(f, IIR) >> 5, 6);
	out(f, LCR, 0x80);
	out(f, FCR, 0x21);
	assert_int_equal(in(f, IIR) >> 5, 6);
	out(f, LCR, 0);
	/* Not an XScale: IER bit 6 (UUE) does not stick. */
	out(f, IER, 0x40);
	assert_int_equal(in(f, IER) & 0x40, 0);
	out(f, IER, 0);
	/* Not a SuperIO with EXCR1 at LCR 0xE0: offset 2 does not follow
	 * MCR.LOOP. */
	out(f, LCR, 0xe0);
	uint8_t e1 = in(f, IIR);
	out(f, LCR, 0);
	out(f, MCR, 0x10);
	out(f, LCR, 0xe0);
	uint8_t e2 = in(f, IIR);
	out(f, LCR, 0);
	out(f, MCR, 0);
	assert_int_equal((e1 ^ e2) & 0x10, 0);
	/* Scratch works (8250 vs 16450 test). */
	out(f, SCR, 0xa5);
	assert_int_equal(in(f, SCR), 0xa5);
}

static void test_iir_priorities(void **state)
{
	struct fx *f = *state;

	out(f, FCR, 0x01);     /* FIFO on, trigger 1 */
	out(f, MCR, 0x10);     /* loopback */
	in(f, MSR);            /* drop the deltas of entering loopback */
	for (int i = 0; i < 17; i++)
		out(f, RBR, (uint8_t)i); /* 17th overruns */
	out(f, MCR, 0x12);     /* RTS -> CTS: a modem status delta */
	out(f, IER, 0x0f);
	/* Line status > RX data > THRE > modem status. */
	assert_int_equal(in(f, IIR), 0xc6);
	assert_int_equal(in(f, LSR) & 0x03, 0x03); /* OE, DR; read clears OE */
	assert_int_equal(in(f, IIR), 0xc4);
	for (int i = 0; i < 16; i++)
		assert_int_equal(in(f, RBR), i);
	assert_int_equal(in(f, IIR), 0xc2);
	assert_int_equal(in(f, IIR), 0xc0); /* THRE cleared by the IIR read */
	assert_int_equal(in(f, MSR) & 0x0f, 0x01);
	assert_int_equal(in(f, IIR), 0xc1);
	assert_int_equal(irq4(f), 0);
}

static void test_loopback(void **state)
{
	struct fx *f = *state;

	/* Linux's autoconfig: MCR = LOOP | OUT2 | RTS -> MSR high nibble 0x90. */
	out(f, MCR, 0x1a);
	assert_int_equal(in(f, MSR) & 0xf0, 0x90);
	out(f, MCR, 0x1f);
	assert_int_equal(in(f, MSR) & 0xf0, 0xf0);
	/* Transmit goes to our own receiver, not to the host. */
	out(f, RBR, 'L');
	assert_int_equal(in(f, LSR) & 0x61, 0x61);
	assert_int_equal(in(f, RBR), 'L');
	assert_int_equal(chr_mem_output_len(f->chr), 0);
	/* Host input waits while in loopback... */
	push(f, "hi");
	assert_int_equal(in(f, LSR) & 0x01, 0);
	assert_int_equal(chr_mem_pending_input(f->chr), 2);
	/* ...and flows when loopback ends. */
	out(f, MCR, 0x00);
	assert_int_equal(in(f, RBR), 'h');
	assert_int_equal(in(f, RBR), 'i');
	/* FIFO off: a second byte overruns and overwrites the holding
	 * register (16450 behaviour). */
	out(f, MCR, 0x10);
	out(f, RBR, '1');
	out(f, RBR, '2');
	assert_int_equal(in(f, LSR) & 0x03, 0x03);
	assert_int_equal(in(f, LSR) & 0x02, 0);
	assert_int_equal(in(f, RBR), '2');
}

static void test_modem_status(void **state)
{
	struct fx *f = *state;

	out(f, IER, 0x08);
	out(f, MCR, 0x10); /* loopback: all inputs drop */
	assert_int_equal(in(f, IIR), 0x00);
	assert_int_equal(irq4(f), 1);
	assert_int_equal(in(f, MSR), 0x0b); /* DCTS DDSR DDCD, RI had been 0 */
	assert_int_equal(irq4(f), 0);
	out(f, MCR, 0x14); /* OUT1 -> RI rises: no TERI */
	assert_int_equal(in(f, MSR), 0x40);
	out(f, MCR, 0x10); /* RI falls: trailing edge */
	assert_int_equal(in(f, MSR), 0x04);
	out(f, MCR, 0x11); /* DTR -> DSR */
	assert_int_equal(in(f, MSR), 0x22);
	assert_int_equal(in(f, MSR), 0x20);
}

static void test_fcr_and_fifo_bits(void **state)
{
	struct fx *f = *state;

	out(f, FCR, 0x01);
	assert_int_equal(in(f, IIR) & 0xc0, 0xc0);
	push(f, "abc");
	assert_int_equal(in(f, LSR) & 0x01, 0x01);
	out(f, FCR, 0x03); /* clear RX */
	assert_int_equal(in(f, LSR) & 0x01, 0);
	push(f, "fg");
	/* Turning FIFOs off clears them too. */
	out(f, FCR, 0x00);
	assert_int_equal(in(f, IIR) & 0xc0, 0x00);
	assert_int_equal(in(f, LSR) & 0x01, 0);
	push(f, "de");
	/* The backend refills the (now 1-byte) holding register. */
	assert_int_equal(in(f, RBR), 'd');
	assert_int_equal(in(f, RBR), 'e');
	/* Other bits are ignored unless FIFO enable is set. */
	out(f, FCR, 0xc0);
	assert_int_equal(in(f, IIR), 0x01);
}

static void test_wide_and_stray_accesses(void **state)
{
	struct fx *f = *state;
	uint8_t b[4] = { 0 };

	/* A 16-bit write at LCR/MCR is two byte cycles. */
	sim_pio_write(f->s, BASE + LCR, 2, 0x0b03);
	assert_int_equal(in(f, LCR), 0x03);
	assert_int_equal(in(f, MCR), 0x0b);
	/* Straddling the end of the window: the bytes beyond read 0xff. */
	assert_int_equal(serial_access(f->ser, 6, b, 4, false), 0);
	assert_int_equal(b[0], 0xb0);
	assert_int_equal(b[2], 0xff);
	assert_int_equal(b[3], 0xff);
	memset(b, 0x55, sizeof(b));
	assert_int_equal(serial_access(f->ser, 7, b, 4, true), 0);
	assert_int_equal(in(f, SCR), 0x55);
}

static void test_no_backend(void **state)
{
	struct fx *f = *state;

	fx_free(f);
	*state = f = fx_new(0, false, false);
	for (int i = 0; i < 100; i++)
		out(f, RBR, 'z');
	assert_int_equal(in(f, LSR) & 0x61, 0x60);
	assert_int_equal(in(f, RBR), 0);
}

static void test_hostile_backend_and_divisor(void **state)
{
	struct fx *f = *state;
	uint8_t big[40];

	memset(big, 'B', sizeof(big));
	out(f, FCR, 0x01);
	/* A backend that ignores can_receive: what fits is kept. */
	f->chr->fe.receive(f->chr->fe.opaque, big, sizeof(big));
	int n = 0;
	while (in(f, LSR) & 0x01) {
		assert_int_equal(in(f, RBR), 'B');
		n++;
	}
	assert_int_equal(n, 16);
	assert_int_equal(in(f, LSR) & 0x02, 0);
	/* Divisor 0 (the chip's 65536): timeouts are just very slow. */
	out(f, LCR, 0x80);
	out(f, RBR, 0);
	out(f, IER, 0);
	out(f, LCR, 0x3f); /* 8 bits, 2 stop, parity */
	out(f, IER, 0x01);
	out(f, FCR, 0xc1);
	push(f, "s");
	sim_clock_step(f->s, 1000000000ull);
	assert_int_equal(in(f, IIR), 0xc1);
	sim_clock_step(f->s, 60ull * 1000000000ull);
	assert_int_equal(in(f, IIR), 0xcc);
	serial_reset(f->ser);
	assert_int_equal(in(f, IIR), 0x01);
	assert_int_equal(in(f, LSR), 0x60);
}

static void test_free_detaches(void **state)
{
	struct fx *f = *state;

	serial_free(f->ser);
	f->ser = NULL;
	/* The backend outlives the UART: input stays queued. */
	push(f, "late");
	assert_int_equal(chr_mem_pending_input(f->chr), 4);
	serial_free(NULL);
}

static void run_scenario(uint64_t *digest, char *outbuf, size_t *outlen)
{
	struct fx *f = fx_new(8, true, true);

	out(f, FCR, 0x87);
	out(f, IER, 0x03);
	push(f, "the quick brown fox");
	for (int i = 0; i < 40; i++) {
		out(f, RBR, (uint8_t)('a' + i % 26));
		sim_clock_step(f->s, 100000);
		in(f, IIR);
		if (in(f, LSR) & 1)
			in(f, RBR);
		if (i % 5 == 0)
			*outlen += chr_mem_take_output(f->chr, (uint8_t *)outbuf + *outlen, 6);
	}
	*digest = sim_digest(f->s);
	fx_free(f);
}

static void test_determinism(void **state)
{
	uint64_t a, b;
	char o1[64], o2[64];
	size_t l1 = 0, l2 = 0;

	(void)state;
	run_scenario(&a, o1, &l1);
	run_scenario(&b, o2, &l2);
	assert_int_equal(a, b);
	assert_int_equal(l1, l2);
	assert_memory_equal(o1, o2, l1);
	assert_true(l1 > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_and_dlab, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_autoconfig, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iir_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modem_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fcr_and_fifo_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wide_and_stray_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_backend_and_divisor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_detaches, setup, teardown),
		cmocka_unit_test(test_determinism),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
