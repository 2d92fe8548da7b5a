/* The NVDIMM root device (ACPI 6.4 §9.19.1, _HID ACPI0012) and one child
 * per NVDIMM (§9.19.2) whose _ADR is the NFIT device handle.
 *
 * _DSM: neither the root nor the DIMMs implement any _DSM function, so
 * function 0 answers with a supported-functions bitmap of 0 (bit 0 clear:
 * "no functions beyond 0", §9.1.1); Linux's nfit driver then uses no
 * root/DIMM commands and reads labels through _LSI/_LSR/_LSW.
 *
 * Labels (§6.5.10), when label-size is given: the last label_size bytes of
 * the mapping, outside the NFIT SPA range, are an operation region the
 * label methods copy in and out of, bounded by NVDIMM_LABEL_MAX_XFER. */
#include "acpi_int.h"

#include <stdio.h>

/* ACPI 6.4 §9.19.1 / Linux nfit: root device and Intel DIMM _DSM UUIDs. */
#define NFIT_ROOT_DSM_UUID "2F10E7A4-9E91-11E4-89D3-123B93F75CBA"
#define NFIT_DIMM_DSM_UUID "4309AC30-0D11-11E4-9191-0800200C9A66"

/* _LSR/_LSW status values (§6.5.10.2, 6.5.10.3). */
#define LS_SUCCESS 0
#define LS_INVALID_INPUT 1
#define LS_ACCESS_ERROR 2

static void buffer1(struct aml *a, uint8_t v)
{
	aml_buffer(a, &v, 1);
}

void acpi_dsm_fn0_only(struct aml *a, const char *uuid)
{
	size_t m = aml_method_begin(a, "_DSM", 4, false);
	/* If (LAnd(LEqual(Arg0, ToUUID(uuid)), LEqual(Arg2, Zero))) */
	size_t i = aml_if_begin(a);
	aml_op(a, AML_OP_LAND);
	aml_op(a, AML_OP_LEQUAL);
	aml_arg(a, 0);
	aml_uuid(a, uuid);
	aml_op(a, AML_OP_LEQUAL);
	aml_arg(a, 2);
	aml_int(a, 0);
	aml_return(a);
	buffer1(a, 0x00); /* function 0 only: bitmap with bit 0 clear */
	aml_end(a, i);
	/* Unknown UUID or function: Buffer{0}, the "not supported" answer. */
	aml_return(a);
	buffer1(a, 0x00);
	aml_end(a, m);
}

/* If (cond) { Return (value) } where cond is emitted by the caller between
 * if_begin and this. */
static void return_int_end(struct aml *a, size_t ifmark, uint64_t v)
{
	aml_return(a);
	aml_int(a, v);
	aml_end(a, ifmark);
}

/* The body of a failed range check: Return (LERR), the package _LSR
 * answers with, or the bare status integer _LSW returns (ACPI 6.4
 * §6.5.10), either way "Invalid Input Parameters". */
static void return_invalid_end(struct aml *a, size_t ifmark, bool pkg_result)
{
	if (pkg_result) {
		aml_return(a);
		aml_name(a, "LERR");
		aml_end(a, ifmark);
	} else {
		return_int_end(a, ifmark, LS_INVALID_INPUT);
	}
}

/* LOr(LGreater(Arg0, size), LGreater(Arg1, xfer)), then
 * LGreater(Add(Arg0, Arg1), size): offsets are checked before they are
 * added so the sum cannot wrap. */
static void label_range_checks(struct aml *a, uint64_t size, uint64_t xfer,
			       bool pkg_result)
{
	size_t i = aml_if_begin(a);
	aml_op(a, AML_OP_LOR);
	aml_op(a, AML_OP_LGREATER);
	aml_arg(a, 0);
	aml_int(a, size);
	aml_op(a, AML_OP_LGREATER);
	aml_arg(a, 1);
	aml_int(a, xfer);
	return_invalid_end(a, i, pkg_result);
	i = aml_if_begin(a);
	aml_op(a, AML_OP_LGREATER);
	aml_op(a, AML_OP_ADD);
	aml_arg(a, 0);
	aml_arg(a, 1);
	aml_null_target(a);
	aml_int(a, size);
	return_invalid_end(a, i, pkg_result);
}

static void nvdimm_labels(struct aml *a, const struct nvdimm_desc *d)
{
	uint64_t gpa = d->base + d->pmem_size, size = d->label_size;
	uint64_t xfer = NVDIMM_LABEL_MAX_XFER;
	size_t m, pk;

	aml_opregion(a, "LREG", AML_REGION_SYSTEM_MEMORY, gpa, size);
	aml_field1(a, "LREG", "LDAT", size * 8);

	/* _LSI: Package {Status, SizeOfLabelStorageArea, MaxTransferLength} */
	m = aml_method_begin(a, "_LSI", 0, false);
	aml_return(a);
	pk = aml_package_begin(a, 3);
	aml_int(a, LS_SUCCESS);
	aml_int(a, size);
	aml_int(a, xfer);
	aml_end(a, pk);
	aml_end(a, m);

	/* The failure answer of _LSR. */
	aml_name_decl(a, "LERR");
	pk = aml_package_begin(a, 2);
	aml_int(a, LS_INVALID_INPUT);
	aml_buffer(a, NULL, 0);
	aml_end(a, pk);

	/* _LSR(Offset, Length): Package {Status, Buffer}.  The package is a
	 * method-local name so concurrent readers cannot share it. */
	m = aml_method_begin(a, "_LSR", 2, true);
	label_range_checks(a, size, xfer, true);
	aml_name_decl(a, "LPKG");
	pk = aml_package_begin(a, 2);
	aml_int(a, LS_SUCCESS);
	aml_int(a, 0);
	aml_end(a, pk);
	/* Store(Mid(LDAT, Arg0, Arg1), Index(LPKG, One)) */
	aml_store(a);
	aml_op(a, AML_OP_MID);
	aml_name(a, "LDAT");
	aml_arg(a, 0);
	aml_arg(a, 1);
	aml_null_target(a);
	aml_op(a, AML_OP_INDEX);
	aml_name(a, "LPKG");
	aml_int(a, 1);
	aml_null_target(a);
	aml_return(a);
	aml_name(a, "LPKG");
	aml_end(a, m);

	/* _LSW(Offset, Length, Data): Integer status. */
	m = aml_method_begin(a, "_LSW", 3, true);
	label_range_checks(a, size, xfer, false);
	size_t i = aml_if_begin(a); /* If (LLess(SizeOf(Arg2), Arg1)) */
	aml_op(a, AML_OP_LLESS);
	aml_op(a, AML_OP_SIZEOF);
	aml_arg(a, 2);
	aml_arg(a, 1);
	return_int_end(a, i, LS_INVALID_INPUT);
	if (d->readonly) {
		/* readonly=on: the slot drops guest writes; say so. */
		aml_return(a);
		aml_int(a, LS_ACCESS_ERROR);
		aml_end(a, m);
		return;
	}
	/* Local0 = LDAT
	 * Local1 = Concatenate(Mid(Local0, 0, Arg0), Mid(Arg2, 0, Arg1))
	 * Local1 = Concatenate(Local1, Mid(Local0, Arg0 + Arg1, size))
	 * LDAT = Local1 */
	aml_store(a);
	aml_name(a, "LDAT");
	aml_local(a, 0);
	aml_op(a, AML_OP_CONCAT);
	aml_op(a, AML_OP_MID);
	aml_local(a, 0);
	aml_int(a, 0);
	aml_arg(a, 0);
	aml_null_target(a);
	aml_op(a, AML_OP_MID);
	aml_arg(a, 2);
	aml_int(a, 0);
	aml_arg(a, 1);
	aml_null_target(a);
	aml_local(a, 1);
	aml_op(a, AML_OP_CONCAT);
	aml_local(a, 1);
	aml_op(a, AML_OP_MID);
	aml_local(a, 0);
	aml_op(a, AML_OP_ADD);
	aml_arg(a, 0);
	aml_arg(a, 1);
	aml_null_target(a);
	aml_int(a, size);
	aml_null_target(a);
	aml_local(a, 1);
	aml_store(a);
	aml_local(a, 1);
	aml_name(a, "LDAT");
	aml_return(a);
	aml_int(a, LS_SUCCESS);
	aml_end(a, m);
}

void acpi_dsdt_nvdimm(struct acpi_builder *bld, struct aml *a)
{
	size_t root = aml_device_begin(a, "NVDR");
	aml_name_string(a, "_HID", "ACPI0012");
	acpi_dsm_fn0_only(a, NFIT_ROOT_DSM_UUID);

	for (unsigned i = 0; i < bld->nnv; i++) {
		const struct nvdimm_desc *d = &bld->nv[i];
		char name[5];
		snprintf(name, sizeof(name), "NV%02X", i & 0xffu);
		size_t m = aml_device_begin(a, name);
		aml_name_int(a, "_ADR", d->handle);
		acpi_dsm_fn0_only(a, NFIT_DIMM_DSM_UUID);
		if (d->label_size)
			nvdimm_labels(a, d);
		aml_end(a, m);
	}
	aml_end(a, root);
}
