/* vq_push_batch: several chains published to the driver as one step, on
 * split and packed rings (what virtio-net MRG_RXBUF needs, §5.1.6.4). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "vq_fixture.h"

#define NCHAINS 3

static void add_chains(struct fx *f)
{
	for (unsigned i = 0; i < NCHAINS; i++) {
		struct vdq_buf b = { FX_DATA_GPA + i * 0x1000, 256, true };
		assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	}
	vdq_publish(&f->dq);
}

static void batch_round_trip(uint64_t features)
{
	struct fx *f = fx_new(8, features);
	struct vq_elem *e[NCHAINS];
	uint32_t written[NCHAINS] = { 100, 256, 999 }; /* last: over in_len */
	uint16_t ids[NCHAINS], id;
	uint32_t len;

	add_chains(f);
	for (unsigned i = 0; i < NCHAINS; i++) {
		e[i] = calloc(1, sizeof(*e[i]));
		assert_int_equal(vq_pop(&f->vq, e[i]), 1);
		ids[i] = e[i]->id;
	}
	/* Nothing is visible to the driver until the batch is pushed. */
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 0);
	assert_int_equal(vq_push_batch(&f->vq, e, written, NCHAINS), 0);
	for (unsigned i = 0; i < NCHAINS; i++) {
		assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
		assert_int_equal(id, ids[i]);
		/* Never more than the chain could hold. */
		assert_int_equal(len, written[i] > 256 ? 256 : written[i]);
	}
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 0);
	assert_true(vq_should_notify(&f->vq));
	for (unsigned i = 0; i < NCHAINS; i++)
		free(e[i]);
	fx_free(f);
}

static void test_split_batch(void **state)
{
	(void)state;
	batch_round_trip(FX_SPLIT_FEATURES);
}

static void test_packed_batch(void **state)
{
	(void)state;
	batch_round_trip(FX_PACKED_FEATURES);
}

/* The split used idx moves once per batch, by the batch size. */
static void test_split_one_idx_store(void **state)
{
	struct fx *f = fx_new(8, FX_SPLIT_FEATURES);
	struct vq_elem *e[NCHAINS];
	uint32_t written[NCHAINS] = { 1, 2, 3 };

	(void)state;
	add_chains(f);
	for (unsigned i = 0; i < NCHAINS; i++) {
		e[i] = calloc(1, sizeof(*e[i]));
		assert_int_equal(vq_pop(&f->vq, e[i]), 1);
	}
	assert_int_equal(fx_used_idx(f), 0);
	assert_int_equal(vq_push_batch(&f->vq, e, written, NCHAINS), 0);
	assert_int_equal(fx_used_idx(f), NCHAINS);
	for (unsigned i = 0; i < NCHAINS; i++)
		free(e[i]);
	fx_free(f);
}

static void test_batch_bounds(void **state)
{
	struct fx *f = fx_new(4, FX_SPLIT_FEATURES);
	struct vq_elem *e[8] = { f->e, f->e, f->e, f->e, f->e, f->e, f->e, f->e };
	uint32_t written[8] = { 0 };

	(void)state;
	assert_int_equal(vq_push_batch(&f->vq, e, written, 0), 0);
	/* More chains than the queue has slots cannot be a real batch. */
	assert_int_equal(vq_push_batch(&f->vq, e, written, 8), -EINVAL);
	/* An id the driver never issued is refused before anything is
	 * written. */
	f->e->id = 4;
	assert_int_equal(vq_push_batch(&f->vq, e, written, 1), -EINVAL);
	assert_int_equal(fx_used_idx(f), 0);
	fx_free(f);
}

static void test_packed_batch_bounds(void **state)
{
	struct fx *f = fx_new(4, FX_PACKED_FEATURES);
	struct vq_elem *e[2] = { f->e, f->e };
	uint32_t written[2] = { 0, 0 };

	(void)state;
	f->e->ndesc = 0; /* a chain of no descriptors was never popped */
	assert_int_equal(vq_push_batch(&f->vq, e, written, 1), -EINVAL);
	f->e->ndesc = 3; /* 2 x 3 slots > queue size 4 */
	assert_int_equal(vq_push_batch(&f->vq, e, written, 2), -EINVAL);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_batch),
		cmocka_unit_test(test_packed_batch),
		cmocka_unit_test(test_split_one_idx_store),
		cmocka_unit_test(test_batch_bounds),
		cmocka_unit_test(test_packed_batch_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
