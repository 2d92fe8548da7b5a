/* virtio-pci (virtio 1.2 §4.1) in QEMU's three shapes:
 *  - modern (disable-legacy=on): PCI identity per §4.1.2: vendor 0x1af4,
 *    device 0x1040 + virtio device id, revision 1;
 *  - transitional (neither disable-modern nor disable-legacy): the
 *    transitional device id (Table 4.1, 0x1000-0x103f), subsystem id = the
 *    virtio device id, revision 0, both the modern capabilities and the
 *    legacy I/O BAR 0 (§4.1.4.10);
 *  - legacy (disable-modern=on): the same identity, only the I/O BAR.
 * The legacy interface lives in pci_legacy.c.
 *
 * The modern interface:  Registers live in BAR 4 (64-bit memory), described by
 * vendor capabilities (§4.1.4): common config, ISR, device config and
 * notify (notify_off_multiplier 4, queue i notifies at 4*i), plus the PCI
 * configuration access capability (§4.1.4.9).  MSI-X (table and PBA in BAR
 * 1) carries one config vector and per-queue vectors; with MSI-X disabled
 * the ISR and INTx pin A are used instead.
 *
 * The caller places the function with pci_host_attach(host,
 * virtio_pci_dev(p), slot, func). */
#ifndef VMM_VIRTIO_PCI_H
#define VMM_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include "core/irq.h"
#include "core/log.h"
#include "virtio.h"

#define VIRTIO_PCI_VENDOR 0x1af4u
#define VIRTIO_PCI_DEVICE_BASE 0x1040u   /* + device id, §4.1.2.1 */
#define VIRTIO_PCI_TRANSITIONAL_BASE 0x1000u
#define VIRTIO_PCI_BAR_LEGACY 0u        /* I/O: legacy header + config */
#define VIRTIO_PCI_BAR_MSIX 1u
#define VIRTIO_PCI_BAR_REGS 4u
/* Layout of BAR 4: one 4 KiB page per structure. */
#define VIRTIO_PCI_COMMON_OFF 0x0000u
#define VIRTIO_PCI_ISR_OFF 0x1000u
#define VIRTIO_PCI_DEVICE_OFF 0x2000u
#define VIRTIO_PCI_NOTIFY_OFF 0x3000u
#define VIRTIO_PCI_REGS_SIZE 0x4000u
#define VIRTIO_PCI_NOTIFY_MULT 4u
/* Layout of BAR 1. */
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x000u
#define VIRTIO_PCI_MSIX_PBA_OFF 0x800u
#define VIRTIO_PCI_MSIX_SIZE 0x1000u

struct virtio_pci;
struct pci_dev;
struct msix;

enum virtio_pci_mode {
	VIRTIO_PCI_MODERN = 0,     /* disable-legacy=on */
	VIRTIO_PCI_TRANSITIONAL,   /* both interfaces */
	VIRTIO_PCI_LEGACY,         /* disable-modern=on */
};

/* vd filled in by its device model.  chip: MSI delivery.  NULL on
 * failure.  virtio_pci_new() is the modern-only device. */
struct virtio_pci *virtio_pci_new(const struct gm *gm, struct log *log,
				  struct irq_chip *chip, struct vdev *vd);
/* The same with an MSI-X table of nvec vectors (QEMU's vectors=;
 * virtio_pci_new gives one per queue plus config).  nvec 0: no MSI-X
 * capability or table BAR, interrupts on INTx only; at most
 * MSIX_MAX_VECTORS. */
struct virtio_pci *virtio_pci_new_nvec(const struct gm *gm, struct log *log,
				       struct irq_chip *chip, struct vdev *vd,
				       unsigned nvec);
/* NULL also when the mode needs a legacy interface and the device type
 * has no transitional id (virtio_pci_transitional_id() == 0). */
struct virtio_pci *virtio_pci_new_mode(const struct gm *gm, struct log *log,
				       struct irq_chip *chip, struct vdev *vd,
				       enum virtio_pci_mode mode);
/* The transitional PCI device id of a virtio device type (virtio 1.2
 * Table 4.1, and QEMU's 0x1012 for vsock), 0 when it has none: such a
 * device is modern-only. */
uint16_t virtio_pci_transitional_id(uint32_t device_id);
/* The general form: interface `mode` and an MSI-X table of nvec vectors
 * (0: none, INTx only).  The three above are this with defaults. */
struct virtio_pci *virtio_pci_create(const struct gm *gm, struct log *log,
				     struct irq_chip *chip, struct vdev *vd,
				     enum virtio_pci_mode mode, unsigned nvec);
/* Detaches from the host if attached. */
void virtio_pci_free(struct virtio_pci *p);
struct pci_dev *virtio_pci_dev(struct virtio_pci *p);
struct msix *virtio_pci_msix(struct virtio_pci *p);
struct vdev *virtio_pci_vdev(struct virtio_pci *p);
uint8_t virtio_pci_isr(const struct virtio_pci *p);

/* PCI class code a device type is presented with (QEMU's choices, so
 * guests' class-based heuristics see the familiar values). */
uint32_t virtio_pci_class(uint32_t device_id);

/* Snapshot (devices/virtio/pci_snap.c, docs/snapshot.md): section
 * "virtio-pci" with the function, MSI-X, registers, virtio state and the
 * device model. */
struct snap_w;
struct snap_r;
int virtio_pci_save(const struct virtio_pci *p, struct snap_w *w);
int virtio_pci_load(struct virtio_pci *p, struct snap_r *r);

#endif
