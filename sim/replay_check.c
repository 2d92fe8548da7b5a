/* Replay: the machine's interfaces as checkers.  In place of the
 * interrupt chip, clock, machine requests and guest-memory observer, each
 * call the rebuilt device makes takes the next record and must match it
 * (sim/replay.c walks the trace and installs these). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/clk.h"
#include "core/gm.h"
#include "core/irq.h"
#include "core/machine.h"
#include "core/trace.h"
#include "sim/replay_int.h"

static void replay_set_level(void *opaque, unsigned gsi, int level)
{
	struct replay *rp = opaque;
	const struct trace_ev *e = replay_take(rp, TR_IRQ, "irq gsi %u level %d",
					       gsi, level);
	if (e && (e->a != gsi || e->b != (uint64_t)(level ? 1 : 0)))
		replay_diverge(rp, (size_t)(e - rp->r->ev), "expected irq gsi %llu "
			       "level %llu, got irq gsi %u level %d",
			       (unsigned long long)e->a, (unsigned long long)e->b,
			       gsi, level);
}

static int replay_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct replay *rp = opaque;
	const struct trace_ev *e = replay_take(rp, TR_MSI, "msi address 0x%llx "
					       "data 0x%x", (unsigned long long)addr,
					       data);
	if (!e)
		return 0;
	if (e->a != addr || e->b != data)
		replay_diverge(rp, (size_t)(e - rp->r->ev), "expected msi address "
			       "0x%llx data 0x%llx, got msi address 0x%llx data 0x%x",
			       (unsigned long long)e->a, (unsigned long long)e->b,
			       (unsigned long long)addr, data);
	return (int)(int64_t)e->c;
}

const struct irq_chip_ops replay_chip_ops = { replay_set_level, replay_msi };

static uint64_t replay_now(void *opaque)
{
	struct replay *rp = opaque;
	const struct trace_ev *e = replay_take(rp, TR_CLK_READ, "a clock read");
	if (e)
		rp->now = e->a;
	return rp->now;
}

static int replay_timer_id(const struct replay *rp, const struct clk_timer *t)
{
	for (unsigned i = 0; i < TRACE_MAX_TIMERS; i++)
		if (rp->timers[i] == t)
			return (int)i;
	return -1;
}

static void replay_timer_arm(void *opaque, struct clk_timer *t, uint64_t deadline)
{
	struct replay *rp = opaque;
	t->deadline = deadline;
	t->heap_idx = 0;
	const struct trace_ev *e = replay_take(rp, TR_TIMER_ARM, "a timer armed "
					       "for %llu ns",
					       (unsigned long long)deadline);
	if (!e)
		return;
	size_t idx = (size_t)(e - rp->r->ev);
	int have = replay_timer_id(rp, t);
	if ((have >= 0 && (uint64_t)have != e->a) ||
	    (have < 0 && rp->timers[e->a])) {
		replay_diverge(rp, idx, "expected timer %llu armed, got another "
			       "timer (%d) armed", (unsigned long long)e->a, have);
		return;
	}
	/* The recorder numbers timers in the order they are first armed. */
	if (have < 0 && e->a != rp->ntimers) {
		replay_diverge(rp, idx, "expected timer %llu armed, got a timer "
			       "armed for the first time (timer %u)",
			       (unsigned long long)e->a, rp->ntimers);
		return;
	}
	if (have < 0)
		rp->ntimers++;
	rp->timers[e->a] = t;
	if (e->b != deadline)
		replay_diverge(rp, idx, "expected timer %llu armed for %llu ns, got "
			       "%llu ns", (unsigned long long)e->a,
			       (unsigned long long)e->b, (unsigned long long)deadline);
}

static void replay_timer_cancel(void *opaque, struct clk_timer *t)
{
	struct replay *rp = opaque;
	t->heap_idx = -1;
	int id = replay_timer_id(rp, t);
	if (id < 0)
		return;   /* never armed: the recorder did not see it either */
	const struct trace_ev *e = replay_take(rp, TR_TIMER_CANCEL,
					       "timer %d cancelled", id);
	if (e && e->a != (uint64_t)id)
		replay_diverge(rp, (size_t)(e - rp->r->ev), "expected timer %llu "
			       "cancelled, got timer %d cancelled",
			       (unsigned long long)e->a, id);
}

const struct clk_ops replay_clk_ops = { replay_now, replay_timer_arm,
				      replay_timer_cancel, NULL };

void replay_request(void *opaque, enum machine_event ev, int status)
{
	struct replay *rp = opaque;
	const struct trace_ev *e = replay_take(rp, TR_REQUEST, "machine request "
					       "%d status %d", (int)ev, status);
	if (e && (e->a != (uint64_t)ev || (int64_t)e->b != status))
		replay_diverge(rp, (size_t)(e - rp->r->ev), "expected machine "
			       "request %llu status %lld, got %d status %d",
			       (unsigned long long)e->a, (long long)e->b, (int)ev,
			       status);
}

void replay_gm(void *opaque, enum gm_obs_op op, uint64_t gpa, void *buf,
	       size_t len)
{
	struct replay *rp = opaque;
	bool rd = op == GM_OBS_READ;
	const struct trace_ev *e = replay_take(rp, rd ? TR_GM_READ : TR_GM_WRITE,
					       "%s 0x%llx+%zu", rd ? "gm-read" :
					       "gm-write", (unsigned long long)gpa,
					       len);
	if (!e)
		return;
	size_t idx = (size_t)(e - rp->r->ev);
	const uint8_t *p = replay_payload(rp, e);
	if (e->a != gpa || e->size != len) {
		replay_diverge(rp, idx, "expected %s 0x%llx+%u, got %s 0x%llx+%zu",
			       trace_kind_name(e->kind), (unsigned long long)e->a,
			       e->size, trace_kind_name(e->kind),
			       (unsigned long long)gpa, len);
		return;
	}
	if (rd) {
		/* The bytes the device saw when it ran: serve them. */
		memcpy(buf, p, len);
		return;
	}
	const uint8_t *got = buf;
	for (size_t i = 0; i < len; i++)
		if (got[i] != p[i]) {
			replay_diverge(rp, idx, "expected gm-write 0x%llx+%zu with byte "
				       "%zu = 0x%02x, got 0x%02x", (unsigned long long)gpa,
				       len, i, p[i], got[i]);
			return;
		}
}
