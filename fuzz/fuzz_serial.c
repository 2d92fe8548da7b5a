/* libFuzzer target: 16550A register-access sequences from a hostile guest
 * interleaved with virtual clock steps and host events (input typed, slow
 * output draining).  Input: a stream of ops, each one byte of opcode and
 * its operands.  Invariants beyond the sanitizers: the host receives the
 * bytes written to THR outside loopback in order (a subsequence: the guest
 * may overrun a full FIFO), and host input is taken only as there is room. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/bus.h"
#include "core/chardev.h"
#include "devices/serial.h"
#include "sim/sim.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct sim_config sc = { .ram_size = 1u << 16 }; /* no guest memory needed */
	struct sim *s = sim_new(&sc);
	struct chr *chr = chr_mem_new("fz", 1 + (fuzz_u8(&in) & 31));
	struct serial_config cfg = { .clk = s->m.clk,
				     .irq = irq_line(s->m.irqchip, 4),
				     .chr = chr };
	struct serial *ser = serial_new(&cfg);
	static const size_t cap = MAX_TX;
	uint8_t *tx = malloc(cap), *got = malloc(cap);
	size_t ntx = 0, ngot = 0;
	uint8_t lcr = 0, mcr = 0;

	bus_register(s->m.pio, SERIAL_COM1_BASE, SERIAL_NREGS, serial_access,
		     ser, "com1");
	while (in.n) {
		uint8_t op = fuzz_u8(&in), a = fuzz_u8(&in), v;

		switch (op % 6) {
		case 0: /* guest write */
			v = fuzz_u8(&in);
			sim_pio_write(s, SERIAL_COM1_BASE + (a & 7), 1, v);
			if ((a & 7) == 3)
				lcr = v;
			else if ((a & 7) == 4)
				mcr = v;
			else if ((a & 7) == 0 && !(lcr & 0x80) && !(mcr & 0x10) &&
				 ntx < cap)
				tx[ntx++] = v;
			break;
		case 1: /* guest read */
			sim_pio_read(s, SERIAL_COM1_BASE + (a & 7), 1);
			break;
		case 2: /* wide or stray access (writes spare THR/LCR/MCR,
			 * which the invariant tracks byte by byte) */
			v = fuzz_u8(&in);
			if (a & 0x80)
				sim_pio_write(s, (uint16_t)(SERIAL_COM1_BASE + 5 + (a & 15) % 11),
					      1u << (v & 3), (uint64_t)v * 0x0101010101010101ull);
			else
				sim_pio_read(s, (uint16_t)(SERIAL_COM1_BASE + (a & 15)),
					     1u << (v & 3));
			break;
		case 3: /* time passes: up to ~16 ms */
			sim_clock_step(s, (uint64_t)a << (fuzz_u8(&in) & 16));
			break;
		case 4: { /* host types */
			uint8_t buf[32];
			unsigned n = a & 31;

			for (unsigned i = 0; i < n; i++)
				buf[i] = fuzz_u8(&in);
			chr_mem_push_input(chr, buf, n);
			break;
		}
		default: /* host drains some output */
			if (ngot + 64 <= cap)
				ngot += chr_mem_take_output(chr, got + ngot, a & 63);
			break;
		}
	}
	/* Check the host saw a subsequence of what the guest sent. */
	if (ngot + 64 <= cap) {
		size_t j = 0;

		for (size_t i = 0; i < ngot; i++) {
			while (j < ntx && tx[j] != got[i])
				j++;
			if (j == ntx)
				abort();
			j++;
		}
	}
	serial_free(ser);
	chr_close(chr);
	sim_free(s);
	free(tx);
	free(got);
	return 0;
}
