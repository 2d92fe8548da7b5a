/* One Intel 8254 counter (datasheet 231164, "Modes" and "Read-Back
 * Command").  Each counter is described by the tick at which its counting
 * element was loaded with count N; its count and OUT are pure functions of
 * d = ticks since then.  Like KVM's and QEMU's PITs we load the counting
 * element at the write itself, not one CLK pulse later (838 ns).  The
 * device around the counters (ports, IRQ0 timer) is in pit.c. */
#include "pit_priv.h"

uint64_t pit_ticks_at(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_FREQ_HZ / NS_PER_SEC);
}

/* First nanosecond at which tick k has happened. */
uint64_t pit_tick_ns(uint64_t k)
{
	return (uint64_t)(((unsigned __int128)k * NS_PER_SEC + PIT_FREQ_HZ - 1) /
			  PIT_FREQ_HZ);
}

static uint32_t chan_modulus(const struct pit_chan *c)
{
	return c->bcd ? 10000 : 65536;
}

/* The count register in the counter's number system; 0 is the largest
 * count (2^16, or 10^4 in BCD).  Invalid BCD digits count at face value
 * (the datasheet leaves them undefined). */
static uint32_t chan_decode(const struct pit_chan *c, uint16_t v)
{
	uint32_t n;

	if (!c->bcd)
		return v ? v : 65536;
	n = (uint32_t)((v >> 12) * 1000 + ((v >> 8) & 15) * 100 +
		       ((v >> 4) & 15) * 10 + (v & 15)) % 10000;
	return n ? n : 10000;
}

static uint16_t chan_encode(const struct pit_chan *c, uint32_t v)
{
	if (!c->bcd)
		return (uint16_t)v;
	v %= 10000;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 |
			  (v / 10 % 10) << 4 | (v % 10));
}

uint64_t pit_chan_d(const struct pit_chan *c, uint64_t t)
{
	return c->running ? t - c->load_tick : c->d_frozen;
}

/* OUT rising edges since the load, at d ticks (where IRQ0 pulses). */
uint64_t pit_chan_edges(const struct pit_chan *c, uint64_t d)
{
	if (!c->loaded || ((c->mode == 1 || c->mode == 5) && !c->triggered))
		return 0;
	switch (c->mode) {
	case 2:
	case 3:
		return c->gate ? d / c->n : 0;
	case 0:
	case 1:
		return d >= c->n;
	default: /* 4, 5: OUT low for one tick when the count reaches 0 */
		return d >= (uint64_t)c->n + 1;
	}
}

/* d of the next rising edge after d, or 0 when none will come. */
uint64_t pit_chan_next_edge(const struct pit_chan *c, uint64_t d)
{
	if (!c->loaded || !c->running)
		return 0;
	switch (c->mode) {
	case 2:
	case 3:
		return c->gate ? (d / c->n + 1) * c->n : 0;
	case 0:
	case 1:
		return d < c->n ? c->n : 0;
	default:
		return d < (uint64_t)c->n + 1 ? (uint64_t)c->n + 1 : 0;
	}
}

/* Mode 2/3 reprogrammed mid-count: the new count takes over at the end of
 * the current period (datasheet mode 2, "new count ... next period"). */
void pit_chan_sync(struct pit_chan *c, uint64_t t)
{
	if (!c->pend || !c->running || t < c->pend_tick)
		return;
	c->owed += pit_chan_edges(c, c->pend_tick - c->load_tick) - c->k_done;
	c->k_done = 0;
	c->n = c->n_cr;
	c->load_tick = c->pend_tick;
	c->pend = false;
	c->null_count = false;
}

int pit_chan_out(const struct pit_chan *c, uint64_t t)
{
	uint64_t d = pit_chan_d(c, t);

	if (!c->loaded)
		return c->mode != 0; /* control word: mode 0 low, others high */
	switch (c->mode) {
	case 0:
		return d >= c->n;
	case 1:
		return !c->triggered || d >= c->n;
	case 2:
		return !c->gate || d % c->n != c->n - 1;
	case 3:
		return !c->gate || d % c->n < (c->n + 1) / 2;
	default:
		return !(c->mode == 4 || c->triggered) || d != c->n;
	}
}

static uint16_t chan_count(const struct pit_chan *c, uint64_t t)
{
	uint64_t d = pit_chan_d(c, t), m = chan_modulus(c), v;

	if (!c->loaded || ((c->mode == 1 || c->mode == 5) && !c->triggered))
		return c->ce_stale;
	switch (c->mode) {
	case 2:
		v = c->n - d % c->n;
		break;
	case 3:
		/* Decrements by two, twice per period. */
		v = c->n - (2 * d) % c->n;
		break;
	default:
		v = (c->n + m - d % m) % m;
		break;
	}
	return chan_encode(c, (uint32_t)(v % m));
}

static void chan_set_running(struct pit_chan *c, uint64_t t, bool run)
{
	if (run == c->running)
		return;
	if (run)
		c->load_tick = t - c->d_frozen;
	else
		c->d_frozen = t - c->load_tick;
	c->running = run;
}

/* (Re)load the counting element with n_cr at tick t. */
static void chan_load(struct pit_chan *c, uint64_t t, bool run)
{
	c->n = c->n_cr;
	c->load_tick = t;
	c->d_frozen = 0;
	c->running = run;
	c->loaded = true;
	c->pend = false;
	c->null_count = false;
	c->k_done = 0;
}

void pit_chan_control(struct pit_chan *c, uint8_t cw, uint64_t t)
{
	uint8_t mode = (cw >> 1) & 7;

	c->ce_stale = chan_count(c, t);
	c->mode_raw = mode;
	c->mode = mode > 5 ? mode - 4 : mode;
	c->rw = (cw >> CW_RW_SHIFT) & 3;
	c->bcd = cw & 1;
	c->loaded = c->running = c->triggered = c->pend = false;
	c->wr_msb = c->rd_msb = false;
	c->count_latched = c->status_latched = false;
	c->null_count = true;
	c->k_done = 0;
}

void pit_chan_write_count(struct pit_chan *c, uint16_t v, uint64_t t)
{
	c->n_cr = chan_decode(c, v);
	c->null_count = true;
	switch (c->mode) {
	case 0:
	case 4:
		/* Counting restarts from the new count (gate permitting). */
		chan_load(c, t, c->gate);
		break;
	case 1:
	case 5:
		/* Waits for a gate trigger; a one-shot in progress goes on. */
		c->loaded = true;
		break;
	default:
		if (!c->loaded) {
			chan_load(c, t, c->gate);
		} else if (c->running) {
			uint64_t d = t - c->load_tick;

			c->pend = true;
			c->pend_tick = c->load_tick + (d / c->n + 1) * c->n;
		}
		break;
	}
}

void pit_chan_write(struct pit_chan *c, uint8_t b, uint64_t t)
{
	switch (c->rw) {
	case CW_RW_LSB:
		pit_chan_write_count(c, b, t);
		break;
	case CW_RW_MSB:
		pit_chan_write_count(c, (uint16_t)(b << 8), t);
		break;
	default:
		if (!c->wr_msb) {
			c->wr_lsb = b;
			c->wr_msb = true;
			if (c->mode == 0) {
				/* Mode 0: writing the first byte stops the
				 * count and sets OUT low at once. */
				c->ce_stale = chan_count(c, t);
				c->loaded = c->running = false;
			}
		} else {
			c->wr_msb = false;
			pit_chan_write_count(c, (uint16_t)(c->wr_lsb | b << 8), t);
		}
		break;
	}
}

uint8_t pit_chan_read(struct pit_chan *c, uint64_t t)
{
	uint16_t v;
	uint8_t b;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	v = c->count_latched ? c->latch : chan_count(c, t);
	switch (c->rw) {
	case CW_RW_MSB:
		b = (uint8_t)(v >> 8);
		c->count_latched = false;
		break;
	case CW_RW_WORD:
		b = c->rd_msb ? (uint8_t)(v >> 8) : (uint8_t)v;
		if (c->rd_msb)
			c->count_latched = false;
		c->rd_msb = !c->rd_msb;
		break;
	default: /* LSB only; RW=00 is never stored */
		b = (uint8_t)v;
		c->count_latched = false;
		break;
	}
	return b;
}

void pit_chan_latch_count(struct pit_chan *c, uint64_t t)
{
	/* A second latch before the first is read is ignored. */
	if (c->count_latched)
		return;
	c->latch = chan_count(c, t);
	c->count_latched = true;
}

void pit_chan_latch_status(struct pit_chan *c, uint64_t t)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)((pit_chan_out(c, t) ? ST_OUT : 0) |
			      (c->null_count ? ST_NULL : 0) |
			      c->rw << CW_RW_SHIFT | c->mode_raw << 1 | c->bcd);
	c->status_latched = true;
}

/* Gate input (only channel 2's is wired, through port 0x61). */
void pit_chan_set_gate(struct pit_chan *c, bool gate, uint64_t t)
{
	bool rising = gate && !c->gate;

	c->gate = gate;
	if (!c->loaded)
		return;
	switch (c->mode) {
	case 0:
	case 4:
		chan_set_running(c, t, gate); /* gate low suspends counting */
		break;
	case 1:
	case 5:
		if (rising) { /* trigger: (re)start the one-shot */
			chan_load(c, t, true);
			c->triggered = true;
		}
		break;
	default:
		/* Low: counting stops and OUT goes high; rising: reload. */
		if (rising)
			chan_load(c, t, true);
		else if (!gate)
			chan_set_running(c, t, false);
		break;
	}
}
