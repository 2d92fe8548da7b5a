/* Seeded pseudo-random generator (xoshiro256**, seeded through splitmix64):
 * the only randomness device and simulator code may use, handed in by the
 * machine so a seed reproduces a run exactly. */
#ifndef VMM_CORE_PRNG_H
#define VMM_CORE_PRNG_H

#include <stddef.h>
#include <stdint.h>

struct prng {
	uint64_t s[4];
};

void prng_seed(struct prng *p, uint64_t seed);
uint64_t prng_next(struct prng *p);
/* Uniform in [0, bound); bound 0 returns 0. */
uint64_t prng_below(struct prng *p, uint64_t bound);
void prng_fill(struct prng *p, void *buf, size_t len);

#endif
