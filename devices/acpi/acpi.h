/* ACPI table builder: RSDP, XSDT, FADT (+FACS on q35), MADT, DSDT, MCFG
 * (q35) and NFIT (nvdimms), from the machine configuration and the address
 * map in core/layout.h.
 *
 * The tables are built into one host image laid out for guest address
 * LAYOUT_ACPI_BASE (RSDP first, so the BIOS-area scan of 0xE0000-0xFFFFF
 * finds it; PVH boot passes ACPI_RSDP_ADDR in hvm_start_info.rsdp_paddr),
 * each table 16-byte aligned with its checksum set.  acpi_build() copies
 * the image into guest memory; acpi_blob_build() leaves it in a host
 * buffer for tests and for dumping.
 *
 * The registers the tables point at (the ACPI PM block: PM1 event/control,
 * PM timer, hardware-reduced sleep control/status, reset register) are
 * emulated by acpi_pm_* below; machine/board.c registers it on the I/O bus
 * at ACPI_PM_IO_BASE. */
#ifndef VMM_DEVICES_ACPI_ACPI_H
#define VMM_DEVICES_ACPI_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/clk.h"
#include "core/irq.h"
#include "core/layout.h"
#include "core/machine.h"

struct gm;
struct log;
struct machine_config;

#define ACPI_RSDP_ADDR LAYOUT_ACPI_BASE
#define ACPI_OEM_ID "VMMVMM"
#define ACPI_OEM_TABLE_ID "VMM     "
#define ACPI_MAX_TABLES 12

/* The ACPI PM register block on the I/O bus (one 16-byte range).  q35 uses
 * the PM1a event/control blocks and the PM timer (ACPI 6.4 §4.8.3); the
 * hardware-reduced microvm uses the sleep control/status registers
 * (§4.8.3.7); both use the reset register (§4.8.3.6). */
#define ACPI_PM_IO_BASE 0x600u
#define ACPI_PM_IO_SIZE 0x10u
#define ACPI_PM1_EVT_OFF 0x0   /* PM1_STS (2) + PM1_EN (2) */
#define ACPI_PM1_CNT_OFF 0x4   /* 2 bytes */
#define ACPI_PM_TMR_OFF 0x8    /* 4 bytes, 24-bit 3.579545 MHz counter */
#define ACPI_SLEEP_CTL_OFF 0xc /* 1 byte */
#define ACPI_SLEEP_STS_OFF 0xd /* 1 byte */
#define ACPI_RESET_OFF 0xe     /* 1 byte */
#define ACPI_RESET_VALUE 0x01
/* microvm's Generic Event Device event selector (1 byte, read clears):
 * the DSDT's GED _EVT method reads it to learn which event fired (QEMU's
 * microvm GED design, on a port of the PM block instead of MMIO). */
#define ACPI_GED_SEL_OFF 0xf
#define ACPI_GED_EVT_PWR_DOWN 0x02  /* the power button was pressed */
#define ACPI_GED_EVT_CPU_HOTPLUG 0x08 /* CPU hot-plug (QEMU's GED bit 3) */
/* q35's GPE0 block (ACPI 6.4 §4.8.4.1): GPE0_STS (2 bytes, write 1 to
 * clear) then GPE0_EN (2 bytes), its own I/O range (acpi_gpe.c).  GPE
 * bit 2 is CPU hot-plug, as in QEMU (its \_GPE._E02). */
#define ACPI_GPE0_IO_BASE 0x620u
#define ACPI_GPE0_IO_SIZE 4u
#define ACPI_GPE_CPU_HOTPLUG 2u
/* PM1 status/enable bits (ACPI 6.4 §4.8.3.1.1, Tables 4.11/4.12). */
#define ACPI_PM1_TMR (1u << 0)
#define ACPI_PM1_GBL (1u << 5)
#define ACPI_PM1_PWRBTN (1u << 8)
#define ACPI_PM1_SLPBTN (1u << 9)
#define ACPI_PM1_RTC (1u << 10)
#define ACPI_PM1_WAK_STS (1u << 15)
/* The \_S5 sleep type both register sets are given for soft-off. */
#define ACPI_SLP_TYP_S5 5u

/* Where each table landed in the image. */
struct acpi_table_ref {
	char sig[5];
	size_t off, len;
	uint64_t gpa;
};

struct acpi_blob {
	uint8_t *data;          /* image of [gpa, gpa + len) */
	size_t len;
	uint64_t gpa;
	struct acpi_table_ref tables[ACPI_MAX_TABLES]; /* RSDP first */
	unsigned ntables;
};

/* Build the tables for a machine into a host buffer laid out for `gpa`,
 * at most `max` bytes.  Returns 0, or -1 with a line in the log (too many
 * tables for the space, AML encoding error, no memory). */
int acpi_blob_build(struct acpi_blob *b, const struct machine_config *cfg,
		    const struct layout *l, uint64_t gpa, size_t max,
		    struct log *log);
void acpi_blob_free(struct acpi_blob *b);
const struct acpi_table_ref *acpi_blob_find(const struct acpi_blob *b,
					    const char *sig);

/* Build and write every table into guest memory at LAYOUT_ACPI_BASE
 * (within LAYOUT_ACPI_SIZE).  0 or -1 (logged). */
int acpi_build(const struct gm *gm, const struct machine_config *cfg,
	       const struct layout *l, struct log *log);

/* ACPI 6.4 §5.2.6: the byte that makes a table sum to zero. */
uint8_t acpi_checksum(const void *p, size_t n);

/* The APIC ID of vCPU `index` for the -smp shape: thread, core and
 * package fields of ceil(log2(threads)), ceil(log2(cores)) bits (Intel SDM
 * Vol. 3A §9.9.1).  The one source of APIC ids: the MADT lists them, the
 * KVM backend creates its vCPUs with them and its CPUID topology leaves
 * (kvm/kvm_cpuid.c) report them and the field widths below, so all three
 * agree for any shape (-smp 6,sockets=2,cores=3 gives 0,1,2,4,5,6).
 * IDs above 254 are listed as Local x2APIC structures (ACPI 6.4 §5.2.12.12). */
struct cfg_smp;
uint32_t acpi_apic_id_smp(const struct cfg_smp *smp, unsigned index);
/* Width in bits of the thread and core fields of those ids (CPUID leaf
 * 0xB/0x1F shift counts). */
unsigned acpi_apic_id_thread_bits(const struct cfg_smp *smp);
unsigned acpi_apic_id_core_bits(const struct cfg_smp *smp);
/* Dense IDs (== index): equal to acpi_apic_id_smp() only when threads and
 * cores are powers of two.  Nothing that builds a machine may use it (a
 * dense id disagrees with the MADT and CPUID for -smp 6,sockets=2,cores=3). */
uint32_t acpi_apic_id(const struct layout *l, unsigned index);

/* ACPI PM register block device. */
struct acpi_pm {
	const struct clk *clk;
	const struct machine_ctl *ctl;
	struct log *log;
	bool hw_reduced;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint8_t sleep_sts;
	uint8_t ged_sel;        /* GED events not yet read by _EVT */
	struct irq sci;         /* SCI / GED interrupt; no chip: none */
	bool sci_level;         /* what the line was last driven to */
	uint16_t gpe0_sts, gpe0_en; /* q35 GPE0 block (acpi_gpe.c) */
	uint64_t rejected;      /* guest writes we dropped */
};

void acpi_pm_init(struct acpi_pm *pm, const struct clk *clk,
		  const struct machine_ctl *ctl, bool hw_reduced,
		  struct log *log);
/* The interrupt the block raises: the FADT's SCI_INT on q35, the GED's
 * _CRS interrupt on microvm (both LAYOUT_GSI_ACPI_SCI, level, active
 * high).  Until set, events latch in the registers without an interrupt. */
void acpi_pm_set_sci(struct acpi_pm *pm, struct irq sci);
/* The power button was pressed (QMP system_powerdown): q35 latches
 * PWRBTN_STS (§4.8.3.1.1) and raises the SCI while PWRBTN_EN is set;
 * microvm latches ACPI_GED_EVT_PWR_DOWN in the GED selector and raises
 * the GED interrupt until _EVT reads the selector. */
void acpi_pm_power_button(struct acpi_pm *pm);
/* A hot-plug event (acpi_gpe.c): q35 latches GPE0_STS bit `gpe`, which
 * raises the SCI while its enable bit is set (§5.6.4); microvm latches
 * `ged_evt` in the GED selector and raises the GED interrupt. */
void acpi_pm_hotplug_event(struct acpi_pm *pm, unsigned gpe, uint8_t ged_evt);
/* bus_access_fn for [ACPI_GPE0_IO_BASE, +ACPI_GPE0_IO_SIZE). */
int acpi_gpe_access(void *dev, uint64_t offset, void *data, unsigned len,
		    bool is_write);
/* Drive the SCI from the PM1, GPE0 and GED state (acpi_pm.c). */
void acpi_pm_update_sci(struct acpi_pm *pm);
/* bus_access_fn for [ACPI_PM_IO_BASE, +ACPI_PM_IO_SIZE). */
int acpi_pm_access(void *dev, uint64_t offset, void *data, unsigned len,
		   bool is_write);

#endif
