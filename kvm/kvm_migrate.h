/* Saving and restoring a KVM machine (issue 18; docs/snapshot.md): QMP
 * migrate to exec:/file:, query-migrate, capabilities and MIGRATION
 * events, and -incoming defer|exec:|file: with migrate-incoming.
 *
 * The stream: "vm" (what must match: vCPU count, RAM size, machine type),
 * the board's devices (board_save_state), guest RAM (board_save_ram; with
 * x-ignore-shared, shared file-backed RAM stays in its file), one
 * "kvm.cpu" per vCPU, "kvm.irqchip", "kvm.clock" (kvm/kvm_snapshot.h).
 *
 * Saving never holds the machine lock for the output: migrate pauses the
 * vCPUs and returns; a timer on the loop waits (bounded) for every vCPU
 * to park; the stream is then built in memory in one lock hold (devices,
 * KVM state and a copy of RAM not left in a shared file, so it is one
 * consistent instant), and a writer thread, without the lock, writes it
 * to the command or file while QMP answers query-migrate.  Restoring reads
 * the stream in a thread the same way, then loads it in one lock hold
 * before any vCPU has run. */
#ifndef VMM_KVM_KVM_MIGRATE_H
#define VMM_KVM_KVM_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

struct kvm_machine;
struct machine_config;
struct qmp_machine_ops;
struct kvm_migrate;

#define KVM_MIG_VM_SECTION "vm"

/* Per process, before the sandbox: the helper that runs exec: commands
 * and opens file: paths (core/spawn.h) when -qmp or -incoming could need
 * it.  NULL with err on failure. */
struct kvm_migrate *kvm_mig_new(struct kvm_machine *km,
				const struct machine_config *cfg, char *err,
				size_t errlen);
/* Stop a save or load in flight (its thread joined) and free. */
void kvm_mig_free(struct kvm_migrate *m);
/* The QMP migration ops. */
void kvm_mig_ops(struct kvm_migrate *m, struct qmp_machine_ops *ops);
/* This boot's machine is about to go (reset, exit): forget it. */
void kvm_mig_unbuild(struct kvm_migrate *m);
/* After the first build with -incoming: the vCPUs are held until the
 * stream is loaded; exec:/file: start reading now, defer waits for QMP
 * migrate-incoming.  0, or -1 with err. */
int kvm_mig_incoming_begin(struct kvm_migrate *m, char *err, size_t errlen);
/* Whether this build restores (skip the kernel and ACPI tables: the
 * stream's RAM holds them). */
bool kvm_mig_restoring(const struct kvm_migrate *m);
/* A RunState override for query-status ("inmigrate", "postmigrate",
 * "finish-migrate"), or NULL. */
const char *kvm_mig_runstate(const struct kvm_migrate *m);
/* QMP cont: leaves postmigrate; during inmigrate, asks for the vCPUs
 * to start once the stream is loaded (QEMU's autostart).  Returns true
 * when cont must not resume the vCPUs now. */
bool kvm_mig_cont(struct kvm_migrate *m);

#endif
