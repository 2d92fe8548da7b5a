/* A small AML byte-code emitter (ACPI 6.4 §20.2), enough for our DSDT:
 * names, integers, strings, buffers, packages, scopes, devices, methods,
 * a handful of operators, operation regions and fields, and resource
 * templates (ACPI 6.4 §6.4).
 *
 * Everything appends to a growable struct aml.  Objects with a PkgLength
 * (Scope, Device, Method, Package, If, Else, Field) are opened with a
 * *_begin() that returns a mark and closed with aml_end(mark), which
 * measures the body and inserts the PkgLength in front of it (§20.2.4).
 * Errors (allocation failure, a bad name, an over-long package) latch in
 * a->err; the caller checks once at the end. */
#ifndef VMM_DEVICES_ACPI_AML_H
#define VMM_DEVICES_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool err;
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);

/* Raw bytes. */
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_le16(struct aml *a, uint16_t v);
void aml_le32(struct aml *a, uint32_t v);
void aml_le64(struct aml *a, uint64_t v);

/* PkgLength (§20.2.4): encode `body` (the bytes that follow the PkgLength)
 * into out[], the encoded length counting its own bytes.  Returns the
 * number of bytes (1-4), or 0 when body is too large (>= 2^28 - 4). */
unsigned aml_pkglen_encode(size_t body, uint8_t out[4]);
/* The same encoding without the self-count, as FieldElement bit lengths
 * use it (§20.2.5.2 NamedField := NameSeg PkgLength). */
unsigned aml_pkglen_encode_raw(size_t value, uint8_t out[4]);

/* Open a PkgLength scope at the current position / close it. */
size_t aml_pkg_begin(struct aml *a);
void aml_end(struct aml *a, size_t mark);

/* NameString (§20.2.2): "\\_SB.PCI0.S08", "^FOO", "_HID".  Segments of
 * 1-4 characters [A-Z0-9_] (not starting with a digit), padded with '_'. */
void aml_name(struct aml *a, const char *path);

/* Data objects. */
void aml_int(struct aml *a, uint64_t v);      /* shortest encoding */
void aml_dword(struct aml *a, uint32_t v);    /* always DWordConst */
void aml_string(struct aml *a, const char *s);
void aml_eisaid(struct aml *a, const char *id); /* "PNP0501" */
void aml_buffer(struct aml *a, const void *data, size_t n);
/* ToUUID("66F0D379-B4F3-4074-AC43-0D3318B78CDB") as a 16-byte buffer. */
void aml_uuid(struct aml *a, const char *uuid);
/* The 16 bytes of a textual UUID in ACPI/EFI byte order.  0 or -1. */
int aml_uuid_bytes(const char *uuid, uint8_t out[16]);

/* Named objects and scopes.  *_begin return a mark for aml_end(). */
void aml_name_decl(struct aml *a, const char *name); /* then the object */
void aml_name_int(struct aml *a, const char *name, uint64_t v);
void aml_name_string(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);
size_t aml_scope_begin(struct aml *a, const char *name);
size_t aml_device_begin(struct aml *a, const char *name);
size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs,
			bool serialized);
size_t aml_package_begin(struct aml *a, unsigned nelems);
size_t aml_if_begin(struct aml *a); /* then the predicate, then the body */
size_t aml_else_begin(struct aml *a);

/* Operators and operands (§20.2.5). */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_ONES 0xff
void aml_arg(struct aml *a, unsigned n);      /* Arg0..Arg6 */
void aml_local(struct aml *a, unsigned n);    /* Local0..Local7 */
void aml_null_target(struct aml *a);
void aml_return(struct aml *a);               /* then the value */
void aml_store(struct aml *a);                /* then source, then target */
/* Binary/unary opcodes: the operands (and, for arithmetic, a target)
 * follow in AML order. */
enum aml_op {
	AML_OP_ADD = 0x72,        /* Operand Operand Target */
	AML_OP_CONCAT = 0x73,     /* Data Data Target */
	AML_OP_SUBTRACT = 0x74,
	AML_OP_DEREFOF = 0x83,
	AML_OP_SIZEOF = 0x87,
	AML_OP_INDEX = 0x88,      /* BuffPkgStr Index Target */
	AML_OP_LAND = 0x90,
	AML_OP_LOR = 0x91,
	AML_OP_LNOT = 0x92,
	AML_OP_LEQUAL = 0x93,
	AML_OP_LGREATER = 0x94,
	AML_OP_LLESS = 0x95,
	AML_OP_MID = 0x9e,        /* Source Index Length Target */
};
void aml_op(struct aml *a, enum aml_op op);

/* OperationRegion (§19.6.100) with constant offset/length, and a Field
 * with one named element of `bits` bits (ByteAcc, NoLock, Preserve). */
#define AML_REGION_SYSTEM_MEMORY 0x00
#define AML_REGION_SYSTEM_IO 0x01
void aml_opregion(struct aml *a, const char *name, uint8_t space,
		  uint64_t offset, uint64_t len);
void aml_field1(struct aml *a, const char *region, const char *elem,
		uint64_t bits);

/* Resource template descriptors (§6.4), emitted into their own struct aml
 * and wrapped with aml_buffer() after aml_rt_end_tag(). */
void aml_rt_io(struct aml *rt, uint16_t min, uint16_t max, uint8_t align,
	       uint8_t len);
void aml_rt_irq_noflags(struct aml *rt, unsigned irq);
void aml_rt_memory32_fixed(struct aml *rt, uint32_t base, uint32_t len,
			   bool rw);
/* Extended Interrupt descriptor (§6.4.3.6), one interrupt. */
void aml_rt_interrupt(struct aml *rt, uint32_t gsi, bool consumer,
		      bool edge, bool active_low, bool shared);
/* Address space descriptors (§6.4.3.5): fixed min/max, positive decode,
 * producer (a bridge window). */
#define AML_RT_SPACE_MEMORY 0
#define AML_RT_SPACE_IO 1
#define AML_RT_SPACE_BUS 2
void aml_rt_word_space(struct aml *rt, uint8_t type, uint16_t min,
		       uint16_t max);
void aml_rt_qword_memory(struct aml *rt, uint64_t min, uint64_t max,
			 bool cacheable);
void aml_rt_end_tag(struct aml *rt);

#endif
