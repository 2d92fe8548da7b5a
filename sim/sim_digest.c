/* The simulator's event log as the tests read it, and its digest: one
 * hash over the time, the events and guest RAM, so two runs compare
 * equal exactly when they did the same (sim.h "Determinism"). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/gm.h"
#include "sim/sim.h"
#include "sim/sim_priv.h"

size_t sim_event_count(const struct sim *s)
{
	return sim_p(s)->nev;
}

const struct sim_event *sim_events(const struct sim *s)
{
	return sim_p(s)->ev;
}

uint64_t sim_events_dropped(const struct sim *s)
{
	return sim_p(s)->dropped;
}

void sim_events_clear(struct sim *s)
{
	sim_p(s)->nev = 0;
}

#define SIM_FNV_OFFSET 0xcbf29ce484222325ull
#define SIM_FNV_PRIME 0x100000001b3ull

static uint64_t sim_fnv(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= SIM_FNV_PRIME;
	}
	return h;
}

/* Hash a value as 8 little-endian bytes so the digest does not depend on
 * struct layout or host byte order. */
static uint64_t sim_fnv_u64(uint64_t h, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return sim_fnv(h, b, sizeof(b));
}

uint64_t sim_digest(const struct sim *s)
{
	const struct sim_priv *p = sim_p(s);
	uint64_t h = SIM_FNV_OFFSET;
	h = sim_fnv_u64(h, s->now_ns);
	h = sim_fnv_u64(h, p->nev);
	h = sim_fnv_u64(h, p->dropped);
	for (size_t i = 0; i < p->nev; i++) {
		const struct sim_event *e = &p->ev[i];
		h = sim_fnv_u64(h, e->time_ns);
		h = sim_fnv_u64(h, e->kind);
		h = sim_fnv_u64(h, e->len_or_level);
		h = sim_fnv_u64(h, e->addr);
		h = sim_fnv_u64(h, e->data);
		h = sim_fnv_u64(h, e->is_write);
		h = sim_fnv_u64(h, e->rc);
	}
	for (unsigned i = 0; i < gm_region_count(s->m.gm); i++) {
		const struct gm_region *r = gm_region_at(s->m.gm, i);
		h = sim_fnv_u64(h, r->gpa);
		h = sim_fnv_u64(h, r->size);
		/* RAM is mostly untouched zeroes: hash only non-zero pages,
		 * each tagged with its offset, so a digest of a 64 MiB
		 * machine costs milliseconds, not a byte-wise FNV of all. */
		for (uint64_t off = 0; off < r->size; off += SIM_DIGEST_PAGE) {
			size_t n = r->size - off < SIM_DIGEST_PAGE ?
				   (size_t)(r->size - off) : SIM_DIGEST_PAGE;
			if (sim_all_zero(r->host + off, n))
				continue;
			h = sim_fnv_u64(h, off);
			h = sim_fnv(h, r->host + off, n);
		}
	}
	return h;
}
