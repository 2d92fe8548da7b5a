/* virtio-pci modern transport (virtio 1.2 §4.1), and the identity and
 * BARs of all three shapes (pci.h).  Structure layouts come from
 * <linux/virtio_pci.h>, the spec's own definitions. */
#define VIRTIO_PCI_NO_LEGACY
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_pci.h>
#include "core/gm.h"
#include "devices/pci/msix.h"
#include "devices/pci/pci.h"
#include "pci.h"
#include "pci_priv.h"
#include "transport.h"

/* Class codes (PCI Code and ID Assignment 1.11) as QEMU presents them. */
#define CLASS_STORAGE_SCSI 0x010000u
#define CLASS_NETWORK_ETHERNET 0x020000u
#define CLASS_COMMUNICATION_OTHER 0x078000u
#define CLASS_OTHERS 0xff0000u

#define F(field) offsetof(struct virtio_pci_common_cfg, field)
#define FSZ(field) sizeof(((struct virtio_pci_common_cfg *)0)->field)


uint32_t virtio_pci_class(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET: return CLASS_NETWORK_ETHERNET;
	case VIRTIO_ID_BLOCK: return CLASS_STORAGE_SCSI;
	case VIRTIO_ID_SCSI: return CLASS_STORAGE_SCSI;
	case VIRTIO_ID_CONSOLE: return CLASS_COMMUNICATION_OTHER;
	default: return CLASS_OTHERS;
	}
}

uint16_t virtio_pci_transitional_id(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET: return 0x1000;
	case VIRTIO_ID_BLOCK: return 0x1001;
	case VIRTIO_ID_BALLOON: return 0x1002;
	case VIRTIO_ID_CONSOLE: return 0x1003;
	case 8: return 0x1004;     /* SCSI host */
	case VIRTIO_ID_RNG: return 0x1005;
	case 9: return 0x1009;     /* 9P transport */
	case 19: return 0x1012;    /* vsock: QEMU's id, not in Table 4.1 */
	default: return 0;
	}
}

struct pci_dev *virtio_pci_dev(struct virtio_pci *p) { return &p->pci; }
struct msix *virtio_pci_msix(struct virtio_pci *p) { return &p->msix; }
struct vdev *virtio_pci_vdev(struct virtio_pci *p) { return p->vd; }
uint8_t virtio_pci_isr(const struct virtio_pci *p) { return p->isr; }

/* ---- interrupts (§4.1.5) ---- */

static void interrupt(struct virtio_pci *p, uint8_t isr_bit, uint16_t vector)
{
	if (msix_enabled(&p->msix)) {
		/* With MSI-X the vector is the whole notification; NO_VECTOR
		 * means the driver wants none (§4.1.5.1.2). */
		if (vector != VTRANSPORT_NO_VECTOR)
			msix_notify(&p->msix, vector);
		return;
	}
	p->isr |= isr_bit;
	pci_set_irq(&p->pci, 1);
}

static void notify_queue(void *opaque, unsigned q)
{
	struct virtio_pci *p = opaque;
	interrupt(p, VIRTIO_PCI_ISR_QUEUE, q < VDEV_MAX_QUEUES ?
	      p->t.q[q].msix_vector : VTRANSPORT_NO_VECTOR);
}

static void notify_config(void *opaque)
{
	struct virtio_pci *p = opaque;
	interrupt(p, VIRTIO_PCI_ISR_CONFIG, p->config_vector);
}

static int queue_msi(void *opaque, unsigned q, uint64_t *addr, uint32_t *data)
{
	struct virtio_pci *p = opaque;
	if (q >= VDEV_MAX_QUEUES || p->t.q[q].msix_vector == VTRANSPORT_NO_VECTOR)
		return -1;
	return msix_vector_message(&p->msix, p->t.q[q].msix_vector, addr, data);
}

void virtio_pci_vectors_changed(struct virtio_pci *p)
{
	if (p->vd && p->vd->ops && p->vd->ops->vectors_changed)
		p->vd->ops->vectors_changed(p->vd);
}

static const struct vdev_transport_ops pci_tops = {
	.queue_msi = queue_msi,
	.notify_queue = notify_queue,
	.notify_config = notify_config,
};

/* Vectors the driver names are checked against the table: an unmappable
 * one reads back NO_VECTOR, which is how the driver learns (§4.1.5.1.2.1). */
uint16_t virtio_pci_map_vector(struct virtio_pci *p, uint16_t v)
{
	return v < p->msix.nvec ? v : VTRANSPORT_NO_VECTOR;
}

/* ---- common configuration (§4.1.4.3) ---- */

static void common_snapshot(struct virtio_pci *p, struct virtio_pci_common_cfg *c)
{
	struct vdev *vd = p->vd;
	unsigned q = p->queue_sel;
	memset(c, 0, sizeof(*c));
	c->device_feature_select = htole32(p->dfselect);
	c->device_feature = htole32(vtransport_device_features(&p->t, p->dfselect));
	c->guest_feature_select = htole32(p->gfselect);
	c->guest_feature = htole32(vtransport_driver_features_word(&p->t, p->gfselect));
	c->msix_config = htole16(p->config_vector);
	c->num_queues = htole16((uint16_t)vd->nqueues);
	c->device_status = vd->status;
	c->config_generation = (uint8_t)vd->config_generation;
	c->queue_select = htole16(p->queue_sel);
	if (q >= vd->nqueues)
		return;  /* §4.1.4.3.2: a missing queue has size 0 */
	const struct vq_config *qc = &p->t.q[q];
	c->queue_size = htole16(qc->size);
	c->queue_msix_vector = htole16(qc->msix_vector);
	c->queue_enable = htole16(qc->ready);
	c->queue_notify_off = htole16((uint16_t)q);
	c->queue_desc_lo = htole32((uint32_t)qc->desc);
	c->queue_desc_hi = htole32((uint32_t)(qc->desc >> 32));
	c->queue_avail_lo = htole32((uint32_t)qc->driver);
	c->queue_avail_hi = htole32((uint32_t)(qc->driver >> 32));
	c->queue_used_lo = htole32((uint32_t)qc->device);
	c->queue_used_hi = htole32((uint32_t)(qc->device >> 32));
}

static void common_read(struct virtio_pci *p, uint64_t off, void *data,
			unsigned len)
{
	struct virtio_pci_common_cfg c;
	common_snapshot(p, &c);
	memset(data, 0, len);
	/* Fields past the structure (1.2's queue_notify_data / queue_reset,
	 * features we do not offer) and the rest of the page read 0. */
	if (off < sizeof(c))
		memcpy(data, (uint8_t *)&c + off,
		       len < sizeof(c) - off ? len : sizeof(c) - off);
}

static void set_addr_half(uint64_t *a, bool hi, uint32_t v)
{
	if (hi)
		*a = (*a & 0xffffffffull) | (uint64_t)v << 32;
	else
		*a = (*a & ~0xffffffffull) | v;
}

void virtio_pci_reset_registers(struct virtio_pci *p)
{
	p->isr = 0;
	p->dfselect = p->gfselect = 0;
	p->queue_sel = 0;
	p->config_vector = VTRANSPORT_NO_VECTOR;
	pci_set_irq(&p->pci, 0);
}

static void queue_reg_write(struct virtio_pci *p, uint32_t off, unsigned len,
			    uint32_t v)
{
	unsigned q = p->queue_sel;
	if (off == F(queue_enable)) {
		/* §4.1.4.3.2: the driver MUST NOT write 0 to queue_enable. */
		if (v == 0)
			log_rl(p->t.log, &p->rl, LOG_WARN,
			       "virtio-pci: queue_enable=0 ignored");
		else
			vtransport_queue_set_ready(&p->t, q, true);
		return;
	}
	if (!vtransport_queue_writable(&p->t, q, "common cfg"))
		return;
	struct vq_config *qc = &p->t.q[q];
	if (off == F(queue_size))
		qc->size = (uint16_t)v;
	else if (off == F(queue_msix_vector)) {
		qc->msix_vector = virtio_pci_map_vector(p, (uint16_t)v);
		virtio_pci_vectors_changed(p);
	}
	else if (off >= F(queue_desc_lo) && off < F(queue_avail_lo))
		set_addr_half(&qc->desc, off == F(queue_desc_hi), v);
	else if (off >= F(queue_avail_lo) && off < F(queue_used_lo))
		set_addr_half(&qc->driver, off == F(queue_avail_hi), v);
	else
		set_addr_half(&qc->device, off == F(queue_used_hi), v);
	(void)len;
}

/* Each field is written with its own width; the 64-bit queue addresses
 * may also be written as two 32-bit halves (§4.1.3.1). */
static unsigned field_width(uint32_t off)
{
	static const struct { uint32_t off; unsigned w; } f[] = {
		{ F(device_feature_select), FSZ(device_feature_select) },
		{ F(guest_feature_select), FSZ(guest_feature_select) },
		{ F(guest_feature), FSZ(guest_feature) },
		{ F(msix_config), FSZ(msix_config) },
		{ F(device_status), FSZ(device_status) },
		{ F(queue_select), FSZ(queue_select) },
		{ F(queue_size), FSZ(queue_size) },
		{ F(queue_msix_vector), FSZ(queue_msix_vector) },
		{ F(queue_enable), FSZ(queue_enable) },
		{ F(queue_desc_lo), 4 }, { F(queue_desc_hi), 4 },
		{ F(queue_avail_lo), 4 }, { F(queue_avail_hi), 4 },
		{ F(queue_used_lo), 4 }, { F(queue_used_hi), 4 },
	};
	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].off == off)
			return f[i].w;
	return 0;  /* read-only or reserved */
}

static void common_write(struct virtio_pci *p, uint64_t off64, const void *data,
			 unsigned len)
{
	uint32_t off = (uint32_t)off64;
	uint64_t v64 = 0;
	vtransport_set_legacy(&p->t, false);
	memcpy(&v64, data, len);
	v64 = le64toh(v64);
	bool split64 = len == 8 && (off == F(queue_desc_lo) || off == F(queue_avail_lo) ||
				    off == F(queue_used_lo));
	if (split64) {
		/* A single 64-bit write of a queue address: two halves. */
		common_write(p, off, &(uint32_t){ htole32((uint32_t)v64) }, 4);
		common_write(p, off + 4, &(uint32_t){ htole32((uint32_t)(v64 >> 32)) }, 4);
		return;
	}
	if (off64 >= sizeof(struct virtio_pci_common_cfg) || field_width(off) != len) {
		log_rl(p->t.log, &p->rl, LOG_WARN,
		       "virtio-pci: common cfg write at 0x%x len %u ignored", off, len);
		return;
	}
	uint32_t v = (uint32_t)v64;
	if (off == F(device_feature_select))
		p->dfselect = v;
	else if (off == F(guest_feature_select))
		p->gfselect = v;
	else if (off == F(guest_feature))
		vtransport_driver_features(&p->t, p->gfselect, v);
	else if (off == F(msix_config))
		p->config_vector = virtio_pci_map_vector(p, (uint16_t)v);
	else if (off == F(device_status)) {
		if (vtransport_set_status(&p->t, (uint8_t)v))
			virtio_pci_reset_registers(p);
	} else if (off == F(queue_select))
		p->queue_sel = (uint16_t)v;
	else if (p->queue_sel >= p->vd->nqueues)
		log_rl(p->t.log, &p->rl, LOG_WARN,
		       "virtio-pci: queue %u does not exist", p->queue_sel);
	else
		queue_reg_write(p, off, len, v);
}

/* ---- BAR 4: common, ISR, device, notify ---- */

static int regs_access(void *opaque, uint64_t off, void *data, unsigned len,
		       bool is_write)
{
	struct virtio_pci *p = opaque;
	if (off < VIRTIO_PCI_ISR_OFF) {
		if (is_write)
			common_write(p, off, data, len);
		else
			common_read(p, off, data, len);
	} else if (off < VIRTIO_PCI_DEVICE_OFF) {
		/* §4.1.4.5: reading ISR status returns and clears it, and
		 * deasserts the INTx line. */
		if (!is_write) {
			memset(data, 0, len);
			if (off == VIRTIO_PCI_ISR_OFF) {
				((uint8_t *)data)[0] = p->isr;
				p->isr = 0;
				pci_set_irq(&p->pci, 0);
			}
		}
	} else if (off < VIRTIO_PCI_NOTIFY_OFF) {
		if (is_write)
			vtransport_config_write(&p->t, off - VIRTIO_PCI_DEVICE_OFF, data, len);
		else
			vtransport_config_read(&p->t, off - VIRTIO_PCI_DEVICE_OFF, data, len);
	} else {
		/* queue_notify_off(q) * multiplier = 4q (§4.1.4.4). */
		uint64_t n = off - VIRTIO_PCI_NOTIFY_OFF;
		if (!is_write)
			memset(data, 0, len);
		else if (!pci_dma_allowed(&p->pci))
			/* Without Bus Master Enable the function may not touch
			 * memory (PCI 3.0 §6.2.2); the ring is looked at again
			 * when mastering is back (dma_changed). */
			log_rl(p->t.log, &p->rl, LOG_DEBUG,
			       "virtio-pci: kick with bus mastering off deferred");
		else if (n % VIRTIO_PCI_NOTIFY_MULT == 0)
			vtransport_kick(&p->t, (unsigned)(n / VIRTIO_PCI_NOTIFY_MULT));
		else
			log_rl(p->t.log, &p->rl, LOG_WARN,
			       "virtio-pci: notify at unaligned 0x%llx",
			       (unsigned long long)n);
	}
	return 0;
}

static int msix_bar(void *opaque, uint64_t off, void *data, unsigned len,
		    bool is_write)
{
	struct virtio_pci *p = opaque;
	if (msix_bar_access(&p->msix, off, data, len, is_write) && !is_write)
		memset(data, 0, len);
	if (is_write)
		virtio_pci_vectors_changed(p);  /* an entry or its mask */
	return 0;
}

/* ---- capabilities (§4.1.4) and the pci_cfg window (§4.1.4.9) ---- */

#define CAP(field) offsetof(struct virtio_pci_cap, field)
#define CFGCAP_DATA offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)

static int add_vcap(struct virtio_pci *p, uint8_t type, uint8_t bar,
		    uint32_t off, uint32_t length, unsigned caplen)
{
	int c = pci_dev_add_cap(&p->pci, PCI_CAP_ID_VNDR, caplen);
	if (c < 0)
		return c;
	pci_cfg_set8(&p->pci, c + CAP(cap_len), (uint8_t)caplen);
	pci_cfg_set8(&p->pci, c + CAP(cfg_type), type);
	pci_cfg_set8(&p->pci, c + CAP(bar), bar);
	pci_cfg_set32(&p->pci, c + CAP(offset), off);
	pci_cfg_set32(&p->pci, c + CAP(length), length);
	return c;
}

/* The window's access, if the driver set it up as §4.1.4.9 demands:
 * length 1, 2 or 4, offset aligned to it, inside our registers BAR. */
static bool window(struct virtio_pci *p, uint32_t *off, unsigned *len)
{
	uint8_t c = p->cfg_cap;
	uint8_t bar = pci_cfg_get8(&p->pci, c + CAP(bar));
	*off = pci_cfg_get32(&p->pci, c + CAP(offset));
	uint32_t l = pci_cfg_get32(&p->pci, c + CAP(length));
	*len = (unsigned)l;
	if (bar == VIRTIO_PCI_BAR_REGS && (l == 1 || l == 2 || l == 4) &&
	    (*off % l) == 0 && *off < VIRTIO_PCI_REGS_SIZE &&
	    l <= VIRTIO_PCI_REGS_SIZE - *off)
		return true;
	log_rl(p->t.log, &p->rl, LOG_WARN,
	       "virtio-pci: pci_cfg window bar %u offset 0x%x length %u refused",
	       bar, *off, l);
	return false;
}

static bool hits_data(const struct virtio_pci *p, uint32_t off, unsigned len)
{
	uint32_t d = p->cfg_cap + (uint32_t)CFGCAP_DATA;
	return off < d + 4 && d < off + len;
}

static void cfg_written(struct pci_dev *d, uint32_t off, unsigned len)
{
	struct virtio_pci *p = d->opaque;
	uint32_t boff;
	unsigned blen;
	/* MSI-X enable and function mask live in config space. */
	virtio_pci_vectors_changed(p);
	if (!p->cfg_cap || !hits_data(p, off, len) || !window(p, &boff, &blen))
		return;
	regs_access(p, boff, &d->cfg[p->cfg_cap + CFGCAP_DATA], blen, true);
}

static void cfg_before_read(struct pci_dev *d, uint32_t off, unsigned len)
{
	struct virtio_pci *p = d->opaque;
	uint32_t boff;
	unsigned blen;
	if (!p->cfg_cap || !hits_data(p, off, len) || !window(p, &boff, &blen))
		return;
	memset(&d->cfg[p->cfg_cap + CFGCAP_DATA], 0, 4);
	regs_access(p, boff, &d->cfg[p->cfg_cap + CFGCAP_DATA], blen, false);
}

static bool dma_gate(void *opaque)
{
	struct virtio_pci *p = opaque;
	return pci_dma_allowed(&p->pci);
}

/* Bus mastering is back: work that waited for it (host-side input, timer
 * work, requests kicked before) goes on, as if each ready queue had been
 * kicked.  Held MSI-X messages were already sent by the PCI core. */
static void dma_changed(struct pci_dev *d)
{
	struct virtio_pci *p = d->opaque;
	virtio_pci_vectors_changed(p);
	if (!pci_dma_allowed(d))
		return;
	for (unsigned q = 0; q < p->vd->nqueues && q < VDEV_MAX_QUEUES; q++)
		if (p->t.q[q].ready)
			vtransport_kick(&p->t, q);
}

/* A conventional reset (Secondary Bus Reset, PCI-to-PCI Bridge Arch 1.2
 * §3.2.5.17) puts the function in its power-on state: for a virtio
 * device that is the state after a device reset, status 0 (virtio 1.2
 * §2.4).  The device stops, its queues are forgotten, the driver starts
 * over. */
static void function_reset(struct pci_dev *d)
{
	struct virtio_pci *p = d->opaque;
	vtransport_reset(&p->t);
	virtio_pci_reset_registers(p);
}

static const struct pci_dev_ops cfg_ops = {
	.cfg_written = cfg_written,
	.cfg_before_read = cfg_before_read,
	.reset = function_reset,
	.dma_changed = dma_changed,
};

static int caps_init(struct virtio_pci *p)
{
	struct vdev *vd = p->vd;
	if (add_vcap(p, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_BAR_REGS,
		     VIRTIO_PCI_COMMON_OFF, sizeof(struct virtio_pci_common_cfg),
		     sizeof(struct virtio_pci_cap)) < 0 ||
	    add_vcap(p, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_BAR_REGS,
		     VIRTIO_PCI_ISR_OFF, 1, sizeof(struct virtio_pci_cap)) < 0)
		return -ENOSPC;
	if (vd->config_size &&
	    add_vcap(p, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_BAR_REGS,
		     VIRTIO_PCI_DEVICE_OFF, vd->config_size,
		     sizeof(struct virtio_pci_cap)) < 0)
		return -ENOSPC;
	int n = add_vcap(p, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_BAR_REGS,
			 VIRTIO_PCI_NOTIFY_OFF,
			 VIRTIO_PCI_NOTIFY_MULT * (vd->nqueues ? vd->nqueues : 1),
			 sizeof(struct virtio_pci_notify_cap));
	if (n < 0)
		return n;
	pci_cfg_set32(&p->pci, n + offsetof(struct virtio_pci_notify_cap,
					    notify_off_multiplier),
		      VIRTIO_PCI_NOTIFY_MULT);
	int c = add_vcap(p, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0,
			 sizeof(struct virtio_pci_cfg_cap));
	if (c < 0)
		return c;
	/* The driver programs bar/offset/length and moves data through the
	 * window (§4.1.4.9); everything else in it is read-only. */
	p->cfg_cap = (uint8_t)c;
	pci_cfg_set_wmask(&p->pci, c + CAP(bar), 1, 0xff);
	pci_cfg_set_wmask(&p->pci, c + CAP(offset), 4, 0xffffffff);
	pci_cfg_set_wmask(&p->pci, c + CAP(length), 4, 0xffffffff);
	pci_cfg_set_wmask(&p->pci, c + CFGCAP_DATA, 4, 0xffffffff);
	return 0;
}

struct virtio_pci *virtio_pci_new(const struct gm *gm, struct log *log,
				  struct irq_chip *chip, struct vdev *vd)
{
	return virtio_pci_create(gm, log, chip, vd, VIRTIO_PCI_MODERN,
				 vd->nqueues + 1u);
}

struct virtio_pci *virtio_pci_new_nvec(const struct gm *gm, struct log *log,
				       struct irq_chip *chip, struct vdev *vd,
				       unsigned nvec)
{
	return virtio_pci_create(gm, log, chip, vd, VIRTIO_PCI_MODERN, nvec);
}

struct virtio_pci *virtio_pci_new_mode(const struct gm *gm, struct log *log,
				       struct irq_chip *chip, struct vdev *vd,
				       enum virtio_pci_mode mode)
{
	return virtio_pci_create(gm, log, chip, vd, mode, vd->nqueues + 1u);
}

struct virtio_pci *virtio_pci_create(const struct gm *gm, struct log *log,
				     struct irq_chip *chip, struct vdev *vd,
				     enum virtio_pci_mode mode, unsigned nvec)
{
	if (vd->nqueues > VDEV_MAX_QUEUES || vd->config_size > 0x1000 ||
	    nvec > MSIX_MAX_VECTORS)
		return NULL;
	uint16_t tid = virtio_pci_transitional_id(vd->device_id);
	if (mode != VIRTIO_PCI_MODERN && !tid)
		return NULL;
	struct virtio_pci *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->view = gm_view_new(gm, dma_gate, p);
	if (!p->view) {
		free(p);
		return NULL;
	}
	p->vd = vd;
	p->mode = mode;
	/* §4.1.2.1: non-transitional device ID 0x1040 + id, revision >= 1;
	 * §4.1.2.2 / QEMU: a transitional one has revision 0 and names the
	 * device type in its subsystem id. */
	uint16_t modern_id = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + vd->device_id);
	struct pci_dev_info info = {
		.vendor_id = VIRTIO_PCI_VENDOR,
		.device_id = mode == VIRTIO_PCI_MODERN ? modern_id : tid,
		.subsys_vendor_id = VIRTIO_PCI_VENDOR,
		.subsys_id = mode == VIRTIO_PCI_MODERN ? modern_id : (uint16_t)vd->device_id,
		.class_code = virtio_pci_class(vd->device_id),
		.revision = mode == VIRTIO_PCI_MODERN ? 1 : 0,
		.irq_pin = 1,
	};
	char name[32];
	snprintf(name, sizeof(name), "virtio-pci-%u", (unsigned)vd->device_id);
	pci_dev_init(&p->pci, &info, name, log);
	p->pci.opaque = p;
	p->pci.ops = &cfg_ops;
	/* Rings and buffers are reached through the gated view only: no
	 * device needs a Bus Master check of its own. */
	vtransport_init(&p->t, vd, p->view, log, "virtio-pci", &pci_tops, p);
	vtransport_set_legacy(&p->t, mode == VIRTIO_PCI_LEGACY);
	vd->gm = p->view;
	p->config_vector = VTRANSPORT_NO_VECTOR;
	/* Without MSI-X (nvec 0) there is no table BAR either. */
	int r = nvec ? pci_dev_set_bar(&p->pci, VIRTIO_PCI_BAR_MSIX, PCI_BAR_MEM32,
				       VIRTIO_PCI_MSIX_SIZE, false, msix_bar, p,
				       "virtio-pci-msix") : 0;
	if (!r && mode != VIRTIO_PCI_LEGACY)
		r = pci_dev_set_bar(&p->pci, VIRTIO_PCI_BAR_REGS, PCI_BAR_MEM64,
				    VIRTIO_PCI_REGS_SIZE, false, regs_access, p,
				    "virtio-pci") ?: caps_init(p);
	if (!r && mode != VIRTIO_PCI_MODERN)
		r = virtio_pci_legacy_init(p);
	if (!r && nvec)
		r = msix_init(&p->msix, &p->pci, chip, nvec,
			      VIRTIO_PCI_BAR_MSIX, VIRTIO_PCI_MSIX_TABLE_OFF,
			      VIRTIO_PCI_MSIX_PBA_OFF);
	if (r) {
		gm_free(p->view);
		free(p);
		return NULL;
	}
	return p;
}

void virtio_pci_free(struct virtio_pci *p)
{
	if (!p)
		return;
	if (p->pci.host)
		pci_host_detach(p->pci.host, &p->pci);
	gm_free(p->view);
	free(p);
}
