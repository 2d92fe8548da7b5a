/* Differentiated System Description Table (ACPI 6.4 §5.2.11.1): the
 * devices an OS cannot probe.  Under \_SB:
 *   COM1-4 (PNP0501), the RTC (PNP0B00) and the i8042 (PNP0303) with
 *     their ISA ports and IRQs,
 *   each virtio-mmio device as LNRO0005 with its window and interrupt,
 *     which Linux's virtio_mmio driver binds without virtio_mmio.device=,
 *   on q35 the PCIe host bridge (PNP0A08, compatible PNP0A03) with its bus,
 *     I/O and memory windows and an INTx routing table, plus a PNP0C02
 *     device reserving the ECAM range so Linux trusts the MCFG,
 *   the NVDIMM root device (dsdt_nvdimm.c),
 *   with -smp maxcpus, the CPU hot-plug container CPUS (dsdt_cpu.c),
 *   on microvm (hardware-reduced: no fixed power button, no GPE blocks)
 *     a Generic Event Device (ACPI0013) and the power button (PNP0C0C)
 *     its _EVT method notifies,
 * and \_S5 for soft-off through the ACPI PM block. */
#include "acpi_int.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

#include "devices/pci/pci.h"

#define RTC_BASE 0x70
#define KBD_DATA 0x60
#define KBD_CMD 0x64
#define PCI_CF8 0xcf8

/* Name(_CRS, ResourceTemplate() { ... }) from a finished descriptor list. */
static void name_crs(struct aml *a, struct aml *rt)
{
	aml_rt_end_tag(rt);
	if (rt->err)
		a->err = true;
	aml_name_decl(a, "_CRS");
	aml_buffer(a, rt->buf, rt->len);
	aml_free(rt);
}

static void dsdt_isa(struct acpi_builder *bld, struct aml *a)
{
	const struct machine_config *cfg = bld->cfg;
	struct aml rt;
	size_t m;

	/* One PNP0501 per -serial the board instantiates (devices/
	 * board_platform.c), at the PC's COM1-COM4 ports and IRQs. */
	static const struct { uint16_t port; uint8_t irq; } com[] = {
		{ 0x3f8, LAYOUT_GSI_COM1 }, { 0x2f8, LAYOUT_GSI_COM2 },
		{ 0x3e8, LAYOUT_GSI_COM1 }, { 0x2e8, LAYOUT_GSI_COM2 },
	};
	for (unsigned i = 0; i < cfg->nserial && i < 4; i++) {
		if (cfg->serial[i].type == CFG_SERIAL_NONE)
			continue;
		char name[5];
		snprintf(name, sizeof(name), "COM%u", (i & 3u) + 1);
		m = aml_device_begin(a, name);
		aml_name_eisaid(a, "_HID", "PNP0501");
		aml_name_int(a, "_UID", i + 1);
		aml_init(&rt);
		aml_rt_io(&rt, com[i].port, com[i].port, 1, 8);
		aml_rt_irq_noflags(&rt, com[i].irq);
		name_crs(a, &rt);
		aml_end(a, m);
	}

	m = aml_device_begin(a, "RTC");
	aml_name_eisaid(a, "_HID", "PNP0B00");
	aml_init(&rt);
	aml_rt_io(&rt, RTC_BASE, RTC_BASE, 1, 8);
	aml_rt_irq_noflags(&rt, LAYOUT_GSI_RTC);
	name_crs(a, &rt);
	aml_end(a, m);

	/* The board has an i8042 (keyboard controller, reset line) on
	 * every machine type. */
	{
		m = aml_device_begin(a, "KBD");
		aml_name_eisaid(a, "_HID", "PNP0303");
		aml_init(&rt);
		aml_rt_io(&rt, KBD_DATA, KBD_DATA, 1, 1);
		aml_rt_io(&rt, KBD_CMD, KBD_CMD, 1, 1);
		aml_rt_irq_noflags(&rt, LAYOUT_GSI_KBD);
		name_crs(a, &rt);
		aml_end(a, m);
	}
}

static void dsdt_virtio_mmio(struct acpi_builder *bld, struct aml *a)
{
	const struct machine_config *cfg = bld->cfg;
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct layout_dev *d = layout_dev_for(bld->l, (int)i);
		if (cfg->devices[i].transport != CFG_TRANSPORT_MMIO || !d ||
		    d->mmio_size == 0)
			continue;
		if (n > 0xff || d->mmio_base + d->mmio_size > LAYOUT_HOLE_END) {
			bld->err = true;
			return;
		}
		char name[5];
		snprintf(name, sizeof(name), "VR%02X", n & 0xffu);
		size_t m = aml_device_begin(a, name);
		aml_name_string(a, "_HID", "LNRO0005");
		aml_name_int(a, "_UID", n);
		aml_name_int(a, "_CCA", 1); /* DMA is cache coherent */
		struct aml rt;
		aml_init(&rt);
		aml_rt_memory32_fixed(&rt, (uint32_t)d->mmio_base,
				      (uint32_t)d->mmio_size, true);
		/* Level, active high: the line stays up until the driver
		 * acknowledges InterruptStatus (virtio 1.2 §4.2.2). */
		aml_rt_interrupt(&rt, d->gsi, true, false, false, false);
		name_crs(a, &rt);
		aml_end(a, m);
		n++;
	}
}

static void dsdt_pci(struct acpi_builder *bld, struct aml *a)
{
	const struct layout *l = bld->l;
	struct aml rt;

	size_t m = aml_device_begin(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_int(a, "_SEG", 0);
	aml_name_int(a, "_BBN", 0);
	aml_name_int(a, "_UID", 0);

	aml_init(&rt);
	aml_rt_word_space(&rt, AML_RT_SPACE_BUS, 0,
			  (uint16_t)((LAYOUT_ECAM_SIZE >> 20) - 1));
	aml_rt_io(&rt, PCI_CF8, PCI_CF8, 1, 8);
	aml_rt_word_space(&rt, AML_RT_SPACE_IO, LAYOUT_PCI_IO_BASE,
			  (uint16_t)(LAYOUT_PCI_IO_BASE + LAYOUT_PCI_IO_SIZE - 1));
	aml_rt_qword_memory(&rt, LAYOUT_PCI_MMIO32_BASE,
			    LAYOUT_PCI_MMIO32_BASE + LAYOUT_PCI_MMIO32_SIZE - 1,
			    false);
	if (l->mmio64_size)
		aml_rt_qword_memory(&rt, l->mmio64_base,
				    l->mmio64_base + l->mmio64_size - 1, false);
	name_crs(a, &rt);

	/* _PRT (ACPI 6.4 §6.2.13): every slot's INTA-D straight to IOAPIC
	 * GSIs (Source = 0), with the swizzle devices/pci/host.c drives.
	 * Bus 0 only: a pci-bridge has no ACPI device object, so the OS
	 * finds it natively and swizzles its children's pins through the
	 * bridge's slot onto these entries (PCI-to-PCI Bridge 1.2 §9.1),
	 * which is what devices/pci/bridge.c drives.  _CRS above already
	 * spans every bus number ECAM decodes. */
	aml_name_decl(a, "_PRT");
	size_t pk = aml_package_begin(a, PCI_SLOTS * 4);
	for (unsigned slot = 0; slot < PCI_SLOTS; slot++)
		for (unsigned pin = 0; pin < 4; pin++) {
			size_t e = aml_package_begin(a, 4);
			aml_int(a, (uint64_t)slot << 16 | 0xffff);
			aml_int(a, pin);
			aml_int(a, 0);
			aml_int(a, pci_host_intx_gsi(slot, pin + 1));
			aml_end(a, e);
		}
	aml_end(a, pk);

	/* _OSC (PCI Firmware 3.2 §4.5): with a pcie-root-port, grant the OS
	 * every control it asks for -- native PCIe hot-plug above all, or
	 * Linux's pciehp does not bind (acpi_pci_root clears
	 * native_pcie_hotplug without it).  Returning Arg3 unchanged is
	 * "no error bits, requested controls granted"; the OS only calls it
	 * with the PCI host bridge UUID.  Without a root port the DSDT is
	 * as before. */
	bool ports = false;
	for (unsigned i = 0; bld->cfg && i < bld->cfg->ndevices; i++)
		ports |= bld->cfg->devices[i].pcie_port;
	if (ports) {
		size_t om = aml_method_begin(a, "_OSC", 4, false);
		aml_return(a);
		aml_arg(a, 3);
		aml_end(a, om);
	}
	aml_end(a, m);

	/* Motherboard resources: Linux only uses an MCFG area that firmware
	 * also reserves (PCI Firmware Spec 3.2 §4.1.2 note). */
	m = aml_device_begin(a, "MRES");
	aml_name_eisaid(a, "_HID", "PNP0C02");
	aml_name_int(a, "_UID", 1);
	aml_init(&rt);
	aml_rt_memory32_fixed(&rt, (uint32_t)LAYOUT_ECAM_BASE,
			      (uint32_t)LAYOUT_ECAM_SIZE, false);
	name_crs(a, &rt);
	aml_end(a, m);
}

/* AML opcodes aml.h has no helper for (ACPI 6.4 §20.2.5.4). */
#define AML_AND_OP 0x7b     /* Operand Operand Target */
#define AML_NOTIFY_OP 0x86  /* NotifyObject NotifyValue */
/* Notify value for a control-method power button: "button pressed"
 * (ACPI 6.4 §4.8.3.1.1.2 / Table 5.166, 0x80 on PNP0C0C). */
#define ACPI_NOTIFY_BUTTON_PRESSED 0x80

/* microvm: hardware-reduced ACPI signals events through a Generic Event
 * Device (§5.6.9): its interrupt (GSI 9, level, active high, held while
 * the selector is non-zero) makes the OS run _EVT, which reads the event
 * selector in the PM block (read clears, devices/acpi/acpi_pm.c) and
 * notifies the power button device: QMP system_powerdown. */
static void dsdt_ged(struct acpi_builder *bld, struct aml *a)
{
	size_t m = aml_device_begin(a, "PWRB");
	aml_name_eisaid(a, "_HID", "PNP0C0C");
	aml_name_int(a, "_UID", 0);
	aml_end(a, m);

	m = aml_device_begin(a, "GED");
	aml_name_string(a, "_HID", "ACPI0013");
	aml_name_int(a, "_UID", 0);
	struct aml rt;
	aml_init(&rt);
	aml_rt_interrupt(&rt, LAYOUT_GSI_ACPI_SCI, true, false, false, false);
	name_crs(a, &rt);
	aml_opregion(a, "EREG", AML_REGION_SYSTEM_IO,
		     ACPI_PM_IO_BASE + ACPI_GED_SEL_OFF, 1);
	aml_field1(a, "EREG", "ESEL", 8);

	/* Method (_EVT, 1, Serialized) {
	 *     Local0 = ESEL
	 *     If (Local0 & ACPI_GED_EVT_PWR_DOWN) { Notify (PWRB, 0x80) } } */
	size_t mm = aml_method_begin(a, "_EVT", 1, true);
	aml_store(a);
	aml_name(a, "ESEL");
	aml_local(a, 0);
	size_t i = aml_if_begin(a);
	aml_byte(a, AML_AND_OP);
	aml_local(a, 0);
	aml_int(a, ACPI_GED_EVT_PWR_DOWN);
	aml_null_target(a);
	aml_byte(a, AML_NOTIFY_OP);
	aml_name(a, "\\_SB.PWRB");
	aml_int(a, ACPI_NOTIFY_BUTTON_PRESSED);
	aml_end(a, i);
	acpi_dsdt_cpus_ged(bld, a);
	acpi_dsdt_mem_ged(bld, a);
	aml_end(a, mm);
	aml_end(a, m);
}

uint64_t acpi_build_dsdt(struct acpi_builder *bld)
{
	struct aml a;
	aml_init(&a);

	size_t sb = aml_scope_begin(&a, "\\_SB");
	dsdt_isa(bld, &a);
	acpi_dsdt_cpus(bld, &a);
	dsdt_virtio_mmio(bld, &a);
	if (acpi_is_q35(bld))
		dsdt_pci(bld, &a);
	else
		dsdt_ged(bld, &a);
	if (bld->nnv)
		acpi_dsdt_nvdimm(bld, &a);
	acpi_dsdt_mem(bld, &a);
	aml_end(&a, sb);
	if (acpi_is_q35(bld))
		acpi_dsdt_cpus_gpe(bld, &a);
	acpi_dsdt_mem_gpe(bld, &a);

	/* \_S5 (ACPI 6.4 §7.4.2): SLP_TYPa, SLP_TYPb, reserved, reserved. */
	aml_name_decl(&a, "\\_S5");
	size_t pk = aml_package_begin(&a, 4);
	aml_int(&a, ACPI_SLP_TYP_S5);
	aml_int(&a, ACPI_SLP_TYP_S5);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_end(&a, pk);

	uint64_t gpa = 0;
	if (a.err || bld->err) {
		if (a.err)
			log_err(bld->log, "acpi: DSDT AML encoding failed");
		bld->err = true;
		aml_free(&a);
		return 0;
	}
	/* Revision 2: 64-bit AML integers (§5.2.11.1). */
	uint8_t *t = acpi_table_new(bld, "DSDT", sizeof(struct acpi_header) + a.len,
				    2, &gpa);
	if (t) {
		memcpy(t + sizeof(struct acpi_header), a.buf, a.len);
		acpi_table_done(bld, t);
	}
	aml_free(&a);
	return gpa;
}
