/* Fixed ACPI Description Table (ACPI 6.4 §5.2.9, revision 6.4) and, for
 * the full-hardware q35 machine, the FACS it points at (§5.2.10).
 *
 * microvm is hardware-reduced (§4.1): no PM1 blocks, no SCI, no FACS;
 * soft-off goes through the sleep control register (§4.8.3.7).  q35 gets
 * PM1a event/control blocks and the PM timer, SCI on GSI 9, and no SMI
 * command port, which tells the OS the machine is always in ACPI mode
 * (§5.2.9: SMI_CMD zero).  Both reset through the PM block's reset
 * register.  All registers live in the ACPI_PM_IO_BASE block (acpi_pm.c). */
#include "acpi_int.h"

#include <string.h>

static struct acpi_gas io_gas(uint16_t port, uint8_t bytes)
{
	/* Access size encodes 1 byte .. 8 bytes as 1..4 (§5.2.3.2). */
	uint8_t access = bytes == 1 ? 1 : bytes == 2 ? 2 : bytes == 4 ? 3 : 4;
	struct acpi_gas g = {
		.space_id = ACPI_GAS_IO,
		.bit_width = (uint8_t)(8 * bytes),
		.bit_offset = 0,
		.access_size = access,
		.address = port,
	};
	return g;
}

uint64_t acpi_build_facs(struct acpi_builder *bld)
{
	uint64_t gpa = 0;
	/* §5.2.10: the FACS must be 64-byte aligned. */
	struct acpi_facs *f = acpi_alloc(bld, sizeof(*f), 64, &gpa);
	if (!f)
		return 0;
	memcpy(f->signature, "FACS", 4);
	f->length = sizeof(*f);
	f->version = 2;
	acpi_record(bld, "FACS", f, sizeof(*f));
	return gpa;
}

uint64_t acpi_build_fadt(struct acpi_builder *bld, uint64_t dsdt,
			 uint64_t facs)
{
	uint64_t gpa = 0;
	struct acpi_fadt *f = acpi_table_new(bld, "FACP", sizeof(*f), 6, &gpa);
	if (!f)
		return 0;
	const uint16_t pm = ACPI_PM_IO_BASE;

	f->minor_version = 4;
	/* The 64-bit fields take precedence; the 32-bit copies stay zero
	 * so the two never disagree (ACPICA warns when they differ). */
	f->x_dsdt = dsdt;
	f->x_firmware_ctrl = facs;
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_PWR_BUTTON |
		   ACPI_FADT_SLP_BUTTON | ACPI_FADT_RESET_REG_SUP;
	f->reset_reg = io_gas(pm + ACPI_RESET_OFF, 1);
	f->reset_value = ACPI_RESET_VALUE;

	if (acpi_is_q35(bld)) {
		/* The fixed-feature power button (PWR_BUTTON clear, Table
		 * 5.10): PWRBTN_STS/EN in PM1 and the SCI, which QMP
		 * system_powerdown presses (devices/acpi/acpi_pm.c). */
		f->flags &= ~(uint32_t)ACPI_FADT_PWR_BUTTON;
		f->sci_int = LAYOUT_GSI_ACPI_SCI;
		f->pm1a_evt_blk = pm + ACPI_PM1_EVT_OFF;
		f->pm1a_cnt_blk = pm + ACPI_PM1_CNT_OFF;
		f->pm_tmr_blk = pm + ACPI_PM_TMR_OFF;
		f->pm1_evt_len = 4;
		f->pm1_cnt_len = 2;
		f->pm_tmr_len = 4;
		f->x_pm1a_evt_blk = io_gas(pm + ACPI_PM1_EVT_OFF, 4);
		f->x_pm1a_cnt_blk = io_gas(pm + ACPI_PM1_CNT_OFF, 2);
		f->x_pm_tmr_blk = io_gas(pm + ACPI_PM_TMR_OFF, 4);
		/* GPE0 (§4.8.4.1): hot-plug events (devices/acpi/acpi_gpe.c). */
		f->gpe0_blk = ACPI_GPE0_IO_BASE;
		f->gpe0_blk_len = ACPI_GPE0_IO_SIZE;
		f->x_gpe0_blk = io_gas(ACPI_GPE0_IO_BASE, 1);
		f->x_gpe0_blk.bit_width = 8 * ACPI_GPE0_IO_SIZE;
		/* No C2/C3: latencies above 100/1000 us say "unsupported". */
		f->p_lvl2_lat = 101;
		f->p_lvl3_lat = 1001;
		f->century = 0x32; /* CMOS century byte, as on a PC */
		f->iapc_boot_arch = ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042 |
				    ACPI_IAPC_VGA_NOT_PRESENT;
	} else {
		f->flags |= ACPI_FADT_HW_REDUCED;
		f->sleep_control_reg = io_gas(pm + ACPI_SLEEP_CTL_OFF, 1);
		f->sleep_status_reg = io_gas(pm + ACPI_SLEEP_STS_OFF, 1);
		/* virtio-mmio only: no MSI-capable bus, no VGA; the board's
		 * i8042 is there on microvm too. */
		f->iapc_boot_arch = ACPI_IAPC_8042 | ACPI_IAPC_VGA_NOT_PRESENT |
				    ACPI_IAPC_MSI_NOT_SUPPORTED;
	}
	acpi_table_done(bld, f);
	return gpa;
}
