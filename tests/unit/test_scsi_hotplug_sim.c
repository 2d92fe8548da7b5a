/* scsi-hd hot-plug on the board, in the simulator, with the sim guest
 * driver playing Linux's virtio_scsi: a board built from "-machine q35
 * -device virtio-scsi-pci ... -device scsi-hd,..." gets another LU
 * through config_add_device + board_hotplug_add (what device_add does);
 * the driver, which negotiated VIRTIO_SCSI_F_HOTPLUG and posted event
 * buffers, receives TRANSPORT_RESET/RESCAN for it (virtio 1.2
 * §5.6.6.3.1), reads its block 0, and the LU already on that target
 * reports REPORTED LUNS DATA HAS CHANGED; device_del removes it at once
 * (TRANSPORT_RESET/REMOVED, device_deleted told once, the backend it
 * opened closed: ASan would see a leak), also for an LU present from
 * start-up.  A failed hot-add leaves nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "devices/virtio/scsi.h"
#include "devices/virtio/scsi_disk.h"
#include "devices/virtio/virtio.h"
#include "machine/board.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "sim/vdriver_queue.h"

#define HBA_SLOT 4u

struct sfix {
	struct machine_config cfg;
	struct layout l;
	struct sim *s;
	struct board *b;
	struct board_host host;
	char disk[2][64], err[512];
	char deleted[64];
	int ndeleted;
	struct vdriver drv;
	struct vdq vq[3];
	uint64_t ev[2];
};

static void on_deleted(void *o, const char *id)
{
	struct sfix *f = o;
	f->ndeleted++;
	snprintf(f->deleted, sizeof(f->deleted), "%s", id);
}

static void mkdisk(char *path, const char *text)
{
	strcpy(path, "/tmp/test_scsi_hp_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
}

static void run_until_used(struct sfix *f, struct vdq *vq, uint32_t *len)
{
	uint16_t id;
	int r = 0;
	for (int i = 0; i < 1000 && (r = vdq_get_used(vq, &id, len)) == 0; i++) {
		uint64_t next = sim_next_deadline(f->s);
		if (next == UINT64_MAX)
			break;
		sim_clock_step(f->s, next > f->s->now_ns ? next - f->s->now_ns : 0);
	}
	assert_int_equal(r, 1);
}

static void post_event(struct sfix *f, unsigned k)
{
	struct vdq_buf b = { f->ev[k], VIRTIO_SCSI_EVENT_SIZE, true };
	gm_fill(f->s->m.gm, f->ev[k], 0xee, VIRTIO_SCSI_EVENT_SIZE);
	assert_true(vdq_add(&f->vq[VSCSI_EVENTQ], &b, 1, false) >= 0);
	vdq_publish(&f->vq[VSCSI_EVENTQ]);
	vdriver_kick(&f->drv, VSCSI_EVENTQ, &f->vq[VSCSI_EVENTQ]);
}

static void expect_event(struct sfix *f, unsigned k, unsigned target, unsigned lun,
			 uint32_t reason)
{
	uint32_t len;
	run_until_used(f, &f->vq[VSCSI_EVENTQ], &len);
	assert_int_equal(len, VIRTIO_SCSI_EVENT_SIZE);
	struct virtio_scsi_event ev;
	assert_int_equal(gm_read(f->s->m.gm, f->ev[k], &ev, sizeof(ev)), 0);
	assert_int_equal(le32toh(ev.event), VIRTIO_SCSI_T_TRANSPORT_RESET);
	uint8_t want[8] = { 1, (uint8_t)target, (uint8_t)(0x40 | lun >> 8), (uint8_t)lun };
	assert_memory_equal(ev.lun, want, 8);
	assert_int_equal(le32toh(ev.reason), reason);
}

/* One command; returns status << 16 | asc/ascq (0 for GOOD); data-in
 * (512 bytes) into got when not NULL. */
static uint32_t scmd(struct sfix *f, unsigned target, unsigned lun, const uint8_t *cdb,
		     unsigned cdb_len, char *got)
{
	const struct gm *gm = f->s->m.gm;
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + VIRTIO_SCSI_CDB_DEFAULT_SIZE] = { 0 };
	struct virtio_scsi_req_cmd h = { .lun = { 1, (uint8_t)target,
		(uint8_t)(0x40 | lun >> 8), (uint8_t)lun } };
	memcpy(hdr, &h, sizeof(h));
	memcpy(hdr + sizeof(h), cdb, cdb_len);
	uint64_t req = vdriver_alloc(&f->drv, sizeof(hdr), 8);
	uint32_t rl = sizeof(struct virtio_scsi_resp_cmd) + VIRTIO_SCSI_SENSE_DEFAULT_SIZE;
	uint64_t resp = vdriver_alloc(&f->drv, rl, 8), data = vdriver_alloc(&f->drv, 512, 8);
	gm_write(gm, req, hdr, sizeof(hdr));
	struct vdq_buf b[3] = { { req, sizeof(hdr), false }, { resp, rl, true },
				{ data, 512, true } };
	struct vdq *vq = &f->vq[VSCSI_REQQ];
	assert_true(vdq_add(vq, b, got ? 3 : 2, false) >= 0);
	vdq_publish(vq);
	vdriver_kick(&f->drv, VSCSI_REQQ, vq);
	uint32_t len;
	run_until_used(f, vq, &len);
	struct virtio_scsi_resp_cmd r;
	uint8_t sense[18];
	assert_int_equal(gm_read(gm, resp, &r, sizeof(r)), 0);
	assert_int_equal(gm_read(gm, resp + sizeof(r), sense, sizeof(sense)), 0);
	assert_int_equal(r.response, VIRTIO_SCSI_S_OK);
	if (got)
		assert_int_equal(gm_read(gm, data, got, 16), 0);
	return r.status ? (uint32_t)r.status << 16 | (uint32_t)sense[12] << 8 | sense[13] : 0;
}

static uint32_t tur(struct sfix *f, unsigned target, unsigned lun)
{
	uint8_t c[6] = { SCSI_TEST_UNIT_READY };
	return scmd(f, target, lun, c, 6, NULL);
}

static void read0(struct sfix *f, unsigned target, unsigned lun, char *got)
{
	uint8_t c[10] = { SCSI_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	assert_int_equal(scmd(f, target, lun, c, 10, got), 0);
	got[16] = '\0';
}

static struct sfix *setup(void)
{
	struct sfix *f = calloc(1, sizeof(*f));
	mkdisk(f->disk[0], "COLD-LUN-SECTOR0");
	mkdisk(f->disk[1], "HOT-LUN-SECTOR-0");
	char d0[128], d1[128];
	snprintf(d0, sizeof(d0), "id=d0,file=%s,readonly=on", f->disk[0]);
	snprintf(d1, sizeof(d1), "id=d1,file=%s,readonly=on", f->disk[1]);
	char *argv[] = { "vmm", "-machine", "q35", "-device",
			 "virtio-scsi-pci,id=scsi0,addr=0x4", "-drive", d0, "-drive", d1,
			 "-device", "scsi-hd,id=s0,drive=d0,bus=scsi0.0,scsi-id=0,lun=0", NULL };
	if (config_parse(&f->cfg, 11, argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	f->s = sim_new(&sc);
	f->host = (struct board_host){ .wall_epoch = 1767225600,
				       .device_deleted = on_deleted, .device_deleted_opaque = f };
	f->b = board_new(&f->s->m, &f->cfg, &f->l, &f->host, f->err, sizeof(f->err));
	if (!f->b)
		fail_msg("board_new: %s", f->err);
	/* virtio_scsi's probe: hot-plug asked for, event buffers posted. */
	assert_int_equal(vdriver_pci_probe(&f->drv, f->s, HBA_SLOT, 0, false), 0);
	assert_int_equal(vdriver_pci_virtio_id(&f->drv), VIRTIO_ID_SCSI);
	vdriver_set_memory(&f->drv, 0x100000, 0x100000);
	assert_int_equal(vdriver_negotiate(&f->drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
					   VIRTIO_BIT(VIRTIO_SCSI_F_HOTPLUG)), 0);
	for (unsigned q = 0; q < 3; q++)
		assert_int_equal(vdriver_setup_queue(&f->drv, q, &f->vq[q], 16), 0);
	vdriver_driver_ok(&f->drv);
	for (unsigned k = 0; k < 2; k++)
		f->ev[k] = vdriver_alloc(&f->drv, VIRTIO_SCSI_EVENT_SIZE, 8);
	assert_int_equal(tur(f, 0, 0) >> 16, SCSI_STATUS_CHECK_CONDITION);   /* power-on */
	assert_int_equal(tur(f, 0, 0), 0);
	return f;
}

static int hot_add(struct sfix *f, const char *opts)
{
	if (config_add_device(&f->cfg, opts, f->err, sizeof(f->err)) < 0)
		return -1;
	if (board_hotplug_add(f->b, f->cfg.ndevices - 1, f->err, sizeof(f->err)) < 0) {
		f->cfg.ndevices--;
		return -1;
	}
	return 0;
}

static void test_scsi_hd_hot_add_remove(void **state)
{
	(void)state;
	struct sfix *f = setup();
	post_event(f, 0);
	unsigned ndev = board_device_count(f->b);
	/* A refusal builds nothing (the drive is not there). */
	assert_int_equal(hot_add(f, "scsi-hd,id=s1,drive=nope,bus=scsi0.0,scsi-id=0,lun=1"), -1);
	assert_int_equal(hot_add(f, "scsi-hd,id=s1,drive=d1,bus=scsi0.0,scsi-id=0,lun=1"), 0);
	assert_int_equal(board_device_count(f->b), ndev);
	expect_event(f, 0, 0, 1, VIRTIO_SCSI_EVT_RESET_RESCAN);
	/* The target's LU 0 hears of it; the new LU reports power-on, reads. */
	assert_int_equal(tur(f, 0, 0), SCSI_STATUS_CHECK_CONDITION << 16 | SCSI_ASC_REPORTED_LUNS_CHANGED);
	assert_int_equal(tur(f, 0, 1), SCSI_STATUS_CHECK_CONDITION << 16 | SCSI_ASC_POWER_ON_RESET);
	char got[17];
	read0(f, 0, 1, got);
	assert_string_equal(got, "HOT-LUN-SECTOR-0");

	/* device_del: gone at once, the driver told, the host told once. */
	post_event(f, 1);
	assert_int_equal(board_hotplug_del(f->b, "s1"), 0);
	expect_event(f, 1, 0, 1, VIRTIO_SCSI_EVT_RESET_REMOVED);
	assert_int_equal(f->ndeleted, 1);
	assert_string_equal(f->deleted, "s1");
	assert_int_equal(board_hotplug_del(f->b, "s1"), -ENODEV);
	assert_true(config_remove_device(&f->cfg, "s1") >= 0);
	uint8_t c[10] = { SCSI_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	assert_int_equal(scmd(f, 0, 1, c, 10, got),
			 SCSI_STATUS_CHECK_CONDITION << 16 | SCSI_ASC_LUN_NOT_SUPPORTED);

	/* The LU present from start-up goes the same way. */
	post_event(f, 0);
	assert_int_equal(board_hotplug_del(f->b, "s0"), 0);
	expect_event(f, 0, 0, 0, VIRTIO_SCSI_EVT_RESET_REMOVED);
	assert_int_equal(f->ndeleted, 2);
	assert_true(config_remove_device(&f->cfg, "s0") >= 0);
	/* Back again, left plugged for board_free. */
	assert_int_equal(hot_add(f, "scsi-hd,id=s2,drive=d1,bus=scsi0.0,scsi-id=2,lun=3"), 0);
	assert_int_equal(tur(f, 2, 3), SCSI_STATUS_CHECK_CONDITION << 16 | SCSI_ASC_POWER_ON_RESET);
	read0(f, 2, 3, got);
	assert_string_equal(got, "HOT-LUN-SECTOR-0");

	board_free(f->b);
	sim_free(f->s);
	unlink(f->disk[0]);
	unlink(f->disk[1]);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scsi_hd_hot_add_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
