/* Recording a machine: the session (header with the machine description
 * and argv), and wrappers around the interfaces devices use -- interrupt
 * chip, clock and timers, machine requests, bus accesses (bus observer)
 * and guest memory (gm observer).  Everything runs under the machine's
 * big lock, which is what makes the record order the execution order. */
#include "core/trace.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/fdt_desc.h"
#include "core/gm.h"
#include "core/layout.h"
#include "core/log.h"
#include "core/trace_int.h"

void trace_rec_emit2(struct trace_rec *tr, const struct trace_ev *e,
		     const void *p1, size_t n1, const void *p2, size_t n2)
{
	if (tr->done || tr->paused || tr->rebuilding)
		return;
	if (trace_writer_add2(tr->w, e, p1, n1, p2, n2) < 0 && !tr->limit_logged &&
	    trace_writer_stopped(tr->w)) {
		tr->limit_logged = true;
		log_warn(tr->log, "trace: recording stopped: the trace reached its "
			 "size limit (%llu records); replay checks up to there",
			 (unsigned long long)trace_writer_count(tr->w));
	}
}

void trace_rec_emit(struct trace_rec *tr, const struct trace_ev *e,
		    const void *p, size_t n)
{
	trace_rec_emit2(tr, e, p, n, NULL, 0);
}

/* ---- the header ---- */

/* The machine description plus "vmm,argv" (a stringlist, as dtc prints
 * it) so replay can parse the very same command line. */
static void *tr_build_dtb(const struct machine_config *cfg, int argc,
			  char **argv, uint32_t *size, char *err, size_t errlen)
{
	struct layout l;
	if (layout_build(&l, cfg, err, errlen) < 0)
		return NULL;
	size_t alen = 0;
	for (int i = 0; i < argc; i++)
		alen += strlen(argv[i]) + 1;
	size_t cap = FDT_DESC_MAX + alen + 1024;
	char *tmp = malloc(FDT_DESC_MAX), *out = malloc(cap),
	     *list = malloc(alen ? alen : 1);
	void *ret = NULL;
	if (!tmp || !out || !list) {
		snprintf(err, errlen, "vmm: -trace-record: out of memory");
		goto done;
	}
	int n = fdt_desc_build(cfg, &l, tmp, FDT_DESC_MAX);
	if (n < 0) {
		snprintf(err, errlen, "vmm: -trace-record: cannot describe the "
			 "machine: %s", strerror(-n));
		goto done;
	}
	size_t pos = 0;
	for (int i = 0; i < argc; i++) {
		size_t k = strlen(argv[i]) + 1;
		memcpy(list + pos, argv[i], k);
		pos += k;
	}
	if (fdt_open_into(tmp, out, (int)cap) != 0 ||
	    fdt_setprop(out, 0, "vmm,argv", list, (int)alen) != 0 ||
	    fdt_pack(out) != 0) {
		snprintf(err, errlen, "vmm: -trace-record: cannot add vmm,argv to "
			 "the machine description");
		goto done;
	}
	*size = fdt_totalsize(out);
	ret = out;
	out = NULL;
done:
	free(tmp);
	free(out);
	free(list);
	return ret;
}

int trace_rec_check(const struct machine_config *cfg, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].iothread[0]) {
			snprintf(err, errlen, "vmm: -trace-record cannot be used with "
				 "iothread= (-device %s): I/O threads run devices in an "
				 "order a trace cannot reproduce",
				 config_device_name(&cfg->devices[i]));
			return -1;
		}
	/* -incoming is recorded: the board's part of the restored stream
	 * becomes a state record (kvm/kvm_migrate.c), vCPU and RAM state
	 * need no replay (device reads of RAM are in the trace). */
	return 0;
}

struct trace_rec *trace_rec_open(const char *path, int argc, char **argv,
				 const struct machine_config *cfg, bool kvm,
				 uint64_t limit, struct log *log, char *err,
				 size_t errlen)
{
	if (trace_rec_check(cfg, err, errlen) < 0)
		return NULL;
	struct trace_rec *tr = calloc(1, sizeof(*tr));
	if (!tr) {
		snprintf(err, errlen, "vmm: -trace-record: out of memory");
		return NULL;
	}
	uint32_t dsize = 0;
	void *dtb = tr_build_dtb(cfg, argc, argv, &dsize, err, errlen);
	if (!dtb) {
		free(tr);
		return NULL;
	}
	tr->w = trace_writer_open(path, dtb, dsize, kvm ? TRACE_F_KVM : 0, limit,
				  err, errlen);
	free(dtb);
	if (!tr->w) {
		free(tr);
		return NULL;
	}
	tr->log = log;
	tr->boots = 1;
	return tr;
}

/* ---- interrupts ---- */

static void tr_set_level(void *opaque, unsigned gsi, int level)
{
	struct trace_rec *tr = opaque;
	struct trace_ev e = { .kind = TR_IRQ, .a = gsi, .b = level ? 1 : 0 };
	trace_rec_emit(tr, &e, NULL, 0);
	tr->inner_chip->ops->set_level(tr->inner_chip->opaque, gsi, level);
}

static int tr_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct trace_rec *tr = opaque;
	int rc = tr->inner_chip->ops->msi ?
		tr->inner_chip->ops->msi(tr->inner_chip->opaque, addr, data) : -ENODEV;
	struct trace_ev e = { .kind = TR_MSI, .a = addr, .b = data,
			      .c = (uint64_t)(int64_t)rc };
	trace_rec_emit(tr, &e, NULL, 0);
	return rc;
}

static const struct irq_chip_ops tr_chip_ops = { tr_set_level, tr_msi };

/* ---- time ---- */

static uint64_t tr_now(void *opaque)
{
	struct trace_rec *tr = opaque;
	uint64_t now = clk_now_ns(tr->inner_clk);
	struct trace_ev e = { .kind = TR_CLK_READ, .a = now };
	trace_rec_emit(tr, &e, NULL, 0);
	return now;
}

static void tr_timer_fire(void *arg, uint64_t now)
{
	struct trace_timer *t = arg;
	struct trace_rec *tr = t->tr;
	t->dev->heap_idx = -1;
	struct trace_ev b = { .kind = TR_TIMER_BEGIN, .a = t->id, .b = now };
	trace_rec_emit(tr, &b, NULL, 0);
	t->dev->fn(t->dev->arg, now);
	struct trace_ev e = { .kind = TR_END };
	trace_rec_emit(tr, &e, NULL, 0);
}

/* Timers get ids in the order they are first armed: replay arms them in
 * the same order, so the ids match. */
static struct trace_timer *tr_timer(struct trace_rec *tr, struct clk_timer *dev)
{
	for (unsigned i = 0; i < tr->ntimers; i++)
		if (tr->timers[i].dev == dev)
			return &tr->timers[i];
	if (tr->ntimers == TRACE_MAX_TIMERS)
		return NULL;
	struct trace_timer *t = &tr->timers[tr->ntimers];
	t->dev = dev;
	t->id = tr->ntimers++;
	t->tr = tr;
	clk_timer_init(&t->shadow, tr_timer_fire, t);
	return t;
}

static void tr_timer_arm(void *opaque, struct clk_timer *dev, uint64_t deadline)
{
	struct trace_rec *tr = opaque;
	struct trace_timer *t = tr_timer(tr, dev);
	if (!t) {
		/* A host limit, not a guest one: fall back to an unrecorded
		 * timer and say the trace is incomplete. */
		log_err(tr->log, "trace: more than %u timers; recording stops",
			TRACE_MAX_TIMERS);
		tr->done = true;
		clk_timer_arm(tr->inner_clk, dev, deadline);
		return;
	}
	struct trace_ev e = { .kind = TR_TIMER_ARM, .a = t->id, .b = deadline };
	trace_rec_emit(tr, &e, NULL, 0);
	dev->deadline = deadline;
	dev->heap_idx = 0;
	clk_timer_arm(tr->inner_clk, &t->shadow, deadline);
}

static void tr_timer_cancel(void *opaque, struct clk_timer *dev)
{
	struct trace_rec *tr = opaque;
	struct trace_timer *t = NULL;
	for (unsigned i = 0; i < tr->ntimers && !t; i++)
		if (tr->timers[i].dev == dev)
			t = &tr->timers[i];
	if (!t) {
		clk_timer_cancel(tr->inner_clk, dev);
		return;
	}
	struct trace_ev e = { .kind = TR_TIMER_CANCEL, .a = t->id };
	trace_rec_emit(tr, &e, NULL, 0);
	dev->heap_idx = -1;
	clk_timer_cancel(tr->inner_clk, &t->shadow);
}

static const struct clk_ops tr_clk_ops = { tr_now, tr_timer_arm, tr_timer_cancel, NULL };

/* ---- machine requests, buses, guest memory ---- */

static void tr_request(void *opaque, enum machine_event ev, int status)
{
	struct trace_rec *tr = opaque;
	struct trace_ev e = { .kind = TR_REQUEST, .a = (uint64_t)ev,
			      .b = (uint64_t)(int64_t)status };
	trace_rec_emit(tr, &e, NULL, 0);
	machine_request(&tr->inner_ctl, ev, status);
}

static void tr_bus(void *opaque, const struct bus *bus, uint64_t addr,
		   const void *data, unsigned len, bool is_write, int rc)
{
	struct trace_rec *tr = opaque;
	if (!tr->live || len < 1 || len > 8)
		return;
	struct trace_ev e = { .kind = TR_BUS, .unit = bus == tr->m->mmio,
			      .a = addr, .b = len, .c = (uint64_t)(int64_t)rc,
			      .d = is_write };
	trace_rec_emit(tr, &e, data, len);
}

static void tr_gm(void *opaque, enum gm_obs_op op, uint64_t gpa, void *buf,
		  size_t len)
{
	struct trace_rec *tr = opaque;
	if (!tr->live)
		return;
	struct trace_ev e = { .kind = op == GM_OBS_READ ? TR_GM_READ : TR_GM_WRITE,
			      .a = gpa };
	trace_rec_emit(tr, &e, buf, len);
}

void trace_rec_call(void *opaque, int what, uint64_t arg, bool begin)
{
	struct trace_rec *tr = opaque;
	struct trace_ev e = { .kind = begin ? TR_CALL_BEGIN : TR_END,
			      .a = begin ? (uint64_t)what : 0, .b = begin ? arg : 0 };
	trace_rec_emit(tr, &e, NULL, 0);
}

void trace_rec_pause(struct trace_rec *tr, bool pause)
{
	if (tr)
		tr->paused = pause;
}

void trace_rec_state(struct trace_rec *tr, const void *stream, size_t len,
		     bool begin)
{
	if (!tr)
		return;
	struct trace_ev e = { .kind = begin ? TR_STATE_BEGIN : TR_END };
	trace_rec_emit(tr, &e, begin ? stream : NULL, begin ? len : 0);
}

void trace_rec_chain_backend(struct trace_rec *tr, trace_backend_fn *inner,
			     void *inner_opaque)
{
	tr->inner_backend = inner;
	tr->inner_backend_opaque = inner_opaque;
}

/* A machine attached again after trace_rec_reset: the old machine's
 * timers are gone (its teardown cancelled them; a shadow still armed
 * would fire into freed device state, so it is cancelled here), and the
 * new machine's timers get ids from 0 in the order they are first armed,
 * as replay's freshly built board numbers them. */
static void tr_forget_machine(struct trace_rec *tr)
{
	for (unsigned i = 0; i < tr->ntimers; i++)
		if (clk_timer_armed(&tr->timers[i].shadow))
			clk_timer_cancel(tr->inner_clk, &tr->timers[i].shadow);
	memset(tr->timers, 0, sizeof(tr->timers));
	tr->ntimers = 0;
	memset(tr->claimed, 0, sizeof(tr->claimed));
	tr->rebuilding = false;
}

int trace_rec_attach(struct trace_rec *tr, struct machine *m,
		     int64_t wall_epoch, int64_t utc_offset,
		     char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	if (tr->m)
		tr_forget_machine(tr);
	tr->m = m;
	/* A machine rebuilt in place may still hold our wrappers (the
	 * simulator keeps its interfaces): never wrap ourselves. */
	if (m->irqchip != &tr->chip) {
		tr->inner_chip = m->irqchip;
		tr->chip = (struct irq_chip){ &tr_chip_ops, tr };
		m->irqchip = &tr->chip;
	}
	if (m->clk != &tr->clk) {
		tr->inner_clk = m->clk;
		tr->clk = (struct clk){ &tr_clk_ops, tr };
		m->clk = &tr->clk;
	}
	if (m->ctl.request != tr_request || m->ctl.opaque != tr) {
		tr->inner_ctl = m->ctl;
		m->ctl = (struct machine_ctl){ tr_request, tr };
	}
	bus_set_observer(m->pio, tr_bus, tr);
	bus_set_observer(m->mmio, tr_bus, tr);
	struct trace_ev e = { .kind = TR_HOST, .a = (uint64_t)wall_epoch,
			      .b = (uint64_t)utc_offset };
	trace_rec_emit(tr, &e, NULL, 0);
	return 0;
}

/* The same RAM without the observer (and with the same flags), for code
 * that plays the guest or the host rather than a device. */
static struct gm *tr_view(const struct gm *gm)
{
	struct gm *v = gm_new();
	for (unsigned i = 0; v && i < gm_region_count(gm); i++) {
		const struct gm_region *r = gm_region_at(gm, i);
		if (gm_add_region(v, r->gpa, r->size, r->host, r->flags, r->name) < 0) {
			gm_free(v);
			v = NULL;
		}
	}
	return v;
}

void trace_rec_start(struct trace_rec *tr)
{
	if (!tr)
		return;
	struct trace_ev e = { .kind = TR_START };
	trace_rec_emit(tr, &e, NULL, 0);
	tr->dev_gm = tr->m->gm;
	tr->view_gm = tr_view(tr->dev_gm);
	if (!tr->view_gm) {
		log_err(tr->log, "trace: out of memory; recording stops");
		tr->done = true;
		return;
	}
	tr->live = true;
	gm_set_observer(tr->dev_gm, tr_gm, tr);
	tr->m->gm = tr->view_gm;
	trace_rec_backends_start(tr);
}

/* Stop observing the devices' guest memory and give m->gm back (the
 * machine frees it with its RAM). */
static void tr_unobserve(struct trace_rec *tr)
{
	tr->live = false;
	if (tr->dev_gm) {
		gm_set_observer(tr->dev_gm, NULL, NULL);
		tr->m->gm = tr->dev_gm;
		gm_free(tr->view_gm);
		tr->dev_gm = tr->view_gm = NULL;
	}
}

void trace_rec_finish(struct trace_rec *tr)
{
	if (!tr)
		return;
	tr_unobserve(tr);
	tr->done = true;
}

bool trace_rec_reset(struct trace_rec *tr)
{
	if (!tr)
		return false;
	if (tr->done || !tr->m || !tr->dev_gm) {
		/* Ended already (a host limit), or never started: nothing a
		 * replay could go on from. */
		trace_rec_finish(tr);
		return false;
	}
	tr->boots++;
	struct trace_ev e = { .kind = TR_RESET, .a = tr->boots };
	trace_rec_emit(tr, &e, NULL, 0);
	tr_unobserve(tr);
	/* The teardown (timers cancelled, lines dropped, backends let go)
	 * is not recorded, as replay's teardown is not checked. */
	tr->rebuilding = true;
	bus_set_observer(tr->m->pio, NULL, NULL);
	bus_set_observer(tr->m->mmio, NULL, NULL);
	return true;
}

int trace_rec_close(struct trace_rec *tr, char *err, size_t errlen)
{
	if (!tr)
		return 0;
	trace_rec_finish(tr);
	/* (Reaching the size limit was logged when it happened.) */
	int rc = trace_writer_close(tr->w, err, errlen);
	for (unsigned i = 0; i < tr->nbackends; i++)
		tr->backend_free[i](tr->backends[i]);
	free(tr);
	return rc;
}
