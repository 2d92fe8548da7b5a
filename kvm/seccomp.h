/* The seccomp sandbox of a running VMM (libseccomp; Linux
 * Documentation/userspace-api/seccomp_filter.rst).
 *
 * Once the machine is built, before the first KVM_RUN and before the event
 * loop serves guest-facing work, kvm_machine_run() installs one allowlist
 * filter on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC: the I/O
 * threads the board already started and the vCPU threads, started parked,
 * are covered; a rebuilt machine's threads inherit it).  What a running VMM does (vCPU exits, event loop,
 * I/O threads, char/block/net backends, the QMP socket) is allowed, with
 * argument checks where they are cheap: ioctl requests limited to the set
 * used after boot, mmap/mprotect never executable, clone only for threads,
 * socket only AF_UNIX, tgkill only inside this process.  execve, fork,
 * ptrace, mount, bpf, new network sockets and everything else never used
 * are refused.
 *
 * A refused call raises SIGSYS (SCMP_ACT_TRAP); the handler writes which
 * call (name, number, and the ioctl request or socket family) and thread
 * to stderr and exits with status 1, so a missing entry is a one-line bug
 * report rather than a silent kill.  The syscall itself never runs.
 *
 * A reset rebuilds the machine (kvm_machine.c), which opens /dev/kvm, the
 * kernel, disk images and backends again: without -no-reboot the filter
 * also allows that (openat, socket(AF_UNIX)/bind/listen, memfd, the KVM
 * set-up ioctls).  With -no-reboot a reset ends the process, so none of
 * that is allowed and openat fails with EACCES (glibc names vCPU threads
 * through /proc after the filter is in; that naming then fails quietly). */
#ifndef VMM_KVM_SECCOMP_H
#define VMM_KVM_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

struct kvm_seccomp_opts {
	/* The machine may be rebuilt in this process (a reset without
	 * -no-reboot): allow what building it needs. */
	bool allow_rebuild;
	/* A client chardev socket reconnects while the guest runs
	 * (reconnect=): allow socket(AF_UNIX) and connect. */
	bool allow_unix_connect;
	/* -smp maxcpus > cpus: creating and setting up a vCPU at run time
	 * (device_add of a CPU). */
	bool allow_cpu_hotplug;
	/* Memory hot-plug (-m slots=/maxmem=): object-add / device_add map
	 * backends while the guest runs (memfd_create, openat for
	 * memory-backend-file, KVM_SET_USER_MEMORY_REGION). */
	bool allow_memhp;
	/* Install even in an ASan build (tests whose child never runs
	 * LeakSanitizer's exit check). */
	bool in_sanitizer;
};

/* Install the SIGSYS reporter and load the filter on every thread of the
 * process.  Filters cannot be removed: call once per process.  0 (err
 * gets a line for the info log), 1 when deliberately not installed (an
 * ASan build; err says so), or -1 with a one-line error (the kernel lacks
 * seccomp filters or TSYNC). */
int kvm_seccomp_install(const struct kvm_seccomp_opts *o, char *err,
			size_t errlen);

/* The number of syscall rules the filter for `o` has (tests, the log). */
int kvm_seccomp_rule_count(const struct kvm_seccomp_opts *o);

/* Whether the calling thread runs under a seccomp filter (Seccomp: 2 in
 * /proc/self/status, read through prctl). */
bool kvm_seccomp_active(void);

#endif
