/* Split virtqueue (virtio 1.2 §2.7): unpop, element data copies across
 * segments, vq_enable() validation of a guest's ring layout and guest
 * memory faults on every ring access. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vq_split_fixture.h"

static void test_unpop(void **state)
{
	(void)state;
	struct fx *f = fx_split(0);
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
	struct fx *f = fx_split(0);
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
	struct fx *f = fx_split(0);
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
	struct fx *f = fx_split(0);
	struct vdq_buf b = { FX_DATA_GPA, 8, true };
	int h;

	/* A descriptor the device cannot read fails only that chain. */
	h = vdq_add(&f->dq, &b, 1, false);
	vdq_publish(&f->dq);
	gm_inject_fault(f->gm, f->dq.desc + 16 * (uint64_t)h, 16, GM_FAULT_READ);
	fx_split_expect_bad(f, -EFAULT, (uint16_t)h);
	gm_clear_faults(f->gm);
	/* push with an id the ring does not have is a device bug. */
	f->e->id = FX_SPLIT_SZ;
	assert_int_equal(vq_push(&f->vq, f->e, 0), -EINVAL);
	/* Unwritable used ring: broken. */
	h = vdq_add(&f->dq, &b, 1, false);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	gm_inject_fault(f->gm, f->dq.device, VIRTQ_USED_BYTES(FX_SPLIT_SZ), GM_FAULT_WRITE);
	assert_int_equal(vq_push(&f->vq, f->e, 0), -EPROTO);
	assert_true(f->vq.broken);
	fx_free(f);

	/* Unreadable avail ring: broken, and the notify checks fall back
	 * to interrupting. */
	f = fx_split(0);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 0), 0);
	gm_inject_fault(f->gm, f->dq.driver, VIRTQ_AVAIL_BYTES(FX_SPLIT_SZ), GM_FAULT_READ);
	assert_true(vq_should_notify(&f->vq));
	assert_false(vq_has_avail(&f->vq));
	assert_int_equal(vq_pop(&f->vq, f->e), -EPROTO);
	assert_true(f->vq.broken);
	fx_free(f);

	/* Entry unreadable though idx is; used idx unwritable; flags
	 * unwritable. */
	f = fx_split(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	gm_inject_fault(f->gm, f->dq.driver + offsetof(struct virtq_avail, ring),
			2, GM_FAULT_READ);
	assert_int_equal(vq_pop(&f->vq, f->e), -EPROTO);
	fx_free(f);
	f = fx_split(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	gm_inject_fault(f->gm, f->dq.driver + VIRTQ_USED_EVENT_OFF(FX_SPLIT_SZ), 2,
			GM_FAULT_READ);
	gm_inject_fault(f->gm, f->dq.device + offsetof(struct virtq_used, idx),
			2, GM_FAULT_WRITE);
	assert_int_equal(vq_push(&f->vq, f->e, 0), -EPROTO);
	fx_free(f);
	f = fx_split(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 0), 0);
	gm_inject_fault(f->gm, f->dq.driver + VIRTQ_USED_EVENT_OFF(FX_SPLIT_SZ), 2,
			GM_FAULT_READ);
	assert_true(vq_should_notify(&f->vq));
	gm_inject_fault(f->gm, f->dq.device + VIRTQ_AVAIL_EVENT_OFF(FX_SPLIT_SZ), 2,
			GM_FAULT_WRITE);
	vq_set_notification(&f->vq, true);
	assert_true(f->vq.broken);
	fx_free(f);
	f = fx_split(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	gm_inject_fault(f->gm, f->dq.device + VIRTQ_AVAIL_EVENT_OFF(FX_SPLIT_SZ), 2,
			GM_FAULT_WRITE);
	assert_int_equal(vq_pop(&f->vq, f->e), -EPROTO);
	fx_free(f);
	f = fx_split(0);
	gm_inject_fault(f->gm, f->dq.device, 2, GM_FAULT_WRITE);
	vq_set_notification(&f->vq, false);
	assert_true(f->vq.broken);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unpop),
		cmocka_unit_test(test_elem_rw_segments),
		cmocka_unit_test(test_enable_validation),
		cmocka_unit_test(test_ring_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
