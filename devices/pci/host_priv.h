/* Private to devices/pci/host*.c: the host bridge's state, shared by the
 * bridge itself (host.c: config access, attach, INTx, BAR mapping), BIOS-
 * style resource assignment (host_assign.c) and its snapshot
 * (host_snap.c).  Users include pci.h only. */
#ifndef VMM_DEVICES_PCI_HOST_PRIV_H
#define VMM_DEVICES_PCI_HOST_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "core/log.h"
#include "pci.h"

#define CF8_PORT 0xcf8
#define CFC_PORT 0xcfc
#define CF8_ENABLE 0x80000000u
/* Bits a guest can latch in CONFIG_ADDRESS: enable, bus, device, function,
 * dword register number; 30:24 and 1:0 are reserved and read 0. */
#define CF8_MASK (CF8_ENABLE | 0x00fffffcu)
#define NUM_INTX 4

struct pci_host {
	struct bus *pio, *mmio;
	uint64_t ecam_base;
	struct pci_host_windows win;
	struct irq_chip *chip;
	struct log *log;
	struct log_rl rl;
	uint32_t cf8;
	struct pci_dev *devs[PCI_SLOTS * PCI_FUNCS];
	int line_level[NUM_INTX];      /* what we last drove on 16..19 */
	struct pci_dev bridge;
};

#endif
