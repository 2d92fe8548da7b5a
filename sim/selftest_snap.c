/* Snapshot equivalence in the simulator (issue 18 item 5): at one
 * snapshot point of the self-test the whole machine is saved into a
 * state stream, the board is torn down, the simulator is made fresh and a
 * new board is built from the same configuration and restored from the
 * stream; then the scenario (the guest: its driver state is the guest's
 * CPU and memory, which the stream does not hold, as under KVM the vCPU
 * state is the KVM side's) runs on.  tests/unit/test_snapshot_equiv.c
 * compares such a run with one straight through, event for event.
 *
 * What the simulator itself must carry across is in the stream too
 * (sim_save_state: virtual time, PRNG, interrupt lines, the timer arm
 * sequence), and everything the fresh simulator had (time 0, a PRNG
 * reseeded differently, zeroed RAM) would show if it leaked through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/snapshot.h"
#include "core/trace.h"
#include "machine/board.h"
#include "machine/board_snapshot.h"
#include "sim/selftest.h"
#include "sim/selftest_int.h"
#include "sim/sim.h"

static void st_snap_fail(struct selftest_snap *sn, int rc, const char *what,
			 const char *why)
{
	if (sn->rc)
		return;
	sn->rc = rc ? rc : -1;
	snprintf(sn->err, sizeof(sn->err), "%s: %.200s", what, why);
}

/* Save everything into a private copy of the stream. */
static uint8_t *st_snap_save(struct selftest *t, struct sim *s, size_t *len)
{
	struct selftest_snap *sn = t->snap;
	struct snap_w *w = snap_w_new();
	const uint8_t *buf;
	uint8_t *copy = NULL;
	int rc = w ? 0 : -1;
	if (!rc)
		rc = sim_save_state(s, w);
	if (!rc)
		rc = board_save_state(t->b, w);
	if (!rc)
		rc = board_save_ram(t->b, w, sn->ignore_shared);
	if (!rc)
		rc = snap_w_finish(w, &buf, len);
	if (!rc && (copy = malloc(*len)))
		memcpy(copy, buf, *len);
	if (rc || !copy)
		st_snap_fail(sn, rc, "save", "could not write the state stream");
	snap_w_free(w);
	return copy;
}

static void st_snap_restore(struct selftest *t, struct sim *s,
			    const uint8_t *buf, size_t len)
{
	struct selftest_snap *sn = t->snap;
	char err[256];
	struct board *b = NULL;
	int rc = board_build(&s->m, t->cfg, t->l, t->host, &b, err, sizeof(err));
	if (rc < 0) {
		/* The scenario cannot go on without a board: a harness
		 * failure, not a guest's. */
		fprintf(stderr, "selftest snapshot: rebuilding the board: %s\n", err);
		abort();
	}
	t->b = b;
	struct snap_r *r;
	rc = snap_r_open(&r, buf, len, err, sizeof(err));
	if (rc) {
		st_snap_fail(sn, rc, "open", err);
		return;
	}
	rc = sim_load_state(s, r);
	if (!rc)
		rc = board_load_state(b, r);
	if (!rc)
		rc = board_load_ram(b, r, sn->ignore_shared);
	if (!rc)
		rc = snap_r_done(r);
	if (rc) {
		st_snap_fail(sn, rc, "load", snap_r_error(r));
	} else {
		sim_load_finish(s);
		/* The guest driver runs on from here. */
		board_snap_resume(b);
	}
	snap_r_free(r);
}

/* Save the board and load it back into itself: under recording, the load
 * is a state record in the trace (item 7), so a replay -- even of a
 * trace cut to start at the record -- goes on from this state. */
static void st_snap_in_place(struct selftest *t)
{
	struct selftest_snap *sn = t->snap;
	struct snap_w *w = snap_w_new();
	const uint8_t *buf;
	size_t len = 0;
	trace_rec_pause(t->tr, true);
	int rc = w ? board_save_state(t->b, w) : -1;
	trace_rec_pause(t->tr, false);
	if (!rc)
		rc = snap_w_finish(w, &buf, &len);
	if (rc) {
		st_snap_fail(sn, rc, "save", "could not write the state stream");
		snap_w_free(w);
		return;
	}
	sn->bytes = len;
	if (sn->on_stream)
		sn->on_stream(sn->stream_opaque, buf, len);
	struct snap_r *r;
	char err[128];
	if (snap_r_open(&r, buf, len, err, sizeof(err)) == 0) {
		trace_rec_state(t->tr, buf, len, true);
		if (board_load_state(t->b, r) || snap_r_done(r))
			st_snap_fail(sn, -1, "load", snap_r_error(r));
		trace_rec_state(t->tr, NULL, 0, false);
		snap_r_free(r);
	} else {
		st_snap_fail(sn, -1, "open", err);
	}
	snap_w_free(w);
}

void st_snap_point(void *opaque, struct sim *s, uint64_t n)
{
	struct selftest *t = opaque;
	struct selftest_snap *sn = t->snap;
	sn->points = n + 1;
	if (sn->phase && n < sn->phase_cap)
		sn->phase[n] = t->checks;
	if (n != sn->at || sn->done)
		return;
	sn->done = true;
	sn->events_at = sim_event_count(s);
	sn->checks_at = t->checks;
	if (sn->in_place) {
		st_snap_in_place(t);
		return;
	}
	size_t len = 0;
	uint8_t *buf = st_snap_save(t, s, &len);
	if (!buf)
		return;
	sn->bytes = len;
	if (sn->on_stream)
		sn->on_stream(sn->stream_opaque, buf, len);
	/* Tearing down and building are no guest-visible events. */
	bool rec = sim_recording(s);
	sim_set_recording(s, false);
	board_free(t->b);
	t->b = NULL;
	sim_make_fresh(s, 0x5eed0fdeadull ^ n);
	st_snap_restore(t, s, buf, len);
	sim_set_recording(s, rec);
	free(buf);
}
