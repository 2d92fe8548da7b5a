/* Entropy sources for virtio-rng: a host file (rng-random filename=, usually
 * /dev/urandom) or, in the simulator, a seeded PRNG so runs reproduce. */
#ifndef VMM_CORE_ENTROPY_H
#define VMM_CORE_ENTROPY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct entropy;

struct entropy_ops {
	/* Fill up to len bytes; returns bytes produced (> 0), -EAGAIN when
	 * none are available right now, or another -errno. */
	ssize_t (*read)(struct entropy *e, void *buf, size_t len);
	void (*close)(struct entropy *e);
};

struct entropy {
	const struct entropy_ops *ops;
	char id[64];
	uint64_t bytes; /* produced so far */
};

ssize_t entropy_read(struct entropy *e, void *buf, size_t len);
void entropy_close(struct entropy *e);

/* Reads `filename` non-blocking (a /dev/random that has nothing gives
 * -EAGAIN, not a stalled VMM).  NULL with errno set: EINVAL for what is
 * neither a character device nor a regular file (a FIFO, a socket). */
struct entropy *entropy_file_open(const char *id, const char *filename);
/* Deterministic stream from seed (simulator, tests, fuzzers). */
struct entropy *entropy_prng_new(const char *id, uint64_t seed);

#endif
