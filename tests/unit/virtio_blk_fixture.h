/* Shared by the virtio-blk device tests (test_virtio_blk*.c): a 1 MiB
 * disk (in memory, or a given backend) on one of the transports
 * VFX_TESTS runs a test on, with the sim guest driver started, and
 * one request with a single data buffer and a status byte, waited for.
 * (vblk_fixture.h is the replay tests' disk.)  static inline helpers
 * only; include after <cmocka.h>. */
#ifndef VMM_TESTS_VIRTIO_BLK_FIXTURE_H
#define VMM_TESTS_VIRTIO_BLK_FIXTURE_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "core/blockdev.h"
#include "devices/virtio/blk.h"
#include "vdev_fixture.h"

#define DISK (1u << 20) /* 2048 sectors */
#define QSZ 64u

struct bt {
	struct vfx *f;
	struct blockdev *bd;
	struct vblk *b;
	uint32_t last_len;
	unsigned out; /* run_load: requests in flight */
};

static inline struct bt *bt_new_bd(enum vfx_kind k, struct blockdev *bd, uint64_t iops,
			    uint64_t want)
{
	struct bt *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = vfx_new(k);
	t->bd = bd;
	struct vblk_config c = {
		.gm = vfx_gm(t->f), .log = t->f->log, .clk = vfx_clk(t->f),
		.bd = bd, .serial = "vblk-serial-0123", .iops_total = iops,
	};
	t->b = vblk_new(&c);
	assert_non_null(t->b);
	vfx_attach(t->f, vblk_vdev(t->b));
	vfx_start(t->f, want, 1, QSZ);
	return t;
}

static inline struct bt *bt_new(enum vfx_kind k, bool ro, uint64_t iops, uint64_t want)
{
	struct blockdev *bd = blockdev_mem_new("d0", DISK, ro);
	assert_non_null(bd);
	for (unsigned i = 0; i < DISK; i++)
		blockdev_mem_data(bd)[i] = (uint8_t)(i * 7 + i / 512);
	return bt_new_bd(k, bd, iops, want);
}

static inline void bt_free(struct bt *t)
{
	vfx_detach(t->f);
	vblk_free(t->b);
	vfx_free(t->f);
	blockdev_close(t->bd);
	free(t);
}

static inline uint64_t hdr_at(struct bt *t, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { htole32(type), 0, htole64(sector) };
	return vfx_put(t->f, &h, sizeof(h));
}

/* Wait for the one outstanding request; returns its used length. */
static inline uint32_t complete(struct bt *t)
{
	uint16_t id;
	uint32_t len;
	assert_int_equal(vfx_used(t->f, 0, &id, &len), 1);
	t->last_len = len;
	return len;
}

static inline uint8_t status_at(struct bt *t, uint64_t st)
{
	uint8_t s = 0xee;
	assert_int_equal(gm_read(vfx_gm(t->f), st, &s, 1), 0);
	return s;
}

/* A request with one data buffer (gpa, len) and a separate status byte. */
static inline uint8_t req(struct bt *t, uint32_t type, uint64_t sector, uint64_t data,
		   uint32_t len, bool data_writable)
{
	uint64_t st = vfx_alloc(t->f, 1);
	assert_int_equal(gm_write_u8(vfx_gm(t->f), st, 0xee), 0);
	struct vdq_buf b[3] = { { hdr_at(t, type, sector), 16, false } };
	unsigned n = 1;
	if (len)
		b[n++] = (struct vdq_buf){ data, len, data_writable };
	b[n++] = (struct vdq_buf){ st, 1, true };
	vfx_add(t->f, 0, b, n);
	complete(t);
	return status_at(t, st);
}

static inline enum vfx_kind kind(void **state)
{
	return (enum vfx_kind)(uintptr_t)*state;
}

#endif
