/* The KVM backend: runs a machine described by a machine_config on
 * /dev/kvm.  kvm_machine_run() builds guest memory, the VM (in-kernel
 * irqchip, memory slots), the board's devices, loads the kernel through
 * kvm/boot.h, starts one thread per vCPU and runs the host event loop until
 * the guest ends (debug-exit, shutdown, reset, or a host error).
 *
 * The lower-level pieces (kvm_sys, kvm_vm, kvm_cpu, ...) are declared in
 * kvm/kvm_int.h for the backend's own files and the benchmarks. */
#ifndef VMM_KVM_KVM_H
#define VMM_KVM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include "core/config.h"
#include "core/machine.h"

struct log;

/* How a run ended. */
struct kvm_result {
	enum machine_event ev; /* MACHINE_SHUTDOWN / RESET / EXIT / ERROR */
	int status;            /* MACHINE_EXIT: the debug-exit status */
};

struct kvm_run_opts {
	/* Called once the machine is built and the kernel loaded, just before
	 * the first vCPU runs (daemonize: the parent may exit now). */
	void (*ready)(void *arg);
	void *ready_arg;
	/* -trace-record: wrap the machine's interfaces into this recording
	 * (core/trace.h); NULL: none. */
	struct trace_rec *trace;
};

/* Open /dev/kvm and check the API version and every capability the backend
 * uses.  Returns 0, or -1 with a one-line message that says what to do. */
int kvm_check(char *err, size_t errlen);

/* Build and run one boot of the machine.  Returns 0 with *res filled when
 * the guest ran (whatever its fate), -1 with a one-line message in err when
 * the machine could not be built (bad kernel file, no KVM, ...): no vCPU
 * has run in that case; -2 when that is the configuration's error (an
 * image another process holds locked, a file of the wrong type), which
 * the program reports as a bad configuration (exit 2). */
int kvm_machine_run(const struct machine_config *cfg, struct log *log,
		    const struct kvm_run_opts *opts, struct kvm_result *res,
		    char *err, size_t errlen);

#endif
