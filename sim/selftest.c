/* accel=sim: the same board on a simulated machine, with the simulator's
 * guest-driver library playing the guest: what `make run` falls back to
 * without /dev/kvm.  Every device the configuration names is used the way
 * its guest driver would use it, one report line each:
 *
 *   platform  serial ports, RTC, PIT (selftest_platform.c), i8042,
 *             PCI enumeration, isa-debug-exit (last: it asks for an exit)
 *   firmware  ACPI tables, NVDIMMs (selftest_acpi.c)
 *   virtio    blk, net, rng, console, balloon on their transports
 *             (selftest_virtio.c, _blk.c, _console.c)
 *
 * Deterministic: virtual time only, a fixed RTC base unless -rtc
 * base=DATE, entropy from the seeded PRNG (-seed), and host backends
 * replaced by in-memory stand-ins (selftest_backend.c) so a run
 * writes no disk image, opens no tap and reads no host randomness. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/trace.h"
#include "devices/acpi/acpi.h"
#include "machine/board.h"
#include "sim/selftest_int.h"
#include "sim/selftest.h"

void st_report(struct selftest *t, bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(t->out, "selftest: %s: ", ok ? "ok" : "FAIL");
	vfprintf(t->out, fmt, ap);
	fputc('\n', t->out);
	va_end(ap);
	t->checks++;
	if (!ok)
		t->failed++;
}

void st_printable(char *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f && src[i] != '"' ?
			(char)src[i] : '.';
	dst[n] = '\0';
}

/* virtio-balloon's host hook: under KVM the pages go back to the host
 * (madvise); here the count is what the balloon check compares. */
static void st_balloon_release(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)gpa;
	struct selftest *t = opaque;
	t->released_pages += len / 4096;
}

static void st_run_checks(struct selftest *t, const struct board *b,
			  int64_t rtc_base, int acpi_built)
{
	fprintf(t->out, "selftest: accel=sim, %s, %u devices, seed %llu\n",
		config_machine_name(t->cfg->machine.type), board_device_count(b),
		(unsigned long long)t->cfg->seed);
	st_serial(t);
	st_rtc(t, rtc_base);
	st_pit(t);
	st_i8042(t);
	if (t->l->pci)
		st_pci(t);
	st_acpi(t, acpi_built);
	st_acpi_pm(t);
	st_hotplug(t);
	st_virtio(t);
	st_nvdimm(t);
	/* Last: it asks the machine to exit (recorded, checked, not obeyed). */
	st_debug_exit(t);
	fprintf(t->out, "selftest: %u checks, %u failed\n", t->checks, t->failed);
	fflush(t->out);
}

/* Build the board on s (recording into tr when given), put the ACPI
 * tables where firmware would, run every check. */
static int st_main(struct sim *s, const struct machine_config *cfg,
		   struct log *log, void *out, struct trace_rec *tr,
		   struct selftest_snap *snap, char *err, size_t errlen)
{
	struct layout *l = calloc(1, sizeof(*l));
	struct selftest *t = calloc(1, sizeof(*t));
	if (!l || !t) {
		snprintf(err, errlen, "vmm: out of memory");
		free(l);
		free(t);
		return -1;
	}
	int ret = -1;
	if (layout_build(l, cfg, err, errlen) < 0)
		goto out;
	*t = (struct selftest){ .out = out, .sim = s, .cfg = cfg, .l = l,
				.mem_next = ST_MEM_BASE, .mem_end = l->ram[0].size };
	struct board_host host = {
		.wall_epoch = SELFTEST_EPOCH, .utc_offset = 0,
		.balloon_release = st_balloon_release, .balloon_opaque = t,
		.backend = st_backend_hook, .backend_opaque = t,
		.backend_replace = true,
	};
	/* Recording wraps the stand-ins (it chains the hook set above). */
	if (tr && board_trace_attach(&host, &s->m, tr, err, errlen) < 0)
		goto out;
	struct board *b;
	int rc = board_build(&s->m, cfg, l, &host, &b, err, errlen);
	if (rc < 0) {
		ret = rc;   /* -2: the configuration's error */
		goto out;
	}
	t->b = b;
	t->host = &host;
	t->log = log;
	t->snap = snap;
	t->tr = tr;
	/* The tables a guest finds, where the KVM backend puts them
	 * (firmware's work: before recording starts). */
	int acpi_built = acpi_build(s->m.gm, cfg, l, log);
	/* From here s->m.gm is an unobserved view: the scenario is the guest. */
	trace_rec_start(tr);
	if (snap)
		sim_set_point_hook(s, st_snap_point, t);
	st_run_checks(t, b, board_rtc_base(cfg, &host), acpi_built);
	if (snap)
		sim_set_point_hook(s, NULL, NULL);
	ret = t->failed ? 1 : 0;
	trace_rec_finish(tr);
	/* A snapshot restore may have replaced the board. */
	board_shutdown(t->b);
	board_free(t->b);
out:
	st_backends_close(t);
	free(t);
	free(l);
	return ret;
}

int selftest_sim(struct sim *s, const struct machine_config *cfg,
		       struct log *log, void *out, char *err, size_t errlen)
{
	return st_main(s, cfg, log, out, NULL, NULL, err, errlen);
}

int selftest_sim_snap(struct sim *s, const struct machine_config *cfg,
		      struct log *log, void *out, struct selftest_snap *sn,
		      char *err, size_t errlen)
{
	return st_main(s, cfg, log, out, NULL, sn, err, errlen);
}

void selftest_config(struct machine_config *c)
{
	/* Nothing: the self-test builds exactly the configured machine (a
	 * COM1 it added could take ports a -device wants), so vmm-replay
	 * rebuilds it from the recorded configuration as it is. */
	(void)c;
}

int selftest_run(const struct machine_config *cfg, struct log *log,
		       void *out, char *err, size_t errlen)
{
	return selftest_run_trace(cfg, log, out, NULL, err, errlen);
}

static int st_run_trace(const struct machine_config *cfg, struct log *log,
			void *out, struct trace_rec *tr,
			struct selftest_snap *sn, char *err, size_t errlen);

int selftest_run_trace(const struct machine_config *cfg, struct log *log,
			     void *out, struct trace_rec *tr, char *err,
			     size_t errlen)
{
	return st_run_trace(cfg, log, out, tr, NULL, err, errlen);
}

int selftest_run_trace_snap(const struct machine_config *cfg, struct log *log,
			    void *out, struct trace_rec *tr,
			    struct selftest_snap *sn, char *err, size_t errlen)
{
	return st_run_trace(cfg, log, out, tr, sn, err, errlen);
}

static int st_run_trace(const struct machine_config *cfg, struct log *log,
			void *out, struct trace_rec *tr,
			struct selftest_snap *sn, char *err, size_t errlen)
{
	struct layout l;
	if (layout_build(&l, cfg, err, errlen) < 0)
		return -1;
	/* The simulator's RAM is one flat region from 0: the low part of
	 * the layout (the high part only matters to a real guest). */
	struct sim_config sc = { .ram_size = l.ram[0].size, .seed = cfg->seed,
				 .log = log };
	struct sim *s = sim_new(&sc);
	if (!s) {
		snprintf(err, errlen, "vmm: out of memory");
		return -1;
	}
	int ret = st_main(s, cfg, log, out, tr, sn, err, errlen);
	sim_free(s);
	return ret;
}
