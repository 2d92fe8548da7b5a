/* Virtio transports and the PCI topology under them: the q35 host
 * bridge and its pci-bridge / pcie-root-port / SHPC functions, each
 * -device's virtio-mmio window or virtio-pci function, and its queue
 * doorbells once firmware-style BAR assignment has placed them.  The
 * device models and their backends are board_virtio.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/bus.h"
#include "core/log.h"
#include "machine/board_int.h"
#include "machine/board_snapshot.h"
#include "devices/pci/bridge.h"
#include "devices/pci/pci.h"
#include "devices/pci/pcie_port.h"
#include "devices/pci/shpc.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/pci.h"

static void bv_mmio_free(void *p) { virtio_mmio_free(p); }
static void bv_pci_free(void *p) { virtio_pci_free(p); }
static void bv_host_free(void *p) { pci_host_free(p); }
static void bv_bridge_free(void *p) { pci_bridge_free(p); }
static void bv_port_free(void *p) { pcie_port_free(p); }
static void bv_shpc_free(void *p) { shpc_free(p); }

static int bv_oom(char *err, size_t errlen)
{
	snprintf(err, errlen, "vmm: out of memory");
	return -1;
}

int board_virtio_transport(struct board *b, int index, struct vdev *vd,
			   char *err, size_t errlen)
{
	const struct cfg_device *d = &b->cfg->devices[index];
	const struct layout_dev *ld = layout_dev_for(b->l, index);
	if (d->transport == CFG_TRANSPORT_MMIO) {
		struct virtio_mmio *t = virtio_mmio_new(b->m->gm, b->m->log,
			irq_line(b->m->irqchip, ld->gsi), vd);
		if (!t)
			return bv_oom(err, errlen);
		if (board_push(b, bv_mmio_free, t, err, errlen) < 0)
			return -1;
		board_snap_mark(b, BOARD_SNAP_VIRTIO_MMIO, config_device_name(d), d->id);
		if (board_register(b, b->m->mmio, ld->mmio_base, ld->mmio_size,
				   virtio_mmio_access, t, config_device_name(d),
				   err, errlen) < 0)
			return -1;
		/* QueueNotify (virtio 1.2 §4.2.2, offset 0x50): a 32-bit write
		 * of the queue index. */
		if (board_vhost_kicks(b, vd, ld->mmio_base + 0x50, 0, 4, err,
				      errlen) < 0)
			return -1;
		return board_iothread_attach(b, d, NULL, ld->mmio_base + 0x50, 0, 4,
					     vd->nqueues, err, errlen);
	}
	/* Behind a pci-bridge: the bridge function bv_bridges put where
	 * the layout placed the parent. */
	struct pci_bridge *br = NULL;
	if (b->pci && d->parent >= 0) {
		const struct layout_dev *pl = layout_dev_for(b->l, d->parent);
		struct pci_dev *bd = pl ? pci_host_dev(b->pci, (unsigned)pl->pci_slot,
						       (unsigned)pl->pci_func) : NULL;
		br = bd ? bd->bridge : NULL;
	}
	if (!b->pci || (ld->pci_bus != 0 && !br)) {
		snprintf(err, errlen, "vmm: -device %s: PCI bus %d has no bridge "
			 "function", config_device_name(d), ld->pci_bus);
		return -1;
	}
	/* QEMU's disable-legacy=auto makes a device transitional unless it
	 * sits on a PCIe port; pcie.0 (a root bus) and pci-bridge buses
	 * are not ports, a pcie-root-port's link is: there a device is
	 * modern-only unless told otherwise; elsewhere transitional, or
	 * modern-only when its type has no transitional id (docs/cli.md). */
	bool on_port = d->parent >= 0 && b->pcie_ports[d->parent];
	enum virtio_pci_mode mode = d->disable_modern ? VIRTIO_PCI_LEGACY :
		d->disable_legacy || on_port || !virtio_pci_transitional_id(vd->device_id) ?
		VIRTIO_PCI_MODERN : VIRTIO_PCI_TRANSITIONAL;
	if (mode == VIRTIO_PCI_LEGACY && !virtio_pci_transitional_id(vd->device_id)) {
		snprintf(err, errlen, "vmm: -device %s: this device is modern-only: "
			 "disable-modern=on is not possible", config_device_name(d));
		return -1;
	}
	struct virtio_pci *t = virtio_pci_create(b->m->gm, b->m->log,
		b->m->irqchip, vd, mode, d->has_vectors ? d->vectors : vd->nqueues + 1u);
	if (!t)
		return bv_oom(err, errlen);
	if (board_push(b, bv_pci_free, t, err, errlen) < 0)
		return -1;
	board_snap_mark(b, BOARD_SNAP_VIRTIO_PCI, config_device_name(d), d->id);
	struct pcie_port *port = d->parent >= 0 ? b->pcie_ports[d->parent] : NULL;
	struct shpc *sh = d->parent >= 0 && ld->pci_func == 0 ? b->shpcs[d->parent] : NULL;
	/* Behind a root port or in an SHPC slot: present from power-on, or
	 * reported to the guest when hot. */
	int r = port ? pcie_port_plug(port, virtio_pci_dev(t), b->hotplugging)
	      : sh ? shpc_plug(sh, virtio_pci_dev(t), (unsigned)ld->pci_slot, b->hotplugging)
	      : br ? pci_bridge_attach(br, virtio_pci_dev(t), (unsigned)ld->pci_slot,
				       (unsigned)ld->pci_func)
		   : pci_host_attach(b->pci, virtio_pci_dev(t), (unsigned)ld->pci_slot,
				     (unsigned)ld->pci_func);
	if (r < 0) {
		snprintf(err, errlen, "vmm: -device %s: PCI %02x:%02x.%x: %s",
			 config_device_name(d), ld->pci_bus, ld->pci_slot,
			 ld->pci_func, strerror(-r));
		return -1;
	}
	b->ndevices++;
	if ((d->iothread[0] || board_is_vhost(d)) &&
	    b->npci_iothread < CFG_MAX_ITEMS) {
		/* Its doorbells are known once the BARs are assigned. */
		b->pci_iothread[b->npci_iothread].d = d;
		b->pci_iothread[b->npci_iothread].t = t;
		b->pci_iothread[b->npci_iothread].nq = vd->nqueues;
		b->pci_iothread[b->npci_iothread].vd = vd;
		b->npci_iothread++;
	}
	return 0;
}

/* -device pci-bridge: a bridge function at its bus 0 slot with its bus
 * numbers set as firmware would (bridge.h), before anything goes behind
 * it. */
static int bv_bridges(struct board *b, char *err, size_t errlen)
{
	for (unsigned i = 0; i < b->cfg->ndevices; i++) {
		const struct cfg_device *d = &b->cfg->devices[i];
		const struct layout_dev *ld = layout_dev_for(b->l, (int)i);
		if (d->type != CFG_DEV_PCI_BRIDGE || !ld || ld->bridge_bus < 0)
			continue;
		struct pci_bridge *br;
		if (d->pcie_port) {
			struct pcie_port *p = pcie_port_new((uint8_t)d->chassis_nr,
							    (uint16_t)d->port_slot,
							    b->m->irqchip, d->id[0] ? d->id :
							    "pcie-root-port", b->m->log);
			if (!p)
				return bv_oom(err, errlen);
			if (board_push(b, bv_port_free, p, err, errlen) < 0)
				return -1;
			board_snap_mark(b, BOARD_SNAP_PCIE_PORT, config_device_name(d), d->id);
			b->pcie_ports[i] = p;
			pcie_port_set_removed(p, board_port_removed, b);
			br = pcie_port_bridge(p);
		} else if (d->shpc) {
			struct shpc *sh = shpc_new((uint8_t)d->chassis_nr,
						   d->id[0] ? d->id : "pci-bridge", b->m->log);
			if (!sh)
				return bv_oom(err, errlen);
			if (board_push(b, bv_shpc_free, sh, err, errlen) < 0)
				return -1;
			board_snap_mark(b, BOARD_SNAP_SHPC, config_device_name(d), d->id);
			b->shpcs[i] = sh;
			shpc_set_removed(sh, board_shpc_removed, b);
			br = shpc_bridge(sh);
		} else {
			br = pci_bridge_new((uint8_t)d->chassis_nr, d->shpc,
					    d->id[0] ? d->id : "pci-bridge", b->m->log);
			if (!br)
				return bv_oom(err, errlen);
			if (board_push(b, bv_bridge_free, br, err, errlen) < 0)
				return -1;
			board_snap_mark(b, BOARD_SNAP_PCI_BRIDGE, config_device_name(d), d->id);
		}
		int r = pci_host_attach(b->pci, pci_bridge_dev(br),
					(unsigned)ld->pci_slot, (unsigned)ld->pci_func);
		if (r < 0) {
			snprintf(err, errlen, "vmm: -device pci-bridge: PCI %02x.%x: %s",
				 ld->pci_slot, ld->pci_func, strerror(-r));
			return -1;
		}
		pci_bridge_set_buses(br, 0, (uint8_t)ld->bridge_bus,
				     (uint8_t)ld->bridge_bus);
		b->ndevices++;
	}
	return 0;
}

int board_virtio(struct board *b, char *err, size_t errlen)
{
	const struct machine_config *cfg = b->cfg;
	if (b->l->pci) {
		struct pci_host_windows w = {
			.mmio32_base = LAYOUT_PCI_MMIO32_BASE,
			.mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
			.mmio64_base = b->l->mmio64_base,
			.mmio64_size = b->l->mmio64_size,
			.io_base = LAYOUT_PCI_IO_BASE,
			.io_size = LAYOUT_PCI_IO_SIZE,
		};
		b->pci = pci_host_new(b->m->pio, b->m->mmio, LAYOUT_ECAM_BASE, &w,
				      b->m->irqchip, b->m->log);
		if (!b->pci)
			return bv_oom(err, errlen);
		if (board_push(b, bv_host_free, b->pci, err, errlen) < 0)
			return -1;
		board_snap_mark(b, BOARD_SNAP_PCI_HOST, "pcie.0", NULL);
		b->ndevices++;
		if (bv_bridges(b, err, errlen) < 0)
			return -1;
	}
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		unsigned first = b->nitems;
		if (board_virtio_device(b, i, err, errlen) < 0)
			return -1;
		board_hot_note(b, i, first);
	}
	/* What firmware would do before the OS runs: BARs assigned from the
	 * windows, decode and bus mastering on. */
	if (b->pci && pci_host_assign_resources(b->pci) < 0) {
		snprintf(err, errlen, "vmm: PCI BARs do not fit the MMIO windows");
		return -1;
	}
	/* virtio-pci notify: queue q at BAR 4 + notify offset + 4q, a 16-bit
	 * write of q (§4.1.4.4, notify_off_multiplier 4).  A guest that moves
	 * the BAR still works: its kicks then exit to the bus as usual. */
	for (unsigned i = 0; i < b->npci_iothread; i++) {
		struct pci_dev *pd = virtio_pci_dev(b->pci_iothread[i].t);
		uint64_t base = pci_bar_addr(pd, VIRTIO_PCI_BAR_REGS) +
				VIRTIO_PCI_NOTIFY_OFF;
		if (board_iothread_attach(b, b->pci_iothread[i].d, pd, base,
					  VIRTIO_PCI_NOTIFY_MULT, 2,
					  b->pci_iothread[i].nq, err, errlen) < 0 ||
		    board_vhost_kicks(b, b->pci_iothread[i].vd, base,
				      VIRTIO_PCI_NOTIFY_MULT, 2, err, errlen) < 0)
			return -1;
	}
	return 0;
}
