/* virtio-scsi LUN hot-plug (virtio 1.2 §5.6.6.3.1): with
 * VIRTIO_SCSI_F_HOTPLUG negotiated, an LU added or removed while the
 * device runs is reported as a TRANSPORT_RESET event (reason RESCAN /
 * REMOVED, the LU's address in the §5.6.6.1 format) in a buffer of the
 * event queue, and the other LUs of the target raise REPORTED LUNS DATA
 * HAS CHANGED (SPC-4 §7.8.2).  Events wait for buffers; past
 * VSCSI_MAX_EVENTS, or when a buffer is too small, the next event carries
 * VIRTIO_SCSI_T_EVENTS_MISSED.  Without the feature no event is sent.
 * On every transport (VFX_TESTS). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "scsi_fixture.h"

#define EQ VSCSI_EVENTQ

static struct st *st_new_hp(enum vfx_kind k, bool hotplug)
{
	struct st *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = vfx_new(k);
	t->bd = blockdev_mem_new("d0", DISK, true);
	t->cd = blockdev_mem_new("d1", DISK, true);
	assert_non_null(t->bd);
	assert_non_null(t->cd);
	memcpy(blockdev_mem_data(t->cd), "HOT-LUN-SECTOR-0", 16);
	struct vscsi_config c = { .gm = vfx_gm(t->f), .log = t->f->log,
				  .clk = vfx_clk(t->f) };
	t->s = vscsi_new(&c);
	assert_non_null(t->s);
	struct vscsi_lun_config l0 = { .target = 0, .lun = 0, .bd = t->bd, .dev_id = "d0" };
	struct vscsi_lun_config l3 = { .target = 3, .lun = 300, .bd = t->bd, .dev_id = "d0b" };
	assert_int_equal(vscsi_add_lun(t->s, &l0), 0);
	assert_int_equal(vscsi_add_lun(t->s, &l3), 0);
	vfx_attach(t->f, vscsi_vdev(t->s));
	vfx_start(t->f, hotplug ? VIRTIO_BIT(VIRTIO_SCSI_F_HOTPLUG) : 0, 3, QSZ);
	assert_int_equal(vdev_has(vscsi_vdev(t->s), VIRTIO_SCSI_F_HOTPLUG), hotplug);
	t->cdb_size = VIRTIO_SCSI_CDB_DEFAULT_SIZE;
	t->sense_size = VIRTIO_SCSI_SENSE_DEFAULT_SIZE;
	/* Clear the power-on attentions. */
	uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	cmd_to(t, 0, 0, tur, 6, NULL, 0, 0);
	cmd_to(t, 3, 300, tur, 6, NULL, 0, 0);
	return t;
}

/* Post an event buffer of len bytes; returns its address. */
static uint64_t post(struct st *t, uint32_t len)
{
	uint64_t a = vfx_alloc(t->f, len);
	struct vdq_buf b = { a, len, true };
	vfx_add(t->f, EQ, &b, 1);
	return a;
}

/* The next used event buffer must be at a, holding this event. */
static void expect_event(struct st *t, uint64_t a, uint32_t event, unsigned target,
			 unsigned lun, uint32_t reason)
{
	uint16_t id;
	uint32_t len;
	assert_int_equal(vfx_used(t->f, EQ, &id, &len), 1);
	assert_int_equal(len, sizeof(struct virtio_scsi_event));
	struct virtio_scsi_event ev;
	assert_int_equal(gm_read(vfx_gm(t->f), a, &ev, sizeof(ev)), 0);
	assert_int_equal(le32toh(ev.event), event);
	uint8_t want[8] = { 0 };
	if (event != VIRTIO_SCSI_T_EVENTS_MISSED)   /* "missed" alone names no LU */
		lun_bytes(want, target, lun);
	assert_memory_equal(ev.lun, want, 8);
	assert_int_equal(le32toh(ev.reason), reason);
}

static void no_event(struct st *t)
{
	uint16_t id;
	uint32_t len;
	assert_int_equal(vfx_used(t->f, EQ, &id, &len), 0);
}

static void tur_expect(struct st *t, unsigned target, unsigned lun, uint16_t ua)
{
	uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	cmd_to(t, target, lun, tur, 6, NULL, 0, 0);
	if (ua)
		expect_sense(t, SCSI_SENSE_UNIT_ATTENTION, ua);
	else
		expect_good(t);
}

static void test_add_remove_events(void **state)
{
	struct st *t = st_new_hp(kind(state), true);
	uint64_t e1 = post(t, 16), e2 = post(t, 16);
	no_event(t);
	struct vscsi_lun_config l5 = { .target = 0, .lun = 5, .bd = t->cd, .dev_id = "d1" };
	assert_int_equal(vscsi_hot_add_lun(t->s, &l5), 0);
	assert_int_equal(vscsi_hot_add_lun(t->s, &l5), -EEXIST);
	expect_event(t, e1, VIRTIO_SCSI_T_TRANSPORT_RESET, 0, 5, VIRTIO_SCSI_EVT_RESET_RESCAN);
	assert_true(vfx_irq(t->f));
	/* The target's other LU was told; another target was not; the new
	 * LU reports its power-on, then reads. */
	tur_expect(t, 0, 0, SCSI_ASC_REPORTED_LUNS_CHANGED);
	tur_expect(t, 0, 0, 0);
	tur_expect(t, 3, 300, 0);
	tur_expect(t, 0, 5, SCSI_ASC_POWER_ON_RESET);
	uint8_t rd[10];
	cdb10(rd, SCSI_READ_10, 0, 1);
	cmd_to(t, 0, 5, rd, 10, NULL, 0, 512);
	expect_good(t);
	assert_memory_equal(t->data, "HOT-LUN-SECTOR-0", 16);

	assert_int_equal(vscsi_remove_lun(t->s, 0, 6), -ENOENT);
	assert_int_equal(vscsi_remove_lun(t->s, 0, 5), 0);
	assert_null(vscsi_lun(t->s, 0, 5));
	expect_event(t, e2, VIRTIO_SCSI_T_TRANSPORT_RESET, 0, 5, VIRTIO_SCSI_EVT_RESET_REMOVED);
	tur_expect(t, 0, 0, SCSI_ASC_REPORTED_LUNS_CHANGED);
	/* Gone: the target answers for it as for a LUN it never had. */
	cmd_to(t, 0, 5, rd, 10, NULL, 0, 512);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	/* The LUs after it in the table are still found. */
	tur_expect(t, 3, 300, 0);
	assert_int_equal(vscsi_get_stats(t->s)->events, 2);
	st_free(t);
}

/* Events wait for buffers; an overflow or a buffer too small to hold one
 * is reported on the next event as EVENTS_MISSED. */
static void test_held_and_missed(void **state)
{
	struct st *t = st_new_hp(kind(state), true);
	struct vscsi_lun_config l = { .target = 7, .lun = 1, .bd = t->cd, .dev_id = "d1" };
	assert_int_equal(vscsi_hot_add_lun(t->s, &l), 0);
	uint64_t a = post(t, 16);
	expect_event(t, a, VIRTIO_SCSI_T_TRANSPORT_RESET, 7, 1, VIRTIO_SCSI_EVT_RESET_RESCAN);
	/* More than VSCSI_MAX_EVENTS with no buffer. */
	for (unsigned i = 0; i < VSCSI_MAX_EVENTS; i++) {
		assert_int_equal(vscsi_remove_lun(t->s, 7, 1), 0);
		assert_int_equal(vscsi_hot_add_lun(t->s, &l), 0);
	}
	assert_true(vscsi_get_stats(t->s)->events_missed > 0);
	a = post(t, 16);
	expect_event(t, a, VIRTIO_SCSI_T_TRANSPORT_RESET | VIRTIO_SCSI_T_EVENTS_MISSED, 7, 1,
		     VIRTIO_SCSI_EVT_RESET_REMOVED);
	for (unsigned i = 1; i < VSCSI_MAX_EVENTS; i++) {
		a = post(t, 16);
		expect_event(t, a, VIRTIO_SCSI_T_TRANSPORT_RESET, 7, 1,
			     i & 1 ? VIRTIO_SCSI_EVT_RESET_RESCAN : VIRTIO_SCSI_EVT_RESET_REMOVED);
	}
	post(t, 16);
	no_event(t);
	/* A buffer too small: returned empty, the next event says missed. */
	uint64_t small = vfx_alloc(t->f, 8);
	struct vdq_buf b = { small, 8, true };
	assert_int_equal(vscsi_remove_lun(t->s, 7, 1), 0);   /* takes the posted one */
	uint16_t id;
	uint32_t len;
	assert_int_equal(vfx_used(t->f, EQ, &id, &len), 1);
	vfx_add(t->f, EQ, &b, 1);
	assert_int_equal(vscsi_hot_add_lun(t->s, &l), 0);
	assert_int_equal(vfx_used(t->f, EQ, &id, &len), 1);
	assert_int_equal(len, 0);
	a = post(t, 16);
	expect_event(t, a, VIRTIO_SCSI_T_NO_EVENT | VIRTIO_SCSI_T_EVENTS_MISSED, 0, 0, 0);
	st_free(t);
}

/* A driver that did not ask for hot-plug gets no event; the unit
 * attention still tells its next command. */
static void test_no_feature_no_event(void **state)
{
	struct st *t = st_new_hp(kind(state), false);
	post(t, 16);
	struct vscsi_lun_config l5 = { .target = 0, .lun = 5, .bd = t->cd, .dev_id = "d1" };
	assert_int_equal(vscsi_hot_add_lun(t->s, &l5), 0);
	no_event(t);
	tur_expect(t, 0, 0, SCSI_ASC_REPORTED_LUNS_CHANGED);
	assert_int_equal(vscsi_remove_lun(t->s, 0, 5), 0);
	no_event(t);
	st_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VFX_TESTS(test_add_remove_events),
		VFX_TESTS(test_held_and_missed),
		VFX_TESTS(test_no_feature_no_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
