/* PCI Express hot-plug on the board: device_add builds one more virtio
 * function from the (already extended) machine description and puts it
 * in its root port's slot; device_del presses the port's attention button;
 * when the guest has powered the slot off the port hands the function
 * back and the board frees exactly what that device owned, then tells
 * the host (board_host.device_deleted: DEVICE_DELETED).  A failure while
 * building frees everything built so far: nothing half-added stays. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "machine/board_int.h"
#include "devices/pci/pcie_port.h"

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
	struct pcie_port *port = d->parent >= 0 ? b->pcie_ports[d->parent] : NULL;
	if (!port || b->nhot >= CFG_MAX_ITEMS || first == b->nitems)
		return;
	struct board_hot *h = &b->hot[b->nhot++];
	snprintf(h->id, sizeof(h->id), "%s", d->id);
	h->port = port;
	h->first = first;
	h->end = b->nitems;
}

/* The port's `removed` hook: the guest powered the slot off. */
void board_port_removed(void *opaque, struct pcie_port *p, struct pci_dev *dev)
{
	struct board *b = opaque;
	(void)dev;
	for (unsigned k = 0; k < b->nhot; k++) {
		if (b->hot[k].port != p)
			continue;
		char id[CFG_ID_MAX];
		memcpy(id, b->hot[k].id, sizeof(id));
		bh_free_items(b, b->hot[k].first, b->hot[k].end);
		b->hot[k] = b->hot[--b->nhot];
		b->ndevices--;
		if (b->host && b->host->device_deleted)
			b->host->device_deleted(b->host->device_deleted_opaque, id);
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
	struct pcie_port *port = d->parent >= 0 ? b->pcie_ports[d->parent] : NULL;
	if (!port) {
		snprintf(err, errlen, "Bus '%s' does not support hotplugging", d->bus);
		return -1;
	}
	if (d->type != CFG_DEV_VIRTIO_BLK && d->type != CFG_DEV_VIRTIO_NET &&
	    d->type != CFG_DEV_VIRTIO_VSOCK && d->type != CFG_DEV_VHOST_VSOCK &&
	    !board_is_vhost(d)) {
		snprintf(err, errlen, "Device '%s' can not be hotplugged on this machine",
			 config_device_name(d));
		return -1;
	}
	if (d->iothread[0]) {
		snprintf(err, errlen, "iothread= is not supported on a hot-plugged device");
		return -1;
	}
	unsigned first = b->nitems, ndev = b->ndevices;
	b->hotplugging = true;
	int r = board_virtio_device(b, i, err, errlen);
	b->hotplugging = false;
	if (r < 0) {
		bh_free_items(b, first, b->nitems);
		b->ndevices = ndev;
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
		if (pcie_port_unplug_pending(b->hot[k].port))
			return -EALREADY;
		return pcie_port_request_unplug(b->hot[k].port);
	}
	return -ENODEV;
}
