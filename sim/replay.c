/* Replay engine: rebuild the recorded machine on the simulator and walk
 * the trace, dispatching each recorded bus access, timer firing and
 * backend delivery while checkers in place of the interrupt chip, clock,
 * machine requests and guest memory (sim/replay_check.c) take the records
 * the device caused.
 * See sim/replay.h for the model. */
#include "core/snapshot.h"
#include "machine/board_snapshot.h"
#include "sim/replay.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "core/prng.h"
#include "machine/board.h"
#include "sim/replay_int.h"
#include "sim/sim.h"
#include "sim/selftest.h"

const uint8_t *replay_payload(const struct replay *rp, const struct trace_ev *e)
{
	return rp->r->payload[e - rp->r->ev];
}

static uint64_t rp_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void replay_describe(const struct trace_reader *r, size_t i, char *buf,
		     size_t len)
{
	const struct trace_ev *e = &r->ev[i];
	const uint8_t *p = r->payload[i];
	const char *k = trace_kind_name(e->kind);
	switch (e->kind) {
	case TR_BUS:
		snprintf(buf, len, "%s %s 0x%llx %s %llu byte(s) 0x%llx rc %lld",
			 k, e->unit ? "mmio" : "pio", (unsigned long long)e->a,
			 e->d ? "write" : "read", (unsigned long long)e->b,
			 (unsigned long long)rp_le(p, e->size), (long long)e->c);
		break;
	case TR_GM_READ:
	case TR_GM_WRITE:
		snprintf(buf, len, "%s 0x%llx+%u (first bytes 0x%llx)", k,
			 (unsigned long long)e->a, e->size,
			 (unsigned long long)rp_le(p, e->size));
		break;
	case TR_IRQ:
		snprintf(buf, len, "irq gsi %llu level %llu", (unsigned long long)e->a,
			 (unsigned long long)e->b);
		break;
	case TR_MSI:
		snprintf(buf, len, "msi address 0x%llx data 0x%llx",
			 (unsigned long long)e->a, (unsigned long long)e->b);
		break;
	case TR_CLK_READ:
		snprintf(buf, len, "clock read %llu ns", (unsigned long long)e->a);
		break;
	case TR_TIMER_ARM:
	case TR_TIMER_BEGIN:
		snprintf(buf, len, "%s timer %llu at %llu ns", k,
			 (unsigned long long)e->a, (unsigned long long)e->b);
		break;
	case TR_CHR_WRITE:
	case TR_CHR_IN_BEGIN:
		snprintf(buf, len, "%s backend %u, %u byte(s) first 0x%02x", k,
			 e->unit, e->size, e->size ? p[0] : 0);
		break;
	case TR_BLK_READ:
	case TR_BLK_WRITE:
	case TR_BLK_DISCARD:
	case TR_BLK_ZEROES:
		snprintf(buf, len, "%s backend %u offset %llu length %llu rc %lld", k,
			 e->unit, (unsigned long long)e->a, (unsigned long long)e->b,
			 (long long)e->c);
		break;
	case TR_REQUEST:
		snprintf(buf, len, "machine request %llu status %lld",
			 (unsigned long long)e->a, (long long)e->b);
		break;
	default:
		snprintf(buf, len, "%s (unit %u, 0x%llx, 0x%llx)", k, e->unit,
			 (unsigned long long)e->a, (unsigned long long)e->b);
		break;
	}
}

void replay_diverge(struct replay *rp, size_t idx, const char *fmt, ...)
{
	if (rp->stop)
		return;
	rp->stop = true;
	rp->res->diverged = true;
	rp->res->event = idx;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rp->res->msg, sizeof(rp->res->msg), fmt, ap);
	va_end(ap);
}

/* Declarations are read at load; the stream skips them. */
static void rp_skip_decls(struct replay *rp)
{
	while (rp->cur < rp->limit && (rp->r->ev[rp->cur].kind == TR_HOST ||
				       rp->r->ev[rp->cur].kind == TR_BACKEND))
		rp->cur++;
}

const struct trace_ev *replay_take(struct replay *rp, unsigned kind,
				   const char *got, ...)
{
	if (rp->stop)
		return NULL;
	rp_skip_decls(rp);
	char gbuf[256];
	va_list ap;
	if (rp->cur >= rp->limit || rp->r->ev[rp->cur].kind != kind) {
		va_start(ap, got);
		vsnprintf(gbuf, sizeof(gbuf), got, ap);
		va_end(ap);
		char ebuf[256];
		if (rp->cur >= rp->limit)
			snprintf(ebuf, sizeof(ebuf), "no further effect");
		else
			replay_describe(rp->r, rp->cur, ebuf, sizeof(ebuf));
		replay_diverge(rp, rp->cur, "expected %s, got %s", ebuf, gbuf);
		return NULL;
	}
	return &rp->r->ev[rp->cur++];
}

/* ---- walking the trace ---- */

static bool rp_end_kind(unsigned k)
{
	return k == TR_EOF || k == TR_STOP;
}

/* The recorded machine was loaded from this state stream here: load the
 * rebuilt board from it too (its clock reads and timer arms are the
 * bracket's records).  A stream that does not load is a divergence. */
static void rp_load_state(struct replay *rp, size_t i, const uint8_t *p,
			  size_t len)
{
	struct snap_r *sr;
	char err[128];
	if (snap_r_open(&sr, p, len, err, sizeof(err)) < 0) {
		replay_diverge(rp, i, "expected the state record to load, got: %s", err);
		return;
	}
	if (board_load_state(rp->b, sr) < 0)
		replay_diverge(rp, i, "expected the state record to load into the "
			       "rebuilt machine, got: %s", snap_r_error(sr));
	snap_r_free(sr);
}

void replay_deliver(struct replay *rp, size_t i)
{
	const struct trace_reader *r = rp->r;
	size_t end = r->match[i];
	if (end == SIZE_MAX) {   /* the recording ended inside it */
		rp->res->partial = true;
		rp->stop = true;
		return;
	}
	size_t saved = rp->limit;
	rp->cur = i + 1;
	rp->limit = end;
	rp->res->deliveries++;
	const struct trace_ev *e = &r->ev[i];
	if (e->kind == TR_TIMER_BEGIN) {
		struct clk_timer *t = rp->timers[e->a];
		if (!t || t->heap_idx < 0) {
			replay_diverge(rp, i, "expected timer %llu to be armed when it "
				       "fired at %llu ns, got it not armed",
				       (unsigned long long)e->a, (unsigned long long)e->b);
		} else {
			t->heap_idx = -1;
			rp->now = e->b;
			rp->s->now_ns = e->b;
			t->fn(t->arg, e->b);
		}
	} else if (e->kind == TR_STATE_BEGIN) {
		rp_load_state(rp, i, r->payload[i], e->size);
	} else if (e->kind == TR_CALL_BEGIN) {
		/* The management plane's call, repeated on the rebuilt board. */
		if (e->a == BOARD_CALL_POWER_BUTTON)
			board_power_button(rp->b);
		else if (e->a == BOARD_CALL_CPU_PLUG || e->a == BOARD_CALL_CPU_UNPLUG)
			/* Its effect (or refusal) is checked by what follows. */
			(void)(e->a == BOARD_CALL_CPU_PLUG ?
			       board_cpu_plug(rp->b, (unsigned)e->b, true) :
			       board_cpu_unplug_request(rp->b, (unsigned)e->b));
		else if (board_balloon_set_target(rp->b, (uint32_t)e->b) < 0)
			replay_diverge(rp, i, "expected a balloon to set the target "
				       "of, got none in the rebuilt machine");
	} else {
		replay_backend_deliver(rp, e, r->payload[i]);
	}
	rp_skip_decls(rp);
	if (!rp->stop && rp->cur != end) {
		char ebuf[256];
		replay_describe(r, rp->cur, ebuf, sizeof(ebuf));
		replay_diverge(rp, rp->cur, "expected %s during %s (record %zu), got "
			       "nothing more", ebuf, trace_kind_name(e->kind), i);
	}
	rp->cur = end + 1;
	rp->limit = saved;
}

void replay_drain(struct replay *rp)
{
	while (!rp->stop && rp->cur < rp->limit &&
	       trace_kind_is_begin(rp->r->ev[rp->cur].kind))
		replay_deliver(rp, rp->cur);
}

/* One recorded bus access: the records from cur up to its TR_BUS are
 * what the device did during it. */
static void rp_access(struct replay *rp, size_t j)
{
	const struct trace_reader *r = rp->r;
	const struct trace_ev *e = &r->ev[j];
	uint8_t data[8] = { 0 };
	if (e->d)
		memcpy(data, r->payload[j], e->size);
	rp->limit = j;
	struct bus *bus = e->unit ? rp->s->m.mmio : rp->s->m.pio;
	int rc = bus_access(bus, e->a, data, (unsigned)e->b, e->d != 0);
	rp->res->accesses++;
	rp_skip_decls(rp);
	if (rp->stop)
		return;
	if (rp->cur != j) {
		char ebuf[256];
		replay_describe(r, rp->cur, ebuf, sizeof(ebuf));
		replay_diverge(rp, rp->cur, "expected %s during the access at record "
			       "%zu, got nothing more", ebuf, j);
		return;
	}
	if ((int64_t)e->c != rc || (!e->d && memcmp(data, r->payload[j], e->size))) {
		char ebuf[256];
		replay_describe(r, j, ebuf, sizeof(ebuf));
		replay_diverge(rp, j, "expected %s, got 0x%llx rc %d", ebuf,
			       (unsigned long long)rp_le(data, e->size), rc);
		return;
	}
	rp->cur = j + 1;
}

/* Records i..j-1 that no access claims, right before the end of the
 * recording.  A device's machine request is recorded before the bus
 * access that made it; machine requests with no access after them are
 * the guest CPU's (under KVM: an internal error, a triple fault, a
 * shutdown event), which ended the run.  They are no device effect:
 * take them as the run's end and say so. */
static bool rp_cpu_end(struct replay *rp, size_t i, size_t j)
{
	const struct trace_reader *r = rp->r;
	if (j >= r->nev || i == j)
		return false;
	size_t k = i;
	while (k < j && r->ev[k].kind == TR_REQUEST)
		k++;
	if (k == i)
		return false;
	/* The machine runs on until its loop sees the request: a timer or
	 * a backend may still deliver (whole brackets, no access).  The
	 * walk replays those after the request. */
	for (size_t m = k; m < j;) {
		if (r->ev[m].kind == TR_REQUEST)
			m++;
		else if (trace_kind_is_begin(r->ev[m].kind) && r->match[m] != SIZE_MAX)
			m = r->match[m] + 1;
		else
			return false;
	}
	rp->res->cpu_end = true;
	rp->res->cpu_event = r->ev[k - 1].a;
	rp->res->cpu_status = (int64_t)r->ev[k - 1].b;
	rp->cur = k;
	return true;
}

/* Records from..to-1 hold the machine's declarations: its wall clock
 * (TR_HOST, the RTC's base) and the backends it hooked first (TR_BACKEND;
 * the reader checked their indexes run in sequence). */
static void rp_declarations(struct replay *rp, size_t from, size_t to)
{
	const struct trace_reader *r = rp->r;
	for (size_t i = from; i < to; i++) {
		const struct trace_ev *e = &r->ev[i];
		if (e->kind == TR_HOST) {
			rp->host->wall_epoch = (int64_t)e->a;
			rp->host->utc_offset = (int64_t)e->b;
		} else if (e->kind == TR_BACKEND && rp->ndecl < TRACE_MAX_BACKENDS) {
			rp->decl[rp->ndecl] = e;
			rp->decl_id[rp->ndecl] = (const char *)r->payload[i];
			rp->ndecl++;
		}
	}
}

/* Guest-memory regions a board added (NVDIMMs) go with it; the RAM of
 * the layout stays. */
static void rp_drop_board_regions(struct replay *rp)
{
	struct gm *gm = rp->s->m.gm;
	for (unsigned i = 0; i < gm_region_count(gm);) {
		uint64_t gpa = gm_region_at(gm, i)->gpa;
		bool ram = false;
		for (unsigned k = 0; k < rp->l->nram && !ram; k++)
			ram = rp->l->ram[k].gpa == gpa;
		if (ram || gm_remove_region(gm, gpa) < 0)
			i++;
	}
}

/* A reset record: the recorded machine was torn down and built again
 * from its description.  Do the same -- the teardown unchecked, as the
 * recorder did not record it; the construction checked against the
 * records up to the rebuilt machine's start record -- and go on. */
static void rp_reset(struct replay *rp, size_t i)
{
	const struct trace_reader *r = rp->r;
	size_t start = i + 1;
	while (start < r->nev && r->ev[start].kind != TR_START &&
	       !rp_end_kind(r->ev[start].kind))
		start++;
	if (start >= r->nev || r->ev[start].kind != TR_START) {
		/* The recording ended while the machine was being rebuilt. */
		rp->res->partial = true;
		rp->cur = start;
		rp->stop = true;
		return;
	}
	rp->stop = true;   /* teardown effects are not part of the recording */
	gm_set_observer(rp->s->m.gm, NULL, NULL);
	board_free(rp->b);
	rp->b = NULL;
	replay_backends_free(rp);
	memset(rp->stand_in, 0, sizeof(rp->stand_in));
	memset(rp->timers, 0, sizeof(rp->timers));
	rp->ntimers = 0;
	rp->stop = false;
	/* What the backend's build does for a new boot (kvm_machine_build):
	 * new buses and guest memory without the old board's regions
	 * (NVDIMMs), the PRNG seeded again. */
	sim_renew_buses(rp->s);
	rp_drop_board_regions(rp);
	prng_seed(&rp->s->m.prng, rp->cfg->seed);
	rp_declarations(rp, i + 1, start);
	rp->cur = i + 1;
	rp->limit = start;
	char err[256] = "";
	rp->b = board_new(&rp->s->m, rp->cfg, rp->l, rp->host, err, sizeof(err));
	if (!rp->b) {
		replay_diverge(rp, i, "expected the machine to be rebuilt at the "
			       "reset record, got: %s", err);
		return;
	}
	rp_skip_decls(rp);
	if (!rp->stop && rp->cur != start) {
		char ebuf[256];
		replay_describe(r, rp->cur, ebuf, sizeof(ebuf));
		replay_diverge(rp, rp->cur, "expected %s while rebuilding the machine "
			       "after the reset at record %zu, got nothing more", ebuf, i);
		return;
	}
	gm_set_observer(rp->s->m.gm, replay_gm, rp);
	rp->res->resets++;
	rp->cur = start + 1;
}

static void rp_walk(struct replay *rp)
{
	const struct trace_reader *r = rp->r;
	while (!rp->stop && rp->cur < r->nev) {
		size_t i = rp->cur;
		unsigned k = r->ev[i].kind;
		rp->limit = r->nev;
		if (rp_end_kind(k)) {
			rp->res->partial = k == TR_STOP;
			break;
		}
		if (k == TR_HOST || k == TR_BACKEND || k == TR_START) {
			rp->cur++;
			continue;
		}
		if (k == TR_RESET) {
			rp_reset(rp, i);
			continue;
		}
		if (trace_kind_is_begin(k)) {
			replay_deliver(rp, i);
			continue;
		}
		/* Find the access these records belong to. */
		size_t j = i;
		while (j < r->nev && r->ev[j].kind != TR_BUS && !rp_end_kind(r->ev[j].kind))
			j = trace_kind_is_begin(r->ev[j].kind) ?
				(r->match[j] == SIZE_MAX ? r->nev : r->match[j] + 1) : j + 1;
		if (j >= r->nev || r->ev[j].kind != TR_BUS) {
			if (rp_cpu_end(rp, i, j))
				continue;
			/* The recording ended while an access was in flight. */
			rp->res->partial = true;
			break;
		}
		rp_access(rp, j);
	}
	rp->res->events = rp->stop && rp->res->diverged ? rp->res->event : rp->cur;
}

/* ---- building the machine ---- */

static int rp_load(struct replay *rp, size_t *start, char *err, size_t errlen)
{
	const struct trace_reader *r = rp->r;
	*start = SIZE_MAX;
	for (size_t i = 0; i < r->nev && *start == SIZE_MAX; i++)
		if (r->ev[i].kind == TR_START)
			*start = i;
	if (*start == SIZE_MAX) {
		snprintf(err, errlen, "vmm-replay: the trace has no start record (the "
			 "machine was never built)");
		return -1;
	}
	rp_declarations(rp, 0, *start);
	return 0;
}

#define RP_MAX_ARGS 512

int replay_run(const struct trace_reader *r, struct log *log,
	       struct replay_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	char *argv[RP_MAX_ARGS];
	int argc = trace_reader_argv(r, argv, RP_MAX_ARGS, err, errlen);
	if (argc < 0)
		return -1;
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	struct replay *rp = calloc(1, sizeof(*rp));
	struct layout *l = calloc(1, sizeof(*l));
	struct sim *s = NULL;
	int ret = -1;
	char e2[512] = "";
	if (!cfg || !rp || !l) {
		snprintf(err, errlen, "vmm-replay: out of memory");
		goto out;
	}
	rp->r = r;
	rp->res = res;
	if (config_parse(cfg, argc, argv, e2, sizeof(e2)) != 0) {
		snprintf(err, errlen, "vmm-replay: the recorded command line does not "
			 "parse: %s", e2);
		goto out;
	}
	if (!(r->flags & TRACE_F_KVM))
		selftest_config(cfg);
	if (layout_build(l, cfg, e2, sizeof(e2)) < 0) {
		snprintf(err, errlen, "vmm-replay: %s", e2);
		goto out;
	}
	struct board_host host = {
		.backend = replay_backend, .backend_opaque = rp,
		.backend_replace = true,
		/* Every field of a trace is hostile: the recorded command
		 * line's paths are never opened (nvdimms get anonymous
		 * memory, the rest stand-ins above). */
		.no_host_paths = true,
	};
	rp->cfg = cfg;
	rp->l = l;
	rp->host = &host;
	size_t start;
	if (rp_load(rp, &start, err, errlen) < 0)
		goto out;
	struct sim_config sc = { .ram_size = l->ram[0].size, .seed = cfg->seed,
				 .log = log };
	s = sim_new(&sc);
	for (unsigned i = 1; s && i < l->nram; i++)
		if (gm_add_heap(s->m.gm, l->ram[i].gpa, l->ram[i].size, 0, "ram-high")) {
			sim_free(s);
			s = NULL;
		}
	if (!s) {
		snprintf(err, errlen, "vmm-replay: cannot create the simulated machine "
			 "(%llu MiB of RAM)", (unsigned long long)(l->ram_top >> 20));
		goto out;
	}
	rp->s = s;
	rp->chip = (struct irq_chip){ &replay_chip_ops, rp };
	rp->clk = (struct clk){ &replay_clk_ops, rp };
	s->m.irqchip = &rp->chip;
	s->m.clk = &rp->clk;
	s->m.ctl = (struct machine_ctl){ replay_request, rp };
	/* Construction: the board must do what the recorded one did. */
	rp->cur = 0;
	rp->limit = start;
	rp->b = board_new(&s->m, cfg, l, &host, e2, sizeof(e2));
	if (!rp->b) {
		snprintf(err, errlen, "vmm-replay: cannot rebuild the machine: %s", e2);
		goto out;
	}
	rp_skip_decls(rp);
	if (!rp->stop && rp->cur != start) {
		char ebuf[256];
		replay_describe(r, rp->cur, ebuf, sizeof(ebuf));
		replay_diverge(rp, rp->cur, "expected %s while building the machine, "
			       "got nothing more", ebuf);
	}
	if (!rp->stop) {
		gm_set_observer(s->m.gm, replay_gm, rp);
		rp->cur = start + 1;
		rp_walk(rp);
	}
	res->digest = sim_digest(s);
	ret = 0;
out:
	/* Teardown effects are not part of the recording. */
	if (rp) {
		rp->stop = true;
		board_free(rp->b);
	}
	if (s)
		gm_set_observer(s->m.gm, NULL, NULL);
	if (rp)
		replay_backends_free(rp);
	sim_free(s);
	free(l);
	free(rp);
	free(cfg);
	return ret;
}
