/* virtio-pci in a snapshot (docs/snapshot.md "virtio-pci"): the PCI
 * function (config space, MSI-X table and PBA), the virtio registers both
 * interfaces share (modern common config, legacy I/O header: one queue
 * selector, the config vector, ISR), then the common virtio state and the
 * device model (transport_snap.c). */
#include <errno.h>
#include "core/snapshot.h"
#include "devices/pci/pci_snap.h"
#include "pci_priv.h"
#include "transport_snap.h"

int virtio_pci_save(const struct virtio_pci *p, struct snap_w *w)
{
	snap_w_begin(w, "virtio-pci", 1);
	snap_w_u8(w, "mode", (uint8_t)p->mode);
	pci_dev_save(&p->pci, w);
	msix_save(&p->msix, w);
	snap_w_u32(w, "dfselect", p->dfselect);
	snap_w_u32(w, "gfselect", p->gfselect);
	snap_w_u16(w, "queue_sel", p->queue_sel);
	snap_w_u16(w, "config_vector", p->config_vector);
	snap_w_u8(w, "isr", p->isr);
	int rc = vtransport_save(&p->t, w);
	snap_w_end(w);
	return rc;
}

int virtio_pci_load(struct virtio_pci *p, struct snap_r *r)
{
	uint8_t mode = 0, isr = 0;
	uint32_t dsel = 0, gsel = 0;
	uint16_t qsel = 0, cvec = 0;
	snap_r_begin(r, "virtio-pci", 1, NULL);
	snap_r_u8(r, "mode", &mode);
	snap_r_check(r, mode == (uint8_t)p->mode, "mode",
		     "modern/transitional/legacy differs (disable-legacy, "
		     "disable-modern)");
	if (snap_r_failed(r))
		return snap_r_failed(r);
	int rc = pci_dev_load(&p->pci, r);
	if (!rc)
		rc = msix_load(&p->msix, r);
	if (rc)
		return rc;
	snap_r_u32(r, "dfselect", &dsel);
	snap_r_u32(r, "gfselect", &gsel);
	snap_r_u16(r, "queue_sel", &qsel);
	snap_r_u16(r, "config_vector", &cvec);
	snap_r_u8(r, "isr", &isr);
	/* §4.1.4.5: ISR bit 0 queue, bit 1 config. */
	snap_r_check(r, (isr & ~3u) == 0, "isr", "unknown bits");
	snap_r_check(r, cvec == VTRANSPORT_NO_VECTOR || cvec < p->msix.nvec,
		     "config_vector", "beyond the MSI-X table");
	if (snap_r_failed(r))
		return snap_r_failed(r);
	rc = vtransport_load(&p->t, r);
	if (rc)
		return rc;
	for (unsigned q = 0; q < p->vd->nqueues; q++) {
		uint16_t v = p->t.q[q].msix_vector;
		if (snap_r_check(r, v == VTRANSPORT_NO_VECTOR || v < p->msix.nvec,
				 "msix_vector", "a queue vector beyond the MSI-X table"))
			return snap_r_failed(r);
	}
	p->dfselect = dsel;
	p->gfselect = gsel;
	p->queue_sel = qsel;
	p->config_vector = cvec;
	p->isr = isr;
	/* BARs where the saved config space puts them; the DMA gate reads
	 * Bus Master Enable live, so it follows by itself. */
	pci_host_update_mappings(&p->pci);
	return snap_r_end(r);
}
