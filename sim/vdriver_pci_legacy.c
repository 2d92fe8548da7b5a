/* The sim driver's legacy virtio-pci transport (virtio 1.2 §4.1.4.10,
 * §4.1.5.1.3.1): the register accesses Linux's
 * drivers/virtio/virtio_pci_legacy_dev.c makes on I/O BAR 0. */
#include <linux/virtio_pci.h>
#include "devices/virtio/pci.h"
#include "vdriver.h"

static uint64_t lrd(struct vdriver *d, uint32_t off, unsigned len)
{
	return sim_pio_read(d->sim, (uint16_t)(d->io + off), len);
}

static void lwr(struct vdriver *d, uint32_t off, unsigned len, uint64_t v)
{
	sim_pio_write(d->sim, (uint16_t)(d->io + off), len, v);
}

/* The device config follows the MSI-X registers only while MSI-X is on. */
static uint32_t cfg_off(struct vdriver *d)
{
	return VIRTIO_PCI_CONFIG_OFF(d->msix);
}

static uint8_t l_get_status(struct vdriver *d)
{
	return (uint8_t)lrd(d, VIRTIO_PCI_STATUS, 1);
}

static void l_set_status(struct vdriver *d, uint8_t s)
{
	lwr(d, VIRTIO_PCI_STATUS, 1, s);
}

static uint32_t l_get_features(struct vdriver *d, uint32_t word)
{
	return word ? 0 : (uint32_t)lrd(d, VIRTIO_PCI_HOST_FEATURES, 4);
}

static void l_set_features(struct vdriver *d, uint32_t word, uint32_t val)
{
	if (word == 0)
		lwr(d, VIRTIO_PCI_GUEST_FEATURES, 4, val);
}

static uint32_t l_generation(struct vdriver *d)
{
	(void)d;
	return 0;  /* legacy has no generation counter */
}

static uint64_t l_config_read(struct vdriver *d, uint32_t off, unsigned len)
{
	if (len == 8)  /* two 32-bit port reads, low first */
		return lrd(d, cfg_off(d) + off, 4) |
		       lrd(d, cfg_off(d) + off + 4, 4) << 32;
	return lrd(d, cfg_off(d) + off, len);
}

static void l_config_write(struct vdriver *d, uint32_t off, unsigned len,
			   uint64_t val)
{
	if (len == 8) {
		lwr(d, cfg_off(d) + off, 4, (uint32_t)val);
		lwr(d, cfg_off(d) + off + 4, 4, val >> 32);
		return;
	}
	lwr(d, cfg_off(d) + off, len, val);
}

static uint16_t l_queue_max(struct vdriver *d, unsigned q)
{
	lwr(d, VIRTIO_PCI_QUEUE_SEL, 2, q);
	return (uint16_t)lrd(d, VIRTIO_PCI_QUEUE_NUM, 2);
}

static bool l_queue_setup(struct vdriver *d, unsigned q,
			  const struct vq_config *cfg)
{
	/* Linux setup_vq: select, check size and that the queue is unused,
	 * write the PFN, then the vector (read back). */
	lwr(d, VIRTIO_PCI_QUEUE_SEL, 2, q);
	if (lrd(d, VIRTIO_PCI_QUEUE_NUM, 2) != cfg->size ||
	    lrd(d, VIRTIO_PCI_QUEUE_PFN, 4) != 0 ||
	    (cfg->desc & (VIRTIO_PCI_VRING_ALIGN - 1)))
		return false;
	uint32_t pfn = (uint32_t)(cfg->desc >> VIRTIO_PCI_QUEUE_ADDR_SHIFT);
	lwr(d, VIRTIO_PCI_QUEUE_PFN, 4, pfn);
	if (d->msix) {
		lwr(d, VIRTIO_MSI_QUEUE_VECTOR, 2, cfg->msix_vector);
		if (lrd(d, VIRTIO_MSI_QUEUE_VECTOR, 2) != cfg->msix_vector)
			return false;
	}
	return lrd(d, VIRTIO_PCI_QUEUE_PFN, 4) == pfn;
}

static bool l_queue_ready(struct vdriver *d, unsigned q)
{
	lwr(d, VIRTIO_PCI_QUEUE_SEL, 2, q);
	return lrd(d, VIRTIO_PCI_QUEUE_PFN, 4) != 0;
}

static void l_kick(struct vdriver *d, unsigned q)
{
	lwr(d, VIRTIO_PCI_QUEUE_NOTIFY, 2, q);
}

static void l_config_irq_setup(struct vdriver *d)
{
	if (d->msix)
		lwr(d, VIRTIO_MSI_CONFIG_VECTOR, 2, 0);
}

static uint32_t l_isr_ack(struct vdriver *d)
{
	return (uint32_t)lrd(d, VIRTIO_PCI_ISR, 1);
}

static bool l_irq_pending(struct vdriver *d)
{
	if (d->msix) {
		bool fired = d->sim->msi_count != d->msi_seen;
		d->msi_seen = d->sim->msi_count;
		return fired;
	}
	return d->sim->gsi_level[d->gsi & 0xff] != 0;
}

const struct vdriver_bus vdriver_pci_legacy_bus = {
	.name = "virtio-pci-legacy",
	.device_id = vdriver_pci_virtio_id,
	.get_status = l_get_status,
	.set_status = l_set_status,
	.get_features = l_get_features,
	.set_features = l_set_features,
	.config_generation = l_generation,
	.config_read = l_config_read,
	.config_write = l_config_write,
	.queue_max = l_queue_max,
	.queue_setup = l_queue_setup,
	.queue_ready = l_queue_ready,
	.kick = l_kick,
	.config_irq_setup = l_config_irq_setup,
	.isr_ack = l_isr_ack,
	.irq_pending = l_irq_pending,
};
