/* The x86 machine's address map and resource assignment, computed once
 * from the configuration by a pure function so that the boot code (e820,
 * boot_params), the ACPI builder, the device tree dump, the board builder
 * and the simulator all agree on where everything is.
 *
 *   0x0000_0000  RAM (low)                      up to LAYOUT_LOW_RAM_END
 *     0x0009_fc00 - 0x000f_ffff  reserved: EBDA, ACPI tables (RSDP at
 *                                LAYOUT_ACPI_BASE, findable by the BIOS
 *                                area scan), boot structures below 0x9fc00
 *   0xc000_0000  32-bit PCI/MMIO hole (1 GiB):
 *     0xc000_0000  PCI MMIO32 window (BARs)      256 MiB
 *     0xd000_0000  virtio-mmio devices, 4 KiB each (512 slots)
 *     0xe000_0000  PCIe ECAM (q35)               256 MiB (buses 0-255)
 *     0xfec0_0000  IOAPIC, 0xfee0_0000 LAPIC
 *   0x1_0000_0000 RAM (high), the rest of -m
 *   then, 1 GiB aligned: device memory window (nvdimms), maxmem - m
 *                 (or, without maxmem, just big enough for the nvdimms)
 *   then, 1 GiB aligned: PCI MMIO64 window (q35)
 *
 * ram[0] covers [0, min(m, 3 GiB)) whole, legacy area included: the ACPI
 * tables and boot structures live in it, so it must be guest memory; the
 * e820 builder marks [LAYOUT_EBDA_START, LAYOUT_BIOS_END) reserved.
 *
 * Interrupts: virtio-mmio devices take GSIs 5,6,7,10,11,12,13,14,15 and
 * then 20..23 in command-line order (the pins no legacy device here
 * uses); PCI INTx goes through the usual swizzle (PCI-to-PCI Bridge
 * Architecture 1.2 §9.1): pin on the parent = (pin + slot) % 4, and on
 * bus 0 pin P of slot S is GSI 16 + (S + P) % 4 (layout_intx_gsi), which
 * the ACPI _PRT must repeat.
 */
#ifndef VMM_CORE_LAYOUT_H
#define VMM_CORE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"

#define LAYOUT_LOW_RAM_END 0xc0000000ull
#define LAYOUT_HOLE_END 0x100000000ull
#define LAYOUT_EBDA_START 0x9fc00ull
#define LAYOUT_BIOS_END 0x100000ull
#define LAYOUT_ACPI_BASE 0xe0000ull        /* RSDP here, tables follow */
#define LAYOUT_ACPI_SIZE 0x20000ull
#define LAYOUT_PCI_MMIO32_BASE 0xc0000000ull
#define LAYOUT_PCI_MMIO32_SIZE 0x10000000ull
#define LAYOUT_VIRTIO_MMIO_BASE 0xd0000000ull
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ull
#define LAYOUT_ECAM_BASE 0xe0000000ull
#define LAYOUT_ECAM_SIZE 0x10000000ull
#define LAYOUT_IOAPIC_BASE 0xfec00000ull
#define LAYOUT_LAPIC_BASE 0xfee00000ull
#define LAYOUT_PCI_IO_BASE 0x6000u          /* PCI I/O BARs */
#define LAYOUT_PCI_IO_SIZE 0xa000u
#define LAYOUT_VIRTIO_MMIO_SLOTS 512u
#define LAYOUT_MMIO64_SIZE (32ull << 30)   /* q35 only */
#define LAYOUT_PMEM_ALIGN (1ull << 30)      /* device memory window */
#define LAYOUT_NVDIMM_ALIGN (2ull << 20)    /* each nvdimm: 2 MiB for DAX */

/* Legacy ISA interrupts (8259/IOAPIC pins as on a PC). */
#define LAYOUT_GSI_PIT 0
#define LAYOUT_GSI_KBD 1
#define LAYOUT_GSI_COM2 3
#define LAYOUT_GSI_COM1 4
#define LAYOUT_GSI_RTC 8
#define LAYOUT_GSI_ACPI_SCI 9
#define LAYOUT_GSI_PCI_INTX 16  /* INTA..INTD -> 16..19 after swizzle */
#define LAYOUT_IOAPIC_PINS 24

/* Legacy port I/O (PC/AT): COM1-COM4 use ports 0x3f8, 0x2f8, 0x3e8,
 * 0x2e8 and GSIs 4, 3, 4, 3. */
#define LAYOUT_PORT_PIT 0x40u
#define LAYOUT_PORT_I8042 0x60u
#define LAYOUT_PORT_RTC 0x70u
#define LAYOUT_PCI_CONFIG_PORT 0xcf8u
static inline uint16_t layout_com_port(unsigned i)
{
	static const uint16_t ports[4] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
	return ports[i & 3];
}
static inline unsigned layout_com_gsi(unsigned i)
{
	return (i & 1) ? LAYOUT_GSI_COM2 : LAYOUT_GSI_COM1;
}
/* Bus-0 INTx routing: slot S, pin P (0 = INTA) -> GSI. */
static inline unsigned layout_intx_gsi(unsigned slot, unsigned pin)
{
	return LAYOUT_GSI_PCI_INTX + (slot + pin) % 4;
}

#define LAYOUT_MAX_RAM 4
#define LAYOUT_MAX_NVDIMM 8

struct layout_ram {
	uint64_t gpa, size;
};

/* One placed device (index matches cfg->devices[]). */
struct layout_dev {
	int cfg_index;
	uint64_t mmio_base, mmio_size; /* virtio-mmio: its window */
	unsigned gsi;                  /* virtio-mmio / INTx line */
	bool has_gsi;                  /* false: nvdimm, virtconsole, ... */
	int pci_bus, pci_slot, pci_func;  /* -1 when not PCI */
	unsigned pci_pin;              /* INTx pin (0 = INTA) of the function */
	int bridge_bus;                /* pci-bridge: its secondary bus, or -1 */
	uint64_t pmem_base, pmem_size; /* nvdimm: guest-visible SPA range;
					* pc-dimm, virtio-mem: its range in
					* the device memory window */
	int mem_slot;                  /* pc-dimm: its ACPI slot, else -1 */
};

struct layout {
	struct layout_ram ram[LAYOUT_MAX_RAM];
	unsigned nram;
	uint64_t ram_top;               /* highest RAM byte + 1 */
	uint64_t devmem_base, devmem_size; /* nvdimm window (maxmem - m) */
	uint64_t mmio64_base, mmio64_size;
	struct layout_dev devs[CFG_MAX_ITEMS];
	unsigned ndevs;
	unsigned ncpus;
	bool pci;                       /* q35: host bridge + ECAM present */
	unsigned npci_buses;            /* 1 + number of pci-bridges */
	unsigned nvirtio_mmio;          /* slots used from LAYOUT_VIRTIO_MMIO_BASE */
};

/* Place everything.  Returns 0 or -1 with a one-line message in err
 * (too many devices for the interrupt pins, nvdimms beyond maxmem, ...). */
int layout_build(struct layout *l, const struct machine_config *cfg,
		 char *err, size_t errlen);
const struct layout_dev *layout_dev_for(const struct layout *l, int cfg_index);
/* pc-dimms and virtio-mem devices in the device memory window after the
 * nvdimms (layout_mem.c): an addr=/slot= given is checked, the others
 * get the lowest free slot and the lowest free aligned range (QEMU's
 * first fit), so a device keeps its place while others come and go.
 * Errors in QEMU's words.  Called by layout_build. */
int layout_place_memdevs(struct layout *l, const struct machine_config *cfg,
			 uint64_t nv_end, char *err, size_t errlen);
/* The memory hot-plug window exists (-m ...,slots=N,maxmem=M > size). */
static inline bool layout_memhp(const struct machine_config *cfg)
{
	return cfg->mem.slots && cfg->mem.maxmem > cfg->mem.size;
}

#endif
