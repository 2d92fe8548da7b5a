/* Recording a board (-trace-record): the machine-level wrappers are the
 * trace's own (core/trace_rec.c); what belongs to the board is its host
 * side, the backends it opens and the management calls it brackets. */
#include "machine/board.h"

#include "core/trace.h"

int board_trace_attach(struct board_host *host, struct machine *m,
		       struct trace_rec *tr, char *err, size_t errlen)
{
	if (trace_rec_attach(tr, m, host->wall_epoch, host->utc_offset, err,
			     errlen) < 0)
		return -1;
	/* Whatever hook the caller set (the self-test's stand-ins) runs
	 * first; backend_replace stays as it set it. */
	trace_rec_chain_backend(tr, host->backend, host->backend_opaque);
	host->backend = trace_rec_backend;
	host->backend_opaque = tr;
	host->call = trace_rec_call;
	host->call_opaque = tr;
	return 0;
}
