/* The KVM backend's pieces, for its own files, tests and benchmarks:
 *   kvm_sys   /dev/kvm, API version, capabilities, supported CPUID/MSRs
 *   kvm_vm    the VM: in-kernel irqchip, GSI routing, memory slots
 *   kvm_irq   irq_chip over KVM_IRQ_LINE / KVM_SIGNAL_MSI, irqfd
 *   kvm_ioeventfd  guest writes that signal an eventfd without an exit
 *   kvm_cpuid / kvm_msr   what each vCPU is told and set up with
 *   kvm_vcpu  vCPU fds and threads, exit dispatch to the buses
 * Not a public interface: the rest of the VMM uses kvm/kvm.h. */
#ifndef VMM_KVM_KVM_INT_H
#define VMM_KVM_KVM_INT_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/irq.h"
#include "core/log.h"
#include "core/layout.h"
#include "core/machine.h"
#include "core/qmp.h"
#include "machine/board.h"
#include "kvm/kvm.h"

struct gm;
struct log;
struct boot_cpu;

/* ---- kvm_sys.c ---- */
struct kvm_sys {
	int fd;
	int vcpu_mmap_size;
	unsigned max_vcpus, max_vcpu_id, nr_memslots;
	bool readonly_mem;      /* KVM_CAP_READONLY_MEM */
	struct kvm_cpuid2 *cpuid;     /* KVM_GET_SUPPORTED_CPUID */
	struct kvm_msr_list *msrs;    /* KVM_GET_MSR_INDEX_LIST */
};
/* Returns 0, or -1 with a message saying what is missing and what to do. */
int kvm_sys_open(struct kvm_sys *s, char *err, size_t errlen);
/* kvm_sys_open in two steps: /dev/kvm and its capabilities, then the
 * supported CPUID and MSR lists (the costly part: KVM runs CPUID for
 * every leaf), so the machine can create its VM in between (see
 * kvm_machine_build).  kvm_sys_load_cpu does nothing the second time.
 * On failure kvm_sys_open_caps closes s; kvm_sys_load_cpu leaves that to
 * the caller. */
int kvm_sys_open_caps(struct kvm_sys *s, char *err, size_t errlen);
int kvm_sys_load_cpu(struct kvm_sys *s, char *err, size_t errlen);
void kvm_sys_close(struct kvm_sys *s);
bool kvm_sys_msr_supported(const struct kvm_sys *s, uint32_t index);

/* ---- kvm_vm.c / kvm_irq.c ---- */
#define KVM_VM_MAX_ROUTES 1024
#define KVM_VM_FIRST_MSI_GSI 24  /* GSIs past the IOAPIC pins */

struct kvm_vm {
	const struct kvm_sys *sys;
	int fd;
	struct log *log;
	unsigned nslots;
	struct irq_chip chip;
	/* GSI routing table as last given to KVM_SET_GSI_ROUTING. */
	struct kvm_irq_routing *routing;
	unsigned next_msi_gsi;
	pthread_mutex_t route_lock;
	struct log_rl rl;      /* interrupt injection failures */
};
int kvm_vm_create(struct kvm_vm *vm, const struct kvm_sys *sys,
		  struct log *log, char *err, size_t errlen);
void kvm_vm_destroy(struct kvm_vm *vm);
/* One memory slot per gm region; GM_READONLY regions get KVM_MEM_READONLY
 * (guest writes then exit as MMIO and are dropped by the bus). */
int kvm_vm_map_gm(struct kvm_vm *vm, const struct gm *gm, char *err,
		  size_t errlen);

/* Default routing: GSI 0-15 to both PIC and IOAPIC (as a PC wires them),
 * 16-23 to the IOAPIC only.  Called by kvm_vm_create. */
int kvm_irq_routing_init(struct kvm_vm *vm);
/* Leave the in-kernel 8259 pair as PC firmware does (kvm_irq.c). */
int kvm_irq_pic_handover(struct kvm_vm *vm);
/* Route a new GSI to an MSI message (for irqfd-driven MSI).  Returns the
 * GSI or -errno. */
int kvm_irq_msi_route(struct kvm_vm *vm, uint64_t addr, uint32_t data);
/* Point an existing MSI route at a new message. */
int kvm_irq_msi_route_update(struct kvm_vm *vm, unsigned gsi, uint64_t addr,
			     uint32_t data);
/* An eventfd write raises gsi; with resample_fd >= 0 the line is level
 * triggered and resample_fd is signalled at EOI. */
int kvm_irqfd(struct kvm_vm *vm, int fd, unsigned gsi, int resample_fd,
	      bool assign);

/* ---- kvm_ioeventfd.c ---- */
struct kvm_ioeventfd_spec {
	uint64_t addr;
	unsigned len;          /* 0 (any), 1, 2, 4, 8 */
	bool pio;
	bool datamatch;
	uint64_t data;
};
int kvm_ioeventfd(struct kvm_vm *vm, const struct kvm_ioeventfd_spec *s,
		  int fd, bool assign);

/* ---- kvm_cpuid.c (pure) ---- */
struct kvm_topo {
	unsigned sockets, cores, threads; /* per socket / per core */
	bool no_pmu;                      /* -cpu host,pmu=off */
};
/* vCPU index -> APIC id: acpi_apic_id_smp() of the shape, the MADT's. */
uint32_t kvm_topo_apic_id(const struct kvm_topo *t, unsigned index);
/* Bits of an APIC id used by the level below: threads, then cores. */
unsigned kvm_topo_thread_bits(const struct kvm_topo *t);
unsigned kvm_topo_core_bits(const struct kvm_topo *t);
/* Fill `out` (room for max entries) with the CPUID the vCPU `index` sees:
 * what KVM supports, with the APIC id, topology leaves (1, 4, 0xB, 0x1F,
 * 0x8000001E dropped) and the hypervisor bit set; with t->no_pmu the
 * performance-monitoring leaves and bits say there is none.  Returns the entry count,
 * or -ENOSPC. */
int kvm_cpuid_for_vcpu(const struct kvm_cpuid_entry2 *sup, unsigned nsup,
		       struct kvm_cpuid_entry2 *out, unsigned max,
		       const struct kvm_topo *t, unsigned index);

/* ---- kvm_msr.c ---- */
/* The initial MSR values a freshly reset x86 CPU (plus what firmware
 * would set: fast strings, write-back MTRR default) should have, keeping
 * only those in `supported`.  Returns the count (pure). */
unsigned kvm_msr_boot_list(const struct kvm_msr_list *supported,
			   struct kvm_msr_entry *out, unsigned max);
/* Set them on a vCPU; an MSR the host refuses is logged and skipped,
 * never fatal.  Returns how many were set. */
int kvm_msr_setup(int vcpu_fd, const struct kvm_msr_list *supported,
		  struct log *log);

/* ---- kvm_vcpu.c ---- */
struct kvm_cpu;
struct kvm_cpus;

/* What vCPU threads need from the machine. */
struct kvm_cpu_env {
	struct machine *m;       /* buses, big lock, ctl */
	struct kvm_vm *vm;
	struct log *log;
	/* Benchmarks (VMM_BENCH_TIMESTAMPS set): vCPU 0 prints the
	 * wall-clock time of its first KVM_RUN to stderr. */
	bool report_first_run;
};
/* Create n vCPUs with APIC ids from topology t: CPUID, MSRs, LAPIC in
 * virtual-wire mode.  vCPU 0 gets the boot register state. */
struct kvm_cpus *kvm_cpus_create(const struct kvm_cpu_env *env, unsigned n,
				 const struct kvm_topo *t,
				 const struct boot_cpu *boot, char *err,
				 size_t errlen);
/* The same with room for max vCPUs (-smp maxcpus): slots n..max-1 are
 * empty until kvm_cpus_plug. */
struct kvm_cpus *kvm_cpus_create_max(const struct kvm_cpu_env *env, unsigned n,
				     unsigned max, const struct kvm_topo *t,
				     const struct boot_cpu *boot, char *err,
				     size_t errlen);
/* Hot-plug (kvm_cpu_hotplug.c; main thread, big lock held): create the
 * vCPU of slot index (or take back its parked fd) in wait-for-INIT, as an
 * AP the guest starts with INIT-SIPI-SIPI, and with start its thread.
 * 0, -ERANGE, -EBUSY (there, or its old thread not yet out), -EIO.
 * kvm_cpus_unplug stops its thread (not waited for) and parks the fd. */
int kvm_cpus_plug(struct kvm_cpus *c, unsigned index, bool start, char *err,
		  size_t errlen);
int kvm_cpus_unplug(struct kvm_cpus *c, unsigned index);
bool kvm_cpus_present(const struct kvm_cpus *c, unsigned index);
unsigned kvm_cpus_slots(const struct kvm_cpus *c);
/* Start the threads. 0 or -errno. */
int kvm_cpus_start(struct kvm_cpus *c);
/* Ask every vCPU to leave KVM_RUN and its thread to end; thread-safe. */
void kvm_cpus_kick(struct kvm_cpus *c);
/* QMP stop/cont: vCPUs leave KVM_RUN and wait until resumed (a vCPU in
 * the middle of an exit finishes it first).  Thread-safe. */
void kvm_cpus_pause(struct kvm_cpus *c);
void kvm_cpus_resume(struct kvm_cpus *c);
bool kvm_cpus_paused(const struct kvm_cpus *c);
/* Stop (kick) and join every thread, then free. */
void kvm_cpus_destroy(struct kvm_cpus *c);
/* Host thread id of vCPU index (0 until its thread runs). */
int64_t kvm_cpus_thread_id(const struct kvm_cpus *c, unsigned index);
/* Exits handled by all vCPUs so far (benchmarks). */
uint64_t kvm_cpus_exit_count(const struct kvm_cpus *c);

/* Snapshots: vCPU count, fd and APIC id of vCPU index; quiesced: every
 * started thread is parked by a pause (or ended), out of KVM_RUN. */
unsigned kvm_cpus_count(const struct kvm_cpus *c);
int kvm_cpus_fd(const struct kvm_cpus *c, unsigned index);
uint32_t kvm_cpus_apic_id(const struct kvm_cpus *c, unsigned index);
bool kvm_cpus_quiesced(const struct kvm_cpus *c);

/* Load the register state `boot` describes into a vCPU (regs + sregs). */
int kvm_vcpu_load_boot(int vcpu_fd, const struct boot_cpu *boot);
/* kvm_vcpu_regs.c: LINT0/LINT1 in virtual-wire mode (ExtINT on the BSP,
 * NMI everywhere), and the FPU's reset state.  0 or -errno. */
int kvm_vcpu_set_lint(int fd, bool bsp);
int kvm_vcpu_set_fpu(int fd);

/* ---- kvm_machine.c / kvm_qmp.c ---- */
struct board;
struct board_qmp;
struct machine_config;

struct trace_rec;

/* A KVM machine (kvm/kvm.h kvm_machine_run).  A reset rebuilds the
 * per-boot part (guest RAM, buses, VM, board, vCPUs) from the
 * description; the big lock, the event loop, /dev/kvm, the signalfd and
 * the QMP server with its clients live across resets. */
struct kvm_machine {
	struct machine m;
	struct kvm_sys sys;
	struct kvm_vm vm;
	bool vm_ok;
	struct kvm_cpus *cpus;
	struct board *board;
	struct layout layout;
	struct kvm_result res;
	bool ended;
	/* This boot ends in a reset asked for over QMP (system_reset): the
	 * RESET or SHUTDOWN event says guest: false. */
	bool host_reset;
	bool sandboxed;        /* the seccomp filter is in */
	/* What this boot's board was given; the board keeps a pointer. */
	struct board_host host;
	/* Host backends (chardevs, drives, netdevs, entropy): opened by the
	 * first board, handed to every rebuilt one, closed at exit. */
	struct board_backends *backends;
	int sigfd;
	/* Start-up (kvm_machine_run until the first vCPU runs): the
	 * termination signals' dispositions before ours, restored when
	 * start-up ends; starting while ours are in place. */
	struct sigaction startup_old[3];
	bool starting;
	/* -qmp: the control socket, and what it reports about us. */
	struct qmp_server *qmp;
	struct qmp_machine_ops qops;
	char uuid[37];
	bool no_reboot;
	/* -S: the vCPUs were created paused and have not run yet; query-status
	 * says "prelaunch" until the first cont (QEMU's RUN_STATE_PRELAUNCH). */
	bool prelaunch;
	/* system_powerdown presses the button from the next loop iteration
	 * (its POWERDOWN event went out before the reply, QEMU's order). */
	struct clk_timer powerdown;
	struct kvm_topo topo;
	/* The machine description, a copy the QMP hot-plug ops change
	 * (kvm_hotplug.c): every build, reset's included, uses it. */
	struct machine_config *cfg;
	/* vCPU hot-plug slots (kvm_cpu_hotplug.c). */
	struct kvm_cpuhp *cpuhp;
	/* blockdev-add/chardev-add state (kvm_qmp_be.c). */
	struct board_qmp *bq;
	/* QMP migrate and -incoming (kvm_migrate.c). */
	struct kvm_migrate *mig;
	/* Memory hot-plug's KVM memory slots (kvm_memhp.c). */
	struct kvm_memhp *memhp;
	/* -trace-record: the recording, while it lasts (NULL after it
	 * ended).  A restore records the board's part of the stream. */
	struct trace_rec *trace;
};

/* kvm_startup.c: termination signals before the loop runs.  begin
 * installs the start-up handler; end blocks set (kvm_term_sigset: the
 * signals the loop's signalfd takes), restores the handlers and says
 * whether one came; terminated fills res as a host shutdown request. */
void kvm_term_sigset(sigset_t *set);
void kvm_startup_begin(struct kvm_machine *km);
bool kvm_startup_end(struct kvm_machine *km, const sigset_t *set);
int kvm_startup_terminated(struct kvm_machine *km, struct kvm_result *res);
/* kvm_sandbox.c: the seccomp filter, first boot only, before any vCPU
 * runs.  0, or -1 with err. */
int kvm_machine_sandbox(struct kvm_machine *km, const struct machine_config *cfg,
			char *err, size_t errlen);

/* kvm_cpu_hotplug.c: device_add/device_del of a CPU, its QMP views, the
 * board's cpu_eject hook and the rebuild of plugged slots at reset. */
struct qmp_err;
struct qmp_cpu_info;
int kvm_cpuhp_init(struct kvm_machine *km);
void kvm_cpuhp_free(struct kvm_machine *km);
bool kvm_cpuhp_is_cpu(const char *driver);
int kvm_cpuhp_add(struct kvm_machine *km, const char *driver, const char *id,
		  const char *opts, struct qmp_err *e);
/* 1: id is no CPU; else 0 or -1 with e. */
int kvm_cpuhp_del(struct kvm_machine *km, const char *id, struct qmp_err *e);
int kvm_cpuhp_cpu_info(struct kvm_machine *km, unsigned index,
		       struct qmp_cpu_info *out);
int kvm_cpuhp_eject(void *opaque, unsigned index);
int kvm_cpuhp_rebuild(struct kvm_machine *km, char *err, size_t errlen);
/* Snapshots: the hot-plugged slots as fields of the current section
 * (the stream's "vm"); load checks them whole, then plugs each (held:
 * the vCPUs are paused during a load).  0, or -EINVAL with the reader's
 * error naming the field. */
struct snap_w;
struct snap_r;
void kvm_cpuhp_snap_save(const struct kvm_machine *km, struct snap_w *w);
int kvm_cpuhp_snap_load(struct kvm_machine *km, struct snap_r *r);
/* After the board loaded: its CPU hot-plug block and the vCPUs agree
 * slot by slot, or the reader's error naming the slot. */
int kvm_cpuhp_snap_agree(struct kvm_machine *km, struct snap_r *r);

/* kvm_hotplug.c: device_add, device_del, qom-get into ops; the board's
 * device_deleted hook. */
struct qmp_machine_ops;
void kvm_hotplug_ops(struct kvm_machine *km, struct qmp_machine_ops *ops);
void kvm_hp_deleted(void *opaque, const char *id);
/* kvm_qmp_be.c: blockdev-add/-del, chardev-add/-remove, query-pci/
 * -block/-chardev into ops (needs km->backends); freed at teardown. */
int kvm_qmp_be_ops(struct kvm_machine *km, struct qmp_machine_ops *ops);
void kvm_qmp_be_free(struct kvm_machine *km);
/* kvm_hotplug_bus.c: device_add of scsi-hd / virtconsole /
 * virtserialport; and kvm_hotplug.c's helpers it uses. */
int kvm_hp_add_scsi(struct kvm_machine *km, const char *id, const char *opts,
		    struct qmp_err *e);
int kvm_hp_add_port(struct kvm_machine *km, const char *driver, const char *id,
		    const char *opts, struct qmp_err *e);
void kvm_hp_prop(const char *opts, const char *key, char *out, size_t outlen);
int kvm_hp_fail(struct qmp_err *e, const char *cls, const char *fmt, const char *a,
		const char *b);
bool kvm_hp_drive_used(const struct machine_config *cfg, const char *drive);
/* kvm_netdev.c: netdev_add, netdev_del into ops. */
void kvm_netdev_ops(struct kvm_machine *km, struct qmp_machine_ops *ops);
/* kvm_memhp.c: object-add/-del, query-memory-devices into ops;
 * device_add/device_del of a pc-dimm; the board's dimm_ejected hook. */
struct kvm_memhp;
void kvm_memhp_ops(struct kvm_machine *km, struct qmp_machine_ops *ops);
int kvm_memhp_dimm_add(struct kvm_machine *km, const char *id, const char *opts,
		       struct qmp_err *e);
int kvm_memhp_dimm_del(struct kvm_machine *km, const struct cfg_device *d,
		       struct qmp_err *e);
void kvm_memhp_ejected(void *opaque, unsigned slot);
/* After a restore loaded the board: the description takes virtio-mem's
 * requested sizes from the loaded devices (kvm_memhp.c). */
void kvm_memhp_restored(struct kvm_machine *km);
void kvm_memhp_free(struct kvm_machine *km);
/* virtio-mem: qom-get of requested-size / size / block-size, and the
 * board's ram_discard hook. */
int kvm_memhp_qom_get(struct kvm_machine *km, const struct cfg_device *d,
		      const char *prop, struct json **out, struct qmp_err *e);
void kvm_ram_discard(void *opaque, uint64_t gpa, uint64_t len);
/* kvm_memhp_qom.c: query-memory-devices and qom-set for ops
 * (qmp_machine_ops signatures, opaque the kvm_machine). */
int kvm_memhp_query(void *opaque, struct json **out, struct qmp_err *e);
int kvm_memhp_qom_set(void *opaque, const char *path, const char *prop,
		      const struct json *val, struct qmp_err *e);
/* device_add virtio-mem-pci: QEMU's checks; the region mapped into gm
 * and a KVM slot before the board builds the function, and undone when
 * it refuses.  QEMU 7.2 refuses device_del of it, and so do we. */
int kvm_memhp_vmem_check(struct kvm_machine *km, const char *opts, struct qmp_err *e);
int kvm_memhp_vmem_map(struct kvm_machine *km, unsigned idx, char *err, size_t errlen);
void kvm_memhp_vmem_unmap(struct kvm_machine *km, unsigned idx);

/* The machine's ctl.request: the first request decides how the run ends
 * (big lock held). */
void kvm_machine_request(void *opaque, enum machine_event ev, int status);
/* QMP events for how a boot ended in a reset (after the loop stopped,
 * big lock not held): RESET, or SHUTDOWN under -no-reboot. */
void kvm_machine_reset_event(struct kvm_machine *km);
/* -qmp: start the control socket (no-op without one).  0 or -1 + err. */
int kvm_machine_qmp(struct kvm_machine *km, const struct machine_config *cfg,
		    char *err, size_t errlen);
/* Board hooks (struct board_host). */
void kvm_balloon_release(void *opaque, uint64_t gpa, uint64_t len);
int kvm_board_ioeventfd(void *opaque, uint64_t addr, unsigned len,
			uint64_t data, int fd, bool assign);
int kvm_board_msi_irqfd(void *opaque, int fd, uint64_t addr, uint32_t data,
			int *route, enum vhu_irqfd_op op);

#endif
