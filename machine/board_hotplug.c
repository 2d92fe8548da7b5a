/* PCI hot-plug on the board: device_add builds one more virtio function
 * from the (already extended) machine description and puts it in its
 * root port's slot (PCIe native hot-plug) or a pci-bridge's SHPC slot;
 * device_del presses the slot's attention button; when the guest has
 * powered the slot off the port or SHPC hands the function back and the board frees exactly what that device owned, then tells
 * the host (board_host.device_deleted: DEVICE_DELETED).  A failure while
 * building frees everything built so far: nothing half-added stays. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "machine/board_int.h"
#include "devices/pci/pcie_port.h"
#include "devices/pci/shpc.h"
#include "devices/virtio/console.h"
#include "devices/virtio/scsi.h"

static void bh_free_items(struct board *b, unsigned first, unsigned end)
{
	for (unsigned k = end; k > first; k--) {
		struct board_item *it = &b->items[k - 1];
		if (it->free)
			it->free(it->obj);
		it->free = NULL;
		it->obj = NULL;
	}
	/* Give back the tail, so add/remove cycles do not use up items. */
	while (b->nitems > 0 && !b->items[b->nitems - 1].free &&
	       !b->items[b->nitems - 1].obj)
		b->nitems--;
}

void board_hot_note(struct board *b, unsigned i, unsigned first)
{
	const struct cfg_device *d = &b->cfg->devices[i];
	if (d->type == CFG_DEV_VIRTCONSOLE) {
		/* A port: device_del removes it.  Its chardev is the board's
		 * (b->chrs), so it owns no items. */
		struct vcon *vc = d->parent >= 0 ? b->vcons[d->parent] : NULL;
		if (!vc || b->nhot >= CFG_MAX_ITEMS)
			return;
		struct board_hot *h = &b->hot[b->nhot++];
		memset(h, 0, sizeof(*h));
		snprintf(h->id, sizeof(h->id), "%s", d->id);
		h->vcon = vc;
		h->port = NULL;
		h->first = h->end = b->nitems;
		/* At start-up ports are numbered in command-line order. */
		unsigned n = 0;
		for (unsigned j = 0; j < i; j++)
			n += b->cfg->devices[j].type == CFG_DEV_VIRTCONSOLE &&
			     b->cfg->devices[j].parent == d->parent;
		h->slot = n;
		return;
	}
	if (d->type == CFG_DEV_SCSI_HD) {
		/* An LU: device_del removes it, and frees what it opened when
		 * it was hot-added (at start-up its backend belongs to the
		 * adapter's items: [first, end) is then empty). */
		struct vscsi *s = d->parent >= 0 ? b->vscsis[d->parent] : NULL;
		if (!s || b->nhot >= CFG_MAX_ITEMS)
			return;
		struct board_hot *h = &b->hot[b->nhot++];
		memset(h, 0, sizeof(*h));
		snprintf(h->id, sizeof(h->id), "%s", d->id);
		h->scsi = s;
		h->target = (unsigned)d->scsi_id;
		h->lun = d->scsi_lun;
		h->first = first;
		h->end = b->nitems;
		return;
	}
	struct pcie_port *port = d->parent >= 0 ? b->pcie_ports[d->parent] : NULL;
	struct shpc *sh = d->parent >= 0 ? b->shpcs[d->parent] : NULL;
	const struct layout_dev *ld = layout_dev_for(b->l, (int)i);
	if (sh && (!ld || ld->pci_func != 0))
		sh = NULL;   /* functions other than 0 are not the SHPC's */
	if ((!port && !sh) || b->nhot >= CFG_MAX_ITEMS || first == b->nitems)
		return;
	struct board_hot *h = &b->hot[b->nhot++];
	memset(h, 0, sizeof(*h));
	snprintf(h->id, sizeof(h->id), "%s", d->id);
	h->port = port;
	h->shpc = sh;
	h->slot = sh ? (unsigned)ld->pci_slot : 0;
	h->first = first;
	h->end = b->nitems;
}

/* The device of hot entry k is gone from its slot: free what it owned,
 * tell the host. */
static void bh_gone(struct board *b, unsigned k)
{
	char id[CFG_ID_MAX];
	memcpy(id, b->hot[k].id, sizeof(id));
	/* LUs and serial ports are no board device. */
	bool lu = b->hot[k].scsi != NULL || b->hot[k].vcon != NULL;
	bh_free_items(b, b->hot[k].first, b->hot[k].end);
	b->hot[k] = b->hot[--b->nhot];
	if (!lu)
		b->ndevices--;
	if (b->host && b->host->device_deleted)
		b->host->device_deleted(b->host->device_deleted_opaque, id);
}

/* The SHPC's `removed` hook: the guest disabled the slot. */
void board_shpc_removed(void *opaque, struct shpc *s, unsigned slot, struct pci_dev *dev)
{
	struct board *b = opaque;
	(void)dev;
	for (unsigned k = 0; k < b->nhot; k++)
		if (b->hot[k].shpc == s && b->hot[k].slot == slot) {
			bh_gone(b, k);
			return;
		}
}

/* The port's `removed` hook: the guest powered the slot off. */
void board_port_removed(void *opaque, struct pcie_port *p, struct pci_dev *dev)
{
	struct board *b = opaque;
	(void)dev;
	for (unsigned k = 0; k < b->nhot; k++) {
		if (b->hot[k].port != p)
			continue;
		bh_gone(b, k);
		return;
	}
}

int board_hotplug_add(struct board *b, unsigned i, char *err, size_t errlen)
{
	if (i >= b->cfg->ndevices) {
		snprintf(err, errlen, "no such device");
		return -1;
	}
	const struct cfg_device *d = &b->cfg->devices[i];
	if (d->type == CFG_DEV_VIRTCONSOLE) {
		/* A chardev opened here stays cached by the board (b->chrs),
		 * so nothing is unwound on failure. */
		int port = board_serial_port(b, i, 0, true, err, errlen);
		if (port < 0)
			return -1;
		board_hot_note(b, i, b->nitems);
		b->hot[b->nhot - 1].slot = (unsigned)port;
		return 0;
	}
	if (d->type == CFG_DEV_SCSI_HD) {
		unsigned first = b->nitems;
		if (board_scsi_lun(b, i, true, err, errlen) < 0) {
			bh_free_items(b, first, b->nitems);
			return -1;
		}
		board_hot_note(b, i, first);
		return 0;
	}
	struct pcie_port *port = d->parent >= 0 ? b->pcie_ports[d->parent] : NULL;
	struct shpc *sh = d->parent >= 0 ? b->shpcs[d->parent] : NULL;
	const struct layout_dev *ld = layout_dev_for(b->l, (int)i);
	if (sh && ld && (ld->pci_slot < 1 || ld->pci_func != 0)) {
		/* QEMU's shpc_device_plug_common words. */
		snprintf(err, errlen, "Unsupported PCI slot %d for standard hotplug controller. "
			 "Valid slots are between 1 and %u.", ld->pci_slot, SHPC_NSLOTS);
		return -1;
	}
	if (!port && !sh) {
		snprintf(err, errlen, "Bus '%s' does not support hotplugging", d->bus);
		return -1;
	}
	if (d->type != CFG_DEV_VIRTIO_BLK && d->type != CFG_DEV_VIRTIO_NET &&
	    d->type != CFG_DEV_VIRTIO_VSOCK && d->type != CFG_DEV_VHOST_VSOCK &&
	    d->type != CFG_DEV_VIRTIO_MEM && !board_is_vhost(d)) {
		snprintf(err, errlen, "Device '%s' can not be hotplugged on this machine",
			 config_device_name(d));
		return -1;
	}
	if (d->iothread[0]) {
		snprintf(err, errlen, "iothread= is not supported on a hot-plugged device");
		return -1;
	}
	unsigned first = b->nitems, ndev = b->ndevices, nvmems = b->nvmems;
	b->hotplugging = true;
	int r = board_virtio_device(b, i, err, errlen);
	b->hotplugging = false;
	if (r < 0) {
		bh_free_items(b, first, b->nitems);
		b->ndevices = ndev;
		/* A virtio-mem built before the failure was freed with the
		 * items: qom-set must not find it. */
		b->nvmems = nvmems;
		return -1;
	}
	board_hot_note(b, i, first);
	return 0;
}

int board_hotplug_del(struct board *b, const char *id)
{
	for (unsigned k = 0; k < b->nhot; k++) {
		if (strcmp(b->hot[k].id, id) != 0)
			continue;
		if (b->hot[k].vcon) {
			/* A port goes at once, as in QEMU (DEVICE_REMOVE). */
			if (vcon_remove_port(b->hot[k].vcon, b->hot[k].slot) < 0)
				return -ENODEV;
			bh_gone(b, k);
			return 0;
		}
		if (b->hot[k].scsi) {
			/* An LU goes at once, as in QEMU: the driver is told
			 * by the event and the unit attention. */
			if (vscsi_remove_lun(b->hot[k].scsi, b->hot[k].target, b->hot[k].lun) < 0)
				return -ENODEV;
			bh_gone(b, k);
			return 0;
		}
		if (b->hot[k].shpc) {
			struct shpc *sh = b->hot[k].shpc;
			/* A repeated request presses the button again, as
			 * QEMU's SHPC does (no "already in the process").
			 * 1: a slot the guest never enabled, gone already. */
			int r = shpc_request_unplug(sh, b->hot[k].slot);
			return r > 0 ? 0 : r;
		}
		if (pcie_port_unplug_pending(b->hot[k].port))
			return -EALREADY;
		return pcie_port_request_unplug(b->hot[k].port);
	}
	return -ENODEV;
}
