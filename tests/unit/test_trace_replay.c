/* Record, then replay, in the simulator: a scenario that drives the
 * 16550 (output, input with its interrupt), the RTC (time, periodic
 * interrupt), the PIT (rate generator on IRQ0, latched count) and
 * virtio-blk (read and write over virtio-mmio) is recorded through the
 * real recorder, replayed through vmm-replay's engine, and must match;
 * the recording is byte-identical twice over; a trace with one byte of a
 * device read changed is reported at the right record; a recording cut
 * short by the size limit still replays up to where it stops; a run the
 * guest CPU ended replays whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/chardev.h"
#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "core/trace.h"
#include "machine/board.h"
#include "devices/rtc.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/virtio.h"
#include "sim/replay.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "vblk_fixture.h"

#define EPOCH 1767225600ll

struct fix {
	char disk[64];
	char trace[64];
	char *argv[16];
	int argc;
	char drive[128];
	bool cpu_end;   /* end the recording as a KVM vCPU does on an error */
	bool fire_after_end;   /* and a device timer fires before the loop
				* sees the request */
};

static void mk_tmp(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "/tmp/test_trace_replay_%s_XXXXXX", what);
	int fd = mkstemp(buf);
	assert_true(fd >= 0);
	if (!strcmp(what, "disk")) {
		uint8_t sec[4096];
		for (unsigned i = 0; i < sizeof(sec); i++)
			sec[i] = (uint8_t)(i * 7 + 3);
		memcpy(sec, "TRACE-DISK-SECTOR-0", 19);
		assert_int_equal(write(fd, sec, sizeof(sec)), (ssize_t)sizeof(sec));
		assert_int_equal(ftruncate(fd, 1 << 20), 0);
	}
	close(fd);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	mk_tmp(f->disk, sizeof(f->disk), "disk");
	mk_tmp(f->trace, sizeof(f->trace), "trace");
	snprintf(f->drive, sizeof(f->drive), "id=d0,file=%s", f->disk);
	char *a[] = { "vmm", "-machine", "microvm,accel=sim", "-m", "64M",
		      "-serial", "stdio", "-drive", f->drive, "-device",
		      "virtio-blk-device,drive=d0", NULL };
	for (f->argc = 0; a[f->argc]; f->argc++)
		f->argv[f->argc] = a[f->argc];
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	unlink(f->disk);
	unlink(f->trace);
	free(f);
	return 0;
}

/* ---- the scenario (the test plays the guest) ---- */

static uint8_t cmos(struct sim *s, unsigned idx)
{
	sim_pio_write(s, 0x70, 1, idx);
	return (uint8_t)sim_pio_read(s, 0x71, 1);
}

static void drive_serial(struct sim *s, struct chr *com1)
{
	static const char msg[] = "trace\r\n";
	sim_pio_write(s, 0x3f8 + 1, 1, 0x01);   /* IER: received data */
	for (size_t i = 0; i < sizeof(msg) - 1; i++) {
		unsigned spins = 0;
		while (!(sim_pio_read(s, 0x3f8 + 5, 1) & 0x20) && spins++ < 100)
			sim_clock_step(s, 100000);
		sim_pio_write(s, 0x3f8, 1, (uint8_t)msg[i]);
	}
	uint8_t out[16];
	assert_int_equal(chr_mem_take_output(com1, out, sizeof(out)), sizeof(msg) - 1);
	chr_mem_push_input(com1, (const uint8_t *)"xyz", 3);
	char got[4] = "";
	for (int i = 0; i < 3; i++) {
		if (sim_pio_read(s, 0x3f8 + 5, 1) & 0x01)
			got[i] = (char)sim_pio_read(s, 0x3f8, 1);
	}
	assert_string_equal(got, "xyz");
}

static void drive_rtc(struct sim *s)
{
	sim_clock_step(s, 600000000ull);
	assert_true(cmos(s, RTC_YEAR) != 0xff);
	(void)cmos(s, RTC_SECONDS);
	/* Periodic interrupt at 1024 Hz (rate 6) for 10 ms. */
	sim_pio_write(s, 0x70, 1, RTC_REG_A);
	sim_pio_write(s, 0x71, 1, 0x26);
	sim_pio_write(s, 0x70, 1, RTC_REG_B);
	sim_pio_write(s, 0x71, 1, RTC_B_PIE | RTC_B_24H);
	for (int i = 0; i < 10; i++) {
		sim_clock_step(s, 1000000);
		(void)cmos(s, RTC_REG_C);   /* acknowledge */
	}
	sim_pio_write(s, 0x70, 1, RTC_REG_B);
	sim_pio_write(s, 0x71, 1, RTC_B_24H);
	sim_clock_step(s, 1000000000ull);
	(void)cmos(s, RTC_SECONDS);
}

static void drive_pit(struct sim *s)
{
	/* Channel 0, lobyte/hibyte, mode 2, divisor 1193 (~1 ms). */
	sim_pio_write(s, 0x43, 1, 0x34);
	sim_pio_write(s, 0x40, 1, 1193 & 0xff);
	sim_pio_write(s, 0x40, 1, 1193 >> 8);
	uint64_t edges = s->gsi_edges[0];
	sim_clock_step(s, 10000000);
	assert_true(s->gsi_edges[0] >= edges + 5);
	sim_pio_write(s, 0x43, 1, 0x00);   /* latch channel 0 */
	(void)sim_pio_read(s, 0x40, 1);
	(void)sim_pio_read(s, 0x40, 1);
	sim_pio_write(s, 0x43, 1, 0x30);   /* mode 0, stop the rate generator */
}

static void drive_blk(struct sim *s, const struct layout *l)
{
	struct vdriver d;
	struct vdq vq;
	vblkfx_mmio_start(s, l, &d, &vq);
	uint64_t buf = vdriver_alloc(&d, 512, 16);
	vblkfx_req(s, &d, &vq, VIRTIO_BLK_T_IN, 0, buf);
	char sig[20] = "";
	gm_read(s->m.gm, buf, sig, 19);
	assert_string_equal(sig, "TRACE-DISK-SECTOR-0");
	gm_write(s->m.gm, buf, "written by the guest", 20);
	vblkfx_req(s, &d, &vq, VIRTIO_BLK_T_OUT, 1, buf);
}

/* Record the scenario into f->trace with the given size limit. */
static void record(struct fix *f, uint64_t limit)
{
	char err[512];
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	struct layout l;
	assert_int_equal(config_parse(cfg, f->argc, f->argv, err, sizeof(err)), 0);
	assert_int_equal(layout_build(&l, cfg, err, sizeof(err)), 0);
	struct sim_config sc = { .ram_size = l.ram[0].size, .seed = cfg->seed };
	struct sim *s = sim_new(&sc);
	struct chr *com1 = chr_mem_new("com1", 0);
	assert_non_null(s);
	struct board_host host = { .wall_epoch = EPOCH };
	host.serial[0] = com1;
	struct trace_rec *tr = trace_rec_open(f->trace, f->argc, f->argv, cfg,
					      false, limit, NULL, err, sizeof(err));
	if (!tr)
		fail_msg("%s", err);
	assert_int_equal(board_trace_attach(&host, &s->m, tr, err, sizeof(err)), 0);
	struct board *b = board_new(&s->m, cfg, &l, &host, err, sizeof(err));
	if (!b)
		fail_msg("%s", err);
	trace_rec_start(tr);
	drive_serial(s, com1);
	drive_rtc(s);
	drive_pit(s);
	drive_blk(s, &l);
	/* What kvm_vcpu.c does on KVM_EXIT_INTERNAL_ERROR: the CPU, not a
	 * device, asks for the end, outside any bus access. */
	if (f->fire_after_end) {
		/* PIT channel 0 as a ~1 ms rate generator again. */
		sim_pio_write(s, 0x43, 1, 0x34);
		sim_pio_write(s, 0x40, 1, 1193 & 0xff);
		sim_pio_write(s, 0x40, 1, 1193 >> 8);
	}
	if (f->cpu_end)
		machine_request(&s->m.ctl, MACHINE_ERROR, 1);
	if (f->fire_after_end)
		sim_clock_step(s, 5000000);
	trace_rec_finish(tr);
	board_free(b);
	err[0] = '\0';
	trace_rec_close(tr, err, sizeof(err));
	sim_free(s);
	chr_close(com1);
	free(cfg);
}

static size_t find_kind(const struct trace_reader *r, unsigned kind, size_t from)
{
	for (size_t i = from; i < r->nev; i++)
		if (r->ev[i].kind == kind)
			return i;
	return SIZE_MAX;
}

static bool has_irq(const struct trace_reader *r, unsigned gsi)
{
	for (size_t i = 0; i < r->nev; i++)
		if (r->ev[i].kind == TR_IRQ && r->ev[i].a == gsi && r->ev[i].b == 1)
			return true;
	return false;
}

static void test_record_replay_match(void **state)
{
	struct fix *f = *state;
	char err[512];
	record(f, 0);
	struct trace_reader r;
	if (trace_reader_open(&r, f->trace, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	/* What the scenario must have put in the trace. */
	assert_true(find_kind(&r, TR_BLK_READ, 0) != SIZE_MAX);
	assert_true(find_kind(&r, TR_BLK_WRITE, 0) != SIZE_MAX);
	assert_true(find_kind(&r, TR_CHR_IN_BEGIN, 0) != SIZE_MAX);
	assert_true(find_kind(&r, TR_CHR_WRITE, 0) != SIZE_MAX);
	assert_true(find_kind(&r, TR_GM_READ, 0) != SIZE_MAX);
	assert_true(find_kind(&r, TR_GM_WRITE, 0) != SIZE_MAX);
	assert_true(find_kind(&r, TR_TIMER_BEGIN, 0) != SIZE_MAX);
	assert_true(find_kind(&r, TR_CLK_READ, 0) != SIZE_MAX);
	assert_true(has_irq(&r, 0));   /* PIT */
	assert_true(has_irq(&r, 4));   /* COM1 */
	assert_true(has_irq(&r, 8));   /* RTC */
	struct replay_result res;
	assert_int_equal(replay_run(&r, NULL, &res, err, sizeof(err)), 0);
	if (res.diverged)
		fail_msg("diverged at %zu: %s", res.event, res.msg);
	assert_false(res.partial);
	if (res.accesses < 90 || res.deliveries < 40)
		fail_msg("%zu accesses, %zu deliveries", res.accesses, res.deliveries);
	assert_int_equal(res.events, r.nev - 1);   /* all but TR_EOF */
	trace_reader_close(&r);
}

/* The same scenario records the same bytes. */
static void test_record_deterministic(void **state)
{
	struct fix *f = *state;
	char err[512];
	record(f, 0);
	struct trace_reader a, b;
	assert_int_equal(trace_reader_open(&a, f->trace, err, sizeof(err)), 0);
	uint8_t *copy = malloc(a.len);
	memcpy(copy, a.data, a.len);
	size_t len = a.len;
	trace_reader_close(&a);
	record(f, 0);
	assert_int_equal(trace_reader_open(&b, f->trace, err, sizeof(err)), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.data, copy, len);
	trace_reader_close(&b);
	free(copy);
}

/* Replay a patched copy of the trace; return the result. */
static struct replay_result replay_patched(struct fix *f,
					   void (*patch)(struct trace_reader *r,
							 uint8_t *buf, void *arg),
					   void *arg)
{
	char err[512];
	struct trace_reader r;
	assert_int_equal(trace_reader_open(&r, f->trace, err, sizeof(err)), 0);
	uint8_t *buf = malloc(r.len);
	memcpy(buf, r.data, r.len);
	struct trace_reader p;
	assert_int_equal(trace_reader_parse(&p, buf, r.len, err, sizeof(err)), 0);
	patch(&p, buf, arg);
	trace_reader_close(&p);
	assert_int_equal(trace_reader_parse(&p, buf, r.len, err, sizeof(err)), 0);
	struct replay_result res;
	assert_int_equal(replay_run(&p, NULL, &res, err, sizeof(err)), 0);
	trace_reader_close(&p);
	trace_reader_close(&r);
	free(buf);
	return res;
}

/* Record, replay with `patch` applied (it stores the index of the record
 * it changed in *arg), and expect replay to diverge at exactly that record
 * with a message containing `msg`. */
static struct replay_result diverge_at_patch(struct fix *f,
					     void (*patch)(struct trace_reader *r,
							   uint8_t *buf, void *arg),
					     const char *msg)
{
	record(f, 0);
	size_t idx = SIZE_MAX;
	struct replay_result res = replay_patched(f, patch, &idx);
	assert_true(res.diverged);
	assert_int_equal(res.event, idx);
	assert_non_null(strstr(res.msg, msg));
	return res;
}

struct blk_patch {
	size_t read_idx, write_idx;
	unsigned byte;
};

/* Flip one byte of the first block read's data: the device copies it to
 * guest memory, so the first guest-memory write after it must differ. */
static void patch_blk(struct trace_reader *r, uint8_t *buf, void *arg)
{
	struct blk_patch *bp = arg;
	bp->read_idx = find_kind(r, TR_BLK_READ, 0);
	assert_true(bp->read_idx != SIZE_MAX);
	bp->write_idx = find_kind(r, TR_GM_WRITE, bp->read_idx);
	assert_true(bp->write_idx != SIZE_MAX);
	size_t off = (size_t)(r->payload[bp->read_idx] - r->data);
	buf[off + bp->byte] ^= 0x20;
}

static void test_divergence_device_read(void **state)
{
	struct fix *f = *state;
	record(f, 0);
	struct blk_patch bp = { .byte = 2 };
	struct replay_result res = replay_patched(f, patch_blk, &bp);
	assert_true(res.diverged);
	assert_int_equal(res.event, bp.write_idx);
	assert_non_null(strstr(res.msg, "expected gm-write"));
	assert_non_null(strstr(res.msg, "byte 2 = 0x41, got 0x61"));  /* A vs a */
	assert_int_equal(res.events, bp.write_idx);
}

/* Change what the recording says the first LSR read returned: the bus
 * read result of the replayed device differs at exactly that record. */
static void patch_lsr(struct trace_reader *r, uint8_t *buf, void *arg)
{
	size_t *idx = arg;
	for (size_t i = find_kind(r, TR_START, 0); i < r->nev; i++)
		if (r->ev[i].kind == TR_BUS && r->ev[i].a == 0x3fd && !r->ev[i].d) {
			*idx = i;
			buf[r->payload[i] - r->data] ^= 0x01;
			return;
		}
	fail_msg("no LSR read in the trace");
}

static void test_divergence_bus_read(void **state)
{
	struct replay_result res = diverge_at_patch(
		*state, patch_lsr, "expected bus pio 0x3fd read 1 byte(s) 0x61");
	assert_non_null(strstr(res.msg, "got 0x60"));
}

/* File offset of record idx's header (the reader copies headers). */
static size_t rec_file_off(const struct trace_reader *r, size_t idx)
{
	size_t off = sizeof(struct trace_file_hdr) + ((r->dtb_size + 7u) & ~7u);
	for (size_t i = 0; i < idx; i++)
		off += sizeof(struct trace_ev) + ((r->ev[i].size + 7u) & ~7u);
	return off;
}

/* Set field a of the first `kind` record after start to `a`; its index. */
static size_t set_a_after_start(struct trace_reader *r, uint8_t *buf,
				uint16_t kind, uint64_t a)
{
	size_t idx = find_kind(r, kind, find_kind(r, TR_START, 0));
	assert_true(idx != SIZE_MAX);
	memcpy(buf + rec_file_off(r, idx) + offsetof(struct trace_ev, a), &a,
	       sizeof(a));
	return idx;
}

/* Make the recording say the first interrupt after start went to another
 * line: the replayed device raises the real one, at that record. */
static void patch_irq(struct trace_reader *r, uint8_t *buf, void *arg)
{
	*(size_t *)arg = set_a_after_start(r, buf, TR_IRQ, 13);
}

static void test_divergence_irq(void **state)
{
	diverge_at_patch(*state, patch_irq, "expected irq gsi 13");
}

/* A timer firing for a timer no device armed under that id. */
static void patch_timer(struct trace_reader *r, uint8_t *buf, void *arg)
{
	*(size_t *)arg = set_a_after_start(r, buf, TR_TIMER_BEGIN, 200);
}

static void test_divergence_timer(void **state)
{
	diverge_at_patch(*state, patch_timer, "timer 200 to be armed");
}

/* While the board is built: the recording's first clock read turned
 * into an interrupt the device never raises. */
static void patch_construction(struct trace_reader *r, uint8_t *buf, void *arg)
{
	size_t *idx = arg;
	*idx = find_kind(r, TR_CLK_READ, 0);
	assert_true(*idx < find_kind(r, TR_START, 0));
	uint16_t kind = TR_IRQ;
	uint64_t zero = 0;
	size_t off = rec_file_off(r, *idx);
	memcpy(buf + off + offsetof(struct trace_ev, kind), &kind, sizeof(kind));
	memcpy(buf + off + offsetof(struct trace_ev, a), &zero, sizeof(zero));
}

static void test_divergence_construction(void **state)
{
	diverge_at_patch(*state, patch_construction,
			 "expected irq gsi 0 level 0, got a clock read");
}

/* The trace declares its drive under another id: the rebuilt machine
 * cannot get its backend, and replay says so instead of running. */
static void test_backend_missing(void **state)
{
	struct fix *f = *state;
	char err[512];
	record(f, 0);
	struct trace_reader r;
	assert_int_equal(trace_reader_open(&r, f->trace, err, sizeof(err)), 0);
	uint8_t *buf = malloc(r.len);
	memcpy(buf, r.data, r.len);
	for (size_t i = 0; i < r.nev; i++)
		if (r.ev[i].kind == TR_BACKEND && r.ev[i].a == TRACE_BK_BLOCK)
			buf[r.payload[i] - r.data] = 'x';
	struct trace_reader p;
	assert_int_equal(trace_reader_parse(&p, buf, r.len, err, sizeof(err)), 0);
	struct replay_result res;
	assert_int_equal(replay_run(&p, NULL, &res, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-drive id=d0: no backend to replay"));
	trace_reader_close(&p);
	trace_reader_close(&r);
	free(buf);
}

/* Recording cut short by the size limit: replay checks up to there. */
static void test_limit_partial(void **state)
{
	struct fix *f = *state;
	char err[512];
	record(f, 16384);
	struct trace_reader r;
	assert_int_equal(trace_reader_open(&r, f->trace, err, sizeof(err)), 0);
	assert_true(r.stopped);
	assert_true(r.len <= 16384);
	struct replay_result res;
	assert_int_equal(replay_run(&r, NULL, &res, err, sizeof(err)), 0);
	if (res.diverged)
		fail_msg("diverged at %zu: %s", res.event, res.msg);
	assert_true(res.partial);
	assert_true(res.accesses > 10);
	trace_reader_close(&r);
}

/* A run the guest CPU ended (KVM internal error): the trace ends with a
 * machine request no access claims.  It is the run's end, not an access
 * cut short: the whole trace is checked and replay says how it ended. */
static void test_cpu_end(void **state)
{
	struct fix *f = *state;
	char err[512];
	f->cpu_end = true;
	record(f, 0);
	struct trace_reader r;
	assert_int_equal(trace_reader_open(&r, f->trace, err, sizeof(err)), 0);
	assert_int_equal(r.ev[r.nev - 2].kind, TR_REQUEST);
	struct replay_result res;
	assert_int_equal(replay_run(&r, NULL, &res, err, sizeof(err)), 0);
	if (res.diverged)
		fail_msg("diverged at %zu: %s", res.event, res.msg);
	assert_false(res.partial);
	assert_true(res.cpu_end);
	assert_int_equal(res.cpu_event, MACHINE_ERROR);
	assert_int_equal(res.cpu_status, 1);
	assert_int_equal(res.events, r.nev - 1);   /* all but TR_EOF */
	trace_reader_close(&r);
}

/* Under KVM the loop may fire a due device timer between a vCPU's
 * request and seeing it end the run: the request is still the CPU's
 * end, and the firings after it replay. */
static void test_cpu_end_then_timer(void **state)
{
	struct fix *f = *state;
	char err[512];
	f->cpu_end = true;
	f->fire_after_end = true;
	record(f, 0);
	struct trace_reader r;
	assert_int_equal(trace_reader_open(&r, f->trace, err, sizeof(err)), 0);
	size_t req = SIZE_MAX;
	for (size_t i = 0; i < r.nev; i++)
		if (r.ev[i].kind == TR_REQUEST)
			req = i;
	assert_true(req != SIZE_MAX);
	assert_int_equal(r.ev[req + 1].kind, TR_TIMER_BEGIN);
	struct replay_result res;
	assert_int_equal(replay_run(&r, NULL, &res, err, sizeof(err)), 0);
	if (res.diverged)
		fail_msg("diverged at %zu: %s", res.event, res.msg);
	assert_false(res.partial);
	assert_true(res.cpu_end);
	assert_int_equal(res.cpu_event, MACHINE_ERROR);
	assert_int_equal(res.events, r.nev - 1);
	trace_reader_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_replay_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_deterministic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divergence_device_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divergence_bus_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divergence_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divergence_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divergence_construction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_end_then_timer, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
