/* PCI configuration space access for the test guest's checks. */
#include "guest.h"

/* ---- PCI configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2) ---- */
static void pci_addr(unsigned dev, unsigned fn, unsigned off)
{
	outl(0xcf8, 0x80000000u | (dev << 11) | (fn << 8) | (off & 0xfc));
}
uint32_t pci_read32(unsigned dev, unsigned fn, unsigned off)
{
	pci_addr(dev, fn, off);
	return inl(0xcfc);
}
uint16_t pci_read16(unsigned dev, unsigned fn, unsigned off)
{
	pci_addr(dev, fn, off);
	return inw((uint16_t)(0xcfc + (off & 2)));
}
uint8_t pci_read8(unsigned dev, unsigned fn, unsigned off)
{
	pci_addr(dev, fn, off);
	return inb((uint16_t)(0xcfc + (off & 3)));
}
/* A memory BAR's address (PCI 3.0 §6.2.5.1), 64-bit ones whole; 0 for
 * an I/O BAR (the modern virtio drivers want memory). */
uint64_t pci_bar(unsigned dev, unsigned fn, unsigned bar)
{
	uint32_t lo = pci_read32(dev, fn, 0x10 + 4 * bar);
	if (lo & 1)
		return 0;                           /* I/O BAR: not ours */
	uint64_t a = lo & ~0xfull;
	if (((lo >> 1) & 3) == 2)                   /* 64-bit */
		a |= (uint64_t)pci_read32(dev, fn, 0x14 + 4 * bar) << 32;
	return a;
}
void pci_write16(unsigned dev, unsigned fn, unsigned off, uint16_t v)
{
	pci_addr(dev, fn, off);
	outw((uint16_t)(0xcfc + (off & 2)), v);
}
void pci_write32(unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
	pci_addr(dev, fn, off);
	outl(0xcfc, v);
}
