/* Packed virtqueue event suppression (virtio 1.2 §2.8.10): the driver and
 * device event structures in both directions, with and without
 * VIRTIO_F_EVENT_IDX (descriptor mode). */
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

/* Driver -> device interrupt suppression (§2.8.10). */
static void test_driver_event_suppression(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, EVIDX);
	struct vdq_buf b = { FX_DATA_GPA, 8, true };
	struct pvirtq_event_suppress ev;
	uint16_t id;
	uint32_t len;

	for (int i = 0; i < 6; i++)
		assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	/* DISABLE: never. */
	vdq_intr_enable(&f->dq, false);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_false(vq_should_notify(&f->vq));
	/* DESC at the driver's next used slot (1): due once slot 1 used. */
	vdq_intr_enable(&f->dq, true);
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
	gm_read(f->gm, f->dq.driver, &ev, sizeof(ev));
	assert_int_equal(le16toh(ev.flags), RING_EVENT_FLAGS_DESC);
	assert_int_equal(le16toh(ev.off_wrap), 1 | 1u << 15);
	/* Event 3: slots 1 and 2 do not reach it, slot 3 does. */
	ev.off_wrap = htole16(3 | 1u << 15);
	gm_write(f->gm, f->dq.driver, &ev, sizeof(ev));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vq_pop(&f->vq, f->e), 1);
		assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
		assert_false(vq_should_notify(&f->vq));
	}
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_true(vq_should_notify(&f->vq));
	/* An event in the other lap (wrap bit 0 != used wrap 1) counts as
	 * long passed: not crossed again, no interrupt. */
	ev.off_wrap = htole16(7);
	gm_write(f->gm, f->dq.driver, &ev, sizeof(ev));
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_false(vq_should_notify(&f->vq));
	/* ENABLE and the reserved value 3: always. */
	ev.flags = htole16(RING_EVENT_FLAGS_ENABLE);
	gm_write(f->gm, f->dq.driver, &ev, sizeof(ev));
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_true(vq_should_notify(&f->vq));
	ev.flags = htole16(3);
	gm_write(f->gm, f->dq.driver, &ev, sizeof(ev));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_true(vq_should_notify(&f->vq));
	fx_free(f);
}

static void test_desc_mode_without_event_idx(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, 0);
	struct vdq_buf b = { FX_DATA_GPA, 8, true };
	struct pvirtq_event_suppress ev = { htole16(5 | 1u << 15),
					    htole16(RING_EVENT_FLAGS_DESC) };

	/* DESC needs EVENT_IDX; without it the device treats it as ENABLE. */
	gm_write(f->gm, f->dq.driver, &ev, sizeof(ev));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e, 1), 0);
	assert_true(vq_should_notify(&f->vq));
	/* Driver side: our DISABLE suppresses kicks, ENABLE restores. */
	vq_set_notification(&f->vq, false);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_false(vdq_kick_prepare(&f->dq));
	vq_set_notification(&f->vq, true);
	gm_read(f->gm, f->dq.device, &ev, sizeof(ev));
	assert_int_equal(le16toh(ev.flags), RING_EVENT_FLAGS_ENABLE);
	assert_true(vq_has_avail(&f->vq));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_true(vdq_kick_prepare(&f->dq));
	fx_free(f);
}

/* Device -> driver kick suppression with event index (§2.8.10). */
static void test_device_event_suppression(void **state)
{
	(void)state;
	struct fx *f = packed_fx(SZ, EVIDX);
	struct vdq_buf b = { FX_DATA_GPA, 8, true };
	struct pvirtq_event_suppress ev;

	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_true(vdq_kick_prepare(&f->dq)); /* ENABLE initially */
	vq_set_notification(&f->vq, false);
	gm_read(f->gm, f->dq.device, &ev, sizeof(ev));
	assert_int_equal(le16toh(ev.flags), RING_EVENT_FLAGS_DISABLE);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_false(vdq_kick_prepare(&f->dq));
	vq_set_notification(&f->vq, true);
	gm_read(f->gm, f->dq.device, &ev, sizeof(ev));
	assert_int_equal(le16toh(ev.flags), RING_EVENT_FLAGS_DESC);
	assert_int_equal(le16toh(ev.off_wrap), 1 | 1u << 15);
	assert_true(vq_has_avail(&f->vq));
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	gm_read(f->gm, f->dq.device, &ev, sizeof(ev));
	assert_int_equal(le16toh(ev.off_wrap), 3 | 1u << 15);
	/* Next add reaches slot 3: kick.  Then another without the device
	 * popping: slot 4 is past the event already, no kick. */
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_true(vdq_kick_prepare(&f->dq));
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	assert_false(vdq_kick_prepare(&f->dq));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_event_suppression),
		cmocka_unit_test(test_desc_mode_without_event_idx),
		cmocka_unit_test(test_device_event_suppression),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
