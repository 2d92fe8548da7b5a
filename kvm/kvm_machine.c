/* A KVM machine, in the order things depend on each other:
 *   /dev/kvm checks -> event loop, signalfd, QMP, host backends (these
 *   live across resets; the first board opens the backends) -> per boot:
 *   VM + irqchip -> (first boot: host CPUID/MSR lists) -> address map ->
 *   guest RAM -> buses -> board devices (which add nvdimm regions) ->
 *   kernel/initrd/ACPI into RAM -> vCPUs (threads started, parked) ->
 *   memory slots -> (first boot: seccomp) -> vCPUs run
 *   -> tear the boot down; a reset without -no-reboot builds it again.
 * Every failure before the vCPUs start is a one-line error and exit 1;
 * after that, the guest's fate is reported in struct kvm_result. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/evloop.h"
#include "core/gm.h"
#include "core/layout.h"
#include "core/log.h"
#include "core/qmp.h"
#include "core/trace.h"
#include "devices/acpi/acpi.h"
#include "machine/board.h"
#include "machine/board_ram.h"
#include "devices/virtio/balloon.h"
#include "kvm/boot.h"
#include "kvm/kvm.h"
#include "kvm/kvm_int.h"
#include "kvm/kvm_migrate.h"
#include "kvm/seccomp.h"


/* A host file mapped read-only (kernel, initrd).  Opened O_NONBLOCK: a
 * FIFO would block open() until a writer came; its type is checked
 * before anything is read.  -2 (the configuration's error) for a file of
 * the wrong type, -1 for other failures. */
struct kvm_file {
	const uint8_t *data;
	size_t len;
};

static int kvm_file_map(struct kvm_file *f, const char *opt, const char *path,
			char *err, size_t errlen)
{
	f->data = NULL;
	f->len = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "vmm: %s '%s': %s", opt, path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "vmm: %s '%s': not a regular file", opt, path);
		close(fd);
		return -2;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "vmm: %s '%s': empty file", opt, path);
		close(fd);
		return -1;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "vmm: %s '%s': %s", opt, path, strerror(errno));
		return -1;
	}
	f->data = p;
	f->len = (size_t)st.st_size;
	return 0;
}

static void kvm_file_unmap(struct kvm_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->len);
	f->data = NULL;
}

/* Called by devices (debug-exit, i8042, ACPI PM) and vCPU threads, with
 * the big lock held.  The first request decides how the run ended. */
void kvm_machine_request(void *opaque, enum machine_event ev, int status)
{
	struct kvm_machine *km = opaque;
	if (ev == MACHINE_RUNNING)
		return;
	/* A shutdown after a reset in the same boot wins (SIGTERM during a
	 * guest reboot): the reset's rebuild would otherwise swallow it and
	 * the VM run on. */
	bool over_reset = km->ended && km->res.ev == MACHINE_RESET &&
			  ev == MACHINE_SHUTDOWN;
	if (over_reset)
		km->host_reset = false;
	if (!km->ended || over_reset) {
		km->ended = true;
		km->res.ev = ev;
		km->res.status = status;
		/* QEMU's SHUTDOWN event for guest-initiated ends (a reset
		 * only ends the VM under -no-reboot). */
		if (km->qmp && !km->host_reset &&
		    (ev == MACHINE_SHUTDOWN || ev == MACHINE_EXIT ||
		     (ev == MACHINE_RESET && km->no_reboot)))
			qmp_server_emit_event(km->qmp, "SHUTDOWN", ev == MACHINE_RESET ?
				"{\"guest\": true, \"reason\": \"guest-reset\"}" :
				"{\"guest\": true, \"reason\": \"guest-shutdown\"}");
	}
	evloop_stop(km->m.loop, 0);
	if (km->cpus)
		kvm_cpus_kick(km->cpus);
}

static void kvm_machine_host_signal(struct kvm_machine *km);

/* SIGTERM/SIGINT/SIGHUP end the VM the orderly way (nvdimm msync, pidfile
 * removal) instead of killing the process mid-write. */
static void kvm_machine_on_signal(void *arg, int fd, unsigned events)
{
	struct kvm_machine *km = arg;
	(void)events;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	log_info(km->m.log, "vmm: terminating on signal %u", si.ssi_signo);
	kvm_machine_host_signal(km);
}

/* The host asked us to end (QEMU's qemu_system_killed): SHUTDOWN says
 * guest false, reason host-signal, so a runtime does not read it as the
 * guest powering off. */
static void kvm_machine_host_signal(struct kvm_machine *km)
{
	if (!km->ended) {
		km->ended = true;
		km->res.ev = MACHINE_SHUTDOWN;
		km->res.status = 0;
		if (km->qmp)
			qmp_server_emit_event(km->qmp, "SHUTDOWN",
				"{\"guest\": false, \"reason\": \"host-signal\"}");
	}
	kvm_machine_request(km, MACHINE_SHUTDOWN, 0);
}

/* Guest RAM: anonymous, -mem-path, or the -numa nodes' memory backends
 * (machine/board_ram.c); every region becomes a memory slot. */
static int kvm_machine_ram(struct kvm_machine *km, const struct machine_config *cfg,
			   char *err, size_t errlen)
{
	int r = board_ram_map(km->m.gm, &km->layout, cfg, err, errlen);
	for (unsigned i = 0; r == 0 && cfg->nnuma && i < gm_region_count(km->m.gm); i++) {
		const struct gm_region *g = gm_region_at(km->m.gm, i);
		log_info(km->m.log, "vmm: guest RAM 0x%llx+0x%llx from -numa memdev (%s)",
			 (unsigned long long)g->gpa, (unsigned long long)g->size,
			 (g->flags & GM_SHARED) ? "shared" : "private");
	}
	return r;
}

static int kvm_machine_boot(struct kvm_machine *km, const struct machine_config *cfg,
			    uint64_t rsdp, struct boot_cpu *cpu, char *err,
			    size_t errlen)
{
	if (!cfg->kernel[0]) {
		snprintf(err, errlen, "vmm: no -kernel given: accel=kvm needs a "
			 "kernel (there is no firmware)");
		return -1;
	}
	struct kvm_file k, i = { NULL, 0 };
	int rc = kvm_file_map(&k, "-kernel", cfg->kernel, err, errlen);
	if (rc < 0)
		return rc;
	if (cfg->initrd[0] &&
	    (rc = kvm_file_map(&i, "-initrd", cfg->initrd, err, errlen)) < 0) {
		kvm_file_unmap(&k);
		return rc;
	}
	struct boot_image img = {
		.kernel = k.data, .kernel_len = k.len,
		.initrd = i.data, .initrd_len = i.len,
		.cmdline = cfg->append, .rsdp_addr = rsdp,
	};
	struct boot_info info;
	int r = boot_load(km->m.gm, &km->layout, cfg, &img, cpu, &info, err, errlen);
	if (r == 0)
		log_info(km->m.log, "boot: %s entry 0x%llx kernel 0x%llx-0x%llx "
			 "initrd 0x%llx+%llu", info.proto == BOOT_PROTO_PVH ?
			 "PVH" : "64-bit", (unsigned long long)info.entry,
			 (unsigned long long)info.kernel_start,
			 (unsigned long long)info.kernel_end,
			 (unsigned long long)info.initrd_addr,
			 (unsigned long long)info.initrd_size);
	if (r == 0) {
		/* The map we gave, in Linux's own format, so a test can
		 * compare it with the kernel's "BIOS-e820:" lines. */
		struct boot_e820 map[BOOT_E820_MAX];
		int n = boot_e820_build(&km->layout, cfg, map, BOOT_E820_MAX);
		for (int e = 0; e < n; e++)
			log_info(km->m.log, "boot: e820: [mem 0x%016llx-0x%016llx] %s",
				 (unsigned long long)map[e].addr,
				 (unsigned long long)(map[e].addr + map[e].size - 1),
				 map[e].type == BOOT_E820_RAM ? "usable" :
				 map[e].type == BOOT_E820_PRAM ? "persistent (type 12)" :
				 map[e].type == BOOT_E820_ACPI ? "ACPI data" : "reserved");
	}
	kvm_file_unmap(&k);
	kvm_file_unmap(&i);
	return r;
}

/* Everything one boot built; the machine can be built again afterwards. */
static void kvm_machine_unbuild(struct kvm_machine *km)
{
	kvm_mig_unbuild(km->mig);
	/* vCPUs first: nothing may touch devices after this. */
	kvm_cpus_destroy(km->cpus);
	km->cpus = NULL;
	if (km->m.loop)
		clk_timer_cancel(evloop_clk(km->m.loop), &km->powerdown);
	if (km->board) {
		board_shutdown(km->board);
		board_free(km->board);
		km->board = NULL;
	}
	if (km->vm_ok)
		kvm_vm_destroy(&km->vm);
	km->vm_ok = false;
	km->m.irqchip = NULL;
	if (km->m.pio)
		bus_free(km->m.pio);
	if (km->m.mmio)
		bus_free(km->m.mmio);
	if (km->m.gm)
		gm_free(km->m.gm);
	km->m.pio = km->m.mmio = NULL;
	km->m.gm = NULL;
}

static void kvm_machine_teardown(struct kvm_machine *km)
{
	kvm_machine_unbuild(km);
	/* After the last board (nothing is attached to them any more) and
	 * before the loop their fds are registered with. */
	board_backends_free(km->backends);
	km->backends = NULL;
	kvm_mig_free(km->mig);   /* its thread first, then the loop's fds */
	km->mig = NULL;
	if (km->qmp)
		qmp_server_free(km->qmp);
	kvm_qmp_be_free(km);
	kvm_memhp_free(km);
	if (km->sigfd >= 0) {
		if (km->m.loop)
			evloop_del_fd(km->m.loop, km->sigfd);
		close(km->sigfd);
	}
	if (km->m.loop)
		evloop_free(km->m.loop);
	kvm_sys_close(&km->sys);
	pthread_mutex_destroy(&km->m.lock);
}

/* One boot's machine, from the description, up to vCPUs ready to run. */
static int kvm_machine_build(struct kvm_machine *km, const struct machine_config *cfg,
			     struct trace_rec *tr, char *err, size_t errlen)
{
	struct log *log = km->m.log;
	km->ended = false;
	km->host_reset = false;
	km->res = (struct kvm_result){ MACHINE_ERROR, 1 };
	km->m.ctl.request = kvm_machine_request;
	km->m.ctl.opaque = km;
	prng_seed(&km->m.prng, cfg->seed);
	/* The VM and its irqchip come first and its memory slots last: after
	 * KVM_CREATE_IRQCHIP the kernel finishes an SRCU grace period in the
	 * background (about 6 ms on this project's host), and the first
	 * KVM_SET_USER_MEMORY_REGION waits for it.  Everything in between
	 * (board, tables, kernel, vCPUs) now runs inside that wait instead of
	 * after it.  Slots before the irqchip would be worse: closing the VM
	 * then waits about 15 ms for the irqchip's grace period instead. */
	if (kvm_vm_create(&km->vm, &km->sys, log, err, errlen) < 0)
		return -1;
	km->vm_ok = true;
	km->m.irqchip = &km->vm.chip;
	/* First boot: the host's CPUID and MSR lists, inside that wait. */
	if (kvm_sys_load_cpu(&km->sys, err, errlen) < 0)
		return -1;
	if (layout_build(&km->layout, cfg, err, errlen) < 0)
		return -1;
	km->m.gm = gm_new();
	km->m.pio = bus_new("pio", log);
	km->m.mmio = bus_new("mmio", log);
	if (!km->m.gm || !km->m.pio || !km->m.mmio) {
		snprintf(err, errlen, "vmm: out of memory");
		return -1;
	}
	km->m.clk = evloop_clk(km->m.loop);
	int rr = kvm_machine_ram(km, cfg, err, errlen);
	if (rr < 0)
		return rr;   /* -2: the configuration's error */
	/* Wall time enters here, in the backend, never in device code. */
	km->host = (struct board_host){
		.loop = km->m.loop,
		.balloon_release = kvm_balloon_release,
		.balloon_opaque = km,
		.ioeventfd = kvm_board_ioeventfd,
		.ioeventfd_opaque = km,
		.msi_irqfd = kvm_board_msi_irqfd,
		.keep = km->backends,
		.device_deleted = kvm_hp_deleted,
		.device_deleted_opaque = km,
		.cpu_eject = kvm_cpuhp_eject,
		.cpu_eject_opaque = km,
		.dimm_ejected = kvm_memhp_ejected,
		.dimm_ejected_opaque = km,
		.ram_discard = kvm_ram_discard,
		.ram_discard_opaque = km,
	};
	time_t now = time(NULL);
	struct tm tm;
	km->host.wall_epoch = (int64_t)now;
	if (localtime_r(&now, &tm))
		km->host.utc_offset = tm.tm_gmtoff;
	if (tr && board_trace_attach(&km->host, &km->m, tr, err, errlen) < 0)
		return -1;
	int rc = board_build(&km->m, cfg, &km->layout, &km->host, &km->board,
			     err, errlen);
	if (rc < 0)
		return rc;   /* -2: the configuration's error */
	/* -incoming: the stream's RAM holds the kernel, the tables and
	 * everything since, and with x-ignore-shared RAM in a shared file
	 * must not be written over. */
	bool restoring = kvm_mig_restoring(km->mig);
	uint64_t rsdp = 0;
	if (!restoring && acpi_build(km->m.gm, cfg, &km->layout, log) < 0) {
		snprintf(err, errlen, "vmm: building the ACPI tables failed (see "
			 "the log)");
		return -1;
	}
	rsdp = ACPI_RSDP_ADDR;
	struct boot_cpu cpu;
	rc = restoring ? 0 : kvm_machine_boot(km, cfg, rsdp, &cpu, err, errlen);
	if (rc < 0)
		return rc;   /* -2: a -kernel/-initrd of the wrong type */

	/* The vCPUs' APIC ids and CPUID topology leaves come from the
	 * -smp shape through acpi_apic_id_smp(), the function the MADT is
	 * built with: one formula, so the guest's ACPI, LAPIC and CPUID
	 * views agree for any shape (sparse ids when a level is not a power
	 * of two, as on real hardware). */
	unsigned ncpus = cfg->smp.cpus ? cfg->smp.cpus : 1;
	km->topo = (struct kvm_topo){
		.sockets = cfg->smp.sockets, .cores = cfg->smp.cores,
		.threads = cfg->smp.threads, .no_pmu = !cfg->cpu_pmu,
	};
	const struct kvm_topo *topo_p = &km->topo;
	struct kvm_cpu_env env = {
		.m = &km->m, .vm = &km->vm, .log = log,
		.report_first_run = getenv("VMM_BENCH_TIMESTAMPS") != NULL,
	};
	km->cpus = kvm_cpus_create_max(&env, ncpus, board_cpu_possible(cfg), topo_p,
				       restoring ? NULL : &cpu, err, errlen);
	if (!km->cpus || kvm_cpuhp_rebuild(km, err, errlen) < 0)
		return -1;
	/* The memory slots go in after this (kvm_machine_run), with the
	 * vCPU threads started. */
	return 0;
}

/* Whether the trace can go on across this reset (trace_rec_reset):
 * replay rebuilds its board from the recorded command line, so the
 * machine rebuilt here must be that one, not one hot-plug changed (a
 * device, object or backend added or removed, a vCPU plugged).  Else
 * false with why. */
static bool kvm_machine_trace_spans(const struct kvm_machine *km,
				    const struct machine_config *recorded,
				    const char **why)
{
	if (memcmp(km->cfg, recorded, sizeof(*recorded)) != 0) {
		*why = "QMP changed the machine (hot-plug)";
		return false;
	}
	unsigned boot = km->cfg->smp.cpus ? km->cfg->smp.cpus : 1;
	for (unsigned i = 0; km->cpus && i < kvm_cpus_count(km->cpus); i++)
		if (kvm_cpus_present(km->cpus, i) != (i < boot)) {
			*why = "a vCPU was hot-plugged or unplugged";
			return false;
		}
	return true;
}

/* VMM_BENCH_TIMESTAMPS: how much of the guest's RAM is resident once the
 * kernel and tables are in, so bench_startup can report peak RSS minus
 * guest memory (issue 10).  Before seccomp, which has no mincore: right
 * for the benchmark's guest, which touches no page of its own. */
static void kvm_machine_report_guest_rss(const struct kvm_machine *km)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t resident = 0;
	for (unsigned i = 0; page > 0 && i < gm_region_count(km->m.gm); i++) {
		const struct gm_region *r = gm_region_at(km->m.gm, i);
		size_t pages = (size_t)((r->size + (uint64_t)page - 1) / (uint64_t)page);
		unsigned char *vec = malloc(pages);
		if (!vec)
			return;
		if (mincore(r->host, (size_t)r->size, vec) == 0)
			for (size_t p = 0; p < pages; p++)
				resident += vec[p] & 1;
		free(vec);
	}
	fprintf(stderr, "vmm-bench: guest RAM resident at start %llu KiB\n",
		(unsigned long long)(resident * (uint64_t)page / 1024));
}

/* Run the loop until this boot ends (kvm_machine_request).  evloop_stop
 * only wakes the loop here: the loop itself outlives the boot. */
static void kvm_machine_loop(struct kvm_machine *km)
{
	for (;;) {
		pthread_mutex_lock(&km->m.lock);
		bool ended = km->ended;
		pthread_mutex_unlock(&km->m.lock);
		if (ended)
			return;
		if (evloop_run_once(km->m.loop, -1) < 0) {
			pthread_mutex_lock(&km->m.lock);
			kvm_machine_request(km, MACHINE_ERROR, 1);
			pthread_mutex_unlock(&km->m.lock);
		}
	}
}

int kvm_machine_run(const struct machine_config *cfg, struct log *log,
		    const struct kvm_run_opts *opts, struct kvm_result *res,
		    char *err, size_t errlen)
{
	struct kvm_machine *km = calloc(1, sizeof(*km));
	if (!km) {
		snprintf(err, errlen, "vmm: out of memory");
		return -1;
	}
	km->sigfd = -1;
	km->sys.fd = -1;
	/* Our own copy of the description: hot-plug changes it, and every
	 * rebuild (reset) is made from it. */
	km->cfg = malloc(sizeof(*km->cfg));
	if (!km->cfg) {
		free(km);
		snprintf(err, errlen, "vmm: out of memory");
		return -1;
	}
	memcpy(km->cfg, cfg, sizeof(*cfg));
	/* The command line a trace records (replay rebuilds from it). */
	const struct machine_config *recorded = cfg;
	cfg = km->cfg;
	km->m.log = log;
	pthread_mutex_init(&km->m.lock, NULL);
	int ret = -1;
	struct trace_rec *tr = opts ? opts->trace : NULL;
	km->trace = tr;

	/* Termination signals go to the loop (a signalfd, below) once the
	 * VM runs: blocked then, before the vCPU threads exist, so they
	 * inherit the mask and none of them is picked to die of it.  Until
	 * then start-up must give way to them (kvm_startup_begin): blocked
	 * from here, they would wait through a start-up step that never
	 * ends for a loop that never runs, and only SIGKILL would help. */
	sigset_t set;
	kvm_term_sigset(&set);
	kvm_startup_begin(km);

	if (kvm_sys_open_caps(&km->sys, err, errlen) < 0)
		goto out;
	if (cfg->cpu_model[0] && strcmp(cfg->cpu_model, "host") &&
	    strcmp(cfg->cpu_model, "max"))
		log_warn(log, "vmm: -cpu %s: only 'host' is modelled; the guest sees "
			 "the host CPU as KVM supports it", cfg->cpu_model);
	km->m.loop = evloop_new(&km->m.lock);
	if (!km->m.loop) {
		snprintf(err, errlen, "vmm: out of memory");
		goto out;
	}
	km->backends = board_backends_new();
	if (!km->backends) {
		snprintf(err, errlen, "vmm: out of memory");
		goto out;
	}
	km->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (km->sigfd >= 0)
		evloop_add_fd(km->m.loop, km->sigfd, EV_IN, kvm_machine_on_signal, km);
	km->no_reboot = cfg->no_reboot;
	if (kvm_cpuhp_init(km) < 0) {
		snprintf(err, errlen, "vmm: out of memory");
		goto out;
	}
	/* Before any thread and any guest RAM: it forks a helper. */
	km->mig = kvm_mig_new(km, cfg, err, errlen);
	if (!km->mig)
		goto out;
	if (kvm_machine_qmp(km, cfg, err, errlen) < 0)
		goto out;

	/* The next boot's vCPUs start held: -S on the first; after a reset
	 * of a VM that was not running, as QEMU's main loop puts it back in
	 * prelaunch (runstate.c, main_loop_should_exit). */
	bool hold = cfg->start_paused;
	for (bool first = true;; first = false) {
		int b = kvm_machine_build(km, cfg, tr, err, errlen);
		if (b < 0) {
			ret = b;
			goto out;
		}
		/* The VM is about to run: the loop takes the signals from
		 * here, and one that came during start-up ends it now. */
		if (kvm_startup_end(km, &set)) {
			ret = kvm_startup_terminated(km, res);
			goto out;
		}
		/* The vCPU threads start parked, still inside the irqchip's
		 * wait (see kvm_machine_build), and run once the slots, the
		 * ready signal and seccomp (TSYNC: it covers them) are in. */
		kvm_cpus_pause(km->cpus);
		int e = kvm_cpus_start(km->cpus);
		if (e < 0) {
			snprintf(err, errlen, "vmm: starting vCPU threads: %s",
				 strerror(-e));
			goto out;
		}
		/* RAM and the board's regions (nvdimm files): last, see
		 * kvm_machine_build. */
		if (kvm_vm_map_gm(&km->vm, km->m.gm, err, errlen) < 0)
			goto out;
		/* Recording of guest-memory accesses starts here, after the
		 * kernel and ACPI tables went in: those are not device effects. */
		if (tr)
			trace_rec_start(tr);
		if (first && opts && opts->ready)
			opts->ready(opts->ready_arg);
		if (first && getenv("VMM_BENCH_TIMESTAMPS"))
			kvm_machine_report_guest_rss(km);
		if (first && kvm_machine_sandbox(km, cfg, err, errlen) < 0)
			goto out;
		/* -S: held before their first KVM_RUN, only QMP cont starts
		 * them (and a reset of a held VM stays held). */
		pthread_mutex_lock(&km->m.lock);
		bool restoring = kvm_mig_restoring(km->mig);
		km->prelaunch = hold || restoring;
		if (!hold && !restoring)
			kvm_cpus_resume(km->cpus);
		/* -incoming: held until the stream is loaded. */
		int ib = restoring ? kvm_mig_incoming_begin(km->mig, err, errlen) : 0;
		pthread_mutex_unlock(&km->m.lock);
		if (ib < 0)
			goto out;
		kvm_machine_loop(km);
		pthread_mutex_lock(&km->m.lock);
		*res = km->res;
		hold = km->prelaunch || kvm_cpus_paused(km->cpus);
		/* A reset rebuilds the whole machine from the description:
		 * the state a power cycle gives, with no device needing a
		 * reset path of its own.  -no-reboot turns it into an exit. */
		bool rebuild = res->ev == MACHINE_RESET && !km->no_reboot;
		const char *why = NULL;
		if (tr && rebuild && kvm_machine_trace_spans(km, recorded, &why) &&
		    trace_rec_reset(tr)) {
			/* The trace goes on: a reset record, then the rebuilt
			 * machine's construction (replay rebuilds its board
			 * there).  The teardown is not recorded. */
		} else if (tr) {
			trace_rec_finish(tr);  /* teardown is not recorded */
			tr = NULL;
			km->trace = NULL;
		}
		pthread_mutex_unlock(&km->m.lock);
		kvm_machine_reset_event(km);
		kvm_machine_unbuild(km);
		if (!rebuild)
			break;
		log_info(log, "guest reset: rebooting");
		if (why)
			log_warn(log, "trace: the guest reset after %s; the trace ends "
				 "here (replay rebuilds the recorded command line)", why);
	}
	ret = 0;
out:
	/* A start-up step that failed because a termination signal broke
	 * into it (EINTR) is no error: the process was asked to end. */
	if (kvm_startup_end(km, &set) && ret < 0)
		ret = kvm_startup_terminated(km, res);
	if (tr)
		trace_rec_finish(tr);
	kvm_machine_teardown(km);
	kvm_cpuhp_free(km);
	free(km->cfg);
	free(km);
	return ret;
}
