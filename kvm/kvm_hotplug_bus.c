/* device_add of the devices that sit on a virtio bus rather than a PCI
 * slot (QMP ops, kvm_hotplug.c dispatches here): scsi-hd on a
 * virtio-scsi's bus and virtconsole/virtserialport on a virtio-serial's,
 * with QEMU 7.2's checks in its order and words
 * (tests/integration/test_qmp_vs_qemu_hotplug.sh compares them), then
 * the description extended and the board told (board_hotplug_add).  Both
 * go at once on device_del (board_hotplug_del).  Big lock held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/qmp.h"
#include "machine/board.h"
#include "kvm/kvm_int.h"

/* The controller a "ID.0" bus names (of type want), or an error in
 * QEMU's words: a PCI(e) bus, or no such bus. */
static const struct cfg_device *hp_child_bus(const struct machine_config *cfg,
					     const char *driver, char *bus,
					     enum cfg_device_type want, struct qmp_err *e)
{
	size_t n = strlen(bus);
	const struct cfg_device *pb = config_device(cfg, bus), *c = NULL;
	bool root = !strcmp(bus, CFG_ROOT_BUS);
	if (root || (pb && pb->type == CFG_DEV_PCI_BRIDGE)) {
		e->cls = "GenericError";
		snprintf(e->desc, sizeof(e->desc), "Device '%s' can't go on %s bus", driver,
			 root || pb->pcie_port ? "PCIE" : "PCI");
		return NULL;
	}
	if (n > 2 && !strcmp(bus + n - 2, ".0")) {
		bus[n - 2] = '\0';
		c = config_device(cfg, bus);
		bus[n - 2] = '.';
	}
	if (!c || c->type != want) {
		kvm_hp_fail(e, "GenericError", "Bus '%s' not found", bus, NULL);
		return NULL;
	}
	return c;
}

/* scsi-hd on a virtio-scsi's bus ("ID.0", or the first one): QEMU 7.2's
 * checks in its order and words, then the LU is built and the driver
 * told (board_scsi_lun; virtio 1.2 §5.6.6.3.1). */
int kvm_hp_add_scsi(struct kvm_machine *km, const char *id, const char *opts,
			   struct qmp_err *e)
{
	struct machine_config *cfg = km->cfg;
	const char *G = "GenericError";
	if (id && config_device(cfg, id))
		return kvm_hp_fail(e, G, "Duplicate device ID '%s'", id, NULL);
	char bus[CFG_ID_MAX + 4], ref[CFG_ID_MAX], v[16];
	kvm_hp_prop(opts, "bus", bus, sizeof(bus));
	const struct cfg_device *hba = NULL;
	if (bus[0]) {
		if (!(hba = hp_child_bus(cfg, "scsi-hd", bus, CFG_DEV_VIRTIO_SCSI, e)))
			return -1;
	} else {
		for (unsigned i = 0; i < cfg->ndevices && !hba; i++)
			if (cfg->devices[i].type == CFG_DEV_VIRTIO_SCSI)
				hba = &cfg->devices[i];
		if (!hba)
			return kvm_hp_fail(e, G, "No 'SCSI' bus found for device 'scsi-hd'%s", "", NULL);
	}
	kvm_hp_prop(opts, "drive", ref, sizeof(ref));
	if (!ref[0])
		return kvm_hp_fail(e, G, "drive property not set", NULL, NULL);
	if (!config_drive(cfg, ref))
		return kvm_hp_fail(e, G, "Property 'scsi-hd.drive' can't find value '%s'", ref, NULL);
	if (kvm_hp_drive_used(cfg, ref))
		return kvm_hp_fail(e, G, "Drive '%s' is already in use by another device", ref, NULL);
	/* Range checks (scsi_qdev_realize), then the address in use. */
	long target = -1, lun = 0;
	kvm_hp_prop(opts, "scsi-id", v, sizeof(v));
	if (v[0])
		target = strtol(v, NULL, 0);
	if (v[0] && (target < 0 || target > CFG_MAX_SCSI_TARGET))
		return kvm_hp_fail(e, G, "bad scsi device id: %s", v, NULL);
	kvm_hp_prop(opts, "lun", v, sizeof(v));
	if (v[0])
		lun = strtol(v, NULL, 0);
	if (v[0] && (lun < 0 || lun > CFG_MAX_SCSI_LUN))
		return kvm_hp_fail(e, G, "bad scsi device lun: %s", v, NULL);
	for (unsigned i = 0; target >= 0 && i < cfg->ndevices; i++) {
		const struct cfg_device *o = &cfg->devices[i];
		if ((o->type == CFG_DEV_SCSI_HD || o->type == CFG_DEV_SCSI_CD) &&
		    o->parent == (int)(hba - cfg->devices) && o->scsi_id == target &&
		    o->scsi_lun == (unsigned)lun)
			return kvm_hp_fail(e, G, "lun already used by '%s'", o->id, NULL);
	}
	char err[256];
	if (config_add_device(cfg, opts, err, sizeof(err)) < 0) {
		const char *m = strncmp(err, "vmm: -device: ", 14) ? err : err + 14;
		return kvm_hp_fail(e, G, "%s", m, NULL);
	}
	if (board_hotplug_add(km->board, cfg->ndevices - 1, err, sizeof(err)) < 0) {
		cfg->ndevices--;
		const char *m = strncmp(err, "vmm: ", 5) ? err : err + 5;
		return kvm_hp_fail(e, G, "%s", m, NULL);
	}
	log_info(km->m.log, "device_add: scsi-hd%s%s on %s", id ? " id=" : "", id ? id : "",
		 hba->id);
	return 0;
}

/* virtconsole / virtserialport on a virtio-serial ("ID.0", or the first
 * one): QEMU 7.2's checks and words, then the port is added and the
 * driver told (DEVICE_ADD, virtio 1.2 §5.3.6.2). */
int kvm_hp_add_port(struct kvm_machine *km, const char *driver, const char *id,
			   const char *opts, struct qmp_err *e)
{
	struct machine_config *cfg = km->cfg;
	const char *G = "GenericError";
	if (id && config_device(cfg, id))
		return kvm_hp_fail(e, G, "Duplicate device ID '%s'", id, NULL);
	char bus[CFG_ID_MAX + 4], ref[CFG_ID_MAX];
	kvm_hp_prop(opts, "bus", bus, sizeof(bus));
	const struct cfg_device *ser = NULL;
	if (bus[0] && !(ser = hp_child_bus(cfg, driver, bus, CFG_DEV_VIRTIO_SERIAL, e)))
		return -1;
	for (unsigned i = 0; i < cfg->ndevices && !ser; i++)
		if (cfg->devices[i].type == CFG_DEV_VIRTIO_SERIAL)
			ser = &cfg->devices[i];
	if (!ser)
		return kvm_hp_fail(e, G, "No 'virtio-serial-bus' bus found for device '%s'", driver, NULL);
	kvm_hp_prop(opts, "chardev", ref, sizeof(ref));
	if (ref[0] && !config_chardev(cfg, ref)) {
		e->cls = G;
		snprintf(e->desc, sizeof(e->desc), "Property '%s.chardev' can't find value '%s'",
			 driver, ref);
		return -1;
	}
	for (unsigned i = 0; ref[0] && i < cfg->ndevices; i++)
		if (!strcmp(cfg->devices[i].chardev, ref)) {
			e->cls = G;
			snprintf(e->desc, sizeof(e->desc),
				 "Property '%s.chardev' can't take value '%s': Device '%s' is in use",
				 driver, ref, ref);
			return -1;
		}
	char err[256];
	if (config_add_device(cfg, opts, err, sizeof(err)) < 0) {
		const char *m = strncmp(err, "vmm: -device: ", 14) ? err : err + 14;
		return kvm_hp_fail(e, G, "%s", m, NULL);
	}
	if (board_hotplug_add(km->board, cfg->ndevices - 1, err, sizeof(err)) < 0) {
		cfg->ndevices--;
		const char *m = strncmp(err, "vmm: ", 5) ? err : err + 5;
		return kvm_hp_fail(e, G, "%s", m, NULL);
	}
	log_info(km->m.log, "device_add: %s%s%s on %s", driver, id ? " id=" : "", id ? id : "",
		 ser->id);
	return 0;
}
