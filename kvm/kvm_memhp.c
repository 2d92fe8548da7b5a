/* Memory hot-plug on the KVM machine (issue 17): QMP object-add /
 * object-del of memory backends, device_add / device_del of pc-dimm,
 * query-memory-devices, and the guest's eject.  The machine description
 * (km->cfg) records the backends and DIMMs, so a reset rebuilds them
 * (the board maps the DIMMs it describes, machine/board_mem.c).  A DIMM
 * added at run time is mapped here: a gm region plus a KVM memory slot,
 * then the board tells the guest (ACPI memory hot-plug, GPE.3 / GED).
 * Errors are QEMU 7.2's, in its order (compared by
 * tests/integration/test_qmp_vs_qemu.sh).  Big lock held throughout.
 *
 * KVM slot numbers: the boot's gm regions took slots 0..n-1 in region
 * order (kvm_vm_map_gm); DIMMs added here take numbers from the top of
 * the host's range down, one per ACPI slot, so they never collide.  The
 * first operation of a boot records which slot each boot region got,
 * before anything here changes the region table. */
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

#define KM_MAX_BOOT_REGIONS GM_MAX_REGIONS

struct kvm_memhp {
	const struct board *board;   /* the boot the table below is for */
	struct { uint64_t gpa; unsigned slot; } boot[KM_MAX_BOOT_REGIONS];
	unsigned nboot;
};

static int km_fail(struct qmp_err *e, const char *cls, const char *fmt, const char *a)
{
	e->cls = cls;
	snprintf(e->desc, sizeof(e->desc), fmt, a ? a : "");
	return -1;
}

static struct kvm_memhp *km_state(struct kvm_machine *km)
{
	if (!km->memhp && !(km->memhp = calloc(1, sizeof(*km->memhp))))
		return NULL;
	struct kvm_memhp *h = km->memhp;
	if (h->board != km->board) {
		h->board = km->board;
		h->nboot = gm_region_count(km->m.gm);
		if (h->nboot > KM_MAX_BOOT_REGIONS)
			h->nboot = KM_MAX_BOOT_REGIONS;
		for (unsigned i = 0; i < h->nboot; i++) {
			h->boot[i].gpa = gm_region_at(km->m.gm, i)->gpa;
			h->boot[i].slot = i;
		}
	}
	return h;
}

void kvm_memhp_free(struct kvm_machine *km)
{
	free(km->memhp);
	km->memhp = NULL;
}

/* The KVM slot a DIMM at gpa in ACPI slot `aslot` occupies. */
static unsigned km_kvm_slot(const struct kvm_machine *km, const struct kvm_memhp *h,
			    uint64_t gpa, unsigned aslot)
{
	for (unsigned i = 0; i < h->nboot; i++)
		if (h->boot[i].gpa == gpa)
			return h->boot[i].slot;
	return km->sys.nr_memslots - 1 - aslot;
}

static int km_set_slot(struct kvm_machine *km, unsigned slot, uint64_t gpa,
		       uint64_t size, void *host)
{
	struct kvm_userspace_memory_region s = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};
	return ioctl(km->vm.fd, KVM_SET_USER_MEMORY_REGION, &s) < 0 ? -errno : 0;
}

static bool km_has_iothreads(const struct machine_config *cfg)
{
	for (unsigned i = 0; i < cfg->nobjects; i++)
		if (cfg->objects[i].type == CFG_OBJ_IOTHREAD)
			return true;
	return false;
}

/* ---- object-add / object-del ---- */

static int km_object_add(void *opaque, const char *qom_type, const char *id,
			 const char *opts, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	(void)qom_type;
	if (config_object(km->cfg, id))
		return km_fail(e, "GenericError",
			       "attempt to add duplicate property '%s' to object (type 'container')", id);
	char err[256];
	if (config_add_object(km->cfg, opts, err, sizeof(err)) < 0) {
		const char *m = strncmp(err, "vmm: -object: ", 14) ? err : err + 14;
		return km_fail(e, "GenericError", "%s", m);
	}
	log_info(km->m.log, "object-add: %s", opts);
	return 0;
}

static int km_object_del(void *opaque, const char *id, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	const struct cfg_object *o = config_object(km->cfg, id);
	if (!o)
		return km_fail(e, "GenericError", "object '%s' not found", id);
	if (config_object_in_use(km->cfg, id))
		return km_fail(e, "GenericError", "object '%s' is in use, can not be deleted", id);
	config_remove_object(km->cfg, id);
	log_info(km->m.log, "object-del: %s", id);
	return 0;
}

/* ---- pc-dimm ---- */

static void km_prop(const char *opts, const char *key, char *out, size_t outlen)
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

/* Strip our prefixes ("vmm: ", "vmm: -device: pc-dimm 'd1': ") so the
 * reason reads as QEMU's. */
static const char *km_reason(const char *err)
{
	if (!strncmp(err, "vmm: ", 5))
		err += 5;
	if (!strncmp(err, "-device: ", 9))
		err += 9;
	/* The device label config_check puts first: "? 'd1': ". */
	const char *c = strstr(err, "': ");
	return c ? c + 3 : err;
}

static void km_undo_cfg(struct kvm_machine *km, const char *id)
{
	config_remove_device(km->cfg, id);
	layout_build(&km->layout, km->cfg, NULL, 0);
}

int kvm_memhp_dimm_add(struct kvm_machine *km, const char *id, const char *opts,
		       struct qmp_err *e)
{
	struct machine_config *cfg = km->cfg;
	const char *G = "GenericError";
	char memdev[CFG_ID_MAX], err[256];
	if (id && config_device(cfg, id))
		return km_fail(e, G, "Duplicate device ID '%s'", id);
	km_prop(opts, "memdev", memdev, sizeof(memdev));
	if (!memdev[0])
		return km_fail(e, G, "'memdev' property must be set", NULL);
	if (!config_object(cfg, memdev))
		return km_fail(e, "DeviceNotFound", "Device '%s' not found", memdev);
	if (config_object_in_use(cfg, memdev))
		return km_fail(e, G, "can't use already busy memdev: %s", memdev);
	if (!id || !*id)
		return km_fail(e, G, "pc-dimm needs an id= to be unplugged (vmm)", NULL);
	if (km_has_iothreads(cfg))
		return km_fail(e, G, "memory hot-plug beside -object iothread is not supported (vmm)",
			       NULL);
	struct kvm_memhp *h = km_state(km);
	if (!h || !km->board)
		return km_fail(e, G, "out of memory", NULL);
	if (board_vhost_ram_check(km->board, config_object(cfg, memdev), err, sizeof(err)) < 0)
		return km_fail(e, G, "%s", err);
	if (config_add_device(cfg, opts, err, sizeof(err)) < 0)
		return km_fail(e, G, "%s", km_reason(err));
	unsigned idx = cfg->ndevices - 1;
	struct cfg_device *d = &cfg->devices[idx];
	struct layout nl;
	if (layout_build(&nl, cfg, err, sizeof(err)) < 0) {
		km_undo_cfg(km, id);
		return km_fail(e, G, "%s", km_reason(err));
	}
	km->layout = nl;
	const struct layout_dev *ld = layout_dev_for(&km->layout, (int)idx);
	/* Fixed from now on: the DIMM keeps its place across resets and
	 * while others come and go. */
	d->mem_addr = ld->pmem_base;
	d->mem_slot = ld->mem_slot;
	d->hotplugged = true;
	uint64_t base = ld->pmem_base, size = ld->pmem_size;
	unsigned aslot = (unsigned)ld->mem_slot;
	struct gm_mmap_spec spec;
	char name[32];
	snprintf(name, sizeof(name), "dimm%u", aslot);
	int r = board_ram_spec(config_object(cfg, memdev), &spec, 0);
	if (!r)
		r = gm_add_mmap(km->m.gm, base, size, &spec, 0, name);
	if (r < 0) {
		km_undo_cfg(km, id);
		e->cls = G;
		snprintf(e->desc, sizeof(e->desc), "cannot map memdev '%s': %s", memdev,
			 strerror(-r));
		return -1;
	}
	const struct gm_region *g = gm_region_find(km->m.gm, base);
	unsigned kslot = km_kvm_slot(km, h, base, aslot);
	r = g ? km_set_slot(km, kslot, base, size, g->host) : -ENOENT;
	if (r == 0)
		r = board_dimm_plug(km->board, aslot, base, size, d->mem_node);
	if (r < 0) {
		km_set_slot(km, kslot, base, 0, NULL);
		gm_remove_region(km->m.gm, base);
		km_undo_cfg(km, id);
		e->cls = G;
		snprintf(e->desc, sizeof(e->desc), "hypervisor has no free memory slots left (%s)",
			 strerror(-r));
		return -1;
	}
	log_info(km->m.log, "device_add: pc-dimm id=%s memdev=%s slot %u at 0x%llx+0x%llx",
		 id, memdev, aslot, (unsigned long long)base, (unsigned long long)size);
	return 0;
}

int kvm_memhp_dimm_del(struct kvm_machine *km, const struct cfg_device *d,
		       struct qmp_err *e)
{
	const struct layout_dev *ld = layout_dev_for(&km->layout, (int)(d - km->cfg->devices));
	int r = km->board && ld && ld->mem_slot >= 0 ?
		board_dimm_unplug_request(km->board, (unsigned)ld->mem_slot) : -ENODEV;
	if (r == -EALREADY)
		return km_fail(e, "GenericError", "Device %s is already in the process of unplug", d->id);
	if (r < 0)
		return km_fail(e, "GenericError", "Device '%s' can not be unplugged now", d->id);
	log_info(km->m.log, "device_del: pc-dimm %s: eject requested", d->id);
	return 0;
}

/* board_host.dimm_ejected: the guest ejected the DIMM in ACPI slot
 * `slot`.  Its memory leaves the guest (KVM slot deleted) before the
 * host mapping goes. */
void kvm_memhp_ejected(void *opaque, unsigned slot)
{
	struct kvm_machine *km = opaque;
	struct kvm_memhp *h = km_state(km);
	const struct cfg_device *d = NULL;
	const struct layout_dev *ld = NULL;
	for (unsigned i = 0; i < km->cfg->ndevices; i++) {
		ld = layout_dev_for(&km->layout, (int)i);
		if (km->cfg->devices[i].type == CFG_DEV_PC_DIMM && ld &&
		    ld->mem_slot == (int)slot) {
			d = &km->cfg->devices[i];
			break;
		}
	}
	if (!d || !h)
		return;
	char id[CFG_ID_MAX];
	snprintf(id, sizeof(id), "%s", d->id);
	uint64_t base = ld->pmem_base;
	if (km_set_slot(km, km_kvm_slot(km, h, base, slot), base, 0, NULL) == 0 &&
	    !km_has_iothreads(km->cfg))
		gm_remove_region(km->m.gm, base);
	km_undo_cfg(km, id);
	log_info(km->m.log, "device_del: pc-dimm %s removed by the guest", id);
	if (!km->qmp)
		return;
	char data[2 * CFG_ID_MAX + 64];
	snprintf(data, sizeof(data), "{\"device\": \"%s\", \"path\": \"/machine/peripheral/%s\"}",
		 id, id);
	qmp_server_emit_event(km->qmp, "DEVICE_DELETED", data);
}

/* ---- virtio-mem-pci hot-add ---- */

/* device_add virtio-mem-pci, QEMU 7.2's property and realize checks in
 * its words (the bus was checked by the caller; sizes and room come
 * from layout_build after).  0 or -1 with e. */
int kvm_memhp_vmem_check(struct kvm_machine *km, const char *opts, struct qmp_err *e)
{
	const struct machine_config *cfg = km->cfg;
	const char *G = "GenericError";
	char memdev[CFG_ID_MAX], v[32];
	km_prop(opts, "memdev", memdev, sizeof(memdev));
	if (!memdev[0])
		return km_fail(e, G, "'memdev' property must be set", NULL);
	const struct cfg_object *o = config_object(cfg, memdev);
	if (!o)
		return km_fail(e, "DeviceNotFound", "Device '%s' not found", memdev);
	uint64_t bs = CFG_VMEM_MIN_BLOCK, req = 0;
	km_prop(opts, "block-size", v, sizeof(v));
	if (v[0] && (config_parse_size(v, 1, &bs) < 0 || !bs))
		return 0;   /* the option parser words it */
	/* memory_device_pre_plug's checks, before realize's. */
	if (o->size % bs) {
		e->cls = G;
		snprintf(e->desc, sizeof(e->desc), "backend memory size must be multiple of 0x%llx",
			 (unsigned long long)bs);
		return -1;
	}
	if (config_object_in_use(cfg, memdev))
		return km_fail(e, G, "'memdev' property specifies a busy memdev: %s", memdev);
	if (km_has_iothreads(cfg))
		return km_fail(e, G, "memory hot-plug beside -object iothread is not supported (vmm)",
			       NULL);
	if (!km->board || !km_state(km))
		return km_fail(e, G, "out of memory", NULL);
	char why[256];
	if (board_vhost_ram_check(km->board, o, why, sizeof(why)) < 0)
		return km_fail(e, G, "%s", why);
	km_prop(opts, "requested-size", v, sizeof(v));
	if (v[0] && config_parse_size(v, 1, &req) == 0 && req % bs) {
		e->cls = G;
		snprintf(e->desc, sizeof(e->desc),
			 "'requested-size' property has to be multiples of 'block-size' (0x%llx)",
			 (unsigned long long)bs);
		return -1;
	}
	return 0;
}

/* The KVM slot of hot-added virtio-mem region k (k-th hot-added one
 * not mapped at boot): below the DIMMs' range from the top.  QEMU 7.2
 * cannot unplug virtio-mem, so k of a region never changes while it is
 * mapped. */
static int km_vmem_slot(struct kvm_machine *km, unsigned idx)
{
	struct kvm_memhp *h = km_state(km);
	if (!h)
		return -1;
	unsigned k = 0;
	for (unsigned i = 0; i < km->cfg->ndevices; i++) {
		const struct cfg_device *d = &km->cfg->devices[i];
		const struct layout_dev *ld = layout_dev_for(&km->layout, (int)i);
		if (d->type != CFG_DEV_VIRTIO_MEM || !ld)
			continue;
		bool boot = false;
		for (unsigned j = 0; j < h->nboot; j++)
			boot |= h->boot[j].gpa == ld->pmem_base;
		if (boot)
			continue;
		if (i == idx)
			break;
		k++;
	}
	unsigned top = CFG_MAX_MEM_SLOTS + 1 + k;
	return km->sys.nr_memslots > top + h->nboot ? (int)(km->sys.nr_memslots - top) : -1;
}

/* Map the region of the virtio-mem -device idx (placed by layout_build)
 * into gm and a KVM memory slot before the board builds the function:
 * from then on it keeps that place, across resets too. */
int kvm_memhp_vmem_map(struct kvm_machine *km, unsigned idx, char *err, size_t errlen)
{
	struct cfg_device *d = &km->cfg->devices[idx];
	const struct layout_dev *ld = layout_dev_for(&km->layout, (int)idx);
	if (!ld || !ld->pmem_size) {
		snprintf(err, errlen, "virtio-mem '%s' not placed", d->id);
		return -1;
	}
	d->mem_addr = ld->pmem_base;
	d->hotplugged = true;
	struct gm_mmap_spec spec;
	char name[40];
	snprintf(name, sizeof(name), "vmem-%.24s", d->memdev);
	int slot = km_vmem_slot(km, idx);
	int r = slot < 0 ? -ENOSPC : board_ram_spec(config_object(km->cfg, d->memdev), &spec, 0);
	if (!r)
		r = gm_add_mmap(km->m.gm, ld->pmem_base, ld->pmem_size, &spec, 0, name);
	if (r < 0) {
		snprintf(err, errlen, slot < 0 ? "hypervisor has no free memory slots left" :
			 "cannot map memdev '%s': %s", d->memdev, strerror(-r));
		return -1;
	}
	const struct gm_region *g = gm_region_find(km->m.gm, ld->pmem_base);
	r = g ? km_set_slot(km, (unsigned)slot, ld->pmem_base, ld->pmem_size, g->host) : -ENOENT;
	if (r < 0) {
		gm_remove_region(km->m.gm, ld->pmem_base);
		snprintf(err, errlen, "hypervisor has no free memory slots left (%s)", strerror(-r));
		return -1;
	}
	log_info(km->m.log, "device_add: virtio-mem %s region 0x%llx+0x%llx in KVM slot %d",
		 d->id, (unsigned long long)ld->pmem_base, (unsigned long long)ld->pmem_size, slot);
	return 0;
}

/* Undo kvm_memhp_vmem_map (the board refused the function). */
void kvm_memhp_vmem_unmap(struct kvm_machine *km, unsigned idx)
{
	const struct layout_dev *ld = layout_dev_for(&km->layout, (int)idx);
	int slot = km_vmem_slot(km, idx);
	if (!ld || slot < 0)
		return;
	if (km_set_slot(km, (unsigned)slot, ld->pmem_base, 0, NULL) == 0)
		gm_remove_region(km->m.gm, ld->pmem_base);
}

void kvm_memhp_ops(struct kvm_machine *km, struct qmp_machine_ops *ops)
{
	(void)km;
	ops->object_add = km_object_add;
	ops->object_del = km_object_del;
	ops->query_memory_devices = kvm_memhp_query;
	ops->qom_set = kvm_memhp_qom_set;
}
