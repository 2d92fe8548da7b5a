/* virtio-pci's state, shared by the modern (pci.c) and legacy
 * (pci_legacy.c) register interfaces of one function.  Private to
 * devices/virtio/pci*.c. */
#ifndef VMM_VIRTIO_PCI_PRIV_H
#define VMM_VIRTIO_PCI_PRIV_H

#include <stdint.h>
#include "core/log.h"
#include "devices/pci/msix.h"
#include "devices/pci/pci.h"
#include "pci.h"
#include "transport.h"

/* ISR status bit 0: used buffer notification (§4.1.4.5). */
#define VIRTIO_PCI_ISR_QUEUE 0x1u

struct virtio_pci {
	struct pci_dev pci;
	struct msix msix;
	struct vtransport t;
	struct vdev *vd;
	enum virtio_pci_mode mode;
	/* The device's only way to guest memory: closed while the function
	 * may not master the bus (pci_dma_allowed). */
	struct gm *view;
	uint32_t dfselect, gfselect;
	/* One queue selector behind both interfaces, as QEMU has it. */
	uint16_t queue_sel;
	uint16_t config_vector;
	uint8_t isr;
	uint8_t cfg_cap;             /* offset of the pci_cfg capability, 0: none */
	struct log_rl rl;
};

/* An MSI-X vector the driver names, or NO_VECTOR when the table has no
 * such entry (§4.1.5.1.2.1). */
uint16_t virtio_pci_map_vector(struct virtio_pci *p, uint16_t v);
/* After a device reset: ISR, selectors, config vector, INTx. */
void virtio_pci_reset_registers(struct virtio_pci *p);
/* Tell the device its queues' MSI messages may have changed
 * (vdev_ops.vectors_changed). */
void virtio_pci_vectors_changed(struct virtio_pci *p);
/* The legacy I/O BAR (pci_legacy.c): declare BAR 0 sized for the legacy
 * header plus the device config.  0 or -EINVAL. */
int virtio_pci_legacy_init(struct virtio_pci *p);

#endif
