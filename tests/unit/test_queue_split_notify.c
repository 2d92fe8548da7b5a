/* Split virtqueue (virtio 1.2 §2.7): notification suppression in both
 * directions (event index §2.7.10, VIRTQ_AVAIL_F_NO_INTERRUPT,
 * VIRTQ_USED_F_NO_NOTIFY) and 16-bit avail/used index wraparound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vq_split_fixture.h"

/* Device -> driver: used_event (§2.7.10) and VIRTQ_AVAIL_F_NO_INTERRUPT. */
static void test_event_idx_used_event(void **state)
{
	(void)state;
	struct fx *f = fx_split(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	struct vdq_buf b = { FX_DATA_GPA, 8, true };
	uint64_t ue = f->dq.driver + VIRTQ_USED_EVENT_OFF(FX_SPLIT_SZ);
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
	struct fx *f = fx_split(0);
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
	struct fx *f = fx_split(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	struct vdq_buf b = { FX_DATA_GPA, 8, true };
	uint16_t ae;

	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_true(vdq_kick_prepare(&f->dq)); /* avail_event 0 crossed */
	/* Device takes the kick, turns kicks off while it works. */
	vq_set_notification(&f->vq, false);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	gm_read_u16le(f->gm, f->dq.device + VIRTQ_AVAIL_EVENT_OFF(FX_SPLIT_SZ), &ae);
	assert_int_equal(ae, 0); /* left behind while off */
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_false(vdq_kick_prepare(&f->dq));
	/* Back on: avail_event = next entry; pending work found by the
	 * re-check, not by a kick. */
	vq_set_notification(&f->vq, true);
	gm_read_u16le(f->gm, f->dq.device + VIRTQ_AVAIL_EVENT_OFF(FX_SPLIT_SZ), &ae);
	assert_int_equal(ae, 1);
	assert_true(vq_has_avail(&f->vq));
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	gm_read_u16le(f->gm, f->dq.device + VIRTQ_AVAIL_EVENT_OFF(FX_SPLIT_SZ), &ae);
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
	struct fx *f = fx_split(0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_idx_used_event),
		cmocka_unit_test(test_no_interrupt_flag),
		cmocka_unit_test(test_event_idx_avail_event),
		cmocka_unit_test(test_no_notify_flag),
		cmocka_unit_test(test_wraparound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
