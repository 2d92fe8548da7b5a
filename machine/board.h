/* The board: from the machine description and its address map, create the
 * devices the configuration names and attach them to a machine (buses,
 * interrupt lines, guest memory regions).  The same code builds the KVM
 * machine and the simulated one; only struct machine differs.
 *
 * Each device family lives in its own board_*.c (platform devices, virtio,
 * nvdimm), so adding a device is adding a case in one small file. */
#ifndef VMM_MACHINE_BOARD_H
#define VMM_MACHINE_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/config.h"
#include "core/layout.h"
#include "core/machine.h"
#include "core/trace.h"
#include "core/vhost_user.h"

struct board;
struct board_backends;
struct chr;

struct evloop;

/* Host-side inputs the board must not fetch itself (device code reads no
 * clock and no wall time: the backend passes them in). */
struct board_host {
	/* Wall-clock time at machine creation, seconds since 1970 UTC, and
	 * the host's UTC offset: the RTC base for -rtc base=utc|localtime
	 * (base=DATE ignores both).  The simulator passes fixed values. */
	int64_t wall_epoch;
	int64_t utc_offset;
	/* Backends for the COM ports, overriding -serial (tests and the
	 * self-test pass in-memory chardevs).  NULL: from the config. */
	struct chr *serial[CFG_MAX_SERIAL];
	/* The host event loop for backends that watch fds (tap); NULL in
	 * the simulator. */
	struct evloop *loop;
	/* virtio-balloon: give inflated guest pages back to the host (KVM:
	 * madvise).  NULL: the balloon's bitmap is the only record. */
	void (*balloon_release)(void *opaque, uint64_t gpa, uint64_t len);
	void *balloon_opaque;
	/* KVM: make a guest write of `len` bytes equal to `data` at MMIO
	 * address addr signal eventfd fd instead of exiting (ioeventfd), so
	 * devices placed on an iothread (iothread=) get their queue kicks
	 * there.  NULL (simulator): iothread= is accepted and has no effect,
	 * everything stays on the deterministic event queue.  0 or -errno. */
	int (*ioeventfd)(void *opaque, uint64_t addr, unsigned len, uint64_t data,
			 int fd, bool assign);
	void *ioeventfd_opaque;
	/* vhost-user calls straight into the guest (core/vhost_user.h
	 * vhu_irqfd_fn: KVM irqfd on an MSI route); opaque is
	 * ioeventfd_opaque.  NULL (simulator): calls go through the loop. */
	int (*msi_irqfd)(void *opaque, int fd, uint64_t addr, uint32_t data,
			 int *route, enum vhu_irqfd_op op);
	/* Record/replay (core/trace.h): every host backend a device is given
	 * passes through backend() (kind is a TRACE_BK_* value, id names the
	 * -drive/-netdev/-chardev/serialN/rngN).  Recording wraps what the
	 * board opened; with backend_replace (replay) the board opens nothing
	 * and takes the stand-in (opened is NULL).  *out NULL: no backend.
	 * The board never closes what it returns.  0, or -1 with err. */
	trace_backend_fn *backend;
	void *backend_opaque;
	bool backend_replace;
	/* The configuration is untrusted (replay: it came from a trace):
	 * the board opens, creates and maps no host path it names.  NVDIMMs
	 * get anonymous memory of their configured size; every other host
	 * backend comes through backend(), so this requires
	 * backend_replace. */
	bool no_host_paths;
	/* Record/replay: management-plane calls into devices (the
	 * board_*() calls below marked "recorded") are inputs too; the board
	 * brackets them with call(..., begin true) and call(..., false) so a
	 * trace can repeat them.  NULL: none. */
	void (*call)(void *opaque, int what, uint64_t arg, bool begin);
	void *call_opaque;
	/* Host backends that outlive the board (board_backends_new): the
	 * board opens a char/block/net/entropy backend only when this store
	 * has none under the same option yet, puts what it opens here, and
	 * never closes it; boards built one after another with the same
	 * store (KVM's rebuild on guest reset) share one set of backends.
	 * Front ends are detached from them when the board is freed; input
	 * waits and buffered output stays for the next board.  NULL: the
	 * board closes its backends with itself.  Unused with
	 * backend_replace. */
	struct board_backends *keep;
	/* PCIe hot-unplug completed by the guest (board_hotplug.c): the
	 * device id is gone from the board.  NULL: nobody to tell. */
	void (*device_deleted)(void *opaque, const char *id);
	void *device_deleted_opaque;
	/* CPU hot-unplug (board_cpuhp.c): the guest ejected vCPU slot
	 * `index`, whose removal board_cpu_unplug_request asked for; the
	 * backend stops that vCPU.  0: gone (the slot is then empty), else
	 * the slot stays.  Big lock held, on the ejecting vCPU's thread.
	 * NULL: the slot just empties. */
	int (*cpu_eject)(void *opaque, unsigned index);
	void *cpu_eject_opaque;
	/* ACPI memory hot-plug: the guest ejected the DIMM in this slot
	 * (board_mem.c); the host unmaps it and reports DEVICE_DELETED.
	 * NULL: the slot just empties. */
	void (*dimm_ejected)(void *opaque, unsigned slot);
	void *dimm_ejected_opaque;
	/* virtio-mem: the guest unplugged [gpa, gpa + len); give the memory
	 * back to the host (KVM: MADV_DONTNEED, a punched hole for fd-backed
	 * memory).  NULL: the device's bitmap is the only record. */
	void (*ram_discard)(void *opaque, uint64_t gpa, uint64_t len);
	void *ram_discard_opaque;
};
/* board_host.device_deleted: a hot-unplug the guest completed (the
 * device with this -device id is gone; big lock held). */
/* board_host.call `what` values. */
enum { BOARD_CALL_POWER_BUTTON = 1, BOARD_CALL_BALLOON_TARGET = 2,
       BOARD_CALL_CPU_PLUG = 3, BOARD_CALL_CPU_UNPLUG = 4 };

/* A store of host backends kept across boards (board_host.keep); free
 * closes them all, after the last board using them was freed. */
struct board_backends *board_backends_new(void);
void board_backends_free(struct board_backends *k);
/* Backends held (tests, logging). */
unsigned board_backends_count(const struct board_backends *k);
/* Run-time changes (QMP blockdev-add/del, chardev-add/remove: keys as
 * the board uses them, "drive:ID", "chardev:ID").  put takes obj (closed
 * with close_fn on failure too: 0, or -1 with err); take hands it back to
 * the caller (NULL: none); drop closes it (false: none). */
int board_backends_put(struct board_backends *k, int kind, const char *key,
		       void (*close_fn)(void *), void *obj, char *err, size_t errlen);
void *board_backends_take(struct board_backends *k, int kind, const char *key);
bool board_backends_drop(struct board_backends *k, int kind, const char *key);

/* Record this machine into tr (core/trace.h): wrap m's interrupts, clock
 * and buses, and route host's backend hook (chaining the one set) and
 * management calls through the recording.  Call before board_new().
 * 0, or -1 with err. */
int board_trace_attach(struct board_host *host, struct machine *m,
		       struct trace_rec *tr, char *err, size_t errlen);

/* The RTC's starting time for this configuration (pure). */
/* The configuration errors board_new() would meet, found before anything
 * is built (machine/board_check.c): the address map (layout_build),
 * debug-exit ports against the board's own, and with files the nvdimm
 * images' sizes and -mem-path's file system (stat/statfs only; nothing is
 * opened).  0, or -1 with a one-line message in err. */
int board_check(const struct machine_config *cfg, bool files, char *err,
		size_t errlen);

int64_t board_rtc_base(const struct machine_config *cfg,
		       const struct board_host *host);

/* Create every device.  Guest RAM must already be in m->gm; nvdimm regions
 * are added to m->gm here (so the caller maps memory slots afterwards).
 * Returns the board, or NULL with a one-line message in err. */
struct board *board_new(struct machine *m, const struct machine_config *cfg,
			const struct layout *l, const struct board_host *host,
			char *err, size_t errlen);
void board_free(struct board *b);
/* board_new telling the configuration's errors apart: 0 with *out set;
 * -2 when the configuration names something the host refuses (an image
 * another process holds locked, a file of the wrong type), which the
 * program reports as a bad configuration (exit 2) since it is found
 * before the VM starts; -1 for any other failure.  err holds one line. */
int board_build(struct machine *m, const struct machine_config *cfg,
		const struct layout *l, const struct board_host *host,
		struct board **out, char *err, size_t errlen);

/* Devices that need a last word before the VMM exits (msync of shared
 * nvdimms, flushing disk caches). */
void board_shutdown(struct board *b);

struct balloon;
/* The first virtio-balloon, or NULL (QMP balloon/query-balloon). */
struct balloon *board_balloon(const struct board *b);
/* Set the first balloon's target in pages (QMP balloon); recorded.
 * -ENODEV when there is no balloon. */
int board_balloon_set_target(struct board *b, uint32_t pages);

/* Press the ACPI power button (QMP system_powerdown): the guest's ACPI
 * driver sees a fixed power-button event (q35) or a GED notification of
 * the PNP0C0C button (microvm).  Call with the machine's big lock held. */
void board_power_button(struct board *b);   /* recorded */

/* NVDIMM counters (self-test, logging): guest writes dropped by the
 * readonly=on NVDIMM mapped at gpa `base` (false: none there), and guest
 * flushes through the flush hints, ok and failed (false: no hints). */
bool board_nvdimm_ro_dropped(const struct board *b, uint64_t base,
			     uint64_t *dropped);
bool board_nvdimm_flushes(const struct board *b, uint64_t *flushes,
			  uint64_t *errors);

/* Number of devices the board created (tests, logging). */
unsigned board_device_count(const struct board *b);

/* PCI hot-plug (board_hotplug.c), big lock held.  board_hotplug_add
 * builds device `index` of the description the board was built from
 * (the caller appended it: config_add_device) into its root port's slot
 * or its pci-bridge's SHPC slot (shpc=on) and reports it to the guest; on
 * failure everything it built is freed and err says why (QEMU's wording
 * where QEMU has one).
 * board_hotplug_del asks the guest to release the device with this id
 * (attention button): 0, -ENODEV (not a hot-pluggable device),
 * -EALREADY (already asked; root ports only: on an SHPC slot the button
 * is pressed again, as QEMU does), -EBUSY (SHPC: the guest is busy with the
 * slot, Power Indicator blinking).  The device goes when the guest powers
 * its slot off (at once for an SHPC slot the guest never enabled); then
 * board_host.device_deleted is called. */
int board_hotplug_add(struct board *b, unsigned index, char *err, size_t errlen);
int board_hotplug_del(struct board *b, const char *id);

/* CPU hot-plug (board_cpuhp.c), big lock held.  Slots are vCPU indexes
 * 0 .. board_cpu_possible()-1 (-smp maxcpus); the first -smp cpus are
 * present from the start and never leave.  board_cpu_plug: the backend
 * created the vCPU of slot index; with notify the guest is told through
 * the ACPI CPU hot-plug interface (GPE.2 on q35, the GED on microvm),
 * without it the slot is simply present (a rebuild at reset).  -ENODEV
 * (no hot-plug on this machine), -ERANGE, -EBUSY (occupied).
 * board_cpu_unplug_request: an eject request to the guest (raised again
 * when asked again); -ENODEV (empty, or no hot-plug), -EPERM (a boot
 * CPU). */
unsigned board_cpu_possible(const struct machine_config *cfg);
int board_cpu_plug(struct board *b, unsigned index, bool notify);
int board_cpu_unplug_request(struct board *b, unsigned index);
bool board_cpu_present(const struct board *b, unsigned index);
bool board_cpu_unplug_pending(const struct board *b, unsigned index);
/* ACPI memory hot-plug (board_mem.c), big lock held.  A DIMM the host
 * has mapped at [base, base + size) is in `slot`: tell the guest
 * (insert event, GPE.3 / GED).  Ask the guest to eject it.  Both return
 * 0 or -errno (-ENODEV: no hot-plug window / empty slot, -EBUSY,
 * -EALREADY: already asked). */
int board_dimm_plug(struct board *b, unsigned slot, uint64_t base,
		    uint64_t size, unsigned node);
int board_dimm_unplug_request(struct board *b, unsigned slot);
/* Before hot-adding RAM from memory backend o (pc-dimm, virtio-mem):
 * with vhost-user devices present, o must be shareable and every
 * backend must have a memory slot left.  0, or -1 with one line in why
 * (machine/board_vhost_mem.c).  The plug itself tells the backends. */
struct cfg_object;
int board_vhost_ram_check(struct board *b, const struct cfg_object *o, char *why,
			  size_t whylen);
struct vmem;
/* The virtio-mem with this -device id, or NULL (QMP qom-set/qom-get
 * requested-size). */
struct vmem *board_vmem(struct board *b, const char *id);
struct memhp;
/* The register block (tests), or NULL without a hot-plug window. */
struct memhp *board_memhp(struct board *b);

#endif
