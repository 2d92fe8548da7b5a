/* The sim driver's virtio-mmio transport (virtio 1.2 §4.2.3): 32-bit
 * register accesses through the sim MMIO bus. */
#include <errno.h>
#include <linux/virtio_mmio.h>
#include "devices/virtio/mmio.h"
#include "vdriver.h"

static uint32_t rd(struct vdriver *d, uint32_t reg)
{
	return (uint32_t)sim_mmio_read(d->sim, d->base + reg, 4);
}

static void wr(struct vdriver *d, uint32_t reg, uint32_t v)
{
	sim_mmio_write(d->sim, d->base + reg, 4, v);
}

static uint32_t m_device_id(struct vdriver *d)
{
	return rd(d, VIRTIO_MMIO_DEVICE_ID);
}

static uint8_t m_get_status(struct vdriver *d)
{
	return (uint8_t)rd(d, VIRTIO_MMIO_STATUS);
}

static void m_set_status(struct vdriver *d, uint8_t s)
{
	wr(d, VIRTIO_MMIO_STATUS, s);
}

static uint32_t m_get_features(struct vdriver *d, uint32_t word)
{
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, word);
	return rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
}

static void m_set_features(struct vdriver *d, uint32_t word, uint32_t val)
{
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, word);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, val);
}

static uint32_t m_generation(struct vdriver *d)
{
	return rd(d, VIRTIO_MMIO_CONFIG_GENERATION);
}

static uint64_t m_config_read(struct vdriver *d, uint32_t off, unsigned len)
{
	return sim_mmio_read(d->sim, d->base + VIRTIO_MMIO_CONFIG + off, len);
}

static void m_config_write(struct vdriver *d, uint32_t off, unsigned len,
			   uint64_t val)
{
	sim_mmio_write(d->sim, d->base + VIRTIO_MMIO_CONFIG + off, len, val);
}

static uint16_t m_queue_max(struct vdriver *d, unsigned q)
{
	wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
	return (uint16_t)rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
}

static void wr64(struct vdriver *d, uint32_t lo_reg, uint64_t v)
{
	wr(d, lo_reg, (uint32_t)v);
	wr(d, lo_reg + 4, (uint32_t)(v >> 32));
}

static bool m_queue_setup(struct vdriver *d, unsigned q,
			  const struct vq_config *cfg)
{
	/* §4.2.3.2: select, check it is not in use, size, addresses, ready. */
	wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
	if (rd(d, VIRTIO_MMIO_QUEUE_READY))
		return false;
	wr(d, VIRTIO_MMIO_QUEUE_NUM, cfg->size);
	wr64(d, VIRTIO_MMIO_QUEUE_DESC_LOW, cfg->desc);
	wr64(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, cfg->driver);
	wr64(d, VIRTIO_MMIO_QUEUE_USED_LOW, cfg->device);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return rd(d, VIRTIO_MMIO_QUEUE_READY) == 1;
}

static bool m_queue_ready(struct vdriver *d, unsigned q)
{
	wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
	return rd(d, VIRTIO_MMIO_QUEUE_READY) != 0;
}

static void m_kick(struct vdriver *d, unsigned q)
{
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static uint32_t m_isr_ack(struct vdriver *d)
{
	uint32_t isr = rd(d, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr)
		wr(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	return isr;
}

static bool m_irq_pending(struct vdriver *d)
{
	return d->sim->gsi_level[d->gsi & 0xff] != 0;
}

const struct vdriver_bus vdriver_mmio_bus = {
	.name = "virtio-mmio",
	.device_id = m_device_id,
	.get_status = m_get_status,
	.set_status = m_set_status,
	.get_features = m_get_features,
	.set_features = m_set_features,
	.config_generation = m_generation,
	.config_read = m_config_read,
	.config_write = m_config_write,
	.queue_max = m_queue_max,
	.queue_setup = m_queue_setup,
	.queue_ready = m_queue_ready,
	.kick = m_kick,
	.isr_ack = m_isr_ack,
	.irq_pending = m_irq_pending,
};

int vdriver_mmio_probe(struct vdriver *d, struct sim *s, uint64_t base,
		       unsigned gsi)
{
	*d = (struct vdriver){ .bus = &vdriver_mmio_bus, .sim = s, .base = base,
			       .gsi = gsi };
	/* §4.2.3.1.1: magic, then version 2; device ID 0 is a placeholder. */
	if (rd(d, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
	    rd(d, VIRTIO_MMIO_VERSION) != VIRTIO_MMIO_VERSION_2 ||
	    rd(d, VIRTIO_MMIO_DEVICE_ID) == 0)
		return -ENODEV;
	return 0;
}
