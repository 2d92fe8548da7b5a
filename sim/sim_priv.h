/* Private to sim/sim*.c: the simulated machine's state behind
 * struct sim's priv pointer. */
#ifndef VMM_SIM_SIM_PRIV_H
#define VMM_SIM_SIM_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/clk.h"
#include "core/irq.h"
#include "core/log.h"
#include "core/timerq.h"
#include "sim/sim.h"

struct sim_priv {
	struct timerq q;
	struct clk clk;
	struct irq_chip chip;
	bool record;
	struct sim_event *ev;
	size_t nev, cap;
	uint64_t dropped;
	struct log_rl bad_gsi_rl;
	/* Snapshot points (sim_set_point_hook) and restore (sim_snap.c). */
	sim_point_fn point_fn;
	void *point_opaque;
	uint64_t points;
	bool in_point;
	uint64_t restore_seq;
};

static inline struct sim_priv *sim_p(const struct sim *s)
{
	return s->priv;
}

/* The page size the digest hashes and sim_make_fresh zeroes RAM in;
 * an all-zero page is skipped (left unfaulted). */
#define SIM_DIGEST_PAGE 4096u

static inline bool sim_all_zero(const uint8_t *p, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

#endif
