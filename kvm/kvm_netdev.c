/* netdev_add / netdev_del for the KVM machine (QMP ops; core/qmp_netdev.c
 * has the argument checks and the getfd names).  A netdev lives in the
 * machine description (km->cfg) until a device_add of virtio-net-pci
 * opens its tap queues (machine/board_virtio.c), which the machine's
 * backend store then keeps across resets; netdev_del closes whichever of
 * the two holds the descriptors.  Called with the big lock held. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/netdev.h"
#include "core/qmp.h"
#include "core/trace.h"
#include "machine/board.h"
#include "kvm/kvm_int.h"

static int nd_fail(struct qmp_err *e, const char *cls, const char *msg)
{
	e->cls = cls;
	snprintf(e->desc, sizeof(e->desc), "%s", msg);
	return -1;
}

/* What the host must give the netdev, checked now as QEMU opens the
 * backend in netdev_add: each fd a tap, and no vhost (core/netdev_vhost.c
 * says why).  0, or -1 with why. */
static int nd_host_check(const struct cfg_netdev *n, char *why, size_t len)
{
	if (n->vhost)
		return netdev_vhost_refuse(n->id, n->vhostfds, n->nvhostfds, why, len);
	for (unsigned q = 0; n->fd >= 0 && q < n->queues; q++)
		if (netdev_tap_check_fd(n->fds[q], why, len))
			return -1;
	return 0;
}

static int kvm_nd_add(void *opaque, const char *id, const char *opts,
		      bool check, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	char err[sizeof(e->desc)], why[sizeof(e->desc)];
	if (config_netdev(km->cfg, id)) {
		snprintf(why, sizeof(why), "Duplicate ID '%s'", id);
		return nd_fail(e, "GenericError", why);
	}
	if (config_add_netdev(km->cfg, opts, err, sizeof(err)) < 0) {
		/* The command line's words, without its "vmm: -netdev: " and
		 * the "'ID': " naming the netdev the command already names. */
		const char *m = err;
		size_t il = strlen(id);
		if (!strncmp(m, "vmm: ", 5))
			m += 5;
		if (!strncmp(m, "-netdev: ", 9))
			m += 9;
		if (m[0] == '\'' && !strncmp(m + 1, id, il) && !strncmp(m + 1 + il, "': ", 3))
			m += il + 4;
		return nd_fail(e, "GenericError", m);
	}
	if (check) {
		/* Nothing taken yet, nothing kept. */
		config_remove_netdev(km->cfg, id);
		return 0;
	}
	const struct cfg_netdev *n = config_netdev(km->cfg, id);
	if (n && nd_host_check(n, why, sizeof(why)) < 0) {
		config_remove_netdev(km->cfg, id);
		return nd_fail(e, "GenericError", why);
	}
	log_info(km->m.log, "netdev_add: %s", id);
	return 0;
}

static const struct cfg_device *nd_user(const struct machine_config *cfg,
					const char *id)
{
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].type == CFG_DEV_VIRTIO_NET &&
		    !strcmp(cfg->devices[i].netdev, id))
			return &cfg->devices[i];
	return NULL;
}

static int kvm_nd_del(void *opaque, const char *id, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	const struct cfg_netdev *n = config_netdev(km->cfg, id);
	char msg[2 * CFG_ID_MAX + 96], key[CFG_ID_MAX + 32];
	if (!n) {
		snprintf(msg, sizeof(msg), "Device '%s' not found", id);
		return nd_fail(e, "DeviceNotFound", msg);
	}
	/* QEMU 7.2 takes the netdev from under its NIC (the link goes
	 * down, the backend stays until the NIC goes); vmm refuses, so no
	 * device is left with a backend half gone (docs/qmp.md). */
	const struct cfg_device *d = nd_user(km->cfg, id);
	if (d) {
		snprintf(msg, sizeof(msg), "Netdev '%s' is in use by device '%s' (device_del it first)",
			 id, d->id[0] ? d->id : config_device_name(d));
		return nd_fail(e, "GenericError", msg);
	}
	/* Opened by a device once (its queues kept for resets): closing
	 * those closes the fds.  Never opened: the fds are still bare. */
	snprintf(key, sizeof(key), "netdev:%s", id);
	if (board_backends_drop(km->backends, TRACE_BK_NET, key)) {
		for (unsigned q = 1; q < n->queues; q++) {
			snprintf(key, sizeof(key), "netdev:%s.q%u", id, (unsigned char)q);
			board_backends_drop(km->backends, TRACE_BK_NET, key);
		}
	} else {
		for (unsigned q = 0; n->fd >= 0 && q < n->queues; q++)
			close(n->fds[q]);
	}
	for (unsigned q = 0; q < n->nvhostfds; q++)
		close(n->vhostfds[q]);
	config_remove_netdev(km->cfg, id);
	log_info(km->m.log, "netdev_del: %s", id);
	return 0;
}

void kvm_netdev_ops(struct kvm_machine *km, struct qmp_machine_ops *ops)
{
	(void)km;
	ops->netdev_add = kvm_nd_add;
	ops->netdev_del = kvm_nd_del;
}
