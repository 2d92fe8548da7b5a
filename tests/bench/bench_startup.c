/* Startup and exit costs of the vmm under KVM, next to QEMU's microvm
 * running the very same test guest (QEMU is a peer to measure against,
 * never a dependency: its rows are left out when it is not installed):
 *   - exec -> first KVM_RUN (ours: VMM_BENCH_TIMESTAMPS; QEMU: its
 *     kvm_vcpu_ioctl trace with -msg timestamp=on), wall clock;
 *   - exec -> exit of the test guest doing nothing (action exit);
 *   - peak RSS of that run (the guest touches well under 1 MiB of its
 *     RAM, so this is the VMM's own footprint);
 *   - cost of one port-I/O exit: (pio:N run - exit run) / N;
 *   - the floor: a bare KVM_RUN round trip on an `out` loop, no VMM.
 * Under nested KVM without VMX/SVM every figure is dominated by
 * instruction emulation; they are figures, not gates. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS 5
#define PIO_EXITS 20000

struct run_result {
	double wall_ms;        /* exec -> exit */
	double first_run_ms;   /* exec -> first KVM_RUN (< 0: not seen) */
	double rss_mib;
	int status;
};

static double now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The first KVM_RUN time either VMM printed on stderr (seconds). */
static double parse_first_run(const char *err)
{
	const char *p = strstr(err, "vmm-bench: first KVM_RUN at ");
	if (p)
		return strtod(p + strlen("vmm-bench: first KVM_RUN at "), NULL);
	/* QEMU: "PID@SEC.USEC:kvm_vcpu_ioctl cpu_index 0, type 0xae80" */
	for (p = err; (p = strstr(p, "type 0xae80")) != NULL; p++) {
		const char *line = p;
		while (line > err && line[-1] != '\n')
			line--;
		const char *at = strchr(line, '@');
		if (at && at < p)
			return strtod(at + 1, NULL);
	}
	return -1;
}

static int run_once(char *const argv[], bool bench_env, struct run_result *r)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	double t0 = now_real(), m0 = now_mono();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		if (bench_env)
			setenv("VMM_BENCH_TIMESTAMPS", "1", 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	static char err[1 << 20];
	size_t n = 0;
	ssize_t k;
	while ((k = read(pfd[0], err + n, sizeof(err) - 1 - n)) > 0)
		n += (size_t)k;
	err[n] = '\0';
	close(pfd[0]);
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0)
		return -1;
	r->wall_ms = (now_mono() - m0) * 1e3;
	double fr = parse_first_run(err);
	r->first_run_ms = fr > 0 ? (fr - t0) * 1e3 : -1;
	r->rss_mib = (double)ru.ru_maxrss / 1024.0;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Median figures over RUNS runs; false when the guest did not pass. */
static bool measure(char *const argv[], bool bench_env, struct run_result *out)
{
	double wall[RUNS], first[RUNS], rss[RUNS];
	for (int i = 0; i < RUNS; i++) {
		struct run_result r;
		if (run_once(argv, bench_env, &r) < 0 || r.status != 33) {
			fprintf(stderr, "bench_startup: %s exited %d\n", argv[0],
				r.status);
			return false;
		}
		wall[i] = r.wall_ms;
		first[i] = r.first_run_ms;
		rss[i] = r.rss_mib;
	}
	out->wall_ms = median(wall, RUNS);
	out->first_run_ms = median(first, RUNS);
	out->rss_mib = median(rss, RUNS);
	return true;
}

static void row(const char *name, double v, const char *unit, bool have_ref,
		double ref)
{
	if (have_ref && ref > 0)
		printf("BENCH %s %.3f %s vs qemu-microvm %.3f %s ratio %.2f\n", name,
		       v, unit, ref, unit, v / ref);
	else
		printf("BENCH %s %.3f %s\n", name, v, unit);
}

/* Bare KVM: real-mode `out %al, $0x80; jmp .-2` at 0x1000, one exit per
 * KVM_RUN.  Microseconds per round trip, or -1. */
static double kvm_floor(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return -1;
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	size_t memsz = 0x10000;
	uint8_t *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double us = -1;
	if (vm < 0 || mem == MAP_FAILED)
		goto out;
	static const uint8_t code[] = { 0xe6, 0x80, 0xeb, 0xfc };
	memcpy(mem + 0x1000, code, sizeof(code));
	struct kvm_userspace_memory_region reg = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = memsz,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg) < 0)
		goto out;
	int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (cpu < 0 || sz <= 0)
		goto out;
	struct kvm_run *run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE,
				   MAP_SHARED, cpu, 0);
	struct kvm_sregs sr;
	ioctl(cpu, KVM_GET_SREGS, &sr);
	sr.cs.base = 0;
	sr.cs.selector = 0;
	ioctl(cpu, KVM_SET_SREGS, &sr);
	struct kvm_regs rg = { .rip = 0x1000, .rflags = 2 };
	ioctl(cpu, KVM_SET_REGS, &rg);
	/* Warm up, then time. */
	for (int i = 0; i < 100; i++)
		ioctl(cpu, KVM_RUN, 0);
	double t0 = now_mono();
	int n;
	for (n = 0; n < PIO_EXITS; n++)
		if (ioctl(cpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_IO)
			break;
	if (n == PIO_EXITS)
		us = (now_mono() - t0) * 1e6 / n;
	munmap(run, (size_t)sz);
	close(cpu);
out:
	if (mem != MAP_FAILED)
		munmap(mem, memsz);
	if (vm >= 0)
		close(vm);
	close(kvm);
	return us;
}

static bool have_qemu(void)
{
	return system("command -v qemu-system-x86_64 >/dev/null 2>&1") == 0;
}

int main(int argc, char **argv)
{
	(void)argc;
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("bench_startup: SKIP: no usable /dev/kvm\n");
		return 0;
	}
	/* $BUILD/bench/bench_startup -> $BUILD */
	char build[4096];
	const char *b = getenv("BUILD");
	if (b)
		snprintf(build, sizeof(build), "%s", b);
	else {
		snprintf(build, sizeof(build), "%s", argv[0]);
		for (int up = 0; up < 2; up++) {
			char *s = strrchr(build, '/');
			if (s)
				*s = '\0';
			else
				snprintf(build, sizeof(build), "%s", up ? "." : "..");
		}
	}
	char vmm[4200], guest[4200];
	snprintf(vmm, sizeof(vmm), "%s/vmm", build);
	snprintf(guest, sizeof(guest), "%s/guest-images/testguest.elf", build);
	if (access(vmm, X_OK) != 0 || access(guest, R_OK) != 0) {
		fprintf(stderr, "bench_startup: needs %s and %s (make all guest-images)\n",
			vmm, guest);
		return 1;
	}
	char pio_arg[64];
	snprintf(pio_arg, sizeof(pio_arg), "testguest.action=pio:%d", PIO_EXITS);

	char *ours_exit[] = { vmm, "-machine", "microvm,accel=kvm", "-cpu", "host",
		"-m", "64M", "-kernel", guest, "-append", "testguest.action=exit",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", NULL };
	char *ours_pio[] = { vmm, "-machine", "microvm,accel=kvm", "-cpu", "host",
		"-m", "64M", "-kernel", guest, "-append", pio_arg,
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", NULL };
	char *q_exit[] = { "qemu-system-x86_64", "-M", "microvm", "-enable-kvm",
		"-cpu", "host,-arch-capabilities", "-m", "64M", "-nodefaults",
		"-no-user-config", "-nographic", "-serial", "none", "-kernel", guest,
		"-append", "testguest.action=exit", "-device",
		"isa-debug-exit,iobase=0xf4,iosize=0x04", "-msg", "timestamp=on",
		"-trace", "kvm_vcpu_ioctl", NULL };
	char *q_pio[] = { "qemu-system-x86_64", "-M", "microvm", "-enable-kvm",
		"-cpu", "host,-arch-capabilities", "-m", "64M", "-nodefaults",
		"-no-user-config", "-nographic", "-serial", "none", "-kernel", guest,
		"-append", pio_arg, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		NULL };

	struct run_result oe, op, qe = { 0 }, qp = { 0 };
	if (!measure(ours_exit, true, &oe) || !measure(ours_pio, false, &op))
		return 1;
	bool q = have_qemu() && measure(q_exit, false, &qe) &&
		 measure(q_pio, false, &qp);
	if (!q)
		fprintf(stderr, "bench_startup: qemu-system-x86_64 unavailable: "
			"no reference column\n");
	row("startup_exec_to_first_kvm_run", oe.first_run_ms, "ms", q, qe.first_run_ms);
	row("startup_exec_to_exit", oe.wall_ms, "ms", q, qe.wall_ms);
	row("peak_rss_tiny_guest", oe.rss_mib, "MiB", q, qe.rss_mib);
	row("pio_exit_cost", (op.wall_ms - oe.wall_ms) * 1e3 / PIO_EXITS, "us", q,
	    (qp.wall_ms - qe.wall_ms) * 1e3 / PIO_EXITS);
	double fl = kvm_floor();
	if (fl > 0)
		printf("BENCH kvm_run_roundtrip_floor %.3f us\n", fl);
	return 0;
}
