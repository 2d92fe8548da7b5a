/* Virtio devices: for each -device, its host backend, its device model,
 * and its transport (virtio-mmio window + GSI, or a virtio-pci function
 * on the q35 host bridge), placed where core/layout.h says. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/blockdev.h"
#include "core/bus.h"
#include "core/entropy.h"
#include "core/log.h"
#include "core/netdev.h"
#include "core/trace.h"
#include "machine/board_int.h"
#include "machine/board_snapshot.h"
#include "devices/pci/bridge.h"
#include "devices/pci/pci.h"
#include "devices/pci/pcie_port.h"
#include "devices/pci/shpc.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"
#include "devices/virtio/pci.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/scsi.h"

static void bv_blockdev_free(void *p) { blockdev_close(p); }
static void bv_entropy_free(void *p) { entropy_close(p); }
static void bv_netdev_free(void *p) { netdev_close(p); }
static void bv_netdev_detach(void *p) { netdev_detach(p); }
static void bv_vblk_free(void *p) { vblk_free(p); }
static void bv_vrng_free(void *p) { vrng_free(p); }
static void bv_vnet_free(void *p) { vnet_free(p); }
static void bv_vcon_free(void *p) { vcon_free(p); }
static void bv_balloon_free(void *p) { balloon_free(p); }
static void bv_vscsi_free(void *p) { vscsi_free(p); }
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

/* The block backend of -drive id (opened once, kept across boards, hooked
 * for record/replay); d names the device for messages. */
static struct blockdev *bv_blockdev(struct board *b, const struct cfg_device *d,
				    const struct cfg_drive **drvp, char *err,
				    size_t errlen)
{
	const struct cfg_drive *drv = config_drive(b->cfg, d->drive);
	if (!drv) {
		snprintf(err, errlen, "vmm: -device %s: drive '%s' not defined",
			 config_device_name(d), d->drive);
		return NULL;
	}
	struct blockdev *bd = NULL;
	char key[BOARD_KEY_MAX];
	snprintf(key, sizeof(key), "drive:%s", drv->id);
	if (!b->host->backend_replace && !(bd = board_kept(b, TRACE_BK_BLOCK, key))) {
		struct blockdev_file_opts o = {
			.readonly = drv->readonly, .direct = drv->direct,
			.share_rw = d->share_rw,
		};
		char why[256] = "";
		bd = blockdev_file_open_opts(drv->id, drv->file, &o, why,
					     sizeof(why));
		if (!bd) {
			/* Locked by another process, or not a file or block
			 * device: the configuration's to fix, found before the
			 * VM starts. */
			bool locked = errno == EBUSY;
			b->config_error = locked || errno == EINVAL;
			snprintf(err, errlen, "vmm: -drive id=%s,file=%s: %s%s",
				 drv->id, drv->file, why, locked && !d->share_rw ?
				 " (share-rw=on on both lets writers share it)" : "");
			return NULL;
		}
		bd->no_flush = !drv->flush;
		if (board_own(b, TRACE_BK_BLOCK, key, bv_blockdev_free, bd, err,
			      errlen) < 0)
			return NULL;
	}
	void *hooked;
	int r = board_backend(b, TRACE_BK_BLOCK, drv->id, bd, &hooked, err, errlen);
	if (r < 0) {
		b->config_error = r == -2;
		return NULL;
	}
	if (!hooked) {
		snprintf(err, errlen, "vmm: -drive id=%s: no backend to replay", drv->id);
		return NULL;
	}
	*drvp = drv;
	return hooked;
}

static struct vdev *bv_blk(struct board *b, const struct cfg_device *d,
			   char *err, size_t errlen)
{
	const struct cfg_drive *drv;
	struct blockdev *bd = bv_blockdev(b, d, &drv, err, errlen);
	if (!bd)
		return NULL;
	struct vblk_config vc = {
		.gm = b->m->gm, .log = b->m->log, .clk = b->m->clk, .bd = bd,
		.serial = d->serial[0] ? d->serial : NULL,
		.iops_total = drv->iops_total, .num_queues = d->num_queues,
	};
	struct vblk *v = vblk_new(&vc);
	if (!v) {
		bv_oom(err, errlen);
		return NULL;
	}
	if (board_push(b, bv_vblk_free, v, err, errlen) < 0)
		return NULL;
	return vblk_vdev(v);
}

static struct vdev *bv_rng(struct board *b, const struct cfg_device *d,
			   char *err, size_t errlen)
{
	const struct cfg_object *o = d->rng[0] ? config_object(b->cfg, d->rng) : NULL;
	const char *file = o && o->filename[0] ? o->filename : "/dev/urandom";
	struct entropy *src = NULL;
	char id[16];
	snprintf(id, sizeof(id), "rng%u", (unsigned)(d - b->cfg->devices));
	if (!b->host->backend_replace && !(src = board_kept(b, TRACE_BK_ENTROPY, id))) {
		src = entropy_file_open(o ? o->id : "rng", file);
		if (!src) {
			/* A FIFO or socket: the configuration's error. */
			bool type = errno == EINVAL;
			b->config_error = type;
			snprintf(err, errlen, "vmm: -object rng-random,filename=%s: %s",
				 file, type ? "not a character device or regular "
				 "file" : strerror(errno));
			return NULL;
		}
		if (board_own(b, TRACE_BK_ENTROPY, id, bv_entropy_free, src, err,
			      errlen) < 0)
			return NULL;
	}
	void *hooked;
	if (board_backend(b, TRACE_BK_ENTROPY, id, src, &hooked, err, errlen) < 0)
		return NULL;
	if (!hooked) {
		snprintf(err, errlen, "vmm: -device %s: no entropy source to replay",
			 config_device_name(d));
		return NULL;
	}
	src = hooked;
	struct vrng_config rc = {
		.gm = b->m->gm, .log = b->m->log, .clk = b->m->clk, .src = src,
		.max_bytes = d->rng_max_bytes, .period_ms = d->rng_period_ms,
	};
	struct vrng *r = vrng_new(&rc);
	if (!r) {
		bv_oom(err, errlen);
		return NULL;
	}
	if (board_push(b, bv_vrng_free, r, err, errlen) < 0)
		return NULL;
	return vrng_vdev(r);
}

/* Queue q of -netdev nc: opened (or kept from a previous board) and
 * passed through the record/replay hook.  Queue 0 keeps the names a
 * single-queue netdev always had ("netdev:ID", backend id ID). */
static struct netdev *bv_net_queue(struct board *b, const struct cfg_netdev *nc,
				   unsigned q, struct netdev *opened, bool own,
				   char *err, size_t errlen)
{
	struct netdev *nd = opened;
	char key[BOARD_KEY_MAX], id[CFG_ID_MAX + 8];
	if (q)
		snprintf(id, sizeof(id), "%s.q%u", nc->id, (unsigned char)q);
	else
		snprintf(id, sizeof(id), "%s", nc->id);
	snprintf(key, sizeof(key), "netdev:%s", id);
	if (nd && own && board_own(b, TRACE_BK_NET, key, bv_netdev_free, nd, err,
				   errlen) < 0)
		return NULL;
	/* The recorder's wrapper attaches to it: detached when the board
	 * goes (after the device, which detaches what it was given). */
	if (nd && board_push(b, bv_netdev_detach, nd, err, errlen) < 0)
		return NULL;
	void *hooked;
	if (board_backend(b, TRACE_BK_NET, id, nd, &hooked, err, errlen) < 0)
		return NULL;
	if (!hooked) {
		snprintf(err, errlen, "vmm: -netdev id=%s: no backend to replay", id);
		return NULL;
	}
	return hooked;
}

/* The backends of -netdev nc, one per queue: kept ones from a previous
 * board (reset), else opened now.  vhost=on is refused here, where the
 * host can be asked why (core/netdev_vhost.c). */
static int bv_net_open(struct board *b, const struct cfg_netdev *nc,
		       struct netdev **opened, char *err, size_t errlen)
{
	unsigned nq = nc->queues ? nc->queues : 1;
	char key[BOARD_KEY_MAX], why[256];
	memset(opened, 0, nq * sizeof(*opened));
	if (b->host->backend_replace)
		return 0;
	snprintf(key, sizeof(key), "netdev:%s", nc->id);
	if ((opened[0] = board_kept(b, TRACE_BK_NET, key))) {
		for (unsigned q = 1; q < nq; q++) {
			snprintf(key, sizeof(key), "netdev:%s.q%u", nc->id, (unsigned char)q);
			opened[q] = board_kept(b, TRACE_BK_NET, key);
		}
		/* Kept: board_own would register them a second time. */
		return 1;
	}
	if (nc->vhost) {
		netdev_vhost_refuse(nc->id, nc->vhostfds, nc->nvhostfds, why,
				    sizeof(why));
		snprintf(err, errlen, "vmm: %s", why);
		b->config_error = true;
		return -1;
	}
	if (nc->type == CFG_NETDEV_LOOP) {
		for (unsigned q = 0; q < nq; q++)
			if (!(opened[q] = netdev_loop_new(nc->id, false))) {
				while (q--)
					netdev_close(opened[q]);
				return bv_oom(err, errlen);
			}
		return 0;
	}
	if (netdev_tap_open_queues(nc->id, nc->ifname[0] ? nc->ifname : NULL,
				   nc->fd >= 0 ? nc->fds : NULL, nq, b->host->loop,
				   opened, why, sizeof(why)) < 0) {
		/* Name the option as given: fds=5:6 / fd=5. */
		char opt[16 + CFG_NET_MAX_QUEUES * 12] = "";
		size_t o = 0;
		for (unsigned q = 0; nc->fd >= 0 && q < nq && o < sizeof(opt); q++)
			o += (size_t)snprintf(opt + o, sizeof(opt) - o, "%s%d",
					      q ? ":" : nc->fd_list ? "fds=" : "fd=",
					      nc->fds[q]);
		snprintf(err, errlen, "vmm: -netdev id=%s%s%s: %s", nc->id,
			 opt[0] ? "," : "", opt, why);
		return -1;
	}
	return 0;
}

static struct vdev *bv_net(struct board *b, const struct cfg_device *d,
			   char *err, size_t errlen)
{
	const struct cfg_netdev *nc = config_netdev(b->cfg, d->netdev);
	if (!nc) {
		snprintf(err, errlen, "vmm: -device %s: netdev '%s' not defined",
			 config_device_name(d), d->netdev);
		return NULL;
	}
	unsigned nq = nc->queues ? nc->queues : 1;
	if (nq > VNET_MAX_PAIRS) {
		snprintf(err, errlen, "vmm: -netdev id=%s: %u queues (at most %u)",
			 nc->id, nq, VNET_MAX_PAIRS);
		return NULL;
	}
	struct netdev *opened[VNET_MAX_PAIRS], *nds[VNET_MAX_PAIRS];
	int kept = bv_net_open(b, nc, opened, err, errlen);
	if (kept < 0)
		return NULL;
	for (unsigned q = 0; q < nq; q++) {
		nds[q] = bv_net_queue(b, nc, q, opened[q], !kept, err, errlen);
		if (!nds[q]) {
			/* The queues before q belong to the board now. */
			for (unsigned r = q + 1; !kept && r < nq; r++)
				netdev_close(opened[r]);
			return NULL;
		}
	}
	struct vnet_config vc = {
		.gm = b->m->gm, .log = b->m->log, .nd = nds[0], .has_mac = d->has_mac,
		.clk = b->m->clk, .pairs = nq, .mq = d->mq,
	};
	for (unsigned q = 1; q < nq; q++)
		vc.nds[q] = nds[q];
	memcpy(vc.mac, d->mac, sizeof(vc.mac));
	struct vnet *n = vnet_new(&vc);
	if (!n) {
		bv_oom(err, errlen);
		return NULL;
	}
	if (board_push(b, bv_vnet_free, n, err, errlen) < 0)
		return NULL;
	return vnet_vdev(n);
}

/* A virtio-serial controller and the virtconsole ports that name it. */
static struct vdev *bv_console(struct board *b, int index, char *err,
			       size_t errlen)
{
	struct vcon_config cc = {
		.gm = b->m->gm, .log = b->m->log, .max_ports = VCON_MAX_PORTS,
		.clk = b->m->clk,
	};
	struct vcon *c = vcon_new(&cc);
	if (!c) {
		bv_oom(err, errlen);
		return NULL;
	}
	if (board_push(b, bv_vcon_free, c, err, errlen) < 0)
		return NULL;
	b->vcons[index] = c;
	unsigned port = 0;
	for (unsigned i = 0; i < b->cfg->ndevices; i++) {
		const struct cfg_device *p = &b->cfg->devices[i];
		if (p->type != CFG_DEV_VIRTCONSOLE || p->parent != index)
			continue;
		if (port >= VCON_MAX_PORTS) {
			snprintf(err, errlen, "vmm: -device %s: more than %u ports on "
				 "one virtio-serial", config_device_name(p),
				 VCON_MAX_PORTS);
			return NULL;
		}
		if (board_serial_port(b, i, port, false, err, errlen) < 0)
			return NULL;
		port++;
	}
	return vcon_vdev(c);
}

int board_serial_port(struct board *b, unsigned i, unsigned port, bool hot, char *err,
		      size_t errlen)
{
	const struct cfg_device *p = &b->cfg->devices[i];
	struct vcon *c = p->parent >= 0 ? b->vcons[p->parent] : NULL;
	struct chr *chr = NULL;
	if (!c) {
		snprintf(err, errlen, "vmm: -device %s: no virtio-serial bus", config_device_name(p));
		return -1;
	}
	if (p->chardev[0] && board_chardev(b, p->chardev, &chr, err, errlen) < 0)
		return -1;
	/* Hot: the first free port number (the control queue announces it,
	 * §5.3.6.2). */
	unsigned id = port;
	int r = -EEXIST;
	for (; hot && id < VCON_MAX_PORTS &&
	       (r = vcon_add_port(c, id, chr, !p->serialport, p->port_name[0] ? p->port_name :
				  p->id[0] ? p->id : NULL)) == -EEXIST; id++)
		;
	if (!hot)
		r = vcon_add_port(c, id, chr, !p->serialport, p->port_name[0] ? p->port_name :
				  p->id[0] ? p->id : NULL);
	if (r < 0) {
		snprintf(err, errlen, "vmm: -device %s: cannot add port%s", config_device_name(p),
			 hot ? " (all ports of the virtio-serial in use)" : "");
		return -1;
	}
	return (int)id;
}

static struct vdev *bv_balloon(struct board *b, const struct cfg_device *d,
			       char *err, size_t errlen)
{
	struct balloon_config bc = {
		.gm = b->m->gm, .log = b->m->log, .clk = b->m->clk,
		.deflate_on_oom = d->deflate_on_oom, .stats = true,
		.page_reporting = d->free_page_reporting,
		.release = b->host->balloon_release,
		.opaque = b->host->balloon_opaque,
	};
	struct balloon *bl = balloon_new(&bc);
	if (!bl) {
		bv_oom(err, errlen);
		return NULL;
	}
	if (board_push(b, bv_balloon_free, bl, err, errlen) < 0)
		return NULL;
	if (!b->balloon)
		b->balloon = bl;
	return balloon_vdev(bl);
}

/* A virtio-scsi adapter and the scsi-hd/scsi-cd LUs that name it. */
static struct vdev *bv_scsi(struct board *b, int index, char *err, size_t errlen)
{
	const struct cfg_device *d = &b->cfg->devices[index];
	struct vscsi_config sc = {
		.gm = b->m->gm, .log = b->m->log, .clk = b->m->clk,
		.num_queues = d->num_queues,
	};
	struct vscsi *s = vscsi_new(&sc);
	if (!s) {
		bv_oom(err, errlen);
		return NULL;
	}
	if (board_push(b, bv_vscsi_free, s, err, errlen) < 0)
		return NULL;
	b->vscsis[index] = s;
	for (unsigned i = 0; i < b->cfg->ndevices; i++) {
		const struct cfg_device *p = &b->cfg->devices[i];
		if ((p->type != CFG_DEV_SCSI_HD && p->type != CFG_DEV_SCSI_CD) ||
		    p->parent != index)
			continue;
		if (board_scsi_lun(b, i, false, err, errlen) < 0)
			return NULL;
	}
	return vscsi_vdev(s);
}

int board_scsi_lun(struct board *b, unsigned i, bool hot, char *err, size_t errlen)
{
	const struct cfg_device *p = &b->cfg->devices[i];
	struct vscsi *s = p->parent >= 0 ? b->vscsis[p->parent] : NULL;
	if (!s) {
		snprintf(err, errlen, "vmm: -device %s: no virtio-scsi bus", config_device_name(p));
		return -1;
	}
	const struct cfg_drive *drv;
	struct blockdev *bd = bv_blockdev(b, p, &drv, err, errlen);
	if (!bd)
		return -1;
	struct vscsi_lun_config lc = {
		.target = (unsigned)p->scsi_id, .lun = p->scsi_lun, .bd = bd,
		.cdrom = p->type == CFG_DEV_SCSI_CD,
		.serial = p->serial[0] ? p->serial : NULL,
		.dev_id = p->id[0] ? p->id : drv->id,
		.iops_total = drv->iops_total,
	};
	int r = hot ? vscsi_hot_add_lun(s, &lc) : vscsi_add_lun(s, &lc);
	if (r < 0) {
		snprintf(err, errlen, "vmm: -device %s,scsi-id=%d,lun=%u: %s",
			 config_device_name(p), p->scsi_id, p->scsi_lun, strerror(-r));
		return -1;
	}
	return 0;
}

static int bv_transport(struct board *b, int index, struct vdev *vd,
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

int board_virtio_device(struct board *b, unsigned i, char *err, size_t errlen)
{
	const struct cfg_device *d = &b->cfg->devices[i];
	struct vdev *vd;
	switch (d->type) {
	case CFG_DEV_VIRTIO_BLK:
		vd = bv_blk(b, d, err, errlen);
		break;
	case CFG_DEV_VIRTIO_NET:
		vd = bv_net(b, d, err, errlen);
		break;
	case CFG_DEV_VIRTIO_RNG:
		vd = bv_rng(b, d, err, errlen);
		break;
	case CFG_DEV_VIRTIO_BALLOON:
		vd = bv_balloon(b, d, err, errlen);
		break;
	case CFG_DEV_VIRTIO_SERIAL:
		vd = bv_console(b, (int)i, err, errlen);
		break;
	case CFG_DEV_VIRTIO_SCSI:
		vd = bv_scsi(b, (int)i, err, errlen);
		break;
	case CFG_DEV_VHOST_USER_BLK:
	case CFG_DEV_VHOST_USER_FS:
		vd = board_vhost_user(b, d, err, errlen);
		break;
	case CFG_DEV_VIRTIO_VSOCK:
	case CFG_DEV_VHOST_VSOCK:
		vd = board_vsock(b, d, err, errlen);
		break;
	case CFG_DEV_VIRTIO_MEM:
		vd = board_vmem_device(b, i, err, errlen);
		break;
	default:
		return 0;   /* not a virtio function (or a port of one) */
	}
	return !vd || bv_transport(b, (int)i, vd, err, errlen) < 0 ? -1 : 0;
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
