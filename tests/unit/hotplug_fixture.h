/* Shared by the simulator hot-plug tests (test_hotplug_sim.c,
 * test_shpc_sim.c, test_board_qmp.c): the sim guest driver binds the
 * virtio-blk function a hot-plug put at bus:slot.0, reads sector 0 into
 * got (16 bytes and a NUL), and lets go of the function again, as a
 * driver does before its slot goes dark.  static inline helpers only. */
#ifndef VMM_TESTS_HOTPLUG_FIXTURE_H
#define VMM_TESTS_HOTPLUG_FIXTURE_H

#include "core/gm.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/virtio.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "sim/vdriver_queue.h"

static inline void hpfx_read_sector0(struct sim *s, unsigned bus, unsigned slot,
				     char *got)
{
	struct vdriver drv;
	assert_int_equal(vdriver_pci_probe_bus(&drv, s, bus, slot, 0, false), 0);
	assert_int_equal(vdriver_pci_virtio_id(&drv), VIRTIO_ID_BLOCK);
	vdriver_set_memory(&drv, 0x100000, 0x100000);
	assert_int_equal(vdriver_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	struct vdq vq;
	assert_int_equal(vdriver_setup_queue(&drv, 0, &vq, 8), 0);
	vdriver_driver_ok(&drv);
	uint64_t hdr = vdriver_alloc(&drv, 16, 16), data = vdriver_alloc(&drv, 512, 16),
		 st = vdriver_alloc(&drv, 1, 1);
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 0 };
	gm_write(s->m.gm, hdr, &h, sizeof(h));
	struct vdq_buf bufs[3] = { { hdr, sizeof(h), false }, { data, 512, true }, { st, 1, true } };
	assert_true(vdq_add(&vq, bufs, 3, false) >= 0);
	vdq_publish(&vq);
	vdriver_kick(&drv, 0, &vq);
	uint16_t id;
	uint32_t len;
	int r = 0;
	for (int i = 0; i < 1000 && (r = vdq_get_used(&vq, &id, &len)) == 0; i++) {
		uint64_t next = sim_next_deadline(s);
		if (next == UINT64_MAX)
			break;
		sim_clock_step(s, next > s->now_ns ? next - s->now_ns : 0);
	}
	assert_int_equal(r, 1);
	uint8_t status = 0xff;
	assert_int_equal(gm_read_u8(s->m.gm, st, &status), 0);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	assert_int_equal(gm_read(s->m.gm, data, got, 16), 0);
	got[16] = '\0';
	vdriver_reset(&drv);
}

#endif
