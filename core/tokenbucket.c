/* Token bucket: see tokenbucket.h.  All arithmetic is in 128 bits so large
 * sizes and long idle times cannot overflow. */
#include "core/tokenbucket.h"

#include <assert.h>

void tokenbucket_init(struct tokenbucket *tb, uint64_t size, uint64_t refill_ns,
		      uint64_t now)
{
	assert(size == 0 || refill_ns > 0);
	tb->size = size;
	tb->refill_ns = refill_ns;
	tb->budget = size;
	tb->last_ns = now;
	tb->rem = 0;
}

bool tokenbucket_unlimited(const struct tokenbucket *tb)
{
	return tb->size == 0;
}

static void refill(struct tokenbucket *tb, uint64_t now)
{
	if (now <= tb->last_ns)
		return;
	unsigned __int128 credit =
		(unsigned __int128)(now - tb->last_ns) * tb->size + tb->rem;
	unsigned __int128 add = credit / tb->refill_ns;
	tb->last_ns = now;
	if (tb->budget + add >= tb->size) {
		/* Full: time spent full earns nothing. */
		tb->budget = tb->size;
		tb->rem = 0;
		return;
	}
	tb->budget += (uint64_t)add;
	tb->rem = (uint64_t)(credit % tb->refill_ns);
}

uint64_t tokenbucket_available(struct tokenbucket *tb, uint64_t now)
{
	if (tb->size == 0)
		return UINT64_MAX;
	refill(tb, now);
	return tb->budget;
}

bool tokenbucket_reduce(struct tokenbucket *tb, uint64_t n, uint64_t now)
{
	if (tb->size == 0)
		return true;
	refill(tb, now);
	if (n > tb->budget)
		return false;
	tb->budget -= n;
	return true;
}

uint64_t tokenbucket_take_upto(struct tokenbucket *tb, uint64_t n, uint64_t now)
{
	if (tb->size == 0)
		return n;
	refill(tb, now);
	uint64_t t = n < tb->budget ? n : tb->budget;
	tb->budget -= t;
	return t;
}

uint64_t tokenbucket_wait_ns(struct tokenbucket *tb, uint64_t n, uint64_t now)
{
	if (tb->size == 0)
		return 0;
	refill(tb, now);
	if (n > tb->size)
		n = tb->size;
	if (n <= tb->budget)
		return 0;
	uint64_t need = n - tb->budget;
	/* Smallest t with t * size + rem >= need * refill_ns. */
	unsigned __int128 units = (unsigned __int128)need * tb->refill_ns - tb->rem;
	unsigned __int128 t = (units + tb->size - 1) / tb->size;
	uint64_t at = tb->last_ns + (uint64_t)t;
	return at > now ? at - now : 1;
}
