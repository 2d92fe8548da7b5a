/* virtio-mmio version 2 register map (virtio 1.2 §4.2.2).  Offsets come
 * from <linux/virtio_mmio.h>, which transcribes the spec's table. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_mmio.h>
#include "core/snapshot.h"
#include "transport_snap.h"
#include "mmio.h"
#include "transport.h"

struct virtio_mmio {
	struct vtransport t;
	struct vdev *vd;
	struct irq irq;
	uint32_t dev_features_sel, drv_features_sel, queue_sel, shm_sel;
	uint32_t isr;
	int level;              /* what we last drove on the line */
	struct log_rl rl;
};

static void update_irq(struct virtio_mmio *m)
{
	/* Level-triggered: high while any InterruptStatus bit is set, so an
	 * InterruptACK that clears the last bit drops it (§4.2.2). */
	int level = m->isr != 0;
	if (level != m->level) {
		m->level = level;
		irq_set_level(&m->irq, level);
	}
}

static void notify_queue(void *opaque, unsigned q)
{
	struct virtio_mmio *m = opaque;
	(void)q;
	m->isr |= VIRTIO_MMIO_INT_VRING;
	update_irq(m);
}

static void notify_config(void *opaque)
{
	struct virtio_mmio *m = opaque;
	m->isr |= VIRTIO_MMIO_INT_CONFIG;
	update_irq(m);
}

static const struct vdev_transport_ops mmio_tops = {
	.notify_queue = notify_queue,
	.notify_config = notify_config,
};

struct virtio_mmio *virtio_mmio_new(const struct gm *gm, struct log *log,
				    struct irq irq, struct vdev *vd)
{
	struct virtio_mmio *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->vd = vd;
	m->irq = irq;
	vtransport_init(&m->t, vd, gm, log, "virtio-mmio", &mmio_tops, m);
	return m;
}

void virtio_mmio_free(struct virtio_mmio *m)
{
	free(m);
}

uint32_t virtio_mmio_isr(const struct virtio_mmio *m)
{
	return m->isr;
}

struct vdev *virtio_mmio_vdev(struct virtio_mmio *m)
{
	return m->vd;
}

static uint64_t *queue_addr(struct virtio_mmio *m, uint32_t reg)
{
	struct vq_config *c = &m->t.q[m->queue_sel];
	switch (reg & ~4u) {
	case VIRTIO_MMIO_QUEUE_DESC_LOW: return &c->desc;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: return &c->driver;
	default: return &c->device;
	}
}

static uint32_t reg_read(struct virtio_mmio *m, uint32_t reg)
{
	struct vdev *vd = m->vd;
	switch (reg) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID: return vd->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return vtransport_device_features(&m->t, m->dev_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		/* 0 for a queue that does not exist (§4.2.2). */
		return vtransport_queue_max(&m->t, m->queue_sel);
	case VIRTIO_MMIO_QUEUE_READY:
		return m->queue_sel < vd->nqueues && m->t.q[m->queue_sel].ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return m->isr;
	case VIRTIO_MMIO_STATUS: return vd->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		/* No shared memory regions: length and base of a region that
		 * does not exist read as all-ones (§4.2.2). */
		return 0xffffffffu;
	case VIRTIO_MMIO_CONFIG_GENERATION: return vd->config_generation;
	default:
		/* Write-only, legacy (version 1) and reserved registers. */
		log_rl(m->t.log, &m->rl, LOG_DEBUG, "virtio-mmio: read of 0x%x", reg);
		return 0;
	}
}

static void queue_write(struct virtio_mmio *m, uint32_t reg, uint32_t val)
{
	unsigned q = m->queue_sel;
	if (reg == VIRTIO_MMIO_QUEUE_READY) {
		vtransport_queue_set_ready(&m->t, q, val != 0);
		return;
	}
	if (!vtransport_queue_writable(&m->t, q, "queue register"))
		return;
	if (reg == VIRTIO_MMIO_QUEUE_NUM) {
		/* Validated against QueueNumMax when the queue is enabled. */
		m->t.q[q].size = (uint16_t)(val > 0xffff ? 0 : val);
		return;
	}
	uint64_t *a = queue_addr(m, reg);
	if (reg & 4)
		*a = (*a & 0xffffffffull) | (uint64_t)val << 32;
	else
		*a = (*a & ~0xffffffffull) | val;
}

static void reg_write(struct virtio_mmio *m, uint32_t reg, uint32_t val)
{
	switch (reg) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: m->dev_features_sel = val; return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		vtransport_driver_features(&m->t, m->drv_features_sel, val);
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: m->drv_features_sel = val; return;
	case VIRTIO_MMIO_QUEUE_SEL: m->queue_sel = val; return;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (m->queue_sel >= m->vd->nqueues) {
			log_rl(m->t.log, &m->rl, LOG_WARN,
			       "virtio-mmio: queue %u does not exist", m->queue_sel);
			return;
		}
		queue_write(m, reg, val);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Without VIRTIO_F_NOTIFICATION_DATA the value is the queue
		 * index (§4.2.2). */
		vtransport_kick(&m->t, val);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		m->isr &= ~val;
		update_irq(m);
		return;
	case VIRTIO_MMIO_STATUS:
		if (vtransport_set_status(&m->t, (uint8_t)val)) {
			/* Reset (§4.2.3.1.1): interrupts and selectors too. */
			m->isr = 0;
			m->dev_features_sel = m->drv_features_sel = 0;
			m->queue_sel = m->shm_sel = 0;
			update_irq(m);
		}
		return;
	case VIRTIO_MMIO_SHM_SEL: m->shm_sel = val; return;
	default:
		log_rl(m->t.log, &m->rl, LOG_WARN,
		       "virtio-mmio: write 0x%x to read-only/reserved 0x%x", val, reg);
		return;
	}
}

int virtio_mmio_access(void *dev, uint64_t offset, void *data, unsigned len,
		       bool is_write)
{
	struct virtio_mmio *m = dev;
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG;
		if (is_write)
			vtransport_config_write(&m->t, off, data, len);
		else
			vtransport_config_read(&m->t, off, data, len);
		return 0;
	}
	/* Registers are 32-bit and must be accessed as such (§4.2.2.2). */
	if (len != 4 || (offset & 3)) {
		log_rl(m->t.log, &m->rl, LOG_WARN,
		       "virtio-mmio: %u-byte access at 0x%llx ignored", len,
		       (unsigned long long)offset);
		if (!is_write)
			memset(data, 0, len);
		return 0;
	}
	uint32_t reg = (uint32_t)offset;
	if (is_write) {
		uint32_t v;
		memcpy(&v, data, 4);
		reg_write(m, reg, le32toh(v));
	} else {
		uint32_t v = htole32(reg_read(m, reg));
		memcpy(data, &v, 4);
	}
	return 0;
}

/* ---- snapshot (docs/snapshot.md) ---- */

int virtio_mmio_save(const struct virtio_mmio *m, struct snap_w *w)
{
	snap_w_begin(w, "virtio-mmio", 1);
	snap_w_u32(w, "dev_features_sel", m->dev_features_sel);
	snap_w_u32(w, "drv_features_sel", m->drv_features_sel);
	snap_w_u32(w, "queue_sel", m->queue_sel);
	snap_w_u32(w, "shm_sel", m->shm_sel);
	snap_w_u32(w, "isr", m->isr);
	snap_w_u8(w, "level", (uint8_t)(m->level != 0));
	int rc = vtransport_save(&m->t, w);
	snap_w_end(w);
	return rc;
}

int virtio_mmio_load(struct virtio_mmio *m, struct snap_r *r)
{
	uint32_t dsel = 0, gsel = 0, qsel = 0, shm = 0, isr = 0;
	uint8_t level = 0;
	snap_r_begin(r, "virtio-mmio", 1, NULL);
	snap_r_u32(r, "dev_features_sel", &dsel);
	snap_r_u32(r, "drv_features_sel", &gsel);
	snap_r_u32(r, "queue_sel", &qsel);
	snap_r_u32(r, "shm_sel", &shm);
	snap_r_u32(r, "isr", &isr);
	snap_r_u8(r, "level", &level);
	/* §4.2.2 InterruptStatus has two bits; the line follows them. */
	snap_r_check(r, (isr & ~(uint32_t)(VIRTIO_MMIO_INT_VRING |
					   VIRTIO_MMIO_INT_CONFIG)) == 0,
		     "isr", "unknown interrupt bits");
	snap_r_check(r, level == (isr != 0), "level",
		     "the line disagrees with InterruptStatus");
	if (snap_r_failed(r))
		return snap_r_failed(r);
	int rc = vtransport_load(&m->t, r);
	if (rc)
		return rc;
	m->dev_features_sel = dsel;
	m->drv_features_sel = gsel;
	m->queue_sel = qsel;
	m->shm_sel = shm;
	m->isr = isr;
	/* The interrupt controller's state is the backend's to restore
	 * (the simulator's recorder, KVM's irqchip): not driven here. */
	m->level = level;
	return snap_r_end(r);
}
