/* Determinism of the real machine (the same machine, seed or trace
 * gives byte-identical results): the board
 * with every device model, on q35 (virtio-pci, a pci-bridge, and a
 * virtio-mmio disk) and on microvm (virtio-mmio), run by the accel=sim
 * self-test (sim/selftest*.c) with the simulator's event log on; the same
 * self-test recorded into a trace (selftest_run_trace); and that trace
 * replayed (sim/replay.c).  Each runs in two separate processes -- this
 * binary re-executed with --child -- and their outputs (the report, every
 * event of the log with its virtual time, the digest of the log and of
 * guest RAM, the trace file, the replay's result) must be equal byte for
 * byte.
 *
 * The two children differ in everything that must not matter: their
 * address-space layout and pid, the seed of the C library's rand()
 * (srand), and their history -- the second builds and runs another
 * machine first, so state carried over from an earlier machine shows.
 * A device that read rand(), the wall clock or a pointer's value, or kept
 * file-level state, would make the two outputs differ.  A different -seed
 * must give a different log, so the comparison sees the guest's inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/config.h"
#include "core/layout.h"
#include "core/trace.h"
#include "sim/replay.h"
#include "sim/selftest.h"
#include "sim/sim.h"
#include "board_fixture.h"

/* ---- the machines ---- */

/* Every device model the board has.  q35: virtio-pci for most devices, one
 * behind a pci-bridge, one virtio-mmio disk, two COM ports, two nvdimms,
 * ACPI PM, the debug-exit port (PIT, RTC, i8042 always exist). */
static void machine_q35(struct args *a, const char *dir, const char *seed)
{
	arg(a, "vmm");
	arg(a, "-machine"); arg(a, "q35,accel=sim,nvdimm=on");
	arg(a, "-m"); arg(a, "256M,slots=2,maxmem=1G");
	arg(a, "-seed"); arg(a, "%s", seed);
	arg(a, "-serial"); arg(a, "stdio");
	arg(a, "-serial"); arg(a, "file:%s/com2.txt", dir);
	arg(a, "-drive"); arg(a, "id=d0,file=%s/disk.img", dir);
	arg(a, "-device"); arg(a, "virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3,serial=DET-0");
	arg(a, "-drive"); arg(a, "id=d1,file=%s/disk.img,readonly=on", dir);
	arg(a, "-device"); arg(a, "virtio-blk-device,drive=d1");
	arg(a, "-netdev"); arg(a, "tap,id=n0,ifname=vmmdet0");
	arg(a, "-device"); arg(a, "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56");
	arg(a, "-device"); arg(a, "pci-bridge,bus=pcie.0,id=br0,chassis_nr=1,addr=0x8");
	arg(a, "-object"); arg(a, "rng-random,id=rng0,filename=/dev/urandom");
	arg(a, "-device"); arg(a, "virtio-rng-pci,rng=rng0,bus=br0,addr=1");
	arg(a, "-chardev"); arg(a, "socket,id=c0,path=%s/con.sock,server,nowait", dir);
	arg(a, "-device"); arg(a, "virtio-serial-pci,id=vs0");
	arg(a, "-device"); arg(a, "virtconsole,chardev=c0");
	arg(a, "-device"); arg(a, "virtio-balloon-pci");
	arg(a, "-object");
	arg(a, "memory-backend-file,id=mem0,mem-path=%s/pmem.img,size=2M,readonly=on", dir);
	arg(a, "-device"); arg(a, "nvdimm,id=nv0,memdev=mem0,unarmed=on");
	arg(a, "-object");
	arg(a, "memory-backend-file,id=mem1,mem-path=%s/pmem2.img,size=2M,share=on", dir);
	arg(a, "-device"); arg(a, "nvdimm,id=nv1,memdev=mem1");
	arg(a, "-device"); arg(a, "isa-debug-exit,iobase=0xf4,iosize=4");
}

/* microvm: every virtio device on virtio-mmio, hardware-reduced ACPI. */
static void machine_microvm(struct args *a, const char *dir, const char *seed)
{
	arg(a, "vmm");
	arg(a, "-machine"); arg(a, "microvm,accel=sim,nvdimm=on");
	arg(a, "-m"); arg(a, "64M,slots=2,maxmem=1G");
	arg(a, "-seed"); arg(a, "%s", seed);
	arg(a, "-serial"); arg(a, "stdio");
	arg(a, "-drive"); arg(a, "id=d0,file=%s/disk.img,throttling.iops-total=200", dir);
	arg(a, "-device"); arg(a, "virtio-blk-device,drive=d0");
	arg(a, "-netdev"); arg(a, "tap,id=n0,ifname=vmmdet1");
	arg(a, "-device"); arg(a, "virtio-net-device,netdev=n0");
	arg(a, "-object"); arg(a, "rng-random,id=rng0");
	arg(a, "-device"); arg(a, "virtio-rng-device,rng=rng0");
	arg(a, "-chardev"); arg(a, "file,id=c0,path=%s/console.txt", dir);
	arg(a, "-device"); arg(a, "virtio-serial-device");
	arg(a, "-device"); arg(a, "virtconsole,chardev=c0");
	arg(a, "-device"); arg(a, "virtio-balloon-device");
	arg(a, "-object");
	arg(a, "memory-backend-file,id=mem0,mem-path=%s/pmem.img,size=2M,share=off", dir);
	arg(a, "-device"); arg(a, "nvdimm,id=nv0,memdev=mem0");
	arg(a, "-device"); arg(a, "isa-debug-exit");
}

/* ---- the child: one scenario, its observable output to a file ---- */

static int child_fail(const char *what, const char *err)
{
	fprintf(stderr, "child: %s: %s\n", what, err);
	return 2;
}

static int child_config(struct machine_config *cfg, const char *mach,
			const char *dir, const char *seed, struct args *a)
{
	char err[512];
	if (!strcmp(mach, "q35"))
		machine_q35(a, dir, seed);
	else
		machine_microvm(a, dir, seed);
	if (config_parse(cfg, a->argc, a->argv, err, sizeof(err)) != 0)
		return child_fail("config", err);
	return 0;
}

/* The self-test on a simulator with the event log on: the report, then
 * every event, then the digest (events and guest RAM). */
static int child_board(FILE *out, const struct machine_config *cfg)
{
	char err[512];
	struct layout l;
	if (layout_build(&l, cfg, err, sizeof(err)) != 0)
		return child_fail("layout", err);
	struct sim_config sc = { .ram_size = l.ram[0].size, .seed = cfg->seed,
				 .record_events = true };
	struct sim *s = sim_new(&sc);
	if (!s)
		return child_fail("sim", "out of memory");
	int rc = selftest_sim(s, cfg, NULL, out, err, sizeof(err));
	fprintf(out, "result %d\n", rc);
	const struct sim_event *ev = sim_events(s);
	for (size_t i = 0; i < sim_event_count(s); i++)
		fprintf(out, "ev %zu t=%llu kind=%u len=%u addr=%#llx data=%#llx w=%u rc=%u\n",
			i, (unsigned long long)ev[i].time_ns, ev[i].kind,
			ev[i].len_or_level, (unsigned long long)ev[i].addr,
			(unsigned long long)ev[i].data, ev[i].is_write, ev[i].rc);
	fprintf(out, "events %zu dropped %llu now %llu digest %#llx\n",
		sim_event_count(s), (unsigned long long)sim_events_dropped(s),
		(unsigned long long)s->now_ns, (unsigned long long)sim_digest(s));
	sim_free(s);
	return rc < 0 ? child_fail("selftest", err) : 0;
}

/* The self-test recorded into path, the trace's bytes (hex, 32 a line),
 * then the trace replayed and the replay's result. */
static int child_trace(FILE *out, const struct machine_config *cfg,
		       struct args *a, const char *path)
{
	char err[512];
	struct trace_rec *tr = trace_rec_open(path, a->argc, a->argv, cfg, false,
					      0, NULL, err, sizeof(err));
	if (!tr)
		return child_fail("trace_rec_open", err);
	int rc = selftest_run_trace(cfg, NULL, out, tr, err, sizeof(err));
	fprintf(out, "result %d\n", rc);
	if (rc < 0)
		return child_fail("selftest_run_trace", err);
	if (trace_rec_close(tr, err, sizeof(err)) < 0)
		return child_fail("trace_rec_close", err);
	FILE *t = fopen(path, "rb");
	if (!t)
		return child_fail("trace", "cannot read it back");
	unsigned char buf[32];
	size_t n, total = 0;
	while ((n = fread(buf, 1, sizeof(buf), t)) > 0) {
		fprintf(out, "trace %08zx ", total);
		for (size_t i = 0; i < n; i++)
			fprintf(out, "%02x", buf[i]);
		fputc('\n', out);
		total += n;
	}
	fclose(t);
	struct trace_reader r;
	if (trace_reader_open(&r, path, err, sizeof(err)) < 0)
		return child_fail("trace_reader_open", err);
	struct replay_result res;
	rc = replay_run(&r, NULL, &res, err, sizeof(err));
	trace_reader_close(&r);
	if (rc < 0)
		return child_fail("replay_run", err);
	fprintf(out, "trace bytes %zu\nreplay diverged %d at %zu: %s\n"
		"replay events %zu accesses %zu deliveries %zu partial %d digest %#llx\n",
		total, res.diverged, res.event, res.msg, res.events, res.accesses,
		res.deliveries, res.partial, (unsigned long long)res.digest);
	return 0;
}

static int child_scenario(FILE *out, const char *what, const char *mach,
			  const char *dir, const char *seed, const char *trace)
{
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	struct args *a = calloc(1, sizeof(*a));
	int rc = !cfg || !a ? child_fail("alloc", "out of memory") :
		 child_config(cfg, mach, dir, seed, a);
	if (rc == 0)
		rc = !strcmp(what, "board") ? child_board(out, cfg) :
		     child_trace(out, cfg, a, trace);
	free(a);
	free(cfg);
	return rc;
}

/* --child WHAT MACHINE DIR SEED OUT TRACE NOISE: WHAT is board or trace;
 * NOISE seeds rand() and, when odd, first runs the same scenario on the
 * other machine type with another seed (output thrown away). */
static int child_main(char **argv)
{
	const char *what = argv[2], *mach = argv[3], *dir = argv[4];
	const char *seed = argv[5], *outp = argv[6], *trace = argv[7];
	unsigned noise = (unsigned)strtoul(argv[8], NULL, 0);
	alarm(240); /* a hung child fails its test instead of hanging it */
	srand(noise);
	if (noise & 1) {
		FILE *junk = fopen("/dev/null", "w");
		if (!junk || child_scenario(junk, what, strcmp(mach, "q35") ? "q35" : "microvm",
					    dir, "99", trace) != 0)
			return 2;
		fclose(junk);
	}
	FILE *out = fopen(outp, "w");
	if (!out)
		return child_fail("output", outp);
	int rc = child_scenario(out, what, mach, dir, seed, trace);
	if (fclose(out) != 0)
		return child_fail("output", "write failed");
	return rc;
}

/* ---- the parent ---- */

struct fx {
	char dir[64];
	char out[2][96];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/vmm-determinism.XXXXXX");
	if (boardfx_dir_make(f->dir, "DETERMINISM") != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		char p[sizeof(f->out[i])];
		snprintf(p, sizeof(p), "%s/out%d", f->dir, i);
		memcpy(f->out[i], p, sizeof(p));
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	boardfx_dir_remove(f->dir, (const char *const[]){ "out0", "out1", "trace0",
							  "trace1", NULL });
	free(f);
	return 0;
}

/* Run this binary as child i; it must exit 0. */
static void run_child(struct fx *f, int i, const char *what, const char *mach,
		      const char *seed)
{
	char trace[96], noise[16];
	snprintf(trace, sizeof(trace), "%s/trace%d", f->dir, i);
	/* Distinct rand() seeds; child 1 also runs another machine first. */
	snprintf(noise, sizeof(noise), "%d", i ? 0x5eed1 : 0x1234);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { "test_determinism", "--child", (char *)what,
				 (char *)mach, f->dir, (char *)seed, f->out[i],
				 trace, noise, NULL };
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("child %d (%s %s) ended with status %#x", i, what, mach, st);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	long n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	char *b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
	b[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return b;
}

/* The two outputs, byte for byte; on a difference, the first differing
 * line of each. */
static char *expect_same(struct fx *f)
{
	size_t la, lb;
	char *a = slurp(f->out[0], &la), *b = slurp(f->out[1], &lb);
	if (la != lb || memcmp(a, b, la) != 0) {
		size_t i = 0;
		while (i < la && i < lb && a[i] == b[i])
			i++;
		while (i > 0 && a[i - 1] != '\n')
			i--;
		fail_msg("the two processes differ (%zu vs %zu bytes) from:\n  %.200s\n"
			 "vs\n  %.200s", la, lb, a + i, b + i);
	}
	free(b);
	return a;
}

static size_t count_lines(const char *s, const char *prefix)
{
	size_t n = 0, pl = strlen(prefix);
	for (const char *p = s; p && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, prefix, pl))
			n++;
	}
	return n;
}

static void has(const char *s, const char *what)
{
	if (!strstr(s, what))
		fail_msg("no \"%s\" in the output", what);
}

/* The report shows every device checked and passed; the log has every
 * kind of event (bus accesses, interrupt edges, timers, MSIs on q35). */
static void expect_exercised(const char *o, bool q35)
{
	has(o, "result 0\n");
	has(o, " checks, 0 failed");
	assert_null(strstr(o, "FAIL"));
	const char *dev[] = { "ok: serial: COM1", "ok: rtc:", "ok: pit:", "ok: i8042:",
			      "ok: acpi:", "ok: virtio-blk over virtio-mmio",
			      "ok: virtio-net over", "ok: virtio-rng over",
			      "ok: virtio-console over", "ok: virtio-balloon over",
			      "ok: nvdimm at 0x100000000", "ok: isa-debug-exit" };
	for (size_t i = 0; i < sizeof(dev) / sizeof(dev[0]); i++)
		has(o, dev[i]);
	if (q35) {
		has(o, "ok: serial: COM2");
		has(o, "ok: acpi-pm:");
		has(o, "ok: pci-bridge br0");
		has(o, "ok: pci: ");
		has(o, "ok: virtio-blk over virtio-pci");
		has(o, "ok: virtio-rng over virtio-pci behind a bridge");
		has(o, "ok: nvdimm at 0x100200000");
	} else {
		assert_null(strstr(o, "virtio-pci"));
	}
}

static void expect_event_kinds(const char *o, bool q35)
{
	char k[32];
	for (unsigned kind = SIM_EV_PIO; kind <= SIM_EV_REQUEST; kind++) {
		if (kind == SIM_EV_MSI && !q35)
			continue;
		snprintf(k, sizeof(k), " kind=%u ", kind);
		if (!strstr(o, k))
			fail_msg("no event of kind %u in the log", kind);
	}
	assert_true(count_lines(o, "ev ") > (q35 ? 1000 : 500));
}

static void two_processes_board(void **state, const char *mach)
{
	struct fx *f = *state;
	run_child(f, 0, "board", mach, "5");
	run_child(f, 1, "board", mach, "5");
	char *o = expect_same(f);
	bool q35 = !strcmp(mach, "q35");
	expect_exercised(o, q35);
	expect_event_kinds(o, q35);
	free(o);
}

static void test_q35_board_two_processes(void **state)
{
	two_processes_board(state, "q35");
}

static void test_microvm_board_two_processes(void **state)
{
	two_processes_board(state, "microvm");
}

/* Recorded twice, the traces are the same bytes; replayed, each matches
 * its recording and the replays end in the same state. */
static void two_processes_trace(void **state, const char *mach)
{
	struct fx *f = *state;
	run_child(f, 0, "trace", mach, "7");
	run_child(f, 1, "trace", mach, "7");
	char *o = expect_same(f);
	expect_exercised(o, !strcmp(mach, "q35"));
	has(o, "replay diverged 0 at 0: \n");
	assert_true(count_lines(o, "trace ") > 100);
	has(o, "partial 0 ");
	free(o);
}

static void test_q35_trace_replay_two_processes(void **state)
{
	two_processes_trace(state, "q35");
}

static void test_microvm_trace_replay_two_processes(void **state)
{
	two_processes_trace(state, "microvm");
}

/* The comparison sees the guest's inputs: another -seed (the entropy the
 * rng device hands out), another log. */
static void test_other_seed_other_log(void **state)
{
	struct fx *f = *state;
	run_child(f, 0, "board", "q35", "5");
	run_child(f, 1, "board", "q35", "6");
	size_t la, lb;
	char *a = slurp(f->out[0], &la), *b = slurp(f->out[1], &lb);
	assert_true(la != lb || memcmp(a, b, la) != 0);
	const char *da = strstr(a, "\nevents "), *db = strstr(b, "\nevents ");
	assert_non_null(da);
	assert_non_null(db);
	assert_string_not_equal(strstr(da, "digest"), strstr(db, "digest"));
	free(a);
	free(b);
}

int main(int argc, char **argv)
{
	if (argc == 9 && !strcmp(argv[1], "--child"))
		return child_main(argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_q35_board_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_microvm_board_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_q35_trace_replay_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_microvm_trace_replay_two_processes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_seed_other_log, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
