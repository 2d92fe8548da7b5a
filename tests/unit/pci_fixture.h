/* Shared by the PCI unit tests that drive config space the way a guest
 * does (test_pci_host.c, test_pci_bridge*.c): the ECAM address of a
 * function's register (PCIe 5.0 §7.2.2) and configuration mechanism #1
 * through ports 0xCF8/0xCFC (PCI 3.0 §3.2.2.3.2) on the simulator's
 * buses.  static inline helpers only. */
#ifndef VMM_TESTS_PCI_FIXTURE_H
#define VMM_TESTS_PCI_FIXTURE_H

#include "core/layout.h"
#include "sim/sim.h"

static inline uint64_t pcifx_ecam(unsigned bus, unsigned devfn, uint32_t off)
{
	return LAYOUT_ECAM_BASE + ((uint64_t)bus << 20) + ((uint64_t)devfn << 12) + off;
}

static inline uint32_t pcifx_cf8_read(struct sim *s, unsigned bus,
				      unsigned devfn, uint32_t off, unsigned len)
{
	sim_pio_write(s, 0xcf8, 4, 0x80000000u | bus << 16 | devfn << 8 | (off & 0xfc));
	return (uint32_t)sim_pio_read(s, (uint16_t)(0xcfc + (off & 3)), len);
}

static inline void pcifx_cf8_write(struct sim *s, unsigned bus, unsigned devfn,
				   uint32_t off, unsigned len, uint32_t v)
{
	sim_pio_write(s, 0xcf8, 4, 0x80000000u | bus << 16 | devfn << 8 | (off & 0xfc));
	sim_pio_write(s, (uint16_t)(0xcfc + (off & 3)), len, v);
}

#endif
