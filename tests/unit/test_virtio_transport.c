/* The virtio transport rules (virtio 1.2 §2.1, §2.2, §3.1.1, §4.1, §4.2)
 * checked once per transport: every test body runs on virtio-mmio,
 * virtio-pci with INTx and virtio-pci with MSI-X, driven by the sim guest
 * driver through its one ops table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "vdev_dummy.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define S_ACK VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRV VIRTIO_STATUS_DRIVER
#define S_FO VIRTIO_STATUS_FEATURES_OK
#define S_DOK VIRTIO_STATUS_DRIVER_OK
#define S_NR VIRTIO_STATUS_DEVICE_NEEDS_RESET

static const enum env_kind kinds[] = { ENV_MMIO, ENV_PCI_INTX, ENV_PCI_MSIX };

static int setup(void **state)
{
	enum env_kind k = *(const enum env_kind *)*state;
	struct env *e = env_new(k);
	if (!e)
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env_free(*state);
	return 0;
}

static uint8_t status(struct env *e)
{
	return e->drv.bus->get_status(&e->drv);
}

static void set_status(struct env *e, uint8_t s)
{
	e->drv.bus->set_status(&e->drv, s);
}

static void set_features(struct env *e, uint64_t f)
{
	e->drv.bus->set_features(&e->drv, 0, (uint32_t)f);
	e->drv.bus->set_features(&e->drv, 1, (uint32_t)(f >> 32));
}

/* An interrupt the driver would see, acknowledged: ISR bits for MMIO and
 * INTx, a message's vector for MSI-X (-1 when none). */
static int take_interrupt(struct env *e, uint32_t *isr)
{
	bool pending = e->drv.bus->irq_pending(&e->drv);
	*isr = 0;
	if (e->kind == ENV_PCI_MSIX)
		return pending ? (int)(e->s->last_msi_data - VDRIVER_MSI_DATA(0)) : -1;
	*isr = e->drv.bus->isr_ack(&e->drv);
	assert_false(e->drv.bus->irq_pending(&e->drv)); /* level dropped */
	return pending ? 0 : -1;
}

static void test_probe_and_offer(void **state)
{
	struct env *e = *state;
	assert_int_equal(e->drv.bus->device_id(&e->drv), DUMMY_ID);
	assert_int_equal(status(e), 0);
	uint64_t f = vdriver_device_features(&e->drv);
	assert_true(f & V1);
	assert_true(f & VIRTIO_BIT(DUMMY_F_X));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_RING_PACKED));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_false(f & VIRTIO_BIT(DUMMY_F_UNOFFERED));
	/* Feature words beyond 63 are empty. */
	assert_int_equal(e->drv.bus->get_features(&e->drv, 2), 0);
	assert_int_equal(e->drv.bus->queue_max(&e->drv, 0), DUMMY_QMAX);
	assert_int_equal(e->drv.bus->queue_max(&e->drv, 2), 0);
}

static void test_full_init(void **state)
{
	struct env *e = *state;
	assert_int_equal(env_start(e, VIRTIO_BIT(DUMMY_F_X)), 0);
	assert_int_equal(status(e), S_ACK | S_DRV | S_FO | S_DOK);
	assert_int_equal(e->dev.activates, 1);
	assert_true(e->dev.vd.features == (V1 | VIRTIO_BIT(DUMMY_F_X)));
	assert_true(e->drv.bus->queue_ready(&e->drv, 0));
	assert_true(e->drv.bus->queue_ready(&e->drv, 1));
}

static void test_unoffered_feature_refused(void **state)
{
	struct env *e = *state;
	set_status(e, S_ACK);
	set_status(e, S_ACK | S_DRV);
	set_features(e, V1 | VIRTIO_BIT(DUMMY_F_UNOFFERED));
	/* The unoffered bit was dropped from what the device recorded... */
	assert_true(e->dev.vd.driver_features == V1);
	/* ...and FEATURES_OK does not stick (§2.2.1). */
	set_status(e, S_ACK | S_DRV | S_FO);
	assert_int_equal(status(e), S_ACK | S_DRV);
	/* Rewriting the word with only offered bits makes it acceptable. */
	set_features(e, V1);
	set_status(e, S_ACK | S_DRV | S_FO);
	assert_int_equal(status(e), S_ACK | S_DRV | S_FO);
	assert_true(e->dev.vd.features == V1);
}

static void test_unoffered_high_word_refused(void **state)
{
	struct env *e = *state;
	set_status(e, S_ACK | S_DRV);
	set_features(e, V1);
	e->drv.bus->set_features(&e->drv, 2, 1); /* word 2: nothing offered */
	set_status(e, S_ACK | S_DRV | S_FO);
	assert_false(status(e) & S_FO);
}

/* Words past 1 hold no feature bits (64 in all): writing one changes
 * nothing the driver accepted in words 0 and 1. */
static void test_feature_word_2_ignored(void **state)
{
	struct env *e = *state;
	set_status(e, S_ACK | S_DRV);
	set_features(e, V1 | VIRTIO_BIT(DUMMY_F_X));
	e->drv.bus->set_features(&e->drv, 2, 0);
	assert_true(e->dev.vd.driver_features == (V1 | VIRTIO_BIT(DUMMY_F_X)));
	set_status(e, S_ACK | S_DRV | S_FO);
	assert_int_equal(status(e), S_ACK | S_DRV | S_FO);
}

static void test_version1_required(void **state)
{
	struct env *e = *state;
	set_status(e, S_ACK | S_DRV);
	set_features(e, VIRTIO_BIT(DUMMY_F_X));
	set_status(e, S_ACK | S_DRV | S_FO | S_DOK);
	assert_int_equal(status(e), S_ACK | S_DRV);
	assert_int_equal(e->dev.activates, 0);
	assert_int_equal(vdriver_negotiate(&e->drv, VIRTIO_BIT(DUMMY_F_X)), -EPROTO);
}

static void test_features_frozen_after_features_ok(void **state)
{
	struct env *e = *state;
	assert_int_equal(vdriver_negotiate(&e->drv, V1 | VIRTIO_BIT(DUMMY_F_X)), 0);
	set_features(e, V1);
	assert_true(e->dev.vd.features == (V1 | VIRTIO_BIT(DUMMY_F_X)));
	assert_true(e->dev.vd.driver_features == (V1 | VIRTIO_BIT(DUMMY_F_X)));
}

static void test_status_order_enforced(void **state)
{
	struct env *e = *state;
	set_status(e, S_DRV);                 /* DRIVER before ACKNOWLEDGE */
	assert_int_equal(status(e), 0);
	set_status(e, S_ACK | S_FO);          /* FEATURES_OK before DRIVER */
	assert_int_equal(status(e), 0);
	set_status(e, S_ACK);
	set_status(e, S_ACK | S_DRV | S_DOK); /* DRIVER_OK before FEATURES_OK */
	assert_int_equal(status(e), S_ACK);
	set_status(e, S_ACK | S_DRV);
	set_status(e, S_ACK);                 /* clearing a bit */
	assert_int_equal(status(e), S_ACK | S_DRV);
	set_status(e, S_ACK | S_DRV | VIRTIO_STATUS_FAILED);
	assert_int_equal(status(e), S_ACK | S_DRV | VIRTIO_STATUS_FAILED);
	/* Reserved bits (16, 32) are not stored; the device-owned
	 * DEVICE_NEEDS_RESET cannot be set by the driver. */
	set_status(e, S_ACK | S_DRV | VIRTIO_STATUS_FAILED | 0x30 | S_NR);
	assert_int_equal(status(e), S_ACK | S_DRV | VIRTIO_STATUS_FAILED);
	assert_int_equal(e->dev.activates, 0);
}

/* Drive the device to stage n, then reset it and check nothing is left. */
static void reach_stage(struct env *e, unsigned n)
{
	static const uint8_t steps[] = { S_ACK, S_DRV, S_FO };
	for (unsigned i = 0; i < n && i < 3; i++) {
		if (i == 2)
			set_features(e, V1);
		set_status(e, status(e) | steps[i]);
	}
	if (n >= 4)
		assert_int_equal(vdriver_setup_queue(&e->drv, 0, &e->vq[0], 8), 0);
	if (n >= 5) {
		vdriver_driver_ok(&e->drv);
		e->dev.vd.tops->notify_queue(e->dev.vd.transport, 0);
		e->dev.vd.tops->notify_config(e->dev.vd.transport);
	}
	if (n >= 6)
		vdev_needs_reset(&e->dev.vd, "test");
}

static void test_reset_in_every_state(void **state)
{
	struct env *e = *state;
	for (unsigned n = 0; n <= 6; n++) {
		reach_stage(e, n);
		e->dev.config[9] = 0x55;
		unsigned resets = e->dev.resets;
		vdriver_reset(&e->drv);
		assert_int_equal(status(e), 0);
		assert_int_equal(e->dev.resets, resets + 1);
		assert_int_equal(e->dev.config[9], 0);
		assert_true(e->dev.vd.features == 0);
		assert_true(e->dev.vd.driver_features == 0);
		assert_false(e->drv.bus->queue_ready(&e->drv, 0));
		assert_false(e->dev.vd.vqs[0].broken);
		uint32_t isr;
		if (e->kind != ENV_PCI_MSIX) {
			assert_false(e->drv.bus->irq_pending(&e->drv));
			take_interrupt(e, &isr);
			assert_int_equal(isr, 0);
		}
		/* Queue size is back to its maximum (§4.2.2 / §4.1.4.3). */
		assert_int_equal(e->drv.bus->queue_max(&e->drv, 0), DUMMY_QMAX);
	}
	/* And the device is usable again afterwards. */
	assert_int_equal(env_start(e, 0), 0);
}

static void test_queue_enable_rules(void **state)
{
	struct env *e = *state;
	struct vq_config bad = { .size = 8, .desc = 0x10000, .driver = 0x11000,
				 .device = 0x12000, .msix_vector = 1 };
	set_status(e, S_ACK | S_DRV);
	/* Before FEATURES_OK the negotiated ring format is unknown. */
	assert_false(e->drv.bus->queue_setup(&e->drv, 0, &bad));
	set_features(e, V1);
	set_status(e, S_ACK | S_DRV | S_FO);
	e->drv.features = V1;
	/* Rings outside guest RAM (32 MiB). */
	struct vq_config c = bad;
	c.desc = 0x7ffff000;
	assert_false(e->drv.bus->queue_setup(&e->drv, 0, &c));
	c = bad;
	c.device = ~0ull - 8;
	assert_false(e->drv.bus->queue_setup(&e->drv, 0, &c));
	/* Misaligned descriptor table (§2.7: 16 bytes). */
	c = bad;
	c.desc = 0x10008;
	assert_false(e->drv.bus->queue_setup(&e->drv, 0, &c));
	/* Size 0, above the maximum, not a power of two for a split ring. */
	c = bad;
	c.size = 0;
	assert_false(e->drv.bus->queue_setup(&e->drv, 0, &c));
	c.size = DUMMY_QMAX * 2;
	assert_false(e->drv.bus->queue_setup(&e->drv, 0, &c));
	c.size = 12;
	assert_false(e->drv.bus->queue_setup(&e->drv, 0, &c));
	/* A queue that does not exist. */
	assert_false(e->drv.bus->queue_setup(&e->drv, 5, &bad));
	assert_false(e->drv.bus->queue_ready(&e->drv, 5));
	/* A good one; then its registers are frozen while ready. */
	assert_true(e->drv.bus->queue_setup(&e->drv, 0, &bad));
	assert_false(e->drv.bus->queue_setup(&e->drv, 0, &bad));
	assert_true(e->dev.vd.vqs[0].cfg.desc == bad.desc);
	/* After DRIVER_OK no queue can be configured. */
	vdriver_driver_ok(&e->drv);
	assert_false(e->drv.bus->queue_setup(&e->drv, 1, &bad));
	assert_false(e->drv.bus->queue_ready(&e->drv, 1));
}

static void test_packed_any_size(void **state)
{
	struct env *e = *state;
	assert_int_equal(vdriver_negotiate(&e->drv, V1 | VIRTIO_BIT(VIRTIO_F_RING_PACKED)), 0);
	assert_int_equal(vdriver_setup_queue(&e->drv, 0, &e->vq[0], 12), 0);
	assert_true(e->dev.vd.vqs[0].packed);
}

static void test_kick_rules(void **state)
{
	struct env *e = *state;
	assert_int_equal(vdriver_negotiate(&e->drv, V1), 0);
	assert_int_equal(vdriver_setup_queue(&e->drv, 0, &e->vq[0], 16), 0);
	e->drv.bus->kick(&e->drv, 0);         /* before DRIVER_OK */
	assert_int_equal(e->dev.notifies[0], 0);
	vdriver_driver_ok(&e->drv);
	e->drv.bus->kick(&e->drv, 0);
	assert_int_equal(e->dev.notifies[0], 1);
	e->drv.bus->kick(&e->drv, 1);         /* never made ready */
	assert_int_equal(e->dev.notifies[1], 0);
	if (e->kind == ENV_MMIO)              /* no such queue */
		sim_mmio_write(e->s, e->drv.base + 0x50, 4, 9);
	vdev_needs_reset(&e->dev.vd, "test");
	e->drv.bus->kick(&e->drv, 0);
	assert_int_equal(e->dev.notifies[0], 1);
}

static void roundtrip(struct env *e, uint64_t features)
{
	e->dev.complete_on_kick = true;
	assert_int_equal(vdriver_negotiate(&e->drv, V1 | features), 0);
	assert_int_equal(vdriver_setup_queue(&e->drv, 0, &e->vq[0], 16), 0);
	vdriver_driver_ok(&e->drv);
	uint64_t buf = vdriver_alloc(&e->drv, 64, 16);
	struct vdq_buf b[2] = { { buf, 16, false }, { buf + 32, 16, true } };
	int id = vdq_add(&e->vq[0], b, 2, false);
	assert_true(id >= 0);
	vdq_publish(&e->vq[0]);
	assert_true(vdriver_kick(&e->drv, 0, &e->vq[0]));
	assert_int_equal(e->dev.completed, 1);
	uint32_t isr;
	int vec = take_interrupt(e, &isr);
	if (e->kind == ENV_PCI_MSIX)
		assert_int_equal(vec, 1);     /* queue 0 uses vector 1 */
	else
		assert_int_equal(isr, VDRIVER_ISR_QUEUE);
	uint16_t uid;
	uint32_t len;
	assert_int_equal(vdq_get_used(&e->vq[0], &uid, &len), 1);
	assert_int_equal(uid, id);
	assert_int_equal(len, 4);
	uint32_t mark = 0;
	gm_read_u32le(e->s->m.gm, buf + 32, &mark);
	assert_int_equal(mark, 0xedfe0dd0);
}

static void test_used_buffer_interrupt_split(void **state)
{
	roundtrip(*state, 0);
}

static void test_used_buffer_interrupt_packed(void **state)
{
	roundtrip(*state, VIRTIO_BIT(VIRTIO_F_RING_PACKED));
}

static void test_config_change_interrupt(void **state)
{
	struct env *e = *state;
	assert_int_equal(env_start(e, 0), 0);
	uint32_t gen = e->drv.bus->config_generation(&e->drv);
	vdev_config_changed(&e->dev.vd);
	assert_int_equal(e->drv.bus->config_generation(&e->drv), (gen + 1) & 0xff);
	uint32_t isr;
	int vec = take_interrupt(e, &isr);
	if (e->kind == ENV_PCI_MSIX)
		assert_int_equal(vec, 0);
	else
		assert_int_equal(isr, VDRIVER_ISR_CONFIG);
}

static void test_config_space_access(void **state)
{
	struct env *e = *state;
	const struct vdriver_bus *b = e->drv.bus;
	for (unsigned len = 1; len <= 8; len *= 2)
		for (uint32_t off = 0; off + len <= 8; off++) {
			uint64_t want = 0;
			for (unsigned i = 0; i < len; i++)
				want |= (uint64_t)(0x10 + off + i) << (8 * i);
			assert_true(b->config_read(&e->drv, off, len) == want);
		}
	/* Past the end, straddling it, odd widths: 0. */
	assert_true(b->config_read(&e->drv, 15, 2) == 0);
	assert_true(b->config_read(&e->drv, 16, 1) == 0);
	assert_true(b->config_read(&e->drv, 0x200, 4) == 0);
	assert_true(b->config_read(&e->drv, 12, 8) == 0);
	b->config_write(&e->drv, 8, 4, 0xa1b2c3d4);
	assert_true(b->config_read(&e->drv, 8, 4) == 0xa1b2c3d4);
	b->config_write(&e->drv, 14, 4, 0xffffffff);   /* straddles: ignored */
	assert_int_equal(e->dev.config[14], 0);
	b->config_write(&e->drv, 0, 1, 0xff);           /* read-only byte */
	assert_int_equal(e->dev.config[0], 0x10);
}

static void test_needs_reset_on_refused_activate(void **state)
{
	struct env *e = *state;
	e->dev.activate_rc = -1;
	assert_int_equal(env_start(e, 0), 0);
	assert_int_equal(status(e), S_ACK | S_DRV | S_FO | S_DOK | S_NR);
	uint32_t isr;
	int vec = take_interrupt(e, &isr);
	if (e->kind == ENV_PCI_MSIX)
		assert_int_equal(vec, 0);
	else
		assert_int_equal(isr, VDRIVER_ISR_CONFIG);
	e->drv.bus->kick(&e->drv, 0);
	assert_int_equal(e->dev.notifies[0], 0);
	/* A driver write without the device's bit does not clear it. */
	set_status(e, S_ACK | S_DRV | S_FO | S_DOK | VIRTIO_STATUS_FAILED);
	assert_true(status(e) & S_NR);
	vdriver_reset(&e->drv);
	assert_int_equal(status(e), 0);
	e->dev.activate_rc = 0;
	assert_int_equal(env_start(e, 0), 0);
	assert_int_equal(status(e), S_ACK | S_DRV | S_FO | S_DOK);
}

static void test_needs_reset_from_device(void **state)
{
	struct env *e = *state;
	assert_int_equal(env_start(e, 0), 0);
	vdev_needs_reset(&e->dev.vd, "broken ring");
	assert_true(status(e) & S_NR);
	uint32_t isr;
	assert_true(take_interrupt(e, &isr) >= 0);
	if (e->kind != ENV_PCI_MSIX)
		assert_int_equal(isr, VDRIVER_ISR_CONFIG);
}

#define ALL(f)                                                                  \
	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&kinds[0]), \
	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&kinds[1]), \
	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&kinds[2])

int main(void)
{
	const struct CMUnitTest tests[] = {
		ALL(test_probe_and_offer),
		ALL(test_full_init),
		ALL(test_unoffered_feature_refused),
		ALL(test_unoffered_high_word_refused),
		ALL(test_feature_word_2_ignored),
		ALL(test_version1_required),
		ALL(test_features_frozen_after_features_ok),
		ALL(test_status_order_enforced),
		ALL(test_reset_in_every_state),
		ALL(test_queue_enable_rules),
		ALL(test_packed_any_size),
		ALL(test_kick_rules),
		ALL(test_used_buffer_interrupt_split),
		ALL(test_used_buffer_interrupt_packed),
		ALL(test_config_change_interrupt),
		ALL(test_config_space_access),
		ALL(test_needs_reset_on_refused_activate),
		ALL(test_needs_reset_from_device),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
