/* A trace across a guest reset (issue 18 item 7): the recorder writes a
 * reset record where the machine is torn down and built again from its
 * description (what kvm/kvm_machine.c does on a guest reset), and replay
 * rebuilds its board there and goes on.  Recorded here in the simulator
 * the way the KVM loop does it -- trace_rec_reset, board freed, new
 * buses, the board built again and attached (same backends, a new wall
 * clock), trace_rec_start -- with serial output and input, CMOS reads and
 * a virtio-blk read in both boots; the trace must replay whole, backends
 * keep their indexes (no second declaration) and timer ids start again
 * at 0.  Then the reader and replay on hostile variants: a reset record
 * before the start record, inside a delivery, in a version 1 trace, out
 * of sequence, a second start without a reset, a recording that ends
 * during the rebuild, a rebuild that does something else than recorded,
 * a state record whose stream is corrupt or stands before the start. */
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
#include "core/snapshot.h"
#include "core/trace.h"
#include "devices/rtc.h"
#include "machine/board.h"
#include "sim/replay.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "vblk_fixture.h"

#define EPOCH 1767225600ll

struct fix {
	char disk[64], trace[64], out[64];
	char *argv[16];
	int argc;
	char drive[128];
};

static void mk_tmp(char *buf, size_t len, const char *what, bool disk)
{
	snprintf(buf, len, "/tmp/test_trace_reset_%s_XXXXXX", what);
	int fd = mkstemp(buf);
	assert_true(fd >= 0);
	if (disk) {
		uint8_t sec[512] = "RESET-DISK-SECTOR-0";
		assert_int_equal(write(fd, sec, sizeof(sec)), (ssize_t)sizeof(sec));
		assert_int_equal(ftruncate(fd, 1 << 20), 0);
	}
	close(fd);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	mk_tmp(f->disk, sizeof(f->disk), "disk", true);
	mk_tmp(f->trace, sizeof(f->trace), "trace", false);
	mk_tmp(f->out, sizeof(f->out), "out", false);
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
	unlink(f->out);
	free(f);
	return 0;
}

/* ---- one boot's guest activity (the test plays the guest) ---- */

static uint8_t cmos(struct sim *s, unsigned idx)
{
	sim_pio_write(s, 0x70, 1, idx);
	return (uint8_t)sim_pio_read(s, 0x71, 1);
}

static void boot_activity(struct sim *s, const struct layout *l, struct chr *com1)
{
	sim_pio_write(s, 0x3f8 + 1, 1, 0x01);   /* IER: received data */
	for (const char *p = "boot\r\n"; *p; p++)
		sim_pio_write(s, 0x3f8, 1, (uint8_t)*p);
	uint8_t out[16];
	assert_int_equal(chr_mem_take_output(com1, out, sizeof(out)), 6);
	/* Input through the backend the rebuilt machine hooked again. */
	chr_mem_push_input(com1, (const uint8_t *)"k", 1);
	assert_true(sim_pio_read(s, 0x3f8 + 5, 1) & 0x01);
	assert_int_equal(sim_pio_read(s, 0x3f8, 1), 'k');
	sim_clock_step(s, 600000000ull);
	(void)cmos(s, RTC_SECONDS);
	(void)cmos(s, RTC_YEAR);
	struct vdriver d;
	struct vdq vq;
	vblkfx_mmio_start(s, l, &d, &vq);
	uint64_t buf = vdriver_alloc(&d, 512, 16);
	vblkfx_req(s, &d, &vq, VIRTIO_BLK_T_IN, 0, buf);
	char sig[20] = "";
	gm_read(s->m.gm, buf, sig, 19);
	assert_string_equal(sig, "RESET-DISK-SECTOR-0");
}

/* Two boots with a reset between them, as kvm_machine_run does it. */
static void record_two_boots(struct fix *f)
{
	char err[512];
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	struct layout l;
	assert_int_equal(config_parse(cfg, f->argc, f->argv, err, sizeof(err)), 0);
	assert_int_equal(layout_build(&l, cfg, err, sizeof(err)), 0);
	struct sim_config sc = { .ram_size = l.ram[0].size, .seed = cfg->seed };
	struct sim *s = sim_new(&sc);
	struct chr *com1 = chr_mem_new("com1", 0);   /* kept across the reset */
	assert_non_null(s);
	struct trace_rec *tr = trace_rec_open(f->trace, f->argc, f->argv, cfg,
					      false, 0, NULL, err, sizeof(err));
	if (!tr)
		fail_msg("%s", err);
	struct board_host host = { .wall_epoch = EPOCH };
	host.serial[0] = com1;
	assert_int_equal(board_trace_attach(&host, &s->m, tr, err, sizeof(err)), 0);
	struct board *b = board_new(&s->m, cfg, &l, &host, err, sizeof(err));
	if (!b)
		fail_msg("%s", err);
	trace_rec_start(tr);
	boot_activity(s, &l, com1);

	/* The guest reset: the machine is rebuilt from its description. */
	assert_true(trace_rec_reset(tr));
	board_free(b);
	sim_renew_buses(s);
	/* The second boot reads the wall clock again (the RTC's base). */
	struct board_host host2 = { .wall_epoch = EPOCH + 3600 };
	host2.serial[0] = com1;
	assert_int_equal(board_trace_attach(&host2, &s->m, tr, err, sizeof(err)), 0);
	b = board_new(&s->m, cfg, &l, &host2, err, sizeof(err));
	if (!b)
		fail_msg("%s", err);
	trace_rec_start(tr);
	boot_activity(s, &l, com1);

	trace_rec_finish(tr);
	board_free(b);
	assert_int_equal(trace_rec_close(tr, err, sizeof(err)), 0);
	sim_free(s);
	chr_close(com1);
	free(cfg);
}

static void replay_file(const char *path, struct replay_result *res)
{
	struct trace_reader r;
	char err[512];
	if (trace_reader_open(&r, path, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(replay_run(&r, NULL, res, err, sizeof(err)), 0);
	trace_reader_close(&r);
}

static size_t find_kind(const struct trace_reader *r, unsigned kind, size_t from)
{
	for (size_t i = from; i < r->nev; i++)
		if (r->ev[i].kind == kind)
			return i;
	return SIZE_MAX;
}

static void test_reset_replays(void **state)
{
	struct fix *f = *state;
	record_two_boots(f);
	struct trace_reader r;
	char err[512];
	if (trace_reader_open(&r, f->trace, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(r.version, TRACE_VERSION);
	size_t s1 = find_kind(&r, TR_START, 0), rs = find_kind(&r, TR_RESET, 0);
	assert_true(s1 != SIZE_MAX && rs != SIZE_MAX && rs > s1);
	assert_int_equal(r.ev[rs].a, 2);
	size_t s2 = find_kind(&r, TR_START, rs);
	assert_true(s2 != SIZE_MAX);
	assert_int_equal(find_kind(&r, TR_RESET, rs + 1), SIZE_MAX);
	/* The rebuilt machine's wall clock, and no backend declared twice. */
	size_t h2 = find_kind(&r, TR_HOST, rs);
	assert_true(h2 < s2);
	assert_int_equal((int64_t)r.ev[h2].a, EPOCH + 3600);
	assert_int_equal(find_kind(&r, TR_BACKEND, rs), SIZE_MAX);
	/* Timer ids start again at 0 on the rebuilt machine. */
	size_t t2 = find_kind(&r, TR_TIMER_ARM, rs);
	assert_true(t2 != SIZE_MAX);
	assert_int_equal(r.ev[t2].a, 0);
	trace_reader_close(&r);

	struct replay_result res;
	replay_file(f->trace, &res);
	if (res.diverged)
		fail_msg("diverged at %zu: %s", res.event, res.msg);
	assert_false(res.partial);
	assert_int_equal(res.resets, 1);
	assert_true(res.accesses > 20);
}

/* A machine that never started, or a trace that ended at a host limit,
 * cannot go on: trace_rec_reset finishes it and says so. */
static void test_reset_needs_a_started_machine(void **state)
{
	struct fix *f = *state;
	char err[512];
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	struct layout l;
	assert_int_equal(config_parse(cfg, f->argc, f->argv, err, sizeof(err)), 0);
	assert_int_equal(layout_build(&l, cfg, err, sizeof(err)), 0);
	struct sim_config sc = { .ram_size = l.ram[0].size, .seed = cfg->seed };
	struct sim *s = sim_new(&sc);
	assert_non_null(s);
	assert_false(trace_rec_reset(NULL));
	struct trace_rec *tr = trace_rec_open(f->trace, f->argc, f->argv, cfg,
					      false, 0, NULL, err, sizeof(err));
	assert_non_null(tr);
	struct board_host host = { .wall_epoch = EPOCH };
	assert_int_equal(board_trace_attach(&host, &s->m, tr, err, sizeof(err)), 0);
	struct board *b = board_new(&s->m, cfg, &l, &host, err, sizeof(err));
	assert_non_null(b);
	assert_false(trace_rec_reset(tr));   /* built, never started */
	board_free(b);
	assert_int_equal(trace_rec_close(tr, err, sizeof(err)), 0);
	struct trace_reader r;
	if (trace_reader_open(&r, f->trace, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(find_kind(&r, TR_RESET, 0), SIZE_MAX);
	trace_reader_close(&r);
	sim_free(s);
	free(cfg);
}

/* ---- hostile variants, rewritten from the recording ---- */

/* Rewrite the recording into f->out: records [0, nev) minus the EOF,
 * each through edit (which may change the copy, or return false to drop
 * it; inserts go through extra, written before record `at`). */
struct edit {
	size_t drop;                       /* SIZE_MAX: none */
	size_t at;                         /* insert before this record */
	struct trace_ev ins;
	const void *ins_payload;
	size_t patch;                      /* record whose header changes */
	struct trace_ev patched;
	const void *patched_payload;       /* NULL: keep the payload */
	uint32_t version;                  /* 0: keep */
};

static void rewrite(const struct fix *f, const struct edit *ed)
{
	struct trace_reader r;
	char err[512];
	if (trace_reader_open(&r, f->trace, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	struct trace_writer *w = trace_writer_open(f->out, r.dtb, r.dtb_size,
						   r.flags, 0, err, sizeof(err));
	if (!w)
		fail_msg("%s", err);
	for (size_t i = 0; i < r.nev; i++) {
		if (i == ed->at)
			assert_int_equal(trace_writer_add(w, &ed->ins, ed->ins_payload), 0);
		if (r.ev[i].kind == TR_EOF || i == ed->drop)
			continue;
		if (i == ed->patch) {
			const void *p = ed->patched_payload ? ed->patched_payload :
					r.payload[i];
			assert_int_equal(trace_writer_add(w, &ed->patched, p), 0);
			continue;
		}
		assert_int_equal(trace_writer_add(w, &r.ev[i], r.payload[i]), 0);
	}
	assert_int_equal(trace_writer_close(w, err, sizeof(err)), 0);
	trace_reader_close(&r);
	if (ed->version) {
		FILE *fp = fopen(f->out, "r+b");
		assert_non_null(fp);
		assert_int_equal(fseek(fp, 8, SEEK_SET), 0);
		assert_int_equal(fwrite(&ed->version, 4, 1, fp), 1);
		fclose(fp);
	}
}

static struct edit no_edit(void)
{
	struct edit e = { .drop = SIZE_MAX, .at = SIZE_MAX, .patch = SIZE_MAX };
	return e;
}

/* The reader must refuse f->out with a message containing `why`. */
static void expect_refused(const struct fix *f, const char *why)
{
	struct trace_reader r;
	char err[512] = "";
	assert_int_equal(trace_reader_open(&r, f->out, err, sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("expected '%s', got '%s'", why, err);
}

static void locate(const struct fix *f, size_t *start, size_t *reset,
		   size_t *fire)
{
	struct trace_reader r;
	char err[512];
	if (trace_reader_open(&r, f->trace, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	*start = find_kind(&r, TR_START, 0);
	*reset = find_kind(&r, TR_RESET, 0);
	*fire = find_kind(&r, TR_TIMER_BEGIN, *start);
	if (*fire == SIZE_MAX)
		*fire = find_kind(&r, TR_CHR_IN_BEGIN, *start);
	assert_true(*fire != SIZE_MAX && *fire < *reset);
	trace_reader_close(&r);
}

static void test_reader_refuses_misplaced_reset(void **state)
{
	struct fix *f = *state;
	record_two_boots(f);
	size_t start, reset, fire;
	locate(f, &start, &reset, &fire);
	struct trace_ev rs = { .kind = TR_RESET, .a = 2 };

	/* Before the machine was ever started. */
	struct edit e = no_edit();
	e.drop = reset;
	e.at = start;
	e.ins = rs;
	rewrite(f, &e);
	expect_refused(f, "reset record before the machine's start record");

	/* Inside a delivery (a timer firing or an input). */
	e = no_edit();
	e.drop = reset;
	e.at = fire + 1;
	e.ins = rs;
	rewrite(f, &e);
	expect_refused(f, "reset record inside a delivery");

	/* Boot number out of sequence. */
	e = no_edit();
	e.patch = reset;
	e.patched = rs;
	e.patched.a = 5;
	rewrite(f, &e);
	expect_refused(f, "out of sequence");

	/* With a payload. */
	e = no_edit();
	e.patch = reset;
	e.patched = rs;
	e.patched.size = 8;
	e.patched_payload = "payload!";
	rewrite(f, &e);
	expect_refused(f, "reset record with a payload");

	/* A version 1 trace has no reset records. */
	e = no_edit();
	e.version = 1;
	rewrite(f, &e);
	expect_refused(f, "reset record in a version 1 trace");

	/* Two start records for one machine. */
	e = no_edit();
	e.drop = reset;
	rewrite(f, &e);
	expect_refused(f, "a second start record without a reset record");

	/* A version this reader does not know. */
	e = no_edit();
	e.version = TRACE_VERSION + 1;
	rewrite(f, &e);
	expect_refused(f, "not supported");
}

/* A version 1 trace without a reset still replays. */
static void test_version1_replays(void **state)
{
	struct fix *f = *state;
	record_two_boots(f);
	size_t start, reset, fire;
	locate(f, &start, &reset, &fire);
	struct trace_reader r;
	char err[512];
	if (trace_reader_open(&r, f->trace, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	struct trace_writer *w = trace_writer_open(f->out, r.dtb, r.dtb_size,
						   r.flags, 0, err, sizeof(err));
	assert_non_null(w);
	for (size_t i = 0; i < reset; i++)
		assert_int_equal(trace_writer_add(w, &r.ev[i], r.payload[i]), 0);
	assert_int_equal(trace_writer_close(w, err, sizeof(err)), 0);
	trace_reader_close(&r);
	FILE *fp = fopen(f->out, "r+b");
	uint32_t v1 = 1;
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 8, SEEK_SET), 0);
	assert_int_equal(fwrite(&v1, 4, 1, fp), 1);
	fclose(fp);
	struct replay_result res;
	replay_file(f->out, &res);
	if (res.diverged)
		fail_msg("diverged at %zu: %s", res.event, res.msg);
	assert_int_equal(res.resets, 0);
}

static void test_replay_hostile_rebuild(void **state)
{
	struct fix *f = *state;
	record_two_boots(f);
	size_t start, reset, fire;
	locate(f, &start, &reset, &fire);
	struct replay_result res;

	/* The recording ends while the machine is rebuilt: a match up to
	 * there, said to be partial. */
	struct trace_reader r;
	char err[512];
	if (trace_reader_open(&r, f->trace, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	struct trace_writer *w = trace_writer_open(f->out, r.dtb, r.dtb_size,
						   r.flags, 0, err, sizeof(err));
	assert_non_null(w);
	for (size_t i = 0; i <= reset + 1; i++)
		assert_int_equal(trace_writer_add(w, &r.ev[i], r.payload[i]), 0);
	assert_int_equal(trace_writer_close(w, err, sizeof(err)), 0);
	size_t clk = find_kind(&r, TR_CLK_READ, reset);
	size_t arm = find_kind(&r, TR_TIMER_ARM, reset);
	size_t s2 = find_kind(&r, TR_START, reset);
	trace_reader_close(&r);
	replay_file(f->out, &res);
	assert_false(res.diverged);
	assert_true(res.partial);

	/* The rebuilt machine's construction differs from the recording's:
	 * a divergence naming the rebuild. */
	assert_true(arm < s2);
	struct edit e = no_edit();
	e.at = s2;
	e.ins = (struct trace_ev){ .kind = TR_CLK_READ, .a = 1 };
	rewrite(f, &e);
	replay_file(f->out, &res);
	assert_true(res.diverged);
	if (!strstr(res.msg, "while rebuilding the machine after the reset"))
		fail_msg("%s", res.msg);

	/* A timer the rebuilt machine arms under another id. */
	e = no_edit();
	if (trace_reader_open(&r, f->trace, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	e.patch = arm;
	e.patched = r.ev[arm];
	e.patched.a = 7;
	trace_reader_close(&r);
	rewrite(f, &e);
	replay_file(f->out, &res);
	assert_true(res.diverged);
	assert_int_equal(res.event, arm);
	(void)clk;
}

/* A state record that cannot load: a corrupt stream (bad checksum), or
 * one in the wrong place (before the start record, while the machine is
 * built).  Divergences, never a crash. */
static void test_replay_hostile_state(void **state)
{
	struct fix *f = *state;
	record_two_boots(f);
	size_t start, reset, fire;
	locate(f, &start, &reset, &fire);
	/* A stream that opens: a header and no sections. */
	struct snap_w *sw = snap_w_new();
	const uint8_t *sbuf;
	size_t slen;
	assert_int_equal(snap_w_finish(sw, &sbuf, &slen), 0);
	uint8_t bad[64];
	assert_true(slen <= sizeof(bad));
	memcpy(bad, sbuf, slen);
	bad[slen - 1] ^= 0xff;   /* in the header's checksum */
	struct trace_ev st = { .kind = TR_STATE_BEGIN, .size = (uint32_t)slen };
	struct trace_ev end = { .kind = TR_END };
	struct replay_result res;

	for (int where = 0; where < 3; where++) {
		/* 0: corrupt, at top level after the start; 1: valid but
		 * empty (no board section); 2: before the start. */
		const uint8_t *p = where == 0 ? bad : sbuf;
		size_t at = where == 2 ? start : fire;
		struct trace_reader r;
		char err[512];
		if (trace_reader_open(&r, f->trace, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		struct trace_writer *w = trace_writer_open(f->out, r.dtb, r.dtb_size,
							   r.flags, 0, err,
							   sizeof(err));
		assert_non_null(w);
		for (size_t i = 0; i < r.nev; i++) {
			if (i == at) {
				assert_int_equal(trace_writer_add(w, &st, p), 0);
				assert_int_equal(trace_writer_add(w, &end, NULL), 0);
			}
			if (r.ev[i].kind != TR_EOF)
				assert_int_equal(trace_writer_add(w, &r.ev[i],
								  r.payload[i]), 0);
		}
		assert_int_equal(trace_writer_close(w, err, sizeof(err)), 0);
		trace_reader_close(&r);
		replay_file(f->out, &res);
		assert_true(res.diverged);
		assert_int_equal(res.event, at);
		assert_non_null(strstr(res.msg, where == 2 ? "building the machine" :
				       "state record"));
	}
	snap_w_free(sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_replays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_needs_a_started_machine,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_refuses_misplaced_reset,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_version1_replays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_hostile_rebuild, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replay_hostile_state, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
