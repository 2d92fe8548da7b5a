/* The PCI Standard Hot-Plug Controller (PCI Standard Hot-Plug Controller
 * and Subsystem Specification 1.0, "SHPC") of a pci-bridge with shpc=on,
 * as QEMU's hw/pci/shpc.c presents it and Linux's shpchp drives it.
 *
 * What the guest sees on the bridge function:
 *   - the SHPC capability (ID 0x0C, §5.1): a DWORD Select byte and a DWORD
 *     Data window onto the controller's working register set;
 *   - the same register set in memory BAR 0 (256 bytes; Linux's shpchp
 *     maps it there, at BAR 0 + Base Offset);
 *   - INTx A for the controller interrupt (no MSI capability).
 * The working register set (§5.2): Base Offset (0), Slots Available I/II
 * (31 conventional 33 MHz slots), Slot Configuration (31 slots, first
 * device number 1, physical slot numbers counting up from 1, MRL sensor
 * and attention button implemented), Secondary Bus Configuration
 * (33 MHz conventional; programming interface 1), the Command and
 * Command Status registers, the Interrupt and SERR Locators, Controller
 * SERR-INT, and per logical slot 1..31 (PCI device 1..31; device 0 is
 * reserved) the Slot Status (state, power/attention indicators, power
 * fault, attention button, MRL, presence), Event Latch and SERR-INT Mask.
 *
 * Commands (§4.3, written to Command + Target): Slot Operation (slot
 * state, power and attention indicators), Set Bus Segment Speed/Mode
 * (33 MHz conventional only; other modes report Invalid Speed/Mode),
 * Power-Only All Slots, Enable All Slots.  A command completes at once:
 * Command Detected is latched in Controller SERR-INT and, unless masked,
 * raises the controller interrupt (bit 0 of the Interrupt Locator).
 * Powering a slot whose MRL is open fails with MRL Open (§4.3.1).
 *
 * Hot-add: shpc_plug(hot) puts the device in its slot with the MRL
 * closed and presence reported, latching Presence, MRL and Attention
 * Button events (QEMU does the same: shpchp treats the press as "enable
 * this slot").  Hot-remove is a request: the Attention Button is pressed;
 * the guest completes it with a Slot Operation that disables the slot
 * while its Power Indicator is off.  Only then is the device detached
 * and the owner's `removed` hook called.  A guest that never does leaves
 * the device in place.  A slot the guest never enabled (still disabled,
 * Power Indicator off: no driver uses the card) is released at once on
 * request, as QEMU 7.2's SHPC does.
 *
 * Not modelled: SERR (the SERR Locator stays 0), 66 MHz and PCI-X modes,
 * the Controller/SERR Pending bits of the capability (read 0 as in QEMU),
 * power faults (never reported). */
#ifndef VMM_DEVICES_PCI_SHPC_H
#define VMM_DEVICES_PCI_SHPC_H

#include <stdbool.h>
#include <stdint.h>
#include "bridge.h"

#define SHPC_NSLOTS 31u          /* logical slots 1..31 = PCI devices 1..31 */
#define SHPC_BAR_SIZE 0x100u     /* BAR 0: the working register set */
#define SHPC_REGS_SIZE (0x24u + 4u * SHPC_NSLOTS)
/* Window space firmware sets aside behind the bridge for devices plugged
 * later (bridge.h), as SeaBIOS does for a hot-plug capable bridge: room
 * for a virtio-pci function or two even when nothing is there at boot. */
#define SHPC_RSV_IO 0x1000u
#define SHPC_RSV_MEM 0x200000u
#define SHPC_RSV_PREF 0x200000u

/* Working register set offsets (§5.2). */
#define SHPC_BASE_OFFSET 0x00
#define SHPC_SLOTS_AVAIL1 0x04
#define SHPC_SLOTS_AVAIL2 0x08
#define SHPC_SLOT_CONFIG 0x0c
#define SHPC_SEC_BUS 0x10        /* 16 bits; then MSI ctl, prog ifc */
#define SHPC_PROG_IFC 0x13
#define SHPC_CMD 0x14            /* 16 bits: code, target */
#define SHPC_CMD_STATUS 0x16
#define SHPC_INT_LOCATOR 0x18
#define SHPC_SERR_LOCATOR 0x1c
#define SHPC_SERR_INT 0x20
#define SHPC_SLOT(i) (0x24u + 4u * (i))   /* i = logical slot - 1 */
/* Inside a logical slot register: status (16 bits), event latch (8),
 * SERR-INT mask (8). */
#define SHPC_SLOT_EVENTS 2
#define SHPC_SLOT_MASK 3

/* Command Status (§5.2.6) */
#define SHPC_CMDSTA_BUSY 0x1
#define SHPC_CMDSTA_MRL_OPEN 0x2
#define SHPC_CMDSTA_INVALID_CMD 0x4
#define SHPC_CMDSTA_INVALID_MODE 0x8
/* Interrupt Locator: bit 0 command completion, bit n logical slot n. */
#define SHPC_INT_CMD 0x1u
/* Controller SERR-INT (§5.2.9) */
#define SHPC_SERRINT_INT_MASK 0x1u       /* global interrupt mask */
#define SHPC_SERRINT_SERR_MASK 0x2u
#define SHPC_SERRINT_CMD_INT_MASK 0x4u
#define SHPC_SERRINT_ARB_SERR_MASK 0x8u
#define SHPC_SERRINT_CMD_DETECTED 0x10000u
#define SHPC_SERRINT_ARB_DETECTED 0x20000u
/* Slot Status (§5.2.10.1); the state and indicator fields share their
 * encoding with the Slot Operation command code. */
#define SHPC_STATE_MASK 0x03
#define SHPC_STATE_PWRONLY 1
#define SHPC_STATE_ENABLED 2
#define SHPC_STATE_DISABLED 3
#define SHPC_PWR_LED_SHIFT 2
#define SHPC_ATTN_LED_SHIFT 4
#define SHPC_LED_ON 1
#define SHPC_LED_BLINK 2
#define SHPC_LED_OFF 3
#define SHPC_STS_PWR_FAULT 0x0040
#define SHPC_STS_BUTTON 0x0080
#define SHPC_STS_MRL_OPEN 0x0100
#define SHPC_STS_66 0x0200
#define SHPC_STS_PRSNT_MASK 0x0c00      /* 3: empty, 0: 7.5 W card */
#define SHPC_STS_PRSNT_EMPTY 0x0c00
/* Event latch / mask bits (§5.2.10.2-3) */
#define SHPC_EV_PRESENCE 0x01
#define SHPC_EV_ISO_FAULT 0x02
#define SHPC_EV_BUTTON 0x04
#define SHPC_EV_MRL 0x08
#define SHPC_EV_CONN_FAULT 0x10
#define SHPC_EV_MRL_SERR_MASK 0x20
#define SHPC_EV_CONN_FAULT_SERR_MASK 0x40
/* The capability (§5.1): DWORD Select at +2, DWORD Data at +4. */
#define SHPC_CAP_SELECT 2
#define SHPC_CAP_DATA 4
#define SHPC_CAP_LEN 8

struct shpc;

/* removed(opaque, s, slot, dev): the guest disabled the slot (PCI device
 * number slot); dev is already detached from the bridge's bus. */
typedef void (*shpc_removed_fn)(void *opaque, struct shpc *s, unsigned slot,
				struct pci_dev *dev);

/* A pci-bridge (chassis_nr as bridge.h) with its SHPC.  Attach
 * pci_bridge_dev(shpc_bridge()) to the host before plugging.  NULL when
 * out of memory. */
struct shpc *shpc_new(uint8_t chassis_nr, const char *name, struct log *log);
/* Frees the bridge (detaching what is behind it first). */
void shpc_free(struct shpc *s);
struct pci_bridge *shpc_bridge(struct shpc *s);
void shpc_set_removed(struct shpc *s, shpc_removed_fn fn, void *opaque);

/* Put dev in slot (PCI device number 1..31, function 0).  hot: report it
 * to the guest; cold: present and enabled from power-on.  -EINVAL for a
 * slot outside 1..31, -EBUSY when occupied. */
int shpc_plug(struct shpc *s, struct pci_dev *dev, unsigned slot, bool hot);
struct pci_dev *shpc_child(const struct shpc *s, unsigned slot);
/* Ask the guest to release slot: the Attention Button.  0 (pending),
 * 1 (released at once: a disabled, dark slot), -ENODEV (empty), -EBUSY (the Power Indicator blinks: the guest is busy
 * with the slot; newer QEMU refuses then too, and shpchp would take a
 * press during its 5 s blink as "cancel"). */
int shpc_request_unplug(struct shpc *s, unsigned slot);
bool shpc_unplug_pending(const struct shpc *s, unsigned slot);

/* Config offset of the capability (tests, the sim driver). */
unsigned shpc_cap_off(const struct shpc *s);

#endif
