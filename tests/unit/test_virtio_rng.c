/* virtio-rng through the sim guest driver on virtio-mmio and virtio-pci:
 * bytes come from the entropy source, the max-bytes/period limit holds on
 * virtual time, and a failing source or hostile buffers harm nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include "core/entropy.h"
#include "devices/virtio/rng.h"
#include "vdev_fixture.h"

#define QSZ 16u

struct rt {
	struct vfx *f;
	struct entropy *src;
	struct vrng *r;
	uint64_t addr[QSZ];
};

static enum vfx_kind kind(void **state)
{
	return (enum vfx_kind)(uintptr_t)*state;
}

static struct rt *rt_new_src(enum vfx_kind k, struct entropy *src,
			     uint64_t max_bytes, uint64_t period)
{
	struct rt *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = vfx_new(k);
	t->src = src;
	struct vrng_config c = { .gm = vfx_gm(t->f), .log = t->f->log,
				 .clk = vfx_clk(t->f), .src = src,
				 .max_bytes = max_bytes, .period_ms = period };
	t->r = vrng_new(&c);
	assert_non_null(t->r);
	vfx_attach(t->f, vrng_vdev(t->r));
	vfx_start(t->f, 0, 1, QSZ);
	return t;
}

static struct rt *rt_new(enum vfx_kind k, uint64_t max_bytes, uint64_t period)
{
	return rt_new_src(k, entropy_prng_new("e", 42), max_bytes, period);
}

static void rt_free(struct rt *t)
{
	vfx_detach(t->f);
	vrng_free(t->r);
	vfx_free(t->f);
	entropy_close(t->src);
	free(t);
}

static void give(struct rt *t, uint32_t len)
{
	struct vdq_buf b = { vfx_alloc(t->f, len), len, true };
	int id = vfx_add(t->f, 0, &b, 1);
	t->addr[id] = b.gpa;
}

static void test_rate_bounds(void **state)
{
	(void)state;
	assert_true(vrng_rate_valid(0, 0));
	assert_true(vrng_rate_valid(64, 1000));
	assert_false(vrng_rate_valid(63, 1000));
	assert_true(vrng_rate_valid(1000000000, 1000));
	assert_false(vrng_rate_valid(1000000001, 1000));
	assert_false(vrng_rate_valid(100, 0));
	assert_false(vrng_rate_valid(UINT64_MAX, 1));
	assert_true(vrng_rate_valid(1, 10)); /* 100 bytes/s */
	struct vrng_config c = { .max_bytes = 10, .period_ms = 1000 };
	errno = 0;
	assert_null(vrng_new(&c));
	assert_int_equal(errno, EINVAL);
}

static size_t run_fill(enum vfx_kind k, uint64_t seed, uint8_t *got)
{
	struct rt *t = rt_new_src(k, entropy_prng_new("e", seed), 0, 0);
	give(t, 100);
	give(t, 5000);
	uint16_t id;
	uint32_t ul;
	size_t n = 0;
	while (vfx_used(t->f, 0, &id, &ul)) {
		assert_int_equal(gm_read(vfx_gm(t->f), t->addr[id], got + n, ul), 0);
		n += ul;
	}
	assert_int_equal(vrng_get_stats(t->r)->bytes, n);
	assert_true(vfx_irq(t->f));
	rt_free(t);
	return n;
}

static void test_fill_from_source(void **state)
{
	/* The simulator's source is the seeded PRNG: the same seed gives the
	 * guest the same bytes, another seed other bytes. */
	static uint8_t a[5100], b[5100], c[5100];
	assert_int_equal(run_fill(kind(state), 42, a), 5100);
	assert_int_equal(run_fill(kind(state), 42, b), 5100);
	assert_int_equal(run_fill(kind(state), 43, c), 5100);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
	unsigned zeros = 0;
	for (size_t i = 0; i < sizeof(a); i++)
		zeros += a[i] == 0;
	assert_true(zeros < 100); /* ~20 expected from random bytes */
}

static void test_rate_limit(void **state)
{
	/* 1000 bytes per 100 ms = 10 KB/s. */
	struct rt *t = rt_new(kind(state), 1000, 100);
	uint64_t total = 0;
	for (int ms = 0; ms < 2000; ms++) {
		while (vdq_outstanding(&t->f->q[0]) < QSZ / 2)
			give(t, 256);
		sim_clock_step(t->f->sim, 1000000);
		uint16_t id;
		uint32_t ul;
		while (vfx_used(t->f, 0, &id, &ul))
			total += ul;
	}
	/* 2 s at 10 KB/s, plus the first full bucket. */
	assert_true(total <= 20000 + 1000);
	assert_true(total >= 18000);
	assert_true(vrng_get_stats(t->r)->throttled > 0);
	/* Reset while waiting: the timer does not fire into a dead queue. */
	vdriver_reset(&t->f->d);
	sim_clock_step(t->f->sim, 1000000000ull);
	rt_free(t);
}

/* A source that has nothing for its first `dry` reads, then fails once
 * hard, then works. */
struct flaky {
	struct entropy e;
	int calls;
};

static ssize_t flaky_read(struct entropy *e, void *buf, size_t len)
{
	struct flaky *f = (struct flaky *)e;
	f->calls++;
	if (f->calls <= 2)
		return -EAGAIN;
	if (f->calls == 3)
		return -EIO;
	memset(buf, 0x5a, len);
	return (ssize_t)len;
}

static void flaky_close(struct entropy *e)
{
	free(e);
}

static const struct entropy_ops flaky_ops = { flaky_read, flaky_close };

static void test_source_trouble(void **state)
{
	struct flaky *fl = calloc(1, sizeof(*fl));
	fl->e.ops = &flaky_ops;
	struct rt *t = rt_new_src(kind(state), &fl->e, 0, 0);
	give(t, 32);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, 0, &id, &ul), 0);
	for (int i = 0; i < 3; i++)
		sim_clock_step(t->f->sim, VRNG_RETRY_NS);
	assert_int_equal(vfx_used(t->f, 0, &id, &ul), 1);
	assert_int_equal(ul, 32);
	assert_int_equal(vrng_get_stats(t->r)->source_errors, 1);
	rt_free(t);
}

static void test_hostile_buffers(void **state)
{
	struct rt *t = rt_new(kind(state), 0, 0);
	/* A readable buffer only: nothing to fill. */
	struct vdq_buf b = { vfx_alloc(t->f, 16), 16, false };
	vfx_add(t->f, 0, &b, 1);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, 0, &id, &ul), 1);
	assert_int_equal(ul, 0);
	/* A buffer in memory that faults on write. */
	uint64_t bad = vfx_alloc(t->f, 4096);
	assert_int_equal(gm_inject_fault(t->f->sim->m.gm, bad, 4096, GM_FAULT_WRITE), 0);
	struct vdq_buf w = { bad, 64, true };
	vfx_add(t->f, 0, &w, 1);
	assert_int_equal(vfx_used(t->f, 0, &id, &ul), 1);
	assert_int_equal(ul, 0);
	/* Broken ring. */
	assert_int_equal(vdq_raw_avail_idx(&t->f->q[0], 500), 0);
	vfx_kick(t->f, 0);
	assert_true(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	rt_free(t);
}

#define BOTH(fn)                                                           \
	VFX_TESTS(fn)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_bounds),
		BOTH(test_fill_from_source),
		BOTH(test_rate_limit),
		BOTH(test_source_trouble),
		BOTH(test_hostile_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
