/* Replay (device models are deterministic): rebuild the machine a trace describes
 * on the simulator and run its device models against the recorded
 * inputs, checking that they have the recorded effects.
 *
 * The trace is consumed in order.  A bus access is preceded in the trace
 * by what the device did during it; replay dispatches the access on the
 * simulator's bus and the machine's interfaces -- replaced by checkers --
 * take the recorded records one by one: a guest-memory read gets the
 * recorded bytes (gm observer), a clock read the recorded time, a block
 * read the recorded data; a guest-memory write, interrupt, MSI, backend
 * write or machine request must equal the recorded one.  Timer firings and
 * backend deliveries are bracketed in the trace and replayed the same way.
 * The first mismatch stops replay and is reported with its record number. */
#ifndef VMM_SIM_REPLAY_H
#define VMM_SIM_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/trace.h"

struct log;

struct replay_result {
	bool diverged;
	size_t event;        /* the record where replay diverged */
	char msg[768];       /* "expected ..., got ..." */
	size_t events;       /* records replayed */
	size_t accesses;     /* bus accesses dispatched */
	size_t deliveries;   /* timer firings and backend deliveries */
	size_t resets;       /* reset records: machines rebuilt */
	bool partial;        /* the recording stopped early (size limit, or
			      * an access still in flight when it ended) */
	uint64_t digest;     /* sim_digest() of the replaying machine when
			      * replay stopped: guest RAM as the devices left
			      * it (tests compare it across runs) */
	bool cpu_end;        /* the recording ends with the guest CPU's machine
			      * request (KVM internal error, triple fault) */
	uint64_t cpu_event;  /* its enum machine_event */
	int64_t cpu_status;
};

/* Replay r.  0 when replay ran (res says match or divergence); -1 with a
 * one-line message when the machine could not be rebuilt. */
int replay_run(const struct trace_reader *r, struct log *log,
	       struct replay_result *res, char *err, size_t errlen);

/* A one-line description of record i ("bus pio 0x3f8 write 1 byte 0x41"). */
void replay_describe(const struct trace_reader *r, size_t i, char *buf,
		     size_t len);

#endif
