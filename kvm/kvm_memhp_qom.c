/* What QMP reads and sets of hot-plugged memory on the KVM machine:
 * query-memory-devices (pc-dimm and virtio-mem entries, QEMU 7.2's
 * shape), and virtio-mem's qom-get / qom-set of requested-size with the
 * board's ram_discard hook and the restore that keeps the size.  Adding
 * and removing the memory itself is kvm_memhp.c's.  Big lock held. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "core/gm.h"
#include "core/json.h"
#include "core/qmp.h"
#include "machine/board.h"
#include "machine/board_ram.h"
#include "devices/virtio/mem.h"
#include "kvm/kvm_int.h"

static int km_fail(struct qmp_err *e, const char *cls, const char *fmt, const char *a)
{
	e->cls = cls;
	snprintf(e->desc, sizeof(e->desc), fmt, a ? a : "");
	return -1;
}

/* ---- query-memory-devices ---- */

static struct json *km_vmem_entry(struct kvm_machine *km, const struct cfg_device *d,
				  const struct layout_dev *ld);

static struct json *km_put(struct json *o, const char *k, struct json *v)
{
	if (o && v && json_object_add(o, k, v) == 0)
		return o;
	json_free(v);
	json_free(o);
	return NULL;
}

int kvm_memhp_query(void *opaque, struct json **out, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	struct json *list = json_new_array();
	(void)e;
	for (unsigned i = 0; list && i < km->cfg->ndevices; i++) {
		const struct cfg_device *d = &km->cfg->devices[i];
		const struct layout_dev *ld = layout_dev_for(&km->layout, (int)i);
		if (d->type == CFG_DEV_VIRTIO_MEM && ld) {
			struct json *ent = km_vmem_entry(km, d, ld);
			if (!ent || json_array_add(list, ent) != 0) {
				json_free(ent);
				json_free(list);
				list = NULL;
			}
			continue;
		}
		if (d->type != CFG_DEV_PC_DIMM || !ld)
			continue;
		char path[CFG_ID_MAX + 16];
		snprintf(path, sizeof(path), "/objects/%s", d->memdev);
		struct json *data = json_new_object();
		data = km_put(data, "memdev", json_new_str(path));
		data = km_put(data, "hotplugged", json_new_bool(d->hotplugged));
		data = km_put(data, "addr", json_new_int((int64_t)ld->pmem_base));
		data = km_put(data, "hotpluggable", json_new_bool(true));
		data = km_put(data, "size", json_new_int((int64_t)ld->pmem_size));
		data = km_put(data, "slot", json_new_int(ld->mem_slot));
		data = km_put(data, "node", json_new_int(d->mem_node));
		if (d->id[0])
			data = km_put(data, "id", json_new_str(d->id));
		struct json *ent = json_new_object();
		ent = km_put(ent, "type", json_new_str("dimm"));
		ent = km_put(ent, "data", data);
		if (!ent || json_array_add(list, ent) != 0) {
			json_free(ent);
			json_free(list);
			list = NULL;
		}
	}
	*out = list;
	return 0;
}

/* ---- virtio-mem ---- */

/* board_host.ram_discard: the guest unplugged [gpa, gpa + len).  An
 * fd-backed region (memfd, a shared file) gets a hole punched, so the
 * memory really goes; every mapping drops its pages. */
void kvm_ram_discard(void *opaque, uint64_t gpa, uint64_t len)
{
	struct kvm_machine *km = opaque;
	const struct gm_region *r = gm_region_find(km->m.gm, gpa);
	if (!r || len > r->size || gpa - r->gpa > r->size - len)
		return;
	uint64_t off = gpa - r->gpa;
	if ((r->flags & GM_SHARED) && r->fd >= 0 && fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				    (off_t)(r->fd_offset + off), (off_t)len) < 0)
		log_warn(km->m.log, "virtio-mem: punching a hole at 0x%llx: %s",
			 (unsigned long long)gpa, strerror(errno));
	madvise(r->host + off, len, MADV_DONTNEED);
}

static const char *km_id(const char *path)
{
	static const char pfx[] = "/machine/peripheral/";
	return strncmp(path, pfx, sizeof(pfx) - 1) ? path : path + sizeof(pfx) - 1;
}

int kvm_memhp_qom_get(struct kvm_machine *km, const struct cfg_device *d,
		      const char *prop, struct json **out, struct qmp_err *e)
{
	struct vmem *m = km->board ? board_vmem(km->board, d->id) : NULL;
	if (m && !strcmp(prop, "requested-size"))
		*out = json_new_int((int64_t)vmem_requested(m));
	else if (m && !strcmp(prop, "size"))
		*out = json_new_int((int64_t)vmem_plugged(m));
	else if (m && !strcmp(prop, "block-size"))
		*out = json_new_int((int64_t)vmem_block_size(m));
	else {
		e->cls = "GenericError";
		snprintf(e->desc, sizeof(e->desc), "Property '%s.%s' not found",
			 config_device_name(d), prop);
		return -1;
	}
	return 0;
}

int kvm_memhp_qom_set(void *opaque, const char *path, const char *prop,
		      const struct json *value, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	const char *id = km_id(path);
	struct cfg_device *d = *id ? (struct cfg_device *)config_device(km->cfg, id) : NULL;
	if (!d)
		return km_fail(e, "DeviceNotFound", "Device '%s' not found", path);
	struct vmem *m = km->board ? board_vmem(km->board, d->id) : NULL;
	if (!m || strcmp(prop, "requested-size")) {
		e->cls = "GenericError";
		snprintf(e->desc, sizeof(e->desc), "Property '%s.%s' not found",
			 config_device_name(d), prop);
		return -1;
	}
	if (json_type(value) != JSON_INT || json_get_int(value) < 0)
		return km_fail(e, "GenericError", "Parameter 'requested-size' expects uint64", NULL);
	uint64_t v = (uint64_t)json_get_int(value);
	e->cls = "GenericError";
	if (v % vmem_block_size(m)) {
		snprintf(e->desc, sizeof(e->desc),
			 "'requested-size' has to be multiples of 'block-size' (0x%llx)",
			 (unsigned long long)vmem_block_size(m));
		return -1;
	}
	if (vmem_set_requested(m, v) < 0) {
		snprintf(e->desc, sizeof(e->desc),
			 "'requested-size' cannot exceed the memory backend size(0x%llx)",
			 (unsigned long long)config_memdev_size(km->cfg, d));
		return -1;
	}
	e->cls = NULL;
	/* A rebuilt board (reset) starts from this size, as QEMU keeps it. */
	d->vmem_requested = v;
	log_info(km->m.log, "qom-set: %s requested-size %llu", d->id, (unsigned long long)v);
	return 0;
}

static struct json *km_vmem_entry(struct kvm_machine *km, const struct cfg_device *d,
				  const struct layout_dev *ld)
{
	struct vmem *m = km->board ? board_vmem(km->board, d->id) : NULL;
	if (!m)
		return NULL;
	char path[CFG_ID_MAX + 16];
	snprintf(path, sizeof(path), "/objects/%s", d->memdev);
	struct json *data = json_new_object();
	data = km_put(data, "memdev", json_new_str(path));
	data = km_put(data, "memaddr", json_new_int((int64_t)ld->pmem_base));
	data = km_put(data, "block-size", json_new_int((int64_t)vmem_block_size(m)));
	data = km_put(data, "size", json_new_int((int64_t)vmem_plugged(m)));
	data = km_put(data, "node", json_new_int(d->mem_node));
	data = km_put(data, "max-size", json_new_int((int64_t)ld->pmem_size));
	data = km_put(data, "requested-size", json_new_int((int64_t)vmem_requested(m)));
	if (d->id[0])
		data = km_put(data, "id", json_new_str(d->id));
	struct json *ent = json_new_object();
	ent = km_put(ent, "type", json_new_str("virtio-mem"));
	return km_put(ent, "data", data);
}

/* virtio-mem's requested-size came from the stream (a qom-set on the
 * saved VM): the description keeps it, as kvm_memhp_qom_set does, so a reset of
 * the restored VM starts from it rather than from the command line's. */
void kvm_memhp_restored(struct kvm_machine *km)
{
	for (unsigned i = 0; i < km->cfg->ndevices; i++) {
		struct cfg_device *d = &km->cfg->devices[i];
		struct vmem *vm = d->type == CFG_DEV_VIRTIO_MEM ?
				  board_vmem(km->board, d->id) : NULL;
		if (vm)
			d->vmem_requested = vmem_requested(vm);
	}
}
