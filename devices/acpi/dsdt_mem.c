/* The DSDT's memory hot-plug objects (QEMU's design, docs/specs/
 * acpi_mem_hotplug.rst), present when -m has slots= and maxmem=:
 *   \_SB.MHPD  the register block (devices/acpi/mem_hotplug.h) with its
 *              fields, a mutex, and the methods that drive it: MSCN scans
 *              every slot for insert/remove events and notifies the slot
 *              device (1 = device check, 3 = eject request, ACPI 6.4
 *              §5.6.6), MRST/MCRS/MPXM/MOST/MEJ0 back each slot's
 *              _STA/_CRS/_PXM/_OST/_EJ0;
 *   \_SB.MHPC  a container of one PNP0C80 memory device per slot;
 *   q35: \_GPE._E03 runs MSCN (GPE0 bit 3); microvm: the GED's _EVT does
 *        when the selector has MEMHP_GED_EVT (acpi_dsdt_mem_ged). */
#include "acpi_int.h"

#include <stdio.h>

#include "mem_hotplug.h"

/* Opcodes aml.h has no helper for (ACPI 6.4 §20.2.5). */
#define OP_EXT 0x5b
#define OP_EXT_MUTEX 0x01
#define OP_EXT_ACQUIRE 0x23
#define OP_EXT_RELEASE 0x27
#define OP_EXT_FIELD 0x81
#define OP_WHILE 0xa2
#define OP_INCREMENT 0x75
#define OP_SHIFT_LEFT 0x79
#define OP_OR 0x7d
#define OP_NOTIFY 0x86
#define OP_CREATE_QWORD_FIELD 0x8f
/* FieldFlags (§20.2.5.2): AccessType, UpdateRule. */
#define FF_BYTE_ACC 0x01
#define FF_DWORD_ACC 0x03
#define FF_WRITE_AS_ZEROS 0x40

#define MHPD "\\_SB.MHPD."

struct fld { const char *name; unsigned bits; };

/* Field(HPMR, flags) { [Offset(skip),] name, bits, ... } */
static void mem_field(struct aml *a, uint8_t flags, unsigned skip_bits,
		      const struct fld *f, unsigned n)
{
	uint8_t enc[4];
	aml_byte(a, OP_EXT);
	aml_byte(a, OP_EXT_FIELD);
	size_t m = aml_pkg_begin(a);
	aml_name(a, "HPMR");
	aml_byte(a, flags);
	if (skip_bits) {
		unsigned k = aml_pkglen_encode_raw(skip_bits, enc);
		aml_byte(a, 0x00);   /* ReservedField */
		aml_bytes(a, enc, k);
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned k = aml_pkglen_encode_raw(f[i].bits, enc);
		aml_bytes(a, f[i].name, 4);
		aml_bytes(a, enc, k);
	}
	aml_end(a, m);
}

static void acquire(struct aml *a)
{
	aml_byte(a, OP_EXT);
	aml_byte(a, OP_EXT_ACQUIRE);
	aml_name(a, MHPD "MLCK");
	aml_le16(a, 0xffff);
}

static void release(struct aml *a)
{
	aml_byte(a, OP_EXT);
	aml_byte(a, OP_EXT_RELEASE);
	aml_name(a, MHPD "MLCK");
}

/* MSEL = ArgN */
static void select_arg(struct aml *a, unsigned arg)
{
	aml_store(a);
	aml_arg(a, arg);
	aml_name(a, MHPD "MSEL");
}

/* If (FLAG == 1) { \_SB.MHPC.MTFY(Local0, ev); FLAG = 1 } */
static void scan_event(struct aml *a, const char *flag, unsigned ev)
{
	size_t i = aml_if_begin(a);
	aml_op(a, AML_OP_LEQUAL);
	aml_name(a, flag);
	aml_int(a, 1);
	aml_name(a, "\\_SB.MHPC.MTFY");
	aml_local(a, 0);
	aml_int(a, ev);
	aml_store(a);   /* write 1 to clear the event (WriteAsZeros) */
	aml_int(a, 1);
	aml_name(a, flag);
	aml_end(a, i);
}

/* Local<n> = (HI << 32) | LO */
static void join64(struct aml *a, const char *hi, const char *lo, unsigned local)
{
	aml_byte(a, OP_OR);
	aml_byte(a, OP_SHIFT_LEFT);
	aml_name(a, hi);
	aml_int(a, 32);
	aml_null_target(a);
	aml_name(a, lo);
	aml_local(a, local);
}

static void mhpd(struct acpi_builder *bld, struct aml *a, unsigned nslots)
{
	struct aml rt;
	size_t m = aml_device_begin(a, "MHPD");
	aml_name_eisaid(a, "_HID", "PNP0A06");
	aml_name_string(a, "_UID", "Memory hotplug resources");
	aml_init(&rt);
	aml_rt_io(&rt, MEMHP_IO_BASE, MEMHP_IO_BASE, 1, MEMHP_IO_SIZE);
	aml_rt_end_tag(&rt);
	aml_name_decl(a, "_CRS");
	aml_buffer(a, rt.buf, rt.len);
	if (rt.err)
		a->err = true;
	aml_free(&rt);
	aml_opregion(a, "HPMR", AML_REGION_SYSTEM_IO, MEMHP_IO_BASE, MEMHP_IO_SIZE);
	static const struct fld rd[] = { { "MRBL", 32 }, { "MRBH", 32 },
		{ "MRLL", 32 }, { "MRLH", 32 }, { "MPX_", 32 } };
	static const struct fld st[] = { { "MES_", 1 }, { "MINS", 1 },
		{ "MRMV", 1 }, { "MEJ_", 1 } };
	static const struct fld wr[] = { { "MSEL", 32 }, { "MOEV", 32 },
		{ "MOSC", 32 } };
	mem_field(a, FF_DWORD_ACC, 0, rd, 5);
	mem_field(a, FF_BYTE_ACC | FF_WRITE_AS_ZEROS, 8 * MEMHP_REG_STATUS, st, 4);
	mem_field(a, FF_DWORD_ACC, 0, wr, 3);
	aml_byte(a, OP_EXT);
	aml_byte(a, OP_EXT_MUTEX);
	aml_name(a, "MLCK");
	aml_byte(a, 0);
	aml_name_int(a, "MDNR", nslots);

	/* MSCN: every slot's pending event, in slot order. */
	size_t mm = aml_method_begin(a, "MSCN", 0, false);
	acquire(a);
	aml_store(a);
	aml_int(a, 0);
	aml_local(a, 0);
	aml_byte(a, OP_WHILE);
	size_t w = aml_pkg_begin(a);
	aml_op(a, AML_OP_LLESS);
	aml_local(a, 0);
	aml_name(a, MHPD "MDNR");
	aml_store(a);
	aml_local(a, 0);
	aml_name(a, MHPD "MSEL");
	scan_event(a, MHPD "MINS", 1);   /* Device Check */
	scan_event(a, MHPD "MRMV", 3);   /* Eject Request */
	aml_byte(a, OP_INCREMENT);
	aml_local(a, 0);
	aml_end(a, w);
	release(a);
	aml_end(a, mm);

	/* MRST(slot): _STA, 0xF while enabled. */
	mm = aml_method_begin(a, "MRST", 1, false);
	acquire(a);
	select_arg(a, 0);
	aml_store(a);
	aml_int(a, 0);
	aml_local(a, 0);
	size_t i = aml_if_begin(a);
	aml_op(a, AML_OP_LEQUAL);
	aml_name(a, MHPD "MES_");
	aml_int(a, 1);
	aml_store(a);
	aml_int(a, 0xf);
	aml_local(a, 0);
	aml_end(a, i);
	release(a);
	aml_return(a);
	aml_local(a, 0);
	aml_end(a, mm);

	/* MCRS(slot): _CRS, one QWordMemory of the slot's range. */
	mm = aml_method_begin(a, "MCRS", 1, true);
	acquire(a);
	select_arg(a, 0);
	aml_init(&rt);
	aml_rt_qword_memory(&rt, 0, 0, true);
	aml_rt_end_tag(&rt);
	aml_name_decl(a, "MR64");
	aml_buffer(a, rt.buf, rt.len);
	aml_free(&rt);
	/* QWord Address Space Descriptor (§6.4.3.5.1): _MIN at byte 14,
	 * _MAX at 22, _LEN at 38. */
	static const struct { unsigned off; const char *name; } q[] = {
		{ 14, "MINA" }, { 22, "MAXA" }, { 38, "LENA" } };
	for (unsigned k = 0; k < 3; k++) {
		aml_byte(a, OP_CREATE_QWORD_FIELD);
		aml_name(a, "MR64");
		aml_int(a, q[k].off);
		aml_name(a, q[k].name);
	}
	join64(a, MHPD "MRBH", MHPD "MRBL", 0);
	join64(a, MHPD "MRLH", MHPD "MRLL", 1);
	aml_store(a);
	aml_local(a, 0);
	aml_name(a, "MINA");
	aml_store(a);
	aml_local(a, 1);
	aml_name(a, "LENA");
	aml_op(a, AML_OP_ADD);
	aml_local(a, 0);
	aml_local(a, 1);
	aml_local(a, 2);
	aml_op(a, AML_OP_SUBTRACT);
	aml_local(a, 2);
	aml_int(a, 1);
	aml_name(a, "MAXA");
	release(a);
	aml_return(a);
	aml_name(a, "MR64");
	aml_end(a, mm);

	/* MPXM(slot): _PXM. */
	mm = aml_method_begin(a, "MPXM", 1, false);
	acquire(a);
	select_arg(a, 0);
	aml_store(a);
	aml_name(a, MHPD "MPX_");
	aml_local(a, 0);
	release(a);
	aml_return(a);
	aml_local(a, 0);
	aml_end(a, mm);

	/* MOST(slot, event, status, buffer): _OST. */
	mm = aml_method_begin(a, "MOST", 4, false);
	acquire(a);
	select_arg(a, 0);
	aml_store(a);
	aml_arg(a, 1);
	aml_name(a, MHPD "MOEV");
	aml_store(a);
	aml_arg(a, 2);
	aml_name(a, MHPD "MOSC");
	release(a);
	aml_end(a, mm);

	/* MEJ0(slot, arg): _EJ0, the guest is done with the DIMM. */
	mm = aml_method_begin(a, "MEJ0", 2, false);
	acquire(a);
	select_arg(a, 0);
	aml_store(a);
	aml_int(a, 1);
	aml_name(a, MHPD "MEJ_");
	release(a);
	aml_end(a, mm);
	aml_end(a, m);
	(void)bld;
}

static void mhpc(struct aml *a, unsigned nslots)
{
	char name[5];
	size_t m = aml_device_begin(a, "MHPC");
	aml_name_eisaid(a, "_HID", "PNP0A06");
	aml_name_string(a, "_UID", "DIMM devices");

	/* MTFY(slot, value): Notify(MPxx, value). */
	size_t mm = aml_method_begin(a, "MTFY", 2, false);
	for (unsigned s = 0; s < nslots; s++) {
		size_t i = aml_if_begin(a);
		aml_op(a, AML_OP_LEQUAL);
		aml_arg(a, 0);
		aml_int(a, s);
		aml_byte(a, OP_NOTIFY);
		snprintf(name, sizeof(name), "MP%02X", s & 0xffu);
		aml_name(a, name);
		aml_arg(a, 1);
		aml_end(a, i);
	}
	aml_end(a, mm);

	for (unsigned s = 0; s < nslots; s++) {
		snprintf(name, sizeof(name), "MP%02X", s & 0xffu);
		size_t d = aml_device_begin(a, name);
		aml_name_eisaid(a, "_HID", "PNP0C80");
		aml_name_int(a, "_UID", s);
		static const struct { const char *m, *impl; unsigned nargs; bool ret; } f[] = {
			{ "_CRS", MHPD "MCRS", 0, true },
			{ "_STA", MHPD "MRST", 0, true },
			{ "_PXM", MHPD "MPXM", 0, true },
			{ "_OST", MHPD "MOST", 3, false },
			{ "_EJ0", MHPD "MEJ0", 1, false },
		};
		for (unsigned k = 0; k < 5; k++) {
			size_t fm = aml_method_begin(a, f[k].m, f[k].nargs, false);
			if (f[k].ret)
				aml_return(a);
			aml_name(a, f[k].impl);
			aml_name(a, "_UID");
			for (unsigned x = 0; x < f[k].nargs; x++)
				aml_arg(a, x);
			aml_end(a, fm);
		}
		aml_end(a, d);
	}
	aml_end(a, m);
}

void acpi_dsdt_mem(struct acpi_builder *bld, struct aml *a)
{
	if (!layout_memhp(bld->cfg))
		return;
	unsigned n = bld->cfg->mem.slots;
	if (n > MEMHP_MAX_SLOTS) {
		bld->err = true;
		return;
	}
	mhpd(bld, a, n);
	mhpc(a, n);
}

void acpi_dsdt_mem_gpe(struct acpi_builder *bld, struct aml *a)
{
	if (!layout_memhp(bld->cfg) || !acpi_is_q35(bld))
		return;
	size_t sc = aml_scope_begin(a, "\\_GPE");
	size_t m = aml_method_begin(a, "_E03", 0, false);
	aml_name(a, MHPD "MSCN");
	aml_end(a, m);
	aml_end(a, sc);
}

void acpi_dsdt_mem_ged(struct acpi_builder *bld, struct aml *a)
{
	if (!layout_memhp(bld->cfg))
		return;
	/* If (Local0 & MEMHP_GED_EVT) { \_SB.MHPD.MSCN() } */
	size_t i = aml_if_begin(a);
	aml_byte(a, 0x7b);   /* And */
	aml_local(a, 0);
	aml_int(a, MEMHP_GED_EVT);
	aml_null_target(a);
	aml_name(a, MHPD "MSCN");
	aml_end(a, i);
}
