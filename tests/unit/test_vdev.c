/* vdev helpers (virtio 1.2 §2.1, §2.5, §2.7.10): when a used-buffer
 * interrupt reaches the transport, config changes, DEVICE_NEEDS_RESET and
 * the offered feature set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vq_fixture.h"

struct fake_transport {
	unsigned queue_irqs[VDEV_MAX_QUEUES];
	unsigned config_irqs;
};

static void ft_notify_queue(void *t, unsigned q)
{
	((struct fake_transport *)t)->queue_irqs[q]++;
}

static void ft_notify_config(void *t)
{
	((struct fake_transport *)t)->config_irqs++;
}

static const struct vdev_transport_ops ft_ops = { .notify_queue = ft_notify_queue,
						  .notify_config = ft_notify_config };

static uint64_t dummy_features(struct vdev *vd)
{
	(void)vd;
	return VIRTIO_BIT(5) | VIRTIO_BIT(40);
}

static const struct vdev_ops dummy_ops = { .features = dummy_features };

/* A device with queue 0 on the fixture's ring, DRIVER_OK. */
static void vd_setup(struct vdev *vd, struct fake_transport *ft,
		     struct fx *f)
{
	memset(vd, 0, sizeof(*vd));
	memset(ft, 0, sizeof(*ft));
	vd->ops = &dummy_ops;
	vd->device_id = VIRTIO_ID_RNG;
	vd->nqueues = 1;
	vd->gm = f->gm;
	vd->log = f->log;
	vd->tops = &ft_ops;
	vd->transport = ft;
	vd->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
	vd->vqs[0] = f->vq;
}

static void complete_one(struct fx *f, struct vdev *vd)
{
	struct vdq_buf b = { FX_DATA_GPA, 8, true };

	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&vd->vqs[0], f->e), 1);
	assert_int_equal(vq_push(&vd->vqs[0], f->e, 8), 0);
}

static void test_notify_queue(void **state)
{
	(void)state;
	struct fx *f = fx_new(8, FX_SPLIT_FEATURES);
	struct vdev vd;
	struct fake_transport ft;
	uint16_t id;
	uint32_t len;

	vd_setup(&vd, &ft, f);
	complete_one(f, &vd);
	vdev_notify_queue(&vd, 0);
	assert_int_equal(ft.queue_irqs[0], 1);
	/* Nothing new: the ring says no. */
	vdev_notify_queue(&vd, 0);
	assert_int_equal(ft.queue_irqs[0], 1);
	/* Driver suppressed interrupts. */
	assert_int_equal(vdq_get_used(&f->dq, &id, &len), 1);
	vdq_intr_enable(&f->dq, false);
	complete_one(f, &vd);
	vdev_notify_queue(&vd, 0);
	assert_int_equal(ft.queue_irqs[0], 1);
	vdq_intr_enable(&f->dq, true);
	/* Queue index out of range, never past the array. */
	vdev_notify_queue(&vd, 1);
	vdev_notify_queue(&vd, VDEV_MAX_QUEUES + 5);
	assert_int_equal(ft.queue_irqs[1], 0);
	/* Not before DRIVER_OK (§3.1.1). */
	complete_one(f, &vd);
	vd.status &= ~VIRTIO_STATUS_DRIVER_OK;
	vdev_notify_queue(&vd, 0);
	assert_int_equal(ft.queue_irqs[0], 1);
	vd.status |= VIRTIO_STATUS_DRIVER_OK;
	vdev_notify_queue(&vd, 0);
	assert_int_equal(ft.queue_irqs[0], 2);
	/* A transport without callbacks is tolerated. */
	complete_one(f, &vd);
	vd.tops = NULL;
	vdev_notify_queue(&vd, 0);
	vdev_config_changed(&vd);
	vdev_needs_reset(&vd, "test");
	assert_true(vd.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	fx_free(f);
}

static void test_config_changed(void **state)
{
	(void)state;
	struct fx *f = fx_new(8, FX_SPLIT_FEATURES);
	struct vdev vd;
	struct fake_transport ft;

	vd_setup(&vd, &ft, f);
	vdev_config_changed(&vd);
	assert_int_equal(vd.config_generation, 1);
	assert_int_equal(ft.config_irqs, 1);
	/* Before DRIVER_OK the generation still moves, without interrupt. */
	vd.status = VIRTIO_STATUS_ACKNOWLEDGE;
	vdev_config_changed(&vd);
	assert_int_equal(vd.config_generation, 2);
	assert_int_equal(ft.config_irqs, 1);
	fx_free(f);
}

static void test_needs_reset(void **state)
{
	(void)state;
	struct fx *f = fx_new(8, FX_SPLIT_FEATURES);
	struct vdev vd;
	struct fake_transport ft;
	struct vdq_buf b = { FX_DATA_GPA, 8, true };

	vd_setup(&vd, &ft, f);
	vdev_needs_reset(&vd, "bad ring");
	assert_true(vd.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_true(vd.status & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(ft.config_irqs, 1);
	assert_non_null(strstr(fx_log(f), "needs reset: bad ring"));
	/* Processing stops: nothing pops, no queue interrupts. */
	assert_true(vdq_add(&f->dq, &b, 1, false) >= 0);
	vdq_publish(&f->dq);
	assert_int_equal(vq_pop(&vd.vqs[0], f->e), 0);
	vdev_notify_queue(&vd, 0);
	assert_int_equal(ft.queue_irqs[0], 0);
	/* Said once. */
	vdev_needs_reset(&vd, NULL);
	assert_int_equal(ft.config_irqs, 1);
	/* Before DRIVER_OK: status set, no interrupt. */
	vd_setup(&vd, &ft, f);
	vd.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	vdev_needs_reset(&vd, NULL);
	assert_true(vd.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(ft.config_irqs, 0);
	fx_free(f);
}

static void test_offered_features(void **state)
{
	(void)state;
	struct vdev vd;

	memset(&vd, 0, sizeof(vd));
	assert_int_equal(vdev_offered_features(&vd), VIRTIO_TRANSPORT_FEATURES);
	vd.ops = &dummy_ops;
	assert_int_equal(vdev_offered_features(&vd),
			 VIRTIO_TRANSPORT_FEATURES | VIRTIO_BIT(5) |
				 VIRTIO_BIT(40));
	assert_true(vdev_offered_features(&vd) &
		    VIRTIO_BIT(VIRTIO_F_RING_PACKED));
	vd.features = VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	assert_true(vdev_has(&vd, VIRTIO_F_EVENT_IDX));
	assert_false(vdev_has(&vd, VIRTIO_F_VERSION_1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_queue),
		cmocka_unit_test(test_config_changed),
		cmocka_unit_test(test_needs_reset),
		cmocka_unit_test(test_offered_features),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
