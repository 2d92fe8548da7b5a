/* virtio-mmio register map details (virtio 1.2 §4.2.2): identification,
 * access widths, read-only and write-only registers, QueueReady,
 * InterruptStatus/InterruptACK with the level line.  The state machine
 * itself is covered on both transports by test_virtio_transport. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/virtio_mmio.h>
#include "vdev_dummy.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)

static int setup(void **state)
{
	*state = env_new(ENV_MMIO);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	env_free(*state);
	return 0;
}

static uint64_t r(struct env *e, uint32_t off, unsigned len)
{
	return sim_mmio_read(e->s, LAYOUT_VIRTIO_MMIO_BASE + off, len);
}

static void w(struct env *e, uint32_t off, unsigned len, uint64_t v)
{
	sim_mmio_write(e->s, LAYOUT_VIRTIO_MMIO_BASE + off, len, v);
}

static void to_features_ok(struct env *e)
{
	assert_int_equal(vdriver_negotiate(&e->drv, V1), 0);
}

static void test_identification(void **state)
{
	struct env *e = *state;
	assert_int_equal(r(e, VIRTIO_MMIO_MAGIC_VALUE, 4), 0x74726976);
	assert_int_equal(r(e, VIRTIO_MMIO_VERSION, 4), 2);
	assert_int_equal(r(e, VIRTIO_MMIO_DEVICE_ID, 4), DUMMY_ID);
	assert_int_equal(r(e, VIRTIO_MMIO_VENDOR_ID, 4), VIRTIO_MMIO_VENDOR);
	assert_ptr_equal(virtio_mmio_vdev(e->mmio), &e->dev.vd);
}

static void test_bad_widths_and_offsets(void **state)
{
	struct env *e = *state;
	/* Every register offset with every width but 4: reads 0. */
	for (uint32_t off = 0; off < VIRTIO_MMIO_CONFIG; off++)
		for (unsigned len = 1; len <= 8; len *= 2) {
			if (len == 4 && !(off & 3))
				continue;
			if (off + len > VIRTIO_MMIO_CONFIG)
				continue;
			assert_true(r(e, off, len) == 0);
		}
	/* ...and writes of the wrong width do nothing. */
	w(e, VIRTIO_MMIO_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	w(e, VIRTIO_MMIO_STATUS, 2, VIRTIO_STATUS_ACKNOWLEDGE);
	w(e, VIRTIO_MMIO_STATUS + 1, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	w(e, VIRTIO_MMIO_STATUS, 8, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(r(e, VIRTIO_MMIO_STATUS, 4), 0);
	/* Config space far past the device's 16 bytes. */
	assert_true(r(e, 0xff8, 8) == 0);
	w(e, 0xff8, 8, ~0ull);
}

static void test_write_only_read_zero(void **state)
{
	struct env *e = *state;
	static const uint32_t regs[] = {
		VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES,
		VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_MMIO_QUEUE_SEL,
		VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_NOTIFY,
		VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_QUEUE_DESC_LOW,
		VIRTIO_MMIO_QUEUE_DESC_HIGH, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
		VIRTIO_MMIO_QUEUE_USED_HIGH, VIRTIO_MMIO_SHM_SEL,
		/* Legacy (version 1) registers do not exist in version 2. */
		VIRTIO_MMIO_GUEST_PAGE_SIZE, VIRTIO_MMIO_QUEUE_ALIGN,
		VIRTIO_MMIO_QUEUE_PFN, 0x0f0,
	};
	for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		w(e, regs[i], 4, 0x1234);
		if (regs[i] == VIRTIO_MMIO_QUEUE_SEL)
			w(e, regs[i], 4, 0);
		assert_int_equal(r(e, regs[i], 4), 0);
	}
}

static void test_read_only_ignore_writes(void **state)
{
	struct env *e = *state;
	static const uint32_t regs[] = {
		VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION, VIRTIO_MMIO_DEVICE_ID,
		VIRTIO_MMIO_VENDOR_ID, VIRTIO_MMIO_DEVICE_FEATURES,
		VIRTIO_MMIO_QUEUE_NUM_MAX, VIRTIO_MMIO_INTERRUPT_STATUS,
		VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_SHM_LEN_LOW,
	};
	for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		uint64_t before = r(e, regs[i], 4);
		w(e, regs[i], 4, 0xdeadbeef);
		assert_true(r(e, regs[i], 4) == before);
	}
}

static void test_shared_memory_absent(void **state)
{
	struct env *e = *state;
	w(e, VIRTIO_MMIO_SHM_SEL, 4, 0);
	assert_int_equal(r(e, VIRTIO_MMIO_SHM_LEN_LOW, 4), 0xffffffff);
	assert_int_equal(r(e, VIRTIO_MMIO_SHM_LEN_HIGH, 4), 0xffffffff);
	assert_int_equal(r(e, VIRTIO_MMIO_SHM_BASE_LOW, 4), 0xffffffff);
	assert_int_equal(r(e, VIRTIO_MMIO_SHM_BASE_HIGH, 4), 0xffffffff);
}

static void test_queue_registers(void **state)
{
	struct env *e = *state;
	to_features_ok(e);
	w(e, VIRTIO_MMIO_QUEUE_SEL, 4, 1);
	assert_int_equal(r(e, VIRTIO_MMIO_QUEUE_NUM_MAX, 4), DUMMY_QMAX);
	w(e, VIRTIO_MMIO_QUEUE_NUM, 4, 8);
	w(e, VIRTIO_MMIO_QUEUE_DESC_LOW, 4, 0x20000);
	w(e, VIRTIO_MMIO_QUEUE_DESC_HIGH, 4, 0);
	w(e, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 4, 0x21000);
	w(e, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 4, 0);
	w(e, VIRTIO_MMIO_QUEUE_USED_LOW, 4, 0x22000);
	w(e, VIRTIO_MMIO_QUEUE_USED_HIGH, 4, 0);
	w(e, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	assert_int_equal(r(e, VIRTIO_MMIO_QUEUE_READY, 4), 1);
	struct vq *vq = &e->dev.vd.vqs[1];
	assert_true(vq->cfg.desc == 0x20000 && vq->cfg.driver == 0x21000 &&
		    vq->cfg.device == 0x22000 && vq->cfg.size == 8);
	/* While ready, the queue's registers are frozen. */
	w(e, VIRTIO_MMIO_QUEUE_DESC_LOW, 4, 0x30000);
	w(e, VIRTIO_MMIO_QUEUE_NUM, 4, 4);
	/* QueueReady=0 disables it (Linux's vm_del_vq) and unfreezes them. */
	w(e, VIRTIO_MMIO_QUEUE_READY, 4, 0);
	assert_int_equal(r(e, VIRTIO_MMIO_QUEUE_READY, 4), 0);
	w(e, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	assert_true(e->dev.vd.vqs[1].cfg.desc == 0x20000);
	assert_true(e->dev.vd.vqs[1].cfg.size == 8);
	/* A high address half outside RAM is refused at enable. */
	w(e, VIRTIO_MMIO_QUEUE_READY, 4, 0);
	w(e, VIRTIO_MMIO_QUEUE_DESC_HIGH, 4, 1);
	w(e, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	assert_int_equal(r(e, VIRTIO_MMIO_QUEUE_READY, 4), 0);
	/* An absurd QueueNum is refused too. */
	w(e, VIRTIO_MMIO_QUEUE_DESC_HIGH, 4, 0);
	w(e, VIRTIO_MMIO_QUEUE_NUM, 4, 0x10008);
	w(e, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	assert_int_equal(r(e, VIRTIO_MMIO_QUEUE_READY, 4), 0);
	/* Nonexistent queue: max 0, writes dropped, ready stays 0. */
	w(e, VIRTIO_MMIO_QUEUE_SEL, 4, 9);
	assert_int_equal(r(e, VIRTIO_MMIO_QUEUE_NUM_MAX, 4), 0);
	w(e, VIRTIO_MMIO_QUEUE_NUM, 4, 8);
	w(e, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	assert_int_equal(r(e, VIRTIO_MMIO_QUEUE_READY, 4), 0);
	w(e, VIRTIO_MMIO_QUEUE_SEL, 4, 0xffffffff);
	assert_int_equal(r(e, VIRTIO_MMIO_QUEUE_READY, 4), 0);
}

static void test_interrupt_ack_partial(void **state)
{
	struct env *e = *state;
	assert_int_equal(env_start(e, 0), 0);
	const struct vdev_transport_ops *t = e->dev.vd.tops;
	t->notify_queue(e->dev.vd.transport, 0);
	t->notify_config(e->dev.vd.transport);
	assert_int_equal(r(e, VIRTIO_MMIO_INTERRUPT_STATUS, 4), 3);
	assert_int_equal(virtio_mmio_isr(e->mmio), 3);
	assert_int_equal(e->s->gsi_level[DUMMY_MMIO_GSI], 1);
	uint64_t edges = e->s->gsi_edges[DUMMY_MMIO_GSI];
	w(e, VIRTIO_MMIO_INTERRUPT_ACK, 4, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(r(e, VIRTIO_MMIO_INTERRUPT_STATUS, 4), 2);
	assert_int_equal(e->s->gsi_level[DUMMY_MMIO_GSI], 1);  /* still high */
	w(e, VIRTIO_MMIO_INTERRUPT_ACK, 4, 0xfffffffc);         /* no such bits */
	assert_int_equal(e->s->gsi_level[DUMMY_MMIO_GSI], 1);
	w(e, VIRTIO_MMIO_INTERRUPT_ACK, 4, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(e->s->gsi_level[DUMMY_MMIO_GSI], 0);
	/* A second notification while high would not be a new edge; after
	 * the ack it is. */
	t->notify_queue(e->dev.vd.transport, 1);
	assert_int_equal(e->s->gsi_edges[DUMMY_MMIO_GSI], edges + 1);
}

static void test_reset_clears_selectors(void **state)
{
	struct env *e = *state;
	w(e, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 4, 1);
	assert_int_equal(r(e, VIRTIO_MMIO_DEVICE_FEATURES, 4),
			 (uint32_t)(vdev_offered_features(&e->dev.vd) >> 32));
	w(e, VIRTIO_MMIO_STATUS, 4, 0);
	assert_int_equal(r(e, VIRTIO_MMIO_DEVICE_FEATURES, 4),
			 (uint32_t)vdev_offered_features(&e->dev.vd));
}

static void test_two_devices_coexist(void **state)
{
	struct env *e = *state;
	/* A second machine with its own device: no shared state. */
	struct env *e2 = env_new(ENV_MMIO);
	assert_non_null(e2);
	w(e, VIRTIO_MMIO_STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(sim_mmio_read(e2->s, LAYOUT_VIRTIO_MMIO_BASE +
				       VIRTIO_MMIO_STATUS, 4), 0);
	env_free(e2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_identification),
		T(test_bad_widths_and_offsets),
		T(test_write_only_read_zero),
		T(test_read_only_ignore_writes),
		T(test_shared_memory_absent),
		T(test_queue_registers),
		T(test_interrupt_ack_partial),
		T(test_reset_clears_selectors),
		T(test_two_devices_coexist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
