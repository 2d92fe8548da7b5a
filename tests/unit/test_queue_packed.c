/* Packed virtqueue (virtio 1.2 §2.8): wrap counters, AVAIL/USED flags,
 * chains skipping ndesc slots, buffer ids, indirect tables (§2.8.7), every
 * walker rule, unpop, enable validation and ring faults.  Event
 * suppression is in test_queue_packed_event.c, the randomized ping-pong
 * in test_queue_pingpong.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vq_fixture.h"

#define SZ 8
#define EVIDX VIRTIO_BIT(VIRTIO_F_EVENT_IDX)

static struct fx *packed_fx(uint16_t size, uint64_t extra)
{
	return fx_new(size, FX_PACKED_FEATURES | extra);
}

/* Raw chains carry buffer ids the driver model did not hand out: adopt
 * them so vdq_get_used() accepts the device's answer. */
static void adopt(struct fx *f, uint16_t id, uint16_t ndesc)
{
	f->dq.in_use[id] = true;
	f->dq.ndesc[id] = ndesc;
	f->dq.num_free -= ndesc;
}

/* A bad chain: skipped whole (ndesc slots), returned as used with 0
 * bytes under its buffer id, logged; the queue carries on. */
static void expect_bad(struct fx *f, int err, uint16_t id, uint16_t ndesc,
		       const char *msg)
{
	uint16_t uid, before = f->vq.next_avail;
	uint32_t len;
	struct vdq_buf b = { FX_DATA_GPA, 16, false };
	int good;

	adopt(f, id, ndesc);
	f->vq.rl.count = 0; /* each case's own log line, not rate-limited */
	assert_int_equal(vq_pop(&f->vq, f->e), err);
	assert_false(f->vq.broken);
	assert_int_equal(f->e->ndesc, ndesc);
	assert_int_equal(f->vq.next_avail, (before + ndesc) % f->dq.size);
	assert_int_equal(vdq_get_used(&f->dq, &uid, &len), 1);
	assert_int_equal(uid, id);
	assert_int_equal(len, 0);
	assert_non_null(strstr(fx_log(f), msg));
	assert_int_equal(vq_pop(&f->vq, f->e), 0);
	good = vdq_add(&f->dq, &b, 1, false);
	assert_true(good >= 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, good);
	assert_int_equal(vq_push(&f->vq, f->e, 0), 0);
	assert_int_equal(vdq_get_used(&f->dq, &uid, &len), 1);
}

static void test_basic(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);
	struct vdq_buf b[3] = { { FX_DATA_GPA, 100, false },
				{ FX_DATA_GPA + 0x1000, 28, false },
				{ FX_DATA_GPA + 0x2000, 200, true } };
	uint8_t in[128], out[200];
	uint16_t id;
	uint32_t len;
	int bid;

	fx_pattern(f, FX_DATA_GPA, 100, 9);
	assert_false(vq_has_avail(&f->vq));
	bid = vdq_add(&f->dq, b, 3, false);
	assert_true(bid >= 0);
	assert_true(vdq_kick_prepare(&f->dq));
	assert_true(vq_has_avail(&f->vq));
	fx_pop_expect(f, (struct fx_shape){ .id = (uint16_t)bid, .ndesc = 3,
					    .nout = 2, .nin = 1,
					    .out_len = 128, .in_len = 200 });
	assert_int_equal(vq_elem_read(f->gm, f->e, 0, in, 100), 0);
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(in[i], (uint8_t)(9 + i * 7));
	memset(out, 0x33, sizeof(out));
	assert_int_equal(vq_elem_write(f->gm, f->e, 0, out, 200), 0);
	assert_int_equal(vq_push(&f->vq, f->e, 200), 0);
	assert_int_equal(f->vq.next_used, 3);
	assert_true(vq_should_notify(&f->vq));
	assert_false(vq_should_notify(&f->vq));
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
	assert_int_equal(id, bid);
	assert_int_equal(len, 200);
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 0);
	fx_free(f);
}

/* Chains of different lengths completed out of order: the device writes
 * used descriptors in its own order, each skipping its chain's slots. */
static void test_out_of_order_skip(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);
	struct vq_elem *e2 = calloc(1, sizeof(*e2));
	struct vdq_buf b[3] = { { FX_DATA_GPA, 8, false },
				{ FX_DATA_GPA + 8, 8, true },
				{ FX_DATA_GPA + 16, 8, true } };
	uint16_t id;
	uint32_t len;
	int a = vdq_add(&f->dq, b, 3, false), c = vdq_add(&f->dq, b, 1, false);

	assert_non_null(e2);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_pop(&f->vq, e2), 1);
	assert_int_equal(e2->id, c);
	assert_int_equal(vq_push(&f->vq, e2, 0), 0);
	assert_int_equal(f->vq.next_used, 1);
	assert_int_equal(vq_push(&f->vq, f->e, 16), 0);
	assert_int_equal(f->vq.next_used, 4);
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
	assert_int_equal(id, c);
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
	assert_int_equal(id, a);
	assert_int_equal(len, 16);
	assert_int_equal(f->dq.next_used, 4);
	free(e2);
	fx_free(f);
}

static void test_not_available(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);

	/* Wrong lap: AVAIL/USED bits of the other wrap counter, both set,
	 * both clear.  None of them is available (§2.8.1). */
	uint16_t bad[] = { VIRTQ_DESC_F_USED, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED,
			   0 };
	for (unsigned i = 0; i < 3; i++) {
		vdq_raw_desc(&f->dq, 0, FX_DATA_GPA, 8, bad[i], 0);
		assert_false(vq_has_avail(&f->vq));
		assert_int_equal(vq_pop(&f->vq, f->e), 0);
	}
	fx_free(f);
}

static void test_zero_length(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);

	vdq_raw_packed(&f->dq, FX_DATA_GPA, 8, 4, VIRTQ_DESC_F_NEXT);
	vdq_raw_packed(&f->dq, FX_DATA_GPA, 0, 4, VIRTQ_DESC_F_NEXT);
	vdq_raw_packed(&f->dq, FX_DATA_GPA, 8, 4, VIRTQ_DESC_F_WRITE);
	expect_bad(f, -EINVAL, 4, 3, "zero-length");
	fx_free(f);
}

static void test_read_after_write(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);

	vdq_raw_packed(&f->dq, FX_DATA_GPA, 8, 2,
		       VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
	vdq_raw_packed(&f->dq, FX_DATA_GPA, 8, 2, 0);
	expect_bad(f, -EINVAL, 2, 2, "readable descriptor after");
	fx_free(f);
}

static void test_length_overflow(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);
	uint64_t t = FX_DATA_GPA + 0x10000;

	for (uint16_t i = 0; i < 512; i++)
		vdq_raw_table(&f->dq, t, i, 0, FX_RAM_SIZE, 0, 0);
	vdq_raw_packed(&f->dq, t, 512 * 16, 1, VIRTQ_DESC_F_INDIRECT);
	expect_bad(f, -EINVAL, 1, 1, "overflows 32 bits");
	fx_free(f);
}

static void test_outside_ram(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);

	vdq_raw_packed(&f->dq, FX_RAM_SIZE - 4, 8, 0, 0);
	expect_bad(f, -EFAULT, 0, 1, "outside guest RAM");
	vdq_raw_packed(&f->dq, UINT64_MAX, 2, 3, VIRTQ_DESC_F_WRITE);
	expect_bad(f, -EFAULT, 3, 1, "outside guest RAM");
	fx_free(f);
}

static void test_chain_longer_than_ring(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);

	/* Every slot says NEXT: the chain never ends inside the ring.  It
	 * is consumed as one full ring's worth. */
	for (unsigned i = 0; i < SZ; i++)
		vdq_raw_packed(&f->dq, FX_DATA_GPA, 8, 6, VIRTQ_DESC_F_NEXT);
	expect_bad(f, -EINVAL, 6, SZ, "longer than the ring");
	fx_free(f);
}

static void test_full_ring_chain_ok(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);
	struct vdq_buf b[SZ];

	for (unsigned i = 0; i < SZ; i++) {
		b[i].gpa = FX_DATA_GPA + i * 64;
		b[i].len = 64;
		b[i].write = i >= 4;
	}
	assert_true(vdq_add(&f->dq, b, SZ, false) >= 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->ndesc, SZ);
	assert_int_equal(f->vq.next_avail, 0);
	assert_false(f->vq.avail_wrap); /* lapped once */
	fx_free(f);
}

static void test_indirect(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);
	struct vdq_buf b[4] = { { FX_DATA_GPA, 10, false },
				{ FX_DATA_GPA + 100, 20, false },
				{ FX_DATA_GPA + 200, 30, true },
				{ FX_DATA_GPA + 300, 40, true } };
	uint16_t id;
	uint32_t len;
	int bid = vdq_add(&f->dq, b, 4, true);

	assert_true(bid >= 0);
	fx_pop_expect(f, (struct fx_shape){ .id = (uint16_t)bid, .ndesc = 1,
					    .nout = 2, .nin = 2,
					    .out_len = 30, .in_len = 70 });
	assert_int_equal(vq_push(&f->vq, f->e, 5), 0);
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
	assert_int_equal(id, bid);
	assert_int_equal(len, 5);
	fx_free(f);
}

static void test_indirect_bad(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);
	uint64_t t = FX_DATA_GPA + 0x10000, t2 = FX_DATA_GPA + 0x20000;
	uint32_t lens[] = { 24, 0, (VQ_MAX_SIZE + 1) * 16 };

	for (unsigned i = 0; i < 3; i++) {
		vdq_raw_packed(&f->dq, t, lens[i], 5, VIRTQ_DESC_F_INDIRECT);
		expect_bad(f, -EINVAL, 5, 1, "bad indirect table length");
	}
	/* Nested. */
	vdq_raw_table(&f->dq, t2, 0, FX_DATA_GPA, 8, 0, 0);
	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, 0, 0);
	vdq_raw_table(&f->dq, t, 1, t2, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vdq_raw_packed(&f->dq, t, 32, 5, VIRTQ_DESC_F_INDIRECT);
	expect_bad(f, -EINVAL, 5, 1, "nested indirect");
	/* INDIRECT together with NEXT (§2.8.7 forbids it). */
	vdq_raw_packed(&f->dq, t, 16, 5,
		       VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT);
	vdq_raw_packed(&f->dq, FX_DATA_GPA, 8, 5, 0);
	expect_bad(f, -EINVAL, 5, 2, "indirect descriptor with NEXT");
	/* Table outside RAM. */
	vdq_raw_packed(&f->dq, FX_RAM_SIZE - 16, 32, 5, VIRTQ_DESC_F_INDIRECT);
	expect_bad(f, -EFAULT, 5, 1, "indirect table outside");
	/* Buffer in the table outside RAM, and a table entry unreadable. */
	vdq_raw_table(&f->dq, t, 1, FX_RAM_SIZE, 16, VIRTQ_DESC_F_WRITE, 0);
	vdq_raw_packed(&f->dq, t, 32, 5, VIRTQ_DESC_F_INDIRECT);
	expect_bad(f, -EFAULT, 5, 1, "outside guest RAM");
	gm_inject_fault(f->gm, t + 16, 16, GM_FAULT_READ);
	vdq_raw_packed(&f->dq, t, 32, 5, VIRTQ_DESC_F_INDIRECT);
	expect_bad(f, -EFAULT, 5, 1, "indirect descriptor unreadable");
	gm_clear_faults(f->gm);
	/* Too many segments: a direct one plus a full table. */
	for (uint16_t i = 0; i < (uint16_t)VQ_MAX_SIZE; i++)
		vdq_raw_table(&f->dq, t, i, FX_DATA_GPA, 1, 0, 0);
	vdq_raw_packed(&f->dq, FX_DATA_GPA, 1, 5, VIRTQ_DESC_F_NEXT);
	vdq_raw_packed(&f->dq, t, VQ_MAX_SIZE * 16, 5, VIRTQ_DESC_F_INDIRECT);
	expect_bad(f, -EINVAL, 5, 2, "too many descriptors");
	fx_free(f);
}

static void test_indirect_not_negotiated(void **state)
{
	(void)state;
	struct fx *f = fx_new(SZ, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				  VIRTIO_BIT(VIRTIO_F_RING_PACKED));
	uint64_t t = FX_DATA_GPA + 0x10000;

	vdq_raw_table(&f->dq, t, 0, FX_DATA_GPA, 8, 0, 0);
	vdq_raw_packed(&f->dq, t, 16, 0, VIRTQ_DESC_F_INDIRECT);
	expect_bad(f, -EINVAL, 0, 1, "not negotiated");
	fx_free(f);
}

/* Non-power-of-2 ring lapped many times: wrap counters flip, chains
 * straddle the end of the ring, the free-running used count passes 65536
 * with event index on. */
static void test_wrap_counters(void **state)
{
	(void)state;
	struct fx *f = packed_fx(5, EVIDX);
	struct vdq_buf b[3] = { { FX_DATA_GPA, 8, false },
				{ FX_DATA_GPA + 8, 8, true },
				{ FX_DATA_GPA + 16, 8, true } };
	unsigned kicks = 0, irqs = 0, laps = 0;
	bool wrap = f->vq.avail_wrap;

	for (unsigned i = 0; i < 30000; i++) {
		unsigned n = 1 + i % 3;
		uint16_t id;
		uint32_t len;
		int bid = vdq_add(&f->dq, b + 3 - n, n, false);

		assert_true(bid >= 0);
		kicks += vdq_kick_prepare(&f->dq);
		assert_int_equal(vq_pop(&f->vq, f->e), 1);
		assert_int_equal(f->e->id, bid);
		assert_int_equal(f->e->ndesc, n);
		assert_int_equal(vq_push(&f->vq, f->e, 8), 0);
		irqs += vq_should_notify(&f->vq);
		assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
		assert_int_equal(id, bid);
		assert_int_equal(len, 8);
		laps += f->vq.avail_wrap != wrap;
		wrap = f->vq.avail_wrap;
	}
	assert_int_equal(kicks, 30000);
	assert_int_equal(irqs, 30000);
	assert_int_equal(laps, 60000 / 5);
	assert_int_equal(f->vq.used_idx, (uint16_t)60000);
	assert_int_equal(f->dq.next_used, f->vq.next_used);
	assert_false(f->vq.broken);
	fx_free(f);
}

static void test_unpop(void **state)
{
	(void)state;
	struct fx *f = packed_fx(5, 0);
	struct vdq_buf b[2] = { { FX_DATA_GPA, 8, false },
				{ FX_DATA_GPA + 8, 8, true } };
	uint16_t id;
	uint32_t len;
	int a, c;

	/* Move to slot 4 so the next chain straddles the end. */
	for (int i = 0; i < 2; i++) {
		assert_true(vdq_add(&f->dq, b, 2, false) >= 0);
		assert_int_equal(vq_pop(&f->vq, f->e), 1);
		assert_int_equal(vq_push(&f->vq, f->e, 0), 0);
		assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
	}
	a = vdq_add(&f->dq, b, 2, false);
	c = vdq_add(&f->dq, b, 1, false);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, a);
	assert_false(f->vq.avail_wrap);
	vq_unpop(&f->vq, f->e);
	assert_true(f->vq.avail_wrap);
	assert_int_equal(f->vq.next_avail, 4);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, a);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, c);
	vq_unpop(&f->vq, f->e);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, c);
	/* A bogus element cannot move the ring. */
	f->e->ndesc = 0;
	vq_unpop(&f->vq, f->e);
	assert_int_equal(f->vq.next_avail, 2);
	assert_int_equal(vq_push(&f->vq, f->e, 0), -EINVAL);
	fx_free(f);
}

static void test_enable_validation(void **state)
{
	(void)state;
	struct fx *f = packed_fx(5, 0);
	struct vq vq;
	struct vq_config c;
	uint64_t feat = FX_PACKED_FEATURES;

	memset(&vq, 0, sizeof(vq));
	vdq_config(&f->dq, &c);
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 2, &c, feat), 0);
	assert_true(vq.packed);
	assert_true(vq.avail_wrap && vq.used_wrap);
	c.desc += 4;
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 2, &c, feat), -EINVAL);
	vdq_config(&f->dq, &c);
	c.driver += 2;
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 2, &c, feat), -EINVAL);
	vdq_config(&f->dq, &c);
	c.device = FX_RAM_SIZE;
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 2, &c, feat), -EINVAL);
	vdq_config(&f->dq, &c);
	c.size = VQ_MAX_SIZE + 1;
	assert_int_equal(vq_enable(&vq, f->gm, NULL, 2, &c, feat), -EINVAL);
	fx_free(f);
}

static void test_ring_faults(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, EVIDX);
	struct vdq_buf b = { FX_DATA_GPA, 8, true };

	/* Unreadable ring: broken; has_avail says no. */
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	gm_inject_fault(f->gm, f->dq.desc, 16, GM_FAULT_READ);
	assert_false(vq_has_avail(&f->vq));
	assert_int_equal(vq_pop(&f->vq, f->e), -EPROTO);
	assert_true(f->vq.broken);
	fx_free(f);

	/* Second descriptor of a chain unreadable: broken (its end is
	 * unknown). */
	f = packed_fx(SZ, EVIDX);
	vdq_raw_packed(&f->dq, FX_DATA_GPA, 8, 0, VIRTQ_DESC_F_NEXT);
	vdq_raw_packed(&f->dq, FX_DATA_GPA, 8, 0, 0);
	gm_inject_fault(f->gm, f->dq.desc + 16, 16, GM_FAULT_READ);
	assert_int_equal(vq_pop(&f->vq, f->e), -EPROTO);
	fx_free(f);

	/* Unwritable ring on push (id/len, then flags only). */
	f = packed_fx(SZ, 0);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	gm_inject_fault(f->gm, f->dq.desc, 16, GM_FAULT_WRITE);
	assert_int_equal(vq_push(&f->vq, f->e, 1), -EPROTO);
	fx_free(f);
	f = packed_fx(SZ, 0);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	gm_inject_fault(f->gm, f->dq.desc + offsetof(struct pvirtq_desc, flags),
			2, GM_FAULT_WRITE);
	assert_int_equal(vq_push(&f->vq, f->e, 1), -EPROTO);
	fx_free(f);

	/* Bad chain whose empty completion cannot be written. */
	f = packed_fx(SZ, 0);
	vdq_raw_packed(&f->dq, FX_DATA_GPA, 0, 0, 0);
	gm_inject_fault(f->gm, f->dq.desc, 16, GM_FAULT_WRITE);
	assert_int_equal(vq_pop(&f->vq, f->e), -EPROTO);
	fx_free(f);

	/* Event areas: unreadable driver area interrupts; unwritable
	 * device area breaks the ring on pop and on set_notification. */
	f = packed_fx(SZ, EVIDX);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	gm_inject_fault(f->gm, f->dq.device, 4, GM_FAULT_WRITE);
	assert_int_equal(vq_pop(&f->vq, f->e), -EPROTO);
	fx_free(f);
	f = packed_fx(SZ, 0);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	gm_inject_fault(f->gm, f->dq.driver, 4, GM_FAULT_READ);
	assert_true(vq_should_notify(&f->vq));
	gm_inject_fault(f->gm, f->dq.device, 4, GM_FAULT_WRITE);
	vq_set_notification(&f->vq, true);
	assert_true(f->vq.broken);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_out_of_order_skip),
		cmocka_unit_test(test_not_available),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_read_after_write),
		cmocka_unit_test(test_length_overflow),
		cmocka_unit_test(test_outside_ram),
		cmocka_unit_test(test_chain_longer_than_ring),
		cmocka_unit_test(test_full_ring_chain_ok),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_indirect_bad),
		cmocka_unit_test(test_indirect_not_negotiated),
		cmocka_unit_test(test_wrap_counters),
		cmocka_unit_test(test_unpop),
		cmocka_unit_test(test_enable_validation),
		cmocka_unit_test(test_ring_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
