/* vsock devices on the board: virtio-vsock with its unix socket host
 * backend, and vhost-vsock, which needs the host kernel's
 * /dev/vhost-vsock and is refused with one line when the host has none
 * (never a silent fallback to the userspace device). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/vhost_vsock.h"
#include "core/vsock_host.h"
#include "devices/virtio/vsock.h"
#include "machine/board_int.h"

static void bvs_host_free(void *p) { vsock_host_free(p); }
static void bvs_dev_free(void *p) { vvsock_free(p); }

struct vdev *board_vsock(struct board *b, const struct cfg_device *d,
			 char *err, size_t errlen)
{
	const char *name = config_device_name(d);
	char why[256] = "";
	if (d->type == CFG_DEV_VHOST_VSOCK) {
		int fd = vhost_vsock_open(d->vhostfd, why, sizeof(why));
		b->config_error = true;
		if (fd < 0) {
			snprintf(err, errlen, "vmm: -device %s: %s", name, why);
			return NULL;
		}
		if (d->vhostfd < 0)
			close(fd);
		/* The kernel data path (VHOST_SET_OWNER, SET_MEM_TABLE,
		 * SET_VRING_*, VHOST_VSOCK_SET_GUEST_CID, SET_RUNNING) is not
		 * wired yet: say so rather than run without it. */
		snprintf(err, errlen, "vmm: -device %s: the kernel vhost-vsock backend is not supported yet (use virtio-vsock-%s,guest-cid=%llu,uds=PATH)",
			 name, d->transport == CFG_TRANSPORT_PCI ? "pci" : "device",
			 (unsigned long long)d->guest_cid);
		return NULL;
	}
	if (!b->host->loop) {
		/* The simulator (accel=sim, replay) has no host event loop to
		 * serve the socket; the device itself is covered there by
		 * tests/unit/test_virtio_vsock.c with in-memory host peers. */
		b->config_error = true;
		snprintf(err, errlen, "vmm: -device %s: needs accel=kvm (the simulator serves no host sockets)",
			 name);
		return NULL;
	}
	if (b->host->no_host_paths || b->host->backend) {
		/* The host peers' bytes are not recorded yet, so a replay
		 * could not repeat them: refused rather than diverge. */
		b->config_error = true;
		snprintf(err, errlen, "vmm: -device %s: vsock devices cannot be recorded or replayed (-trace-record)",
			 name);
		return NULL;
	}
	struct vsock_host *vh = vsock_uds_new(d->vsock_uds, b->host->loop,
					      b->m->log, why, sizeof(why));
	if (!vh) {
		b->config_error = errno != ENOMEM;
		snprintf(err, errlen, "vmm: -device %s,uds=%s: %s", name,
			 d->vsock_uds, why);
		return NULL;
	}
	if (board_push(b, bvs_host_free, vh, err, errlen) < 0)
		return NULL;
	struct vvsock_config vc = {
		.gm = b->m->gm, .log = b->m->log, .clk = b->m->clk,
		.guest_cid = d->guest_cid, .host = vh,
	};
	struct vvsock *v = vvsock_new(&vc);
	if (!v) {
		snprintf(err, errlen, "vmm: -device %s: cannot create it", name);
		return NULL;
	}
	if (board_push(b, bvs_dev_free, v, err, errlen) < 0)
		return NULL;
	return vvsock_vdev(v);
}
