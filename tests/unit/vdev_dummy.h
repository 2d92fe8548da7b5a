/* A dummy virtio device for the transport tests, and a fixture that puts
 * it on virtio-mmio, on virtio-pci with INTx, or on virtio-pci with MSI-X
 * in a fresh simulated machine, probed by the sim guest driver.
 *
 * The device: ID 0x7f (not a real type, so class "other"), two queues of
 * at most 64 entries, 16 bytes of config (bytes 0..7 read-only
 * 0x10..0x17, 8..15 writable), one device feature bit (DUMMY_F_X) and one
 * it does not offer (DUMMY_F_UNOFFERED).  On a kick it completes every
 * available chain (writing a marker into the writable part) and
 * interrupts; every callback is counted. */
#ifndef VMM_TESTS_VDEV_DUMMY_H
#define VMM_TESTS_VDEV_DUMMY_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/bus.h"
#include "core/gm.h"
#include "core/layout.h"
#include "devices/pci/pci.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/pci.h"
#include "devices/virtio/virtio.h"
#include "sim/sim.h"
#include "sim/vdriver.h"

#define DUMMY_ID 0x7f
#define DUMMY_F_X 5
#define DUMMY_F_UNOFFERED 40
#define DUMMY_QMAX 64
#define DUMMY_CFG 16
#define DUMMY_MMIO_GSI 5
#define DUMMY_SLOT 3

struct dummy {
	struct vdev vd;
	uint8_t config[DUMMY_CFG];
	unsigned resets, activates, notifies[VDEV_MAX_QUEUES], completed;
	int activate_rc;
	bool complete_on_kick;
	struct vq_elem elem;
};

static inline uint64_t dummy_features(struct vdev *vd)
{
	(void)vd;
	return VIRTIO_BIT(DUMMY_F_X);
}

static inline void dummy_config_read(struct vdev *vd, uint32_t off, void *data,
			      unsigned len)
{
	struct dummy *d = vd->priv;
	memcpy(data, d->config + off, len);
}

static inline void dummy_config_write(struct vdev *vd, uint32_t off, const void *data,
			       unsigned len)
{
	struct dummy *d = vd->priv;
	for (unsigned i = 0; i < len; i++)
		if (off + i >= 8)
			d->config[off + i] = ((const uint8_t *)data)[i];
}

static inline int dummy_activate(struct vdev *vd)
{
	struct dummy *d = vd->priv;
	d->activates++;
	return d->activate_rc;
}

static inline void dummy_notify(struct vdev *vd, unsigned q)
{
	struct dummy *d = vd->priv;
	d->notifies[q]++;
	if (!d->complete_on_kick)
		return;
	int rc;
	while ((rc = vq_pop(&vd->vqs[q], &d->elem)) != 0) {
		if (rc < 0)
			continue;
		static const uint8_t mark[4] = { 0xd0, 0x0d, 0xfe, 0xed };
		uint32_t n = d->elem.in_len < 4 ? d->elem.in_len : 4;
		vq_elem_write(vd->gm, &d->elem, 0, mark, n);
		vq_push(&vd->vqs[q], &d->elem, n);
		d->completed++;
	}
	vdev_notify_queue(vd, q);
}

static inline void dummy_reset(struct vdev *vd)
{
	struct dummy *d = vd->priv;
	d->resets++;
	memset(d->config + 8, 0, 8);
}

static const struct vdev_ops dummy_ops = {
	.features = dummy_features,
	.config_read = dummy_config_read,
	.config_write = dummy_config_write,
	.activate = dummy_activate,
	.notify = dummy_notify,
	.reset = dummy_reset,
};

static inline void dummy_init(struct dummy *d, const struct gm *gm)
{
	memset(d, 0, sizeof(*d));
	d->vd.ops = &dummy_ops;
	d->vd.priv = d;
	d->vd.device_id = DUMMY_ID;
	d->vd.config_size = DUMMY_CFG;
	d->vd.nqueues = 2;
	d->vd.queue_max[0] = d->vd.queue_max[1] = DUMMY_QMAX;
	d->vd.gm = gm;
	for (unsigned i = 0; i < 8; i++)
		d->config[i] = (uint8_t)(0x10 + i);
}

enum env_kind { ENV_MMIO, ENV_PCI_INTX, ENV_PCI_MSIX };

struct env {
	enum env_kind kind;
	struct sim *s;
	struct dummy dev;
	struct virtio_mmio *mmio;
	struct pci_host *host;
	struct virtio_pci *pci;
	struct vdriver drv;
	struct vdq vq[2];
};

/* record: keep the sim event log (seed recording). */
static inline struct env *env_new_rec(enum env_kind kind, bool record)
{
	struct env *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->kind = kind;
	struct sim_config sc = { .ram_size = 32 << 20, .record_events = record };
	e->s = sim_new(&sc);
	dummy_init(&e->dev, e->s->m.gm);
	if (kind == ENV_MMIO) {
		e->mmio = virtio_mmio_new(e->s->m.gm, NULL,
					  irq_line(e->s->m.irqchip, DUMMY_MMIO_GSI),
					  &e->dev.vd);
		bus_register(e->s->m.mmio, LAYOUT_VIRTIO_MMIO_BASE,
			     VIRTIO_MMIO_WINDOW, virtio_mmio_access, e->mmio,
			     "virtio-mmio");
		if (vdriver_mmio_probe(&e->drv, e->s, LAYOUT_VIRTIO_MMIO_BASE,
				       DUMMY_MMIO_GSI)) {
			free(e);
			return NULL;
		}
	} else {
		e->host = pci_host_new(e->s->m.pio, e->s->m.mmio, LAYOUT_ECAM_BASE,
				       NULL, e->s->m.irqchip, NULL);
		e->pci = virtio_pci_new(e->s->m.gm, NULL, e->s->m.irqchip, &e->dev.vd);
		pci_host_attach(e->host, virtio_pci_dev(e->pci), DUMMY_SLOT, 0);
		if (vdriver_pci_probe(&e->drv, e->s, DUMMY_SLOT, 0,
				      kind == ENV_PCI_MSIX)) {
			free(e);
			return NULL;
		}
	}
	return e;
}

static inline struct env *env_new(enum env_kind kind)
{
	return env_new_rec(kind, false);
}

static inline void env_free(struct env *e)
{
	if (!e)
		return;
	if (e->mmio) {
		bus_unregister(e->s->m.mmio, LAYOUT_VIRTIO_MMIO_BASE, e->mmio);
		virtio_mmio_free(e->mmio);
	}
	virtio_pci_free(e->pci);
	pci_host_free(e->host);
	sim_free(e->s);
	free(e);
}

/* Negotiate VERSION_1 (+ extra), set up both queues, DRIVER_OK. */
static inline int env_start(struct env *e, uint64_t extra)
{
	int rc = vdriver_negotiate(&e->drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) | extra);
	if (rc)
		return rc;
	for (unsigned q = 0; q < 2; q++)
		if ((rc = vdriver_setup_queue(&e->drv, q, &e->vq[q], 16)))
			return rc;
	vdriver_driver_ok(&e->drv);
	return 0;
}

#endif
