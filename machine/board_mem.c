/* Memory hot-plug on the board (issue 17): the ACPI register block at
 * MEMHP_IO_BASE (its events go through GPE0 bit 3 on q35, the GED on
 * microvm: devices/acpi/acpi_gpe.c); the
 * pc-dimms of the description mapped into guest memory at build (the
 * -device ones, and after a reset the hot-plugged ones, which the
 * description keeps).  Hot-adding maps memory slots, which is the
 * backend's job (kvm/kvm_memhp.c): it calls board_dimm_plug once the
 * memory is there, and hears of the guest's eject through
 * board_host.dimm_ejected. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "core/gm.h"
#include "machine/board_int.h"
#include "machine/board_ram.h"
#include "devices/virtio/mem.h"

static void bm_notify(void *opaque)
{
	struct board *b = opaque;
	acpi_pm_hotplug_event(&b->pm, MEMHP_GPE_BIT, MEMHP_GED_EVT);
}

static void bm_ejected(void *opaque, unsigned slot)
{
	struct board *b = opaque;
	/* vhost-user backends let go of it before its memory goes. */
	for (unsigned i = 0; i < b->cfg->ndevices; i++) {
		const struct layout_dev *ld = layout_dev_for(b->l, (int)i);
		if (b->cfg->devices[i].type == CFG_DEV_PC_DIMM && ld && ld->mem_slot == (int)slot)
			board_vhost_ram_removing(b, ld->pmem_base);
	}
	if (b->host && b->host->dimm_ejected)
		b->host->dimm_ejected(b->host->dimm_ejected_opaque, slot);
}

/* A cold DIMM's memory: its backend, or anonymous memory when the
 * description is untrusted (replay) or has no host (simulator tests). */
static int bm_map(struct board *b, const struct cfg_device *d,
		  const struct layout_dev *ld, char *err, size_t errlen)
{
	const struct cfg_object *o = config_object(b->cfg, d->memdev);
	struct gm_mmap_spec spec;
	char name[32];
	if (d->type == CFG_DEV_PC_DIMM)
		snprintf(name, sizeof(name), "dimm%d", ld->mem_slot);
	else
		snprintf(name, sizeof(name), "vmem-%.24s", d->memdev);
	int e = o ? board_ram_spec(o, &spec, 0) : -EINVAL;
	if (!e && b->host->no_host_paths)
		spec = (struct gm_mmap_spec){ .kind = GM_MMAP_ANON };
	if (!e)
		e = gm_add_mmap(b->m->gm, ld->pmem_base, ld->pmem_size, &spec, 0, name);
	if (e < 0) {
		snprintf(err, errlen, "vmm: -device %s,memdev=%s: cannot map %llu MiB: %s",
			 config_device_name(d), d->memdev, (unsigned long long)(ld->pmem_size >> 20), strerror(-e));
		b->config_error = e != -ENOMEM;
		return -1;
	}
	return 0;
}

int board_mem(struct board *b, char *err, size_t errlen)
{
	const struct machine_config *cfg = b->cfg;
	if (!layout_memhp(cfg))
		return 0;
	memhp_init(&b->memhp, cfg->mem.slots, b->m->log);
	b->memhp.notify = bm_notify;
	b->memhp.ejected = bm_ejected;
	b->memhp.opaque = b;
	b->has_memhp = true;
	if (board_register(b, b->m->pio, MEMHP_IO_BASE, MEMHP_IO_SIZE, memhp_access,
			   &b->memhp, "acpi-memhp", err, errlen) < 0)
		return -1;
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		const struct layout_dev *ld = layout_dev_for(b->l, (int)i);
		if (d->type != CFG_DEV_PC_DIMM || !ld || ld->mem_slot < 0)
			continue;
		if (bm_map(b, d, ld, err, errlen) < 0)
			return -1;
		/* Present from boot: enabled, no insert event. */
		memhp_plug(&b->memhp, (unsigned)ld->mem_slot, ld->pmem_base,
			   ld->pmem_size, d->mem_node, false);
		b->ndevices++;
	}
	return 0;
}

int board_dimm_plug(struct board *b, unsigned slot, uint64_t base,
		    uint64_t size, unsigned node)
{
	if (!b->has_memhp)
		return -ENODEV;
	if (slot >= b->memhp.nslots)
		return -EINVAL;
	if (b->memhp.slots[slot].enabled)
		return -EBUSY;
	/* The backends can reach it before the guest hears of it. */
	board_vhost_ram_added(b, base);
	return memhp_plug(&b->memhp, slot, base, size, node, true);
}

int board_dimm_unplug_request(struct board *b, unsigned slot)
{
	if (!b->has_memhp)
		return -ENODEV;
	return memhp_request_unplug(&b->memhp, slot);
}

struct memhp *board_memhp(struct board *b)
{
	return b->has_memhp ? &b->memhp : NULL;
}

static void bm_vmem_free(void *m)
{
	vmem_free(m);
}

struct vdev *board_vmem_device(struct board *b, unsigned i, char *err, size_t errlen)
{
	const struct cfg_device *d = &b->cfg->devices[i];
	const struct layout_dev *ld = layout_dev_for(b->l, (int)i);
	if (!ld || !ld->pmem_size || b->nvmems >= CFG_MAX_ITEMS) {
		snprintf(err, errlen, "vmm: -device %s: not placed", config_device_name(d));
		return NULL;
	}
	/* The whole region is guest memory (one memory slot); the driver
	 * uses only what it plugged, and what it unplugs goes back to the
	 * host through ram_discard.  A hot-added one (device_add) was
	 * mapped by the backend already, with its memory slot (as DIMMs
	 * are: kvm/kvm_memhp.c); the simulator's board maps it here. */
	const struct gm_region *have = gm_region_find(b->m->gm, ld->pmem_base);
	bool mapped = b->hotplugging && have && have->gpa == ld->pmem_base &&
		      have->size == ld->pmem_size;
	if (!mapped && bm_map(b, d, ld, err, errlen) < 0)
		return NULL;
	if (b->hotplugging)
		board_vhost_ram_added(b, ld->pmem_base);
	struct vmem_config c = {
		.gm = b->m->gm, .log = b->m->log, .clk = b->m->clk,
		.addr = ld->pmem_base, .region_size = ld->pmem_size,
		.block_size = d->vmem_block_size ? d->vmem_block_size : CFG_VMEM_MIN_BLOCK,
		.requested_size = d->vmem_requested, .node_id = (uint16_t)d->mem_node,
		.release = b->host->ram_discard, .release_opaque = b->host->ram_discard_opaque,
	};
	struct vmem *m = vmem_new(&c);
	if (!m) {
		snprintf(err, errlen, "vmm: -device %s: cannot create the device",
			 config_device_name(d));
		return NULL;
	}
	if (board_push(b, bm_vmem_free, m, err, errlen) < 0)
		return NULL;
	b->vmems[b->nvmems].id = d->id;
	b->vmems[b->nvmems++].m = m;
	return vmem_vdev(m);
}

struct vmem *board_vmem(struct board *b, const char *id)
{
	for (unsigned i = 0; id && *id && i < b->nvmems; i++)
		if (!strcmp(b->vmems[i].id, id))
			return b->vmems[i].m;
	return NULL;
}
