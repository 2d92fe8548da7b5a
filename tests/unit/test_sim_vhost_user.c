/* The vhost-user device models in the simulator (issue 16): the same
 * vhost-user-blk and vhost-user-fs code the KVM machine runs, on
 * virtio-mmio, driven by the sim guest driver over the sim's buses,
 * against the fake backend (vhost_fake.h) over a real socketpair.  The
 * driver's kick reaches the backend's kick eventfd, the backend's call
 * interrupts the driver, and a backend that goes away leaves the
 * simulator running with the device DEVICE_NEEDS_RESET and a config
 * interrupt. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdlib.h>
#include "core/bus.h"
#include "core/gm.h"
#include "core/irq.h"
#include "core/log.h"
#include "core/vhost_user.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/vhost_user_dev.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "vhost_fake.h"

#define MMIO_BASE 0xd0000000ull
#define GSI 5

struct sfx {
	struct fake_be be;
	struct sim *s;
	struct log *log;
	struct vhud *dev;
	struct virtio_mmio *t;
	struct vdriver d;
};

static void sfx_start(struct sfx *x, enum vhud_kind kind)
{
	char err[256];
	int front = -1;
	memset(x, 0, sizeof(*x));
	x->log = log_new_memory(LOG_INFO);
	struct sim_config sc = { .ram_size = 16u << 20, .log = x->log, .ram_shared = true };
	x->s = sim_new(&sc);
	assert_non_null(x->s);
	assert_int_equal(fake_start(&x->be, FAKE_GOOD, &front), 0);
	struct vhu *c = vhu_new_fd(front, "sim", x->log);
	assert_non_null(c);
	vhu_set_timeout(c, 1000);
	assert_int_equal(vhu_handshake(c), 0);
	struct vhud_cfg vc = { .kind = kind, .id = "vhu", .queues = 1, .tag = "simfs" };
	x->dev = vhud_new(x->s->m.gm, x->log, c, &vc, err, sizeof(err));
	assert_non_null(x->dev);
	struct vhu_handlers h;
	vhud_handlers(x->dev, &h);
	assert_int_equal(vhu_attach(c, NULL, &h), 0);
	x->t = virtio_mmio_new(x->s->m.gm, x->log, irq_line(x->s->m.irqchip, GSI),
			       vhud_vdev(x->dev));
	assert_non_null(x->t);
	assert_int_equal(bus_register(x->s->m.mmio, MMIO_BASE, 0x200, virtio_mmio_access,
				      x->t, "vhost-user"), 0);
	assert_int_equal(vdriver_mmio_probe(&x->d, x->s, MMIO_BASE, GSI), 0);
}

static void run(enum vhud_kind kind, uint32_t device_id, unsigned q)
{
	struct sfx x;
	struct vdq vq;
	sfx_start(&x, kind);
	assert_int_equal(x.d.bus->device_id(&x.d), device_id);
	assert_int_equal(vdriver_negotiate(&x.d, 1ull << 32), 0);
	assert_int_equal(vdriver_setup_queue(&x.d, q, &vq, 16), 0);
	vdriver_driver_ok(&x.d);
	/* DRIVER_OK handed the ring to the backend through shared RAM. */
	assert_int_equal(x.be.memtable_fds, 1);
	assert_int_equal(x.be.vring_num[q], 16);
	assert_false(x.d.bus->get_status(&x.d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* Guest kick -> backend's kick eventfd. */
	x.d.bus->kick(&x.d, q);
	struct pollfd p = { x.be.kick_fd[q], POLLIN, 0 };
	assert_int_equal(poll(&p, 1, 2000), 1);
	/* Backend call -> the driver's interrupt. */
	uint64_t one = 1;
	assert_int_equal(write(x.be.call_fd[q], &one, 8), 8);
	vhu_poll(vhud_conn(x.dev));
	assert_true(x.d.bus->irq_pending(&x.d));
	assert_true(x.d.bus->isr_ack(&x.d) & VDRIVER_ISR_QUEUE);
	/* The backend goes away mid-I/O. */
	fake_stop(&x.be);
	memset(&x.be, 0, sizeof(x.be));
	for (unsigned i = 0; i < 16; i++)
		x.be.kick_fd[i] = x.be.call_fd[i] = -1;
	x.be.fd = -1;
	x.be.stop_pipe[0] = x.be.stop_pipe[1] = -1;
	vhu_poll(vhud_conn(x.dev));
	assert_true(x.d.bus->get_status(&x.d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_true(x.d.bus->isr_ack(&x.d) & VDRIVER_ISR_CONFIG);
	/* The driver resets; the simulator and device carry on. */
	vdriver_reset(&x.d);
	assert_int_equal(x.d.bus->get_status(&x.d), 0);
	sim_free(x.s);
	virtio_mmio_free(x.t);
	vhud_free(x.dev);
	log_free(x.log);
}

static void test_sim_blk(void **s) { (void)s; run(VHUD_BLK, VIRTIO_ID_BLOCK, 0); }
static void test_sim_fs(void **s) { (void)s; run(VHUD_FS, VIRTIO_ID_FS, 1); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_blk),
		cmocka_unit_test(test_sim_fs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
