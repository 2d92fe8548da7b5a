/* libFuzzer target: MC146818A index/data sequences from a hostile guest
 * (any register, any value, the NMI bit, wide accesses) with virtual clock
 * steps from microseconds to days.  Invariants beyond the sanitizers:
 * register D always reads VRT, register C reads zero right after being
 * read, the CMOS RAM the board filled is never clobbered by time keeping. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "core/bus.h"
#include "devices/rtc.h"
#include "sim/sim.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t rd(struct sim *s, uint8_t idx)
{
	sim_pio_write(s, 0x70, 1, idx);
	return (uint8_t)sim_pio_read(s, 0x71, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct sim_config sc = { .ram_size = 1u << 16 }; /* no guest memory needed */
	struct sim *s = sim_new(&sc);
	uint64_t base = 0;

	for (int i = 0; i < 8; i++)
		base = base << 8 | fuzz_u8(&in);
	struct rtc_config cfg = { .clk = s->m.clk, .irq = irq_line(s->m.irqchip, 8),
				  .base_epoch = (int64_t)base };
	struct rtc *rtc = rtc_new(&cfg);

	bus_register(s->m.pio, RTC_PORT_BASE, RTC_NPORTS, rtc_access, rtc, "rtc");
	rtc_cmos_set(rtc, 0x7f, 0xa5);
	while (in.n) {
		uint8_t op = fuzz_u8(&in), a = fuzz_u8(&in), v;

		switch (op % 6) {
		case 0: /* write a register (0x7f is the board's: skip it) */
			v = fuzz_u8(&in);
			if ((a & 0x7f) == 0x7f)
				a = RTC_REG_B;
			sim_pio_write(s, 0x70, 1, a);
			sim_pio_write(s, 0x71, 1, v);
			break;
		case 1:
			rd(s, a);
			break;
		case 2: /* wide or stray accesses */
			v = fuzz_u8(&in);
			if (a & 0x80)
				sim_pio_read(s, (uint16_t)(0x70 + (a & 1)), 1u << (v & 3));
			else if (((v << 8 | a) & 0x7f00) != 0x7f00)
				sim_pio_write(s, 0x70, 2, (uint64_t)v << 8 | (a & 0x7e));
			break;
		case 3: /* time passes: ns to ~days */
			v = fuzz_u8(&in);
			sim_clock_step(s, (uint64_t)a << (v % 48));
			break;
		case 4:
			if (rd(s, RTC_REG_D) != RTC_D_VRT)
				abort();
			rd(s, RTC_REG_C);
			if (rd(s, RTC_REG_C) != 0)
				abort();
			break;
		default:
			rtc_now_epoch(rtc);
			if (a == 0xff)
				rtc_reset(rtc);
			break;
		}
	}
	if (rtc_cmos_get(rtc, 0x7f) != 0xa5)
		abort();
	rtc_free(rtc);
	sim_free(s);
	return 0;
}
