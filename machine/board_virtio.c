/* Virtio devices: for each -device, its host backend and its device
 * model, handed to its transport (board_virtio_transport.c: virtio-mmio
 * window + GSI, or a virtio-pci function on the q35 host bridge), placed
 * where core/layout.h says. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/blockdev.h"
#include "core/entropy.h"
#include "core/log.h"
#include "core/netdev.h"
#include "core/trace.h"
#include "machine/board_int.h"
#include "machine/board_snapshot.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/net.h"
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
	return !vd || board_virtio_transport(b, (int)i, vd, err, errlen) < 0 ? -1 : 0;
}
