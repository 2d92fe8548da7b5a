/* KVM-held state in a snapshot stream (core/snapshot.h): what the kernel
 * keeps for a vCPU (registers, FPU/XSAVE, LAPIC, MSRs, pending events,
 * MP state, debug registers, TSC rate) and for the VM (the 8259 pair and
 * the IOAPIC, the KVM clock).  The PIT is not here: ours is the device
 * model devices/pit.c (the VM has no in-kernel PIT), saved with the board.
 *
 * Section order (docs/snapshot.md): one "kvm.cpu" per vCPU in index
 * order, then "kvm.irqchip", then "kvm.clock".  Callers hold the machine
 * lock with every vCPU out of KVM_RUN (paused).
 *
 * Loading treats the stream as hostile: every size must be exactly what
 * this host's KVM uses, the vCPU's index and APIC id must match, flags and
 * enumerations must be ones the kernel defines, MSRs must be in the
 * host's KVM_GET_MSR_INDEX_LIST.  A refusal is one line (snap_r_error)
 * naming the section and field. */
#ifndef VMM_KVM_KVM_SNAPSHOT_H
#define VMM_KVM_KVM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

struct kvm_sys;
struct kvm_vm;
struct log;
struct snap_w;
struct snap_r;

#define KVM_SNAP_CPU_SECTION "kvm.cpu"
#define KVM_SNAP_IRQCHIP_SECTION "kvm.irqchip"
#define KVM_SNAP_CLOCK_SECTION "kvm.clock"
/* More MSRs than any KVM lists (about 100 on current hosts): a bound for
 * a hostile count. */
#define KVM_SNAP_MAX_MSRS 4096

/* One vCPU.  Save: 0, or -errno with err filled (an ioctl failed).  Load:
 * 0, or -errno with the reason in snap_r_error(r). */
int kvm_snap_cpu_save(int vcpu_fd, const struct kvm_sys *sys, unsigned index,
		      uint32_t apic_id, struct snap_w *w, char *err,
		      size_t errlen);
int kvm_snap_cpu_load(int vcpu_fd, const struct kvm_sys *sys, unsigned index,
		      uint32_t apic_id, struct snap_r *r, struct log *log);

/* The VM's irqchip (PIC master, PIC slave, IOAPIC) and KVM clock. */
int kvm_snap_vm_save(const struct kvm_vm *vm, struct snap_w *w, char *err,
		     size_t errlen);
int kvm_snap_vm_load(const struct kvm_vm *vm, struct snap_r *r);

/* The MSRs worth saving out of the host's list (pure): every listed MSR
 * except those KVM only lets the host read, or whose value is derived
 * from others.  Returns the count written to out (room for max). */
unsigned kvm_snap_msr_filter(const uint32_t *listed, unsigned n, uint32_t *out,
			     unsigned max);

#endif
