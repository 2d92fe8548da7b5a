/* A PCI-to-PCI bridge (QEMU's "pci-bridge": Red Hat 1b36:0001, class
 * 06.04) on bus 0 of the host, with one secondary bus of 32 slots x 8
 * functions behind it (PCI-to-PCI Bridge Architecture 1.2).
 *
 * The type 1 header (§3.2) is emulated through the same writable masks as
 * every function: primary/secondary/subordinate bus numbers, a 16-bit I/O
 * window (4 KiB granular), a 32-bit memory window and a 64-bit
 * prefetchable window (1 MiB granular), bridge control (parity, SERR,
 * ISA enable, master-abort mode, secondary bus reset; VGA forwarding is
 * hard-wired off), and a capability list holding the Slot Identification
 * capability (§13.4) with the chassis number.
 *
 * What the host asks of a bridge (devices/pci/host.c):
 *   - config: a type 1 request for a bus in secondary..subordinate is
 *     converted to type 0 when it is the secondary bus and delivered to the
 *     function there (§3.1.2.1); configuration forwarding does not depend on
 *     the command register.  Bridges behind bridges are not modelled, so
 *     a bus past the secondary one master-aborts (all-ones).
 *   - memory/I/O downstream: a child's BAR is decoded only while it lies in
 *     one of the bridge's windows and the bridge's Memory / I/O Space
 *     Enable is set (§3.2.5.1, §4.1); with ISA Enable, I/O in the top 768
 *     bytes of each 1 KiB block is not forwarded (§3.2.5.18).
 *   - upstream: MSI-X writes and DMA of children go straight to the
 *     machine, not gated by the bridge's Bus Master Enable (a guest that
 *     clears it while children do DMA is not modelled).
 *   - INTx: a child's pin P at slot S appears on the bridge's primary side
 *     as pin (P + S) % 4 (§9.1), then goes through the bus 0 swizzle of the
 *     bridge's own slot, as Linux's pci_swizzle_interrupt_pin walks it.
 *
 * Bus numbers: the board programs primary 0 and secondary = subordinate =
 * the layout's bus number, as SeaBIOS does for QEMU; Linux's
 * pci_scan_bridge_extend keeps numbers firmware left when they are sane
 * (and renumbers with pci=assign-busses), so what the layout, the
 * self-test and the guest see agree.  A guest may renumber at will.
 *
 * shpc=on: the bridge is built by devices/pci/shpc.h, which adds the
 * Standard Hot-Plug Controller (its capability and BAR 0) on top of this
 * one; slot 0 of the secondary bus stays reserved (core/config_check.c). */
#ifndef VMM_DEVICES_PCI_BRIDGE_H
#define VMM_DEVICES_PCI_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>
#include "pci.h"

#define PCI_BRIDGE_VENDOR_ID 0x1b36u   /* Red Hat, as QEMU's pci-bridge */
#define PCI_BRIDGE_DEVICE_ID 0x0001u
#define PCI_BRIDGE_IO_ALIGN 0x1000u    /* I/O window granularity (§3.2.5.6) */
#define PCI_BRIDGE_MEM_ALIGN 0x100000u /* memory windows (§3.2.5.8) */

struct pci_bridge;

/* A bridge with its Slot ID capability carrying chassis_nr (1..255).
 * Attach pci_bridge_dev() to the host with pci_host_attach() before
 * attaching anything behind it.  NULL when out of memory. */
struct pci_bridge *pci_bridge_new(uint8_t chassis_nr, bool shpc,
				  const char *name, struct log *log);
/* Detaches every child, then the bridge from its host, then frees. */
void pci_bridge_free(struct pci_bridge *br);
struct pci_dev *pci_bridge_dev(struct pci_bridge *br);

/* A PCI Express port built on the bridge (devices/pci/pcie_port.h) is
 * told of every guest config write after the bridge acted on it. */
void pci_bridge_set_ext(struct pci_bridge *br,
			void (*written)(void *ext, uint32_t off, unsigned len),
			void *ext);

/* Hot-plug reservations: firmware-style assignment
 * (pci_host_assign_resources) opens each window at least this big even
 * with nothing behind it, as SeaBIOS does for QEMU's hot-plug capable
 * ports, so a device plugged later fits without renumbering. */
void pci_bridge_set_reserve(struct pci_bridge *br, uint64_t io, uint64_t mem,
			    uint64_t pref);
void pci_bridge_get_reserve(const struct pci_bridge *br, uint64_t *io,
			    uint64_t *mem, uint64_t *pref);

/* Host-side (firmware) programming of the bus number registers. */
void pci_bridge_set_buses(struct pci_bridge *br, uint8_t primary,
			  uint8_t secondary, uint8_t subordinate);
unsigned pci_bridge_secondary(const struct pci_bridge *br);
unsigned pci_bridge_subordinate(const struct pci_bridge *br);

/* Place d at slot.func of the secondary bus.  The bridge must be attached
 * to a host (d's BARs go on that host's buses).  INTx is routed through
 * the double swizzle.  0, -EINVAL (not attached, out of range, d already
 * placed), -EEXIST. */
int pci_bridge_attach(struct pci_bridge *br, struct pci_dev *d, unsigned slot,
		      unsigned func);
void pci_bridge_detach(struct pci_bridge *br, struct pci_dev *d);
/* For pci_host_detach: forget d once the host undid its side. */
void pci_bridge_unlink(struct pci_bridge *br, struct pci_dev *d);
/* The function at devfn of the secondary bus, or NULL. */
struct pci_dev *pci_bridge_child(const struct pci_bridge *br, unsigned devfn);

/* Config routing (host.c): does a type 1 request for bus belong to this
 * bridge (secondary <= bus <= subordinate, bus not 0), and which function
 * answers it (NULL: master abort). */
bool pci_bridge_claims_bus(const struct pci_bridge *br, unsigned bus);
struct pci_dev *pci_bridge_route(const struct pci_bridge *br, unsigned bus,
				 unsigned devfn);

/* Does the bridge forward [addr, addr+size) downstream now?  io: I/O
 * space, else memory (either window). */
bool pci_bridge_forwards(const struct pci_bridge *br, bool io, uint64_t addr,
			 uint64_t size);

/* The windows as programmed: base > limit means closed. */
struct pci_bridge_windows {
	uint64_t io_base, io_limit;
	uint64_t mem_base, mem_limit;
	uint64_t pref_base, pref_limit;
};
void pci_bridge_get_windows(const struct pci_bridge *br,
			    struct pci_bridge_windows *w);
/* Program the windows (host-side firmware, or tests): each range is
 * [base, limit]; base > limit closes it.  Bases and limits must be on the
 * window granularity; other bits are dropped as the registers drop them. */
void pci_bridge_set_windows(struct pci_bridge *br,
			    const struct pci_bridge_windows *w);

#endif
