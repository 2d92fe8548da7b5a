/* virtio-scsi (devices/virtio/scsi.c) through the sim guest driver on
 * virtio-mmio and virtio-pci: config space, LUN addressing, task
 * management and asynchronous notification, the event queue, per-kick
 * budgets, iops throttling, request queues, and the malformed chains and
 * guest memory a hostile driver can hand the device.  The SCSI command
 * set itself: test_scsi_disk.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "scsi_fixture.h"

static void test_config(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	struct vfx *f = t->f;
#define CFG(field) vfx_cfg(f, offsetof(struct virtio_scsi_config, field), \
			   sizeof(((struct virtio_scsi_config *)0)->field))
	assert_int_equal(f->d.bus->device_id(&f->d), VIRTIO_ID_SCSI);
	/* PCI: mass storage / SCSI controller, as QEMU's virtio-scsi-pci. */
	if (f->kind == VFX_PCI)
		assert_int_equal(vdriver_pci_cfg_read(&f->d, 0x08, 4) >> 8, 0x010000);
	assert_int_equal(CFG(num_queues), 1);
	assert_int_equal(CFG(seg_max), QSZ - 2);
	assert_int_equal(CFG(cdb_size), 32);
	assert_int_equal(CFG(sense_size), 96);
	assert_int_equal(CFG(event_info_size), 16);
	assert_int_equal(CFG(max_channel), 0);
	assert_int_equal(CFG(max_target), 255);
	assert_int_equal(CFG(max_lun), 16383);
	/* The two writable fields take in-range values only; the rest are
	 * read-only. */
	f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config, cdb_size), 4, 16);
	f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config, sense_size), 4, 20);
	assert_int_equal(CFG(cdb_size), 16);
	assert_int_equal(CFG(sense_size), 20);
	f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config, cdb_size), 4, 256);
	f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config, sense_size), 4, 65536);
	f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config, max_lun), 4, 1);
	assert_int_equal(CFG(cdb_size), 16);
	assert_int_equal(CFG(sense_size), 20);
	assert_int_equal(CFG(max_lun), 16383);
	/* Requests follow the new layout: a 16-byte CDB area, 20 sense bytes. */
	t->cdb_size = 16;
	t->sense_size = 20;
	uint8_t c[16];
	cdb10(c, SCSI_READ_10, 5000, 1);     /* out of range: sense fits 20 */
	cmd(t, c, 10, NULL, 0, 512);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* §5.6.4: reset restores the defaults. */
	vdriver_reset(&f->d);
	assert_int_equal(CFG(cdb_size), 32);
	assert_int_equal(CFG(sense_size), 96);
#undef CFG
	st_free(t);
}


static void test_addressing(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36 };
	/* No such target. */
	cmd_to(t, 1, 0, tur, 6, NULL, 0, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_BAD_TARGET);
	assert_int_equal(vscsi_get_stats(t->s)->bad_target, 1);
	/* A LUN the target lacks: INQUIRY says "no LU here", commands fail
	 * with LOGICAL UNIT NOT SUPPORTED, REPORT LUNS still lists. */
	cmd_to(t, 0, 1, inq, 6, NULL, 0, 36);
	expect_good(t);
	assert_int_equal(t->data[0], 0x7f);
	cmd_to(t, 0, 1, tur, 6, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	uint8_t rl[12] = { SCSI_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 0, 64 };
	cmd_to(t, 3, 0, rl, 12, NULL, 0, 64);
	expect_good(t);
	assert_int_equal(rd32(t->data), 8);
	/* lun[0] must be 1, lun[2] a single-level format. */
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	struct virtio_scsi_req_cmd *h = (void *)hdr;
	lun_bytes(h->lun, 0, 0);
	h->lun[0] = 2;
	raw(t, hdr, sizeof(hdr), NULL, 0, sizeof(struct virtio_scsi_resp_cmd) + 96, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_BAD_TARGET);
	lun_bytes(h->lun, 0, 0);
	h->lun[2] = 0x80;
	raw(t, hdr, sizeof(hdr), NULL, 0, sizeof(struct virtio_scsi_resp_cmd) + 96, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_BAD_TARGET);
	/* Peripheral addressing (lun[2] = 0) reaches LUN 0 too. */
	lun_bytes(h->lun, 0, 0);
	h->lun[2] = 0;
	raw(t, hdr, sizeof(hdr), NULL, 0, sizeof(struct virtio_scsi_resp_cmd) + 96, 0);
	expect_good(t);
	st_free(t);
}


static void test_hostile_chains(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	const uint32_t resp = sizeof(struct virtio_scsi_resp_cmd) + 96;
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	struct virtio_scsi_req_cmd *h = (void *)hdr;
	lun_bytes(h->lun, 0, 0);
	/* Request header shorter than header + cdb_size: FAILURE. */
	raw(t, hdr, sizeof(hdr) - 1, NULL, 0, resp, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_FAILURE);
	raw(t, NULL, 0, NULL, 0, resp, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_FAILURE);
	/* Response buffer too short for its header: returned unwritten. */
	raw(t, hdr, sizeof(hdr), NULL, 0, resp - 1, 0);
	assert_int_equal(t->used, 0);
	raw(t, hdr, sizeof(hdr), NULL, 0, 0, 0);
	assert_int_equal(t->used, 0);
	assert_int_equal(vscsi_get_stats(t->s)->dropped, 2);
	/* Data buffer too small for the transfer, or the wrong way round. */
	uint8_t c[16];
	cdb10(c, SCSI_READ_10, 0, 2);
	cmd(t, c, 10, NULL, 0, 1023);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OVERRUN);
	assert_int_equal(le32toh(t->r.residual), 1023);
	cmd(t, c, 10, NULL, 0, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OVERRUN);
	uint8_t buf[1024] = { 0 };
	cmd(t, c, 10, buf, sizeof(buf), 0);          /* read with data-out */
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OVERRUN);
	cdb10(c, SCSI_WRITE_10, 0, 2);
	uint8_t before = blockdev_mem_data(t->bd)[0];
	cmd(t, c, 10, buf, 1000, 0);
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OVERRUN);
	assert_int_equal(blockdev_mem_data(t->bd)[0], before);
	uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 96 };
	cmd(t, inq, 6, NULL, 0, 36);                  /* allocation > buffer */
	assert_int_equal(t->r.response, VIRTIO_SCSI_S_OVERRUN);
	assert_int_equal(vscsi_get_stats(t->s)->overrun, 5);
	/* A CDB longer than cdb_size: the driver shrank it to 6 bytes. */
	t->f->d.bus->config_write(&t->f->d, offsetof(struct virtio_scsi_config,
						      cdb_size), 4, 6);
	t->cdb_size = 6;
	cdb10(c, SCSI_READ_10, 0, 1);
	cmd(t, c, 10, NULL, 0, 512);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	cmd(t, tur, 6, NULL, 0, 0);
	expect_good(t);
	/* cdb_size 0: no command can be complete. */
	t->f->d.bus->config_write(&t->f->d, offsetof(struct virtio_scsi_config,
						      cdb_size), 4, 0);
	t->cdb_size = 0;
	cmd(t, tur, 6, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	/* Still serving afterwards. */
	assert_false(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	st_free(t);
}


static void test_task_management(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36 };
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	/* INQUIRY does not consume the unit attention; TUR reports it once. */
	cmd(t, inq, 6, NULL, 0, 36);
	expect_good(t);
	cmd(t, tur, 6, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_POWER_ON_RESET);
	cmd(t, tur, 6, NULL, 0, 0);
	expect_good(t);
	/* I_T nexus reset reaches every LU of the target, REQUEST SENSE
	 * returns and clears the unit attention. */
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	uint8_t rs[6] = { SCSI_REQUEST_SENSE, 0, 0, 0, 18 };
	cmd_to(t, 0, 2, rs, 6, NULL, 0, 18);
	expect_good(t);
	assert_int_equal(t->data[2], SCSI_SENSE_UNIT_ATTENTION);
	cmd_to(t, 0, 2, tur, 6, NULL, 0, 0);
	expect_good(t);
	cmd(t, tur, 6, NULL, 0, 0);
	expect_sense(t, SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_POWER_ON_RESET);
	/* Nothing is ever in flight: aborts and queries complete. */
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_ABORT_TASK_SET, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_COMPLETE);
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_CLEAR_ACA, 0, 0),
			 VIRTIO_SCSI_S_FUNCTION_REJECTED);
	assert_int_equal(tmf(t, 99, 0, 0), VIRTIO_SCSI_S_FUNCTION_REJECTED);
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 9, 0),
			 VIRTIO_SCSI_S_BAD_TARGET);
	assert_int_equal(tmf(t, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 0, 1),
			 VIRTIO_SCSI_S_INCORRECT_LUN);
	/* Asynchronous notification: none supported. */
	struct virtio_scsi_ctrl_an an = { .type = htole32(VIRTIO_SCSI_T_AN_QUERY) };
	lun_bytes(an.lun, 0, 0);
	an.event_requested = htole32(0xffffffffu);
	uint8_t ar[5];
	ctrl(t, &an, sizeof(an), sizeof(ar), ar);
	assert_int_equal(t->used, 5);
	assert_int_equal(ar[0] | ar[1] | ar[2] | ar[3], 0);
	assert_int_equal(ar[4], VIRTIO_SCSI_S_OK);
	/* Malformed: unknown type, short TMF, no response byte. */
	uint32_t bogus = htole32(77);
	uint8_t r = 0;
	ctrl(t, &bogus, 4, 1, &r);
	assert_int_equal(r, VIRTIO_SCSI_S_FAILURE);
	struct virtio_scsi_ctrl_tmf m = { .type = htole32(VIRTIO_SCSI_T_TMF) };
	ctrl(t, &m, 8, 1, &r);
	assert_int_equal(r, VIRTIO_SCSI_S_FAILURE);
	ctrl(t, &m, sizeof(m), 0, &r);
	assert_int_equal(t->used, 0);
	ctrl(t, NULL, 0, 1, &r);
	assert_int_equal(r, VIRTIO_SCSI_S_FAILURE);
	assert_int_equal(vscsi_get_stats(t->s)->tmfs, 9);
	/* A device reset is a bus reset: every LU raises the unit
	 * attention again. */
	vfx_start(t->f, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC), 3, QSZ);
	power_on_ua(t);
	st_free(t);
}


/* The event queue holds the driver's buffers: there is nothing to report. */
static void test_event_queue_held(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	uint64_t ev = vfx_alloc(t->f, VIRTIO_SCSI_EVENT_SIZE);
	struct vdq_buf b = { ev, VIRTIO_SCSI_EVENT_SIZE, true };
	vfx_add(t->f, VSCSI_EVENTQ, &b, 1);
	uint16_t id;
	uint32_t len;
	assert_int_equal(vfx_used(t->f, VSCSI_EVENTQ, &id, &len), 0);
	assert_int_equal(vdq_outstanding(&t->f->q[VSCSI_EVENTQ]), 1);
	st_free(t);
}


/* One kick handles VSCSI_KICK_BUDGET requests; the rest run when the
 * clock next fires timers, without another kick. */
static void test_kick_budget(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	const unsigned n = VSCSI_KICK_BUDGET + 20;
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr)->lun, 0, 0);   /* TUR */
	const uint32_t resp = sizeof(struct virtio_scsi_resp_cmd) + 96;
	const uint64_t before = vscsi_get_stats(t->s)->requests;
	/* Indirect chains: more requests than the ring has descriptors for
	 * direct two-descriptor chains. */
	for (unsigned i = 0; i < n; i++) {
		struct vdq_buf b[2] = {
			{ vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
			{ vfx_alloc(t->f, resp), resp, true },
		};
		assert_true(vdq_add(&t->f->q[RQ], b, 2, true) >= 0);
	}
	vdq_publish(&t->f->q[RQ]);
	vfx_kick(t->f, RQ);
	uint16_t id;
	uint32_t len;
	unsigned got = 0;
	while (vfx_used(t->f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, VSCSI_KICK_BUDGET);
	assert_int_equal(vscsi_get_stats(t->s)->deferred, 1);
	sim_clock_step(t->f->sim, 0);
	while (vfx_used(t->f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, n);
	assert_int_equal(vscsi_get_stats(t->s)->requests - before, n);
	st_free(t);
}


/* The byte budget: 32 MiB reads (the largest a command may move) stop
 * a kick after VSCSI_KICK_BYTES; the rest wait for the clock. */
static void test_kick_byte_budget(void **state)
{
	struct vfx *f = vfx_new(kind(state));
	/* A sim RAM big enough for three 32 MiB buffers. */
	sim_free(f->sim);
	struct sim_config sc = { .ram_size = 160ull << 20, .seed = 1, .log = f->log };
	f->sim = sim_new(&sc);
	assert_non_null(f->sim);
	struct blockdev *bd = blockdev_mem_new("big", 40ull << 20, true);
	struct vscsi_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f) };
	struct vscsi *s = vscsi_new(&c);
	struct vscsi_lun_config l = { .bd = bd };
	assert_int_equal(vscsi_add_lun(s, &l), 0);
	vfx_attach(f, vscsi_vdev(s));
	vfx_start(f, 0, 3, QSZ);
	const uint32_t rl = sizeof(struct virtio_scsi_resp_cmd) + 96, big = 32u << 20;
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr)->lun, 0, 0);
	uint8_t *cdb = hdr + sizeof(struct virtio_scsi_req_cmd);
	const uint64_t hdr_gpa = 100ull << 20;
	assert_int_equal(gm_write(vfx_gm(f), hdr_gpa, hdr, sizeof(hdr)), 0); /* TUR */
	cdb16(cdb, SCSI_READ_16, 0, big / 512);
	assert_int_equal(gm_write(vfx_gm(f), hdr_gpa + 64, hdr, sizeof(hdr)), 0);
	/* The power-on unit attention first, then three 32 MiB reads. */
	struct vdq_buf t0[2] = { { hdr_gpa, sizeof(hdr), false },
				 { hdr_gpa + 128, rl, true } };
	vfx_add(f, RQ, t0, 2);
	uint16_t id;
	uint32_t len;
	assert_int_equal(vfx_used(f, RQ, &id, &len), 1);
	for (unsigned i = 0; i < 3; i++) {
		struct vdq_buf b[3] = { { hdr_gpa + 64, sizeof(hdr), false },
					{ hdr_gpa + 256 + i * 256, rl, true },
					{ (16ull << 20) + i * (uint64_t)big, big, true } };
		vfx_add_nokick(f, RQ, b, 3);
	}
	vfx_kick(f, RQ);
	unsigned got = 0;
	while (vfx_used(f, RQ, &id, &len) == 1) {
		assert_int_equal(len, rl + big);
		got++;
	}
	assert_int_equal(got, 2);            /* 64 MiB: the budget */
	sim_clock_step(f->sim, 0);
	while (vfx_used(f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, 3);
	vfx_detach(f);
	vscsi_free(s);
	vfx_free(f);
	blockdev_close(bd);
}


static void test_throttle(void **state)
{
	struct st *t = st_new(kind(state), false, 10);   /* 10 iops, burst 1 */
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr)->lun, 0, 0);
	const uint32_t resp = sizeof(struct virtio_scsi_resp_cmd) + 96;
	for (unsigned i = 0; i < 3; i++) {
		struct vdq_buf b[2] = {
			{ vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
			{ vfx_alloc(t->f, resp), resp, true },
		};
		vfx_add_nokick(t->f, RQ, b, 2);
	}
	vfx_kick(t->f, RQ);
	uint16_t id;
	uint32_t len;
	unsigned got = 0;
	while (vfx_used(t->f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, 1);
	assert_true(vscsi_get_stats(t->s)->throttled >= 1);
	sim_clock_step(t->f->sim, 100000000ull);
	while (vfx_used(t->f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, 2);
	sim_clock_step(t->f->sim, 100000000ull);
	while (vfx_used(t->f, RQ, &id, &len) == 1)
		got++;
	assert_int_equal(got, 3);
	st_free(t);
}


/* One LU's empty iops bucket parks only the request queue that met it:
 * another LU's requests on another queue go on at once. */
static void test_throttle_one_queue(void **state)
{
	struct vfx *f = vfx_new(kind(state));
	struct blockdev *bd = blockdev_mem_new("d0", DISK, true);
	struct vscsi_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f),
				  .num_queues = 2 };
	struct vscsi *s = vscsi_new(&c);
	struct vscsi_lun_config slow = { .target = 0, .bd = bd, .iops_total = 10 };
	struct vscsi_lun_config fast = { .target = 1, .bd = bd };
	assert_int_equal(vscsi_add_lun(s, &slow), 0);
	assert_int_equal(vscsi_add_lun(s, &fast), 0);
	vfx_attach(f, vscsi_vdev(s));
	vfx_start(f, 0, 4, QSZ);
	const uint32_t rl = sizeof(struct virtio_scsi_resp_cmd) + 96;
	uint8_t hdr[2][sizeof(struct virtio_scsi_req_cmd) + 32] = { { 0 } };
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr[0])->lun, 0, 0);   /* TUR */
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr[1])->lun, 1, 0);
	for (unsigned i = 0; i < 3; i++) {
		struct vdq_buf b[2] = { { vfx_put(f, hdr[0], sizeof(hdr[0])), sizeof(hdr[0]), false },
					{ vfx_alloc(f, rl), rl, true } };
		vfx_add_nokick(f, RQ, b, 2);
	}
	vfx_kick(f, RQ);
	uint16_t id;
	uint32_t len;
	unsigned slow_done = 0;
	while (vfx_used(f, RQ, &id, &len) == 1)
		slow_done++;
	assert_int_equal(slow_done, 1);       /* the bucket holds one token */
	struct vdq_buf b[2] = { { vfx_put(f, hdr[1], sizeof(hdr[1])), sizeof(hdr[1]), false },
				{ vfx_alloc(f, rl), rl, true } };
	vfx_add(f, RQ + 1, b, 2);
	assert_int_equal(vfx_used(f, RQ + 1, &id, &len), 1);
	assert_int_equal(vfx_used(f, RQ, &id, &len), 0);
	sim_clock_step(f->sim, 200000000ull);
	while (vfx_used(f, RQ, &id, &len) == 1)
		slow_done++;
	assert_int_equal(slow_done, 3);
	vfx_detach(f);
	vscsi_free(s);
	vfx_free(f);
	blockdev_close(bd);
}

/* num_queues=3: three request queues (2, 3, 4), each served on its own
 * kick; more than VSCSI_MAX_REQ_QUEUES is refused. */
static void test_request_queues(void **state)
{
	struct vfx *f = vfx_new(kind(state));
	struct blockdev *bd = blockdev_mem_new("d0", DISK, false);
	memcpy(blockdev_mem_data(bd) + 512, "BLOCK-ONE", 9);
	struct vscsi_config c = { .gm = vfx_gm(f), .log = f->log, .clk = vfx_clk(f),
				  .num_queues = 3 };
	struct vscsi *s = vscsi_new(&c);
	assert_non_null(s);
	struct vscsi_lun_config l = { .target = 0, .lun = 0, .bd = bd };
	assert_int_equal(vscsi_add_lun(s, &l), 0);
	vfx_attach(f, vscsi_vdev(s));
	vfx_start(f, 0, 5, QSZ);
	assert_int_equal(vfx_cfg(f, offsetof(struct virtio_scsi_config, num_queues), 4), 3);
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr)->lun, 0, 0);
	uint8_t *cdb = hdr + sizeof(struct virtio_scsi_req_cmd);
	cdb10(cdb, SCSI_READ_10, 1, 1);
	const uint32_t rl = sizeof(struct virtio_scsi_resp_cmd) + 96;
	for (unsigned q = VSCSI_REQQ; q < VSCSI_REQQ + 3; q++) {
		uint64_t resp = vfx_alloc(f, rl), data = vfx_alloc(f, 512);
		struct vdq_buf b[3] = {
			{ vfx_put(f, hdr, sizeof(hdr)), sizeof(hdr), false },
			{ resp, rl, true }, { data, 512, true },
		};
		vfx_add(f, q, b, 3);
		uint16_t id;
		uint32_t len;
		assert_int_equal(vfx_used(f, q, &id, &len), 1);
		struct virtio_scsi_resp_cmd r;
		assert_int_equal(gm_read(vfx_gm(f), resp, &r, sizeof(r)), 0);
		uint8_t got[9];
		assert_int_equal(gm_read(vfx_gm(f), data, got, 9), 0);
		if (q == VSCSI_REQQ) {   /* the power-on unit attention */
			assert_int_equal(r.status, SCSI_STATUS_CHECK_CONDITION);
			continue;
		}
		assert_int_equal(r.status, SCSI_STATUS_GOOD);
		assert_int_equal(len, rl + 512);
		assert_memory_equal(got, "BLOCK-ONE", 9);
	}
	vfx_detach(f);
	vscsi_free(s);
	vfx_free(f);
	blockdev_close(bd);
	c.num_queues = VSCSI_MAX_REQ_QUEUES + 1;
	assert_null(vscsi_new(&c));
}


/* Guest memory that fails under the device: a data-in page that cannot
 * be written is a medium error (the bounce path), a response header that
 * cannot be written drops the request; a ring the guest breaks sets
 * DEVICE_NEEDS_RESET. */
static void test_hostile_memory(void **state)
{
	struct st *t = st_new(kind(state), false, 0);
	struct gm *gm = (struct gm *)vfx_gm(t->f);
	const uint32_t rl = sizeof(struct virtio_scsi_resp_cmd) + 96;
	uint8_t hdr[sizeof(struct virtio_scsi_req_cmd) + 32] = { 0 };
	lun_bytes(((struct virtio_scsi_req_cmd *)hdr)->lun, 0, 0);
	uint8_t *cdb = hdr + sizeof(struct virtio_scsi_req_cmd);
	cdb10(cdb, SCSI_READ_10, 0, 8);
	uint64_t resp = vfx_alloc(t->f, rl);
	uint64_t data = (vfx_alloc(t->f, 3 * 4096) + 4095) & ~4095ull;
	assert_int_equal(gm_inject_fault(gm, data + 4096, 4096, GM_FAULT_WRITE), 0);
	struct vdq_buf b[3] = { { vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
				{ resp, rl, true }, { data + 2048, 4096, true } };
	vfx_add(t->f, RQ, b, 3);
	uint16_t id;
	assert_int_equal(vfx_used(t->f, RQ, &id, &t->used), 1);
	assert_int_equal(gm_read(gm, resp, &t->r, sizeof(t->r)), 0);
	assert_int_equal(gm_read(gm, resp + sizeof(t->r), t->sense, 18), 0);
	expect_sense(t, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_READ_ERROR);
	/* Data-out from an unreadable page: a write error; the disk keeps
	 * what the faulting page would have written. */
	assert_int_equal(gm_inject_fault(gm, data + 4096, 4096, GM_FAULT_READ), 0);
	cdb10(cdb, SCSI_WRITE_10, 0, 8);
	uint8_t before = blockdev_mem_data(t->bd)[2048];
	struct vdq_buf w[3] = { { vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
				{ data + 2048, 4096, false }, { resp, rl, true } };
	vfx_add(t->f, RQ, w, 3);
	assert_int_equal(vfx_used(t->f, RQ, &id, &t->used), 1);
	assert_int_equal(gm_read(gm, resp, &t->r, sizeof(t->r)), 0);
	assert_int_equal(gm_read(gm, resp + sizeof(t->r), t->sense, 18), 0);
	expect_sense(t, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
	assert_int_equal(blockdev_mem_data(t->bd)[2048], before);
	/* The response header (or the sense after it) in a faulting page:
	 * nothing can be said, the chain comes back unwritten. */
	uint64_t bad = data + 4096;
	uint8_t unk[6] = { 0x02 };
	memcpy(cdb, unk, 6);
	struct vdq_buf r1[2] = { { vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
				 { bad, rl, true } };
	vfx_add(t->f, RQ, r1, 2);
	assert_int_equal(vfx_used(t->f, RQ, &id, &t->used), 1);
	assert_int_equal(t->used, 0);
	struct vdq_buf r2[3] = { { vfx_put(t->f, hdr, sizeof(hdr)), sizeof(hdr), false },
				 { resp, sizeof(struct virtio_scsi_resp_cmd), true },
				 { bad, 96, true } };
	vfx_add(t->f, RQ, r2, 3);
	assert_int_equal(vfx_used(t->f, RQ, &id, &t->used), 1);
	assert_int_equal(t->used, 0);
	/* The same on the control queue. */
	struct virtio_scsi_ctrl_tmf m = { .type = htole32(VIRTIO_SCSI_T_TMF) };
	lun_bytes(m.lun, 0, 0);
	struct vdq_buf c1[2] = { { vfx_put(t->f, &m, sizeof(m)), sizeof(m), false },
				 { bad, 1, true } };
	vfx_add(t->f, VSCSI_CTRLQ, c1, 2);
	assert_int_equal(vfx_used(t->f, VSCSI_CTRLQ, &id, &t->used), 1);
	assert_int_equal(t->used, 0);
	assert_int_equal(vscsi_get_stats(t->s)->dropped, 3);
	assert_false(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* An avail index far ahead of the ring: the ring is broken. */
	if (!t->f->q[RQ].packed) {
		assert_int_equal(vdq_raw_avail_idx(&t->f->q[RQ],
			(uint16_t)(t->f->q[RQ].avail_idx + QSZ + 1)), 0);
		vfx_kick(t->f, RQ);
		assert_true(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	}
	st_free(t);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_config),
		BOTH(test_addressing),
		BOTH(test_hostile_chains),
		BOTH(test_task_management),
		BOTH(test_event_queue_held),
		BOTH(test_kick_budget),
		BOTH(test_kick_byte_budget),
		BOTH(test_throttle),
		BOTH(test_request_queues),
		BOTH(test_throttle_one_queue),
		BOTH(test_hostile_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
