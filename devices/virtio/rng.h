/* virtio-rng / entropy device (virtio 1.2 §5.4): one request queue the
 * driver fills with writable buffers; we fill them from an entropy source.
 *
 * Rate limit (StratoVirt's max-bytes/period): at most max_bytes every
 * period_ms, through a token bucket on clk time; a buffer that finds the
 * bucket empty waits in the ring until a timer refills it. */
#ifndef VMM_VIRTIO_RNG_H
#define VMM_VIRTIO_RNG_H

#include <stdbool.h>
#include <stdint.h>

struct vdev;
struct gm;
struct log;
struct clk;
struct entropy;

#define VRNG_QUEUE_SIZE 64u
/* Bounds StratoVirt documents for max_bytes * 1000 / period_ms. */
#define VRNG_MIN_RATE 64ull
#define VRNG_MAX_RATE 1000000000ull
/* Retry delay when the source has nothing right now (-EAGAIN). */
#define VRNG_RETRY_NS 10000000ull

struct vrng_config {
	const struct gm *gm;
	struct log *log;
	const struct clk *clk;
	struct entropy *src;   /* not owned */
	uint64_t max_bytes;    /* 0: unlimited */
	uint64_t period_ms;    /* with max_bytes; 0: 1000 */
	uint16_t queue_size;   /* 0: VRNG_QUEUE_SIZE */
};

struct vrng_stats {
	uint64_t bytes, requests, throttled, source_errors;
};

struct vrng;

/* true when (max_bytes, period_ms) is an acceptable limit (0 bytes: off). */
bool vrng_rate_valid(uint64_t max_bytes, uint64_t period_ms);
/* NULL with errno EINVAL for a bad rate. */
struct vrng *vrng_new(const struct vrng_config *cfg);
void vrng_free(struct vrng *r);
struct vdev *vrng_vdev(struct vrng *r);
const struct vrng_stats *vrng_get_stats(const struct vrng *r);

#endif
