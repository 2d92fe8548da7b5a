/* Shared by the simulator tests that drive a virtio-blk disk through the
 * guest-driver library (test_trace_replay.c, test_replay_hostfiles.c):
 * the driver brought up on the disk, one 512-byte request waited for on
 * virtual time, status checked.
 * static inline helpers only; include after <cmocka.h>. */
#ifndef VMM_TESTS_VBLK_FIXTURE_H
#define VMM_TESTS_VBLK_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "core/gm.h"
#include "core/layout.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/virtio.h"
#include "sim/sim.h"
#include "sim/vdriver.h"

/* The layout's first device (a virtio-mmio disk) driven as Linux's
 * virtio_mmio probe does: VERSION_1 only, queue 0 of 16 entries, DRIVER_OK. */
static inline void vblkfx_mmio_start(struct sim *s, const struct layout *l,
				     struct vdriver *d, struct vdq *vq)
{
	const struct layout_dev *ld = layout_dev_for(l, 0);
	assert_non_null(ld);
	memset(d, 0, sizeof(*d));
	assert_int_equal(vdriver_mmio_probe(d, s, ld->mmio_base, ld->gsi), 0);
	assert_int_equal(vdriver_negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	assert_int_equal(vdriver_setup_queue(d, 0, vq, 16), 0);
	vdriver_driver_ok(d);
}

/* One VIRTIO_BLK_T_IN/OUT of `sector` to/from guest-physical `buf`
 * (512 bytes) on queue 0; fails the test unless it completes with
 * VIRTIO_BLK_S_OK within 100 virtual milliseconds. */
static inline void vblkfx_req(struct sim *s, struct vdriver *d,
			      struct vdq *vq, uint32_t type, uint64_t sector,
			      uint64_t buf)
{
	const struct gm *gm = s->m.gm;
	uint64_t hdr = vdriver_alloc(d, 16, 16), st = vdriver_alloc(d, 1, 1);
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };
	gm_write(gm, hdr, &h, sizeof(h));
	gm_write_u8(gm, st, 0xff);
	bool in = type == VIRTIO_BLK_T_IN;
	struct vdq_buf bufs[3] = {
		{ hdr, sizeof(h), false }, { buf, 512, in }, { st, 1, true },
	};
	assert_true(vdq_add(vq, bufs, 3, false) >= 0);
	vdq_publish(vq);
	vdriver_kick(d, 0, vq);
	uint16_t id;
	uint32_t len;
	int got = 0;
	for (int i = 0; i < 100 && got == 0; i++) {
		got = vdq_get_used(vq, &id, &len);
		if (!got)
			sim_clock_step(s, 1000000);
	}
	assert_int_equal(got, 1);
	uint8_t status = 0xff;
	gm_read_u8(gm, st, &status);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
}

#endif
