/* The DSDT side of CPU hot-plug, following QEMU's \_SB.CPUS design over
 * its modern register block (QEMU docs/specs/acpi_cpu_hotplug.rst;
 * devices/acpi/cpu_hotplug.c is the device):
 *
 *   Device (CPUS) { _HID ACPI0010 (processor container), _CID PNP0A05
 *     Mutex (CPLK)                  one user of the selector at a time
 *     CSEL/CFLG/CCMD/CDAT           the registers (ByteAcc fields)
 *     CSTS (n)      select n, _STA: 0xF when enabled, else 0
 *     CEJ0 (n)      select n, write the eject bit
 *     COST (n,e,s)  select n, OST event e and status s
 *     CTFY (n,v)    Notify (Cnnn, v)
 *     CSCN ()       while a CPU has an event: insert -> Notify (1, device
 *                   check) and clear it; remove -> Notify (3, eject
 *                   request) and clear it (ACPI 6.4 §5.6.6)
 *     Device (Cnnn) { _HID ACPI0007, _UID n (the MADT's processor UID),
 *                     _STA, _MAT (its MADT entry, enabled), and for CPUs
 *                     that can come and go _EJ0 and _OST } }
 *
 * and the event that runs CSCN: \_GPE._E02 on q35 (GPE0 bit 2, QEMU's),
 * the GED's CPU hot-plug bit on microvm.  All of it only when -smp
 * maxcpus leaves room for CPUs that are not there at boot. */
#include "acpi_int.h"
#include "cpu_hotplug.h"

#include <stdio.h>
#include <string.h>

/* AML opcodes aml.h has no helper for (ACPI 6.4 §20.2.5). */
#define OP_EXT 0x5b
#define OP_EXT_MUTEX 0x01
#define OP_EXT_ACQUIRE 0x23
#define OP_EXT_RELEASE 0x27
#define OP_WHILE 0xa2
#define OP_AND 0x7b
#define OP_NOTIFY 0x86
#define NOTIFY_DEVICE_CHECK 1  /* §5.6.6 Table 5.166 */
#define NOTIFY_EJECT_REQUEST 3

bool acpi_cpu_hotplug(const struct acpi_builder *bld)
{
	unsigned nboot = bld->l->ncpus ? bld->l->ncpus : 1;
	return acpi_possible_cpus(bld->cfg, nboot) > nboot;
}

static void acquire(struct aml *a)
{
	aml_byte(a, OP_EXT);
	aml_byte(a, OP_EXT_ACQUIRE);
	aml_name(a, "CPLK");
	aml_le16(a, 0xffff); /* wait forever */
}

static void release(struct aml *a)
{
	aml_byte(a, OP_EXT);
	aml_byte(a, OP_EXT_RELEASE);
	aml_name(a, "CPLK");
}

/* Store (src, NAME) with src an Arg or an integer. */
static void store_arg(struct aml *a, unsigned arg, const char *dst)
{
	aml_store(a);
	aml_arg(a, arg);
	aml_name(a, dst);
}

static void store_int(struct aml *a, uint64_t v, const char *dst)
{
	aml_store(a);
	aml_int(a, v);
	aml_name(a, dst);
}

static void store_local_int(struct aml *a, unsigned local, uint64_t v)
{
	aml_store(a);
	aml_int(a, v);
	aml_local(a, local);
}

/* And (x, mask, Zero) as a predicate, x a local. */
static void and_local(struct aml *a, unsigned local, uint64_t mask)
{
	aml_byte(a, OP_AND);
	aml_local(a, local);
	aml_int(a, mask);
	aml_null_target(a);
}

static void cpus_methods(struct aml *a, unsigned n)
{
	/* Method (CSTS, 1, Serialized) */
	size_t m = aml_method_begin(a, "CSTS", 1, true);
	acquire(a);
	store_arg(a, 0, "CSEL");
	store_local_int(a, 0, 0);
	aml_store(a);
	aml_name(a, "CFLG");
	aml_local(a, 1);
	size_t i = aml_if_begin(a);
	and_local(a, 1, ACPI_CPUHP_ENABLED);
	store_local_int(a, 0, 0xf);
	aml_end(a, i);
	release(a);
	aml_return(a);
	aml_local(a, 0);
	aml_end(a, m);

	/* Method (CEJ0, 1, Serialized) */
	m = aml_method_begin(a, "CEJ0", 1, true);
	acquire(a);
	store_arg(a, 0, "CSEL");
	store_int(a, ACPI_CPUHP_EJECT, "CFLG");
	release(a);
	aml_end(a, m);

	/* Method (COST, 4, Serialized) */
	m = aml_method_begin(a, "COST", 4, true);
	acquire(a);
	store_arg(a, 0, "CSEL");
	store_int(a, ACPI_CPUHP_CMD_OST_EVENT, "CCMD");
	store_arg(a, 1, "CDAT");
	store_int(a, ACPI_CPUHP_CMD_OST_STATUS, "CCMD");
	store_arg(a, 2, "CDAT");
	release(a);
	aml_end(a, m);

	/* Method (CTFY, 2): If (Arg0 == k) { Notify (Ckkk, Arg1) } ... */
	m = aml_method_begin(a, "CTFY", 2, false);
	for (unsigned k = 0; k < n; k++) {
		char name[8];
		snprintf(name, sizeof(name), "C%03X", k & 0xfffu);
		i = aml_if_begin(a);
		aml_op(a, AML_OP_LEQUAL);
		aml_arg(a, 0);
		aml_int(a, k);
		aml_byte(a, OP_NOTIFY);
		aml_name(a, name);
		aml_arg(a, 1);
		aml_end(a, i);
	}
	aml_end(a, m);

	/* Method (CSCN, 0, Serialized): Local0 "found one", Local3 bounds
	 * the loop (every slot can have at most two events to report). */
	m = aml_method_begin(a, "CSCN", 0, true);
	acquire(a);
	store_local_int(a, 0, 1);
	store_local_int(a, 3, 0);
	aml_byte(a, OP_WHILE);
	size_t w = aml_pkg_begin(a);
	aml_op(a, AML_OP_LAND);
	aml_local(a, 0);
	aml_op(a, AML_OP_LLESS);
	aml_local(a, 3);
	aml_int(a, 2ull * n + 1);
	store_int(a, ACPI_CPUHP_CMD_NEXT_EVENT, "CCMD");
	store_local_int(a, 0, 0);
	aml_store(a);
	aml_name(a, "CFLG");
	aml_local(a, 1);
	aml_store(a);
	aml_name(a, "CDAT");
	aml_local(a, 2);
	static const struct { uint8_t bit, notify; } ev[] = {
		{ ACPI_CPUHP_INSERT, NOTIFY_DEVICE_CHECK },
		{ ACPI_CPUHP_REMOVE, NOTIFY_EJECT_REQUEST },
	};
	size_t el = 0;
	for (unsigned e = 0; e < 2; e++) {
		i = aml_if_begin(a);
		and_local(a, 1, ev[e].bit);
		aml_name(a, "CTFY");
		aml_local(a, 2);
		aml_int(a, ev[e].notify);
		store_int(a, ev[e].bit, "CFLG");
		store_local_int(a, 0, 1);
		aml_end(a, i);
		if (e == 0)
			el = aml_else_begin(a);
	}
	aml_end(a, el);
	aml_op(a, AML_OP_ADD);
	aml_local(a, 3);
	aml_int(a, 1);
	aml_local(a, 3);
	aml_end(a, w);
	release(a);
	aml_end(a, m);
}

static void cpus_device(struct acpi_builder *bld, struct aml *a, unsigned k,
			unsigned nboot)
{
	char name[8];
	snprintf(name, sizeof(name), "C%03X", k & 0xfffu);
	size_t d = aml_device_begin(a, name);
	aml_name_string(a, "_HID", "ACPI0007");
	aml_name_int(a, "_UID", k);
	size_t m = aml_method_begin(a, "_STA", 0, false);
	aml_return(a);
	aml_name(a, "CSTS");
	aml_int(a, k);
	aml_end(a, m);
	/* _MAT (§6.2.10): this CPU's MADT entry, enabled. */
	uint32_t id = acpi_apic_id_smp(&bld->cfg->smp, k);
	uint8_t mat[16] = { 0 };
	size_t matlen;
	if (id < 0xff) {
		struct acpi_madt_lapic e = { .s = { ACPI_MADT_LAPIC, sizeof(e) },
			.processor_uid = (uint8_t)k, .apic_id = (uint8_t)id,
			.flags = ACPI_MADT_ENABLED };
		memcpy(mat, &e, sizeof(e));
		matlen = sizeof(e);
	} else {
		struct acpi_madt_x2apic e = { .s = { ACPI_MADT_X2APIC, sizeof(e) },
			.x2apic_id = id, .flags = ACPI_MADT_ENABLED,
			.processor_uid = k };
		memcpy(mat, &e, sizeof(e));
		matlen = sizeof(e);
	}
	aml_name_decl(a, "_MAT");
	aml_buffer(a, mat, matlen);
	if (k >= nboot) {
		m = aml_method_begin(a, "_EJ0", 1, false);
		aml_name(a, "CEJ0");
		aml_int(a, k);
		aml_end(a, m);
		m = aml_method_begin(a, "_OST", 3, false);
		aml_name(a, "COST");
		aml_int(a, k);
		aml_arg(a, 0);
		aml_arg(a, 1);
		aml_arg(a, 2);
		aml_end(a, m);
	}
	aml_end(a, d);
}

void acpi_dsdt_cpus(struct acpi_builder *bld, struct aml *a)
{
	if (!acpi_cpu_hotplug(bld))
		return;
	unsigned nboot = bld->l->ncpus ? bld->l->ncpus : 1;
	unsigned n = acpi_possible_cpus(bld->cfg, nboot);
	if (n > ACPI_CPUHP_MAX) {
		bld->err = true;
		return;
	}
	size_t d = aml_device_begin(a, "CPUS");
	aml_name_string(a, "_HID", "ACPI0010");
	aml_name_eisaid(a, "_CID", "PNP0A05");
	aml_byte(a, OP_EXT);
	aml_byte(a, OP_EXT_MUTEX);
	aml_name(a, "CPLK");
	aml_byte(a, 0); /* SyncLevel 0 */
	static const struct { const char *rgn, *fld; unsigned off, len; } r[] = {
		{ "PRSL", "CSEL", ACPI_CPUHP_SEL_OFF, 4 },
		{ "PRFL", "CFLG", ACPI_CPUHP_FLAGS_OFF, 1 },
		{ "PRCM", "CCMD", ACPI_CPUHP_CMD_OFF, 1 },
		{ "PRDT", "CDAT", ACPI_CPUHP_DATA_OFF, 4 },
	};
	for (unsigned i = 0; i < 4; i++) {
		aml_opregion(a, r[i].rgn, AML_REGION_SYSTEM_IO,
			     ACPI_CPUHP_IO_BASE + r[i].off, r[i].len);
		aml_field1(a, r[i].rgn, r[i].fld, 8ull * r[i].len);
	}
	cpus_methods(a, n);
	for (unsigned k = 0; k < n; k++)
		cpus_device(bld, a, k, nboot);
	aml_end(a, d);
}

void acpi_dsdt_cpus_ged(struct acpi_builder *bld, struct aml *a)
{
	if (!acpi_cpu_hotplug(bld))
		return;
	size_t i = aml_if_begin(a);
	and_local(a, 0, ACPI_GED_EVT_CPU_HOTPLUG);
	aml_name(a, "\\_SB.CPUS.CSCN");
	aml_end(a, i);
}

void acpi_dsdt_cpus_gpe(struct acpi_builder *bld, struct aml *a)
{
	if (!acpi_cpu_hotplug(bld))
		return;
	size_t s = aml_scope_begin(a, "\\_GPE");
	size_t m = aml_method_begin(a, "_E02", 0, false);
	aml_name(a, "\\_SB.CPUS.CSCN");
	aml_end(a, m);
	aml_end(a, s);
}
