/* libFuzzer target: i8254 control words, counts, latches and read-backs
 * from a hostile guest, port 0x61 gate toggles, and virtual clock steps,
 * under both lost-tick policies.  Invariants beyond the sanitizers: the
 * DELAY backlog stays bounded and IRQ0 never fires more often than the
 * rate cap allows (twice it while catching up) within a clock step. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "core/bus.h"
#include "devices/pit.h"
#include "sim/sim.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct sim_config sc = { .ram_size = 1u << 16 }; /* no guest memory needed */
	struct sim *s = sim_new(&sc);
	struct pit_config cfg = { .clk = s->m.clk, .irq = irq_line(s->m.irqchip, 0),
				  .lost_tick_policy = fuzz_u8(&in) & 1 ?
					PIT_LOST_TICK_DISCARD : PIT_LOST_TICK_DELAY };
	struct pit *pit = pit_new(&cfg);

	bus_register(s->m.pio, PIT_PORT_BASE, PIT_NPORTS, pit_access, pit, "pit");
	bus_register(s->m.pio, PIT_PORT61, 1, pit_port61_access, pit, "port61");
	while (in.n) {
		uint8_t op = fuzz_u8(&in), a = fuzz_u8(&in);

		switch (op % 6) {
		case 0:
			sim_pio_write(s, (uint16_t)(PIT_PORT_BASE + (a & 3)), 1, fuzz_u8(&in));
			break;
		case 1:
			sim_pio_read(s, (uint16_t)(PIT_PORT_BASE + (a & 3)), 1);
			break;
		case 2:
			sim_pio_write(s, PIT_PORT61, 1, a);
			sim_pio_read(s, PIT_PORT61, 1);
			break;
		case 3: { /* time passes: up to ~16 ms, edges bounded by the cap */
			uint64_t ns = (uint64_t)a << (fuzz_u8(&in) & 16);
			uint64_t before = s->gsi_edges[0];

			sim_clock_step(s, ns);
			/* DELAY catches up at twice the rate. */
			if (s->gsi_edges[0] - before > 2 * (ns / PIT_MIN_IRQ_NS) + 2)
				abort();
			break;
		}
		case 4: { /* wide accesses */
			uint8_t v = fuzz_u8(&in);

			if (a & 0x80)
				sim_pio_write(s, (uint16_t)(PIT_PORT_BASE + (a & 3)),
					      1u << (v & 3), (uint64_t)v * 0x0101010101010101ull);
			else
				sim_pio_read(s, (uint16_t)(PIT_PORT_BASE + (a & 7)),
					     1u << (v & 3));
			break;
		}
		default:
			pit_channel_out(pit, a & 3);
			if (a == 0xff)
				pit_reset(pit);
			break;
		}
		if (pit_backlog(pit) > PIT_MAX_BACKLOG)
			abort();
	}
	pit_free(pit);
	sim_free(s);
	return 0;
}
