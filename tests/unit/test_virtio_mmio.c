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
#include <stdio.h>
#include "fuzz/fuzz_virtio_mmio.h"
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

/* The driver sets QueueReady for the selected queue (virtio 1.2 §4.2.3.2
 * virtqueue configuration); a queue the device cannot use reads back 0. */
static void expect_enable_refused(struct env *e)
{
	w(e, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	assert_int_equal(r(e, VIRTIO_MMIO_QUEUE_READY, 4), 0);
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
	expect_enable_refused(e);
	/* An absurd QueueNum is refused too. */
	w(e, VIRTIO_MMIO_QUEUE_DESC_HIGH, 4, 0);
	w(e, VIRTIO_MMIO_QUEUE_NUM, 4, 0x10008);
	expect_enable_refused(e);
	/* Nonexistent queue: max 0, writes dropped, ready stays 0. */
	w(e, VIRTIO_MMIO_QUEUE_SEL, 4, 9);
	assert_int_equal(r(e, VIRTIO_MMIO_QUEUE_NUM_MAX, 4), 0);
	w(e, VIRTIO_MMIO_QUEUE_NUM, 4, 8);
	expect_enable_refused(e);
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

/* The guest-driver library's allocator (sim/vdriver.c) hands out its
 * whole area and not a byte more: rings and buffers the tests place must
 * lie inside the memory they were given. */
static void test_vdriver_alloc_bounds(void **state)
{
	struct env *e = *state;
	vdriver_set_memory(&e->drv, 0x200000, 4096);
	assert_int_equal(vdriver_alloc(&e->drv, 4097, 16), 0);
	assert_int_equal(vdriver_alloc(&e->drv, 4096, 16), 0x200000);
	assert_int_equal(vdriver_alloc(&e->drv, 1, 1), 0);
	vdriver_set_memory(&e->drv, 0x200000, 4096);
	assert_int_equal(vdriver_alloc(&e->drv, 100, 16), 0x200000);
	assert_int_equal(vdriver_alloc(&e->drv, 4096 - 112, 16), 0x200070);
	assert_int_equal(vdriver_alloc(&e->drv, 1, 1), 0);
}

/* A guest hammering bad accesses gets a few log lines, not thousands. */
static void test_guest_errors_rate_limited(void **state)
{
	(void)state;
	struct sim *s = sim_new(NULL);
	struct log *log = log_new_memory(LOG_DEBUG);
	struct dummy d;
	dummy_init(&d, s->m.gm);
	struct virtio_mmio *m = virtio_mmio_new(s->m.gm, log,
						irq_line(s->m.irqchip, 5), &d.vd);
	for (unsigned i = 0; i < 5000; i++) {
		uint16_t v = 1;
		virtio_mmio_access(m, VIRTIO_MMIO_STATUS, &v, 2, true);
	}
	const char *text = log_memory_text(log);
	assert_non_null(text);
	assert_non_null(strstr(text, "2-byte access at 0x70"));
	unsigned lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	assert_true(lines >= 8 && lines <= 16);
	assert_int_equal(d.vd.status, 0);
	virtio_mmio_free(m);
	log_free(log);
	sim_free(s);
}

/* ---- seed corpus for fuzz/fuzz_virtio_mmio.c ----
 * Real driver scenarios recorded from the sim event log into the fuzzer's
 * record format (ring memory first, as pokes), replayed through the
 * fuzzer's own code and checked to reach what they were written for. */
#define SEED_MEM_BASE 0x10000u
#define SEED_MEM_SIZE 0x60000u

struct seed {
	uint8_t *bytes;
	size_t len, cap;
};

static void seed_rec(struct seed *sd, uint8_t kind, uint8_t len, uint16_t off,
		     uint64_t val)
{
	if (sd->len + FMMIO_REC > sd->cap) {
		sd->cap = sd->cap ? sd->cap * 2 : 4096;
		sd->bytes = realloc(sd->bytes, sd->cap);
		assert_non_null(sd->bytes);
	}
	fmmio_put(sd->bytes + sd->len, kind, len, off, val);
	sd->len += FMMIO_REC;
}

static uint8_t len_code(unsigned len)
{
	return len == 1 ? 0 : len == 2 ? 1 : len == 4 ? 2 : 3;
}

/* mem: the driver's memory as it was when the device first looked at it
 * (before the first kick), SEED_MEM_SIZE bytes from SEED_MEM_BASE. */
static void seed_from_env(struct seed *sd, struct env *e, const uint8_t *mem)
{
	/* Ring memory, 8 bytes per poke, skipping zeros. */
	for (uint32_t o = 0; o < SEED_MEM_SIZE; o += 8) {
		uint64_t v;
		memcpy(&v, mem + o, 8);
		if (v)
			seed_rec(sd, FMMIO_POKE, 8, (uint16_t)((SEED_MEM_BASE + o) / 8), v);
	}
	size_t n = sim_event_count(e->s);
	const struct sim_event *ev = sim_events(e->s);
	for (size_t i = 0; i < n; i++) {
		if (ev[i].kind != SIM_EV_MMIO || ev[i].addr < FMMIO_BASE ||
		    ev[i].addr >= FMMIO_BASE + VIRTIO_MMIO_WINDOW)
			continue;
		seed_rec(sd, ev[i].is_write ? FMMIO_WRITE : FMMIO_READ,
			 len_code(ev[i].len_or_level),
			 (uint16_t)(ev[i].addr - FMMIO_BASE), ev[i].data);
	}
}

static void seed_write(const struct seed *sd, const char *name)
{
	const char *dir = getenv("VMM_WRITE_SEEDS_MMIO");
	if (!dir)
		return;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(sd->bytes, 1, sd->len, fp), sd->len);
	fclose(fp);
}

static struct env *seed_env(void)
{
	struct env *e = env_new_rec(ENV_MMIO, true);
	assert_non_null(e);
	vdriver_set_memory(&e->drv, SEED_MEM_BASE, SEED_MEM_SIZE);
	return e;
}

static void seed_roundtrip(uint64_t features, const char *name)
{
	struct env *e = seed_env();
	e->dev.complete_on_kick = true;
	assert_int_equal(vdriver_negotiate(&e->drv, V1 | features), 0);
	assert_int_equal(vdriver_setup_queue(&e->drv, 0, &e->vq[0], 8), 0);
	assert_int_equal(vdriver_setup_queue(&e->drv, 1, &e->vq[1], 8), 0);
	vdriver_driver_ok(&e->drv);
	uint64_t buf = vdriver_alloc(&e->drv, 256, 16);
	struct vdq_buf b[3] = { { buf, 16, false }, { buf + 64, 32, true },
				{ buf + 128, 8, true } };
	assert_true(vdq_add(&e->vq[0], b, 2, false) >= 0);
	assert_true(vdq_add(&e->vq[0], b, 3, true) >= 0);
	vdq_publish(&e->vq[0]);
	uint8_t *mem = malloc(SEED_MEM_SIZE);
	assert_int_equal(gm_read(e->s->m.gm, SEED_MEM_BASE, mem, SEED_MEM_SIZE), 0);
	e->drv.bus->kick(&e->drv, 0);
	e->drv.bus->isr_ack(&e->drv);
	(void)e->drv.bus->config_read(&e->drv, 0, 4);
	e->drv.bus->config_write(&e->drv, 8, 4, 0x1234);
	vdriver_reset(&e->drv);
	assert_int_equal(e->dev.completed, 2);
	struct seed sd = { 0 };
	seed_from_env(&sd, e, mem);
	free(mem);
	struct fmmio_stats st;
	assert_int_equal(fmmio_run(sd.bytes, sd.len, &st), 0);
	assert_int_equal(st.activates, 1);
	assert_int_equal(st.completed, 2);
	assert_int_equal(st.resets, 2);  /* negotiation's and the last one */
	seed_write(&sd, name);
	free(sd.bytes);
	env_free(e);
}

static void test_seed_split(void **state)
{
	(void)state;
	seed_roundtrip(VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
		       VIRTIO_BIT(VIRTIO_F_EVENT_IDX), "split-roundtrip");
}

static void test_seed_packed(void **state)
{
	(void)state;
	seed_roundtrip(VIRTIO_BIT(VIRTIO_F_RING_PACKED) |
		       VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC), "packed-roundtrip");
}

/* A hostile driver: out-of-order status, unoffered features, bad queue
 * programming, odd widths; plus device-side events. */
static void test_seed_hostile(void **state)
{
	(void)state;
	struct env *e = seed_env();
	w(e, VIRTIO_MMIO_STATUS, 4, VIRTIO_STATUS_DRIVER_OK);
	w(e, VIRTIO_MMIO_STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	w(e, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 1);
	w(e, VIRTIO_MMIO_DRIVER_FEATURES, 4, 0xffffffff);
	w(e, VIRTIO_MMIO_STATUS, 4, 0x0b);
	w(e, VIRTIO_MMIO_DRIVER_FEATURES, 4, 1);
	w(e, VIRTIO_MMIO_STATUS, 4, 0x0b);
	w(e, VIRTIO_MMIO_QUEUE_SEL, 4, 0);
	w(e, VIRTIO_MMIO_QUEUE_NUM, 4, 3);
	w(e, VIRTIO_MMIO_QUEUE_DESC_HIGH, 4, 0xffffffff);
	w(e, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	w(e, VIRTIO_MMIO_STATUS, 2, 0x0f);
	(void)r(e, VIRTIO_MMIO_QUEUE_READY + 1, 4);
	w(e, VIRTIO_MMIO_STATUS, 4, 0x0f);
	w(e, VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0);
	w(e, VIRTIO_MMIO_INTERRUPT_ACK, 4, 3);
	w(e, VIRTIO_MMIO_STATUS, 4, 0);
	struct seed sd = { 0 };
	uint8_t *mem = calloc(1, SEED_MEM_SIZE);
	seed_from_env(&sd, e, mem);
	free(mem);
	seed_rec(&sd, FMMIO_DEVICE, 1, 0, 0);
	seed_rec(&sd, FMMIO_DEVICE, 2, 0, 0);
	seed_rec(&sd, FMMIO_DEVICE, 0, 7, 0);
	struct fmmio_stats st;
	assert_int_equal(fmmio_run(sd.bytes, sd.len, &st), 0);
	assert_int_equal(st.records, sd.len / FMMIO_REC);
	assert_int_equal(st.status_seen & 0x0f, 0x0f);  /* got to DRIVER_OK */
	seed_write(&sd, "hostile");
	/* Truncated input: the tail record is ignored. */
	assert_int_equal(fmmio_run(sd.bytes, FMMIO_REC + 3, &st), 0);
	assert_int_equal(st.records, 1);
	free(sd.bytes);
	env_free(e);
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
		T(test_vdriver_alloc_bounds),
		cmocka_unit_test(test_guest_errors_rate_limited),
		cmocka_unit_test(test_seed_split),
		cmocka_unit_test(test_seed_packed),
		cmocka_unit_test(test_seed_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
