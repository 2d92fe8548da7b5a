/* fdt_desc_build(): struct machine_config + struct layout -> a flattened
 * device tree (node map in fdt_desc.h), written with libfdt's
 * sequential-write API so the tree is built in one pass. */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fdt_desc.h"

#define PHANDLE_IOAPIC 1u
#define IRQ_EDGE_RISING 0u  /* ce4100-ioapic binding, second cell */
#define IRQ_LEVEL_HIGH 2u

#define CHK(x)                      \
	do {                        \
		int r_ = (x);       \
		if (r_ < 0)         \
			return r_;  \
	} while (0)

static int prop_cells(void *fdt, const char *name, const uint32_t *v,
		      unsigned n)
{
	fdt32_t be[24];

	if (n > sizeof(be) / sizeof(be[0]))
		return -FDT_ERR_INTERNAL;
	for (unsigned i = 0; i < n; i++)
		be[i] = cpu_to_fdt32(v[i]);
	return fdt_property(fdt, name, be, (int)(n * sizeof(fdt32_t)));
}

/* reg = <addr-hi addr-lo size-hi size-lo> for #address/size-cells 2. */
static int prop_reg64(void *fdt, uint64_t addr, uint64_t size)
{
	uint32_t v[4] = { (uint32_t)(addr >> 32), (uint32_t)addr,
			  (uint32_t)(size >> 32), (uint32_t)size };

	return prop_cells(fdt, "reg", v, 4);
}

static int prop_bool(void *fdt, const char *name, bool on)
{
	return on ? fdt_property(fdt, name, NULL, 0) : 0;
}

static int prop_str(void *fdt, const char *name, const char *s)
{
	return s && *s ? fdt_property_string(fdt, name, s) : 0;
}

static int begin_node(void *fdt, const char *fmt, uint64_t addr)
{
	char name[64];

	snprintf(name, sizeof(name), fmt, (unsigned long long)addr);
	return fdt_begin_node(fdt, name);
}

static int chardev_props(void *fdt, const struct machine_config *cfg,
			 const char *id)
{
	static const char *const types[] = {
		[CFG_CHR_STDIO] = "stdio", [CFG_CHR_FILE] = "file",
		[CFG_CHR_SOCKET] = "socket", [CFG_CHR_PTY] = "pty",
		[CFG_CHR_NULL] = "null",
	};
	const struct cfg_chardev *ch = config_chardev(cfg, id);

	CHK(prop_str(fdt, "vmm,chardev", id));
	if (!ch)
		return 0;
	CHK(prop_str(fdt, "vmm,chardev-type", types[ch->type]));
	CHK(prop_str(fdt, "vmm,path", ch->path));
	CHK(prop_bool(fdt, "vmm,server", ch->server));
	return 0;
}

/* Backend and model properties shared by the MMIO and PCI forms. */
/* A virtio-scsi's LUs as child nodes, addressed (target << 16 | lun) as
 * in SAM.  Emitted after every property of the adapter: a device tree
 * has a node's properties before its children (DT spec §5.4). */
static int scsi_luns(void *fdt, const struct machine_config *cfg, unsigned i)
{
	CHK(fdt_property_cell(fdt, "#address-cells", 1));
	CHK(fdt_property_cell(fdt, "#size-cells", 0));
	for (unsigned j = 0; j < cfg->ndevices; j++) {
		const struct cfg_device *p = &cfg->devices[j];
		const struct cfg_drive *dr = config_drive(cfg, p->drive);
		uint32_t reg = (uint32_t)p->scsi_id << 16 | p->scsi_lun;

		if ((p->type != CFG_DEV_SCSI_HD && p->type != CFG_DEV_SCSI_CD) ||
		    p->parent != (int)i)
			continue;
		CHK(begin_node(fdt, "lun@%llx", reg));
		CHK(fdt_property_string(fdt, "compatible",
					p->type == CFG_DEV_SCSI_CD ?
					"vmm,scsi-cd" : "vmm,scsi-hd"));
		CHK(fdt_property_cell(fdt, "reg", reg));
		CHK(prop_str(fdt, "vmm,id", p->id));
		CHK(prop_str(fdt, "vmm,drive", p->drive));
		CHK(prop_str(fdt, "vmm,serial", p->serial));
		if (dr)
			CHK(prop_str(fdt, "vmm,file", dr->file));
		CHK(fdt_end_node(fdt));
	}
	return 0;
}

static int dev_props(void *fdt, const struct machine_config *cfg,
		     const struct layout *l, unsigned i)
{
	const struct cfg_device *d = &cfg->devices[i];
	const struct layout_dev *ld = &l->devs[i];

	CHK(fdt_property_string(fdt, "vmm,device", config_device_name(d)));
	CHK(prop_str(fdt, "vmm,id", d->id));
	if (ld->has_gsi) {
		uint32_t irq[2] = { ld->gsi, IRQ_LEVEL_HIGH };

		CHK(prop_cells(fdt, "interrupts", irq, 2));
	}
	switch (d->type) {
	case CFG_DEV_VIRTIO_BLK: {
		const struct cfg_drive *dr = config_drive(cfg, d->drive);

		CHK(prop_str(fdt, "vmm,drive", d->drive));
		CHK(prop_str(fdt, "vmm,serial", d->serial));
		CHK(prop_str(fdt, "vmm,iothread", d->iothread));
		if (d->num_queues > 1)
			CHK(fdt_property_u32(fdt, "vmm,num-queues", d->num_queues));
		if (dr) {
			CHK(prop_str(fdt, "vmm,file", dr->file));
			CHK(prop_bool(fdt, "vmm,readonly", dr->readonly));
			CHK(prop_bool(fdt, "vmm,direct", dr->direct));
			CHK(fdt_property_u32(fdt, "vmm,iops-total",
					     (uint32_t)dr->iops_total));
		}
		break;
	}
	case CFG_DEV_VIRTIO_NET: {
		const struct cfg_netdev *n = config_netdev(cfg, d->netdev);

		CHK(prop_str(fdt, "vmm,netdev", d->netdev));
		if (d->has_mac)
			CHK(fdt_property(fdt, "local-mac-address", d->mac, 6));
		if (n) {
			CHK(fdt_property_string(fdt, "vmm,netdev-type",
				n->type == CFG_NETDEV_TAP ? "tap" : "loop"));
			CHK(prop_str(fdt, "vmm,ifname", n->ifname));
			if (n->fd >= 0)
				CHK(fdt_property_u32(fdt, "vmm,fd", (uint32_t)n->fd));
		}
		break;
	}
	case CFG_DEV_VIRTIO_RNG: {
		const struct cfg_object *o = config_object(cfg, d->rng);

		CHK(prop_str(fdt, "vmm,rng", d->rng));
		if (o)
			CHK(prop_str(fdt, "vmm,filename", o->filename));
		if (d->rng_max_bytes) {
			CHK(fdt_property_u64(fdt, "vmm,max-bytes", d->rng_max_bytes));
			CHK(fdt_property_u64(fdt, "vmm,period-ms", d->rng_period_ms));
		}
		break;
	}
	case CFG_DEV_VIRTIO_BALLOON:
		CHK(prop_bool(fdt, "vmm,deflate-on-oom", d->deflate_on_oom));
		CHK(prop_bool(fdt, "vmm,free-page-reporting",
			      d->free_page_reporting));
		break;
	case CFG_DEV_VIRTIO_SERIAL: {
		uint32_t port = 0;

		/* Its console ports, numbered in command-line order. */
		CHK(fdt_property_cell(fdt, "#address-cells", 1));
		CHK(fdt_property_cell(fdt, "#size-cells", 0));
		for (unsigned j = 0; j < cfg->ndevices; j++) {
			const struct cfg_device *p = &cfg->devices[j];

			if (p->type != CFG_DEV_VIRTCONSOLE || p->parent != (int)i)
				continue;
			CHK(begin_node(fdt, "port@%llx", port));
			CHK(fdt_property_string(fdt, "compatible", "vmm,virtconsole"));
			CHK(fdt_property_cell(fdt, "reg", port));
			CHK(prop_str(fdt, "vmm,id", p->id));
			CHK(chardev_props(fdt, cfg, p->chardev));
			CHK(fdt_end_node(fdt));
			port++;
		}
		break;
	}
	default:
		break;
	}
	if (d->transport == CFG_TRANSPORT_PCI) {
		CHK(prop_bool(fdt, "vmm,disable-modern", d->disable_modern));
		CHK(prop_bool(fdt, "vmm,disable-legacy", d->disable_legacy));
		CHK(prop_bool(fdt, "vmm,multifunction", d->multifunction));
	}
	if (d->type == CFG_DEV_VIRTIO_SCSI)
		CHK(scsi_luns(fdt, cfg, i));
	return 0;
}

static int pci_dev_node(void *fdt, const struct machine_config *cfg,
			const struct layout *l, unsigned i);

/* Children of PCI bus `bus` (0 = the root complex). */
static int pci_children(void *fdt, const struct machine_config *cfg,
			const struct layout *l, int bus)
{
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].transport == CFG_TRANSPORT_PCI &&
		    l->devs[i].pci_bus == bus)
			CHK(pci_dev_node(fdt, cfg, l, i));
	return 0;
}

static int pci_dev_node(void *fdt, const struct machine_config *cfg,
			const struct layout *l, unsigned i)
{
	const struct layout_dev *ld = &l->devs[i];
	const struct cfg_device *d = &cfg->devices[i];
	uint32_t reg[5] = { (uint32_t)ld->pci_bus << 16 |
			    (uint32_t)ld->pci_slot << 11 |
			    (uint32_t)ld->pci_func << 8, 0, 0, 0, 0 };
	char name[48];

	if (ld->pci_func)
		snprintf(name, sizeof(name), "%s@%x,%x",
			 d->type == CFG_DEV_PCI_BRIDGE ? "pci" : "virtio",
			 ld->pci_slot, ld->pci_func);
	else
		snprintf(name, sizeof(name), "%s@%x",
			 d->type == CFG_DEV_PCI_BRIDGE ? "pci" : "virtio",
			 ld->pci_slot);
	CHK(fdt_begin_node(fdt, name));
	CHK(prop_cells(fdt, "reg", reg, 5));
	if (d->type == CFG_DEV_PCI_BRIDGE) {
		uint32_t range[2] = { (uint32_t)ld->bridge_bus,
				      (uint32_t)ld->bridge_bus };

		CHK(fdt_property_string(fdt, "device_type", "pci"));
		CHK(fdt_property_cell(fdt, "#address-cells", 3));
		CHK(fdt_property_cell(fdt, "#size-cells", 2));
		CHK(prop_cells(fdt, "bus-range", range, 2));
		/* Empty ranges: the bridge forwards its windows 1:1. */
		CHK(fdt_property(fdt, "ranges", NULL, 0));
		if (d->chassis_nr)
			CHK(fdt_property_cell(fdt, "vmm,chassis-nr", d->chassis_nr));
		CHK(prop_bool(fdt, "vmm,shpc", d->shpc));
	}
	CHK(dev_props(fdt, cfg, l, i));
	if (d->type == CFG_DEV_PCI_BRIDGE)
		CHK(pci_children(fdt, cfg, l, ld->bridge_bus));
	return fdt_end_node(fdt);
}

static int pci_host(void *fdt, const struct machine_config *cfg,
		    const struct layout *l)
{
	/* PCI bus binding (IEEE 1275): phys.hi space code 1 = I/O,
	 * 2 = 32-bit memory, 3 = 64-bit memory; then child, parent, size. */
	uint32_t ranges[21] = {
		0x01000000, 0, LAYOUT_PCI_IO_BASE, 0, LAYOUT_PCI_IO_BASE, 0,
		LAYOUT_PCI_IO_SIZE,
		0x02000000, 0, (uint32_t)LAYOUT_PCI_MMIO32_BASE, 0,
		(uint32_t)LAYOUT_PCI_MMIO32_BASE, 0,
		(uint32_t)LAYOUT_PCI_MMIO32_SIZE,
		0x03000000, (uint32_t)(l->mmio64_base >> 32),
		(uint32_t)l->mmio64_base, (uint32_t)(l->mmio64_base >> 32),
		(uint32_t)l->mmio64_base, (uint32_t)(l->mmio64_size >> 32),
		(uint32_t)l->mmio64_size,
	};
	uint32_t bus_range[2] = { 0, l->npci_buses - 1 };

	CHK(begin_node(fdt, "pci@%llx", LAYOUT_ECAM_BASE));
	CHK(fdt_property_string(fdt, "compatible", "pci-host-ecam-generic"));
	CHK(fdt_property_string(fdt, "device_type", "pci"));
	CHK(fdt_property_cell(fdt, "#address-cells", 3));
	CHK(fdt_property_cell(fdt, "#size-cells", 2));
	CHK(prop_reg64(fdt, LAYOUT_ECAM_BASE, LAYOUT_ECAM_SIZE));
	CHK(prop_cells(fdt, "bus-range", bus_range, 2));
	CHK(prop_cells(fdt, "ranges", ranges, 21));
	CHK(pci_children(fdt, cfg, l, 0));
	return fdt_end_node(fdt);
}

static int isa_node(void *fdt, const struct machine_config *cfg)
{
	static const char *const stypes[] = {
		[CFG_SERIAL_NONE] = "none", [CFG_SERIAL_STDIO] = "stdio",
		[CFG_SERIAL_CHARDEV] = "chardev", [CFG_SERIAL_FILE] = "file",
		[CFG_SERIAL_PTY] = "pty", [CFG_SERIAL_SOCKET] = "socket",
		[CFG_SERIAL_NULL] = "null",
	};

	CHK(fdt_begin_node(fdt, "isa"));
	CHK(fdt_property_string(fdt, "compatible", "isa"));
	CHK(fdt_property_cell(fdt, "#address-cells", 2));
	CHK(fdt_property_cell(fdt, "#size-cells", 1));
	for (unsigned i = 0; i < cfg->nserial; i++) {
		const struct cfg_serial *s = &cfg->serial[i];
		uint32_t reg[3] = { 1, layout_com_port(i), 8 };
		uint32_t irq[2] = { layout_com_gsi(i), IRQ_EDGE_RISING };

		CHK(begin_node(fdt, "serial@i%llx", layout_com_port(i)));
		CHK(fdt_property_string(fdt, "compatible", "ns16550a"));
		CHK(prop_cells(fdt, "reg", reg, 3));
		CHK(prop_cells(fdt, "interrupts", irq, 2));
		CHK(fdt_property_cell(fdt, "clock-frequency", 1843200));
		CHK(fdt_property_string(fdt, "vmm,backend", stypes[s->type]));
		if (s->type == CFG_SERIAL_CHARDEV)
			CHK(chardev_props(fdt, cfg, s->arg));
		else
			CHK(prop_str(fdt, "vmm,path", s->arg));
		CHK(fdt_end_node(fdt));
	}
	{
		uint32_t reg[3] = { 1, LAYOUT_PORT_RTC, 2 };
		uint32_t irq[2] = { LAYOUT_GSI_RTC, IRQ_EDGE_RISING };

		CHK(begin_node(fdt, "rtc@i%llx", LAYOUT_PORT_RTC));
		CHK(fdt_property_string(fdt, "compatible", "motorola,mc146818"));
		CHK(prop_cells(fdt, "reg", reg, 3));
		CHK(prop_cells(fdt, "interrupts", irq, 2));
		CHK(fdt_property_string(fdt, "vmm,base",
			cfg->rtc.base == CFG_RTC_UTC ? "utc" :
			cfg->rtc.base == CFG_RTC_LOCALTIME ? "localtime" : "date"));
		if (cfg->rtc.base == CFG_RTC_DATE)
			CHK(fdt_property_u64(fdt, "vmm,date-epoch",
					     (uint64_t)cfg->rtc.date_epoch));
		CHK(fdt_property_string(fdt, "vmm,driftfix",
					cfg->rtc.driftfix_slew ? "slew" : "none"));
		CHK(fdt_end_node(fdt));
	}
	{
		uint32_t reg[3] = { 1, LAYOUT_PORT_PIT, 4 };
		uint32_t irq[2] = { LAYOUT_GSI_PIT, IRQ_EDGE_RISING };

		CHK(begin_node(fdt, "pit@i%llx", LAYOUT_PORT_PIT));
		CHK(fdt_property_string(fdt, "compatible", "intel,8254"));
		CHK(prop_cells(fdt, "reg", reg, 3));
		CHK(prop_cells(fdt, "interrupts", irq, 2));
		CHK(fdt_property_string(fdt, "vmm,lost-tick-policy",
			cfg->lost_tick_policy == CFG_LOST_TICK_DISCARD ?
			"discard" : "delay"));
		CHK(fdt_end_node(fdt));
	}
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		uint32_t reg[3] = { 1, d->iobase, d->iosize };

		if (d->type != CFG_DEV_ISA_DEBUG_EXIT)
			continue;
		CHK(begin_node(fdt, "isa-debug-exit@i%llx", d->iobase));
		CHK(fdt_property_string(fdt, "compatible", "vmm,isa-debug-exit"));
		CHK(prop_cells(fdt, "reg", reg, 3));
		CHK(fdt_property_string(fdt, "vmm,device", "isa-debug-exit"));
		CHK(prop_str(fdt, "vmm,id", d->id));
		CHK(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

static int cpus_node(void *fdt, const struct machine_config *cfg)
{
	CHK(fdt_begin_node(fdt, "cpus"));
	CHK(fdt_property_cell(fdt, "#address-cells", 1));
	CHK(fdt_property_cell(fdt, "#size-cells", 0));
	CHK(fdt_property_cell(fdt, "vmm,maxcpus", cfg->smp.maxcpus));
	CHK(fdt_property_cell(fdt, "vmm,sockets", cfg->smp.sockets));
	CHK(fdt_property_cell(fdt, "vmm,cores", cfg->smp.cores));
	CHK(fdt_property_cell(fdt, "vmm,threads", cfg->smp.threads));
	for (unsigned i = 0; i < cfg->smp.cpus; i++) {
		CHK(begin_node(fdt, "cpu@%llx", i));
		CHK(fdt_property_string(fdt, "device_type", "cpu"));
		CHK(fdt_property_string(fdt, "compatible", cfg->cpu_model));
		CHK(fdt_property_cell(fdt, "reg", i));  /* APIC id */
		CHK(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

static int root_props(void *fdt, const struct machine_config *cfg)
{
	bool q35 = cfg->machine.type == CFG_MACHINE_Q35;

	CHK(fdt_property_cell(fdt, "#address-cells", 2));
	CHK(fdt_property_cell(fdt, "#size-cells", 2));
	CHK(fdt_property_string(fdt, "compatible", q35 ? "vmm,q35" : "vmm,microvm"));
	CHK(fdt_property_string(fdt, "model", q35 ? "vmm q35" : "vmm microvm"));
	CHK(fdt_property_cell(fdt, "interrupt-parent", PHANDLE_IOAPIC));
	CHK(prop_str(fdt, "vmm,name", cfg->name));
	if (cfg->has_uuid)
		CHK(fdt_property(fdt, "vmm,uuid", cfg->uuid, 16));
	CHK(fdt_property_string(fdt, "vmm,version", VMM_VERSION));
	CHK(fdt_property_string(fdt, "vmm,accel",
		cfg->machine.accel == CFG_ACCEL_SIM ? "sim" : "kvm"));
	if (cfg->machine.accel == CFG_ACCEL_SIM)
		CHK(fdt_property_u64(fdt, "vmm,seed", cfg->seed));
	CHK(prop_bool(fdt, "vmm,nvdimm", cfg->machine.nvdimm));
	CHK(prop_bool(fdt, "vmm,pmem-legacy", cfg->machine.pmem_legacy));
	CHK(prop_bool(fdt, "vmm,kernel-irqchip", cfg->machine.kernel_irqchip));
	CHK(prop_bool(fdt, "vmm,no-reboot", cfg->no_reboot));
	return 0;
}

static int build(void *fdt, const struct machine_config *cfg,
		 const struct layout *l)
{
	CHK(fdt_finish_reservemap(fdt));
	CHK(fdt_begin_node(fdt, ""));
	CHK(root_props(fdt, cfg));

	CHK(fdt_begin_node(fdt, "chosen"));
	CHK(fdt_property_string(fdt, "bootargs", cfg->append));
	CHK(prop_str(fdt, "vmm,kernel", cfg->kernel));
	CHK(prop_str(fdt, "vmm,initrd", cfg->initrd));
	CHK(fdt_end_node(fdt));

	CHK(cpus_node(fdt, cfg));
	for (unsigned i = 0; i < l->nram; i++) {
		CHK(begin_node(fdt, "memory@%llx", l->ram[i].gpa));
		CHK(fdt_property_string(fdt, "device_type", "memory"));
		CHK(prop_reg64(fdt, l->ram[i].gpa, l->ram[i].size));
		CHK(fdt_end_node(fdt));
	}

	CHK(begin_node(fdt, "interrupt-controller@%llx", LAYOUT_IOAPIC_BASE));
	CHK(fdt_property_string(fdt, "compatible", "intel,ce4100-ioapic"));
	CHK(prop_reg64(fdt, LAYOUT_IOAPIC_BASE, 0x1000));
	CHK(fdt_property(fdt, "interrupt-controller", NULL, 0));
	CHK(fdt_property_cell(fdt, "#interrupt-cells", 2));
	CHK(fdt_property_cell(fdt, "#address-cells", 0));
	CHK(fdt_property_cell(fdt, "phandle", PHANDLE_IOAPIC));
	CHK(fdt_end_node(fdt));
	CHK(begin_node(fdt, "lapic@%llx", LAYOUT_LAPIC_BASE));
	CHK(fdt_property_string(fdt, "compatible", "intel,ce4100-lapic"));
	CHK(prop_reg64(fdt, LAYOUT_LAPIC_BASE, 0x1000));
	CHK(fdt_end_node(fdt));

	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct layout_dev *ld = &l->devs[i];

		if (cfg->devices[i].transport != CFG_TRANSPORT_MMIO)
			continue;
		CHK(begin_node(fdt, "virtio_mmio@%llx", ld->mmio_base));
		CHK(fdt_property_string(fdt, "compatible", "virtio,mmio"));
		CHK(prop_reg64(fdt, ld->mmio_base, ld->mmio_size));
		CHK(dev_props(fdt, cfg, l, i));
		CHK(fdt_end_node(fdt));
	}
	if (l->pci)
		CHK(pci_host(fdt, cfg, l));
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		const struct layout_dev *ld = &l->devs[i];
		const struct cfg_object *o;

		if (d->type != CFG_DEV_NVDIMM)
			continue;
		o = config_object(cfg, d->memdev);
		CHK(begin_node(fdt, "pmem@%llx", ld->pmem_base));
		CHK(fdt_property_string(fdt, "compatible", "pmem-region"));
		CHK(prop_reg64(fdt, ld->pmem_base, ld->pmem_size));
		CHK(fdt_property_string(fdt, "vmm,device", "nvdimm"));
		CHK(prop_str(fdt, "vmm,id", d->id));
		CHK(prop_str(fdt, "vmm,memdev", d->memdev));
		CHK(prop_str(fdt, "vmm,mem-path", o ? o->mem_path : NULL));
		CHK(prop_bool(fdt, "vmm,readonly", o && o->readonly));
		CHK(prop_bool(fdt, "vmm,unarmed", d->unarmed));
		if (d->label_size)
			CHK(fdt_property_u64(fdt, "vmm,label-size", d->label_size));
		CHK(fdt_end_node(fdt));
	}
	CHK(isa_node(fdt, cfg));
	CHK(fdt_end_node(fdt));
	return fdt_finish(fdt);
}

int fdt_desc_build(const struct machine_config *cfg, const struct layout *l,
		   void *buf, size_t size)
{
	int r;

	if (size > INT32_MAX)
		size = INT32_MAX;
	r = fdt_create(buf, (int)size);
	if (r == 0)
		r = build(buf, cfg, l);
	if (r == -FDT_ERR_NOSPACE)
		return -ENOSPC;
	if (r < 0)
		return -EINVAL;
	return (int)fdt_totalsize(buf);
}

int fdt_desc_dump(const struct machine_config *cfg, const struct layout *l,
		  const char *path, char *err, size_t errlen)
{
	static const size_t cap = FDT_DESC_MAX;
	char *buf = malloc(cap);
	int n, fd;
	ssize_t w = -1;

	if (!buf) {
		snprintf(err, errlen, "vmm: -dump-dtb: out of memory");
		return -1;
	}
	n = fdt_desc_build(cfg, l, buf, cap);
	if (n < 0) {
		snprintf(err, errlen, "vmm: -dump-dtb: building the tree: %s",
			 strerror(-n));
		free(buf);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		w = write(fd, buf, (size_t)n);
		if (close(fd) && w == n)
			w = -1;
	}
	free(buf);
	if (w != n) {
		snprintf(err, errlen, "vmm: -dump-dtb: '%s': %s", path,
			 fd < 0 || w < 0 ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}
