/* Transport-independent steps of the sim virtio driver (virtio 1.2 §3.1.1),
 * written once against struct vdriver_bus. */
#include <errno.h>
#include "devices/virtio/virtio.h"
#include "vdriver.h"

#define DEFAULT_MEM_BASE 0x100000ull
#define DEFAULT_MEM_END 0x1000000ull

void vdriver_set_memory(struct vdriver *d, uint64_t base, uint64_t size)
{
	d->mem_next = base;
	d->mem_end = base + size;
}

uint64_t vdriver_alloc(struct vdriver *d, uint64_t size, uint64_t align)
{
	if (d->mem_end == 0)
		vdriver_set_memory(d, DEFAULT_MEM_BASE,
				   DEFAULT_MEM_END - DEFAULT_MEM_BASE);
	if (align == 0 || (align & (align - 1)))
		align = 16;
	uint64_t a = (d->mem_next + align - 1) & ~(align - 1);
	if (a < d->mem_next || a > d->mem_end || d->mem_end - a < size)
		return 0;
	d->mem_next = a + size;
	return a;
}

void vdriver_reset(struct vdriver *d)
{
	d->bus->set_status(d, 0);
	/* §4.1.4.3.2 / §4.2.3.1.1: the reset is complete when status reads 0;
	 * ours is synchronous. */
	(void)d->bus->get_status(d);
	d->features = 0;
}

uint64_t vdriver_device_features(struct vdriver *d)
{
	return d->bus->get_features(d, 0) |
	       (uint64_t)d->bus->get_features(d, 1) << 32;
}

static void add_status(struct vdriver *d, uint8_t bits)
{
	d->bus->set_status(d, d->bus->get_status(d) | bits);
}

int vdriver_negotiate(struct vdriver *d, uint64_t want)
{
	vdriver_reset(d);
	add_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	add_status(d, VIRTIO_STATUS_DRIVER);
	uint64_t f = want & vdriver_device_features(d);
	d->bus->set_features(d, 0, (uint32_t)f);
	if (d->legacy) {
		/* §3.1.2 legacy: no high feature word, no FEATURES_OK. */
		d->features = f & 0xffffffffull;
		if (d->bus->config_irq_setup)
			d->bus->config_irq_setup(d);
		return 0;
	}
	d->bus->set_features(d, 1, (uint32_t)(f >> 32));
	add_status(d, VIRTIO_STATUS_FEATURES_OK);
	if (!(d->bus->get_status(d) & VIRTIO_STATUS_FEATURES_OK))
		return -EPROTO;
	d->features = f;
	if (d->bus->config_irq_setup)
		d->bus->config_irq_setup(d);
	return 0;
}

int vdriver_setup_queue(struct vdriver *d, unsigned q, struct vdq *vq,
			uint16_t size)
{
	bool packed = d->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	uint16_t max = d->bus->queue_max(d, q);
	if (size == 0 || size > max)
		return -EINVAL;
	/* Legacy queue sizes are the device's (read-only, §4.1.4.10): the
	 * driver uses what it reads, as Linux's setup_vq does. */
	if (d->legacy)
		size = max;
	/* Rings need at most 4 KiB alignment (legacy split used page
	 * alignment; modern needs 16/2/4 bytes, §2.7). */
	uint64_t base = vdriver_alloc(d, d->legacy ? vdq_mem_size_legacy(size) :
					  vdq_mem_size(size, packed), 4096);
	if (!base)
		return -ENOMEM;
	int rc = d->legacy ? vdq_init_legacy(vq, d->sim->m.gm, base, size, d->features) :
			     vdq_init(vq, d->sim->m.gm, base, size, d->features);
	if (rc)
		return rc;
	struct vq_config cfg;
	vdq_config(vq, &cfg);
	/* Queue q's MSI-X vector is q + 1; vector 0 is for config changes. */
	cfg.msix_vector = (uint16_t)(q + 1);
	return d->bus->queue_setup(d, q, &cfg) ? 0 : -EIO;
}

void vdriver_driver_ok(struct vdriver *d)
{
	add_status(d, VIRTIO_STATUS_DRIVER_OK);
}

bool vdriver_kick(struct vdriver *d, unsigned q, struct vdq *vq)
{
	if (!vdq_kick_prepare(vq))
		return false;
	d->bus->kick(d, q);
	return true;
}
