/* Shared by the MC146818A RTC unit tests (test_rtc*.c): a simulator with
 * the RTC on ports 0x70/0x71 and IRQ8 recorded, index/data register
 * access, and the periodic-interrupt tick times of each rate select.
 * static inline helpers only. */
#ifndef VMM_TESTS_RTC_FIXTURE_H
#define VMM_TESTS_RTC_FIXTURE_H

#include <errno.h>
#include <stdlib.h>

#include "devices/rtc.h"
#include "sim/sim.h"
#include "sim_fixture.h"

#define SEC 1000000000ull
#define T_2026_11_22_134530 1795355130ll /* a Sunday */
#define T_2099_12_31_235959 4102444799ll
#define T_2024_02_28_235959 1709164799ll

struct fx {
	struct sim *s;
	struct rtc *rtc;
	struct simfx_rec rec;
};

static inline struct fx *fx_new_slew(int64_t base, bool record, bool slew)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->s = simfx_sim_new(&f->rec, record);
	struct rtc_config rc = { .clk = f->s->m.clk,
				 .irq = irq_line(&f->rec.chip, 8),
				 .base_epoch = base, .slew = slew };
	f->rtc = rtc_new(&rc);
	assert_non_null(f->rtc);
	simfx_pio_register(f->s, RTC_PORT_BASE, RTC_NPORTS, rtc_access, f->rtc,
			   "rtc");
	return f;
}

static inline struct fx *fx_new(int64_t base, bool record)
{
	return fx_new_slew(base, record, false);
}

static inline void fx_free(struct fx *f)
{
	rtc_free(f->rtc);
	sim_free(f->s);
	free(f);
}

static inline int setup(void **state)
{
	*state = fx_new(T_2026_11_22_134530, false);
	return 0;
}

static inline int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static inline uint8_t rd(struct fx *f, uint8_t idx)
{
	sim_pio_write(f->s, 0x70, 1, idx);
	return (uint8_t)sim_pio_read(f->s, 0x71, 1);
}

static inline void wr(struct fx *f, uint8_t idx, uint8_t v)
{
	sim_pio_write(f->s, 0x70, 1, idx);
	sim_pio_write(f->s, 0x71, 1, v);
}

/* Advance virtual time to exactly t. */
static inline void step_to(struct fx *f, uint64_t t)
{
	simfx_step_to(f->s, t);
}

static inline uint64_t per_cycles(unsigned rs)
{
	return rs <= 2 ? 64u << rs : 1u << (rs - 1);
}

/* Tick k of rate rs, counted from the divider origin. */
static inline uint64_t per_tick_ns(uint64_t origin, unsigned rs, uint64_t k)
{
	unsigned __int128 n = (unsigned __int128)k * per_cycles(rs) * SEC;

	return origin + (uint64_t)((n + 32767) / 32768);
}

#endif
