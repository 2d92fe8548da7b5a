/* vmm: parse the command line, then run the machine on KVM (accel=kvm) or
 * the device self-test on the simulator (accel=sim).
 *
 * Exit status says how things ended:
 *   0   the guest shut down (ACPI S5, or a reset under -no-reboot)
 *   N   the guest wrote to the debug-exit port: (value << 1) | 1
 *   1   the VMM could not build or keep running the machine (no KVM, bad
 *       kernel file, host error) -- the message says what to do
 *   2   the command line is wrong (one-line message naming the option) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/fdt_desc.h"
#include "core/layout.h"
#include "core/log.h"
#include "core/trace.h"
#include "machine/board.h"
#include "kvm/kvm.h"
#include "sim/selftest.h"


/* What -daemonize and -pidfile leave behind for the exit path. */
struct vmm_proc {
	int ready_fd;   /* daemonized child: write one byte when running */
	int pidfile_fd;
	const char *pidfile;
};

/* -dump-dtb: the machine description as a device tree, with the address
 * map the machine would get; nothing is created.  Exit status: 0, 2 when
 * the machine cannot be laid out (a configuration error), 1 when the file
 * cannot be written. */
static int vmm_dump_dtb(const struct machine_config *cfg, char *err,
			size_t errlen)
{
	struct layout l;
	if (layout_build(&l, cfg, err, errlen) < 0)
		return 2;
	return fdt_desc_dump(cfg, &l, cfg->dump_dtb, err, errlen) < 0 ? 1 : 0;
}

static int vmm_write_pidfile(struct vmm_proc *p, const char *path, char *err,
			     size_t errlen)
{
	/* A lock, as QEMU does, so two VMMs never share one pidfile. */
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "vmm: -pidfile: cannot open '%s': %s",
			 path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "vmm: -pidfile: '%s' is locked by another "
			 "running vmm", path);
		close(fd);
		return -1;
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
		snprintf(err, errlen, "vmm: -pidfile: cannot write '%s': %s",
			 path, strerror(errno));
		close(fd);
		return -1;
	}
	p->pidfile_fd = fd;
	p->pidfile = path;
	return 0;
}

/* fork; the parent waits until the child says the VM is running (or died)
 * so a launcher that waits for the parent sees a ready VM, as with QEMU. */
static int vmm_daemonize(struct vmm_proc *p)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(pfd[1]);
		char c;
		ssize_t r;
		do
			r = read(pfd[0], &c, 1);
		while (r < 0 && errno == EINTR);
		/* No byte: the child failed before the VM ran; it printed why. */
		_exit(r == 1 ? 0 : 1);
	}
	close(pfd[0]);
	if (setsid() < 0)
		return -1;
	/* The daemon never reads or writes the terminal: with -serial stdio
	 * the console goes nowhere, and the terminal is never put in raw
	 * mode behind the shell's back.  stderr stays until the VM runs so
	 * set-up errors still reach the user through the waiting parent. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return -1;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	close(null);
	p->ready_fd = pfd[1];
	if (chdir("/") < 0)
		return -1;
	return 0;
}

static void vmm_ready(void *arg)
{
	struct vmm_proc *p = arg;
	if (p->ready_fd < 0)
		return;
	/* The parent exits now; detach our stdio from its terminal. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	ssize_t w;
	do
		w = write(p->ready_fd, "1", 1);
	while (w < 0 && errno == EINTR);
	close(p->ready_fd);
	p->ready_fd = -1;
}

static void vmm_cleanup(struct vmm_proc *p)
{
	if (p->pidfile_fd >= 0) {
		unlink(p->pidfile);
		close(p->pidfile_fd);
		p->pidfile_fd = -1;
	}
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
		       struct vmm_proc *p, struct trace_rec *tr)
{
	struct kvm_run_opts opts = { .ready = vmm_ready, .ready_arg = p,
				     .trace = tr };
	for (;;) {
		char err[512] = "";
		struct kvm_result res = { MACHINE_ERROR, 1 };
		if (kvm_machine_run(cfg, log, &opts, &res, err, sizeof(err)) < 0) {
			/* One line: the log is stderr too unless -D moved it. */
			fprintf(stderr, "%s\n", err);
			if (cfg->logfile[0])
				log_err(log, "%s", err);
			return 1;
		}
		/* A reset rebuilds the whole machine from the description:
		 * the same state a power cycle gives, with no device needing a
		 * reset path of its own.  -no-reboot turns it into an exit. */
		if (res.ev == MACHINE_RESET && !cfg->no_reboot) {
			log_info(log, "guest reset: rebooting");
			opts.ready = NULL;
			/* A trace holds one boot: replay builds one machine. */
			if (opts.trace)
				log_warn(log, "trace: the guest reset; the trace ends "
					 "with the first boot");
			opts.trace = NULL;
			continue;
		}
		log_info(log, "guest ended: event %d status %d", (int)res.ev,
			 res.status);
		return vmm_exit_status(&res);
	}
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
		fprintf(stderr, "%s\n", err[0] ? err : "vmm: bad command line");
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
			fprintf(stderr, "%s\n", err);
		free(cfg);
		return r;
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
	struct vmm_proc proc = { .ready_fd = -1, .pidfile_fd = -1 };
	if (cfg->trace_record[0]) {
		if (trace_rec_check(cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			rc = 2;
			goto out;
		}
		const char *lim = getenv("VMM_TRACE_LIMIT");
		tr = trace_rec_open(cfg->trace_record, argc, argv, cfg,
				    cfg->machine.accel == CFG_ACCEL_KVM,
				    lim ? strtoull(lim, NULL, 0) : 0, log, err,
				    sizeof(err));
		if (!tr) {
			fprintf(stderr, "%s\n", err);
			rc = 1;
			goto out;
		}
	}
	if (cfg->daemonize && vmm_daemonize(&proc) < 0) {
		fprintf(stderr, "vmm: -daemonize: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	if (cfg->pidfile[0] &&
	    vmm_write_pidfile(&proc, cfg->pidfile, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		rc = 1;
		goto out;
	}

	if (cfg->machine.accel == CFG_ACCEL_SIM) {
		vmm_ready(&proc);
		rc = selftest_run_trace(cfg, log, stdout, tr, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "%s\n", err);
			rc = 1;
		}
	} else {
		rc = vmm_run_kvm(cfg, log, &proc, tr);
	}
out:
	if (tr) {
		char terr[512] = "";
		if (trace_rec_close(tr, terr, sizeof(terr)) < 0) {
			fprintf(stderr, "%s\n", terr);
			if (rc == 0)
				rc = 1;
		}
	}
	vmm_cleanup(&proc);
	log_free(log);
	free(cfg);
	return rc;
}
