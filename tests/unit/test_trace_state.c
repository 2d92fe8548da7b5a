/* Record/replay across a snapshot (issue 18 item 7): the self-test is
 * recorded with the board loaded from a saved state at point T, which
 * the trace holds as a state record; the trace replays without a
 * divergence, and so does the same trace cut to start at the state record
 * (everything the devices did before T removed): a trace recorded after a
 * restore replays from its snapshot.  A state record that does not load
 * (another device set) is a divergence naming why. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/trace.h"
#include "sim/replay.h"
#include "sim/selftest.h"

struct fx {
	char dir[64];
	char disk[96], trace[96], cut[96];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/vmm-tracestate.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->disk, sizeof(f->disk), "%s/disk.img", f->dir);
	snprintf(f->trace, sizeof(f->trace), "%s/trace", f->dir);
	snprintf(f->cut, sizeof(f->cut), "%s/cut", f->dir);
	int fd = open(f->disk, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "TRACE-STATE", 11) != 11 || ftruncate(fd, 1 << 20))
		return -1;
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unlink(f->disk);
	unlink(f->trace);
	unlink(f->cut);
	rmdir(f->dir);
	free(f);
	return 0;
}

struct cmd {
	int argc;
	char *argv[40];
	char drive[128];
};

static void microvm(struct cmd *c, const struct fx *f, bool with_rng)
{
	const char *base[] = {
		"vmm", "-machine", "microvm,accel=sim", "-m", "16M", "-seed", "9",
		"-serial", "stdio",
		"-device", "virtio-blk-device,drive=d0",
		"-netdev", "tap,id=n0,ifname=vmmtrst0",
		"-device", "virtio-net-device,netdev=n0",
		"-chardev", "file,id=c0,path=/nonexistent/console.txt",
		"-device", "virtio-serial-device", "-device", "virtconsole,chardev=c0",
		"-device", "virtio-balloon-device",
	};
	c->argc = 0;
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		c->argv[c->argc++] = (char *)base[i];
	snprintf(c->drive, sizeof(c->drive), "id=d0,file=%s", f->disk);
	c->argv[c->argc++] = "-drive";
	c->argv[c->argc++] = c->drive;
	if (with_rng) {
		c->argv[c->argc++] = "-object";
		c->argv[c->argc++] = "rng-random,id=rng0";
		c->argv[c->argc++] = "-device";
		c->argv[c->argc++] = "virtio-rng-device,rng=rng0";
	}
	c->argv[c->argc] = NULL;
}

/* Record the self-test with the state reloaded at point `at`. */
static void record(const struct fx *f, struct cmd *c, uint64_t at)
{
	char err[512];
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	assert_int_equal(config_parse(cfg, c->argc, c->argv, err, sizeof(err)), 0);
	struct trace_rec *tr = trace_rec_open(f->trace, c->argc, c->argv, cfg, false,
					      0, NULL, err, sizeof(err));
	if (!tr)
		fail_msg("trace_rec_open: %s", err);
	FILE *out = fopen("/dev/null", "w");
	struct selftest_snap sn = { .at = at, .in_place = true };
	int rc = selftest_run_trace_snap(cfg, NULL, out, tr, &sn, err, sizeof(err));
	fclose(out);
	assert_int_equal(rc, 0);
	assert_true(sn.done);
	if (sn.rc)
		fail_msg("snapshot at %llu: %s", (unsigned long long)at, sn.err);
	assert_int_equal(trace_rec_close(tr, err, sizeof(err)), 0);
	free(cfg);
}

static struct replay_result replay(const char *path)
{
	char err[512];
	struct trace_reader r;
	if (trace_reader_open(&r, path, err, sizeof(err)) < 0)
		fail_msg("trace_reader_open: %s", err);
	struct replay_result res;
	if (replay_run(&r, NULL, &res, err, sizeof(err)) < 0)
		fail_msg("replay_run: %s", err);
	trace_reader_close(&r);
	return res;
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* The trace with every record between the start record and the first
 * state record removed (the EOF count fixed); returns the records cut. */
static size_t cut(const struct fx *f)
{
	FILE *in = fopen(f->trace, "rb");
	assert_non_null(in);
	fseek(in, 0, SEEK_END);
	size_t len = (size_t)ftell(in);
	rewind(in);
	uint8_t *b = malloc(len), *o = malloc(len);
	assert_int_equal(fread(b, 1, len, in), len);
	fclose(in);
	struct trace_file_hdr h;
	memcpy(&h, b, sizeof(h));
	size_t pos = h.hdr_size + pad8(h.dtb_size), olen = pos, n = 0, dropped = 0;
	memcpy(o, b, pos);
	bool started = false, skipping = false, seen_state = false;
	while (pos + sizeof(struct trace_ev) <= len) {
		struct trace_ev e;
		memcpy(&e, b + pos, sizeof(e));
		size_t rl = sizeof(e) + pad8(e.size);
		if (e.kind == TR_STATE_BEGIN && !seen_state) {
			seen_state = true;
			skipping = false;
		}
		if (skipping) {
			dropped++;
		} else {
			if (e.kind == TR_EOF)
				e.a = n;
			memcpy(o + olen, &e, sizeof(e));
			memcpy(o + olen + sizeof(e), b + pos + sizeof(e), rl - sizeof(e));
			olen += rl;
			n++;
		}
		if (e.kind == TR_START && !started) {
			started = true;
			skipping = true;
		}
		pos += rl;
	}
	assert_true(seen_state);
	FILE *out = fopen(f->cut, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(o, 1, olen, out), olen);
	fclose(out);
	free(b);
	free(o);
	return dropped;
}

static void test_replay_across_state(void **state)
{
	struct fx *f = *state;
	struct cmd c;
	microvm(&c, f, true);
	/* Points inside the serial, RTC/PIT, virtio checks. */
	const uint64_t points[] = { 40, 160, 330, 420, 520 };
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		record(f, &c, points[i]);
		struct replay_result whole = replay(f->trace);
		if (whole.diverged)
			fail_msg("point %llu: the whole trace diverged at %zu: %s",
				 (unsigned long long)points[i], whole.event, whole.msg);
		assert_false(whole.partial);
		size_t dropped = cut(f);
		assert_true(dropped > 10);
		struct replay_result part = replay(f->cut);
		if (part.diverged)
			fail_msg("point %llu: the trace starting from the state "
				 "record diverged at %zu: %s",
				 (unsigned long long)points[i], part.event, part.msg);
		assert_false(part.partial);
		assert_true(part.events + dropped >= whole.events);
		fprintf(stderr, "point %llu: %zu records, %zu cut, %zu replayed from "
			"the state\n", (unsigned long long)points[i], whole.events,
			dropped, part.events);
	}
}

/* The state record is checked like any state file: a damaged one makes
 * the replay diverge at the record, saying why (here the stream's
 * checksum catches a byte changed in its device list). */
static void test_state_of_another_machine(void **state)
{
	struct fx *f = *state;
	struct cmd c;
	microvm(&c, f, true);
	record(f, &c, 300);
	FILE *in = fopen(f->trace, "rb");
	fseek(in, 0, SEEK_END);
	size_t la = (size_t)ftell(in);
	rewind(in);
	uint8_t *a = malloc(la);
	assert_int_equal(fread(a, 1, la, in), la);
	fclose(in);
	/* The first "virtio-mmio" of the state's device list becomes
	 * "virtio-mmiO". */
	struct trace_file_hdr h;
	memcpy(&h, a, sizeof(h));
	size_t pos = h.hdr_size + pad8(h.dtb_size);
	bool done = false;
	while (!done && pos + sizeof(struct trace_ev) <= la) {
		struct trace_ev e;
		memcpy(&e, a + pos, sizeof(e));
		if (e.kind == TR_STATE_BEGIN) {
			uint8_t *p = memmem(a + pos + sizeof(e), e.size, "virtio-mmio", 11);
			assert_non_null(p);
			p[10] = 'O';
			done = true;
		}
		pos += sizeof(e) + pad8(e.size);
	}
	assert_true(done);
	FILE *out = fopen(f->trace, "wb");
	fwrite(a, 1, la, out);
	fclose(out);
	free(a);
	struct replay_result res = replay(f->trace);
	assert_true(res.diverged);
	if (!strstr(res.msg, "state record"))
		fail_msg("divergence '%s' does not name the state record", res.msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replay_across_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_of_another_machine, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
