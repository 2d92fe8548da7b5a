/* virtio-blk through the sim guest driver on virtio-mmio and virtio-pci:
 * every request type, every feature, and every bad request the guest can
 * make (the device must answer or drop it and carry on).  The host side
 * (iops limit, file backend durability) is in test_virtio_blk_host.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include "virtio_blk_fixture.h"

static void test_config_and_features(void **state)
{
	struct bt *t = bt_new(kind(state), false, 0, ~0ull);
	uint64_t f = vdriver_device_features(&t->f->d);
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_blk_config, capacity), 8),
			 DISK / 512);
	/* Two 32-bit halves read separately give the same value. */
	assert_int_equal(vfx_cfg(t->f, 0, 4), DISK / 512);
	assert_int_equal(vfx_cfg(t->f, 4, 4), 0);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_blk_config, seg_max), 4),
			 QSZ == 64 ? 254 : 0);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_blk_config, size_max), 4),
			 VBLK_SIZE_MAX);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_blk_config, blk_size), 4),
			 512);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_blk_config,
						max_discard_seg), 4),
			 VBLK_MAX_DISCARD_SEG);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_blk_config,
						write_zeroes_may_unmap), 1), 1);
	/* Config writes are ignored. */
	t->f->d.bus->config_write(&t->f->d, 0, 4, 0x1234);
	assert_int_equal(vfx_cfg(t->f, 0, 4), DISK / 512);
	bt_free(t);
}

static void test_write_read_roundtrip(void **state)
{
	struct bt *t = bt_new(kind(state), false, 0, ~0ull);
	uint8_t buf[4096], back[4096];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	uint64_t w = vfx_put(t->f, buf, sizeof(buf));
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, 10, w, sizeof(buf), false),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(t->last_len, 1);
	assert_memory_equal(blockdev_mem_data(t->bd) + 10 * 512, buf, sizeof(buf));
	uint64_t r = vfx_alloc(t->f, sizeof(back));
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 10, r, sizeof(back), true),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(t->last_len, sizeof(back) + 1);
	assert_int_equal(gm_read(vfx_gm(t->f), r, back, sizeof(back)), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	assert_true(vfx_irq(t->f));
	assert_int_equal(vblk_get_stats(t->b)->ok, 2);
	bt_free(t);
}

static void test_scatter_gather(void **state)
{
	/* Data split over three descriptors, and the status byte sharing the
	 * last descriptor with data (it is the last writable byte). */
	struct bt *t = bt_new(kind(state), false, 0, ~0ull);
	uint64_t a = vfx_alloc(t->f, 512), b2 = vfx_alloc(t->f, 1024),
		 c = vfx_alloc(t->f, 513);
	struct vdq_buf b[4] = {
		{ hdr_at(t, VIRTIO_BLK_T_IN, 3), 16, false },
		{ a, 512, true }, { b2, 1024, true }, { c, 513, true },
	};
	vfx_add(t->f, 0, b, 4);
	assert_int_equal(complete(t), 2048 + 1);
	assert_int_equal(status_at(t, c + 512), VIRTIO_BLK_S_OK);
	uint8_t got[2048];
	assert_int_equal(gm_read(vfx_gm(t->f), a, got, 512), 0);
	assert_int_equal(gm_read(vfx_gm(t->f), b2, got + 512, 1024), 0);
	assert_int_equal(gm_read(vfx_gm(t->f), c, got + 1536, 512), 0);
	assert_memory_equal(got, blockdev_mem_data(t->bd) + 3 * 512, 2048);

	/* A write with the header and data in one readable descriptor. */
	uint8_t hd[16 + 512];
	struct virtio_blk_outhdr h = { htole32(VIRTIO_BLK_T_OUT), 0, htole64(7) };
	memcpy(hd, &h, 16);
	memset(hd + 16, 0xab, 512);
	uint64_t st = vfx_alloc(t->f, 1);
	struct vdq_buf w[2] = { { vfx_put(t->f, hd, sizeof(hd)), sizeof(hd), false },
				{ st, 1, true } };
	vfx_add(t->f, 0, w, 2);
	complete(t);
	assert_int_equal(status_at(t, st), VIRTIO_BLK_S_OK);
	assert_int_equal(blockdev_mem_data(t->bd)[7 * 512 + 100], 0xab);
	bt_free(t);
}

static void test_flush_and_get_id(void **state)
{
	struct bt *t = bt_new(kind(state), false, 0, ~0ull);
	assert_int_equal(req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), VIRTIO_BLK_S_OK);
	assert_int_equal(t->bd->nr_flush, 1);
	uint64_t id = vfx_alloc(t->f, 20);
	assert_int_equal(req(t, VIRTIO_BLK_T_GET_ID, 0, id, 20, true),
			 VIRTIO_BLK_S_OK);
	char s[21] = { 0 };
	assert_int_equal(gm_read(vfx_gm(t->f), id, s, 20), 0);
	assert_string_equal(s, "vblk-serial-0123");
	assert_int_equal(t->last_len, 21);
	/* A buffer shorter than 20 bytes gets what fits. */
	uint64_t id2 = vfx_alloc(t->f, 4);
	assert_int_equal(req(t, VIRTIO_BLK_T_GET_ID, 0, id2, 4, true),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(gm_read(vfx_gm(t->f), id2, s, 4), 0);
	assert_memory_equal(s, "vblk", 4);
	/* Unknown request type. */
	assert_int_equal(req(t, 99, 0, 0, 0, false), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(vblk_get_stats(t->b)->unsupp, 1);
	/* Backend failure on flush is an I/O error. */
	blockdev_mem_fail(t->bd, EIO);
	assert_int_equal(req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false),
			 VIRTIO_BLK_S_IOERR);
	bt_free(t);
}

static uint8_t dwz(struct bt *t, uint32_t type,
		   const struct virtio_blk_discard_write_zeroes *segs, unsigned n,
		   uint32_t extra)
{
	size_t len = n * sizeof(*segs) + extra;
	uint8_t *buf = calloc(1, len + 1);
	memcpy(buf, segs, n * sizeof(*segs));
	uint64_t d = vfx_put(t->f, buf, len);
	free(buf);
	return req(t, type, 0, d, (uint32_t)len, false);
}

static void test_discard_write_zeroes(void **state)
{
	struct bt *t = bt_new(kind(state), false, 0, ~0ull);
	uint8_t *disk = blockdev_mem_data(t->bd);
	struct virtio_blk_discard_write_zeroes s[2] = {
		{ htole64(4), htole32(2), 0 },
		{ htole64(100), htole32(1), htole32(VIRTIO_BLK_WZ_UNMAP) },
	};
	assert_int_equal(dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, s, 2, 0), VIRTIO_BLK_S_OK);
	static const uint8_t zero[1024];
	assert_memory_equal(disk + 4 * 512, zero, 1024);
	assert_memory_equal(disk + 100 * 512, zero, 512);
	assert_int_not_equal(disk[6 * 512 + 1], 0);
	/* Discard: no unmap flag allowed on it (§5.2.6.2). */
	struct virtio_blk_discard_write_zeroes d = { htole64(20), htole32(1), 0 };
	assert_int_equal(dwz(t, VIRTIO_BLK_T_DISCARD, &d, 1, 0), VIRTIO_BLK_S_OK);
	assert_memory_equal(disk + 20 * 512, zero, 512);
	d.flags = htole32(VIRTIO_BLK_WZ_UNMAP);
	assert_int_equal(dwz(t, VIRTIO_BLK_T_DISCARD, &d, 1, 0), VIRTIO_BLK_S_UNSUPP);
	/* Reserved flag bits. */
	d.flags = htole32(2);
	assert_int_equal(dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, &d, 1, 0),
			 VIRTIO_BLK_S_UNSUPP);
	/* Trailing partial segment, no segment at all, too many segments. */
	d.flags = 0;
	assert_int_equal(dwz(t, VIRTIO_BLK_T_DISCARD, &d, 1, 3), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(req(t, VIRTIO_BLK_T_DISCARD, 0, 0, 0, false),
			 VIRTIO_BLK_S_UNSUPP);
	struct virtio_blk_discard_write_zeroes many[VBLK_MAX_DISCARD_SEG + 1];
	for (unsigned i = 0; i <= VBLK_MAX_DISCARD_SEG; i++)
		many[i] = d;
	assert_int_equal(dwz(t, VIRTIO_BLK_T_DISCARD, many, VBLK_MAX_DISCARD_SEG + 1, 0),
			 VIRTIO_BLK_S_UNSUPP);
	/* Past the end, overflowing sector, too many sectors. */
	d.sector = htole64(DISK / 512 - 1);
	d.num_sectors = htole32(2);
	assert_int_equal(dwz(t, VIRTIO_BLK_T_DISCARD, &d, 1, 0), VIRTIO_BLK_S_IOERR);
	d.sector = htole64(UINT64_MAX / 256);
	d.num_sectors = htole32(1);
	assert_int_equal(dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, &d, 1, 0),
			 VIRTIO_BLK_S_IOERR);
	d.sector = 0;
	d.num_sectors = htole32(VBLK_MAX_DISCARD_SECTORS + 1);
	assert_int_equal(dwz(t, VIRTIO_BLK_T_DISCARD, &d, 1, 0), VIRTIO_BLK_S_IOERR);
	/* Backend failure. */
	d.num_sectors = htole32(1);
	blockdev_mem_fail(t->bd, EIO);
	assert_int_equal(dwz(t, VIRTIO_BLK_T_DISCARD, &d, 1, 0), VIRTIO_BLK_S_IOERR);
	bt_free(t);
}

static void test_readonly(void **state)
{
	struct bt *t = bt_new(kind(state), true, 0, ~0ull);
	assert_true(vdriver_device_features(&t->f->d) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	uint8_t *copy = malloc(DISK);
	memcpy(copy, blockdev_mem_data(t->bd), DISK);
	uint8_t buf[512];
	memset(buf, 0xcc, sizeof(buf));
	uint64_t w = vfx_put(t->f, buf, sizeof(buf));
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, 0, w, 512, false), VIRTIO_BLK_S_IOERR);
	struct virtio_blk_discard_write_zeroes d = { 0, htole32(1), 0 };
	assert_int_equal(dwz(t, VIRTIO_BLK_T_DISCARD, &d, 1, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, &d, 1, 0),
			 VIRTIO_BLK_S_IOERR);
	assert_memory_equal(copy, blockdev_mem_data(t->bd), DISK);
	/* Reads and flushes still work. */
	uint64_t r = vfx_alloc(t->f, 512);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 1, r, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), VIRTIO_BLK_S_OK);
	free(copy);
	bt_free(t);
}

static void test_hostile_ranges(void **state)
{
	struct bt *t = bt_new(kind(state), false, 0, ~0ull);
	uint64_t r = vfx_alloc(t->f, 1024);
	/* Past the end: last sector + 1, and a range that straddles it. */
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, DISK / 512, r, 512, true),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, DISK / 512 - 1, r, 1024, true),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, DISK / 512 - 1, r, 1024, false),
			 VIRTIO_BLK_S_IOERR);
	/* sector * 512 overflows 64 bits; sector*512 + len wraps. */
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, r, 512, true),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, UINT64_MAX / 512, r, 512, true),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, UINT64_MAX, r, 512, false),
			 VIRTIO_BLK_S_IOERR);
	/* Not a whole number of sectors. */
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 0, r, 100, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, 0, r, 513, false), VIRTIO_BLK_S_IOERR);
	/* Exactly the last sector is fine. */
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, DISK / 512 - 1, r, 512, true),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(vblk_get_stats(t->b)->ioerr, 8);
	bt_free(t);
}

/* The device's own range check, not only the backend's: a request whose
 * data is split over two descriptors, the first on the last sector and the
 * second past the end, is refused before any byte moves.  The backend's
 * front door (core/blockdev.c) would refuse only the second chunk, after
 * the first was already written to the disk or copied to the guest. */
static void test_straddle_refused_whole(void **state)
{
	struct bt *t = bt_new(kind(state), false, 0, ~0ull);
	const uint64_t last = DISK / 512 - 1;
	uint8_t before[512], got[512], junk[512];
	memcpy(before, blockdev_mem_data(t->bd) + last * 512, 512);
	memset(junk, 0xcc, sizeof(junk));
	for (int is_read = 0; is_read < 2; is_read++) {
		uint64_t a = vfx_put(t->f, junk, 512), b2 = vfx_put(t->f, junk, 512);
		uint64_t st = vfx_alloc(t->f, 1);
		struct vdq_buf b[4] = {
			{ hdr_at(t, is_read ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, last),
			  16, false },
			{ a, 512, is_read }, { b2, 512, is_read }, { st, 1, true },
		};
		vfx_add(t->f, 0, b, 4);
		complete(t);
		assert_int_equal(status_at(t, st), VIRTIO_BLK_S_IOERR);
		/* Nothing reached the disk, nothing reached the guest. */
		assert_memory_equal(blockdev_mem_data(t->bd) + last * 512, before, 512);
		assert_int_equal(gm_read(vfx_gm(t->f), a, got, 512), 0);
		assert_memory_equal(got, junk, 512);
	}
	assert_int_equal(t->bd->nr_write, 0);
	assert_int_equal(t->bd->nr_read, 0);
	bt_free(t);
}

static void test_hostile_header_and_status(void **state)
{
	struct bt *t = bt_new(kind(state), false, 0, ~0ull);
	const struct gm *gm = vfx_gm(t->f);
	/* Header shorter than 16 bytes: IOERR. */
	uint64_t st = vfx_alloc(t->f, 1);
	struct vdq_buf s1[2] = { { hdr_at(t, VIRTIO_BLK_T_IN, 0), 8, false },
				 { st, 1, true } };
	vfx_add(t->f, 0, s1, 2);
	complete(t);
	assert_int_equal(status_at(t, st), VIRTIO_BLK_S_IOERR);
	/* No readable part at all. */
	struct vdq_buf s2[1] = { { st, 1, true } };
	vfx_add(t->f, 0, s2, 1);
	complete(t);
	assert_int_equal(status_at(t, st), VIRTIO_BLK_S_IOERR);
	/* No writable status byte: dropped, returned unwritten. */
	uint8_t data[512] = { 1 };
	uint64_t d = vfx_put(t->f, data, 512);
	struct vdq_buf s3[2] = { { hdr_at(t, VIRTIO_BLK_T_OUT, 0), 16, false },
				 { d, 512, false } };
	uint8_t before = blockdev_mem_data(t->bd)[0];
	vfx_add(t->f, 0, s3, 2);
	assert_int_equal(complete(t), 0);
	assert_int_equal(blockdev_mem_data(t->bd)[0], before);
	assert_int_equal(vblk_get_stats(t->b)->dropped, 1);
	/* Status byte in memory that faults on write: dropped. */
	uint64_t bad = vfx_alloc(t->f, 4096);
	assert_int_equal(gm_inject_fault(t->f->sim->m.gm, bad, 4096, GM_FAULT_WRITE), 0);
	struct vdq_buf s4[2] = { { hdr_at(t, VIRTIO_BLK_T_FLUSH, 0), 16, false },
				 { bad, 1, true } };
	vfx_add(t->f, 0, s4, 2);
	assert_int_equal(complete(t), 0);
	assert_int_equal(vblk_get_stats(t->b)->dropped, 2);
	/* Data buffer that faults (read side for OUT, write side for IN). */
	assert_int_equal(gm_inject_fault(t->f->sim->m.gm, bad + 2048, 1024,
					 GM_FAULT_READ), 0);
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, 0, bad + 2048, 512, false),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 0, bad, 512, true),
			 VIRTIO_BLK_S_IOERR);
	/* Backend errors. */
	blockdev_mem_fail(t->bd, EIO);
	uint64_t r = vfx_alloc(t->f, 512);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 0, r, 512, true), VIRTIO_BLK_S_IOERR);
	blockdev_mem_fail(t->bd, 0);
	/* And the device is unharmed. */
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 0, r, 512, true), VIRTIO_BLK_S_OK);
	assert_false(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	(void)gm;
	bt_free(t);
}

static void test_broken_ring_needs_reset(void **state)
{
	struct bt *t = bt_new(kind(state), false, 0, 0);
	/* avail idx far ahead of what we consumed: the ring is broken. */
	assert_int_equal(vdq_raw_avail_idx(&t->f->q[0], 1000), 0);
	vfx_kick(t->f, 0);
	assert_true(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* The driver resets and starts over: the device works again. */
	vfx_start(t->f, 0, 1, QSZ);
	uint64_t r = vfx_alloc(t->f, 512);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 0, r, 512, true), VIRTIO_BLK_S_OK);
	bt_free(t);
}

static void test_packed_ring(void **state)
{
	struct bt *t = bt_new(kind(state), false, 0,
			      VIRTIO_BIT(VIRTIO_F_RING_PACKED) |
			      VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	/* Legacy sees feature bits 0-31 only: split ring there. */
	assert_int_equal(!!(t->f->d.features & VIRTIO_BIT(VIRTIO_F_RING_PACKED)),
			 kind(state) != VFX_PCI_LEGACY);
	for (unsigned i = 0; i < 3 * QSZ; i++) {
		uint64_t r = vfx_alloc(t->f, 512);
		assert_int_equal(req(t, VIRTIO_BLK_T_IN, i % (DISK / 512), r, 512, true),
				 VIRTIO_BLK_S_OK);
	}
	bt_free(t);
}
/* num-queues=4 (VIRTIO_BLK_F_MQ, §5.2.5): four request queues, each
 * served on its own kick; without MQ only queue 0 is offered to the
 * driver's use, and one queue means no MQ at all. */
static void test_multiqueue(void **state)
{
	struct bt *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = vfx_new(kind(state));
	t->bd = blockdev_mem_new("d0", DISK, false);
	for (unsigned i = 0; i < DISK; i++)
		blockdev_mem_data(t->bd)[i] = (uint8_t)(i * 3 + i / 512);
	struct vblk_config c = {
		.gm = vfx_gm(t->f), .log = t->f->log, .clk = vfx_clk(t->f),
		.bd = t->bd, .num_queues = 4,
	};
	t->b = vblk_new(&c);
	assert_non_null(t->b);
	vfx_attach(t->f, vblk_vdev(t->b));
	assert_true(vdriver_device_features(&t->f->d) & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
	vfx_start(t->f, VIRTIO_BIT(VIRTIO_BLK_F_MQ), 4, QSZ);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_blk_config, num_queues), 2), 4);
	for (unsigned q = 0; q < 4; q++) {
		uint64_t st = vfx_alloc(t->f, 1), data = vfx_alloc(t->f, 512);
		struct vdq_buf b[3] = { { hdr_at(t, VIRTIO_BLK_T_IN, 10 + q), 16, false },
					{ data, 512, true }, { st, 1, true } };
		vfx_add(t->f, q, b, 3);
		uint16_t id;
		uint32_t len;
		assert_int_equal(vfx_used(t->f, q, &id, &len), 1);
		assert_int_equal(len, 513);
		assert_int_equal(status_at(t, st), VIRTIO_BLK_S_OK);
		uint8_t got[512];
		assert_int_equal(gm_read(vfx_gm(t->f), data, got, 512), 0);
		assert_memory_equal(got, blockdev_mem_data(t->bd) + (10 + q) * 512, 512);
	}
	/* A queue index past num_queues is no queue. */
	assert_false(t->f->d.bus->queue_max(&t->f->d, 4));
	bt_free(t);
	/* One queue: no MQ offered, num_queues reads 1. */
	t = bt_new(kind(state), false, 0, ~0ull);
	assert_false(vdriver_device_features(&t->f->d) & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_blk_config, num_queues), 2), 1);
	bt_free(t);
}

#define BOTH(fn)                                                           \
	VFX_TESTS(fn)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_config_and_features),
		BOTH(test_write_read_roundtrip),
		BOTH(test_scatter_gather),
		BOTH(test_flush_and_get_id),
		BOTH(test_discard_write_zeroes),
		BOTH(test_readonly),
		BOTH(test_hostile_ranges),
		BOTH(test_straddle_refused_whole),
		BOTH(test_hostile_header_and_status),
		BOTH(test_broken_ring_needs_reset),
		BOTH(test_packed_ring),
		BOTH(test_multiqueue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
