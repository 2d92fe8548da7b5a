/* Split virtqueue (virtio 1.2 §2.7): the walker against every malformed
 * chain a guest can write, indirect tables, event index in both
 * directions, 16-bit index wraparound, unpop, data copies, ring faults and
 * a randomized driver/device ping-pong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include "vq_fixture.h"
#include "fuzz/fuzz_virtqueue.h"

#define SZ 8

static struct fx *split_fx(uint64_t extra)
{
	return fx_new(SZ, FX_SPLIT_FEATURES | extra);
}

/* A bad chain is consumed, returned with 0 bytes, logged, and the queue
 * carries on. */
static void expect_bad(struct fx *f, int err, uint16_t head)
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
	f->dq.free_head = (uint16_t)((head + 1) % SZ);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->out_len, 16);
}

static void raw_chain(struct fx *f, uint16_t head)
{
	assert_int_equal(vdq_raw_avail(&f->dq, head), 0);
	vdq_publish(&f->dq);
}

static void test_basic(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
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
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, head);
	assert_int_equal(f->e->nout, 2);
	assert_int_equal(f->e->nin, 1);
	assert_int_equal(f->e->ndesc, 3);
	assert_int_equal(f->e->out_len, 128);
	assert_int_equal(f->e->in_len, 200);
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
	struct fx *f = split_fx(0);

	raw_chain(f, SZ + 3);
	assert_int_equal(vq_pop(&f->vq, f->e), -EINVAL);
	/* No used entry can name an id the driver never issued. */
	assert_int_equal(fx_used_idx(f), 0);
	assert_false(f->vq.broken);
	assert_non_null(strstr(fx_log(f), "head index out of range"));
	assert_int_equal(vq_pop(&f->vq, f->e), 0);
	fx_free(f);
}

static void test_next_out_of_range(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);

	vdq_raw_desc(&f->dq, 2, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, SZ);
	raw_chain(f, 2);
	expect_bad(f, -EINVAL, 2);
	assert_non_null(strstr(fx_log(f), "descriptor index out of range"));
	fx_free(f);
}

static void test_loop(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);

	vdq_raw_desc(&f->dq, 0, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_desc(&f->dq, 1, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	raw_chain(f, 0);
	expect_bad(f, -EINVAL, 0);
	assert_non_null(strstr(fx_log(f), "loops"));
	fx_free(f);
}

static void test_self_loop(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);

	vdq_raw_desc(&f->dq, 5, FX_DATA_GPA, 8,
		     VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	raw_chain(f, 5);
	expect_bad(f, -EINVAL, 5);
	fx_free(f);
}

static void test_full_length_chain_ok(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);

	/* Exactly SZ descriptors is the longest legal chain. */
	for (uint16_t i = 0; i < SZ; i++)
		vdq_raw_desc(&f->dq, i, FX_DATA_GPA + i * 64, 64,
			     i + 1 < SZ ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	raw_chain(f, 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->nout, SZ);
	assert_int_equal(f->e->out_len, SZ * 64);
	fx_free(f);
}

static void test_read_after_write(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);

	vdq_raw_desc(&f->dq, 0, FX_DATA_GPA, 8,
		     VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	vdq_raw_desc(&f->dq, 1, FX_DATA_GPA + 8, 8, 0, 0);
	raw_chain(f, 0);
	expect_bad(f, -EINVAL, 0);
	assert_non_null(strstr(fx_log(f), "readable descriptor after"));
	fx_free(f);
}

static void test_zero_length(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);

	vdq_raw_desc(&f->dq, 3, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 4);
	vdq_raw_desc(&f->dq, 4, FX_DATA_GPA, 0, VIRTQ_DESC_F_WRITE, 0);
	raw_chain(f, 3);
	expect_bad(f, -EINVAL, 3);
	assert_non_null(strstr(fx_log(f), "zero-length"));
	fx_free(f);
}

static void test_length_overflow(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	uint64_t t = FX_DATA_GPA + 0x10000;

	/* 512 readable 8 MiB buffers (all of RAM, aliased) add up to 2^32:
	 * one byte too many for the 32-bit used length. */
	for (uint16_t i = 0; i < 512; i++)
		vdq_raw_table(&f->dq, t, i, 0, FX_RAM_SIZE,
			      i + 1 < 512 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	vdq_raw_desc(&f->dq, 0, t, 512 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	raw_chain(f, 0);
	expect_bad(f, -EINVAL, 0);
	assert_non_null(strstr(fx_log(f), "overflows 32 bits"));
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
	struct fx *f = split_fx(0);

	/* Starts in RAM, ends past it. */
	vdq_raw_desc(&f->dq, 0, FX_RAM_SIZE - 8, 16, 0, 0);
	raw_chain(f, 0);
	expect_bad(f, -EFAULT, 0);
	/* Wraps the 64-bit address space. */
	vdq_raw_desc(&f->dq, 2, UINT64_MAX - 3, 16, VIRTQ_DESC_F_WRITE, 0);
	raw_chain(f, 2);
	expect_bad(f, -EFAULT, 2);
	assert_non_null(strstr(fx_log(f), "outside guest RAM"));
	fx_free(f);
}

static void test_indirect(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	struct vdq_buf b[4] = { { FX_DATA_GPA, 10, false },
				{ FX_DATA_GPA + 100, 20, false },
				{ FX_DATA_GPA + 200, 30, true },
				{ FX_DATA_GPA + 300, 40, true } };
	uint16_t id;
	uint32_t len;
	int head = vdq_add(&f->dq, b, 4, true);

	assert_true(head >= 0);
	assert_int_equal(f->dq.num_free, SZ - 1);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, head);
	assert_int_equal(f->e->ndesc, 1);
	assert_int_equal(f->e->nout, 2);
	assert_int_equal(f->e->nin, 2);
	assert_int_equal(f->e->out_len, 30);
	assert_int_equal(f->e->in_len, 70);
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
	struct fx *f = split_fx(0);
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
	struct fx *f = split_fx(0);
	uint64_t t = FX_DATA_GPA + 0x10000;
	uint32_t lens[] = { 24, 0, (VQ_MAX_SIZE + 1) * 16, 8 };

	for (unsigned i = 0; i < 4; i++) {
		vdq_raw_desc(&f->dq, (uint16_t)i, t, lens[i],
			     VIRTQ_DESC_F_INDIRECT, 0);
		raw_chain(f, (uint16_t)i);
		expect_bad(f, -EINVAL, (uint16_t)i);
		/* expect_bad added a good chain after; drain it. */
		assert_int_equal(vq_push(&f->vq, f->e, 0), 0);
	}
	assert_non_null(strstr(fx_log(f), "bad indirect table length"));
	fx_free(f);
}

static void test_indirect_nested(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	uint64_t t = FX_DATA_GPA + 0x10000, t2 = FX_DATA_GPA + 0x20000;

	vdq_raw_table(&f->dq, t2, 0, FX_DATA_GPA, 8, 0, 0);
	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_table(&f->dq, t, 1, t2, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vdq_raw_desc(&f->dq, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	raw_chain(f, 0);
	expect_bad(f, -EINVAL, 0);
	assert_non_null(strstr(fx_log(f), "nested indirect"));
	fx_free(f);
}

static void test_indirect_with_next(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	uint64_t t = FX_DATA_GPA + 0x10000;

	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, 0, 0);
	vdq_raw_desc(&f->dq, 0, t, 16,
		     VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_desc(&f->dq, 1, FX_DATA_GPA, 8, 0, 0);
	raw_chain(f, 0);
	expect_bad(f, -EINVAL, 0);
	assert_non_null(strstr(fx_log(f), "indirect descriptor with NEXT"));
	fx_free(f);
}

static void test_indirect_not_negotiated(void **state)
{
	(void)state;
	struct fx *f = fx_new(SZ, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	uint64_t t = FX_DATA_GPA + 0x10000;

	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, 0, 0);
	vdq_raw_desc(&f->dq, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	raw_chain(f, 0);
	expect_bad(f, -EINVAL, 0);
	assert_non_null(strstr(fx_log(f), "not negotiated"));
	fx_free(f);
}

static void test_indirect_outside_ram(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);

	vdq_raw_desc(&f->dq, 0, FX_RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	raw_chain(f, 0);
	expect_bad(f, -EFAULT, 0);
	assert_non_null(strstr(fx_log(f), "indirect table outside"));
	fx_free(f);
}

static void test_indirect_next_and_loop(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	uint64_t t = FX_DATA_GPA + 0x10000;

	/* next indexes the table (2 entries), not the ring. */
	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 2);
	vdq_raw_desc(&f->dq, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	raw_chain(f, 0);
	expect_bad(f, -EINVAL, 0);
	/* A loop inside the table. */
	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_table(&f->dq, t, 1, FX_DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	vdq_raw_desc(&f->dq, 2, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	raw_chain(f, 2);
	expect_bad(f, -EINVAL, 2);
	assert_non_null(strstr(fx_log(f), "loops"));
	fx_free(f);
}

static void test_too_many_segments(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	uint64_t t = FX_DATA_GPA + 0x10000;

	/* One direct descriptor plus a full-size indirect table is one
	 * segment more than an element can hold. */
	for (uint16_t i = 0; i < VQ_MAX_SIZE; i++)
		vdq_raw_table(&f->dq, t, i, FX_DATA_GPA, 1,
			      i + 1u < VQ_MAX_SIZE ? VIRTQ_DESC_F_NEXT : 0,
			      i + 1);
	vdq_raw_desc(&f->dq, 0, FX_DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_desc(&f->dq, 1, t, VQ_MAX_SIZE * 16, VIRTQ_DESC_F_INDIRECT, 0);
	raw_chain(f, 0);
	expect_bad(f, -EINVAL, 0);
	assert_non_null(strstr(fx_log(f), "too many descriptors"));
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
	struct fx *f = split_fx(0);
	struct vq_config cfg;
	struct vdq_buf b = { FX_DATA_GPA, 8, false };

	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	/* last_avail is 1: idx 1 + SZ is exactly a full ring, one more is
	 * garbage. */
	vdq_raw_avail_idx(&f->dq, 1 + SZ + 1);
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
	assert_int_equal(vdq_init(&f->dq, f->gm, FX_RING_GPA, SZ, f->features), 0);
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
	struct fx *f = split_fx(0);
	struct vdq_buf b = { FX_DATA_GPA, 8, true };

	for (int i = 0; i < SZ; i++)
		assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_int_equal(vdq_add(&f->dq, &b, 1, false), -ENOSPC);
	vdq_publish(&f->dq);
	for (int i = 0; i < SZ; i++)
		assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_pop(&f->vq, f->e), 0);
	assert_false(f->vq.broken);
	fx_free(f);
}

/* Device -> driver: used_event (§2.7.10) and VIRTQ_AVAIL_F_NO_INTERRUPT. */
static void test_event_idx_used_event(void **state)
{
	(void)state;
	struct fx *f = split_fx(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	struct vdq_buf b = { FX_DATA_GPA, 8, true };
	uint64_t ue = f->dq.driver + VIRTQ_USED_EVENT_OFF(SZ);
	uint16_t id;
	uint32_t len;

	for (int i = 0; i < 6; i++)
		assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	/* First check always interrupts (nothing signalled yet). */
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_true(vq_should_notify(&f->vq));
	/* Driver: "interrupt me when used idx passes 3" (entry 3 used). */
	gm_write_u16le(f->gm, ue, 3);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0); /* used idx 2 */
	assert_false(vq_should_notify(&f->vq));
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0); /* used idx 3 */
	assert_false(vq_should_notify(&f->vq));
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0); /* used idx 4 */
	assert_true(vq_should_notify(&f->vq));
	/* Batch crossing the event in the middle: one interrupt. */
	gm_write_u16le(f->gm, ue, 4);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_true(vq_should_notify(&f->vq));
	/* The flag means nothing with EVENT_IDX; the driver's used_event
	 * tracking in vdq_get_used does. */
	vdq_intr_enable(&f->dq, false);
	while (vdq_get_used(&f->dq, &id, &len) == 1)
		;
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	gm_write_u16le(f->gm, ue, 100);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_false(vq_should_notify(&f->vq));
	vdq_intr_enable(&f->dq, true); /* used_event = last_used (6) */
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
	assert_int_equal(vq_pop(&f->vq, f->e), 0);
	fx_free(f);
}

static void test_no_interrupt_flag(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	struct vdq_buf b = { FX_DATA_GPA, 8, true };

	for (int i = 0; i < 3; i++)
		assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	vdq_intr_enable(&f->dq, false);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_false(vq_should_notify(&f->vq));
	vdq_intr_enable(&f->dq, true);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_true(vq_should_notify(&f->vq));
	fx_free(f);
}

/* Driver -> device: avail_event (§2.7.10) and VIRTQ_USED_F_NO_NOTIFY. */
static void test_event_idx_avail_event(void **state)
{
	(void)state;
	struct fx *f = split_fx(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	struct vdq_buf b = { FX_DATA_GPA, 8, true };
	uint16_t ae;

	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_true(vdq_kick_prepare(&f->dq)); /* avail_event 0 crossed */
	/* Device takes the kick, turns kicks off while it works. */
	vq_set_notification(&f->vq, false);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	gm_read_u16le(f->gm, f->dq.device + VIRTQ_AVAIL_EVENT_OFF(SZ), &ae);
	assert_int_equal(ae, 0); /* left behind while off */
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_false(vdq_kick_prepare(&f->dq));
	/* Back on: avail_event = next entry; pending work found by the
	 * re-check, not by a kick. */
	vq_set_notification(&f->vq, true);
	gm_read_u16le(f->gm, f->dq.device + VIRTQ_AVAIL_EVENT_OFF(SZ), &ae);
	assert_int_equal(ae, 1);
	assert_true(vq_has_avail(&f->vq));
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	gm_read_u16le(f->gm, f->dq.device + VIRTQ_AVAIL_EVENT_OFF(SZ), &ae);
	assert_int_equal(ae, 3);
	assert_false(vq_has_avail(&f->vq));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_true(vdq_kick_prepare(&f->dq));
	fx_free(f);
}

static void test_no_notify_flag(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	struct vdq_buf b = { FX_DATA_GPA, 8, true };

	vq_set_notification(&f->vq, false);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_false(vdq_kick_prepare(&f->dq));
	vq_set_notification(&f->vq, true);
	assert_true(vq_has_avail(&f->vq));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_true(vdq_kick_prepare(&f->dq));
	fx_free(f);
}

/* 16-bit avail/used indices wrap (§2.7.6: "idx ... wraps naturally at
 * 65536"): run far past it with event index on, checking every kick and
 * interrupt decision against the rule. */
static void test_wraparound(void **state)
{
	(void)state;
	struct fx *f = fx_new(4, FX_SPLIT_FEATURES | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	struct vdq_buf b[2] = { { FX_DATA_GPA, 8, false },
				{ FX_DATA_GPA + 8, 8, true } };
	unsigned kicks = 0, irqs = 0;
	uint16_t id;
	uint32_t len;

	for (unsigned i = 0; i < 70000; i++) {
		int h = vdq_add(&f->dq, b, 2, false);

		assert_true(h >= 0);
		vdq_publish(&f->dq);
		kicks += vdq_kick_prepare(&f->dq);
		assert_int_equal(vq_pop(&f->vq, f->e), 1);
		assert_int_equal(f->e->id, h);
		assert_int_equal(vq_push(&f->vq, f->e, 8), 0);
		irqs += vq_should_notify(&f->vq);
		assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
		assert_int_equal(id, h);
		assert_int_equal(len, 8);
	}
	assert_int_equal(f->vq.last_avail, (uint16_t)70000);
	assert_int_equal(fx_used_idx(f), (uint16_t)70000);
	/* One buffer in flight at a time: every add and every completion
	 * crosses the other side's event index. */
	assert_int_equal(kicks, 70000);
	assert_int_equal(irqs, 70000);
	assert_false(f->vq.broken);
	fx_free(f);
}

static void test_unpop(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	struct vdq_buf b = { FX_DATA_GPA, 8, true };
	int h1 = vdq_add(&f->dq, &b, 1, false), h2 = vdq_add(&f->dq, &b, 1, false);

	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, h1);
	vq_unpop(&f->vq, f->e);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, h1);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, h2);
	vq_unpop(&f->vq, f->e);
	assert_true(vq_has_avail(&f->vq));
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, h2);
	assert_int_equal(vq_pop(&f->vq, f->e), 0);
	fx_free(f);
}

static void test_elem_rw_segments(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	struct vdq_buf b[5] = { { FX_DATA_GPA, 3, false },
				{ FX_DATA_GPA + 0x100, 5, false },
				{ FX_DATA_GPA + 0x200, 7, false },
				{ FX_DATA_GPA + 0x300, 4, true },
				{ FX_DATA_GPA + 0x400, 6, true } };
	uint8_t buf[16], want[16];

	for (unsigned i = 0; i < 3; i++)
		fx_pattern(f, b[i].gpa, b[i].len, (uint8_t)(i * 50));
	assert_true(vdq_add(&f->dq, b, 5, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	/* Bytes 2..12 span all three readable segments. */
	assert_int_equal(vq_elem_read(f->gm, f->e, 2, buf, 10), 0);
	want[0] = 0 + 2 * 7;
	for (unsigned i = 0; i < 5; i++)
		want[1 + i] = (uint8_t)(50 + i * 7);
	for (unsigned i = 0; i < 4; i++)
		want[6 + i] = (uint8_t)(100 + i * 7);
	assert_memory_equal(buf, want, 10);
	assert_int_equal(vq_elem_read(f->gm, f->e, 14, buf, 1), 0);
	assert_int_equal(buf[0], (uint8_t)(100 + 6 * 7));
	/* Out of range reads: past the end, huge offset, zero length ok. */
	assert_int_equal(vq_elem_read(f->gm, f->e, 10, buf, 6), -EFAULT);
	assert_int_equal(vq_elem_read(f->gm, f->e, UINT32_MAX, buf, 1), -EFAULT);
	assert_int_equal(vq_elem_read(f->gm, f->e, 15, buf, 0), 0);
	/* Writes land across the two writable segments, never in the
	 * readable ones. */
	for (unsigned i = 0; i < 10; i++)
		buf[i] = (uint8_t)(0xc0 + i);
	assert_int_equal(vq_elem_write(f->gm, f->e, 0, buf, 10), 0);
	gm_read(f->gm, FX_DATA_GPA + 0x300, want, 4);
	assert_memory_equal(want, buf, 4);
	gm_read(f->gm, FX_DATA_GPA + 0x400, want, 6);
	assert_memory_equal(want, buf + 4, 6);
	assert_int_equal(vq_elem_write(f->gm, f->e, 3, buf, 3), 0);
	gm_read(f->gm, FX_DATA_GPA + 0x303, want, 1);
	gm_read(f->gm, FX_DATA_GPA + 0x400, want + 1, 2);
	assert_memory_equal(want, buf, 3);
	assert_int_equal(vq_elem_write(f->gm, f->e, 5, buf, 6), -EFAULT);
	assert_int_equal(vq_elem_write(f->gm, f->e, 11, buf, 0), -EFAULT);
	/* Guest memory gone between pop and copy. */
	gm_inject_fault(f->gm, FX_DATA_GPA + 0x200, 1, GM_FAULT_READ);
	gm_inject_fault(f->gm, FX_DATA_GPA + 0x400, 1, GM_FAULT_WRITE);
	assert_int_equal(vq_elem_read(f->gm, f->e, 0, buf, 15), -EFAULT);
	assert_int_equal(vq_elem_write(f->gm, f->e, 0, buf, 10), -EFAULT);
	assert_int_equal(vq_elem_read(f->gm, f->e, 0, buf, 8), 0);
	fx_free(f);
}

static void test_enable_validation(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	struct vq vq;
	struct vq_config c;
	uint64_t feat = FX_SPLIT_FEATURES;

	memset(&vq, 0, sizeof(vq));
	vdq_config(&f->dq, &c);
	c.size = 0;
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 1, &c, feat), -EINVAL);
	c.size = 6; /* split sizes are powers of two */
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 1, &c, feat), -EINVAL);
	c.size = VQ_MAX_SIZE * 2;
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 1, &c, feat), -EINVAL);
	vdq_config(&f->dq, &c);
	c.desc += 8; /* 16-aligned */
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 1, &c, feat), -EINVAL);
	vdq_config(&f->dq, &c);
	c.driver += 1; /* 2-aligned */
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 1, &c, feat), -EINVAL);
	vdq_config(&f->dq, &c);
	c.device += 2; /* 4-aligned */
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 1, &c, feat), -EINVAL);
	vdq_config(&f->dq, &c);
	c.device = FX_RAM_SIZE - 16; /* used ring runs out of RAM */
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 1, &c, feat), -EINVAL);
	/* A failed enable leaves the queue disabled. */
	assert_int_equal(vq_pop(&vq, f->e), 0);
	assert_false(vq_has_avail(&vq));
	assert_false(vq_should_notify(&vq));
	vq_set_notification(&vq, true);
	vq_unpop(&vq, f->e);
	vdq_config(&f->dq, &c);
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 1, &c, feat), 0);
	assert_int_equal(vq.index, 1);
	fx_free(f);
}

static void test_ring_faults(void **state)
{
	(void)state;
	struct fx *f = split_fx(0);
	struct vdq_buf b = { FX_DATA_GPA, 8, true };
	int h;

	/* A descriptor the device cannot read fails only that chain. */
	h = vdq_add(&f->dq, &b, 1, false);
	vdq_publish(&f->dq);
	gm_inject_fault(f->gm, f->dq.desc + 16 * (uint64_t)h, 16, GM_FAULT_READ);
	expect_bad(f, -EFAULT, (uint16_t)h);
	gm_clear_faults(f->gm);
	/* push with an id the ring does not have is a device bug. */
	f->e->id = SZ;
	assert_int_equal(vq_push(&f->vq, f->e, 0), -EINVAL);
	/* Unwritable used ring: broken. */
	h = vdq_add(&f->dq, &b, 1, false);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	gm_inject_fault(f->gm, f->dq.device, VIRTQ_USED_BYTES(SZ), GM_FAULT_WRITE);
	assert_int_equal(vq_push(&f->vq, f->e, 0), -EPROTO);
	assert_true(f->vq.broken);
	fx_free(f);

	/* Unreadable avail ring: broken, and the notify checks fall back
	 * to interrupting. */
	f = split_fx(0);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 0), 0);
	gm_inject_fault(f->gm, f->dq.driver, VIRTQ_AVAIL_BYTES(SZ), GM_FAULT_READ);
	assert_true(vq_should_notify(&f->vq));
	assert_false(vq_has_avail(&f->vq));
	assert_int_equal(vq_pop(&f->vq, f->e), -EPROTO);
	assert_true(f->vq.broken);
	fx_free(f);

	/* Entry unreadable though idx is; used idx unwritable; flags
	 * unwritable. */
	f = split_fx(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	gm_inject_fault(f->gm, f->dq.driver + offsetof(struct virtq_avail, ring),
			2, GM_FAULT_READ);
	assert_int_equal(vq_pop(&f->vq, f->e), -EPROTO);
	fx_free(f);
	f = split_fx(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	gm_inject_fault(f->gm, f->dq.driver + VIRTQ_USED_EVENT_OFF(SZ), 2,
			GM_FAULT_READ);
	gm_inject_fault(f->gm, f->dq.device + offsetof(struct virtq_used, idx),
			2, GM_FAULT_WRITE);
	assert_int_equal(vq_push(&f->vq, f->e, 0), -EPROTO);
	fx_free(f);
	f = split_fx(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 0), 0);
	gm_inject_fault(f->gm, f->dq.driver + VIRTQ_USED_EVENT_OFF(SZ), 2,
			GM_FAULT_READ);
	assert_true(vq_should_notify(&f->vq));
	gm_inject_fault(f->gm, f->dq.device + VIRTQ_AVAIL_EVENT_OFF(SZ), 2,
			GM_FAULT_WRITE);
	vq_set_notification(&f->vq, true);
	assert_true(f->vq.broken);
	fx_free(f);
	f = split_fx(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	gm_inject_fault(f->gm, f->dq.device + VIRTQ_AVAIL_EVENT_OFF(SZ), 2,
			GM_FAULT_WRITE);
	assert_int_equal(vq_pop(&f->vq, f->e), -EPROTO);
	fx_free(f);
	f = split_fx(0);
	gm_inject_fault(f->gm, f->dq.device, 2, GM_FAULT_WRITE);
	vq_set_notification(&f->vq, false);
	assert_true(f->vq.broken);
	fx_free(f);
}

/* Randomized ping-pong: the driver adds chains of 1..6 buffers (direct or
 * indirect) with patterned data, the device pops in random batches, checks
 * the data, writes a reply and pushes out of order; the driver checks
 * every completion.  Seeded, so a failure reproduces. */
static void pingpong(uint64_t features, uint16_t size, uint64_t seed)
{
	struct fx *f = fx_new(size, features);
	struct prng p;
	struct vq_elem *held = calloc(8, sizeof(*held));
	unsigned nheld = 0, done = 0, added = 0;
	uint32_t expect_len[VQ_MAX_SIZE];
	uint8_t buf[512];

	assert_non_null(held);
	prng_seed(&p, seed);
	for (unsigned round = 0; round < 3000; round++) {
		unsigned op = (unsigned)prng_below(&p, 4);

		if (op <= 1) {
			struct vdq_buf b[6];
			unsigned n = 1 + (unsigned)prng_below(&p, 6), nout;
			bool ind = prng_below(&p, 3) == 0;
			uint32_t in = 0;
			uint64_t base = FX_DATA_GPA + (uint64_t)(added % 256) * 0x2000;
			int id;

			nout = (unsigned)prng_below(&p, n + 1);
			for (unsigned j = 0; j < n; j++) {
				b[j].gpa = base + j * 0x400;
				b[j].len = 1 + (uint32_t)prng_below(&p, 0x3ff);
				b[j].write = j >= nout;
				if (b[j].write)
					in += b[j].len;
				else
					fx_pattern(f, b[j].gpa, b[j].len,
						   (uint8_t)added);
			}
			id = vdq_add(&f->dq, b, n, ind);
			if (id == -ENOSPC)
				continue;
			assert_true(id >= 0);
			expect_len[id] = in < 64 ? in : 64;
			added++;
			vdq_publish(&f->dq);
			vdq_kick_prepare(&f->dq);
		} else if (op == 2) {
			while (nheld < 8) {
				int r = vq_pop(&f->vq, &held[nheld]);

				assert_true(r >= 0);
				if (r == 0)
					break;
				/* The first readable byte identifies the
				 * pattern; all of it must match. */
				struct vq_elem *e = &held[nheld];
				uint32_t l = e->out_len < 512 ? e->out_len : 512;

				assert_int_equal(vq_elem_read(f->gm, e, 0, buf, l), 0);
				for (uint32_t k = 1; k < l && k < e->seg[0].len; k++)
					assert_int_equal(buf[k],
							 (uint8_t)(buf[0] + k * 7));
				nheld++;
				if (prng_below(&p, 2))
					break;
			}
		} else if (nheld) {
			unsigned k = (unsigned)prng_below(&p, nheld);
			struct vq_elem *e = &held[k];
			uint32_t w = e->in_len < 64 ? e->in_len : 64;

			memset(buf, 0x5a, w);
			assert_int_equal(vq_elem_write(f->gm, e, 0, buf, w), 0);
			assert_int_equal(vq_push(&f->vq, e, w), 0);
			vq_should_notify(&f->vq);
			held[k] = held[--nheld];
		}
		for (;;) {
			uint16_t id;
			uint32_t len;
			int r = vdq_get_used(&f->dq, &id, &len);

			assert_true(r >= 0);
			if (r == 0)
				break;
			assert_int_equal(len, expect_len[id]);
			done++;
		}
	}
	assert_true(done > 300);
	assert_int_equal(vdq_outstanding(&f->dq), nheld + (added - done - nheld));
	assert_false(f->vq.broken);
	free(held);
	fx_free(f);
}

static void test_pingpong(void **state)
{
	(void)state;
	pingpong(FX_SPLIT_FEATURES, 16, 1);
	pingpong(FX_SPLIT_FEATURES | VIRTIO_BIT(VIRTIO_F_EVENT_IDX), 8, 2);
	pingpong(FX_SPLIT_FEATURES, 256, 3);
}

/* Seed corpus for fuzz/fuzz_virtqueue.c: real driver scenarios (and
 * hostile ones) snapshotted into the fuzzer's input format.  Each seed is
 * replayed here through the fuzzer's own scenario code and must reach the
 * ring paths it was written for.  VMM_WRITE_SEEDS=DIR writes the files
 * (fuzz/corpus/virtqueue is that output, committed). */
struct seed {
	uint8_t bytes[3 + 0x1400 + 64];
	size_t len;
};

#define SEED_DATA (FVQ_BASE + 0x1000u)
#define SEED_MEM 0x1400u

static struct vdq *seed_begin(struct gm **gm, uint8_t cfg)
{
	struct vdq *dq = calloc(1, sizeof(*dq));

	assert_non_null(dq);
	*gm = gm_new();
	assert_int_equal(gm_add_heap(*gm, 0, FVQ_RAM, 0, "ram"), 0);
	assert_int_equal(vdq_init(dq, *gm, FVQ_BASE, fvq_size(cfg),
				  fvq_features(cfg)), 0);
	assert_true(vdq_mem_size(dq->size, dq->packed) <= SEED_DATA - FVQ_BASE);
	return dq;
}

static void seed_end(struct seed *sd, struct gm *gm, struct vdq *dq,
		     uint8_t cfg, const uint8_t *ops, size_t nops)
{
	sd->bytes[0] = cfg;
	sd->bytes[1] = SEED_MEM & 0xff;
	sd->bytes[2] = SEED_MEM >> 8;
	assert_int_equal(gm_read(gm, FVQ_BASE, sd->bytes + 3, SEED_MEM), 0);
	assert_true(nops <= 64);
	memcpy(sd->bytes + 3 + SEED_MEM, ops, nops);
	sd->len = 3 + SEED_MEM + nops;
	free(dq);
	gm_free(gm);
}

static void seed_write(const struct seed *sd, const char *name)
{
	const char *dir = getenv("VMM_WRITE_SEEDS");
	char path[512];
	FILE *fp;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(sd->bytes, 1, sd->len, fp), sd->len);
	fclose(fp);
}

static const uint8_t seed_ops[] = {
	FVQ_OP(FVQ_HASAVAIL, 0), FVQ_OP(FVQ_POP, 0), FVQ_OP(FVQ_POP, 0),
	FVQ_OP(FVQ_UNPOP, 0), FVQ_OP(FVQ_POP, 0), FVQ_OP(FVQ_COPY, 0), 20,
	FVQ_OP(FVQ_COPY, 1), 30, FVQ_OP(FVQ_PUSH, 1), FVQ_OP(FVQ_NOTIFY, 0),
	FVQ_OP(FVQ_SETNOTIFY, 0), FVQ_OP(FVQ_POP, 0), FVQ_OP(FVQ_POP, 0),
	FVQ_OP(FVQ_PUSH, 2), FVQ_OP(FVQ_PUSH, 0), FVQ_OP(FVQ_SETNOTIFY, 1),
	FVQ_OP(FVQ_NOTIFY, 0), FVQ_OP(FVQ_PUSH, 0), FVQ_OP(FVQ_NOTIFY, 0),
};

/* Good chains: direct 1 and 3 descriptors, indirect 4. */
static void seed_good(struct seed *sd, uint8_t cfg)
{
	struct gm *gm;
	struct vdq *dq = seed_begin(&gm, cfg);
	struct vdq_buf b[4];

	for (unsigned c = 0; c < 4; c++) {
		unsigned n = c == 0 ? 1 : c == 3 ? 4 : 3;

		for (unsigned j = 0; j < n; j++) {
			b[j].gpa = SEED_DATA + c * 0x100 + j * 0x40;
			b[j].len = 0x40;
			b[j].write = j > 0;
		}
		assert_true(vdq_add(dq, b, n, c == 3) >= 0);
	}
	vdq_publish(dq);
	seed_end(sd, gm, dq, cfg, seed_ops, sizeof(seed_ops));
}

/* Hostile split ring: loop, zero length, next out of range, nested
 * indirect, then a good one. */
static void seed_bad_split(struct seed *sd, uint8_t cfg)
{
	struct gm *gm;
	struct vdq *dq = seed_begin(&gm, cfg);
	uint64_t t = SEED_DATA + 0x200;
	static const uint8_t ops[] = { 0, 0, 0, 0, 0, 0, 1, 2 };

	vdq_raw_desc(dq, 0, SEED_DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_desc(dq, 1, SEED_DATA, 8, VIRTQ_DESC_F_NEXT, 0);
	vdq_raw_desc(dq, 2, SEED_DATA, 0, 0, 0);
	vdq_raw_desc(dq, 3, SEED_DATA, 8, VIRTQ_DESC_F_NEXT, 200);
	vdq_raw_table(dq, t, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vdq_raw_desc(dq, 4, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vdq_raw_desc(dq, 5, SEED_DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	for (uint16_t h = 0; h < 6; h++)
		if (h != 1)
			vdq_raw_avail(dq, h);
	vdq_publish(dq);
	seed_end(sd, gm, dq, cfg, ops, sizeof(ops));
}

/* Hostile packed ring: a chain that never ends, after an indirect table
 * with a bad length. */
static void seed_bad_packed(struct seed *sd, uint8_t cfg)
{
	struct gm *gm;
	struct vdq *dq = seed_begin(&gm, cfg);
	static const uint8_t ops[] = { 0, 0, 0, 1, 0 };

	vdq_raw_packed(dq, SEED_DATA, 24, 1, VIRTQ_DESC_F_INDIRECT);
	for (unsigned i = 1; i < dq->size; i++)
		vdq_raw_packed(dq, SEED_DATA, 8, 2, VIRTQ_DESC_F_NEXT);
	seed_end(sd, gm, dq, cfg, ops, sizeof(ops));
}

/* Split avail idx far ahead (ring broken), with a guest poke first. */
static void seed_broken(struct seed *sd, uint8_t cfg)
{
	struct gm *gm;
	struct vdq *dq = seed_begin(&gm, cfg);
	uint16_t at = (uint16_t)(dq->driver + offsetof(struct virtq_avail, idx) -
				 FVQ_BASE);
	uint8_t ops[] = { FVQ_OP(FVQ_POKE, 0), (uint8_t)at, (uint8_t)(at >> 8),
			  0x40, 0, 0, 4 };

	seed_end(sd, gm, dq, cfg, ops, sizeof(ops));
}

static void test_fuzz_seeds(void **state)
{
	(void)state;
	struct seed *sd = calloc(1, sizeof(*sd));
	struct fvq_stats st;
	/* cfg: split 8 = size code 3; packed 8 = size code 7. */
	const uint8_t split8 = 3 << 3 | 4 | 2, packed8 = 7 << 3 | 4 | 2 | 1;

	assert_non_null(sd);
	assert_int_equal(fvq_size(split8), 8);
	assert_int_equal(fvq_size(packed8), 8);
	assert_int_equal(fvq_run(sd->bytes, 2, &st), -1);

	seed_good(sd, split8);
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_int_equal(st.popped, 4);
	assert_int_equal(st.bad, 0);
	assert_true(st.pushed >= 3 && st.notifies >= 1 && st.polls == 1);
	seed_write(sd, "split-good");
	seed_good(sd, packed8);
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_int_equal(st.popped, 4);
	assert_int_equal(st.bad, 0);
	seed_write(sd, "packed-good");
	seed_good(sd, 3 << 3); /* split 8, no ring features */
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_int_equal(st.popped, 3);
	assert_int_equal(st.bad, 1); /* indirect not negotiated */
	seed_write(sd, "split-noindirect");
	seed_bad_split(sd, split8);
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_int_equal(st.bad, 4);
	assert_int_equal(st.popped, 1);
	seed_write(sd, "split-hostile");
	seed_bad_packed(sd, packed8);
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_int_equal(st.bad, 2);
	seed_write(sd, "packed-hostile");
	seed_broken(sd, split8);
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_true(st.broken);
	seed_write(sd, "split-broken");
	free(sd);
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
		cmocka_unit_test(test_event_idx_used_event),
		cmocka_unit_test(test_no_interrupt_flag),
		cmocka_unit_test(test_event_idx_avail_event),
		cmocka_unit_test(test_no_notify_flag),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_unpop),
		cmocka_unit_test(test_elem_rw_segments),
		cmocka_unit_test(test_enable_validation),
		cmocka_unit_test(test_ring_faults),
		cmocka_unit_test(test_pingpong),
		cmocka_unit_test(test_fuzz_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
