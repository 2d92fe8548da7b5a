/* device_add / device_del / qom-get for the KVM machine (QMP ops).  The
 * machine description (km->cfg) is the record of what is plugged:
 * device_add appends the -device to it before building the function, and
 * the guest's completion of an unplug takes it out, so a rebuild at reset
 * brings back exactly the devices present, as QEMU keeps hot-plugged
 * devices across system_reset.  QEMU 7.2's checks come first, in its
 * order and words (tests/integration/test_qmp_vs_qemu.sh compares them).
 * Called with the big lock held (QMP ops, and the guest's config write
 * that completes an unplug). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/qmp.h"
#include "machine/board.h"
#include "kvm/kvm_int.h"

static int hp_fail(struct qmp_err *e, const char *cls, const char *fmt, const char *a,
		   const char *b)
{
	e->cls = cls;
	snprintf(e->desc, sizeof(e->desc), fmt, a, b ? b : "");
	return -1;
}

static bool hp_drive_used(const struct machine_config *cfg, const char *drive)
{
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		if ((d->type == CFG_DEV_VIRTIO_BLK || d->type == CFG_DEV_SCSI_HD ||
		     d->type == CFG_DEV_SCSI_CD) && !strcmp(d->drive, drive))
			return true;
	}
	return false;
}

static bool hp_netdev_used(const struct machine_config *cfg, const char *nd)
{
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].type == CFG_DEV_VIRTIO_NET &&
		    !strcmp(cfg->devices[i].netdev, nd))
			return true;
	return false;
}

/* One property's value out of the option string (QEMU syntax, ",,"
 * escapes): good enough for the ids we look up. */
static void hp_prop(const char *opts, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);
	out[0] = '\0';
	for (const char *p = opts; *p;) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			size_t n = 0;
			for (p += kl + 1; *p && n + 1 < outlen; p++) {
				if (*p == ',' && p[1] != ',')
					break;
				if (*p == ',')
					p++;
				out[n++] = *p;
			}
			out[n] = '\0';
			return;
		}
		while (*p && !(*p == ',' && p[1] != ','))
			p += (*p == ',') ? 2 : 1;
		if (*p == ',')
			p++;
	}
}

/* The slot of addr= ("0x05", "05", "5.0": hex slot[.function]), or -1
 * when absent or not a number (the option parser says why later). */
static int hp_addr_slot(const char *opts)
{
	char a[16], *end;
	hp_prop(opts, "addr", a, sizeof(a));
	if (!a[0])
		return -1;
	long v = strtol(a, &end, 16);
	return end != a && (*end == '\0' || *end == '.') && v >= 0 && v < 32 ? (int)v : -1;
}


static int kvm_hp_add(void *opaque, const char *driver, const char *id,
		      const char *opts, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	struct machine_config *cfg = km->cfg;
	const char *G = "GenericError";
	if (kvm_cpuhp_is_cpu(driver))
		return kvm_cpuhp_add(km, driver, id, opts, e);
	if (!strcmp(driver, "scsi-hd"))
		return kvm_hp_add_scsi(km, id, opts, e);   /* kvm_hotplug_bus.c */
	if (!strcmp(driver, "virtconsole") || !strcmp(driver, "virtserialport"))
		return kvm_hp_add_port(km, driver, id, opts, e);
	if (!strcmp(driver, "pc-dimm"))
		return kvm_memhp_dimm_add(km, id, opts, e);
	bool blk = !strcmp(driver, "virtio-blk-pci"), net = !strcmp(driver, "virtio-net-pci");
	bool vsock = !strcmp(driver, "virtio-vsock-pci") || !strcmp(driver, "vhost-vsock-pci");
	/* vhost-user devices on a chardev-add'ed socket (issue 16 item 7). */
	bool vhu = !strcmp(driver, "vhost-user-blk-pci") || !strcmp(driver, "vhost-user-fs-pci");
	/* virtio-mem as Kata resizes with it (issue 17): a PCI function
	 * whose region goes into the memory-device window. */
	bool vmem = !strcmp(driver, "virtio-mem-pci");
	if (!blk && !net && !vsock && !vhu && !vmem)
		return hp_fail(e, G, "'%s' is not a valid device model name", driver, NULL);
	if (id && config_device(cfg, id))
		return hp_fail(e, G, "Duplicate device ID '%s'", id, NULL);
	char bus[CFG_ID_MAX], ref[CFG_ID_MAX];
	hp_prop(opts, "bus", bus, sizeof(bus));
	if (!bus[0])
		snprintf(bus, sizeof(bus), "%s", CFG_ROOT_BUS);
	const struct cfg_device *port = config_device(cfg, bus);
	if (strcmp(bus, CFG_ROOT_BUS) && (!port || port->type != CFG_DEV_PCI_BRIDGE))
		return hp_fail(e, G, "Bus '%s' not found", bus, NULL);
	if (!port || (!port->pcie_port && !port->shpc))
		return hp_fail(e, G, "Bus '%s' does not support hotplugging", bus, NULL);
	if (blk) {
		hp_prop(opts, "drive", ref, sizeof(ref));
		if (!ref[0])
			return hp_fail(e, G, "drive property not set", NULL, NULL);
		if (!config_drive(cfg, ref))
			return hp_fail(e, G, "Property 'virtio-blk-device.drive' can't find value '%s'",
				       ref, NULL);
		if (hp_drive_used(cfg, ref))
			return hp_fail(e, G, "Drive '%s' is already in use by another device", ref, NULL);
	} else if (vhu) {
		/* A vhost-user connection needs eventfds (and a socket when
		 * no chardev-add connection is held): under the seccomp filter
		 * of a -no-reboot VM those would kill the VMM. */
		if (km->sandboxed && cfg->no_reboot)
			return hp_fail(e, G, "%s cannot be hot-plugged into a -no-reboot VM under seccomp (it needs new eventfds and a socket): give it on the command line, or -disable-seccomp",
				       driver, NULL);
		hp_prop(opts, "chardev", ref, sizeof(ref));
		if (!ref[0])
			return hp_fail(e, G, "chardev property not set", NULL, NULL);
		if (!config_chardev(cfg, ref))
			return hp_fail(e, G, "Property '%s.chardev' can't find value '%s'", driver, ref);
		for (unsigned i = 0; i < cfg->ndevices; i++)
			if (!strcmp(cfg->devices[i].chardev, ref))
				return hp_fail(e, G, "Property '%s.chardev' can't use value '%s', it's in use",
					       driver, ref);
	} else if (vmem) {
		if (kvm_memhp_vmem_check(km, opts, e) < 0)
			return -1;
	} else if (vsock) {
		/* virtio-vsock binds its socket now: under the seccomp filter of
		 * a -no-reboot VM (no socket/bind after boot) that would kill
		 * the VMM, so it is refused with the way out. */
		if (km->sandboxed && cfg->no_reboot && driver[1] == 'i')
			return hp_fail(e, G, "%s cannot be hot-plugged into a -no-reboot VM under seccomp (it binds a socket): give it on the command line, or -disable-seccomp",
				       driver, NULL);
	} else {
		hp_prop(opts, "netdev", ref, sizeof(ref));
		if (ref[0] && !config_netdev(cfg, ref))
			return hp_fail(e, G, "Property 'virtio-net-device.netdev' can't find value '%s'",
				       ref, NULL);
		if (ref[0] && hp_netdev_used(cfg, ref))
			return hp_fail(e, G, "Property 'virtio-net-device.netdev' can't take value '%s', it's in use",
				       ref, NULL);
	}
	/* A root port has one slot (0); an SHPC bridge the addr= slot.
	 * QEMU places a device without addr= at the bridge's first free
	 * devfn, 0, which its SHPC refuses: so does this. */
	int want = port->pcie_port ? 0 : hp_addr_slot(opts);
	if (port->shpc && want <= 0) {
		char a[16];
		hp_prop(opts, "addr", a, sizeof(a));
		if (!a[0] || want == 0)
			return hp_fail(e, G, "Unsupported PCI slot 0 for standard hotplug "
				       "controller. Valid slots are between 1 and 31.%s", "", NULL);
	}
	for (unsigned i = 0; want >= 0 && i < cfg->ndevices; i++) {
		const struct layout_dev *ld = layout_dev_for(&km->layout, (int)i);
		if (cfg->devices[i].parent != (int)(port - cfg->devices) ||
		    (port->shpc && (!ld || ld->pci_slot != want || ld->pci_func != 0)))
			continue;
		e->cls = G;
		snprintf(e->desc, sizeof(e->desc),
			 "PCI: slot %d function 0 not available for %s, in use by %s,id=%s",
			 want, driver, config_device_name(&cfg->devices[i]), cfg->devices[i].id);
		return -1;
	}
	/* Our rules (the command line's): what QEMU would also refuse, or
	 * what we do not model. */
	char err[256];
	if (config_add_device(cfg, opts, err, sizeof(err)) < 0) {
		const char *m = strncmp(err, "vmm: -device: ", 14) ? err : err + 14;
		return hp_fail(e, G, "%s", m, NULL);
	}
	unsigned idx = cfg->ndevices - 1;
	struct layout nl;
	bool mapped = false;
	int lr = layout_build(&nl, cfg, err, sizeof(err));
	if (lr == 0)
		km->layout = nl;
	/* virtio-mem: its memory is in the guest (gm and a KVM slot)
	 * before the function appears, as a DIMM's is before its event. */
	if (lr == 0 && vmem)
		mapped = (lr = kvm_memhp_vmem_map(km, idx, err, sizeof(err))) == 0;
	if (lr < 0 || board_hotplug_add(km->board, idx, err, sizeof(err)) < 0) {
		/* Roll back: the description and address map as before. */
		if (mapped)
			kvm_memhp_vmem_unmap(km, idx);
		cfg->ndevices--;
		layout_build(&km->layout, cfg, NULL, 0);
		const char *m = strncmp(err, "vmm: ", 5) ? err : err + 5;
		return hp_fail(e, G, "%s", m, NULL);
	}
	log_info(km->m.log, "device_add: %s%s%s on %s", driver, id ? " id=" : "",
		 id ? id : "", bus);
	return 0;
}

static int kvm_hp_del(void *opaque, const char *id, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	int c = kvm_cpuhp_del(km, id, e);
	if (c <= 0)
		return c;
	const struct cfg_device *d = config_device(km->cfg, id);
	if (!d)
		return hp_fail(e, "DeviceNotFound", "Device '%s' not found", id, NULL);
	if (d->type == CFG_DEV_PC_DIMM)
		return kvm_memhp_dimm_del(km, d, e);
	/* QEMU 7.2 (pc_virtio_md_pci_unplug_request) refuses it, once
	 * the bus could unplug at all: the guest may hold memory in it. */
	const struct cfg_device *port = d->parent >= 0 ? &km->cfg->devices[d->parent] : NULL;
	if (d->type == CFG_DEV_VIRTIO_MEM && port && (port->pcie_port || port->shpc))
		return hp_fail(e, "GenericError", "virtio based memory devices cannot be unplugged.%s",
			       "", NULL);
	int r = board_hotplug_del(km->board, id);
	if (r == -EALREADY)
		return hp_fail(e, "GenericError", "Device %s is already in the process of unplug",
			       id, NULL);
	if (r == -EBUSY)
		return hp_fail(e, "GenericError", "Hot-unplug failed: guest is busy (power indicator blinking)%s",
			       "", NULL);
	if (r < 0)
		return hp_fail(e, "GenericError", "Bus '%s' does not support hotplugging",
			       d->bus, NULL);
	return 0;
}

/* board_host.device_deleted: the guest released it; it is gone. */
void kvm_hp_deleted(void *opaque, const char *id)
{
	struct kvm_machine *km = opaque;
	char data[2 * CFG_ID_MAX + 96];
	const struct cfg_device *d = config_device(km->cfg, id);
	/* An LU or a serial port has no virtio backend child: QEMU sends
	 * one event. */
	bool lu = d && (d->type == CFG_DEV_SCSI_HD || d->type == CFG_DEV_SCSI_CD ||
			d->type == CFG_DEV_VIRTCONSOLE);
	config_remove_device(km->cfg, id);
	layout_build(&km->layout, km->cfg, NULL, 0);
	log_info(km->m.log, "device_del: %s removed by the guest", id);
	if (!km->qmp)
		return;
	/* QEMU 7.2's pair: the virtio backend child, then the device. */
	snprintf(data, sizeof(data), "{\"path\": \"/machine/peripheral/%s/virtio-backend\"}", id);
	if (!lu)
		qmp_server_emit_event(km->qmp, "DEVICE_DELETED", data);
	snprintf(data, sizeof(data), "{\"device\": \"%s\", \"path\": \"/machine/peripheral/%s\"}",
		 id, id);
	qmp_server_emit_event(km->qmp, "DEVICE_DELETED", data);
}

/* qom-get of "addr" (devfn, as QEMU's PCI devfn property) and of
 * "parent_bus" (the QOM path of the bus, for Kata's PCI path). */
static int kvm_hp_qom_get(void *opaque, const char *path, const char *prop,
			  struct json **out, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	const char *id = path;
	static const char pfx[] = "/machine/peripheral/";
	if (!strncmp(path, pfx, sizeof(pfx) - 1))
		id = path + sizeof(pfx) - 1;
	const struct cfg_device *d = *id ? config_device(km->cfg, id) : NULL;
	if (!d)
		return hp_fail(e, "DeviceNotFound", "Device '%s' not found", path, NULL);
	const struct layout_dev *ld = layout_dev_for(&km->layout, (int)(d - km->cfg->devices));
	if (!strcmp(prop, "addr") && d->transport == CFG_TRANSPORT_PCI && ld) {
		*out = json_new_int(ld->pci_slot << 3 | ld->pci_func);
		return 0;
	}
	if (!strcmp(prop, "parent_bus") && d->transport == CFG_TRANSPORT_PCI) {
		char p[2 * CFG_ID_MAX + 32];
		if (d->parent < 0)
			snprintf(p, sizeof(p), "/machine/q35/pcie.0");
		else
			snprintf(p, sizeof(p), "/machine/peripheral/%s/%s", d->bus, d->bus);
		*out = json_new_str(p);
		return 0;
	}
	if (d->type == CFG_DEV_VIRTIO_MEM)
		return kvm_memhp_qom_get(km, d, prop, out, e);
	e->cls = "GenericError";
	snprintf(e->desc, sizeof(e->desc), "Property '%s.%s' not found",
		 config_device_name(d), prop);
	return -1;
}

void kvm_hotplug_ops(struct kvm_machine *km, struct qmp_machine_ops *ops)
{
	ops->device_add = kvm_hp_add;
	ops->device_del = kvm_hp_del;
	ops->qom_get = kvm_hp_qom_get;
	kvm_netdev_ops(km, ops);
	kvm_memhp_ops(km, ops);
}

/* For kvm_hotplug_bus.c: the helpers above. */
void kvm_hp_prop(const char *opts, const char *key, char *out, size_t outlen)
{
	hp_prop(opts, key, out, outlen);
}

int kvm_hp_fail(struct qmp_err *e, const char *cls, const char *fmt, const char *a,
		const char *b)
{
	return hp_fail(e, cls, fmt, a, b);
}

bool kvm_hp_drive_used(const struct machine_config *cfg, const char *drive)
{
	return hp_drive_used(cfg, drive);
}
