/* The legacy virtio-pci interface (virtio 1.2 §4.1.4.10 "Legacy
 * Interfaces: A Note on PCI Device Layout", §4.1.5.1.3.1, §2.7.2 for the
 * ring layout; the registers of virtio 0.9.5 as QEMU's
 * hw/virtio/virtio-pci.c serves them and Linux's
 * drivers/virtio/virtio_pci_legacy*.c drives them).
 *
 * I/O BAR 0 holds, little-endian (the x86 native order legacy uses):
 *   0x00 host features (bits 0-31, r)   0x04 guest features (rw)
 *   0x08 queue PFN (rw)                 0x0c queue size (r)
 *   0x0e queue select (rw)              0x10 queue notify (w)
 *   0x12 device status (rw)             0x13 ISR (r, read clears)
 *   with MSI-X enabled: 0x14 config vector, 0x16 queue vector (rw),
 * then the device config, at 0x18 with MSI-X enabled and 0x14 without.
 *
 * A queue is fixed at its maximum size; writing its page frame number
 * places descriptors at PFN * 4096, the available ring right after them
 * and the used ring on the next 4096-byte boundary, and enables it. */
#include <endian.h>
#include <string.h>
#include <linux/virtio_pci.h>
#include "pci_priv.h"

#define LEG_HDR 24u  /* the header with the MSI-X registers */

static uint32_t config_off(const struct virtio_pci *p)
{
	return VIRTIO_PCI_CONFIG_OFF(msix_enabled(&p->msix));
}

/* §2.7.2 legacy layout: avail after the descriptor table, used aligned. */
static void ring_addrs(struct vq_config *qc, uint32_t pfn, uint16_t size)
{
	uint64_t desc = (uint64_t)pfn << VIRTIO_PCI_QUEUE_ADDR_SHIFT;
	uint64_t avail_end = desc + 16ull * size + 2ull * (3u + size);
	qc->desc = desc;
	qc->driver = desc + 16ull * size;
	qc->device = (avail_end + VIRTIO_PCI_VRING_ALIGN - 1) &
		     ~(uint64_t)(VIRTIO_PCI_VRING_ALIGN - 1);
}

static void put16(uint8_t *h, unsigned off, uint16_t v)
{
	v = htole16(v);
	memcpy(h + off, &v, 2);
}

static void put32(uint8_t *h, unsigned off, uint32_t v)
{
	v = htole32(v);
	memcpy(h + off, &v, 4);
}

static void header_snapshot(struct virtio_pci *p, uint8_t h[LEG_HDR])
{
	struct vdev *vd = p->vd;
	unsigned q = p->queue_sel;
	memset(h, 0, LEG_HDR);
	/* Legacy sees feature bits 0-31 only: no VERSION_1, no packed ring. */
	put32(h, VIRTIO_PCI_HOST_FEATURES, vtransport_device_features(&p->t, 0));
	put32(h, VIRTIO_PCI_GUEST_FEATURES, vtransport_driver_features_word(&p->t, 0));
	if (q < vd->nqueues) {
		const struct vq_config *qc = &p->t.q[q];
		/* A refused PFN reads back 0: the driver can tell. */
		put32(h, VIRTIO_PCI_QUEUE_PFN, qc->ready ?
		      (uint32_t)(qc->desc >> VIRTIO_PCI_QUEUE_ADDR_SHIFT) : 0);
		put16(h, VIRTIO_PCI_QUEUE_NUM, vtransport_queue_max(&p->t, q));
		put16(h, VIRTIO_MSI_QUEUE_VECTOR, qc->msix_vector);
	} else {
		/* §4.1.4.10 / QEMU: a missing queue has size 0. */
		put16(h, VIRTIO_MSI_QUEUE_VECTOR, VTRANSPORT_NO_VECTOR);
	}
	put16(h, VIRTIO_PCI_QUEUE_SEL, p->queue_sel);
	h[VIRTIO_PCI_STATUS] = vd->status;
	h[VIRTIO_PCI_ISR] = p->isr;
	put16(h, VIRTIO_MSI_CONFIG_VECTOR, p->config_vector);
}

static void legacy_read(struct virtio_pci *p, uint32_t off, void *data,
			unsigned len)
{
	uint8_t h[LEG_HDR];
	uint32_t coff = config_off(p);
	memset(data, 0, len);
	if (off >= coff) {
		vtransport_config_read(&p->t, off - coff, data, len);
		return;
	}
	header_snapshot(p, h);
	unsigned n = len < coff - off ? len : coff - off;
	memcpy(data, h + off, n);
	/* §4.1.4.5: reading the ISR returns and clears it, and deasserts
	 * INTx. */
	if (off <= VIRTIO_PCI_ISR && VIRTIO_PCI_ISR < off + n) {
		p->isr = 0;
		pci_set_irq(&p->pci, 0);
	}
}

static void legacy_pfn(struct virtio_pci *p, uint32_t pfn)
{
	struct vtransport *t = &p->t;
	unsigned q = p->queue_sel;
	if (q >= p->vd->nqueues) {
		log_rl(t->log, &p->rl, LOG_WARN,
		       "virtio-pci legacy: PFN for queue %u that does not exist", q);
		return;
	}
	if (pfn == 0) {
		/* Linux writes 0 to release a queue (del_vq); a live device
		 * keeps its queues until reset. */
		if (p->vd->status & VIRTIO_STATUS_DRIVER_OK)
			log_rl(t->log, &p->rl, LOG_WARN,
			       "virtio-pci legacy: PFN 0 after DRIVER_OK ignored");
		else
			vtransport_queue_set_ready(t, q, false);
		return;
	}
	if (!vtransport_queue_writable(t, q, "legacy PFN"))
		return;
	struct vq_config *qc = &t->q[q];
	qc->size = vtransport_queue_max(t, q);
	ring_addrs(qc, pfn, qc->size);
	/* Validated as on the modern interface: size, alignment, every
	 * ring inside RAM (a PFN outside RAM leaves the queue off). */
	vtransport_queue_set_ready(t, q, true);
}

/* Each header register is written with its own width (Linux's
 * iowrite8/16/32); other writes are dropped. */
static unsigned reg_width(uint32_t off, bool msix)
{
	switch (off) {
	case VIRTIO_PCI_GUEST_FEATURES:
	case VIRTIO_PCI_QUEUE_PFN: return 4;
	case VIRTIO_PCI_QUEUE_SEL:
	case VIRTIO_PCI_QUEUE_NOTIFY: return 2;
	case VIRTIO_PCI_STATUS: return 1;
	case VIRTIO_MSI_CONFIG_VECTOR:
	case VIRTIO_MSI_QUEUE_VECTOR: return msix ? 2 : 0;
	default: return 0;  /* host features, queue size, ISR: read-only */
	}
}

static void legacy_write(struct virtio_pci *p, uint32_t off, const void *data,
			 unsigned len)
{
	struct vtransport *t = &p->t;
	uint32_t coff = config_off(p);
	if (off >= coff) {
		vtransport_config_write(t, off - coff, data, len);
		return;
	}
	if (reg_width(off, coff == LEG_HDR) != len) {
		log_rl(t->log, &p->rl, LOG_WARN,
		       "virtio-pci legacy: write at 0x%x len %u ignored%s", off, len,
		       off == VIRTIO_PCI_QUEUE_NUM ? " (queue size is read-only)" : "");
		return;
	}
	uint32_t v = 0;
	memcpy(&v, data, len);
	v = le32toh(v);
	vtransport_set_legacy(t, true);
	switch (off) {
	case VIRTIO_PCI_GUEST_FEATURES:
		vtransport_driver_features(t, 0, v);
		break;
	case VIRTIO_PCI_QUEUE_PFN:
		legacy_pfn(p, v);
		break;
	case VIRTIO_PCI_QUEUE_SEL:
		p->queue_sel = (uint16_t)v;
		break;
	case VIRTIO_PCI_QUEUE_NOTIFY:
		/* Without Bus Master Enable no DMA (PCI 3.0 §6.2.2). */
		if (!pci_bus_master(&p->pci))
			log_rl(t->log, &p->rl, LOG_WARN,
			       "virtio-pci legacy: kick with bus mastering off ignored");
		else
			vtransport_kick(t, (uint16_t)v);
		break;
	case VIRTIO_PCI_STATUS:
		if (vtransport_set_status(t, (uint8_t)v))
			virtio_pci_reset_registers(p);
		break;
	case VIRTIO_MSI_CONFIG_VECTOR:
		p->config_vector = virtio_pci_map_vector(p, (uint16_t)v);
		break;
	case VIRTIO_MSI_QUEUE_VECTOR:
		/* Linux sets it after activating the queue, so no readiness
		 * rule here: it only routes the queue's interrupts. */
		if (p->queue_sel < p->vd->nqueues) {
			t->q[p->queue_sel].msix_vector =
				virtio_pci_map_vector(p, (uint16_t)v);
			virtio_pci_vectors_changed(p);
		}
		break;
	}
}

static int legacy_access(void *opaque, uint64_t off, void *data, unsigned len,
			 bool is_write)
{
	struct virtio_pci *p = opaque;
	if (len == 0 || len > 4 || off >= 0x10000) {
		if (!is_write)
			memset(data, 0, len);
		return 0;
	}
	if (is_write)
		legacy_write(p, (uint32_t)off, data, len);
	else
		legacy_read(p, (uint32_t)off, data, len);
	return 0;
}

int virtio_pci_legacy_init(struct virtio_pci *p)
{
	/* QEMU's size: the header with MSI-X registers plus the config,
	 * rounded up to a power of two. */
	uint32_t need = LEG_HDR + p->vd->config_size, size = 32;
	while (size < need)
		size <<= 1;
	return pci_dev_set_bar(&p->pci, VIRTIO_PCI_BAR_LEGACY, PCI_BAR_IO, size,
			       false, legacy_access, p, "virtio-pci-legacy");
}
