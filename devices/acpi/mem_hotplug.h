/* QEMU's ACPI memory hot-plug register block (docs/specs/
 * acpi_mem_hotplug.rst), the guest side of pc-dimm hot-plug: the DSDT's
 * MHPD methods (dsdt_mem.c) select a slot, read its base, length and
 * proximity, see insert/remove events, acknowledge them, report _OST
 * and eject.  12-byte registers at MEMHP_IO_BASE (1-4 byte accesses):
 *   read  0x00/0x04 base lo/hi   0x08/0x0c length lo/hi   0x10 node
 *         0x14 status: bit 0 enabled, 1 insert event, 2 remove event
 *   write 0x00 selector   0x04 _OST event   0x08 _OST status
 *         0x14 control: bit 1 clears the insert event, 2 the remove
 *         event, 3 ejects the DIMM (one action per write, QEMU's order)
 * The model keeps state only; the board maps and unmaps memory through
 * the hooks. */
#ifndef VMM_DEVICES_ACPI_MEM_HOTPLUG_H
#define VMM_DEVICES_ACPI_MEM_HOTPLUG_H

#include <stdbool.h>
#include <stdint.h>
#include "core/config.h"

struct log;

#define MEMHP_IO_BASE 0x0a00u     /* QEMU's ACPI_MEMORY_HOTPLUG_BASE */
#define MEMHP_IO_SIZE 0x18u       /* MEMORY_HOTPLUG_IO_LEN */
#define MEMHP_MAX_SLOTS CFG_MAX_MEM_SLOTS
#define MEMHP_REG_BASE_LO 0x00
#define MEMHP_REG_BASE_HI 0x04
#define MEMHP_REG_LEN_LO 0x08
#define MEMHP_REG_LEN_HI 0x0c
#define MEMHP_REG_PXM 0x10
#define MEMHP_REG_STATUS 0x14
#define MEMHP_REG_SEL 0x00        /* write */
#define MEMHP_REG_OST_EVENT 0x04  /* write */
#define MEMHP_REG_OST_STATUS 0x08 /* write */
#define MEMHP_STS_ENABLED 0x1
#define MEMHP_STS_INSERT 0x2
#define MEMHP_STS_REMOVE 0x4
#define MEMHP_CTL_CLEAR_INSERT 0x2
#define MEMHP_CTL_CLEAR_REMOVE 0x4
#define MEMHP_CTL_EJECT 0x8
/* The GPE bit (q35, QEMU's GPE.3) and GED event (microvm,
 * ACPI_GED_MEM_HOTPLUG_EVT) that say "run MSCN". */
#define MEMHP_GPE_BIT 3
#define MEMHP_GED_EVT 0x01

struct memhp_slot {
	bool enabled;       /* a DIMM is there and usable */
	bool inserting;     /* plugged, the guest not told yet */
	bool removing;      /* unplug asked for, the guest not done */
	uint64_t base, size;
	uint32_t node;
	uint32_t ost_event, ost_status;
};

struct memhp {
	unsigned nslots;
	uint32_t selector;
	struct memhp_slot slots[MEMHP_MAX_SLOTS];
	/* An event for OSPM is pending: raise GPE.3 / the GED event. */
	void (*notify)(void *opaque);
	/* The guest ejected the DIMM in slot (the board unmaps it and
	 * reports DEVICE_DELETED).  Called with the slot already empty. */
	void (*ejected)(void *opaque, unsigned slot);
	void *opaque;
	struct log *log;
	uint64_t rejected;  /* guest accesses ignored (bad slot, ...) */
};

void memhp_init(struct memhp *h, unsigned nslots, struct log *log);
/* A DIMM in slot: cold (notify false: enabled from boot, no event) or
 * hot (insert event + notify).  0, -EINVAL (bad slot), -EBUSY. */
int memhp_plug(struct memhp *h, unsigned slot, uint64_t base, uint64_t size,
	       uint32_t node, bool notify);
/* Ask the guest to eject: 0, -ENODEV (empty), -EALREADY (asked). */
int memhp_request_unplug(struct memhp *h, unsigned slot);
/* Snapshot, section "acpi-memhp" (hotplug_snap.c, docs/snapshot.md):
 * selector and each slot's flags, place and _OST registers.  load
 * refuses another slot count, flags no guest could make, and a slot
 * whose DIMM (present, base, size, node) differs from the one this
 * machine built from its command line, naming the slot. */
struct snap_w;
struct snap_r;
int memhp_save(const struct memhp *h, struct snap_w *w);
int memhp_load(struct memhp *h, struct snap_r *r);
/* bus_access_fn for [MEMHP_IO_BASE, +MEMHP_IO_SIZE). */
int memhp_access(void *dev, uint64_t offset, void *data, unsigned len,
		 bool is_write);

#endif
