/* virtio-balloon through the sim guest driver on virtio-mmio and
 * virtio-pci: target and actual, inflate/deflate into the bitmap and the
 * host hooks, statistics, DEFLATE_ON_OOM, hostile PFN lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include "devices/virtio/balloon.h"
#include "vdev_fixture.h"

#define QSZ 16u
#define RAM_PAGES ((64u << 20) / 4096u)

struct hooklog {
	unsigned released, reclaimed;
	uint64_t last_gpa, last_len;
};

struct blt {
	struct vfx *f;
	struct balloon *b;
	struct hooklog h;
};

static enum vfx_kind kind(void **state)
{
	return (enum vfx_kind)(uintptr_t)*state;
}

static void on_release(void *opaque, uint64_t gpa, uint64_t len)
{
	struct hooklog *h = opaque;
	h->released++;
	h->last_gpa = gpa;
	h->last_len = len;
}

static void on_reclaim(void *opaque, uint64_t gpa, uint64_t len)
{
	struct hooklog *h = opaque;
	h->reclaimed++;
	h->last_gpa = gpa;
	h->last_len = len;
}

static struct blt *blt_new(enum vfx_kind k, bool hooks, uint64_t want)
{
	struct blt *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = vfx_new(k);
	struct balloon_config c = { .gm = vfx_gm(t->f), .log = t->f->log,
				    .deflate_on_oom = true, .stats = true };
	if (hooks) {
		c.release = on_release;
		c.reclaim = on_reclaim;
		c.opaque = &t->h;
	}
	t->b = balloon_new(&c);
	assert_non_null(t->b);
	vfx_attach(t->f, balloon_vdev(t->b));
	vfx_start(t->f, want, 3, QSZ);
	return t;
}

static void blt_free(struct blt *t)
{
	vfx_detach(t->f);
	balloon_free(t->b);
	vfx_free(t->f);
	free(t);
}

static void pfns(struct blt *t, unsigned q, const uint32_t *p, unsigned n,
		 uint32_t extra_bytes)
{
	size_t len = n * 4 + extra_bytes;
	uint32_t *le = calloc(n + 1, 4);
	for (unsigned i = 0; i < n; i++)
		le[i] = htole32(p[i]);
	struct vdq_buf b = { vfx_put(t->f, le, len), (uint32_t)len, false };
	free(le);
	vfx_add(t->f, q, &b, 1);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, q, &id, &ul), 1);
}

static void test_target_and_actual(void **state)
{
	struct blt *t = blt_new(kind(state), true, ~0ull);
	uint64_t f = t->f->d.features;
	assert_true(f & VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	assert_true(f & VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ));
	assert_int_equal(vfx_cfg(t->f, 0, 4), 0);
	t->f->d.bus->isr_ack(&t->f->d);
	balloon_set_target(t->b, 1234);
	assert_int_equal(balloon_get_target(t->b), 1234);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_balloon_config,
						num_pages), 4), 1234);
	assert_true(vfx_irq(t->f));
	balloon_set_target(t->b, 1234); /* unchanged: no interrupt needed */
	/* The driver reports actual; it cannot change num_pages. */
	t->f->d.bus->config_write(&t->f->d, offsetof(struct virtio_balloon_config,
						     actual), 4, 1200);
	assert_int_equal(balloon_get_actual(t->b), 1200);
	t->f->d.bus->config_write(&t->f->d, 0, 4, 7);
	assert_int_equal(balloon_get_target(t->b), 1234);
	/* A partial (2-byte) write of actual's high half. */
	t->f->d.bus->config_write(&t->f->d, offsetof(struct virtio_balloon_config,
						     actual) + 2, 2, 1);
	assert_int_equal(balloon_get_actual(t->b), 0x10000 + 1200);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_balloon_config,
						actual), 4), 0x10000 + 1200);
	blt_free(t);
}

static void test_inflate_deflate(void **state)
{
	struct blt *t = blt_new(kind(state), true, ~0ull);
	uint32_t p[3] = { 0x1000, 0x1001, 0x2000 };
	pfns(t, BALLOON_INFLATEQ, p, 3, 0);
	assert_int_equal(balloon_inflated_pages(t->b), 3);
	assert_true(balloon_page_inflated(t->b, 0x1001));
	assert_false(balloon_page_inflated(t->b, 0x1002));
	assert_int_equal(t->h.released, 3);
	assert_int_equal(t->h.last_gpa, 0x2000ull << 12);
	assert_int_equal(t->h.last_len, 4096);
	/* Inflating a page twice releases it once. */
	pfns(t, BALLOON_INFLATEQ, p, 1, 0);
	assert_int_equal(t->h.released, 3);
	/* Deflate (e.g. on OOM) gives pages back. */
	pfns(t, BALLOON_DEFLATEQ, p + 1, 2, 0);
	assert_int_equal(balloon_inflated_pages(t->b), 1);
	assert_int_equal(t->h.reclaimed, 2);
	assert_false(balloon_page_inflated(t->b, 0x2000));
	/* Deflating a page that is not inflated does nothing. */
	pfns(t, BALLOON_DEFLATEQ, p + 1, 1, 0);
	assert_int_equal(t->h.reclaimed, 2);
	assert_int_equal(balloon_get_counters(t->b)->inflated, 3);
	/* Reset returns every page to the (new) driver. */
	vdriver_reset(&t->f->d);
	assert_int_equal(balloon_inflated_pages(t->b), 0);
	assert_int_equal(t->h.reclaimed, 3);
	blt_free(t);
}

static void test_sim_bitmap_without_hooks(void **state)
{
	struct blt *t = blt_new(kind(state), false, 0);
	uint32_t p[2] = { 5, 6 };
	pfns(t, BALLOON_INFLATEQ, p, 2, 0);
	assert_true(balloon_page_inflated(t->b, 5));
	assert_true(balloon_page_inflated(t->b, 6));
	assert_false(balloon_page_inflated(t->b, (uint64_t)1 << 40));
	blt_free(t);
}

static void test_hostile_pfns(void **state)
{
	/* Split ring: the broken-ring case below writes avail->idx. */
	struct blt *t = blt_new(kind(state), true,
				~0ull & ~VIRTIO_BIT(VIRTIO_F_RING_PACKED));
	/* Beyond RAM, the top PFN, and one in the middle of the sim's MMIO
	 * hole: skipped and counted. */
	uint32_t bad[3] = { RAM_PAGES, 0xffffffffu, 0xd0000u };
	pfns(t, BALLOON_INFLATEQ, bad, 3, 0);
	assert_int_equal(balloon_get_counters(t->b)->bad_pfns, 3);
	assert_int_equal(t->h.released, 0);
	/* A trailing partial PFN is ignored. */
	uint32_t ok = 7;
	pfns(t, BALLOON_INFLATEQ, &ok, 1, 3);
	assert_int_equal(balloon_inflated_pages(t->b), 1);
	/* More PFNs than any driver sends, by one: capped. */
	unsigned n = BALLOON_MAX_PFNS_PER_REQ + 1;
	uint32_t *many = malloc(n * 4);
	for (unsigned i = 0; i < n; i++)
		many[i] = 0x100 + i;
	pfns(t, BALLOON_INFLATEQ, many, n, 0);
	free(many);
	assert_int_equal(balloon_inflated_pages(t->b), 1 + BALLOON_MAX_PFNS_PER_REQ);
	/* An empty / writable-only buffer. */
	struct vdq_buf w = { vfx_alloc(t->f, 16), 16, true };
	vfx_add(t->f, BALLOON_DEFLATEQ, &w, 1);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, BALLOON_DEFLATEQ, &id, &ul), 1);
	/* Broken ring. */
	assert_int_equal(vdq_raw_avail_idx(&t->f->q[BALLOON_INFLATEQ], 300), 0);
	vfx_kick(t->f, BALLOON_INFLATEQ);
	assert_true(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	blt_free(t);
}

static void send_stats(struct blt *t, uint64_t memfree, unsigned extra_tags)
{
	struct virtio_balloon_stat s[4] = {
		{ htole16(VIRTIO_BALLOON_S_MEMFREE), htole64(memfree) },
		{ htole16(VIRTIO_BALLOON_S_MEMTOT), htole64(64ull << 20) },
		{ htole16(200), htole64(1) },   /* a tag from the future */
		{ htole16(VIRTIO_BALLOON_S_AVAIL), htole64(memfree / 2) },
	};
	unsigned n = 2 + extra_tags;
	struct vdq_buf b = { vfx_put(t->f, s, n * sizeof(s[0])),
			     (uint32_t)(n * sizeof(s[0])), false };
	vfx_add(t->f, BALLOON_STATSQ, &b, 1);
}

static void test_stats(void **state)
{
	struct blt *t = blt_new(kind(state), true, ~0ull);
	uint64_t v;
	assert_false(balloon_request_stats(t->b)); /* none held yet */
	assert_false(balloon_get_stat(t->b, VIRTIO_BALLOON_S_MEMFREE, &v));
	send_stats(t, 1000, 0);
	assert_true(balloon_get_stat(t->b, VIRTIO_BALLOON_S_MEMFREE, &v));
	assert_int_equal(v, 1000);
	uint16_t id;
	uint32_t ul;
	/* The device holds the buffer until the host asks. */
	assert_int_equal(vfx_used(t->f, BALLOON_STATSQ, &id, &ul), 0);
	assert_true(balloon_request_stats(t->b));
	assert_int_equal(vfx_used(t->f, BALLOON_STATSQ, &id, &ul), 1);
	send_stats(t, 2000, 2);
	assert_true(balloon_get_stat(t->b, VIRTIO_BALLOON_S_MEMFREE, &v));
	assert_int_equal(v, 2000);
	assert_true(balloon_get_stat(t->b, VIRTIO_BALLOON_S_AVAIL, &v));
	assert_int_equal(v, 1000);
	assert_false(balloon_get_stat(t->b, 200, &v));
	/* A driver that sends another buffer without being asked gets the
	 * older one back. */
	send_stats(t, 3000, 0);
	assert_int_equal(vfx_used(t->f, BALLOON_STATSQ, &id, &ul), 1);
	assert_int_equal(balloon_get_counters(t->b)->stats_updates, 3);
	blt_free(t);
}

/* A bad chain on the stats queue is handed back empty, and the driver is
 * told (§2.7.7.2: used buffers are signalled), or it would wait for that
 * buffer forever. */
static void test_stats_bad_chain_signalled(void **state)
{
	struct blt *t = blt_new(kind(state), true, ~0ull);
	assert_false(vfx_irq(t->f));
	/* §2.7.4: a zero-length descriptor makes the chain bad. */
	struct vdq_buf b = { vfx_put(t->f, "x", 1), 0, false };
	vfx_add(t->f, BALLOON_STATSQ, &b, 1);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, BALLOON_STATSQ, &id, &ul), 1);
	assert_int_equal(ul, 0);
	assert_true(vfx_irq(t->f));
	assert_int_equal(balloon_get_counters(t->b)->stats_updates, 0);
	blt_free(t);
}

static void test_no_stats_negotiated(void **state)
{
	struct blt *t = blt_new(kind(state), true, 0);
	assert_false(t->f->d.features & VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ));
	send_stats(t, 1, 0);
	uint64_t v;
	assert_false(balloon_get_stat(t->b, VIRTIO_BALLOON_S_MEMFREE, &v));
	blt_free(t);
}

struct rangelog {
	unsigned n;
	uint64_t gpa[8], len[8];
};

static void on_release_range(void *opaque, uint64_t gpa, uint64_t len)
{
	struct rangelog *l = opaque;
	if (l->n < 8) {
		l->gpa[l->n] = gpa;
		l->len[l->n] = len;
	}
	l->n++;
}

/* Free page reporting (§5.5.6.7): each reported range goes to the
 * release hook (whole pages inside RAM only), the buffer comes back
 * unwritten; the queue follows statsq, or takes its place when
 * STATS_VQ is not negotiated. */
static void test_free_page_reporting(void **state)
{
	for (int stats = 1; stats >= 0; stats--) {
		struct vfx *f = vfx_new(kind(state));
		struct rangelog l = { 0 };
		struct balloon_config c = { .gm = vfx_gm(f), .log = f->log,
					    .stats = true, .page_reporting = true,
					    .release = on_release_range, .opaque = &l };
		struct balloon *b = balloon_new(&c);
		assert_non_null(b);
		vfx_attach(f, balloon_vdev(b));
		assert_true(vdriver_device_features(&f->d) &
			    VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING));
		uint64_t want = VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING) |
				(stats ? VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ) : 0);
		unsigned rq = stats ? 3 : 2;
		vfx_start(f, want, rq + 1, QSZ);
		assert_int_equal(balloon_report_queue(b), (int)rq);
		/* A 2 MiB block, as Linux reports (pageblock order). */
		struct vdq_buf r1[2] = { { 32u << 20, 2u << 20, true },
					 { 40u << 20, 4096, true } };
		vfx_add(f, rq, r1, 2);
		uint16_t id;
		uint32_t len;
		assert_int_equal(vfx_used(f, rq, &id, &len), 1);
		assert_int_equal(len, 0);
		assert_int_equal(l.n, 2);
		assert_int_equal(l.gpa[0], 32u << 20);
		assert_int_equal(l.len[0], 2u << 20);
		assert_int_equal(l.gpa[1], 40u << 20);
		/* Unaligned: only the whole pages inside are released; under
		 * a page: nothing. */
		struct vdq_buf r2[2] = { { (48u << 20) + 100, 3 * 4096, true },
					 { (50u << 20) + 8, 4000, true } };
		vfx_add(f, rq, r2, 2);
		assert_int_equal(vfx_used(f, rq, &id, &len), 1);
		assert_int_equal(l.n, 3);
		assert_int_equal(l.gpa[2], (48u << 20) + 4096);
		assert_int_equal(l.len[2], 2 * 4096);
		/* Outside RAM or across its end: the queue layer returns the
		 * chain and nothing is released. */
		struct vdq_buf r3[2] = { { 16u << 20, 4096, true },
					 { (64u << 20) - 4096, 8192, true } };
		vfx_add(f, rq, r3, 2);
		assert_int_equal(vfx_used(f, rq, &id, &len), 1);
		assert_int_equal(len, 0);
		assert_int_equal(l.n, 3);
		const struct balloon_stats *st = balloon_get_counters(b);
		assert_int_equal(st->reports, 2);
		assert_int_equal(st->reported_pages, 512 + 1 + 2);
		assert_int_equal(st->bad_reports, 1);
		/* Reported pages are not inflated: the balloon is unchanged. */
		assert_int_equal(balloon_inflated_pages(b), 0);
		assert_true(vfx_irq(f));
		vfx_detach(f);
		balloon_free(b);
		vfx_free(f);
	}
	/* Off (the default): not offered. */
	struct blt *t = blt_new(kind(state), true, 0);
	assert_false(vdriver_device_features(&t->f->d) &
		     VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING));
	assert_int_equal(balloon_report_queue(t->b), -1);
	blt_free(t);
}

#define BOTH(fn)                                                           \
	VFX_TESTS(fn)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_target_and_actual),
		BOTH(test_inflate_deflate),
		BOTH(test_sim_bitmap_without_hooks),
		BOTH(test_hostile_pfns),
		BOTH(test_stats_bad_chain_signalled),
		BOTH(test_stats),
		BOTH(test_no_stats_negotiated),
		BOTH(test_free_page_reporting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
