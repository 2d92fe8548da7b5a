/* vmm: parse the command line, then run the machine on KVM (accel=kvm) or
 * the device self-test on the simulator (accel=sim).
 *
 * Exit status says how things ended:
 *   0   the guest shut down (ACPI S5, or a reset under -no-reboot)
 *   N   the guest wrote to the debug-exit port: (value << 1) | 1
 *   1   the VMM could not build or keep running the machine (no KVM, bad
 *       kernel file, host error) -- the message says what to do
 *   2   the configuration is wrong, found before the VM starts: by the
 *       parser, or by board_check() (the address map, port clashes, an
 *       nvdimm image whose size differs from size=, -mem-path not on
 *       hugetlbfs), or something the host refuses before the VM starts
 *       (an image another process holds locked, a file of the wrong
 *       type) -- one line naming the option
 * Every error is printed once, as "vmm: " and the message. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/fdt_desc.h"
#include "core/layout.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/trace.h"
#include "machine/board.h"
#include "kvm/kvm.h"
#include "sim/selftest.h"


/* One line on stderr, "vmm: " once however many layers prefixed it. */
static const char *vmm_msg(const char *err)
{
	while (!strncmp(err, "vmm: ", 5))
		err += 5;
	return err;
}

static void vmm_report(const char *err)
{
	fprintf(stderr, "vmm: %s\n", err[0] ? vmm_msg(err) : "error");
}

/* -dump-dtb: the machine description as a device tree, with the address
 * map the machine would get; nothing is created.  Exit status: 0, 2 when
 * the machine cannot be laid out (a configuration error), 1 when the file
 * cannot be written. */
static int vmm_dump_dtb(const struct machine_config *cfg, char *err,
			size_t errlen)
{
	struct layout l;
	if (board_check(cfg, false, err, errlen) < 0 ||
	    layout_build(&l, cfg, err, errlen) < 0)
		return 2;
	return fdt_desc_dump(cfg, &l, cfg->dump_dtb, err, errlen) < 0 ? 1 : 0;
}

/* Exit status for how the guest ended (see the comment at the top). */
static int vmm_exit_status(const struct kvm_result *r)
{
	switch (r->ev) {
	case MACHINE_EXIT:
		return r->status & 0xff;
	case MACHINE_SHUTDOWN:
	case MACHINE_RESET:
	case MACHINE_RUNNING:
		return 0;
	case MACHINE_ERROR:
	default:
		return 1;
	}
}

static int vmm_run_kvm(const struct machine_config *cfg, struct log *log,
		       struct proc *p, struct trace_rec *tr)
{
	struct kvm_run_opts opts = { .ready = proc_ready, .ready_arg = p,
				     .trace = tr };
	/* kvm_machine_run rebuilds the machine itself on a guest reset
	 * (and keeps a trace going across it); it returns a reset only
	 * under -no-reboot, as an exit. */
	char err[512] = "";
	struct kvm_result res = { MACHINE_ERROR, 1 };
	int r = kvm_machine_run(cfg, log, &opts, &res, err, sizeof(err));
	if (r < 0) {
		vmm_report(err);
		/* With -D the log file gets it too (stderr has it once). */
		if (cfg->logfile[0])
			log_err(log, "%s", vmm_msg(err));
		return r == -2 ? 2 : 1;
	}
	log_info(log, "guest ended: event %d status %d", (int)res.ev,
		 res.status);
	return vmm_exit_status(&res);
}

int main(int argc, char **argv)
{
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "vmm: out of memory\n");
		return 1;
	}
	char err[512] = "";
	int rc = config_parse(cfg, argc, argv, err, sizeof(err));
	if (rc < 0) {
		vmm_report(err[0] ? err : "bad command line");
		free(cfg);
		return 2;
	}
	if (rc > 0) { /* --help / --version printed */
		free(cfg);
		return 0;
	}

	if (cfg->dump_dtb[0]) {
		int r = vmm_dump_dtb(cfg, err, sizeof(err));
		if (r)
			vmm_report(err);
		free(cfg);
		return r;
	}
	/* What the board would refuse half-way through building, refused
	 * now: a configuration error, before anything is created. */
	if (cfg->machine.accel == CFG_ACCEL_KVM && !cfg->kernel[0]) {
		vmm_report("no -kernel given: accel=kvm needs a kernel (there "
			   "is no firmware)");
		free(cfg);
		return 2;
	}
	if (board_check(cfg, true, err, sizeof(err)) < 0) {
		vmm_report(err);
		free(cfg);
		return 2;
	}
	/* -daemonize moves to "/": relative paths keep meaning the
	 * directory vmm was started in, as with QEMU. */
	if (cfg->daemonize) {
		char cwd[CFG_PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd))) {
			fprintf(stderr, "vmm: -daemonize: the current directory: %s\n",
				strerror(errno));
			free(cfg);
			return 1;
		}
		if (config_absolute_paths(cfg, cwd, err, sizeof(err)) < 0) {
			vmm_report(err);
			free(cfg);
			return 2;
		}
	}

	struct log *log = log_new(cfg->logfile[0] ? cfg->logfile : NULL, LOG_WARN);
	if (!log) {
		fprintf(stderr, "vmm: -D: cannot open '%s': %s\n", cfg->logfile,
			strerror(errno));
		free(cfg);
		return 2;
	}
	const char *lvl = getenv("VMM_LOG_LEVEL");
	if (lvl && *lvl >= '0' && *lvl <= '3')
		log_set_level(log, (enum log_level)(*lvl - '0'));

	/* A closed pipe (serial socket peer gone) must be an error return,
	 * not process death. */
	signal(SIGPIPE, SIG_IGN);

	/* -trace-record: opened before -daemonize changes directory, so a
	 * relative path means what the user meant. */
	struct trace_rec *tr = NULL;
	struct proc proc = PROC_INIT;
	if (cfg->trace_record[0]) {
		if (trace_rec_check(cfg, err, sizeof(err)) < 0) {
			vmm_report(err);
			rc = 2;
			goto out;
		}
		const char *lim = getenv("VMM_TRACE_LIMIT");
		tr = trace_rec_open(cfg->trace_record, argc, argv, cfg,
				    cfg->machine.accel == CFG_ACCEL_KVM,
				    lim ? strtoull(lim, NULL, 0) : 0, log, err,
				    sizeof(err));
		if (!tr) {
			vmm_report(err);
			rc = 1;
			goto out;
		}
	}
	if (cfg->daemonize && proc_daemonize(&proc) < 0) {
		fprintf(stderr, "vmm: -daemonize: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	if (cfg->pidfile[0] &&
	    proc_write_pidfile(&proc, cfg->pidfile, err, sizeof(err)) < 0) {
		vmm_report(err);
		rc = 1;
		goto out;
	}

	if (cfg->machine.accel == CFG_ACCEL_SIM) {
		proc_ready(&proc);
		rc = selftest_run_trace(cfg, log, stdout, tr, err, sizeof(err));
		if (rc < 0) {
			vmm_report(err);
			rc = rc == -2 ? 2 : 1;
		}
	} else {
		rc = vmm_run_kvm(cfg, log, &proc, tr);
	}
out:
	if (tr) {
		char terr[512] = "";
		if (trace_rec_close(tr, terr, sizeof(terr)) < 0) {
			vmm_report(terr);
			if (rc == 0)
				rc = 1;
		}
	}
	proc_cleanup(&proc);
	log_free(log);
	free(cfg);
	return rc;
}
