/* Deterministic "entropy" for the simulator: the seeded project PRNG, so a
 * seed reproduces every byte virtio-rng hands the guest. */
#include "core/entropy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/prng.h"

struct entropy_prng {
	struct entropy e;
	struct prng p;
};

static ssize_t eprng_read(struct entropy *e, void *buf, size_t len)
{
	struct entropy_prng *s = (struct entropy_prng *)e;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	prng_fill(&s->p, buf, len);
	return (ssize_t)len;
}

static void eprng_close(struct entropy *e)
{
	free(e);
}

static const struct entropy_ops prng_ops = {
	.read = eprng_read,
	.close = eprng_close,
};

struct entropy *entropy_prng_new(const char *id, uint64_t seed)
{
	struct entropy_prng *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	prng_seed(&s->p, seed);
	s->e.ops = &prng_ops;
	snprintf(s->e.id, sizeof(s->e.id), "%s", id ? id : "prng");
	return &s->e;
}
