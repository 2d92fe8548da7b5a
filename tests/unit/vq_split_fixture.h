/* Shared by the split virtqueue unit tests (test_queue_split*.c): the
 * ring size they use, a split fixture, and the check that a malformed
 * chain is consumed and the queue carries on.  static inline only. */
#ifndef VMM_TESTS_VQ_SPLIT_FIXTURE_H
#define VMM_TESTS_VQ_SPLIT_FIXTURE_H

#include "vq_fixture.h"

#define FX_SPLIT_SZ 8

static inline struct fx *fx_split(uint64_t extra)
{
	return fx_new(FX_SPLIT_SZ, FX_SPLIT_FEATURES | extra);
}

/* A bad chain is consumed, returned with 0 bytes, logged, and the queue
 * carries on. */
static inline void fx_split_expect_bad(struct fx *f, int err, uint16_t head)
{
	uint16_t before = fx_used_idx(f);
	uint32_t id, len;
	struct vdq_buf b = { FX_DATA_GPA, 16, false };

	assert_int_equal(vq_pop(&f->vq, f->e), err);
	assert_false(f->vq.broken);
	assert_int_equal(fx_used_idx(f), (uint16_t)(before + 1));
	fx_used_entry(f, before, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_non_null(strstr(fx_log(f), "virtq 0"));
	assert_int_equal(vq_pop(&f->vq, f->e), 0);
	/* Still works afterwards. */
	f->dq.free_head = (uint16_t)((head + 1) % FX_SPLIT_SZ);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->out_len, 16);
}

#endif
