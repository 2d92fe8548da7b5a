/* Split virtqueue (virtio 1.2 §2.7): the walker against every malformed
 * chain a guest can write and indirect tables (§2.7.5.3).  Notification
 * and wraparound are in test_queue_split_notify.c, unpop/data copies/
 * validation/ring faults in test_queue_split_ring.c, the randomized
 * ping-pong in test_queue_pingpong.c, the fuzz seeds in
 * test_queue_seeds.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vq_split_fixture.h"

static void raw_chain(struct fx *f, uint16_t head)
{
	assert_int_equal(vdq_raw_avail(&f->dq, head), 0);
	vdq_publish(&f->dq);
}

/* Publish the hand-written chain at head: the device must refuse it with
 * err (fx_split_expect_bad) and, unless msg is NULL, log msg. */
static void bad_chain(struct fx *f, uint16_t head, int err, const char *msg)
{
	raw_chain(f, head);
	fx_split_expect_bad(f, err, head);
	if (msg)
		assert_non_null(strstr(fx_log(f), msg));
}

static void test_basic(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
	struct vdq_buf b[3] = { { FX_DATA_GPA, 100, false },
				{ FX_DATA_GPA + 0x1000, 28, false },
				{ FX_DATA_GPA + 0x2000, 200, true } };
	uint8_t in[128], out[200];
	uint16_t id;
	uint32_t len;
	int head;

	fx_pattern(f, FX_DATA_GPA, 100, 1);
	fx_pattern(f, FX_DATA_GPA + 0x1000, 28, 101);
	assert_false(vq_has_avail(&f->vq));
	head = vdq_add(&f->dq, b, 3, false);
	assert_true(head >= 0);
	assert_false(vq_has_avail(&f->vq)); /* not published yet */
	vdq_publish(&f->dq);
	assert_true(vdq_kick_prepare(&f->dq));
	assert_true(vq_has_avail(&f->vq));
	fx_pop_expect(f, (struct fx_shape){ .id = (uint16_t)head, .ndesc = 3,
					    .nout = 2, .nin = 1,
					    .out_len = 128, .in_len = 200 });
	assert_int_equal(f->e->seg[2].gpa, FX_DATA_GPA + 0x2000);
	assert_int_equal(vq_elem_read(f->gm, f->e, 0, in, 128), 0);
	for (unsigned i = 0; i < 128; i++)
		assert_int_equal(in[i], (uint8_t)((i < 100 ? 1 + i * 7
							   : 101 + (i - 100) * 7)));
	memset(out, 0xab, sizeof(out));
	assert_int_equal(vq_elem_write(f->gm, f->e, 0, out, 200), 0);
	assert_int_equal(vq_push(&f->vq, f->e, 150), 0);
	assert_true(vq_should_notify(&f->vq));
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(len, 150);
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 0);
	/* Nothing new pushed: no second interrupt. */
	assert_false(vq_should_notify(&f->vq));
	fx_free(f);
}

static void test_head_out_of_range(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);

	raw_chain(f, FX_SPLIT_SZ + 3);
	assert_int_equal(vq_pop(&f->vq, f->e), -EINVAL);
	/* No used entry can name an id the driver never issued. */
	assert_int_equal(fx_used_idx(f), 0);
	assert_false(f->vq.broken);
	assert_non_null(strstr(fx_log(f), "head index out of range"));
	assert_int_equal(vq_pop(&f->vq, f->e), 0);
	/* The first index past the table is out of range too. */
	raw_chain(f, FX_SPLIT_SZ);
	assert_int_equal(vq_pop(&f->vq, f->e), -EINVAL);
	assert_int_equal(fx_used_idx(f), 0);
	fx_free(f);
}

static void test_next_out_of_range(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);

	vdq_raw_desc(&f->dq, 2, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, FX_SPLIT_SZ);
	bad_chain(f, 2, -EINVAL, "descriptor index out of range");
	fx_free(f);
}

static void test_loop(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);

	vdq_raw_desc(&f->dq, 0, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_desc(&f->dq, 1, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	bad_chain(f, 0, -EINVAL, "loops");
	fx_free(f);
}

static void test_self_loop(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);

	vdq_raw_desc(&f->dq, 5, FX_DATA_GPA, 8,
		     VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	bad_chain(f, 5, -EINVAL, NULL);
	fx_free(f);
}

static void test_full_length_chain_ok(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);

	/* Exactly FX_SPLIT_SZ descriptors is the longest legal chain. */
	for (uint16_t i = 0; i < FX_SPLIT_SZ; i++)
		vdq_raw_desc(&f->dq, i, FX_DATA_GPA + i * 64, 64,
			     i + 1 < FX_SPLIT_SZ ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	raw_chain(f, 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->nout, FX_SPLIT_SZ);
	assert_int_equal(f->e->out_len, FX_SPLIT_SZ * 64);
	fx_free(f);
}

static void test_read_after_write(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);

	vdq_raw_desc(&f->dq, 0, FX_DATA_GPA, 8,
		     VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	vdq_raw_desc(&f->dq, 1, FX_DATA_GPA + 8, 8, 0, 0);
	bad_chain(f, 0, -EINVAL, "readable descriptor after");
	fx_free(f);
}

static void test_zero_length(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);

	vdq_raw_desc(&f->dq, 3, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 4);
	vdq_raw_desc(&f->dq, 4, FX_DATA_GPA, 0, VIRTQ_DESC_F_WRITE, 0);
	bad_chain(f, 3, -EINVAL, "zero-length");
	fx_free(f);
}

static void test_length_overflow(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
	uint64_t t = FX_DATA_GPA + 0x10000;

	/* 512 readable 8 MiB buffers (all of RAM, aliased) add up to 2^32:
	 * one byte too many for the 32-bit used length. */
	for (uint16_t i = 0; i < 512; i++)
		vdq_raw_table(&f->dq, t, i, 0, FX_RAM_SIZE,
			      i + 1 < 512 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	vdq_raw_desc(&f->dq, 0, t, 512 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	bad_chain(f, 0, -EINVAL, "overflows 32 bits");
	/* 511 of them stay below 2^32 and are accepted. */
	vdq_raw_table(&f->dq, t, 510, 0, FX_RAM_SIZE - 1, 0, 0);
	vdq_raw_desc(&f->dq, 2, t, 511 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	raw_chain(f, 2);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->out_len, 511u * FX_RAM_SIZE - 1);
	fx_free(f);
}

static void test_outside_ram(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);

	/* Starts in RAM, ends past it. */
	vdq_raw_desc(&f->dq, 0, FX_RAM_SIZE - 8, 16, 0, 0);
	bad_chain(f, 0, -EFAULT, NULL);
	/* Wraps the 64-bit address space. */
	vdq_raw_desc(&f->dq, 2, UINT64_MAX - 3, 16, VIRTQ_DESC_F_WRITE, 0);
	bad_chain(f, 2, -EFAULT, "outside guest RAM");
	fx_free(f);
}

static void test_indirect(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
	struct vdq_buf b[4] = { { FX_DATA_GPA, 10, false },
				{ FX_DATA_GPA + 100, 20, false },
				{ FX_DATA_GPA + 200, 30, true },
				{ FX_DATA_GPA + 300, 40, true } };
	uint16_t id;
	uint32_t len;
	int head = vdq_add(&f->dq, b, 4, true);

	assert_true(head >= 0);
	assert_int_equal(f->dq.num_free, FX_SPLIT_SZ - 1);
	vdq_publish(&f->dq);
	fx_pop_expect(f, (struct fx_shape){ .id = (uint16_t)head, .ndesc = 1,
					    .nout = 2, .nin = 2,
					    .out_len = 30, .in_len = 70 });
	assert_int_equal(f->e->seg[3].gpa, FX_DATA_GPA + 300);
	/* Written is clamped to what the chain can hold. */
	assert_int_equal(vq_push(&f->vq, f->e, 1000), 0);
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
	assert_int_equal(len, 70);
	fx_free(f);
}

static void test_indirect_after_direct(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
	uint64_t t = FX_DATA_GPA + 0x10000;

	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
	vdq_raw_desc(&f->dq, 0, FX_DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_desc(&f->dq, 1, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	raw_chain(f, 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->nout, 1);
	assert_int_equal(f->e->nin, 1);
	assert_int_equal(f->e->ndesc, 2);
	fx_free(f);
}

static void test_indirect_bad_length(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
	uint64_t t = FX_DATA_GPA + 0x10000;
	uint32_t lens[] = { 24, 0, (VQ_MAX_SIZE + 1) * 16, 8 };

	for (unsigned i = 0; i < 4; i++) {
		vdq_raw_desc(&f->dq, (uint16_t)i, t, lens[i],
			     VIRTQ_DESC_F_INDIRECT, 0);
		bad_chain(f, (uint16_t)i, -EINVAL, NULL);
		/* fx_split_expect_bad added a good chain after; drain it. */
		assert_int_equal(vq_push(&f->vq, f->e, 0), 0);
	}
	assert_non_null(strstr(fx_log(f), "bad indirect table length"));
	fx_free(f);
}

static void test_indirect_nested(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
	uint64_t t = FX_DATA_GPA + 0x10000, t2 = FX_DATA_GPA + 0x20000;

	vdq_raw_table(&f->dq, t2, 0, FX_DATA_GPA, 8, 0, 0);
	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_table(&f->dq, t, 1, t2, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vdq_raw_desc(&f->dq, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	bad_chain(f, 0, -EINVAL, "nested indirect");
	fx_free(f);
}

static void test_indirect_with_next(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
	uint64_t t = FX_DATA_GPA + 0x10000;

	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, 0, 0);
	vdq_raw_desc(&f->dq, 0, t, 16,
		     VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_desc(&f->dq, 1, FX_DATA_GPA, 8, 0, 0);
	bad_chain(f, 0, -EINVAL, "indirect descriptor with NEXT");
	fx_free(f);
}

static void test_indirect_not_negotiated(void **state)
{
	(void)state;
	struct fx *f = fx_new(FX_SPLIT_SZ, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	uint64_t t = FX_DATA_GPA + 0x10000;

	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, 0, 0);
	vdq_raw_desc(&f->dq, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	bad_chain(f, 0, -EINVAL, "not negotiated");
	fx_free(f);
}

static void test_indirect_outside_ram(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);

	vdq_raw_desc(&f->dq, 0, FX_RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	bad_chain(f, 0, -EFAULT, "indirect table outside");
	fx_free(f);
}

static void test_indirect_next_and_loop(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
	uint64_t t = FX_DATA_GPA + 0x10000;

	/* next indexes the table (2 entries), not the ring. */
	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 2);
	vdq_raw_desc(&f->dq, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	bad_chain(f, 0, -EINVAL, NULL);
	/* A loop inside the table. */
	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_table(&f->dq, t, 1, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	vdq_raw_desc(&f->dq, 2, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	bad_chain(f, 2, -EINVAL, "loops");
	fx_free(f);
}

static void test_too_many_segments(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
	uint64_t t = FX_DATA_GPA + 0x10000;

	/* One direct descriptor plus a full-size indirect table is one
	 * segment more than an element can hold. */
	for (uint16_t i = 0; i < VQ_MAX_SIZE; i++)
		vdq_raw_table(&f->dq, t, i, FX_DATA_GPA, 1,
			      i + 1u < VQ_MAX_SIZE ? VIRTQ_DESC_F_NEXT : 0,
			      i + 1);
	vdq_raw_desc(&f->dq, 0, FX_DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_desc(&f->dq, 1, t, VQ_MAX_SIZE * 16, VIRTQ_DESC_F_INDIRECT, 0);
	bad_chain(f, 0, -EINVAL, "too many descriptors");
	/* The full table alone is fine. */
	vdq_raw_desc(&f->dq, 4, t, VQ_MAX_SIZE * 16, VIRTQ_DESC_F_INDIRECT, 0);
	raw_chain(f, 4);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->nout, VQ_MAX_SIZE);
	fx_free(f);
}

static void test_avail_idx_ahead(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
	struct vq_config cfg;
	struct vdq_buf b = { FX_DATA_GPA, 8, false };

	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	/* last_avail is 1: idx 1 + FX_SPLIT_SZ is exactly a full ring, one more is
	 * garbage. */
	vdq_raw_avail_idx(&f->dq, 1 + FX_SPLIT_SZ + 1);
	assert_int_equal(vq_pop(&f->vq, f->e), -EPROTO);
	assert_true(f->vq.broken);
	assert_non_null(strstr(fx_log(f), "more than queue size ahead"));
	/* Stays down without spinning until reset. */
	assert_int_equal(vq_pop(&f->vq, f->e), 0);
	assert_int_equal(vq_push(&f->vq, f->e, 0), -EPROTO);
	assert_false(vq_has_avail(&f->vq));
	assert_false(vq_should_notify(&f->vq));
	vq_set_notification(&f->vq, false);
	vq_unpop(&f->vq, f->e);
	/* Reset and re-enable: usable again. */
	vq_reset(&f->vq);
	assert_false(f->vq.broken);
	assert_int_equal(vq_pop(&f->vq, f->e), 0); /* disabled queue */
	assert_int_equal(vq_push(&f->vq, f->e, 0), -EINVAL);
	assert_int_equal(vdq_init(&f->dq, f->gm, FX_RING_GPA, FX_SPLIT_SZ, f->features), 0);
	vdq_config(&f->dq, &cfg);
	assert_int_equal(vq_enable(&f->vq, f->gm, f->log, 0, &cfg, f->features), 0);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	fx_free(f);
}

static void test_full_ring_ok(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
	struct vdq_buf b = { FX_DATA_GPA, 8, true };

	for (int i = 0; i < FX_SPLIT_SZ; i++)
		assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_int_equal(vdq_add(&f->dq, &b, 1, false), -ENOSPC);
	vdq_publish(&f->dq);
	for (int i = 0; i < FX_SPLIT_SZ; i++)
		assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_pop(&f->vq, f->e), 0);
	assert_false(f->vq.broken);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_head_out_of_range),
		cmocka_unit_test(test_next_out_of_range),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_self_loop),
		cmocka_unit_test(test_full_length_chain_ok),
		cmocka_unit_test(test_read_after_write),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_length_overflow),
		cmocka_unit_test(test_outside_ram),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_indirect_after_direct),
		cmocka_unit_test(test_indirect_bad_length),
		cmocka_unit_test(test_indirect_nested),
		cmocka_unit_test(test_indirect_with_next),
		cmocka_unit_test(test_indirect_not_negotiated),
		cmocka_unit_test(test_indirect_outside_ram),
		cmocka_unit_test(test_indirect_next_and_loop),
		cmocka_unit_test(test_too_many_segments),
		cmocka_unit_test(test_avail_idx_ahead),
		cmocka_unit_test(test_full_ring_ok),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
