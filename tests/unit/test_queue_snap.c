/* queue_snap: a virtqueue saved with chains in flight (split and packed
 * rings, across index and wrap-counter wraparound) and loaded into a
 * fresh queue over a copy of guest memory behaves exactly as the
 * original: same used entries, same guest memory, same notification
 * decisions.  Hand-written hostile sections are refused naming the
 * field: packed slots beyond the size, more in flight than the ring,
 * a held chain's id beyond the size or a segment outside RAM. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/snapshot.h"
#include "devices/virtio/queue_snap.h"
#include "vq_fixture.h"

#define HELD_MAX 8

struct stream {
	uint8_t *buf;
	size_t len;
};

static struct stream save_q(struct fx *f, struct vq_elem **held, unsigned n)
{
	struct snap_w *w = snap_w_new();
	vq_save(&f->vq, w, "vq0");
	char name[16];
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "held%u", i);
		vq_elem_save(w, name, held[i]);
	}
	const uint8_t *b;
	struct stream s;
	assert_int_equal(snap_w_finish(w, &b, &s.len), 0);
	s.buf = malloc(s.len);
	memcpy(s.buf, b, s.len);
	snap_w_free(w);
	return s;
}

/* A second machine: a copy of f's RAM, the same driver ("guest") state,
 * a fresh device queue loaded from s. */
static struct fx *restore(struct fx *f, const struct stream *s,
			  struct vq_elem **held, unsigned n)
{
	struct fx *g = calloc(1, sizeof(*g));
	g->gm = gm_new();
	assert_int_equal(gm_add_heap(g->gm, 0, FX_RAM_SIZE, 0, "ram"), 0);
	memcpy(gm_region_at(g->gm, 0)->host, gm_region_at(f->gm, 0)->host,
	       FX_RAM_SIZE);
	g->log = log_new_memory(LOG_DEBUG);
	g->e = calloc(1, sizeof(*g->e));
	g->features = f->features;
	g->dq = f->dq;
	g->dq.gm = g->gm;
	g->vq.gm = g->gm;
	struct snap_r *r;
	char err[128];
	assert_int_equal(snap_r_open(&r, s->buf, s->len, err, sizeof(err)), 0);
	assert_int_equal(vq_load(&g->vq, r, "vq0", g->gm, g->log, 0, g->features,
				 VQ_MAX_SIZE), 0);
	char name[16];
	for (unsigned i = 0; i < n; i++) {
		bool present;
		snprintf(name, sizeof(name), "held%u", i);
		assert_int_equal(vq_elem_load(r, name, &g->vq, held[i], &present), 0);
		assert_true(present);
	}
	assert_int_equal(snap_r_done(r), 0);
	snap_r_free(r);
	return g;
}

/* One round of traffic on f: the driver adds `add` chains, the device
 * pushes the held ones (written = 3 + id) and holds `hold` new ones. */
static void round_trip(struct fx *f, struct vq_elem **held, unsigned *nheld,
		       unsigned add, unsigned hold, uint64_t *log_hash)
{
	for (unsigned i = 0; i < add; i++) {
		struct vdq_buf b[2] = {
			{ FX_DATA_GPA + 0x1000u * ((*log_hash + i) % 64), 64, false },
			{ FX_DATA_GPA + 0x80000u + 0x100u * i, 32, true },
		};
		if (vdq_add(&f->dq, b, 2, (uint16_t)i) < 0)
			break;
	}
	vdq_publish(&f->dq);
	for (unsigned i = 0; i < *nheld; i++) {
		assert_int_equal(vq_push(&f->vq, held[i], 3u + held[i]->id), 0);
	}
	*log_hash = *log_hash * 31 + vq_should_notify(&f->vq);
	*nheld = 0;
	for (unsigned i = 0; i < hold && *nheld < HELD_MAX; i++) {
		int r = vq_pop(&f->vq, held[*nheld]);
		if (r != 1)
			break;
		(*nheld)++;
	}
	uint16_t id;
	uint32_t len;
	while (vdq_get_used(&f->dq, &id, &len) == 1)
		*log_hash = *log_hash * 1000003u + id * 131u + len;
}

static void equivalent(uint16_t size, uint64_t features)
{
	struct fx *f = fx_new(size, features);
	struct vq_elem *ha[HELD_MAX], *hb[HELD_MAX];
	for (unsigned i = 0; i < HELD_MAX; i++) {
		ha[i] = calloc(1, sizeof(struct vq_elem));
		hb[i] = calloc(1, sizeof(struct vq_elem));
	}
	unsigned na = 0;
	uint64_t ha_log = 1;
	/* Enough rounds to wrap indices and packed wrap counters; save
	 * after every round and compare three more rounds. */
	for (unsigned round = 0; round < 40; round++) {
		round_trip(f, ha, &na, 1 + round % 4, 1 + round % 3, &ha_log);
		struct stream s = save_q(f, ha, na);
		struct fx *g = restore(f, &s, hb, na);
		unsigned nb = na;
		uint64_t hb_log = ha_log;
		/* Continue both the same way. */
		struct fx *f2 = fx_new(size, features);
		/* f continues on a copy too, so the loop's f is untouched. */
		memcpy(gm_region_at(f2->gm, 0)->host, gm_region_at(f->gm, 0)->host,
		       FX_RAM_SIZE);
		struct log *keep = f2->log;
		f2->dq = f->dq;
		f2->dq.gm = f2->gm;
		f2->vq = f->vq;
		f2->vq.gm = f2->gm;
		f2->vq.log = keep;
		struct vq_elem *hc[HELD_MAX];
		for (unsigned i = 0; i < HELD_MAX; i++) {
			hc[i] = calloc(1, sizeof(struct vq_elem));
			if (i < na)
				*hc[i] = *ha[i];
		}
		unsigned nc = na;
		uint64_t hc_log = ha_log;
		for (unsigned k = 0; k < 3; k++) {
			round_trip(f2, hc, &nc, 2 + k, 1 + k, &hc_log);
			round_trip(g, hb, &nb, 2 + k, 1 + k, &hb_log);
			assert_int_equal(nc, nb);
			assert_int_equal(hc_log, hb_log);
		}
		assert_memory_equal(gm_region_at(f2->gm, 0)->host,
				    gm_region_at(g->gm, 0)->host, FX_RAM_SIZE);
		for (unsigned i = 0; i < HELD_MAX; i++)
			free(hc[i]);
		fx_free(f2);
		fx_free(g);
		free(s.buf);
	}
	for (unsigned i = 0; i < HELD_MAX; i++) {
		free(ha[i]);
		free(hb[i]);
	}
	fx_free(f);
}

static void test_split_equivalent(void **state)
{
	(void)state;
	equivalent(8, FX_SPLIT_FEATURES);
}

static void test_split_event_idx_equivalent(void **state)
{
	(void)state;
	equivalent(16, FX_SPLIT_FEATURES | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
}

static void test_packed_equivalent(void **state)
{
	(void)state;
	equivalent(8, FX_PACKED_FEATURES);
	equivalent(5, FX_PACKED_FEATURES);   /* packed sizes need not be 2^n */
}

/* A vq section written by hand with one field hostile. */
static void expect_refused(struct fx *f, void (*spoil)(struct snap_w *),
			   const char *why)
{
	struct snap_w *w = snap_w_new();
	spoil(w);
	const uint8_t *b;
	size_t len;
	assert_int_equal(snap_w_finish(w, &b, &len), 0);
	struct snap_r *r;
	char err[128];
	assert_int_equal(snap_r_open(&r, b, len, err, sizeof(err)), 0);
	struct vq before = f->vq;
	struct vq_elem e;
	bool present;
	int rc = vq_load(&f->vq, r, "vq0", f->gm, f->log, 0, f->features, 8);
	if (!rc)
		rc = vq_elem_load(r, "held0", &f->vq, &e, &present);
	assert_true(rc < 0);
	if (!strstr(snap_r_error(r), why))
		fail_msg("error '%s' lacks '%s'", snap_r_error(r), why);
	snap_r_free(r);
	snap_w_free(w);
	(void)before;
}

static void vq_fields(struct snap_w *w, uint16_t size, bool packed,
		      uint16_t last_avail, uint16_t used_idx, uint16_t next_avail)
{
	snap_w_begin(w, "vq0", 1);
	snap_w_bool(w, "live", true);
	snap_w_u16(w, "size", size);
	snap_w_u64(w, "desc", FX_RING_GPA);
	snap_w_u64(w, "driver", FX_RING_GPA + 0x1000);
	snap_w_u64(w, "device", FX_RING_GPA + 0x2000);
	snap_w_u16(w, "msix_vector", 0xffff);
	snap_w_bool(w, "packed", packed);
	snap_w_u16(w, "last_avail", last_avail);
	snap_w_u16(w, "used_idx", used_idx);
	snap_w_u16(w, "signalled_used", 0);
	snap_w_bool(w, "signalled_used_valid", false);
	snap_w_u16(w, "next_avail", next_avail);
	snap_w_bool(w, "avail_wrap", true);
	snap_w_u16(w, "next_used", 0);
	snap_w_bool(w, "used_wrap", true);
	snap_w_bool(w, "broken", false);
	snap_w_bool(w, "notify_off", false);
	snap_w_end(w);
}

static void spoil_inflight(struct snap_w *w) { vq_fields(w, 8, false, 20, 3, 0); }
static void spoil_size(struct snap_w *w) { vq_fields(w, 16, false, 0, 0, 0); }
static void spoil_packed_slot(struct snap_w *w) { vq_fields(w, 8, true, 0, 0, 8); }
static void spoil_packed_flag(struct snap_w *w) { vq_fields(w, 8, true, 0, 0, 0); }

static void held(struct snap_w *w, uint16_t id, uint64_t gpa)
{
	vq_fields(w, 8, false, 1, 0, 0);
	snap_w_begin(w, "held0", 1);
	snap_w_bool(w, "present", true);
	snap_w_u16(w, "id", id);
	snap_w_u16(w, "ndesc", 1);
	snap_w_u16(w, "nout", 1);
	snap_w_u16(w, "nin", 0);
	uint8_t seg[12] = { 0 };
	for (int k = 0; k < 8; k++)
		seg[k] = (uint8_t)(gpa >> (8 * k));
	seg[8] = 64;
	snap_w_bytes(w, "segs", seg, sizeof(seg));
	snap_w_end(w);
}
static void spoil_held_id(struct snap_w *w) { held(w, 8, FX_DATA_GPA); }
static void spoil_held_gpa(struct snap_w *w) { held(w, 1, FX_RAM_SIZE - 8); }

static void test_hostile_fields(void **state)
{
	(void)state;
	struct fx *f = fx_new(8, FX_SPLIT_FEATURES);
	expect_refused(f, spoil_inflight, "vq0.last_avail: more chains in flight");
	expect_refused(f, spoil_size, "vq0.size: zero or above the queue's maximum");
	expect_refused(f, spoil_packed_flag, "vq0.packed: disagrees with the negotiated");
	expect_refused(f, spoil_held_id, "held0.id: beyond the queue size");
	expect_refused(f, spoil_held_gpa, "held0.segs: an empty segment or one outside");
	fx_free(f);
	f = fx_new(8, FX_PACKED_FEATURES);
	expect_refused(f, spoil_packed_slot, "vq0.next_avail: beyond the queue size");
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_equivalent),
		cmocka_unit_test(test_split_event_idx_equivalent),
		cmocka_unit_test(test_packed_equivalent),
		cmocka_unit_test(test_hostile_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
