/* xoshiro256** (Blackman & Vigna, 2018), seeded through splitmix64 as its
 * authors recommend so any 64-bit seed (even 0) gives a good state. */
#include "prng.h"

#include <string.h>

static uint64_t prng_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t prng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void prng_seed(struct prng *p, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		p->s[i] = prng_splitmix64(&x);
}

uint64_t prng_next(struct prng *p)
{
	uint64_t *s = p->s;
	uint64_t result = prng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = prng_rotl(s[3], 45);
	return result;
}

/* Rejection sampling (Lemire's threshold) so the result is exactly
 * uniform: plain `% bound` favours small values. */
uint64_t prng_below(struct prng *p, uint64_t bound)
{
	if (bound == 0)
		return 0;
	uint64_t threshold = -bound % bound;
	for (;;) {
		uint64_t r = prng_next(p);
		if (r >= threshold)
			return r % bound;
	}
}

void prng_fill(struct prng *p, void *buf, size_t len)
{
	uint8_t *b = buf;
	while (len >= 8) {
		uint64_t r = prng_next(p);
		memcpy(b, &r, 8);
		b += 8;
		len -= 8;
	}
	if (len) {
		uint64_t r = prng_next(p);
		memcpy(b, &r, len);
	}
}
