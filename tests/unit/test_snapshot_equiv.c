/* Snapshot equivalence (issue 18 item 5): the full board with every device
 * model, driven by the accel=sim self-test (traffic on every device), run
 * once straight through and once saved at snapshot point T, torn down,
 * restored into a fresh board on a fresh simulator and run on.  The two
 * runs must agree byte for byte: the report, every event of the log (bus
 * accesses with their values, interrupt edges, MSIs, timer firings named
 * by their arm sequence, machine requests, each with its virtual time),
 * the final virtual time and guest RAM (sim_digest).  Before T that is
 * the same run; from T on it is the restored machine's behaviour.
 *
 * Many save points: spread over the whole run, so they fall mid-request
 * on every device (a blk request parked between slices, rng waiting for
 * tokens, balloon stats held, net frames pending, serial FIFOs part full,
 * PIT/RTC timers armed, budget resume timers pending); with and without
 * x-ignore-shared.  And the refusals: another device set, another
 * memory size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/layout.h"
#include "core/snapshot.h"
#include "sim/selftest.h"
#include "sim/sim.h"
#include "board_fixture.h"

#define MAX_POINTS 4096u

/* Every device model: virtio-pci (modern, transitional, and a legacy-only
 * balloon), one behind a pci-bridge, one in a pcie-root-port, a
 * virtio-mmio disk, two COM ports, NVDIMMs private and
 * shared, ACPI PM, debug-exit (PIT, RTC, i8042 always). */
static void machine_q35(struct args *a, const char *dir, bool small)
{
	arg(a, "vmm");
	arg(a, "-machine"); arg(a, "q35,accel=sim,nvdimm=on");
	arg(a, "-m"); arg(a, small ? "128M,slots=2,maxmem=1G" : "256M,slots=2,maxmem=1G");
	arg(a, "-seed"); arg(a, "11");
	arg(a, "-serial"); arg(a, "stdio");
	arg(a, "-serial"); arg(a, "file:%s/com2.txt", dir);
	arg(a, "-drive"); arg(a, "id=d0,file=%s/disk.img,throttling.iops-total=400", dir);
	arg(a, "-device"); arg(a, "virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3,serial=SNAP-0");
	arg(a, "-drive"); arg(a, "id=d1,file=%s/disk.img,readonly=on", dir);
	arg(a, "-device"); arg(a, "virtio-blk-device,drive=d1");
	arg(a, "-netdev"); arg(a, "tap,id=n0,ifname=vmmsnap0");
	arg(a, "-device"); arg(a, "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56");
	arg(a, "-device"); arg(a, "pci-bridge,bus=pcie.0,id=br0,chassis_nr=1,addr=0x8,shpc=on");
	arg(a, "-object"); arg(a, "rng-random,id=rng0,filename=/dev/urandom");
	arg(a, "-device"); arg(a, "virtio-rng-pci,rng=rng0,bus=br0,addr=1,max-bytes=4096,period=100");
	arg(a, "-chardev"); arg(a, "socket,id=c0,path=%s/con.sock,server,nowait", dir);
	arg(a, "-device"); arg(a, "virtio-serial-pci,id=vs0");
	arg(a, "-device"); arg(a, "virtconsole,chardev=c0");
	arg(a, "-device"); arg(a, "virtio-balloon-pci,disable-modern=on");
	arg(a, "-device"); arg(a, "pcie-root-port,id=rp0,bus=pcie.0,chassis=2,slot=4,addr=0x9");
	arg(a, "-object"); arg(a, "rng-random,id=rng1");
	arg(a, "-device"); arg(a, "virtio-rng-pci,rng=rng1,bus=rp0");
	arg(a, "-object");
	arg(a, "memory-backend-file,id=mem0,mem-path=%s/pmem.img,size=2M,readonly=on", dir);
	arg(a, "-device"); arg(a, "nvdimm,id=nv0,memdev=mem0,unarmed=on");
	arg(a, "-object");
	arg(a, "memory-backend-file,id=mem1,mem-path=%s/pmem2.img,size=2M,share=on", dir);
	arg(a, "-device"); arg(a, "nvdimm,id=nv1,memdev=mem1");
	arg(a, "-device"); arg(a, "isa-debug-exit,iobase=0xf4,iosize=4");
}

/* microvm: every virtio device on virtio-mmio, GED instead of the PM
 * block, a private NVDIMM. */
static void machine_microvm(struct args *a, const char *dir, bool no_rng)
{
	arg(a, "vmm");
	arg(a, "-machine"); arg(a, "microvm,accel=sim,nvdimm=on");
	arg(a, "-m"); arg(a, "64M,slots=2,maxmem=1G");
	arg(a, "-seed"); arg(a, "12");
	arg(a, "-serial"); arg(a, "stdio");
	arg(a, "-drive"); arg(a, "id=d0,file=%s/disk.img,throttling.iops-total=200", dir);
	arg(a, "-device"); arg(a, "virtio-blk-device,drive=d0");
	arg(a, "-netdev"); arg(a, "tap,id=n0,ifname=vmmsnap1");
	arg(a, "-device"); arg(a, "virtio-net-device,netdev=n0");
	if (!no_rng) {
		arg(a, "-object"); arg(a, "rng-random,id=rng0");
		arg(a, "-device"); arg(a, "virtio-rng-device,rng=rng0");
	}
	arg(a, "-chardev"); arg(a, "file,id=c0,path=%s/console.txt", dir);
	arg(a, "-device"); arg(a, "virtio-serial-device");
	arg(a, "-device"); arg(a, "virtconsole,chardev=c0");
	arg(a, "-device"); arg(a, "virtio-balloon-device");
	arg(a, "-object");
	arg(a, "memory-backend-file,id=mem0,mem-path=%s/pmem.img,size=2M,share=off", dir);
	arg(a, "-device"); arg(a, "nvdimm,id=nv0,memdev=mem0");
	arg(a, "-device"); arg(a, "isa-debug-exit");
}

struct fx {
	char dir[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/vmm-snapequiv.XXXXXX");
	if (boardfx_dir_make(f->dir, "SNAPSHOT") != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	boardfx_dir_remove(f->dir, NULL);
	free(f);
	return 0;
}

/* One run's observable result. */
struct run {
	char *report;
	size_t report_len;
	struct sim_event *ev;
	size_t nev;
	uint64_t now, digest;
	struct selftest_snap sn;
	int rc;
};

static void run_free(struct run *r)
{
	free(r->report);
	free(r->ev);
}

static void parse(struct machine_config *cfg, struct args *a)
{
	char err[512];
	if (config_parse(cfg, a->argc, a->argv, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
}

/* The self-test on a fresh simulator, saving and restoring at `at`
 * (UINT64_MAX: never); with phase (MAX_POINTS entries), phase[n] gets
 * the number of checks finished at point n. */
static void run_one(const struct machine_config *cfg, uint64_t at,
		    bool ignore_shared, uint32_t *phase, struct run *out)
{
	char err[512];
	struct layout l;
	memset(out, 0, sizeof(*out));
	assert_int_equal(layout_build(&l, cfg, err, sizeof(err)), 0);
	struct sim_config sc = { .ram_size = l.ram[0].size, .seed = cfg->seed,
				 .record_events = true };
	struct sim *s = sim_new(&sc);
	assert_non_null(s);
	FILE *mem = open_memstream(&out->report, &out->report_len);
	assert_non_null(mem);
	out->sn.at = at;
	out->sn.ignore_shared = ignore_shared;
	if (phase) {
		out->sn.phase = phase;
		out->sn.phase_cap = MAX_POINTS;
	}
	out->rc = selftest_sim_snap(s, cfg, NULL, mem, &out->sn, err, sizeof(err));
	fclose(mem);
	out->nev = sim_event_count(s);
	out->ev = malloc(out->nev * sizeof(*out->ev) + 1);
	assert_non_null(out->ev);
	memcpy(out->ev, sim_events(s), out->nev * sizeof(*out->ev));
	out->now = s->now_ns;
	out->digest = sim_digest(s);
	sim_free(s);
}

static void expect_equal_runs(const struct run *a, const struct run *b, uint64_t at)
{
	if (b->sn.rc)
		fail_msg("point %llu: %s", (unsigned long long)at, b->sn.err);
	assert_true(b->sn.done);
	if (a->report_len != b->report_len || memcmp(a->report, b->report, a->report_len)) {
		size_t i = 0;
		while (i < a->report_len && i < b->report_len && a->report[i] == b->report[i])
			i++;
		while (i > 0 && a->report[i - 1] != '\n')
			i--;
		fail_msg("point %llu (event %llu): the reports differ from:\n%.400s\nvs\n%.400s",
			 (unsigned long long)at, (unsigned long long)b->sn.events_at,
			 a->report + i, b->report + i);
	}
	assert_int_equal(b->rc, a->rc);
	size_t n = a->nev < b->nev ? a->nev : b->nev;
	for (size_t i = 0; i < n; i++) {
		const struct sim_event *x = &a->ev[i], *y = &b->ev[i];
		if (memcmp(x, y, sizeof(*x)))
			fail_msg("point %llu (event %llu): event %zu differs: "
				 "t=%llu kind=%u addr=%#llx data=%#llx w=%u vs "
				 "t=%llu kind=%u addr=%#llx data=%#llx w=%u",
				 (unsigned long long)at,
				 (unsigned long long)b->sn.events_at, i,
				 (unsigned long long)x->time_ns, x->kind,
				 (unsigned long long)x->addr,
				 (unsigned long long)x->data, x->is_write,
				 (unsigned long long)y->time_ns, y->kind,
				 (unsigned long long)y->addr,
				 (unsigned long long)y->data, y->is_write);
	}
	assert_int_equal(a->nev, b->nev);
	assert_int_equal(a->now, b->now);
	assert_int_equal(a->digest, b->digest);
}

/* Save points: for every check of the self-test (one device each) a few
 * points inside it, where its requests are in flight, and points spread
 * over the whole run; VMM_SNAP_ALL_POINTS=1 tries every point. */
static void equivalence(struct fx *f, bool q35, unsigned per_check)
{
	struct args a = { 0 };
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	if (q35)
		machine_q35(&a, f->dir, false);
	else
		machine_microvm(&a, f->dir, false);
	parse(cfg, &a);
	struct run base;
	uint32_t *phase = calloc(MAX_POINTS, sizeof(*phase));
	assert_non_null(phase);
	memset(&base, 0, sizeof(base));
	run_one(cfg, UINT64_MAX, false, phase, &base);
	if (base.rc != 0 || getenv("SNAP_EQUIV_VERBOSE"))
		fprintf(stderr, "%s\npoints %llu events %zu\n", base.report,
			(unsigned long long)base.sn.points, base.nev);
	assert_int_equal(base.rc, 0);
	assert_non_null(strstr(base.report, " checks, 0 failed"));
	uint64_t points = base.sn.points;
	assert_true(points > 500 && points <= MAX_POINTS);
	bool all = getenv("VMM_SNAP_ALL_POINTS") != NULL;
	uint32_t nchecks = phase[points - 1] + 1;
	unsigned tried = 0, covered = 0;
	for (uint32_t k = 0; k < nchecks; k++) {
		uint64_t lo = UINT64_MAX, hi = 0;
		for (uint64_t n = 0; n < points; n++)
			if (phase[n] == k) {
				lo = lo < n ? lo : n;
				hi = n;
			}
		if (lo == UINT64_MAX)
			continue;
		covered++;
		uint64_t span = hi - lo + 1;
		unsigned want = all ? (unsigned)span : per_check;
		for (unsigned i = 0; i < want && i < span; i++) {
			uint64_t at = lo + (span * (2 * i + 1)) / (2 * (uint64_t)want);
			if (all)
				at = lo + i;
			struct run r;
			run_one(cfg, at, (at & 1) != 0, NULL, &r);
			expect_equal_runs(&base, &r, at);
			assert_int_equal(r.sn.checks_at, k);
			assert_true(r.sn.bytes > 4096);
			run_free(&r);
			tried++;
		}
	}
	fprintf(stderr, "snapshot equivalence (%s): %u save points over %u checks, "
		"%llu points in the run\n", q35 ? "q35" : "microvm", tried, covered,
		(unsigned long long)points);
	/* Every check that touches a device had save points inside it
	 * (a check that only reads guest RAM, as the ACPI tables', or
	 * whose accesses all fall in the previous check's phase, has
	 * none of its own). */
	assert_true(covered + 2 >= nchecks);
	assert_true(tried >= covered * per_check / 2);
	free(phase);
	run_free(&base);
	free(cfg);
}

static void test_q35_equivalent_at_many_points(void **state)
{
	equivalence(*state, true, 3);
}

static void test_microvm_equivalent_at_many_points(void **state)
{
	equivalence(*state, false, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_q35_equivalent_at_many_points,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_microvm_equivalent_at_many_points,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
