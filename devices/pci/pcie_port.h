/* A PCI Express Root Port with native hot-plug (QEMU's "pcie-root-port",
 * Red Hat 1b36:000c): a PCI-to-PCI bridge function (bridge.h) with a PCI
 * Express capability of type Root Port (PCIe Base 4.0 §7.5.3) whose slot
 * implements the Standard Hot-Plug Controller model of §6.7 as Linux's
 * pciehp drives it, and an MSI capability for the hot-plug interrupt
 * (INTx A when MSI is off).
 *
 * The slot (secondary bus device 0; a root port has one link):
 *   - Slot Capabilities: Attention Button, Power Controller, Attention
 *     and Power Indicators, Hot-Plug Capable, the Physical Slot Number
 *     (slot=); command completion is supported (NCCS clear), so every
 *     Slot Control write sets Command Completed at once (§7.5.3.11).
 *   - Presence Detect State and Data Link Layer Link Active follow the
 *     device (the link is up while the slot has a device and power).
 *   - Hot-plug interrupt (§6.7.3.4): with Hot-Plug Interrupt Enable, any
 *     of Attention Button Pressed, Presence Detect Changed, Command
 *     Completed, DLL State Changed that is set and enabled.  MSI sends a
 *     message on each 0->1 edge of that condition; INTx is level.
 *
 * Hot-add: pcie_port_plug() attaches the device and reports presence and
 * link up.  Hot-remove is a request (pcie_port_request_unplug: the
 * Attention Button is pressed); the guest completes it by turning the
 * slot's power off with its Power Indicator off (§6.7.1.8).  Then, and
 * only then, the port detaches the device and calls the owner's
 * `removed` hook, which frees it (and emits DEVICE_DELETED).  A guest that
 * never does leaves the device in place. */
#ifndef VMM_DEVICES_PCI_PCIE_PORT_H
#define VMM_DEVICES_PCI_PCIE_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include "bridge.h"
#include "core/irq.h"

#define PCIE_ROOT_PORT_DEVICE_ID 0x000cu /* Red Hat, QEMU's pcie-root-port */

/* Window space reserved for a device plugged later (bridge.h). */
#define PCIE_PORT_RSV_IO 0x1000u
#define PCIE_PORT_RSV_MEM 0x200000u
#define PCIE_PORT_RSV_PREF 0x200000u

struct pcie_port;

/* removed(opaque, port, dev): the guest powered the slot off; dev is
 * already detached from the port's bus. */
typedef void (*pcie_port_removed_fn)(void *opaque, struct pcie_port *p,
				     struct pci_dev *dev);

/* chassis (1..255) and slot (0..8191: the Physical Slot Number) as
 * QEMU's chassis= and slot=.  chip delivers MSI.  NULL when out of
 * memory. */
struct pcie_port *pcie_port_new(uint8_t chassis, uint16_t slot,
				struct irq_chip *chip, const char *name,
				struct log *log);
/* Frees the port's bridge (detaching what is behind it first). */
void pcie_port_free(struct pcie_port *p);
struct pci_bridge *pcie_port_bridge(struct pcie_port *p);
struct pci_dev *pcie_port_dev(struct pcie_port *p);
void pcie_port_set_removed(struct pcie_port *p, pcie_port_removed_fn fn,
			   void *opaque);

/* Put dev in the slot.  hot: report it to the guest (Presence Detect
 * Changed, DLL State Changed, interrupt); cold: present from power-on
 * (start-up, or the board rebuilt at reset).  -EBUSY if occupied. */
int pcie_port_plug(struct pcie_port *p, struct pci_dev *dev, bool hot);
/* The device in the slot, or NULL. */
struct pci_dev *pcie_port_child(const struct pcie_port *p);
/* Ask the guest to release the slot: Attention Button Pressed.  -ENODEV
 * when the slot is empty; a repeated request presses the button again
 * (QEMU does the same on a second device_del). */
int pcie_port_request_unplug(struct pcie_port *p);
bool pcie_port_unplug_pending(const struct pcie_port *p);

/* Put the slot registers back to power-on state (system reset), keeping
 * the device: present, powered, link up, no events pending. */
void pcie_port_reset(struct pcie_port *p);

/* Config offset of the PCI Express capability (tests, the sim driver). */
unsigned pcie_port_exp_off(const struct pcie_port *p);

#endif
