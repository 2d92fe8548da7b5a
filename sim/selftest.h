/* The accel=sim self-test: the machine a configuration describes, built by
 * the board (machine/board.h) on a simulated machine, with the guest driver
 * library (sim/vdriver.h) playing the guest.  Every check drives a device
 * the way its Linux driver would and prints one line. */
#ifndef VMM_SIM_SELFTEST_H
#define VMM_SIM_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct log;
struct machine_config;

/* Build the board on a struct sim and run the device self-test scenario
 * (the guest driver library plays the guest): prints one line per check
 * to `out`.  Returns 0 when every check passed, 1 when
 * one failed, -1 with err when the machine could not be built (-2 when
 * that is the configuration's error: board_build). */
int selftest_run(const struct machine_config *cfg, struct log *log,
		 void *out, char *err, size_t errlen);
/* The same on a simulated machine the caller made (sim/sim.h; its RAM
 * from gpa 0 must cover the layout's ram[0]), so tests can inject guest
 * memory faults before the checks run. */
struct sim;
int selftest_sim(struct sim *s, const struct machine_config *cfg,
		 struct log *log, void *out, char *err, size_t errlen);
/* The same, recording every device input and effect into tr (core/trace.h;
 * NULL: no recording).  The scenario's own guest-memory accesses go
 * through an unobserved view of the same RAM: only device accesses are
 * recorded, as under KVM where the guest CPU bypasses gm. */
struct trace_rec;
int selftest_run_trace(const struct machine_config *cfg, struct log *log,
		       void *out, struct trace_rec *tr, char *err,
		       size_t errlen);
/* Snapshot equivalence (issue 18, docs/snapshot.md): the self-test on a
 * simulator the caller made, and at snapshot point `at` (sim.h: before
 * the at-th guest access or timer firing) the machine is saved, the
 * board torn down, the simulator made fresh (time 0, another PRNG seed,
 * RAM zeroed) and a new board built and restored from the stream; the
 * scenario (the guest) then runs on.  at = UINT64_MAX only counts the
 * points. */
struct selftest_snap {
	uint64_t at;
	bool ignore_shared;
	/* Reload the saved state into the same board instead of a new one
	 * (recorded into the trace as a state record when recording). */
	bool in_place;
	/* Optional: phase[n] gets the number of checks finished at point n
	 * (so a caller can pick points inside each device's check). */
	uint32_t *phase;
	size_t phase_cap;
	/* Optional: handed the saved stream (tests, fuzz seeds). */
	void (*on_stream)(void *opaque, const uint8_t *buf, size_t len);
	void *stream_opaque;
	/* Results: */
	uint64_t points;     /* snapshot points the run passed */
	bool done;           /* the save/restore happened */
	size_t bytes;        /* the stream's size */
	uint64_t events_at;  /* sim events recorded before the save */
	uint32_t checks_at;  /* checks finished before the save */
	int rc;              /* 0, or the failure (err says what) */
	char err[256];
};
int selftest_sim_snap(struct sim *s, const struct machine_config *cfg,
		      struct log *log, void *out, struct selftest_snap *sn,
		      char *err, size_t errlen);
/* selftest_run_trace with a snapshot (sn->in_place: the state record of
 * issue 18 item 7 lands in the trace at point sn->at). */
int selftest_run_trace_snap(const struct machine_config *cfg, struct log *log,
			    void *out, struct trace_rec *tr,
			    struct selftest_snap *sn, char *err, size_t errlen);
/* What the self-test changes in the configuration before building (COM1
 * always exists), so vmm-replay builds the board it recorded. */
void selftest_config(struct machine_config *c);
/* The self-test's wall clock, 2026-01-01T00:00:00Z (RTC base for
 * base=utc). */
#define SELFTEST_EPOCH 1767225600ll

#endif
