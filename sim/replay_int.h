/* Shared between sim/replay.c (engine), sim/replay_check.c (machine
 * interfaces as checkers) and sim/replay_backend.c (host backend
 * stand-ins). */
#ifndef VMM_SIM_REPLAY_INT_H
#define VMM_SIM_REPLAY_INT_H

#include "core/clk.h"
#include "core/gm.h"
#include "core/irq.h"
#include "core/machine.h"
#include "core/trace.h"
#include "sim/replay.h"

struct sim;
struct board;
struct layout;
struct machine_config;

struct replay {
	const struct trace_reader *r;
	struct replay_result *res;
	size_t cur;           /* next record to take */
	size_t limit;         /* end of the records the current access or
			       * delivery caused (exclusive) */
	bool stop;            /* diverged or reached the end of the recording */
	uint64_t now;
	struct sim *s;
	struct board *b;
	/* What the board is built from, again at each reset record. */
	const struct machine_config *cfg;
	const struct layout *l;
	struct board_host *host;
	struct irq_chip chip;
	struct clk clk;
	struct clk_timer *timers[TRACE_MAX_TIMERS];   /* by recorded id */
	unsigned ntimers;     /* timers armed so far by this machine */
	/* Backends the trace declares (TR_BACKEND), and their stand-ins. */
	const struct trace_ev *decl[TRACE_MAX_BACKENDS];
	const char *decl_id[TRACE_MAX_BACKENDS];
	void *stand_in[TRACE_MAX_BACKENDS];
	unsigned ndecl;
};

/* Take the next record, which must be of `kind`; otherwise report the
 * divergence (what the recording had next vs what the device did, as
 * the printf-style `got`) and return NULL. */
const struct trace_ev *replay_take(struct replay *rp, unsigned kind,
				   const char *got, ...)
	__attribute__((format(printf, 3, 4)));
/* Report a divergence at record idx. */
void replay_diverge(struct replay *rp, size_t idx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const uint8_t *replay_payload(const struct replay *rp, const struct trace_ev *e);
/* After a backend call: replay the deliveries the backend made inside it. */
void replay_drain(struct replay *rp);
/* Replay the delivery (a *_BEGIN record) at index i. */
void replay_deliver(struct replay *rp, size_t i);

/* The machine's interfaces as checkers (replay_check.c); opaque is the
 * struct replay. */
extern const struct irq_chip_ops replay_chip_ops;
extern const struct clk_ops replay_clk_ops;
void replay_request(void *opaque, enum machine_event ev, int status);
void replay_gm(void *opaque, enum gm_obs_op op, uint64_t gpa, void *buf,
	       size_t len);

/* board_host.backend hook in replace mode (replay_backend.c). */
int replay_backend(void *opaque, int kind, const char *id, void *opened,
		   void **out, char *err, size_t errlen);
/* Deliveries into a stand-in: chr input/writable/connected, net rx. */
void replay_backend_deliver(struct replay *rp, const struct trace_ev *e,
			    const uint8_t *payload);
void replay_backends_free(struct replay *rp);

#endif
