/* Token bucket rate limiter with time passed in (Firecracker's TokenBucket
 * minus its hidden Instant::now()): the caller supplies `now` in ns from its
 * clk, so the simulator's virtual clock makes throttling deterministic.
 *
 * `size` tokens refill evenly over `refill_ns`; the bucket holds at most
 * `size` (the burst).  Refill is exact: after T ns of refilling exactly
 * floor(T * size / refill_ns) tokens were credited (the fraction is
 * carried), so the long-run rate is never above the limit, nor below it.
 * size 0 means unlimited. */
#ifndef VMM_CORE_TOKENBUCKET_H
#define VMM_CORE_TOKENBUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct tokenbucket {
	uint64_t size;       /* capacity and tokens per refill period; 0: off */
	uint64_t refill_ns;  /* time to refill from empty to full */
	uint64_t budget;     /* tokens available now */
	uint64_t last_ns;    /* time of the last refill */
	uint64_t rem;        /* fraction of a token earned, in size*ns units
				(< refill_ns): refill is exact, never early */
};

/* Start full at time now.  refill_ns 0 with size > 0 is a host bug. */
void tokenbucket_init(struct tokenbucket *tb, uint64_t size, uint64_t refill_ns,
		      uint64_t now);
bool tokenbucket_unlimited(const struct tokenbucket *tb);
/* Tokens available at `now` (after refill). UINT64_MAX when unlimited. */
uint64_t tokenbucket_available(struct tokenbucket *tb, uint64_t now);
/* Take n tokens if all are available; false leaves the bucket untouched.
 * A request larger than size can never succeed: callers cap n at size. */
bool tokenbucket_reduce(struct tokenbucket *tb, uint64_t n, uint64_t now);
/* Take up to n tokens; returns how many were taken. */
uint64_t tokenbucket_take_upto(struct tokenbucket *tb, uint64_t n, uint64_t now);
/* Nanoseconds from now until n tokens (capped at size) will be available;
 * 0 if they are now. */
uint64_t tokenbucket_wait_ns(struct tokenbucket *tb, uint64_t n, uint64_t now);

#endif
