/* Shared between core/trace_rec.c (machine interfaces) and
 * core/trace_rec_backend.c (host backends): the recording session. */
#ifndef VMM_CORE_TRACE_INT_H
#define VMM_CORE_TRACE_INT_H

#include <stdbool.h>
#include "core/clk.h"
#include "core/irq.h"
#include "core/machine.h"
#include "core/trace.h"

struct trace_rec;

/* A device timer as the recorder sees it: the device's clk_timer is
 * mirrored by a shadow armed on the real clock, so a firing can be
 * bracketed (TR_TIMER_BEGIN ... TR_END) without touching device state
 * beyond the backend-private fields clk.h gives the backend. */
struct trace_timer {
	struct clk_timer *dev;
	struct clk_timer shadow;
	unsigned id;
	struct trace_rec *tr;
};

struct trace_rec {
	struct trace_writer *w;
	struct log *log;
	bool live;            /* START written, FINISH not yet */
	bool done;            /* finished: nothing more is written */
	bool paused;          /* trace_rec_pause: host-side work, not recorded */
	bool limit_logged;
	bool rebuilding;      /* trace_rec_reset until the next attach */
	uint64_t boots;       /* TR_RESET's boot number (1: the first) */
	struct machine *m;
	struct irq_chip chip;
	struct irq_chip *inner_chip;
	struct clk clk;
	const struct clk *inner_clk;
	struct machine_ctl inner_ctl;
	/* The backend hook this one chains (the self-test's stand-ins). */
	trace_backend_fn *inner_backend;
	void *inner_backend_opaque;
	/* gm the devices hold (observed) and the unobserved view of the
	 * same RAM m->gm points at while recording. */
	struct gm *dev_gm, *view_gm;
	struct trace_timer timers[TRACE_MAX_TIMERS];
	unsigned ntimers;
	/* Backend wrappers (trace_rec_backend.c), freed on close. */
	void *backends[TRACE_MAX_BACKENDS];
	void (*backend_free[TRACE_MAX_BACKENDS])(void *);
	int backend_kind[TRACE_MAX_BACKENDS];
	char backend_id[TRACE_MAX_BACKENDS][64];
	/* Hooked by the machine of this boot: a rebuilt machine gets the
	 * unit of the same kind and id again (its backends outlive the
	 * reset), so replay's stand-ins keep their indexes too. */
	bool claimed[TRACE_MAX_BACKENDS];
	unsigned nbackends;
};

/* Append a record unless finished; logs once when the size limit stops
 * recording. */
void trace_rec_emit(struct trace_rec *tr, const struct trace_ev *e,
		    const void *p, size_t n);
void trace_rec_emit2(struct trace_rec *tr, const struct trace_ev *e,
		     const void *p1, size_t n1, const void *p2, size_t n2);

/* START: let held-back input flow. */
void trace_rec_backends_start(struct trace_rec *tr);

#endif
