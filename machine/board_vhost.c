/* vhost-user devices on the board (issue 16): the -chardev socket names
 * the backend's socket; guest RAM must be shareable or the backend could
 * not map the rings, so that is refused before the VM starts. */
#include "machine/board_int.h"
#include "core/config.h"
#include "core/vhost_user.h"
#include "machine/board_qmp.h"
#include "devices/virtio/vhost_user_dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"

static void bvh_free(void *obj)
{
	vhud_free(obj);
}

struct vdev *board_vhost_user(struct board *b, const struct cfg_device *d,
			      char *err, size_t errlen)
{
	const char *name = config_device_name(d);
	const struct cfg_chardev *ch = config_chardev(b->cfg, d->chardev);
	if (!ch || ch->type != CFG_CHR_SOCKET || ch->server || !ch->path[0]) {
		b->config_error = true;
		snprintf(err, errlen, "vmm: -device %s: chardev '%s' must be a client -chardev socket,id=%s,path=SOCKET",
			 name, d->chardev, d->chardev);
		return NULL;
	}
	if (!vhu_gm_shareable(b->m->gm)) {
		b->config_error = true;
		snprintf(err, errlen, "vmm: -device %s: guest RAM is not shareable with the vhost-user backend (add -object memory-backend-memfd,id=mem,size=<-m> -numa node,memdev=mem, or memory-backend-file,...,share=on)",
			 name);
		return NULL;
	}
	if (b->host->no_host_paths || b->host->backend) {
		/* The backend reads and writes guest RAM itself: a trace
		 * could not hold those effects, so neither is attempted. */
		b->config_error = true;
		snprintf(err, errlen, "vmm: -device %s: vhost-user devices cannot be recorded or replayed (-trace-record)",
			 name);
		return NULL;
	}
	/* A chardev-add'ed client socket was connected then, as QEMU's
	 * chardev is: use that connection (the backend may serve only the
	 * first client, as virtiofsd does). */
	int held = b->host->keep ? board_qmp_take_sock(b->host->keep, ch->id) : -1;
	struct vhu *c = held >= 0 ? vhu_new_fd(held, d->id[0] ? d->id : d->chardev, b->m->log)
		: vhu_connect(ch->path, d->id[0] ? d->id : d->chardev, b->m->log, err, errlen);
	if (!c && held >= 0)
		snprintf(err, errlen, "vmm: -device %s: out of memory", name);
	if (!c) {
		b->config_error = true;
		return NULL;
	}
	if (vhu_handshake(c) < 0) {
		vhu_free(c);
		snprintf(err, errlen, "vmm: -device %s: the vhost-user backend at %s failed the handshake (see the log)",
			 name, ch->path);
		return NULL;
	}
	struct vhud_cfg vc = {
		.kind = d->type == CFG_DEV_VHOST_USER_FS ? VHUD_FS : VHUD_BLK,
		.id = name,
		.queues = d->vhu_queues,
		.queue_size = d->vhu_queue_size,
		.tag = d->vhu_tag,
	};
	struct vhud *dev = vhud_new(b->m->gm, b->m->log, c, &vc, err, errlen);
	if (!dev) {
		vhu_free(c);
		return NULL;
	}
	if (board_push(b, bvh_free, dev, err, errlen) < 0)
		return NULL;
	if (b->host->msi_irqfd)
		vhu_set_irqfd(c, b->host->msi_irqfd, b->host->ioeventfd_opaque);
	struct vhu_handlers h;
	vhud_handlers(dev, &h);
	if (vhu_attach(c, b->host->loop, &h) < 0) {
		snprintf(err, errlen, "vmm: -device %s: cannot watch the backend", name);
		return NULL;
	}
	return vhud_vdev(dev);
}

bool board_is_vhost(const struct cfg_device *d)
{
	return d->type == CFG_DEV_VHOST_USER_BLK || d->type == CFG_DEV_VHOST_USER_FS;
}

/* One doorbell routed into KVM; deassigned when the board goes (before
 * the device and its eventfds, which were pushed earlier). */
struct bvh_kick {
	const struct board_host *host;
	uint64_t addr;
	unsigned width, q;
	int fd;
};

static void bvh_kick_free(void *obj)
{
	struct bvh_kick *k = obj;
	k->host->ioeventfd(k->host->ioeventfd_opaque, k->addr, k->width, k->q,
			   k->fd, false);
	free(k);
}

int board_vhost_kicks(struct board *b, struct vdev *vd, uint64_t base,
		      unsigned stride, unsigned width, char *err, size_t errlen)
{
	struct vhud *d = vhud_of(vd);
	if (!d || !b->host->ioeventfd)
		return 0;   /* simulator: kicks reach vhud_notify through the bus */
	for (unsigned q = 0; q < vd->nqueues; q++) {
		uint64_t addr = base + (uint64_t)q * stride;
		int fd = vhu_kick_fd(vhud_conn(d), q);
		int r = b->host->ioeventfd(b->host->ioeventfd_opaque, addr, width,
					   q, fd, true);
		if (r < 0) {
			/* Still correct: the doorbell exits and vhud_notify
			 * writes the same eventfd. */
			log_info(b->m->log, "board: vhost-user queue %u doorbell stays an exit: %s",
				 q, strerror(-r));
			continue;
		}
		struct bvh_kick *k = malloc(sizeof(*k));
		if (!k) {
			b->host->ioeventfd(b->host->ioeventfd_opaque, addr, width, q,
					   fd, false);
			snprintf(err, errlen, "vmm: out of memory");
			return -1;
		}
		*k = (struct bvh_kick){ b->host, addr, width, q, fd };
		if (board_push(b, bvh_kick_free, k, err, errlen) < 0)
			return -1;
	}
	return 0;
}

unsigned board_vhost_devices(struct board *b, struct vhud **out, unsigned max)
{
	unsigned n = 0;
	for (unsigned k = 0; k < b->nitems && n < max; k++)
		if (b->items[k].free == bvh_free && b->items[k].obj)
			out[n++] = b->items[k].obj;
	return n;
}
