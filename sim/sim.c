/* The simulated machine: wires heap gm, two buses, a virtual clock on a
 * timerq, a recording interrupt controller and a recording machine_ctl into
 * a struct machine, and logs every observable event.
 *
 * Determinism: time moves only in sim_clock_step; timers fire in
 * (deadline, arm order); nothing reads the host clock or host randomness;
 * the event log is built from values only (never pointers), so the digest
 * is the same on every host. */
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/bus.h"
#include "core/gm.h"
#include "core/log.h"
#include "core/snapshot.h"
#include "core/timerq.h"
#include "sim/sim_priv.h"

#define SIM_DEFAULT_RAM (64ull << 20)
/* Below the 32-bit PCI hole the machine layout starts at, and far below
 * what any allocator can hand out: a larger request is a typo. */
#define SIM_MAX_RAM (3ull << 30)

struct timerq *sim_timerq(struct sim *s)
{
	return &sim_p(s)->q;
}

void sim_set_recording(struct sim *s, bool on)
{
	sim_p(s)->record = on;
}

bool sim_recording(const struct sim *s)
{
	return sim_p(s)->record;
}

void sim_set_point_hook(struct sim *s, sim_point_fn fn, void *opaque)
{
	sim_p(s)->point_fn = fn;
	sim_p(s)->point_opaque = opaque;
	sim_p(s)->points = 0;
}

/* Between two guest accesses or timer firings: the vCPUs are "stopped"
 * and no device code is on the stack, the state a snapshot sees. */
static void sim_point(struct sim *s)
{
	struct sim_priv *p = sim_p(s);
	if (!p->point_fn || p->in_point)
		return;
	p->in_point = true;
	p->point_fn(p->point_opaque, s, p->points++);
	p->in_point = false;
}


static void sim_record(struct sim *s, uint32_t kind, uint32_t len_or_level,
		       uint64_t addr, uint64_t data, uint32_t is_write,
		       uint32_t rc)
{
	struct sim_priv *p = sim_p(s);
	if (!p->record)
		return;
	if (p->nev == p->cap) {
		if (p->cap >= SIM_MAX_EVENTS) {
			p->dropped++;
			return;
		}
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct sim_event *e = realloc(p->ev, cap * sizeof(*e));
		if (!e) {
			p->dropped++;
			return;
		}
		p->ev = e;
		p->cap = cap;
	}
	struct sim_event *e = &p->ev[p->nev++];
	memset(e, 0, sizeof(*e));
	e->time_ns = s->now_ns;
	e->kind = kind;
	e->len_or_level = len_or_level;
	e->addr = addr;
	e->data = data;
	e->is_write = is_write;
	e->rc = rc;
}

/* ---- virtual clock ---- */

static uint64_t sim_clk_now(void *opaque)
{
	return ((struct sim *)opaque)->now_ns;
}

static void sim_clk_arm(void *opaque, struct clk_timer *t, uint64_t deadline)
{
	struct sim *s = opaque;
	/* A deadline in the past means "as soon as possible": clamp to now
	 * so it still sorts after timers already due at now (arm order). */
	if (deadline < s->now_ns)
		deadline = s->now_ns;
	if (timerq_arm(&sim_p(s)->q, t, deadline) != 0)
		log_err(s->m.log, "sim: out of memory arming a timer");
}

static void sim_clk_arm_seq(void *opaque, struct clk_timer *t,
			    uint64_t deadline, uint64_t seq)
{
	struct sim *s = opaque;
	if (timerq_arm_seq(&sim_p(s)->q, t, deadline, seq) != 0)
		log_err(s->m.log, "sim: out of memory arming a timer");
}

static void sim_clk_cancel(void *opaque, struct clk_timer *t)
{
	timerq_cancel(&sim_p((struct sim *)opaque)->q, t);
}

static const struct clk_ops sim_clk_ops = {
	.now_ns = sim_clk_now,
	.timer_arm = sim_clk_arm,
	.timer_cancel = sim_clk_cancel,
	.timer_arm_seq = sim_clk_arm_seq,
};

/* ---- recording interrupt controller ---- */

static void sim_irq_set_level(void *opaque, unsigned gsi, int level)
{
	struct sim *s = opaque;
	uint8_t lv = level ? 1 : 0;
	sim_record(s, SIM_EV_IRQ, lv, gsi, 0, 0, 0);
	if (gsi >= sizeof(s->gsi_level)) {
		log_rl(s->m.log, &sim_p(s)->bad_gsi_rl, LOG_WARN,
		       "sim: interrupt on out-of-range GSI %u", gsi);
		return;
	}
	if (lv && !s->gsi_level[gsi])
		s->gsi_edges[gsi]++;
	s->gsi_level[gsi] = lv;
}

static int sim_irq_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct sim *s = opaque;
	sim_record(s, SIM_EV_MSI, 0, addr, data, 0, 0);
	s->msi_count++;
	s->last_msi_addr = addr;
	s->last_msi_data = data;
	return 0;
}

static const struct irq_chip_ops sim_irq_ops = {
	.set_level = sim_irq_set_level,
	.msi = sim_irq_msi,
};

/* ---- machine requests and bus observer ---- */

static void sim_request(void *opaque, enum machine_event ev, int status)
{
	struct sim *s = opaque;
	sim_record(s, SIM_EV_REQUEST, 0, (uint64_t)ev, (uint64_t)(int64_t)status, 0, 0);
	s->last_request = ev;
	s->last_request_status = status;
}

static void sim_observe(void *opaque, const struct bus *bus, uint64_t addr,
			const void *data, unsigned len, bool is_write, int rc)
{
	struct sim *s = opaque;
	const uint8_t *b = data;
	uint64_t v = 0;
	for (unsigned i = 0; i < len && i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	sim_record(s, bus == s->m.pio ? SIM_EV_PIO : SIM_EV_MMIO, len, addr, v,
		   is_write, (uint32_t)rc);
}

/* ---- lifecycle ---- */

struct sim *sim_new(const struct sim_config *cfg)
{
	struct sim_config def = { 0 };
	if (!cfg)
		cfg = &def;
	struct sim *s = calloc(1, sizeof(*s));
	struct sim_priv *p = calloc(1, sizeof(*p));
	if (!s || !p) {
		free(s);
		free(p);
		return NULL;
	}
	s->priv = p;
	timerq_init(&p->q);
	p->record = cfg->record_events;
	p->clk = (struct clk){ &sim_clk_ops, s };
	p->chip = (struct irq_chip){ &sim_irq_ops, s };
	s->m.log = cfg->log;
	s->m.gm = gm_new();
	s->m.pio = bus_new("pio", cfg->log);
	s->m.mmio = bus_new("mmio", cfg->log);
	uint64_t ram = cfg->ram_size ? cfg->ram_size : SIM_DEFAULT_RAM;
	struct gm_mmap_spec shared = { .kind = GM_MMAP_MEMFD };
	if (!s->m.gm || !s->m.pio || !s->m.mmio || ram > SIM_MAX_RAM ||
	    (cfg->ram_shared ? gm_add_mmap(s->m.gm, 0, ram, &shared, 0, "ram") :
	     gm_add_heap(s->m.gm, 0, ram, 0, "ram")) != 0) {
		log_err(cfg->log, "sim: cannot create machine (%llu bytes of RAM)",
			(unsigned long long)ram);
		sim_free(s);
		return NULL;
	}
	bus_set_observer(s->m.pio, sim_observe, s);
	bus_set_observer(s->m.mmio, sim_observe, s);
	s->m.irqchip = &p->chip;
	s->m.clk = &p->clk;
	s->m.loop = NULL;
	prng_seed(&s->m.prng, cfg->seed);
	s->m.ctl = (struct machine_ctl){ sim_request, s };
	pthread_mutex_init(&s->m.lock, NULL);
	s->last_request = MACHINE_RUNNING;
	return s;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	struct sim_priv *p = sim_p(s);
	if (s->m.irqchip)
		pthread_mutex_destroy(&s->m.lock);
	timerq_destroy(&p->q);
	bus_free(s->m.pio);
	bus_free(s->m.mmio);
	gm_free(s->m.gm);
	free(p->ev);
	free(p);
	free(s);
}

/* ---- time ---- */

/* Timers firing without virtual time moving: beyond this a device is
 * re-arming itself at "now" forever (a zero period it failed to clamp).
 * Stop the step with an error instead of hanging the test or fuzzer. */
#define SIM_MAX_FIRINGS_AT_ONE_TIME (1u << 20)

void sim_clock_step(struct sim *s, uint64_t ns)
{
	struct sim_priv *p = sim_p(s);
	uint64_t target = s->now_ns + ns;
	if (target < s->now_ns)
		target = UINT64_MAX;
	/* Pop one at a time: a firing timer may arm or cancel others, and
	 * any it arms for a time within this step fire in this step. */
	struct clk_timer *t;
	unsigned same_time = 0;
	for (;;) {
		const struct clk_timer *due = timerq_peek(&p->q);
		if (!due || due->deadline > target)
			break;
		sim_point(s);
		/* The point may have restored the machine: its own timers. */
		if (!(t = timerq_pop_due(&p->q, target)))
			break;
		if (t->deadline > s->now_ns) {
			s->now_ns = t->deadline;
			same_time = 0;
		} else if (++same_time > SIM_MAX_FIRINGS_AT_ONE_TIME) {
			log_err(s->m.log, "sim: timers keep firing at %llu ns without time "
				"advancing (a zero-period timer?); step abandoned",
				(unsigned long long)s->now_ns);
			/* Put it back so the state stays consistent. */
			timerq_arm(&p->q, t, s->now_ns);
			return;
		}
		sim_record(s, SIM_EV_TIMER, 0, t->seq, t->deadline, 0, 0);
		t->fn(t->arg, s->now_ns);
	}
	s->now_ns = target;
}

uint64_t sim_next_deadline(const struct sim *s)
{
	const struct clk_timer *t = timerq_peek(&sim_p(s)->q);
	return t ? t->deadline : UINT64_MAX;
}

/* Step in timer-sized increments until cond holds or max_ns passed. */
static bool sim_wait(struct sim *s, uint64_t max_ns,
		     bool (*cond)(const struct sim *, const void *),
		     const void *arg)
{
	uint64_t end = s->now_ns + max_ns;
	if (end < s->now_ns)
		end = UINT64_MAX;
	for (;;) {
		if (cond(s, arg))
			return true;
		if (s->now_ns >= end)
			return false;
		uint64_t next = sim_next_deadline(s);
		uint64_t to = next < end ? next : end;
		if (to < s->now_ns)
			to = s->now_ns;
		sim_clock_step(s, to - s->now_ns);
	}
}

struct sim_irq_wait {
	unsigned gsi;
	uint64_t edges;
};

static bool sim_irq_cond(const struct sim *s, const void *arg)
{
	const struct sim_irq_wait *w = arg;
	return s->gsi_level[w->gsi] || s->gsi_edges[w->gsi] != w->edges;
}

bool sim_wait_irq(struct sim *s, unsigned gsi, uint64_t max_ns)
{
	if (gsi >= sizeof(s->gsi_level))
		return false;
	struct sim_irq_wait w = { gsi, s->gsi_edges[gsi] };
	return sim_wait(s, max_ns, sim_irq_cond, &w);
}

static bool sim_msi_cond(const struct sim *s, const void *arg)
{
	return s->msi_count != *(const uint64_t *)arg;
}

bool sim_wait_msi(struct sim *s, uint64_t max_ns)
{
	uint64_t start = s->msi_count;
	return sim_wait(s, max_ns, sim_msi_cond, &start);
}

/* ---- guest CPU ---- */

uint64_t sim_pio_read(struct sim *s, uint16_t port, unsigned len)
{
	sim_point(s);
	return bus_read(s->m.pio, port, len);
}

void sim_pio_write(struct sim *s, uint16_t port, unsigned len, uint64_t val)
{
	sim_point(s);
	bus_write(s->m.pio, port, len, val);
}

uint64_t sim_mmio_read(struct sim *s, uint64_t addr, unsigned len)
{
	sim_point(s);
	return bus_read(s->m.mmio, addr, len);
}

void sim_mmio_write(struct sim *s, uint64_t addr, unsigned len, uint64_t val)
{
	sim_point(s);
	bus_write(s->m.mmio, addr, len, val);
}

/* ---- snapshots ---- */

int sim_save_state(struct sim *s, struct snap_w *w)
{
	struct sim_priv *p = sim_p(s);
	snap_w_begin(w, "sim", 1);
	snap_w_u64(w, "now_ns", s->now_ns);
	for (int i = 0; i < 4; i++) {
		char f[8] = "prng0";
		f[4] = (char)('0' + i);
		snap_w_u64(w, f, s->m.prng.s[i]);
	}
	snap_w_bytes(w, "gsi_level", s->gsi_level, sizeof(s->gsi_level));
	uint8_t edges[sizeof(s->gsi_edges)];
	for (size_t i = 0; i < 256; i++)
		for (int k = 0; k < 8; k++)
			edges[i * 8 + k] = (uint8_t)(s->gsi_edges[i] >> (8 * k));
	snap_w_bytes(w, "gsi_edges", edges, sizeof(edges));
	snap_w_u64(w, "msi_count", s->msi_count);
	snap_w_u64(w, "last_msi_addr", s->last_msi_addr);
	snap_w_u32(w, "last_msi_data", s->last_msi_data);
	snap_w_u32(w, "last_request", (uint32_t)s->last_request);
	snap_w_u32(w, "last_request_status", (uint32_t)s->last_request_status);
	snap_w_u64(w, "timer_seq", p->q.next_seq);
	snap_w_end(w);
	return 0;
}

int sim_load_state(struct sim *s, struct snap_r *r)
{
	uint64_t now = 0, prng[4] = { 0 }, msi = 0, maddr = 0, seq = 0;
	uint32_t mdata = 0, req = 0, rstat = 0;
	uint8_t level[sizeof(s->gsi_level)], edges[sizeof(s->gsi_edges)];
	snap_r_begin(r, "sim", 1, NULL);
	snap_r_u64(r, "now_ns", &now);
	for (int i = 0; i < 4; i++) {
		char f[8] = "prng0";
		f[4] = (char)('0' + i);
		snap_r_u64(r, f, &prng[i]);
	}
	snap_r_bytes(r, "gsi_level", level, sizeof(level));
	snap_r_bytes(r, "gsi_edges", edges, sizeof(edges));
	snap_r_u64(r, "msi_count", &msi);
	snap_r_u64(r, "last_msi_addr", &maddr);
	snap_r_u32(r, "last_msi_data", &mdata);
	snap_r_u32(r, "last_request", &req);
	snap_r_u32(r, "last_request_status", &rstat);
	snap_r_u64(r, "timer_seq", &seq);
	bool lv_ok = true;
	for (size_t i = 0; i < sizeof(level); i++)
		lv_ok &= level[i] <= 1;
	snap_r_check(r, lv_ok, "gsi_level", "a level other than 0 or 1");
	snap_r_check(r, req <= MACHINE_ERROR, "last_request", "unknown request");
	snap_r_check(r, (prng[0] | prng[1] | prng[2] | prng[3]) != 0, "prng0",
		     "all-zero xoshiro state never recovers");
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	s->now_ns = now;
	for (int i = 0; i < 4; i++)
		s->m.prng.s[i] = prng[i];
	memcpy(s->gsi_level, level, sizeof(level));
	for (size_t i = 0; i < 256; i++) {
		s->gsi_edges[i] = 0;
		for (int k = 0; k < 8; k++)
			s->gsi_edges[i] |= (uint64_t)edges[i * 8 + k] << (8 * k);
	}
	s->msi_count = msi;
	s->last_msi_addr = maddr;
	s->last_msi_data = mdata;
	s->last_request = (enum machine_event)req;
	s->last_request_status = (int)rstat;
	sim_p(s)->restore_seq = seq;
	return 0;
}

void sim_load_finish(struct sim *s)
{
	struct sim_priv *p = sim_p(s);
	if (p->restore_seq > p->q.next_seq)
		p->q.next_seq = p->restore_seq;
}

void sim_renew_buses(struct sim *s)
{
	/* New buses: a freed board leaves its ranges registered (a machine
	 * is normally torn down whole). */
	struct bus *pio = bus_new("pio", s->m.log), *mmio = bus_new("mmio", s->m.log);
	if (pio && mmio) {
		bus_free(s->m.pio);
		bus_free(s->m.mmio);
		s->m.pio = pio;
		s->m.mmio = mmio;
		bus_set_observer(pio, sim_observe, s);
		bus_set_observer(mmio, sim_observe, s);
	} else {
		bus_free(pio);
		bus_free(mmio);
	}
}

void sim_make_fresh(struct sim *s, uint64_t seed)
{
	struct sim_priv *p = sim_p(s);
	timerq_destroy(&p->q);
	s->now_ns = 0;
	memset(s->gsi_level, 0, sizeof(s->gsi_level));
	memset(s->gsi_edges, 0, sizeof(s->gsi_edges));
	s->msi_count = 0;
	s->last_msi_addr = 0;
	s->last_msi_data = 0;
	s->last_request = MACHINE_RUNNING;
	s->last_request_status = 0;
	prng_seed(&s->m.prng, seed);
	sim_renew_buses(s);
	/* Regions a board added (NVDIMMs) go with it; the RAM sim_new made
	 * (region 0, at gpa 0) stays, zeroed. */
	while (gm_region_count(s->m.gm) > 1)
		gm_remove_region(s->m.gm, gm_region_at(s->m.gm, 1)->gpa);
	const struct gm_region *r = gm_region_at(s->m.gm, 0);
	/* Zero only what is not zero: untouched pages stay unfaulted. */
	for (uint64_t off = 0; r && r->host && off < r->size; off += SIM_DIGEST_PAGE) {
		size_t n = r->size - off < SIM_DIGEST_PAGE ? (size_t)(r->size - off) :
			   SIM_DIGEST_PAGE;
		if (!sim_all_zero(r->host + off, n))
			memset(r->host + off, 0, n);
	}
}
