/* ACPI 6.4 table layouts, as packed C structs so that every field offset
 * comes from offsetof() on the spec's own structure (never a magic number).
 * The builders fill them; the unit tests decode our tables with them and the
 * static asserts below pin each size to the spec's table. */
#ifndef VMM_DEVICES_ACPI_SPEC_H
#define VMM_DEVICES_ACPI_SPEC_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_PACKED __attribute__((packed))

/* ACPI 6.4 §5.2.5.3: Root System Description Pointer (revision 2). */
struct acpi_rsdp {
	char signature[8];        /* "RSD PTR " */
	uint8_t checksum;         /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;         /* 2: ACPI 2.0+ with XSDT */
	uint32_t rsdt_address;
	uint32_t length;          /* 36 */
	uint64_t xsdt_address;
	uint8_t ext_checksum;     /* over all 36 bytes */
	uint8_t reserved[3];
} ACPI_PACKED;

/* ACPI 6.4 §5.2.6: System Description Table Header. */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} ACPI_PACKED;

/* ACPI 6.4 §5.2.3.2: Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id;         /* 0 system memory, 1 system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;      /* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
} ACPI_PACKED;

#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1

/* ACPI 6.4 §5.2.9: Fixed ACPI Description Table, revision 6. */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} ACPI_PACKED;

/* FADT Flags (ACPI 6.4 Table 5.10). */
#define ACPI_FADT_WBINVD (1u << 0)
#define ACPI_FADT_PROC_C1 (1u << 2)
#define ACPI_FADT_PWR_BUTTON (1u << 4)     /* 1: no fixed power button */
#define ACPI_FADT_SLP_BUTTON (1u << 5)     /* 1: no fixed sleep button */
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED (1u << 20)
/* IA-PC Boot Architecture Flags (ACPI 6.4 Table 5.11). */
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042 (1u << 1)
#define ACPI_IAPC_VGA_NOT_PRESENT (1u << 2)
#define ACPI_IAPC_MSI_NOT_SUPPORTED (1u << 3)

/* ACPI 6.4 §5.2.10: Firmware ACPI Control Structure (no checksum). */
struct acpi_facs {
	char signature[4];
	uint32_t length;          /* 64 */
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;          /* 2 */
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} ACPI_PACKED;

/* ACPI 6.4 §5.2.12: Multiple APIC Description Table. */
struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;           /* bit 0 PCAT_COMPAT: dual 8259 present */
} ACPI_PACKED;

struct acpi_madt_sub {
	uint8_t type;
	uint8_t length;
} ACPI_PACKED;

#define ACPI_MADT_LAPIC 0
#define ACPI_MADT_IOAPIC 1
#define ACPI_MADT_ISO 2
#define ACPI_MADT_LAPIC_NMI 4
#define ACPI_MADT_X2APIC 9

/* §5.2.12.2 Processor Local APIC Structure. */
struct acpi_madt_lapic {
	struct acpi_madt_sub s;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;           /* bit 0 enabled, bit 1 online capable */
} ACPI_PACKED;

/* §5.2.12.12 Processor Local x2APIC Structure. */
struct acpi_madt_x2apic {
	struct acpi_madt_sub s;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t processor_uid;
} ACPI_PACKED;

/* §5.2.12.3 I/O APIC Structure. */
struct acpi_madt_ioapic {
	struct acpi_madt_sub s;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} ACPI_PACKED;

/* §5.2.12.5 Interrupt Source Override Structure. */
struct acpi_madt_iso {
	struct acpi_madt_sub s;
	uint8_t bus;              /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;           /* MPS INTI flags, Table 5.26 */
} ACPI_PACKED;

/* MPS INTI flags (ACPI 6.4 Table 5.26). */
#define ACPI_INTI_POLARITY_HIGH 0x1
#define ACPI_INTI_POLARITY_LOW 0x3
#define ACPI_INTI_TRIGGER_EDGE (0x1 << 2)
#define ACPI_INTI_TRIGGER_LEVEL (0x3 << 2)

/* §5.2.12.7 Local APIC NMI Structure. */
struct acpi_madt_lapic_nmi {
	struct acpi_madt_sub s;
	uint8_t processor_uid;    /* 0xff: all processors */
	uint16_t flags;
	uint8_t lint;
} ACPI_PACKED;

/* PCI Firmware Specification 3.2 §4.1.2: MCFG. */
struct acpi_mcfg {
	struct acpi_header h;
	uint8_t reserved[8];
} ACPI_PACKED;

struct acpi_mcfg_alloc {
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus;
	uint32_t reserved;
} ACPI_PACKED;

/* ACPI 6.4 §5.2.25: NVDIMM Firmware Interface Table. */
struct acpi_nfit {
	struct acpi_header h;
	uint32_t reserved;
} ACPI_PACKED;

#define ACPI_NFIT_TYPE_SPA 0
#define ACPI_NFIT_TYPE_MEMDEV 1
#define ACPI_NFIT_TYPE_DCR 4
#define ACPI_NFIT_TYPE_FLUSH 6

/* §5.2.25.2 System Physical Address (SPA) Range Structure (the 56-byte
 * form that Linux and ACPICA accept; the 6.3 location cookie is optional). */
struct acpi_nfit_spa {
	uint16_t type;
	uint16_t length;
	uint16_t range_index;
	uint16_t flags;
	uint32_t reserved;
	uint32_t proximity_domain;
	uint8_t range_guid[16];
	uint64_t address;
	uint64_t size;
	uint64_t memory_mapping;  /* EFI memory attributes */
} ACPI_PACKED;

/* EFI 2.9 §7.2 memory attributes used in the SPA mapping attribute field. */
#define ACPI_EFI_MEMORY_WB 0x8ull
#define ACPI_EFI_MEMORY_NV 0x8000ull

/* §5.2.25.3 NVDIMM Region Mapping Structure (memory device to SPA map). */
struct acpi_nfit_memdev {
	uint16_t type;
	uint16_t length;
	uint32_t device_handle;
	uint16_t physical_id;
	uint16_t region_id;
	uint16_t range_index;
	uint16_t region_index;    /* control region structure index */
	uint64_t region_size;
	uint64_t region_offset;
	uint64_t address;         /* NVDIMM physical address region base */
	uint16_t interleave_index;
	uint16_t interleave_ways;
	uint16_t flags;           /* NVDIMM state flags */
	uint16_t reserved;
} ACPI_PACKED;

/* NVDIMM state flags (ACPI 6.4 Table 5.140); Linux marks the region
 * read-only when NOT_ARMED is set. */
#define ACPI_NFIT_MEM_SAVE_FAILED (1u << 0)
#define ACPI_NFIT_MEM_RESTORE_FAILED (1u << 1)
#define ACPI_NFIT_MEM_FLUSH_FAILED (1u << 2)
#define ACPI_NFIT_MEM_NOT_ARMED (1u << 3)
#define ACPI_NFIT_MEM_HEALTH_OBSERVED (1u << 4)
#define ACPI_NFIT_MEM_HEALTH_ENABLED (1u << 5)
#define ACPI_NFIT_MEM_MAP_FAILED (1u << 6)

/* §5.2.25.6 NVDIMM Control Region Structure. */
struct acpi_nfit_dcr {
	uint16_t type;
	uint16_t length;
	uint16_t region_index;
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t revision_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_device_id;
	uint16_t subsystem_revision_id;
	uint8_t valid_fields;
	uint8_t manufacturing_location;
	uint16_t manufacturing_date;
	uint8_t reserved0[2];
	uint32_t serial_number;
	uint16_t code;            /* region format interface code */
	uint16_t windows;         /* number of block control windows */
	uint64_t window_size;
	uint64_t command_offset;
	uint64_t command_size;
	uint64_t status_offset;
	uint64_t status_size;
	uint16_t flags;
	uint8_t reserved1[6];
} ACPI_PACKED;

/* §5.2.25.8 Flush Hint Address Structure with one hint. */
struct acpi_nfit_flush {
	uint16_t type;
	uint16_t length;
	uint32_t device_handle;
	uint16_t hint_count;
	uint8_t reserved[6];
	uint64_t hint_address[1];
} ACPI_PACKED;

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");
_Static_assert(sizeof(struct acpi_header) == 36, "header is 36 bytes");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT rev 6 is 276 bytes");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "sleep ctl");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS is 64 bytes");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT header");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "LAPIC entry");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "IOAPIC entry");
_Static_assert(sizeof(struct acpi_madt_x2apic) == 16, "x2APIC entry");
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "ISO entry");
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "LAPIC NMI entry");
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG header");
_Static_assert(sizeof(struct acpi_mcfg_alloc) == 16, "MCFG allocation");
_Static_assert(sizeof(struct acpi_nfit) == 40, "NFIT header");
_Static_assert(sizeof(struct acpi_nfit_spa) == 56, "NFIT SPA");
_Static_assert(sizeof(struct acpi_nfit_memdev) == 48, "NFIT memdev");
_Static_assert(offsetof(struct acpi_nfit_memdev, flags) == 44, "NFIT state flags");
_Static_assert(sizeof(struct acpi_nfit_dcr) == 80, "NFIT DCR");
_Static_assert(sizeof(struct acpi_nfit_flush) == 24, "NFIT flush hint");

#endif
