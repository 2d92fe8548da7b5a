/* The CPU hot-plug register block (devices/acpi/cpu_hotplug.c) played by
 * a guest the way QEMU's acpi_cpu_hotplug.rst describes and the CPUS AML
 * does it: scan with command 0, read status and APIC id, acknowledge,
 * eject; byte-wise (the AML's ByteAcc fields) and DWORD accesses reach
 * the same registers; and the hostile guest: ejects nobody asked for,
 * selectors out of range, reserved commands and bits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "devices/acpi/cpu_hotplug.h"

struct hfix {
	struct acpi_cpuhp hp;
	unsigned notified, ejected, last_eject, osts;
	uint32_t ost_ev, ost_st;
};

static void on_notify(void *o) { ((struct hfix *)o)->notified++; }
static void on_eject(void *o, unsigned i)
{
	struct hfix *f = o;
	f->ejected++;
	f->last_eject = i;
	acpi_cpuhp_unplugged(&f->hp, i);
}
static void on_ost(void *o, unsigned i, uint32_t ev, uint32_t st)
{
	struct hfix *f = o;
	(void)i;
	f->osts++;
	f->ost_ev = ev;
	f->ost_st = st;
}

static void setup(struct hfix *f, unsigned n, unsigned boot)
{
	static const uint32_t ids[] = { 0, 1, 2, 4, 5, 6 };
	memset(f, 0, sizeof(*f));
	acpi_cpuhp_init(&f->hp, n, ids, boot, NULL);
	f->hp.notify = on_notify;
	f->hp.eject = on_eject;
	f->hp.ost = on_ost;
	f->hp.opaque = f;
}

static uint32_t rd(struct hfix *f, unsigned off, unsigned len)
{
	uint32_t v = 0;
	assert_int_equal(acpi_cpuhp_access(&f->hp, off, &v, len, false), 0);
	return v;
}

static void wr(struct hfix *f, unsigned off, uint32_t v, unsigned len)
{
	assert_int_equal(acpi_cpuhp_access(&f->hp, off, &v, len, true), 0);
}

/* What CSCN does for one event: command 0, flags, selector. */
static uint8_t next_event(struct hfix *f, uint32_t *sel)
{
	wr(f, ACPI_CPUHP_CMD_OFF, ACPI_CPUHP_CMD_NEXT_EVENT, 1);
	uint8_t fl = (uint8_t)rd(f, ACPI_CPUHP_FLAGS_OFF, 1);
	*sel = rd(f, ACPI_CPUHP_DATA_OFF, 4);
	return fl;
}

static void test_plug_scan_eject(void **state)
{
	(void)state;
	struct hfix f;
	setup(&f, 6, 2);
	/* The detection sequence: selector 0, command 0, data 2 reads 0. */
	wr(&f, ACPI_CPUHP_SEL_OFF, 0, 4);
	wr(&f, ACPI_CPUHP_CMD_OFF, 0, 1);
	assert_int_equal(rd(&f, ACPI_CPUHP_SEL_OFF, 4), 0);
	/* Boot CPUs enabled, no events; slot 3 empty. */
	uint32_t sel;
	assert_int_equal(next_event(&f, &sel), ACPI_CPUHP_ENABLED);
	assert_int_equal(sel, 0);
	wr(&f, ACPI_CPUHP_SEL_OFF, 3, 4);
	assert_int_equal(rd(&f, ACPI_CPUHP_FLAGS_OFF, 1), 0);

	assert_int_equal(acpi_cpuhp_plug(&f.hp, 3), 0);
	assert_int_equal(f.notified, 1);
	assert_int_equal(acpi_cpuhp_plug(&f.hp, 3), -EBUSY);
	assert_int_equal(acpi_cpuhp_plug(&f.hp, 6), -ERANGE);
	wr(&f, ACPI_CPUHP_SEL_OFF, 0, 4);
	assert_int_equal(next_event(&f, &sel), ACPI_CPUHP_ENABLED | ACPI_CPUHP_INSERT);
	assert_int_equal(sel, 3);
	wr(&f, ACPI_CPUHP_CMD_OFF, ACPI_CPUHP_CMD_ARCH_ID, 1);
	assert_int_equal(rd(&f, ACPI_CPUHP_DATA_OFF, 4), 4); /* its APIC id */
	assert_int_equal(rd(&f, ACPI_CPUHP_SEL_OFF, 4), 0);  /* upper half */
	wr(&f, ACPI_CPUHP_FLAGS_OFF, ACPI_CPUHP_INSERT, 1);
	assert_int_equal(next_event(&f, &sel), ACPI_CPUHP_ENABLED); /* none left */
	assert_int_equal(sel, 3); /* the selector stays */

	/* _OST: event then status, reported once the status is complete. */
	wr(&f, ACPI_CPUHP_CMD_OFF, ACPI_CPUHP_CMD_OST_EVENT, 1);
	wr(&f, ACPI_CPUHP_DATA_OFF, 1, 4);
	wr(&f, ACPI_CPUHP_CMD_OFF, ACPI_CPUHP_CMD_OST_STATUS, 1);
	wr(&f, ACPI_CPUHP_DATA_OFF, 0x80, 4);
	assert_int_equal(f.osts, 1);
	assert_int_equal(f.ost_ev, 1);
	assert_int_equal(f.ost_st, 0x80);

	/* device_del: remove event, notify; the guest acknowledges and
	 * ejects; the slot empties. */
	assert_int_equal(acpi_cpuhp_request_unplug(&f.hp, 3), 0);
	assert_int_equal(f.notified, 2);
	/* Asked again before the eject: raised again, as QEMU does. */
	assert_int_equal(acpi_cpuhp_request_unplug(&f.hp, 3), 0);
	assert_int_equal(f.notified, 3);
	wr(&f, ACPI_CPUHP_SEL_OFF, 0, 4);
	assert_int_equal(next_event(&f, &sel), ACPI_CPUHP_ENABLED | ACPI_CPUHP_REMOVE);
	assert_int_equal(sel, 3);
	wr(&f, ACPI_CPUHP_FLAGS_OFF, ACPI_CPUHP_REMOVE, 1);
	assert_int_equal(f.ejected, 0);
	wr(&f, ACPI_CPUHP_FLAGS_OFF, ACPI_CPUHP_EJECT, 1);
	assert_int_equal(f.ejected, 1);
	assert_int_equal(f.last_eject, 3);
	assert_int_equal(rd(&f, ACPI_CPUHP_FLAGS_OFF, 1), 0);
	assert_false(acpi_cpuhp_enabled(&f.hp, 3));
	/* The slot can be plugged again. */
	assert_int_equal(acpi_cpuhp_plug(&f.hp, 3), 0);
}

/* The AML's fields are ByteAcc: a 32-bit selector arrives as four byte
 * writes, the command data as four byte reads. */
static void test_byte_access(void **state)
{
	(void)state;
	struct hfix f;
	setup(&f, 6, 1);
	assert_int_equal(acpi_cpuhp_plug(&f.hp, 5), 0);
	for (unsigned i = 0; i < 4; i++)
		wr(&f, ACPI_CPUHP_SEL_OFF + i, i == 0 ? 5 : 0, 1);
	wr(&f, ACPI_CPUHP_CMD_OFF, ACPI_CPUHP_CMD_ARCH_ID, 1);
	uint32_t id = 0;
	for (unsigned i = 0; i < 4; i++)
		id |= rd(&f, ACPI_CPUHP_DATA_OFF + i, 1) << (8 * i);
	assert_int_equal(id, 6);
	/* An access past the block is refused, not wrapped. */
	uint32_t v = 0;
	assert_int_equal(acpi_cpuhp_access(&f.hp, 10, &v, 4, false), -1);
	assert_int_equal(acpi_cpuhp_access(&f.hp, 12, &v, 1, true), -1);
}

static void test_hostile_guest(void **state)
{
	(void)state;
	struct hfix f;
	setup(&f, 4, 1);
	/* Eject of the boot CPU, of an empty slot, of a plugged CPU nobody
	 * asked to remove: all dropped, nothing changes. */
	wr(&f, ACPI_CPUHP_SEL_OFF, 0, 4);
	wr(&f, ACPI_CPUHP_FLAGS_OFF, ACPI_CPUHP_EJECT, 1);
	wr(&f, ACPI_CPUHP_SEL_OFF, 2, 4);
	wr(&f, ACPI_CPUHP_FLAGS_OFF, ACPI_CPUHP_EJECT, 1);
	assert_int_equal(acpi_cpuhp_plug(&f.hp, 1), 0);
	wr(&f, ACPI_CPUHP_SEL_OFF, 1, 4);
	wr(&f, ACPI_CPUHP_FLAGS_OFF, ACPI_CPUHP_EJECT | ACPI_CPUHP_FW_EJECT, 1);
	assert_int_equal(f.ejected, 0);
	assert_true(acpi_cpuhp_enabled(&f.hp, 0));
	assert_true(acpi_cpuhp_enabled(&f.hp, 1));
	assert_true(f.hp.dropped >= 3);
	/* A boot CPU cannot be asked to go either. */
	assert_int_equal(acpi_cpuhp_request_unplug(&f.hp, 0), -EPERM);
	assert_int_equal(acpi_cpuhp_request_unplug(&f.hp, 2), -ENODEV);
	assert_int_equal(acpi_cpuhp_request_unplug(&f.hp, 9), -ERANGE);
	/* Selector out of range: reads 0, writes ignored, until a valid
	 * selector is stored (acpi_cpu_hotplug.rst). */
	wr(&f, ACPI_CPUHP_SEL_OFF, 0xffffffffu, 4);
	assert_int_equal(rd(&f, ACPI_CPUHP_FLAGS_OFF, 1), 0);
	assert_int_equal(rd(&f, ACPI_CPUHP_DATA_OFF, 4), 0);
	wr(&f, ACPI_CPUHP_CMD_OFF, ACPI_CPUHP_CMD_NEXT_EVENT, 1);
	wr(&f, ACPI_CPUHP_FLAGS_OFF, ACPI_CPUHP_INSERT, 1);
	wr(&f, ACPI_CPUHP_SEL_OFF, 1, 4);
	assert_int_equal(rd(&f, ACPI_CPUHP_FLAGS_OFF, 1),
			 ACPI_CPUHP_ENABLED | ACPI_CPUHP_INSERT); /* untouched */
	/* Reserved command: data reads 0; reserved offsets read 0. */
	wr(&f, ACPI_CPUHP_CMD_OFF, 0x7f, 1);
	assert_int_equal(rd(&f, ACPI_CPUHP_DATA_OFF, 4), 0);
	assert_int_equal(rd(&f, 6, 2), 0);
	/* Removal asked, never acknowledged: the slot stays, the event can
	 * be re-read any number of times. */
	assert_int_equal(acpi_cpuhp_request_unplug(&f.hp, 1), 0);
	for (int i = 0; i < 3; i++) {
		uint32_t sel;
		assert_int_equal(next_event(&f, &sel) & ACPI_CPUHP_REMOVE, ACPI_CPUHP_REMOVE);
		assert_int_equal(sel, 1);
	}
	assert_true(acpi_cpuhp_unplug_pending(&f.hp, 1));
	assert_true(acpi_cpuhp_enabled(&f.hp, 1));
	assert_int_equal(f.ejected, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plug_scan_eject),
		cmocka_unit_test(test_byte_access),
		cmocka_unit_test(test_hostile_guest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
