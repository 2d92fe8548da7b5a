/* Intel 8254 PIT device: the I/O ports (0x40-0x43 and port 0x61), IRQ0
 * from channel 0 on a virtual-time timer with a lost-tick policy, reset
 * and lifecycle.  The counters themselves are in pit_chan.c. */
#include "pit_priv.h"

#include <stdlib.h>

#include "core/log.h"
#include <string.h>
#include "core/snapshot.h"

/* Port 0x61, PC/AT system control port B: bits 0-3 read back as written
 * (bit 0 is channel 2's gate), bit 4 toggles with DRAM refresh, bit 5 is
 * channel 2's OUT. */
#define P61_GATE2 0x01
#define P61_RW_MASK 0x0f
#define P61_REFRESH 0x10
#define P61_OUT2 0x20
#define REFRESH_NS 15085u /* DRAM refresh request period on the PC/AT */

struct pit {
	struct pit_config cfg;
	struct clk_timer timer;
	struct pit_chan ch[3];
	uint8_t port61;
	unsigned backlog;
	uint64_t last_pulse_ns;
	struct log_rl rl;
};

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
	uint64_t t = pit_ticks_at(now), e, due;

	pit_chan_sync(c, t);
	e = pit_chan_edges(c, pit_chan_d(c, t));
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
	uint64_t t = pit_ticks_at(now), nd, deadline = UINT64_MAX;

	nd = pit_chan_next_edge(c, pit_chan_d(c, t));
	if (nd) {
		deadline = pit_tick_ns(c->load_tick + nd);
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
			pit_chan_sync(&pit->ch[i], t);
			if (!(v & RB_NO_COUNT))
				pit_chan_latch_count(&pit->ch[i], t);
			if (!(v & RB_NO_STATUS))
				pit_chan_latch_status(&pit->ch[i], t);
		}
		return;
	}
	pit_chan_sync(&pit->ch[sc], t);
	if (((v >> CW_RW_SHIFT) & 3) == CW_RW_LATCH)
		pit_chan_latch_count(&pit->ch[sc], t);
	else
		pit_chan_control(&pit->ch[sc], v, t);
}

int pit_access(void *dev, uint64_t offset, void *data, unsigned len,
	       bool is_write)
{
	struct pit *pit = dev;
	uint8_t *p = data;
	uint64_t now = clk_now_ns(pit->cfg.clk), t = pit_ticks_at(now);
	int out0;

	pit_service(pit, now, false);
	out0 = pit_chan_out(&pit->ch[0], t);
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
			pit_chan_sync(&pit->ch[port], t);
			if (is_write)
				pit_chan_write(&pit->ch[port], p[i], t);
			else
				p[i] = pit_chan_read(&pit->ch[port], t);
		}
	}
	/* A control word or count write that raises OUT0 (say mode 0 to
	 * mode 2) is a real rising edge at the PIC. */
	if (!out0 && pit_chan_out(&pit->ch[0], t))
		pit_pulse(pit, now);
	pit_rearm(pit, now);
	return 0;
}

int pit_port61_access(void *dev, uint64_t offset, void *data, unsigned len,
		      bool is_write)
{
	struct pit *pit = dev;
	uint8_t *p = data;
	uint64_t now = clk_now_ns(pit->cfg.clk), t = pit_ticks_at(now);
	struct pit_chan *c2 = &pit->ch[2];

	for (unsigned i = 0; i < len; i++) {
		if (offset + i != 0) {
			if (!is_write)
				p[i] = 0xff;
			continue;
		}
		pit_chan_sync(c2, t);
		if (is_write) {
			pit->port61 = p[i] & P61_RW_MASK;
			pit_chan_set_gate(c2, p[i] & P61_GATE2, t);
		} else {
			/* Bits 6/7 (IOCHK, parity errors) never occur. */
			p[i] = (uint8_t)(pit->port61 |
					 ((now / REFRESH_NS) & 1 ? P61_REFRESH : 0) |
					 (pit_chan_out(c2, t) ? P61_OUT2 : 0));
		}
	}
	return 0;
}

int pit_channel_out(struct pit *pit, unsigned ch)
{
	uint64_t t = pit_ticks_at(clk_now_ns(pit->cfg.clk));

	if (ch > 2)
		return -1;
	pit_chan_sync(&pit->ch[ch], t);
	return pit_chan_out(&pit->ch[ch], t);
}

unsigned pit_backlog(const struct pit *pit)
{
	return pit->backlog;
}

void pit_reset(struct pit *pit)
{
	uint64_t now = clk_now_ns(pit->cfg.clk), t = pit_ticks_at(now);

	pit->port61 = 0;
	pit->backlog = 0;
	pit->last_pulse_ns = now;
	for (unsigned i = 0; i < 3; i++) {
		struct pit_chan *c = &pit->ch[i];

		pit_chan_control(c, 3 << CW_RW_SHIFT | 3 << 1, t);
		c->ce_stale = 0;
		c->gate = i != 2;
		c->owed = 0;
		pit_chan_write_count(c, 0, t);
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

/* ---- snapshot (docs/snapshot.md "PIT") ----
 * Every channel's programming and counting state, port 0x61, channel 0's
 * owed IRQ0 edges and the timer.  Counting state is in PIT input ticks
 * from clk time; a restore's time shift moves them by whole ticks. */

#define CH_FIELDS 24

static void chan_save(struct snap_w *w, const char *name, const struct pit_chan *c)
{
	snap_w_begin(w, name, 1);
	const uint8_t b[] = { c->mode, c->mode_raw, c->rw, c->bcd, c->gate,
			      c->loaded, c->running, c->triggered, c->null_count,
			      c->wr_msb, c->rd_msb, c->wr_lsb, c->pend,
			      c->count_latched, c->status_latched, c->status };
	snap_w_bytes(w, "flags", b, sizeof(b));
	snap_w_u32(w, "n", c->n);
	snap_w_u32(w, "n_cr", c->n_cr);
	snap_w_u64(w, "load_tick", c->load_tick);
	snap_w_u64(w, "d_frozen", c->d_frozen);
	snap_w_u16(w, "ce_stale", c->ce_stale);
	snap_w_u64(w, "pend_tick", c->pend_tick);
	snap_w_u16(w, "latch", c->latch);
	snap_w_u64(w, "k_done", c->k_done);
	snap_w_u64(w, "owed", c->owed);
	snap_w_end(w);
}

static void chan_load(struct snap_r *r, const char *name, struct pit_chan *c,
		      int64_t tick_shift)
{
	uint8_t b[16] = { 0 };
	snap_r_begin(r, name, 1, NULL);
	snap_r_bytes(r, "flags", b, sizeof(b));
	snap_r_u32(r, "n", &c->n);
	snap_r_u32(r, "n_cr", &c->n_cr);
	snap_r_u64(r, "load_tick", &c->load_tick);
	snap_r_u64(r, "d_frozen", &c->d_frozen);
	snap_r_u16(r, "ce_stale", &c->ce_stale);
	snap_r_u64(r, "pend_tick", &c->pend_tick);
	snap_r_u16(r, "latch", &c->latch);
	snap_r_u64(r, "k_done", &c->k_done);
	snap_r_u64(r, "owed", &c->owed);
	bool bools = true;
	for (unsigned i = 4; i <= 14; i++)
		bools &= i == 11 || b[i] <= 1;
	snap_r_check(r, bools, "flags", "a flag other than 0 or 1");
	snap_r_check(r, b[0] <= 5 && b[1] <= 7, "flags", "mode beyond 5");
	snap_r_check(r, b[2] >= 1 && b[2] <= 3, "flags", "access mode not 1..3");
	/* A count of 0 means 65536 (binary) or 10000 (BCD), datasheet. */
	snap_r_check(r, c->n <= 65536 && c->n_cr <= 65536, "n",
		     "count beyond 65536");
	c->mode = b[0];
	c->mode_raw = b[1];
	c->rw = b[2];
	c->bcd = b[3];
	c->gate = b[4];
	c->loaded = b[5];
	c->running = b[6];
	c->triggered = b[7];
	c->null_count = b[8];
	c->wr_msb = b[9];
	c->rd_msb = b[10];
	c->wr_lsb = b[11];
	c->pend = b[12];
	c->count_latched = b[13];
	c->status_latched = b[14];
	c->status = b[15];
	c->load_tick += (uint64_t)tick_shift;
	c->pend_tick += (uint64_t)tick_shift;
	snap_r_end(r);
}

int pit_save(const struct pit *pit, struct snap_w *w)
{
	snap_w_begin(w, "pit", 1);
	chan_save(w, "ch0", &pit->ch[0]);
	chan_save(w, "ch1", &pit->ch[1]);
	chan_save(w, "ch2", &pit->ch[2]);
	snap_w_u8(w, "port61", pit->port61);
	snap_w_u32(w, "backlog", pit->backlog);
	snap_w_time(w, "last_pulse_ns", pit->last_pulse_ns);
	snap_w_timer(w, "timer", &pit->timer);
	snap_w_end(w);
	return 0;
}

int pit_load(struct pit *pit, struct snap_r *r)
{
	struct pit_chan ch[3];
	uint8_t p61 = 0;
	uint32_t backlog = 0;
	uint64_t last = 0;
	struct snap_timer t;
	int64_t sh = snap_r_time_shift(r);
	int64_t tick_shift = sh >= 0 ? (int64_t)pit_ticks_at((uint64_t)sh) :
				       -(int64_t)pit_ticks_at((uint64_t)-sh);
	memset(ch, 0, sizeof(ch));
	snap_r_begin(r, "pit", 1, NULL);
	chan_load(r, "ch0", &ch[0], tick_shift);
	chan_load(r, "ch1", &ch[1], tick_shift);
	chan_load(r, "ch2", &ch[2], tick_shift);
	snap_r_u8(r, "port61", &p61);
	snap_r_u32(r, "backlog", &backlog);
	snap_r_time(r, "last_pulse_ns", &last);
	snap_r_timer(r, "timer", &t);
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	memcpy(pit->ch, ch, sizeof(ch));
	pit->port61 = p61;
	pit->backlog = backlog;
	pit->last_pulse_ns = last;
	snap_timer_apply(&t, pit->cfg.clk, &pit->timer);
	return 0;
}
