/* query-pci, query-block and query-chardev from the board (QEMU 7.2
 * qapi/pci.json PciInfo, block-core.json BlockInfo, char.json
 * ChardevInfo), member for member as QEMU fills them for the devices we
 * model (tests/integration/test_qmp_block_vs_qemu.sh compares the
 * shapes with QEMU run -S on the same devices).  Values come from the
 * config space and BARs as the guest sees them, the description, and a
 * stat of each image. */
#include "machine/board_qmp.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/chardev.h"
#include "core/json.h"
#include "core/trace.h"
#include "devices/pci/bridge.h"
#include "devices/pci/pci.h"
#include "machine/board_int.h"

/* Build helpers: a NULL anywhere makes the whole reply NULL (out of
 * memory), freed on the way. */
static struct json *bqq_put(struct json *o, const char *k, struct json *v)
{
	if (o && v && json_object_add(o, k, v) == 0)
		return o;
	json_free(o);
	json_free(v);
	return NULL;
}

static struct json *bqq_push(struct json *a, struct json *v)
{
	if (a && v && json_array_add(a, v) == 0)
		return a;
	json_free(a);
	json_free(v);
	return NULL;
}

/* ---- query-pci ---------------------------------------------------------- */

/* QEMU's pci_class_descriptions for the classes our functions have. */
static const char *bqq_class_desc(unsigned cls)
{
	switch (cls) {
	case 0x0100: return "SCSI controller";
	case 0x0200: return "Ethernet controller";
	case 0x0600: return "Host bridge";
	case 0x0601: return "ISA bridge";
	case 0x0604: return "PCI bridge";
	case 0x0c05: return "SMBus";
	default: return NULL;
	}
}

static const char *bqq_qdev_id(const struct board *b, int bus, unsigned slot, unsigned func)
{
	for (unsigned i = 0; b->l && i < b->cfg->ndevices; i++) {
		const struct layout_dev *ld = layout_dev_for(b->l, (int)i);
		if (ld && ld->pci_bus == bus && ld->pci_slot == (int)slot &&
		    ld->pci_func == (int)func)
			return b->cfg->devices[i].id;
	}
	return "";
}

static struct json *bqq_range(uint64_t base, uint64_t limit)
{
	struct json *r = json_new_object();
	r = bqq_put(r, "limit", json_new_int((int64_t)limit));
	return bqq_put(r, "base", json_new_int((int64_t)base));
}

static struct json *bqq_regions(const struct pci_dev *d)
{
	struct json *regs = json_new_array();
	for (unsigned i = 0; i < PCI_NUM_BARS && regs; i++) {
		const struct pci_bar *bar = &d->bars[i];
		if (bar->kind == PCI_BAR_NONE || !bar->size)
			continue;
		struct json *r = json_new_object();
		if (bar->kind != PCI_BAR_IO) {
			r = bqq_put(r, "prefetch", json_new_bool(bar->prefetch));
			r = bqq_put(r, "mem_type_64", json_new_bool(bar->kind == PCI_BAR_MEM64));
		}
		r = bqq_put(r, "bar", json_new_int(i));
		r = bqq_put(r, "size", json_new_int((int64_t)bar->size));
		/* QEMU: -1 while the BAR is not mapped (decode off, -S). */
		r = bqq_put(r, "address", json_new_int(bar->mapped ? (int64_t)bar->mapped_addr : -1));
		r = bqq_put(r, "type", json_new_str(bar->kind == PCI_BAR_IO ? "io" : "memory"));
		regs = bqq_push(regs, r);
	}
	return regs;
}

static struct json *bqq_pci_bus(const struct board *b, struct pci_host *h,
				const struct pci_bridge *br, unsigned busno);

static struct json *bqq_pci_dev(const struct board *b, struct pci_host *h,
				struct pci_dev *d, unsigned busno, unsigned slot, unsigned func)
{
	unsigned cls = pci_cfg_get16(d, PCI_CLASS_DEVICE);
	unsigned pin = pci_cfg_get8(d, PCI_INTERRUPT_PIN);
	bool type1 = (pci_cfg_get8(d, PCI_HEADER_TYPE) & 0x7f) == PCI_HEADER_TYPE_BRIDGE;
	struct json *o = json_new_object();
	o = bqq_put(o, "irq_pin", json_new_int(pin));
	o = bqq_put(o, "bus", json_new_int(busno));
	o = bqq_put(o, "qdev_id", json_new_str(bqq_qdev_id(b, (int)busno, slot, func)));
	if (pin)
		o = bqq_put(o, "irq", json_new_int(pci_cfg_get8(d, PCI_INTERRUPT_LINE)));
	o = bqq_put(o, "slot", json_new_int(slot));
	struct json *ci = json_new_object();
	ci = bqq_put(ci, "class", json_new_int(cls));
	if (bqq_class_desc(cls))
		ci = bqq_put(ci, "desc", json_new_str(bqq_class_desc(cls)));
	o = bqq_put(o, "class_info", ci);
	struct json *id = json_new_object();
	id = bqq_put(id, "device", json_new_int(pci_cfg_get16(d, PCI_DEVICE_ID)));
	if (!type1) {
		id = bqq_put(id, "subsystem-vendor",
			     json_new_int(pci_cfg_get16(d, PCI_SUBSYSTEM_VENDOR_ID)));
		id = bqq_put(id, "subsystem", json_new_int(pci_cfg_get16(d, PCI_SUBSYSTEM_ID)));
	}
	id = bqq_put(id, "vendor", json_new_int(pci_cfg_get16(d, PCI_VENDOR_ID)));
	o = bqq_put(o, "id", id);
	o = bqq_put(o, "function", json_new_int(func));
	o = bqq_put(o, "regions", bqq_regions(d));
	if (type1 && d->bridge) {
		/* PCI-to-PCI Bridge Arch 1.2 §3.2.5: the windows as
		 * programmed (base above limit: closed). */
		uint64_t iob = (uint64_t)(pci_cfg_get8(d, PCI_IO_BASE) & 0xf0) << 8;
		uint64_t iol = ((uint64_t)(pci_cfg_get8(d, PCI_IO_LIMIT) & 0xf0) << 8) | 0xfff;
		uint64_t mb = (uint64_t)(pci_cfg_get16(d, PCI_MEMORY_BASE) & 0xfff0) << 16;
		uint64_t ml = ((uint64_t)(pci_cfg_get16(d, PCI_MEMORY_LIMIT) & 0xfff0) << 16) | 0xfffff;
		uint64_t pb = ((uint64_t)pci_cfg_get32(d, PCI_PREF_BASE_UPPER32) << 32) |
			      ((uint64_t)(pci_cfg_get16(d, PCI_PREF_MEMORY_BASE) & 0xfff0) << 16);
		uint64_t pl = ((uint64_t)pci_cfg_get32(d, PCI_PREF_LIMIT_UPPER32) << 32) |
			      ((uint64_t)(pci_cfg_get16(d, PCI_PREF_MEMORY_LIMIT) & 0xfff0) << 16) |
			      0xfffff;
		unsigned sec = pci_cfg_get8(d, PCI_SECONDARY_BUS);
		struct json *bus = json_new_object();
		bus = bqq_put(bus, "prefetchable_range", bqq_range(pb, pl));
		bus = bqq_put(bus, "memory_range", bqq_range(mb, ml));
		bus = bqq_put(bus, "secondary", json_new_int(sec));
		bus = bqq_put(bus, "io_range", bqq_range(iob, iol));
		bus = bqq_put(bus, "number", json_new_int(busno));
		bus = bqq_put(bus, "subordinate", json_new_int(pci_cfg_get8(d, PCI_SUBORDINATE_BUS)));
		struct json *pb_obj = bqq_put(json_new_object(), "bus", bus);
		struct json *devs = bqq_pci_bus(b, h, d->bridge, sec);
		if (pb_obj && devs && json_len(devs))
			pb_obj = bqq_put(pb_obj, "devices", devs);
		else
			json_free(devs);
		o = bqq_put(o, "pci_bridge", pb_obj);
	}
	return o;
}

/* The functions on one bus: bus 0 (br NULL) or a bridge's secondary. */
static struct json *bqq_pci_bus(const struct board *b, struct pci_host *h,
				const struct pci_bridge *br, unsigned busno)
{
	struct json *devs = json_new_array();
	for (unsigned slot = 0; slot < PCI_SLOTS && devs; slot++)
		for (unsigned fn = 0; fn < PCI_FUNCS && devs; fn++) {
			struct pci_dev *d = br ? pci_bridge_child(br, PCI_DEVFN(slot, fn))
					       : pci_host_dev(h, slot, fn);
			if (d)
				devs = bqq_push(devs, bqq_pci_dev(b, h, d, busno, slot, fn));
		}
	return devs;
}

static struct json *bqq_query_pci(const struct board *b)
{
	struct json *list = json_new_array();
	if (!b->pci)
		return list;  /* microvm: no PCI host, QEMU's [] too */
	struct json *bus0 = json_new_object();
	bus0 = bqq_put(bus0, "bus", json_new_int(0));
	bus0 = bqq_put(bus0, "devices", bqq_pci_bus(b, b->pci, NULL, 0));
	return bqq_push(list, bus0);
}

/* ---- query-block -------------------------------------------------------- */

static bool bqq_is_node(const struct board_qmp *q, const char *id)
{
	for (unsigned i = 0; i < q->nnodes; i++)
		if (!strcmp(q->nodes[i].name, id))
			return true;
	return false;
}

static struct json *bqq_block_info(const struct cfg_drive *drv, const char *device,
				   const char *node, const struct cfg_device *dev)
{
	struct stat st;
	bool have = stat(drv->file, &st) == 0;
	struct json *img = json_new_object();
	img = bqq_put(img, "virtual-size", json_new_int(have ? (int64_t)st.st_size : 0));
	img = bqq_put(img, "filename", json_new_str(drv->file));
	img = bqq_put(img, "format", json_new_str("raw"));
	img = bqq_put(img, "actual-size", json_new_int(have ? (int64_t)st.st_blocks * 512 : 0));
	img = bqq_put(img, "dirty-flag", json_new_bool(false));
	struct json *cache = json_new_object();
	cache = bqq_put(cache, "no-flush", json_new_bool(!drv->flush));
	cache = bqq_put(cache, "direct", json_new_bool(drv->direct));
	cache = bqq_put(cache, "writeback", json_new_bool(drv->cache != CFG_CACHE_WRITETHROUGH &&
							  drv->cache != CFG_CACHE_DIRECTSYNC));
	struct json *ins = json_new_object();
	int64_t iops = (int64_t)drv->iops_total;
	ins = bqq_put(ins, "iops_rd", json_new_int(0));
	ins = bqq_put(ins, "detect_zeroes", json_new_str("off"));
	ins = bqq_put(ins, "image", img);
	ins = bqq_put(ins, "iops_wr", json_new_int(0));
	ins = bqq_put(ins, "ro", json_new_bool(drv->readonly));
	ins = bqq_put(ins, "node-name", json_new_str(node));
	ins = bqq_put(ins, "backing_file_depth", json_new_int(0));
	ins = bqq_put(ins, "drv", json_new_str("raw"));
	ins = bqq_put(ins, "iops", json_new_int(iops));
	ins = bqq_put(ins, "bps_wr", json_new_int(0));
	ins = bqq_put(ins, "write_threshold", json_new_int(0));
	ins = bqq_put(ins, "encrypted", json_new_bool(false));
	ins = bqq_put(ins, "bps", json_new_int(0));
	ins = bqq_put(ins, "bps_rd", json_new_int(0));
	ins = bqq_put(ins, "cache", cache);
	ins = bqq_put(ins, "file", json_new_str(drv->file));
	struct json *o = json_new_object();
	o = bqq_put(o, "io-status", json_new_str("ok"));
	o = bqq_put(o, "device", json_new_str(device));
	o = bqq_put(o, "locked", json_new_bool(false));
	o = bqq_put(o, "removable", json_new_bool(false));
	o = bqq_put(o, "inserted", ins);
	if (dev) {
		char path[2 * CFG_ID_MAX + 40];
		bool virtio = dev->type == CFG_DEV_VIRTIO_BLK;
		snprintf(path, sizeof(path), "/machine/peripheral/%s%s", dev->id,
			 virtio ? "/virtio-backend" : "");
		o = bqq_put(o, "qdev", json_new_str(path));
	}
	return bqq_put(o, "type", json_new_str("unknown"));
}

static const struct cfg_device *bqq_drive_user(const struct machine_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (!strcmp(cfg->devices[i].drive, id) && cfg->devices[i].id[0])
			return &cfg->devices[i];
	return NULL;
}

static struct json *bqq_query_block(const struct board_qmp *q)
{
	const struct machine_config *cfg = q->cfg;
	struct json *list = json_new_array();
	/* -drive first (a BlockBackend named by its id, its node named
	 * automatically), then the devices attached to blockdev-add nodes
	 * (an anonymous BlockBackend each), QEMU's order. */
	for (unsigned i = 0; i < cfg->ndrives && list; i++) {
		const struct cfg_drive *d = &cfg->drives[i];
		if (bqq_is_node(q, d->id))
			continue;
		char auto_name[24];
		snprintf(auto_name, sizeof(auto_name), "#block%u", 100 + i);
		list = bqq_push(list, bqq_block_info(d, d->id, auto_name,
						     bqq_drive_user(cfg, d->id)));
	}
	for (unsigned i = 0; i < cfg->ndevices && list; i++) {
		const struct cfg_device *dev = &cfg->devices[i];
		const struct cfg_drive *d = dev->drive[0] ? config_drive(cfg, dev->drive) : NULL;
		if (d && bqq_is_node(q, d->id))
			list = bqq_push(list, bqq_block_info(d, "", d->id, dev->id[0] ? dev : NULL));
	}
	return list;
}

/* ---- query-chardev ------------------------------------------------------ */

static struct json *bqq_chr(const char *label, const char *filename, bool fe_open)
{
	struct json *o = json_new_object();
	o = bqq_put(o, "frontend-open", json_new_bool(fe_open));
	o = bqq_put(o, "filename", json_new_str(filename));
	return bqq_put(o, "label", json_new_str(label));
}

static struct json *bqq_query_chardev(const struct board_qmp *q)
{
	const struct machine_config *cfg = q->cfg;
	struct json *list = json_new_array();
	char fn[CFG_PATH_MAX + 48];
	if (q->qmp_path && q->qmp_path[0]) {
		/* The monitor's own chardev, as QEMU names a -qmp's. */
		snprintf(fn, sizeof(fn), "unix:%s,server=on", q->qmp_path);
		list = bqq_push(list, bqq_chr("compat_monitor0", fn, true));
	}
	for (unsigned i = 0; i < cfg->nchardevs && list; i++) {
		const struct cfg_chardev *c = &cfg->chardevs[i];
		bool used = false;
		for (unsigned k = 0; k < cfg->ndevices; k++)
			used |= !strcmp(cfg->devices[k].chardev, c->id);
		char key[CFG_ID_MAX + 16];
		snprintf(key, sizeof(key), "chardev:%s", c->id);
		const struct board *b = q->board ? *q->board : NULL;
		struct chr *h = NULL;
		for (unsigned k = 0; b && k < b->nchrs && !h; k++)
			if (!strcmp(b->chrs[k].id, c->id))
				h = b->chrs[k].chr;
		bool connected = h ? h->connected : !c->server;
		switch (c->type) {
		case CFG_CHR_SOCKET:
			snprintf(fn, sizeof(fn), "%sunix:%s%s", connected ? "" : "disconnected:",
				 c->path, c->server ? ",server=on" : "");
			break;
		case CFG_CHR_FILE:
			snprintf(fn, sizeof(fn), "file");
			break;
		case CFG_CHR_STDIO:
			snprintf(fn, sizeof(fn), "stdio");
			break;
		case CFG_CHR_PTY:
			snprintf(fn, sizeof(fn), "pty");
			break;
		case CFG_CHR_NULL:
			snprintf(fn, sizeof(fn), "null");
			break;
		}
		list = bqq_push(list, bqq_chr(c->id, fn, used));
	}
	return list;
}

int board_qmp_query(struct board_qmp *q, const char *what, struct json **out,
		    struct qmp_err *e)
{
	const struct board *b = q->board ? *q->board : NULL;
	if (!strcmp(what, "query-pci"))
		*out = b ? bqq_query_pci(b) : json_new_array();
	else if (!strcmp(what, "query-block"))
		*out = bqq_query_block(q);
	else if (!strcmp(what, "query-chardev"))
		*out = bqq_query_chardev(q);
	else {
		e->cls = "CommandNotFound";
		snprintf(e->desc, sizeof(e->desc), "The command %s has not been found", what);
		return -1;
	}
	return 0;
}
