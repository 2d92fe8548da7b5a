/* 16550A UART on the simulator with the in-memory char backend: register
 * semantics (DLAB, scratch, IER/IIR/LSR/MSR/FCR), IIR priority order, FIFO
 * trigger levels and the character timeout at its exact virtual time,
 * THRE interrupt rules including the one Linux probes, loopback,
 * loss-free output to a slow backend and input flow control, hostile
 * accesses, determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

static struct fx *fx_new(size_t out_limit, bool with_chr, bool record)
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

static void fx_free(struct fx *f)
{
	serial_free(f->ser);
	if (f->chr)
		chr_close(f->chr);
	sim_free(f->s);
	free(f);
}

static int setup(void **state)
{
	*state = fx_new(0, true, false);
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static uint8_t in(struct fx *f, unsigned reg)
{
	return (uint8_t)sim_pio_read(f->s, (uint16_t)(BASE + reg), 1);
}

static void out(struct fx *f, unsigned reg, uint8_t v)
{
	sim_pio_write(f->s, (uint16_t)(BASE + reg), 1, v);
}

static int irq4(struct fx *f)
{
	return f->s->gsi_level[4];
}

static void push(struct fx *f, const char *str)
{
	size_t n = strlen(str);

	assert_int_equal(chr_mem_push_input(f->chr, (const uint8_t *)str, n), n);
}

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
		cmocka_unit_test_setup_teardown(test_transmit_to_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_autoconfig, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_after_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_backend_loss_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_fifo_drops_only_when_ignoring_thre, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_flow_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trigger_levels_and_timeout, setup, teardown),
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
