/* Snapshots of the two ACPI hot-plug register blocks (docs/snapshot.md):
 * "acpi-cpuhp" (cpu_hotplug.h, QEMU docs/specs/acpi_cpu_hotplug.rst) and
 * "acpi-memhp" (mem_hotplug.h, QEMU docs/specs/acpi_mem_hotplug.rst).
 *
 * What is state and what is configuration:
 *  - the selectors, the last command, the _OST registers and each slot's
 *    event flags are the guest's doing: saved and loaded.  A selector past
 *    the slot count is state a guest can make (it writes any 32-bit
 *    value; the blocks then read zeros and drop writes), so it loads as
 *    saved rather than being refused: refusing it would make a legitimate
 *    save unloadable.
 *  - slot count, APIC ids and which CPUs are boot CPUs come from -smp;
 *    a DIMM's place comes from the memory devices.  Those must match the
 *    restoring machine, and the first that does not is named.
 *  - flags that no sequence of guest and host operations can produce (an
 *    event on an empty slot, a removal on a boot CPU, an unknown bit, a
 *    base on an empty memory slot) are refused: the stream is hostile.
 * Both loaders read and check the whole section before changing the
 * block, so a block is either loaded or untouched. */
#include <stdio.h>
#include <string.h>

#include "core/snapshot.h"
#include "cpu_hotplug.h"
#include "mem_hotplug.h"

/* acpi-cpuhp slot flag bits (the stream's, not the register's). */
#define CPUHP_SNAP_ENABLED 0x01u
#define CPUHP_SNAP_INSERTING 0x02u
#define CPUHP_SNAP_REMOVING 0x04u
#define CPUHP_SNAP_REMOVE_PENDING 0x08u
#define CPUHP_SNAP_FIXED 0x10u
#define CPUHP_SNAP_ALL 0x1fu

static uint8_t cpuhp_snap_flags(const struct acpi_cpuhp_slot *s)
{
	return (uint8_t)((s->enabled ? CPUHP_SNAP_ENABLED : 0) |
			 (s->inserting ? CPUHP_SNAP_INSERTING : 0) |
			 (s->removing ? CPUHP_SNAP_REMOVING : 0) |
			 (s->remove_pending ? CPUHP_SNAP_REMOVE_PENDING : 0) |
			 (s->fixed ? CPUHP_SNAP_FIXED : 0));
}

int acpi_cpuhp_save(const struct acpi_cpuhp *hp, struct snap_w *w)
{
	uint8_t flags[ACPI_CPUHP_MAX];
	uint8_t ids[ACPI_CPUHP_MAX * 4];
	for (unsigned i = 0; i < hp->n; i++) {
		flags[i] = cpuhp_snap_flags(&hp->slot[i]);
		uint32_t a = hp->slot[i].arch_id;
		for (unsigned k = 0; k < 4; k++)
			ids[4 * i + k] = (uint8_t)(a >> (8 * k));
	}
	snap_w_begin(w, "acpi-cpuhp", 1);
	snap_w_u32(w, "nslots", hp->n);
	snap_w_u32(w, "selector", hp->selector);
	snap_w_u8(w, "cmd", hp->cmd);
	snap_w_u32(w, "ost_event", hp->ost_event);
	snap_w_u32(w, "ost_status", hp->ost_status);
	snap_w_u64(w, "dropped", hp->dropped);
	snap_w_bytes(w, "flags", flags, hp->n);
	snap_w_bytes(w, "apic_ids", ids, 4u * hp->n);
	snap_w_end(w);
	return 0;
}

/* Why slot flags f cannot be, on a slot whose boot-CPU bit here is
 * `fixed`; NULL when they can. */
static const char *cpuhp_flags_bad(uint8_t f, bool fixed)
{
	bool en = f & CPUHP_SNAP_ENABLED;
	if (f & ~CPUHP_SNAP_ALL)
		return "unknown flag bits";
	if (!!(f & CPUHP_SNAP_FIXED) != fixed)
		return fixed ? "a boot CPU here was hot-pluggable when saved (another -smp)" :
			       "a hot-pluggable CPU here was a boot CPU when saved (another -smp)";
	if (fixed && (!en || (f & (CPUHP_SNAP_REMOVING | CPUHP_SNAP_REMOVE_PENDING))))
		return "a boot CPU absent or being removed";
	if (!en && (f & (CPUHP_SNAP_INSERTING | CPUHP_SNAP_REMOVING |
			 CPUHP_SNAP_REMOVE_PENDING)))
		return "an event on an empty slot";
	/* request_unplug sets both; the guest clears only the event. */
	if ((f & CPUHP_SNAP_REMOVING) && !(f & CPUHP_SNAP_REMOVE_PENDING))
		return "a remove event with no removal asked for";
	return NULL;
}

int acpi_cpuhp_load(struct acpi_cpuhp *hp, struct snap_r *r)
{
	uint32_t n = 0, sel = 0, oev = 0, ost = 0;
	uint8_t cmd = 0;
	uint64_t dropped = 0;
	uint8_t flags[ACPI_CPUHP_MAX];
	uint8_t ids[ACPI_CPUHP_MAX * 4];
	snap_r_begin(r, "acpi-cpuhp", 1, NULL);
	snap_r_u32(r, "nslots", &n);
	snap_r_check(r, n == hp->n, "nslots",
		     "another number of possible CPUs (-smp maxcpus)");
	snap_r_u32(r, "selector", &sel);
	snap_r_u8(r, "cmd", &cmd);
	snap_r_u32(r, "ost_event", &oev);
	snap_r_u32(r, "ost_status", &ost);
	snap_r_u64(r, "dropped", &dropped);
	/* n == hp->n <= ACPI_CPUHP_MAX once the check above passed. */
	if (snap_r_failed(r))
		return snap_r_failed(r);
	snap_r_bytes(r, "flags", flags, n);
	snap_r_bytes(r, "apic_ids", ids, 4u * n);
	for (unsigned i = 0; i < n && !snap_r_failed(r); i++) {
		char why[120];
		uint32_t a = (uint32_t)ids[4 * i] | (uint32_t)ids[4 * i + 1] << 8 |
			     (uint32_t)ids[4 * i + 2] << 16 | (uint32_t)ids[4 * i + 3] << 24;
		if (a != hp->slot[i].arch_id) {
			snprintf(why, sizeof(why), "slot %u: APIC id %u, here %u "
				 "(another -smp shape)", i, a, hp->slot[i].arch_id);
			snap_r_check(r, false, "apic_ids", why);
			break;
		}
		const char *bad = cpuhp_flags_bad(flags[i], hp->slot[i].fixed);
		if (bad) {
			snprintf(why, sizeof(why), "slot %u: %s", i, bad);
			snap_r_check(r, false, "flags", why);
		}
	}
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	hp->selector = sel;
	hp->cmd = cmd;
	hp->ost_event = oev;
	hp->ost_status = ost;
	hp->dropped = dropped;
	for (unsigned i = 0; i < n; i++) {
		struct acpi_cpuhp_slot *s = &hp->slot[i];
		s->enabled = flags[i] & CPUHP_SNAP_ENABLED;
		s->inserting = flags[i] & CPUHP_SNAP_INSERTING;
		s->removing = flags[i] & CPUHP_SNAP_REMOVING;
		s->remove_pending = flags[i] & CPUHP_SNAP_REMOVE_PENDING;
	}
	return 0;
}

/* ---- memory ---- */

#define MEMHP_SNAP_ALL (MEMHP_STS_ENABLED | MEMHP_STS_INSERT | MEMHP_STS_REMOVE)

int memhp_save(const struct memhp *h, struct snap_w *w)
{
	snap_w_begin(w, "acpi-memhp", 1);
	snap_w_u32(w, "nslots", h->nslots);
	snap_w_u32(w, "selector", h->selector);
	snap_w_u64(w, "rejected", h->rejected);
	for (unsigned i = 0; i < h->nslots; i++) {
		const struct memhp_slot *s = &h->slots[i];
		char f[24];
		snprintf(f, sizeof(f), "slot%u", i);
		snap_w_begin(w, f, 1);
		snap_w_u8(w, "flags", (uint8_t)((s->enabled ? MEMHP_STS_ENABLED : 0) |
						(s->inserting ? MEMHP_STS_INSERT : 0) |
						(s->removing ? MEMHP_STS_REMOVE : 0)));
		snap_w_u64(w, "base", s->base);
		snap_w_u64(w, "size", s->size);
		snap_w_u32(w, "node", s->node);
		snap_w_u32(w, "ost_event", s->ost_event);
		snap_w_u32(w, "ost_status", s->ost_status);
		snap_w_end(w);
	}
	snap_w_end(w);
	return 0;
}

/* One slot against the slot as the restoring machine built it (its
 * DIMMs come from its own command line, as QEMU's destination's do). */
static void memhp_slot_check(struct snap_r *r, unsigned i, uint8_t f,
			     const struct memhp_slot *s, const struct memhp_slot *here)
{
	bool en = f & MEMHP_STS_ENABLED;
	char why[160];
	snap_r_check(r, !(f & ~MEMHP_SNAP_ALL), "flags", "unknown flag bits");
	snap_r_check(r, en || !(f & (MEMHP_STS_INSERT | MEMHP_STS_REMOVE)), "flags",
		     "an event on an empty slot");
	/* An eject clears the whole slot, and an empty slot was never set. */
	snap_r_check(r, en || (s->base == 0 && s->size == 0 && s->node == 0), "base",
		     "a DIMM's place on an empty slot");
	if (snap_r_failed(r))
		return;
	if (en && !here->enabled) {
		snprintf(why, sizeof(why), "slot %u held a %llu MiB DIMM at 0x%llx when "
			 "saved, here it is empty (the same -device pc-dimm is needed)", i,
			 (unsigned long long)(s->size >> 20), (unsigned long long)s->base);
		snap_r_check(r, false, "flags", why);
	} else if (!en && here->enabled) {
		snprintf(why, sizeof(why), "slot %u was empty when saved, here it holds "
			 "a DIMM at 0x%llx", i, (unsigned long long)here->base);
		snap_r_check(r, false, "flags", why);
	} else if (en && (s->base != here->base || s->size != here->size ||
			  s->node != here->node)) {
		snprintf(why, sizeof(why), "slot %u: saved a %llu MiB DIMM at 0x%llx node "
			 "%u, here %llu MiB at 0x%llx node %u", i,
			 (unsigned long long)(s->size >> 20), (unsigned long long)s->base,
			 s->node, (unsigned long long)(here->size >> 20),
			 (unsigned long long)here->base, here->node);
		snap_r_check(r, false, "size", why);
	}
}

int memhp_load(struct memhp *h, struct snap_r *r)
{
	uint32_t n = 0, sel = 0;
	uint64_t rej = 0;
	struct memhp_slot slots[MEMHP_MAX_SLOTS];
	memset(slots, 0, sizeof(slots));
	snap_r_begin(r, "acpi-memhp", 1, NULL);
	snap_r_u32(r, "nslots", &n);
	snap_r_check(r, n == h->nslots, "nslots",
		     "another number of memory slots (-m slots=)");
	snap_r_u32(r, "selector", &sel);
	snap_r_u64(r, "rejected", &rej);
	for (unsigned i = 0; i < n && !snap_r_failed(r); i++) {
		struct memhp_slot *s = &slots[i];
		uint8_t f = 0;
		char sec[24];
		snprintf(sec, sizeof(sec), "slot%u", i);
		snap_r_begin(r, sec, 1, NULL);
		snap_r_u8(r, "flags", &f);
		snap_r_u64(r, "base", &s->base);
		snap_r_u64(r, "size", &s->size);
		snap_r_u32(r, "node", &s->node);
		snap_r_u32(r, "ost_event", &s->ost_event);
		snap_r_u32(r, "ost_status", &s->ost_status);
		if (snap_r_failed(r))
			break;
		memhp_slot_check(r, i, f, s, &h->slots[i]);
		s->enabled = f & MEMHP_STS_ENABLED;
		s->inserting = f & MEMHP_STS_INSERT;
		s->removing = f & MEMHP_STS_REMOVE;
		snap_r_end(r);
	}
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	h->selector = sel;
	h->rejected = rej;
	memcpy(h->slots, slots, sizeof(slots[0]) * n);
	return 0;
}
