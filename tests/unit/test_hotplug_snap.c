/* Snapshots of the ACPI CPU and memory hot-plug blocks (devices/acpi/
 * hotplug_snap.c): a block saved mid-protocol (selector, command, _OST,
 * events pending) loads into a freshly built one and reads back the same
 * registers; a selector past the slot count -- state a guest can make --
 * loads and still reads zeros; hostile sections (another slot count or
 * APIC id, events on an empty slot, a removal on a boot CPU, unknown
 * bits, a DIMM the restoring machine does not have or has elsewhere) are
 * refused with one line naming the field, and leave the block as it was. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/snapshot.h"
#include "devices/acpi/cpu_hotplug.h"
#include "devices/acpi/mem_hotplug.h"

/* ---- stream plumbing ---- */

struct stream {
	struct snap_w *w;
	const uint8_t *buf;
	size_t len;
	struct snap_r *r;
};

static struct snap_w *st_begin(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	s->w = snap_w_new();
	assert_non_null(s->w);
	return s->w;
}

static struct snap_r *st_reader(struct stream *s)
{
	char err[SNAP_ERR_LEN];
	assert_int_equal(snap_w_finish(s->w, &s->buf, &s->len), 0);
	assert_int_equal(snap_r_open(&s->r, s->buf, s->len, err, sizeof(err)), 0);
	return s->r;
}

static void st_free(struct stream *s)
{
	snap_r_free(s->r);
	snap_w_free(s->w);
}

/* ---- CPU hot-plug ---- */

static void cpu_reg_w8(struct acpi_cpuhp *hp, unsigned off, uint8_t v)
{
	assert_int_equal(acpi_cpuhp_access(hp, off, &v, 1, true), 0);
}

static void cpu_reg_w32(struct acpi_cpuhp *hp, unsigned off, uint32_t v)
{
	assert_int_equal(acpi_cpuhp_access(hp, off, &v, 4, true), 0);
}

static uint8_t cpu_reg_r8(struct acpi_cpuhp *hp, unsigned off)
{
	uint8_t v = 0xee;
	assert_int_equal(acpi_cpuhp_access(hp, off, &v, 1, false), 0);
	return v;
}

static uint32_t cpu_reg_r32(struct acpi_cpuhp *hp, unsigned off)
{
	uint32_t v = 0xeeeeeeee;
	assert_int_equal(acpi_cpuhp_access(hp, off, &v, 4, false), 0);
	return v;
}

static const uint32_t apic_ids[4] = { 0, 1, 2, 4 };

/* 4 slots, boot CPU 0; slot 2 plugged and acknowledged, then asked to go
 * (remove event pending); slot 3 plugged, insert event not yet seen;
 * the guest selected slot 2 and asked for its APIC id. */
static void cpu_machine(struct acpi_cpuhp *hp)
{
	acpi_cpuhp_init(hp, 4, apic_ids, 1, NULL);
	assert_int_equal(acpi_cpuhp_plug(hp, 2), 0);
	cpu_reg_w32(hp, ACPI_CPUHP_SEL_OFF, 2);
	cpu_reg_w8(hp, ACPI_CPUHP_FLAGS_OFF, ACPI_CPUHP_INSERT);
	assert_int_equal(acpi_cpuhp_request_unplug(hp, 2), 0);
	assert_int_equal(acpi_cpuhp_plug(hp, 3), 0);
	cpu_reg_w8(hp, ACPI_CPUHP_CMD_OFF, ACPI_CPUHP_CMD_OST_EVENT);
	cpu_reg_w32(hp, ACPI_CPUHP_DATA_OFF, 0x103);
	cpu_reg_w8(hp, ACPI_CPUHP_CMD_OFF, ACPI_CPUHP_CMD_ARCH_ID);
}

static void test_cpuhp_roundtrip(void **state)
{
	(void)state;
	struct acpi_cpuhp a, b;
	struct stream s;
	cpu_machine(&a);
	assert_int_equal(acpi_cpuhp_save(&a, st_begin(&s)), 0);
	acpi_cpuhp_init(&b, 4, apic_ids, 1, NULL);
	assert_int_equal(acpi_cpuhp_load(&b, st_reader(&s)), 0);
	assert_int_equal(snap_r_done(s.r), 0);
	st_free(&s);
	assert_int_equal(b.selector, 2);
	assert_int_equal(b.cmd, ACPI_CPUHP_CMD_ARCH_ID);
	assert_int_equal(b.ost_event, 0x103);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(a.slot[i].enabled, b.slot[i].enabled);
		assert_int_equal(a.slot[i].inserting, b.slot[i].inserting);
		assert_int_equal(a.slot[i].removing, b.slot[i].removing);
		assert_int_equal(a.slot[i].remove_pending, b.slot[i].remove_pending);
	}
	/* The guest reads on where it was: slot 2's APIC id, remove event. */
	assert_int_equal(cpu_reg_r32(&b, ACPI_CPUHP_DATA_OFF), 2);
	assert_int_equal(cpu_reg_r8(&b, ACPI_CPUHP_FLAGS_OFF),
			 ACPI_CPUHP_ENABLED | ACPI_CPUHP_REMOVE);
	/* Command 0 finds slot 2's remove event, then slot 3's insert. */
	cpu_reg_w8(&b, ACPI_CPUHP_FLAGS_OFF, ACPI_CPUHP_REMOVE);
	cpu_reg_w8(&b, ACPI_CPUHP_CMD_OFF, ACPI_CPUHP_CMD_NEXT_EVENT);
	assert_int_equal(cpu_reg_r32(&b, ACPI_CPUHP_DATA_OFF), 3);
	assert_int_equal(cpu_reg_r8(&b, ACPI_CPUHP_FLAGS_OFF),
			 ACPI_CPUHP_ENABLED | ACPI_CPUHP_INSERT);
	/* The eject the saved machine's management asked for completes. */
	cpu_reg_w32(&b, ACPI_CPUHP_SEL_OFF, 2);
	cpu_reg_w8(&b, ACPI_CPUHP_FLAGS_OFF, ACPI_CPUHP_EJECT);
	assert_false(acpi_cpuhp_enabled(&b, 2));
}

/* A guest may store any selector; the block then reads zeros and drops
 * writes.  That is state, and it loads. */
static void test_cpuhp_selector_past_slots(void **state)
{
	(void)state;
	struct acpi_cpuhp a, b;
	struct stream s;
	cpu_machine(&a);
	cpu_reg_w32(&a, ACPI_CPUHP_SEL_OFF, 0xffff);
	assert_int_equal(acpi_cpuhp_save(&a, st_begin(&s)), 0);
	acpi_cpuhp_init(&b, 4, apic_ids, 1, NULL);
	assert_int_equal(acpi_cpuhp_load(&b, st_reader(&s)), 0);
	st_free(&s);
	assert_int_equal(b.selector, 0xffff);
	assert_int_equal(cpu_reg_r8(&b, ACPI_CPUHP_FLAGS_OFF), 0);
	assert_int_equal(cpu_reg_r32(&b, ACPI_CPUHP_DATA_OFF), 0);
	cpu_reg_w8(&b, ACPI_CPUHP_FLAGS_OFF, ACPI_CPUHP_EJECT);
	assert_true(acpi_cpuhp_enabled(&b, 2));
}

/* A hand-made acpi-cpuhp section: n slots, flags[] and ids[]. */
static void cpu_section(struct snap_w *w, uint32_t n, const uint8_t *flags,
			const uint32_t *ids)
{
	uint8_t idb[4 * 8];
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < 4; k++)
			idb[4 * i + k] = (uint8_t)(ids[i] >> (8 * k));
	snap_w_begin(w, "acpi-cpuhp", 1);
	snap_w_u32(w, "nslots", n);
	snap_w_u32(w, "selector", 1);
	snap_w_u8(w, "cmd", 0);
	snap_w_u32(w, "ost_event", 0);
	snap_w_u32(w, "ost_status", 0);
	snap_w_u64(w, "dropped", 0);
	snap_w_bytes(w, "flags", flags, n);
	snap_w_bytes(w, "apic_ids", idb, 4 * n);
	snap_w_end(w);
}

/* Loads the section into the 4-slot machine: must fail with `want` in
 * the one line, and leave the block untouched. */
static void cpu_refused(uint32_t n, const uint8_t *flags, const uint32_t *ids,
			const char *want)
{
	struct acpi_cpuhp b;
	struct stream s;
	cpu_section(st_begin(&s), n, flags, ids);
	acpi_cpuhp_init(&b, 4, apic_ids, 1, NULL);
	cpu_reg_w32(&b, ACPI_CPUHP_SEL_OFF, 3);
	assert_true(acpi_cpuhp_load(&b, st_reader(&s)) < 0);
	const char *e = snap_r_error(s.r);
	if (!strstr(e, want))
		fail_msg("got '%s', want '%s'", e, want);
	st_free(&s);
	assert_int_equal(b.selector, 3);
	assert_false(acpi_cpuhp_enabled(&b, 2));
	assert_false(b.slot[2].inserting);
}

#define EN 0x01
#define INS 0x02
#define REM 0x04
#define PEND 0x08
#define FIX 0x10

static void test_cpuhp_hostile_fields(void **state)
{
	(void)state;
	const uint32_t bad_ids[4] = { 0, 1, 3, 4 };
	const uint8_t ok[4] = { EN | FIX, 0, EN | INS, 0 };
	const uint8_t ev_empty[4] = { EN | FIX, 0, INS, 0 };
	const uint8_t rem_empty[4] = { EN | FIX, 0, REM | PEND, 0 };
	const uint8_t unknown[4] = { EN | FIX, 0, EN | 0x40, 0 };
	const uint8_t boot_gone[4] = { FIX, 0, 0, 0 };
	const uint8_t boot_rem[4] = { EN | FIX | REM | PEND, 0, 0, 0 };
	const uint8_t not_boot[4] = { EN, 0, 0, 0 };
	const uint8_t was_boot[4] = { EN | FIX, EN | FIX, 0, 0 };
	const uint8_t rem_no_ask[4] = { EN | FIX, 0, EN | REM, 0 };
	cpu_refused(3, ok, apic_ids, "acpi-cpuhp.nslots: another number of possible CPUs");
	cpu_refused(4, ok, bad_ids, "acpi-cpuhp.apic_ids: slot 2: APIC id 3, here 2");
	cpu_refused(4, ev_empty, apic_ids, "acpi-cpuhp.flags: slot 2: an event on an empty slot");
	cpu_refused(4, rem_empty, apic_ids, "acpi-cpuhp.flags: slot 2: an event on an empty slot");
	cpu_refused(4, unknown, apic_ids, "acpi-cpuhp.flags: slot 2: unknown flag bits");
	cpu_refused(4, boot_gone, apic_ids, "slot 0: a boot CPU absent or being removed");
	cpu_refused(4, boot_rem, apic_ids, "slot 0: a boot CPU absent or being removed");
	cpu_refused(4, not_boot, apic_ids, "slot 0: a boot CPU here was hot-pluggable");
	cpu_refused(4, was_boot, apic_ids, "slot 1: a hot-pluggable CPU here was a boot CPU");
	cpu_refused(4, rem_no_ask, apic_ids, "slot 2: a remove event with no removal asked for");
	/* A newer section version is refused too. */
	struct acpi_cpuhp b;
	struct stream s;
	struct snap_w *w = st_begin(&s);
	snap_w_begin(w, "acpi-cpuhp", 2);
	snap_w_end(w);
	acpi_cpuhp_init(&b, 4, apic_ids, 1, NULL);
	assert_true(acpi_cpuhp_load(&b, st_reader(&s)) < 0);
	assert_non_null(strstr(snap_r_error(s.r), "section version 2"));
	st_free(&s);
}

/* ---- memory hot-plug ---- */

#define DIMM_BASE 0x100000000ull
#define DIMM_SIZE (128ull << 20)

static void mem_w32(struct memhp *h, unsigned off, uint32_t v)
{
	assert_int_equal(memhp_access(h, off, &v, 4, true), 0);
}

static uint32_t mem_r32(struct memhp *h, unsigned off)
{
	uint32_t v = 0xeeeeeeee;
	assert_int_equal(memhp_access(h, off, &v, 4, false), 0);
	return v;
}

/* The restoring side's DIMMs, from its command line: cold, no events. */
static void mem_dest(struct memhp *h)
{
	memhp_init(h, 4, NULL);
	assert_int_equal(memhp_plug(h, 0, DIMM_BASE, DIMM_SIZE, 0, false), 0);
	assert_int_equal(memhp_plug(h, 1, DIMM_BASE + DIMM_SIZE, DIMM_SIZE, 1, false), 0);
}

static void test_memhp_roundtrip(void **state)
{
	(void)state;
	struct memhp a, b;
	struct stream s;
	memhp_init(&a, 4, NULL);
	/* Slot 0 cold; slot 1 hot-plugged, its insert event not seen yet;
	 * the guest reported _OST on slot 0 and asked for slot 1. */
	assert_int_equal(memhp_plug(&a, 0, DIMM_BASE, DIMM_SIZE, 0, false), 0);
	assert_int_equal(memhp_plug(&a, 1, DIMM_BASE + DIMM_SIZE, DIMM_SIZE, 1, true), 0);
	assert_int_equal(memhp_request_unplug(&a, 0), 0);
	mem_w32(&a, MEMHP_REG_SEL, 0);
	mem_w32(&a, MEMHP_REG_OST_EVENT, 3);
	mem_w32(&a, MEMHP_REG_OST_STATUS, 0x80);
	mem_w32(&a, MEMHP_REG_SEL, 1);
	assert_int_equal(memhp_save(&a, st_begin(&s)), 0);
	mem_dest(&b);
	assert_int_equal(memhp_load(&b, st_reader(&s)), 0);
	assert_int_equal(snap_r_done(s.r), 0);
	st_free(&s);
	assert_int_equal(b.selector, 1);
	assert_int_equal(mem_r32(&b, MEMHP_REG_STATUS),
			 MEMHP_STS_ENABLED | MEMHP_STS_INSERT);
	assert_int_equal(mem_r32(&b, MEMHP_REG_BASE_HI), 1);
	assert_int_equal(mem_r32(&b, MEMHP_REG_PXM), 1);
	assert_int_equal(b.slots[0].ost_event, 3);
	assert_int_equal(b.slots[0].ost_status, 0x80);
	assert_true(b.slots[0].removing);
	assert_int_equal(memhp_request_unplug(&b, 0), -EALREADY);
	/* A selector past the slots is the guest's to make: it loads. */
	mem_w32(&a, MEMHP_REG_SEL, 77);
	assert_int_equal(memhp_save(&a, st_begin(&s)), 0);
	mem_dest(&b);
	assert_int_equal(memhp_load(&b, st_reader(&s)), 0);
	st_free(&s);
	assert_int_equal(mem_r32(&b, MEMHP_REG_STATUS), 0);
}

struct mslot {
	uint8_t flags;
	uint64_t base, size;
	uint32_t node;
};

static void mem_section(struct snap_w *w, uint32_t n, const struct mslot *sl)
{
	snap_w_begin(w, "acpi-memhp", 1);
	snap_w_u32(w, "nslots", n);
	snap_w_u32(w, "selector", 0);
	snap_w_u64(w, "rejected", 0);
	for (unsigned i = 0; i < n; i++) {
		char f[16];
		snprintf(f, sizeof(f), "slot%u", i);
		snap_w_begin(w, f, 1);
		snap_w_u8(w, "flags", sl[i].flags);
		snap_w_u64(w, "base", sl[i].base);
		snap_w_u64(w, "size", sl[i].size);
		snap_w_u32(w, "node", sl[i].node);
		snap_w_u32(w, "ost_event", 0);
		snap_w_u32(w, "ost_status", 0);
		snap_w_end(w);
	}
	snap_w_end(w);
}

static void mem_refused(uint32_t n, const struct mslot *sl, const char *want)
{
	struct memhp b;
	struct stream s;
	mem_section(st_begin(&s), n, sl);
	mem_dest(&b);
	mem_w32(&b, MEMHP_REG_SEL, 2);
	assert_true(memhp_load(&b, st_reader(&s)) < 0);
	const char *e = snap_r_error(s.r);
	if (!strstr(e, want))
		fail_msg("got '%s', want '%s'", e, want);
	st_free(&s);
	assert_int_equal(b.selector, 2);
	assert_true(b.slots[1].enabled);
	assert_false(b.slots[1].inserting);
}

static void test_memhp_hostile(void **state)
{
	(void)state;
	const struct mslot d0 = { 1, DIMM_BASE, DIMM_SIZE, 0 };
	const struct mslot d1 = { 1, DIMM_BASE + DIMM_SIZE, DIMM_SIZE, 1 };
	const struct mslot none = { 0, 0, 0, 0 };
	struct mslot sl[4] = { d0, d1, none, none };
	mem_refused(3, sl, "acpi-memhp.nslots: another number of memory slots");
	sl[2] = (struct mslot){ 1, DIMM_BASE + 2 * DIMM_SIZE, DIMM_SIZE, 0 };
	mem_refused(4, sl, "slot 2 held a 128 MiB DIMM at 0x110000000 when saved, here it is empty");
	sl[2] = none;
	sl[1] = none;
	mem_refused(4, sl, "slot 1 was empty when saved, here it holds a DIMM at 0x108000000");
	sl[1] = d1;
	sl[1].size = 2 * DIMM_SIZE;
	mem_refused(4, sl, "slot 1: saved a 256 MiB DIMM at 0x108000000 node 1, here 128 MiB");
	sl[1] = d1;
	sl[1].node = 0;
	mem_refused(4, sl, "node 0, here 128 MiB at 0x108000000 node 1");
	sl[1] = d1;
	sl[2].flags = MEMHP_STS_INSERT;
	mem_refused(4, sl, "acpi-memhp/slot2.flags: an event on an empty slot");
	sl[2].flags = MEMHP_STS_REMOVE;
	mem_refused(4, sl, "acpi-memhp/slot2.flags: an event on an empty slot");
	sl[2] = (struct mslot){ 0, DIMM_BASE, 0, 0 };
	mem_refused(4, sl, "acpi-memhp/slot2.base: a DIMM's place on an empty slot");
	sl[2] = none;
	sl[0].flags = 0x81;
	mem_refused(4, sl, "acpi-memhp/slot0.flags: unknown flag bits");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuhp_roundtrip),
		cmocka_unit_test(test_cpuhp_selector_past_slots),
		cmocka_unit_test(test_cpuhp_hostile_fields),
		cmocka_unit_test(test_memhp_roundtrip),
		cmocka_unit_test(test_memhp_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
