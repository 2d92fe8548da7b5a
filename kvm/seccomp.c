/* The VMM's seccomp allowlist (kvm/seccomp.h says what and why).  The
 * lists come from `strace -f` of the test guest with every device type
 * (tests/integration/test_seccomp.sh runs that configuration under the
 * filter) and from reading the code: what the vCPU threads (KVM_RUN, exit
 * dispatch to the buses, kicks), the event loop (epoll, timers, signalfd,
 * QMP), the I/O threads (eventfds) and the backends (pread/pwrite/fdatasync
 * on disks, tap read/write, chardev sockets and ptys, msync of nvdimms)
 * do once the machine runs. */
#include "kvm/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/vhost.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

/* Calls with no argument worth checking: I/O on descriptors the VMM
 * already holds, memory, threads' own housekeeping, time, exit.  (Paths
 * cannot be checked by seccomp; newfstatat is glibc's fstat.) */
static const int kvm_seccomp_always[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv),
	SCMP_SYS(pwritev), SCMP_SYS(preadv2), SCMP_SYS(pwritev2),
	SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(msync),
	SCMP_SYS(fallocate), SCMP_SYS(ftruncate), SCMP_SYS(fcntl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(accept4), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(shutdown),
	SCMP_SYS(getsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(sched_yield), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(getrandom),
	SCMP_SYS(sched_getaffinity), /* sanitizers' pthread_create */
	SCMP_SYS(munmap), SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(mremap),
	/* A save skips RAM never touched (machine/board_snap_ram.c): which
	 * of our own pages are resident, and whether the host swaps. */
	SCMP_SYS(mincore), SCMP_SYS(sysinfo),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
	/* Exit clean-up: the QMP socket and the -pidfile are removed, the
	 * migration helper (core/spawn.h, our only child) is reaped. */
	SCMP_SYS(unlink), SCMP_SYS(wait4),
};

/* Building a machine again (reset without -no-reboot): /dev/kvm, the
 * kernel, disk images, hugetlbfs RAM (statfs), memfd RAM, tap, ptys, unix
 * chardev sockets, eventfds, the new machine's event sources. */
static const int kvm_seccomp_rebuild[] = {
	SCMP_SYS(openat), SCMP_SYS(memfd_create), SCMP_SYS(eventfd2),
	SCMP_SYS(epoll_create1), SCMP_SYS(signalfd4), SCMP_SYS(bind),
	SCMP_SYS(listen), SCMP_SYS(connect), SCMP_SYS(statfs),
	SCMP_SYS(fstatfs), SCMP_SYS(dup), SCMP_SYS(dup3),
};

/* ioctl requests after boot: the vCPU run loop and its register dumps on
 * a fatal exit, interrupts (lines, MSIs, irqfd, routes the guest
 * reprograms through MSI-X), ioeventfds, tap offloads the guest driver
 * negotiates, terminal modes of -serial stdio/pty. */
static const unsigned long kvm_seccomp_ioctl_run[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, KVM_SIGNAL_MSI, KVM_IRQFD,
	KVM_IOEVENTFD, KVM_SET_GSI_ROUTING, KVM_GET_REGS, KVM_GET_SREGS,
	TUNSETOFFLOAD, TUNSETVNETHDRSZ,
	/* netdev_add's tap and vhost checks (read-only), and the tap queue
	 * a guest's virtio-net pair count attaches or detaches. */
	TUNGETIFF, TUNSETQUEUE, VHOST_GET_FEATURES,
	/* QMP migrate reads the vCPU and VM state (kvm/kvm_snapshot.h);
	 * -incoming defer loads it after the filter is in.  Both touch only
	 * this VM's own state. */
	KVM_CHECK_EXTENSION, KVM_GET_FPU, KVM_GET_XSAVE, KVM_GET_XSAVE2,
	KVM_GET_XCRS, KVM_GET_LAPIC, KVM_GET_MSRS, KVM_GET_VCPU_EVENTS,
	KVM_GET_MP_STATE, KVM_GET_DEBUGREGS, KVM_GET_TSC_KHZ, KVM_GET_IRQCHIP,
	KVM_GET_CLOCK, KVM_SET_REGS, KVM_SET_SREGS, KVM_SET_FPU, KVM_SET_XSAVE,
	KVM_SET_XCRS, KVM_SET_LAPIC, KVM_SET_MSRS, KVM_SET_VCPU_EVENTS,
	KVM_SET_MP_STATE, KVM_SET_DEBUGREGS, KVM_SET_TSC_KHZ, KVM_SET_IRQCHIP,
	KVM_SET_CLOCK,
	TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, FIONREAD, FIONBIO,
};

/* ... and what building a machine adds (kvm_sys, kvm_vm with the 8259
 * hand-over, kvm_vcpu, tap TUNSETIFF, openpty). */
static const unsigned long kvm_seccomp_ioctl_build[] = {
	/* (KVM_CHECK_EXTENSION, the irqchip, LAPIC, MSR and register
	 * ioctls are in the run list, for snapshots.) */
	KVM_GET_API_VERSION, KVM_CREATE_VM,
	KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID, KVM_GET_MSR_INDEX_LIST,
	KVM_CREATE_IRQCHIP,
	KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR,
	KVM_SET_USER_MEMORY_REGION, KVM_CREATE_VCPU, KVM_SET_CPUID2,
	TUNSETIFF, TIOCGPTN, TIOCSPTLCK, TIOCGPTPEER, TIOCSWINSZ,
};

#define KVM_SECCOMP_N(a) (sizeof(a) / sizeof((a)[0]))

/* Memory hot-plug without rebuilds (-no-reboot): mapping a backend. */
static const int kvm_seccomp_memhp[] = {
	SCMP_SYS(openat), SCMP_SYS(memfd_create),
};

/* --- reporting a refused call ------------------------------------------ */

static size_t kvm_seccomp_put(char *buf, size_t pos, size_t cap, const char *s)
{
	while (*s && pos + 1 < cap)
		buf[pos++] = *s++;
	return pos;
}

static size_t kvm_seccomp_put_num(char *buf, size_t pos, size_t cap,
				  unsigned long long v, bool hex)
{
	char tmp[24];
	unsigned n = 0, base = hex ? 16 : 10;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && n < sizeof(tmp));
	if (hex)
		pos = kvm_seccomp_put(buf, pos, cap, "0x");
	while (n && pos + 1 < cap)
		buf[pos++] = tmp[--n];
	return pos;
}

/* SIGSYS from SCMP_ACT_TRAP.  Only write(2) and exit_group run here (both
 * allowed).  The name lookup allocates, which is safe in practice: the
 * refused call cannot have come from inside malloc, whose own calls (brk,
 * mmap, munmap, madvise) are all allowed. */
static void kvm_seccomp_sigsys(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	char buf[320];
	size_t p = 0, cap = sizeof(buf);
	int nr = si->si_syscall;
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	p = kvm_seccomp_put(buf, p, cap, "vmm: seccomp: blocked system call ");
	p = kvm_seccomp_put(buf, p, cap, name ? name : "?");
	p = kvm_seccomp_put(buf, p, cap, " (");
	p = kvm_seccomp_put_num(buf, p, cap, (unsigned)nr, false);
	p = kvm_seccomp_put(buf, p, cap, ")");
	const ucontext_t *uc = ucv;
	if (uc && (nr == SCMP_SYS(ioctl) || nr == SCMP_SYS(socket) ||
		   nr == SCMP_SYS(clone) || nr == SCMP_SYS(mmap) ||
		   nr == SCMP_SYS(mprotect))) {
		p = kvm_seccomp_put(buf, p, cap, nr == SCMP_SYS(ioctl) ?
				    " request " : " argument ");
		p = kvm_seccomp_put_num(buf, p, cap, (unsigned long long)
			uc->uc_mcontext.gregs[nr == SCMP_SYS(ioctl) ? REG_RSI :
			nr == SCMP_SYS(mprotect) || nr == SCMP_SYS(mmap) ?
			REG_RDX : REG_RDI], true);
	}
	p = kvm_seccomp_put(buf, p, cap, " on thread ");
	p = kvm_seccomp_put_num(buf, p, cap, (unsigned long long)syscall(SYS_gettid),
				false);
	p = kvm_seccomp_put(buf, p, cap, "; exiting (run with -disable-seccomp "
			    "to debug, and report the call)\n");
	ssize_t w = write(STDERR_FILENO, buf, p);
	(void)w;
	_exit(1);
}

/* --- the filter ---------------------------------------------------------- */

static int kvm_seccomp_rule(scmp_filter_ctx ctx, int *n, int nr,
			    unsigned cnt, const struct scmp_arg_cmp *cmp)
{
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, cnt, cmp);
	if (r == 0)
		(*n)++;
	return r;
}

/* libseccomp's SCMP_An() macros leave datum_b implicit, which clang's
 * -Wmissing-field-initializers (the fuzz build) rejects: spell it out. */
static struct scmp_arg_cmp kvm_seccomp_cmp(unsigned arg, enum scmp_compare op,
					   scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = { .arg = arg, .op = op, .datum_a = a, .datum_b = b };
	return c;
}

/* A coverage build writes its .gcda files from an exit handler: it needs
 * openat at the end even under -no-reboot.  The weak reference is NULL
 * in a normal build. */
extern void __gcov_dump(void) __attribute__((weak));

static scmp_filter_ctx kvm_seccomp_build(const struct kvm_seccomp_opts *o,
					 int *nrules)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return NULL;
	int n = 0, r = 0;
	for (size_t i = 0; i < KVM_SECCOMP_N(kvm_seccomp_always) && !r; i++)
		r = kvm_seccomp_rule(ctx, &n, kvm_seccomp_always[i], 0, NULL);
	if (o->allow_rebuild)
		for (size_t i = 0; i < KVM_SECCOMP_N(kvm_seccomp_rebuild) && !r; i++)
			r = kvm_seccomp_rule(ctx, &n, kvm_seccomp_rebuild[i], 0, NULL);
	else if (!r && o->allow_memhp)
		for (size_t i = 0; i < KVM_SECCOMP_N(kvm_seccomp_memhp) && !r; i++)
			r = kvm_seccomp_rule(ctx, &n, kvm_seccomp_memhp[i], 0, NULL);
	else if (!r)
		/* Nothing opens a file after boot; glibc naming a vCPU thread
		 * through /proc gets a plain error instead of the trap. */
		r = seccomp_rule_add(ctx, __gcov_dump ? SCMP_ACT_ALLOW :
				     SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);

	/* Never executable memory: the VMM loads no code after start. */
	struct scmp_arg_cmp noexec = kvm_seccomp_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	if (!r)
		r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(mmap), 1, &noexec);
	if (!r)
		r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(mprotect), 1, &noexec);
	/* clone only for threads (pthread_create); clone3 passes its flags
	 * in memory seccomp cannot read, so it says ENOSYS and glibc falls
	 * back to clone. */
	struct scmp_arg_cmp thread = kvm_seccomp_cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
	if (!r)
		r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(clone), 1, &thread);
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* Signals only to our own threads (vCPU kicks, raise). */
	struct scmp_arg_cmp self = kvm_seccomp_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0);
	if (!r)
		r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(tgkill), 1, &self);
	/* Thread names (the calling thread's own) and the seccomp probe. */
	static const int prctls[] = { PR_SET_NAME, PR_GET_NAME, PR_GET_SECCOMP };
	for (size_t i = 0; i < KVM_SECCOMP_N(prctls) && !r; i++) {
		struct scmp_arg_cmp c = kvm_seccomp_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)prctls[i], 0);
		r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(prctl), 1, &c);
	}
	/* Unix sockets only: chardev sockets of a rebuilt machine, and
	 * client chardevs reconnecting to their peer. */
	if ((o->allow_rebuild || o->allow_unix_connect) && !r) {
		struct scmp_arg_cmp unix_ = kvm_seccomp_cmp(0, SCMP_CMP_EQ, AF_UNIX, 0);
		r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(socket), 1, &unix_);
	}
	if (!o->allow_rebuild && o->allow_unix_connect && !r)
		r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(connect), 0, NULL);
	/* ioctl: one rule per request (their OR). */
	for (size_t i = 0; i < KVM_SECCOMP_N(kvm_seccomp_ioctl_run) && !r; i++) {
		struct scmp_arg_cmp c = kvm_seccomp_cmp(1, SCMP_CMP_EQ, kvm_seccomp_ioctl_run[i], 0);
		r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(ioctl), 1, &c);
	}
	if (o->allow_memhp && !o->allow_rebuild && !r) {
		struct scmp_arg_cmp c = kvm_seccomp_cmp(1, SCMP_CMP_EQ, KVM_SET_USER_MEMORY_REGION, 0);
		r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(ioctl), 1, &c);
	}
	/* vCPU hot-plug: what kvm_vcpu_setup and a parked vCPU's reuse do
	 * (the rebuild list has them all but the MP state). */
	if (o->allow_cpu_hotplug && !r) {
		static const unsigned long hp[] = { KVM_SET_MP_STATE };
		static const unsigned long vcpu[] = {
			KVM_CREATE_VCPU, KVM_SET_CPUID2, KVM_SET_MSRS,
			KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_SET_FPU,
		};
		for (size_t i = 0; i < KVM_SECCOMP_N(hp) && !r; i++) {
			struct scmp_arg_cmp c = kvm_seccomp_cmp(1, SCMP_CMP_EQ, hp[i], 0);
			r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(ioctl), 1, &c);
		}
		for (size_t i = 0; !o->allow_rebuild && i < KVM_SECCOMP_N(vcpu) && !r; i++) {
			struct scmp_arg_cmp c = kvm_seccomp_cmp(1, SCMP_CMP_EQ, vcpu[i], 0);
			r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(ioctl), 1, &c);
		}
	}
	if (o->allow_rebuild)
		for (size_t i = 0; i < KVM_SECCOMP_N(kvm_seccomp_ioctl_build) && !r; i++) {
			struct scmp_arg_cmp c =
				kvm_seccomp_cmp(1, SCMP_CMP_EQ, kvm_seccomp_ioctl_build[i], 0);
			r = kvm_seccomp_rule(ctx, &n, SCMP_SYS(ioctl), 1, &c);
		}
	if (r) {
		seccomp_release(ctx);
		return NULL;
	}
	*nrules = n;
	return ctx;
}

int kvm_seccomp_rule_count(const struct kvm_seccomp_opts *o)
{
	int n = 0;
	scmp_filter_ctx ctx = kvm_seccomp_build(o, &n);
	if (!ctx)
		return -1;
	seccomp_release(ctx);
	return n;
}

int kvm_seccomp_install(const struct kvm_seccomp_opts *o, char *err,
			size_t errlen)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kvm_seccomp_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		snprintf(err, errlen, "vmm: seccomp: SIGSYS handler: %s",
			 strerror(errno));
		return -1;
	}
#ifdef __SANITIZE_ADDRESS__
	/* LeakSanitizer stops the world at exit with ptrace from a forked
	 * (not CLONE_THREAD) tracer: the filter would turn every clean exit
	 * of an ASan build into a SIGSYS report. */
	if (!o->in_sanitizer) {
		snprintf(err, errlen, "vmm: seccomp: not installed in an ASan "
			 "build (LeakSanitizer needs ptrace at exit)");
		return 1;
	}
#endif
	/* The SIGSYS goes to the thread that made the call; one that blocks
	 * SIGSYS is killed by the kernel without the report. */
	int n = 0;
	scmp_filter_ctx ctx = kvm_seccomp_build(o, &n);
	if (!ctx) {
		snprintf(err, errlen, "vmm: seccomp: cannot build the filter "
			 "(libseccomp)");
		return -1;
	}
	/* TSYNC: the I/O threads already running get the same filter; one
	 * that cannot (it has another filter) fails the whole load. */
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		snprintf(err, errlen, "vmm: seccomp: loading the filter failed: %s "
			 "(a kernel without seccomp filters? -disable-seccomp runs "
			 "without it)", strerror(-r));
		return -1;
	}
	snprintf(err, errlen, "seccomp: filter installed on every thread: %d "
		 "rules, %s", n, o->allow_rebuild ? "machine rebuild allowed" :
		 "no rebuild (-no-reboot)");
	return 0;
}

bool kvm_seccomp_active(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2;
}
