/* The CPU hot-plug register block: QEMU's "modern ACPI CPU hotplug
 * interface" (QEMU docs/specs/acpi_cpu_hotplug.rst), 12 bytes of I/O at
 * ACPI_CPUHP_IO_BASE (0x0cd8, where QEMU's ICH9 puts it), on q35 and on
 * microvm alike.  The DSDT's \_SB.CPUS methods (dsdt_cpu.c) drive it; the
 * test guest drives it directly.
 *
 * One slot per possible CPU (-smp maxcpus), indexed by the CPU selector:
 *   enabled        a vCPU is plugged in the slot
 *   inserting      plugged, the OS was not yet told (device check)
 *   removing       device_del asked for it, the OS was not yet told
 *                  (eject request)
 *   remove_pending device_del asked and the eject has not come yet
 * The block signals the machine through notify() (GPE.2 on q35, the GED
 * CPU event on microvm) when it sets an event, and asks the machine to
 * take the vCPU away through eject() when the guest writes the eject bit
 * for a slot whose removal was asked for.  An eject nobody asked for, of
 * an empty slot or of a boot CPU, is dropped and counted: the guest cannot
 * make the VMM lose a vCPU the management did not give up. */
#ifndef VMM_DEVICES_ACPI_CPU_HOTPLUG_H
#define VMM_DEVICES_ACPI_CPU_HOTPLUG_H

#include <stdbool.h>
#include <stdint.h>

struct log;

#define ACPI_CPUHP_IO_BASE 0x0cd8u
#define ACPI_CPUHP_IO_SIZE 12u
#define ACPI_CPUHP_MAX 256u

/* Register offsets (acpi_cpu_hotplug.rst). */
#define ACPI_CPUHP_SEL_OFF 0x0    /* W: CPU selector; R: command data 2 */
#define ACPI_CPUHP_FLAGS_OFF 0x4  /* R: status; W: control */
#define ACPI_CPUHP_CMD_OFF 0x5    /* W: command */
#define ACPI_CPUHP_DATA_OFF 0x8   /* R/W: command data */
/* Status (read) and control (write) bits at ACPI_CPUHP_FLAGS_OFF. */
#define ACPI_CPUHP_ENABLED 0x01   /* R */
#define ACPI_CPUHP_INSERT 0x02    /* R: insert event; W: clear it */
#define ACPI_CPUHP_REMOVE 0x04    /* R: remove event; W: clear it */
#define ACPI_CPUHP_EJECT 0x08     /* W: eject the selected CPU */
#define ACPI_CPUHP_FW_EJECT 0x10  /* W: eject handed to firmware */
/* Commands. */
#define ACPI_CPUHP_CMD_NEXT_EVENT 0
#define ACPI_CPUHP_CMD_OST_EVENT 1
#define ACPI_CPUHP_CMD_OST_STATUS 2
#define ACPI_CPUHP_CMD_ARCH_ID 3

struct acpi_cpuhp_slot {
	uint32_t arch_id;      /* APIC id */
	bool enabled, inserting, removing, remove_pending;
	bool fixed;            /* a boot CPU: never ejected */
};

struct acpi_cpuhp {
	unsigned n;            /* possible CPUs */
	uint32_t selector;
	uint8_t cmd;
	uint32_t ost_event, ost_status;
	struct log *log;
	/* The machine's side (big lock held on every call). */
	void (*notify)(void *opaque);
	void (*eject)(void *opaque, unsigned index);
	void (*ost)(void *opaque, unsigned index, uint32_t ev, uint32_t st);
	void *opaque;
	uint64_t dropped;      /* guest writes refused (counted, logged once) */
	struct acpi_cpuhp_slot slot[ACPI_CPUHP_MAX];
};

/* n possible CPUs with APIC ids ids[] (NULL: the index), the first `boot`
 * of them plugged and fixed.  n is clamped to ACPI_CPUHP_MAX. */
void acpi_cpuhp_init(struct acpi_cpuhp *hp, unsigned n, const uint32_t *ids,
		     unsigned boot, struct log *log);
/* A vCPU now sits in slot index: enabled, insert event, notify.
 * -ERANGE, -EBUSY (occupied). */
int acpi_cpuhp_plug(struct acpi_cpuhp *hp, unsigned index);
/* Ask the guest to give slot index up: remove event, notify (again, if
 * it was asked before and has not ejected yet).  -ERANGE, -ENODEV
 * (empty), -EPERM (a boot CPU). */
int acpi_cpuhp_request_unplug(struct acpi_cpuhp *hp, unsigned index);
/* The machine took the vCPU away (after eject()): the slot is empty. */
void acpi_cpuhp_unplugged(struct acpi_cpuhp *hp, unsigned index);
bool acpi_cpuhp_enabled(const struct acpi_cpuhp *hp, unsigned index);
bool acpi_cpuhp_unplug_pending(const struct acpi_cpuhp *hp, unsigned index);
/* Snapshot, section "acpi-cpuhp" (hotplug_snap.c, docs/snapshot.md):
 * selector, command, _OST registers, each slot's flags and APIC id.  load
 * refuses another slot count, APIC id or boot-CPU set, and flags no
 * guest could make; it sets `enabled` as saved and leaves matching it
 * with the machine's vCPUs to the backend. */
struct snap_w;
struct snap_r;
int acpi_cpuhp_save(const struct acpi_cpuhp *hp, struct snap_w *w);
int acpi_cpuhp_load(struct acpi_cpuhp *hp, struct snap_r *r);
/* bus_access_fn for [ACPI_CPUHP_IO_BASE, +ACPI_CPUHP_IO_SIZE). */
int acpi_cpuhp_access(void *dev, uint64_t offset, void *data, unsigned len,
		      bool is_write);

#endif
