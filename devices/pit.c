/* Intel 8254 PIT model (datasheet 231164, "Modes" and "Read-Back
 * Command").  Each counter is described by the tick at which its counting
 * element was loaded with count N; its count and OUT are pure functions of
 * d = ticks since then.  Like KVM's and QEMU's PITs we load the counting
 * element at the write itself, not one CLK pulse later (838 ns). */
#include "pit.h"

#include <stdlib.h>

#include "core/log.h"

#define NS_PER_SEC 1000000000ull

/* Control word (datasheet Figure 8). */
#define CW_SC_SHIFT 6
#define CW_RW_SHIFT 4
#define CW_RW_LATCH 0
#define CW_RW_LSB 1
#define CW_RW_MSB 2
#define CW_RW_WORD 3
#define CW_READBACK 3 /* SC = 11 */
#define RB_NO_COUNT 0x20
#define RB_NO_STATUS 0x10
#define ST_OUT 0x80
#define ST_NULL 0x40

#define P61_GATE2 0x01
#define P61_RW_MASK 0x0f
#define P61_REFRESH 0x10
#define P61_OUT2 0x20
#define REFRESH_NS 15085u /* DRAM refresh request period on the PC/AT */

struct pit_chan {
	uint8_t mode;      /* effective mode 0-5 */
	uint8_t mode_raw;  /* M2-M0 as written (6/7 alias 2/3), for status */
	uint8_t rw, bcd;
	bool gate;
	bool loaded;       /* a count has been loaded since the control word */
	bool running;      /* the counting element is counting */
	bool triggered;    /* modes 1/5: a gate trigger started counting */
	bool null_count;
	bool wr_msb, rd_msb; /* word access flip-flops */
	uint8_t wr_lsb;
	uint32_t n;        /* count in the counting element: 1..65536/10000 */
	uint32_t n_cr;     /* count register, decoded: used at next (re)load */
	uint64_t load_tick;
	uint64_t d_frozen; /* ticks counted when not running */
	uint16_t ce_stale; /* what the counter shows before any count */
	bool pend;         /* modes 2/3: n_cr takes over at pend_tick */
	uint64_t pend_tick;
	bool count_latched, status_latched;
	uint16_t latch;
	uint8_t status;
	/* Channel 0 edge accounting (IRQ0). */
	uint64_t k_done;   /* rising edges delivered in the current load */
	uint64_t owed;     /* edges of a previous load not yet delivered */
};

struct pit {
	struct pit_config cfg;
	struct clk_timer timer;
	struct pit_chan ch[3];
	uint8_t port61;
	unsigned backlog;
	uint64_t last_pulse_ns;
	struct log_rl rl;
};

static uint64_t ticks_at(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_FREQ_HZ / NS_PER_SEC);
}

/* First nanosecond at which tick k has happened. */
static uint64_t tick_ns(uint64_t k)
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

static uint64_t chan_d(const struct pit_chan *c, uint64_t t)
{
	return c->running ? t - c->load_tick : c->d_frozen;
}

/* OUT rising edges since the load, at d ticks (where IRQ0 pulses). */
static uint64_t chan_edges(const struct pit_chan *c, uint64_t d)
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
static uint64_t chan_next_edge(const struct pit_chan *c, uint64_t d)
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
static void chan_sync(struct pit_chan *c, uint64_t t)
{
	if (!c->pend || !c->running || t < c->pend_tick)
		return;
	c->owed += chan_edges(c, c->pend_tick - c->load_tick) - c->k_done;
	c->k_done = 0;
	c->n = c->n_cr;
	c->load_tick = c->pend_tick;
	c->pend = false;
	c->null_count = false;
}

static int chan_out(const struct pit_chan *c, uint64_t t)
{
	uint64_t d = chan_d(c, t);

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
	uint64_t d = chan_d(c, t), m = chan_modulus(c), v;

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

static void chan_control(struct pit_chan *c, uint8_t cw, uint64_t t)
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

static void chan_write_count(struct pit_chan *c, uint16_t v, uint64_t t)
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

static void chan_write(struct pit_chan *c, uint8_t b, uint64_t t)
{
	switch (c->rw) {
	case CW_RW_LSB:
		chan_write_count(c, b, t);
		break;
	case CW_RW_MSB:
		chan_write_count(c, (uint16_t)(b << 8), t);
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
			chan_write_count(c, (uint16_t)(c->wr_lsb | b << 8), t);
		}
		break;
	}
}

static uint8_t chan_read(struct pit_chan *c, uint64_t t)
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

static void chan_latch_count(struct pit_chan *c, uint64_t t)
{
	/* A second latch before the first is read is ignored. */
	if (c->count_latched)
		return;
	c->latch = chan_count(c, t);
	c->count_latched = true;
}

static void chan_latch_status(struct pit_chan *c, uint64_t t)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)((chan_out(c, t) ? ST_OUT : 0) |
			      (c->null_count ? ST_NULL : 0) |
			      c->rw << CW_RW_SHIFT | c->mode_raw << 1 | c->bcd);
	c->status_latched = true;
}

/* Gate input (only channel 2's is wired, through port 0x61). */
static void chan_set_gate(struct pit_chan *c, bool gate, uint64_t t)
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

/* --- IRQ0 --- */

static uint64_t period_ns(const struct pit_chan *c)
{
	return (uint64_t)c->n * NS_PER_SEC / PIT_FREQ_HZ;
}

static bool chan_periodic(const struct pit_chan *c)
{
	return c->loaded && (c->mode == 2 || c->mode == 3);
}

static void pit_pulse(struct pit *pit, uint64_t now)
{
	irq_pulse(&pit->cfg.irq);
	pit->last_pulse_ns = now;
}

/* Deliver channel 0's rising edges that are due at now.  More than one
 * due means the timer ran late (or the rate is capped): lost ticks. */
static void pit_service(struct pit *pit, uint64_t now, bool from_timer)
{
	struct pit_chan *c = &pit->ch[0];
	uint64_t t = ticks_at(now), e, due;

	chan_sync(c, t);
	e = chan_edges(c, chan_d(c, t));
	due = c->owed + (e > c->k_done ? e - c->k_done : 0);
	c->owed = 0;
	c->k_done = e > c->k_done ? e : c->k_done;
	if (due) {
		if (due > 1 && pit->cfg.lost_tick_policy == PIT_LOST_TICK_DELAY &&
		    period_ns(c) >= PIT_MIN_IRQ_NS) {
			uint64_t b = pit->backlog + due - 1;

			if (b > PIT_MAX_BACKLOG) {
				log_rl(pit->cfg.log, &pit->rl, LOG_WARN,
				       "pit: %llu ticks behind, dropping the excess",
				       (unsigned long long)b);
				b = PIT_MAX_BACKLOG;
			}
			pit->backlog = (unsigned)b;
		}
		pit_pulse(pit, now);
	} else if (from_timer && pit->backlog) {
		pit->backlog--;
		pit_pulse(pit, now);
	}
	if (!chan_periodic(c))
		pit->backlog = 0;
}

static void pit_rearm(struct pit *pit, uint64_t now)
{
	struct pit_chan *c = &pit->ch[0];
	uint64_t t = ticks_at(now), nd, deadline = UINT64_MAX;

	nd = chan_next_edge(c, chan_d(c, t));
	if (nd) {
		deadline = tick_ns(c->load_tick + nd);
		if (chan_periodic(c) && period_ns(c) < PIT_MIN_IRQ_NS &&
		    deadline < pit->last_pulse_ns + PIT_MIN_IRQ_NS)
			deadline = pit->last_pulse_ns + PIT_MIN_IRQ_NS;
	}
	if (pit->backlog && chan_periodic(c)) {
		uint64_t catchup = now + period_ns(c) / 2;

		if (catchup < deadline)
			deadline = catchup;
	}
	if (deadline == UINT64_MAX)
		clk_timer_cancel(pit->cfg.clk, &pit->timer);
	else
		clk_timer_arm(pit->cfg.clk, &pit->timer, deadline);
}

static void pit_timer_fire(void *arg, uint64_t now_ns)
{
	struct pit *pit = arg;

	pit_service(pit, now_ns, true);
	pit_rearm(pit, now_ns);
}

/* --- bus --- */

static void pit_write_control(struct pit *pit, uint8_t v, uint64_t t)
{
	unsigned sc = v >> CW_SC_SHIFT;

	if (sc == CW_READBACK) {
		for (unsigned i = 0; i < 3; i++) {
			if (!(v & (2u << i)))
				continue;
			chan_sync(&pit->ch[i], t);
			if (!(v & RB_NO_COUNT))
				chan_latch_count(&pit->ch[i], t);
			if (!(v & RB_NO_STATUS))
				chan_latch_status(&pit->ch[i], t);
		}
		return;
	}
	chan_sync(&pit->ch[sc], t);
	if (((v >> CW_RW_SHIFT) & 3) == CW_RW_LATCH)
		chan_latch_count(&pit->ch[sc], t);
	else
		chan_control(&pit->ch[sc], v, t);
}

int pit_access(void *dev, uint64_t offset, void *data, unsigned len,
	       bool is_write)
{
	struct pit *pit = dev;
	uint8_t *p = data;
	uint64_t now = clk_now_ns(pit->cfg.clk), t = ticks_at(now);
	int out0;

	pit_service(pit, now, false);
	out0 = chan_out(&pit->ch[0], t);
	for (unsigned i = 0; i < len; i++) {
		uint64_t port = offset + i;

		if (port > 3) {
			if (!is_write)
				p[i] = 0xff;
		} else if (port == 3) {
			if (is_write)
				pit_write_control(pit, p[i], t);
			else
				p[i] = 0xff; /* control word: write-only */
		} else {
			chan_sync(&pit->ch[port], t);
			if (is_write)
				chan_write(&pit->ch[port], p[i], t);
			else
				p[i] = chan_read(&pit->ch[port], t);
		}
	}
	/* A control word or count write that raises OUT0 (say mode 0 to
	 * mode 2) is a real rising edge at the PIC. */
	if (!out0 && chan_out(&pit->ch[0], t))
		pit_pulse(pit, now);
	pit_rearm(pit, now);
	return 0;
}

int pit_port61_access(void *dev, uint64_t offset, void *data, unsigned len,
		      bool is_write)
{
	struct pit *pit = dev;
	uint8_t *p = data;
	uint64_t now = clk_now_ns(pit->cfg.clk), t = ticks_at(now);
	struct pit_chan *c2 = &pit->ch[2];

	for (unsigned i = 0; i < len; i++) {
		if (offset + i != 0) {
			if (!is_write)
				p[i] = 0xff;
			continue;
		}
		chan_sync(c2, t);
		if (is_write) {
			pit->port61 = p[i] & P61_RW_MASK;
			chan_set_gate(c2, p[i] & P61_GATE2, t);
		} else {
			/* Bits 6/7 (IOCHK, parity errors) never occur. */
			p[i] = (uint8_t)(pit->port61 |
					 ((now / REFRESH_NS) & 1 ? P61_REFRESH : 0) |
					 (chan_out(c2, t) ? P61_OUT2 : 0));
		}
	}
	return 0;
}

int pit_channel_out(struct pit *pit, unsigned ch)
{
	uint64_t t = ticks_at(clk_now_ns(pit->cfg.clk));

	if (ch > 2)
		return -1;
	chan_sync(&pit->ch[ch], t);
	return chan_out(&pit->ch[ch], t);
}

unsigned pit_backlog(const struct pit *pit)
{
	return pit->backlog;
}

void pit_reset(struct pit *pit)
{
	uint64_t now = clk_now_ns(pit->cfg.clk), t = ticks_at(now);

	pit->port61 = 0;
	pit->backlog = 0;
	pit->last_pulse_ns = now;
	for (unsigned i = 0; i < 3; i++) {
		struct pit_chan *c = &pit->ch[i];

		chan_control(c, 3 << CW_RW_SHIFT | 3 << 1, t);
		c->ce_stale = 0;
		c->gate = i != 2;
		c->owed = 0;
		chan_write_count(c, 0, t);
	}
	pit_rearm(pit, now);
}

struct pit *pit_new(const struct pit_config *cfg)
{
	struct pit *pit;

	if (!cfg->clk)
		return NULL;
	pit = calloc(1, sizeof(*pit));
	if (!pit)
		return NULL;
	pit->cfg = *cfg;
	clk_timer_init(&pit->timer, pit_timer_fire, pit);
	pit_reset(pit);
	return pit;
}

void pit_free(struct pit *pit)
{
	if (!pit)
		return;
	clk_timer_cancel(pit->cfg.clk, &pit->timer);
	free(pit);
}
