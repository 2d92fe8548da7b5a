/* Whole-machine validation after every option is read: unique ids, every
 * reference names something of the right kind and is used once, PCI
 * placement, and the rules that tie options together (nvdimm needs
 * nvdimm=on, -pci devices need q35, NUMA memory adds up to -m). */
#include <stdio.h>
#include <string.h>
#include "config_priv.h"

/* "virtio-blk-device 'blk0'" or "virtio-blk-device #3" for messages. */
static const char *label(const struct cfg_device *d, unsigned idx, char *buf,
			 size_t len)
{
	if (d->id[0])
		snprintf(buf, len, "%s '%s'", config_device_name(d), d->id);
	else
		snprintf(buf, len, "%s #%u", config_device_name(d), idx);
	return buf;
}

#define UNIQUE(arr, n, optname)                                             \
	for (unsigned i = 0; i < cfg->n; i++)                               \
		for (unsigned j = 0; j < i; j++)                            \
			if (cfg->arr[i].id[0] &&                            \
			    !strcmp(cfg->arr[i].id, cfg->arr[j].id)) {      \
				c->opt = optname;                           \
				return cfg_error(c, "id '%s' is used twice", \
						 cfg->arr[i].id);           \
			}

static int check_unique(struct cfg_ctx *c)
{
	struct machine_config *cfg = c->cfg;

	UNIQUE(objects, nobjects, "-object")
	UNIQUE(drives, ndrives, "-drive")
	UNIQUE(netdevs, nnetdevs, "-netdev")
	UNIQUE(chardevs, nchardevs, "-chardev")
	UNIQUE(devices, ndevices, "-device")
	return 0;
}

static bool is_membackend(const struct cfg_object *o)
{
	return o && (o->type == CFG_OBJ_MEMORY_BACKEND_FILE ||
		     o->type == CFG_OBJ_MEMORY_BACKEND_RAM ||
		     o->type == CFG_OBJ_MEMORY_BACKEND_MEMFD);
}

/* How many devices before index `upto` (and serial ports / NUMA nodes)
 * already claimed this backend id: a backend serves one frontend. */
static unsigned uses_before(const struct machine_config *cfg, unsigned upto,
			    size_t field_off, const char *id)
{
	unsigned n = 0;

	for (unsigned i = 0; i < upto; i++)
		n += !strcmp((const char *)&cfg->devices[i] + field_off, id);
	return n;
}

static int check_refs(struct cfg_ctx *c)
{
	struct machine_config *cfg = c->cfg;
	char lb[128];

	c->opt = "-device";
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		struct cfg_device *d = &cfg->devices[i];
		const struct cfg_object *o;

		label(d, i, lb, sizeof(lb));
		if (d->drive[0]) {
			if (!config_drive(cfg, d->drive))
				return cfg_error(c, "%s: drive='%s' names no -drive (define -drive id=%s,file=...)",
						 lb, d->drive, d->drive);
			if (uses_before(cfg, i, offsetof(struct cfg_device, drive), d->drive))
				return cfg_error(c, "%s: drive '%s' is already used by another device",
						 lb, d->drive);
		}
		if (d->netdev[0]) {
			if (!config_netdev(cfg, d->netdev))
				return cfg_error(c, "%s: netdev='%s' names no -netdev (define -netdev tap,id=%s,...)",
						 lb, d->netdev, d->netdev);
			if (uses_before(cfg, i, offsetof(struct cfg_device, netdev), d->netdev))
				return cfg_error(c, "%s: netdev '%s' is already used by another device",
						 lb, d->netdev);
		}
		if (d->chardev[0]) {
			if (!config_chardev(cfg, d->chardev))
				return cfg_error(c, "%s: chardev='%s' names no -chardev (define -chardev ...,id=%s)",
						 lb, d->chardev, d->chardev);
			if (uses_before(cfg, i, offsetof(struct cfg_device, chardev), d->chardev))
				return cfg_error(c, "%s: chardev '%s' is already used by another device",
						 lb, d->chardev);
		}
		if (d->rng[0]) {
			o = config_object(cfg, d->rng);
			if (!o || o->type != CFG_OBJ_RNG_RANDOM)
				return cfg_error(c, "%s: rng='%s' names no rng-random object (define -object rng-random,id=%s)",
						 lb, d->rng, d->rng);
			if (uses_before(cfg, i, offsetof(struct cfg_device, rng), d->rng))
				return cfg_error(c, "%s: rng '%s' is already used by another device",
						 lb, d->rng);
		}
		if (d->iothread[0]) {
			o = config_object(cfg, d->iothread);
			if (!o || o->type != CFG_OBJ_IOTHREAD)
				return cfg_error(c, "%s: iothread='%s' names no iothread object (define -object iothread,id=%s)",
						 lb, d->iothread, d->iothread);
		}
		if (d->memdev[0]) {
			o = config_object(cfg, d->memdev);
			if (!is_membackend(o))
				return cfg_error(c, "%s: memdev='%s' names no memory backend (define -object memory-backend-file,id=%s,...)",
						 lb, d->memdev, d->memdev);
			if (uses_before(cfg, i, offsetof(struct cfg_device, memdev), d->memdev))
				return cfg_error(c, "%s: memdev '%s' is already used by another device",
						 lb, d->memdev);
			if (d->label_size >= o->size)
				return cfg_error(c, "%s: label-size leaves no room in memdev '%s' (%llu bytes)",
						 lb, d->memdev, (unsigned long long)o->size);
		}
	}
	return 0;
}

static const struct cfg_device *add_vser(struct machine_config *cfg)
{
	struct cfg_device *v = &cfg->devices[cfg->ndevices++];

	memset(v, 0, sizeof(*v));
	v->type = CFG_DEV_VIRTIO_SERIAL;
	v->parent = -1;
	v->pci_slot = -1;
	if (cfg->machine.type == CFG_MACHINE_Q35) {
		v->transport = CFG_TRANSPORT_PCI;
		strcpy(v->bus, CFG_ROOT_BUS);
	} else {
		v->transport = CFG_TRANSPORT_MMIO;
	}
	return v;
}

static int check_consoles_and_serial(struct cfg_ctx *c)
{
	struct machine_config *cfg = c->cfg;
	const struct cfg_device *first_vser = NULL;
	char lb[128];

	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].type == CFG_DEV_VIRTIO_SERIAL) {
			first_vser = &cfg->devices[i];
			break;
		}
	c->opt = "-device";
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		struct cfg_device *d = &cfg->devices[i];
		const struct cfg_device *bus;

		if (d->type != CFG_DEV_VIRTCONSOLE)
			continue;
		label(d, i, lb, sizeof(lb));
		if (d->bus[0]) {
			bus = config_device(cfg, d->bus);
			if (!bus || bus->type != CFG_DEV_VIRTIO_SERIAL)
				return cfg_error(c, "%s: bus='%s' names no virtio-serial device",
						 lb, d->bus);
		} else if (!first_vser) {
			/* The README's command line names a virtconsole and no
			 * controller: add one as the launcher evidently meant,
			 * on the machine's own bus (PCI on q35, MMIO on microvm). */
			if (cfg->ndevices == CFG_MAX_ITEMS)
				return cfg_error(c, "%s needs a virtio-serial device and there is no room for one",
						 lb);
			first_vser = add_vser(cfg);
			bus = first_vser;
		} else {
			bus = first_vser;
		}
		d->parent = (int)(bus - cfg->devices);
		/* The controller's max_nr_ports (virtio 1.2 §5.3.4). */
		unsigned ports = 0;
		for (unsigned j = 0; j <= i; j++)
			ports += cfg->devices[j].type == CFG_DEV_VIRTCONSOLE &&
				 cfg->devices[j].parent == d->parent;
		if (ports > CFG_MAX_CONSOLE_PORTS)
			return cfg_error(c, "%s: more than %d virtconsoles on one virtio-serial (add another virtio-serial and bus=)",
					 lb, CFG_MAX_CONSOLE_PORTS);
	}
	c->opt = "-serial";
	for (unsigned i = 0; i < cfg->nserial; i++) {
		const struct cfg_serial *s = &cfg->serial[i];

		if (s->type != CFG_SERIAL_CHARDEV)
			continue;
		if (!config_chardev(cfg, s->arg))
			return cfg_error(c, "chardev:%s names no -chardev", s->arg);
		for (unsigned j = 0; j < cfg->ndevices; j++)
			if (!strcmp(cfg->devices[j].chardev, s->arg))
				return cfg_error(c, "chardev '%s' is already used by a device",
						 s->arg);
		for (unsigned j = 0; j < i; j++)
			if (cfg->serial[j].type == CFG_SERIAL_CHARDEV &&
			    !strcmp(cfg->serial[j].arg, s->arg))
				return cfg_error(c, "chardev '%s' is used by two serial ports",
						 s->arg);
	}
	/* QEMU: -nographic without -nodefaults puts serial0 on stdio. */
	bool implied = false;
	if (cfg->nographic && !cfg->nodefaults && !c->serial_none &&
	    cfg->nserial == 0) {
		cfg->serial[0].type = CFG_SERIAL_STDIO;
		cfg->nserial = 1;
		implied = true;
	}
	/* The daemon's stdio is /dev/null: a console there would silently
	 * go nowhere.  QEMU refuses it ("cannot use stdio with -daemonize"). */
	if (cfg->daemonize) {
		c->opt = "-daemonize";
		for (unsigned i = 0; i < cfg->nserial; i++)
			if (cfg->serial[i].type == CFG_SERIAL_STDIO)
				return cfg_error(c, "-serial stdio%s cannot be used with -daemonize (the daemon has no terminal; use -serial file:PATH, pty or unix:PATH)",
						 implied ? " (implied by -nographic without -nodefaults)" : "");
		for (unsigned i = 0; i < cfg->nchardevs; i++)
			if (cfg->chardevs[i].type == CFG_CHR_STDIO)
				return cfg_error(c, "-chardev stdio,id=%s cannot be used with -daemonize (the daemon has no terminal)",
						 cfg->chardevs[i].id);
	}
	return 0;
}

static bool is_lun(const struct cfg_device *d)
{
	return d->type == CFG_DEV_SCSI_HD || d->type == CFG_DEV_SCSI_CD;
}

/* scsi-hd/scsi-cd: the virtio-scsi they sit on (bus=, or the only one),
 * a free target when scsi-id= is not given (QEMU takes the lowest target
 * with that LUN free), and no two LUs at one address. */
static int check_scsi(struct cfg_ctx *c)
{
	struct machine_config *cfg = c->cfg;
	const struct cfg_device *first = NULL;
	unsigned controllers = 0;
	char lb[128], lb2[128];

	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].type == CFG_DEV_VIRTIO_SCSI) {
			first = first ? first : &cfg->devices[i];
			controllers++;
		}
	c->opt = "-device";
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		struct cfg_device *d = &cfg->devices[i];
		const struct cfg_device *bus = first;

		if (!is_lun(d))
			continue;
		label(d, i, lb, sizeof(lb));
		if (d->bus[0]) {
			bus = config_device(cfg, d->bus);
			if (!bus || bus->type != CFG_DEV_VIRTIO_SCSI)
				return cfg_error(c, "%s: bus='%s' names no virtio-scsi device",
						 lb, d->bus);
		} else if (controllers != 1) {
			return cfg_error(c, controllers ?
					 "%s: there are several virtio-scsi devices; name one with bus=ID.0" :
					 "%s needs a virtio-scsi device (add -device virtio-scsi-pci,id=scsi0)",
					 lb);
		}
		d->parent = (int)(bus - cfg->devices);
		for (int t = 0; d->scsi_id < 0 && t <= CFG_MAX_SCSI_TARGET; t++) {
			bool used = false;

			for (unsigned j = 0; j < i && !used; j++)
				used = is_lun(&cfg->devices[j]) &&
				       cfg->devices[j].parent == d->parent &&
				       cfg->devices[j].scsi_id == t &&
				       cfg->devices[j].scsi_lun == d->scsi_lun;
			if (!used)
				d->scsi_id = t;
		}
		if (d->scsi_id < 0)
			return cfg_error(c, "%s: no free SCSI target for lun %u", lb,
					 d->scsi_lun);
		for (unsigned j = 0; j < i; j++) {
			const struct cfg_device *e = &cfg->devices[j];

			if (is_lun(e) && e->parent == d->parent &&
			    e->scsi_id == d->scsi_id && e->scsi_lun == d->scsi_lun)
				return cfg_error(c, "%s: scsi-id=%d,lun=%u is already used by %s",
						 lb, d->scsi_id, d->scsi_lun,
						 label(e, j, lb2, sizeof(lb2)));
		}
	}
	return 0;
}

static bool root_bus(const char *bus)
{
	return !strcmp(bus, CFG_ROOT_BUS);
}

static int check_pci(struct cfg_ctx *c)
{
	struct machine_config *cfg = c->cfg;
	char lb[128], lb2[128];

	c->opt = "-device";
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		struct cfg_device *d = &cfg->devices[i];
		const struct cfg_device *bus;

		if (d->transport != CFG_TRANSPORT_PCI)
			continue;
		label(d, i, lb, sizeof(lb));
		if (cfg->machine.type != CFG_MACHINE_Q35)
			return cfg_error(c, "%s: virtio-*-pci needs -machine q35 (microvm has no PCI; use %s)",
					 lb, d->type == CFG_DEV_PCI_BRIDGE ?
					 "q35" : "a *-device model");
		if (!root_bus(d->bus)) {
			bus = config_device(cfg, d->bus);
			d->parent = bus ? (int)(bus - cfg->devices) : -1;
			if (!bus || bus->type != CFG_DEV_PCI_BRIDGE)
				return cfg_error(c, "%s: bus='%s' is neither %s nor a pci-bridge id",
						 lb, d->bus, CFG_ROOT_BUS);
			/* A root port's link leads to one device, number 0
			 * (PCIe Base §7.3.1): QEMU refuses any other. */
			if (bus->pcie_port && d->pci_slot > 0)
				return cfg_error(c, "%s: pcie-root-port '%s' has one slot (accepted: addr=0x0)",
						 lb, d->bus);
			for (unsigned j = 0; bus->pcie_port && j < i; j++)
				if (cfg->devices[j].transport == CFG_TRANSPORT_PCI &&
				    !strcmp(cfg->devices[j].bus, d->bus))
					return cfg_error(c, "%s: pcie-root-port '%s' already holds %s",
							 lb, d->bus, label(&cfg->devices[j], j, lb2, sizeof(lb2)));
			if (bus->pcie_port && d->type == CFG_DEV_PCI_BRIDGE)
				return cfg_error(c, "%s: nothing but an endpoint goes on pcie-root-port '%s'",
						 lb, d->bus);
			if (d->type == CFG_DEV_PCI_BRIDGE)
				return cfg_error(c, "%s: a pci-bridge behind a pci-bridge is not supported (accepted: bus=%s)",
						 lb, CFG_ROOT_BUS);
		}
		if (d->pci_slot < 0) {
			if (d->multifunction)
				return cfg_error(c, "%s: multifunction=on needs addr=", lb);
			continue;
		}
		if (root_bus(d->bus) && d->pci_slot == 0)
			return cfg_error(c, "%s: addr=0x0 on %s is the host bridge (accepted: slot 0x1-0x1f)",
					 lb, CFG_ROOT_BUS);
		if (!root_bus(d->bus) && d->pci_slot == 0 &&
		    config_device(cfg, d->bus)->shpc)
			return cfg_error(c, "%s: slot 0 of pci-bridge '%s' is reserved with shpc=on",
					 lb, d->bus);
		for (unsigned j = 0; j < i; j++) {
			const struct cfg_device *e = &cfg->devices[j];

			if (e->transport == CFG_TRANSPORT_PCI &&
			    e->pci_slot == d->pci_slot &&
			    e->pci_func == d->pci_func && !strcmp(e->bus, d->bus))
				return cfg_error(c, "%s: PCI address %s:%02x.%x is already used by %s",
						 lb, d->bus, d->pci_slot, d->pci_func,
						 label(e, j, lb2, sizeof(lb2)));
		}
	}
	/* PCI 3.0 §6.2.1: functions other than 0 exist only on a
	 * multi-function device, which function 0 announces. */
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		bool ok = false;

		if (d->transport != CFG_TRANSPORT_PCI || d->pci_func == 0 ||
		    d->pci_slot < 0)
			continue;
		for (unsigned j = 0; j < cfg->ndevices; j++) {
			const struct cfg_device *e = &cfg->devices[j];

			if (e->transport == CFG_TRANSPORT_PCI &&
			    e->pci_slot == d->pci_slot && e->pci_func == 0 &&
			    !strcmp(e->bus, d->bus) && e->multifunction)
				ok = true;
		}
		if (!ok)
			return cfg_error(c, "%s: function %d of slot 0x%x needs a function 0 with multifunction=on there",
					 label(d, i, lb, sizeof(lb)), d->pci_func,
					 d->pci_slot);
	}
	return 0;
}

static int check_machine_rules(struct cfg_ctx *c)
{
	struct machine_config *cfg = c->cfg;
	unsigned balloons = 0, debug_exits = 0;
	char lb[128];

	c->opt = "-device";
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];

		if (d->type == CFG_DEV_NVDIMM && !cfg->machine.nvdimm)
			return cfg_error(c, "%s needs -machine ...,nvdimm=on",
					 label(d, i, lb, sizeof(lb)));
		if (config_is_memdev(d) &&
		    cfg_mem_check(c, d, label(d, i, lb, sizeof(lb))))
			return -1;
		balloons += d->type == CFG_DEV_VIRTIO_BALLOON;
		debug_exits += d->type == CFG_DEV_ISA_DEBUG_EXIT;
		/* A CID names one guest: two devices with one CID, or two on
		 * one host socket, would cross each other's connections. */
		for (unsigned j = 0; j < i && d->guest_cid; j++) {
			const struct cfg_device *o = &cfg->devices[j];
			if (o->guest_cid == d->guest_cid)
				return cfg_error(c, "%s: guest-cid=%llu is already used",
						 label(d, i, lb, sizeof(lb)),
						 (unsigned long long)d->guest_cid);
			if (d->vsock_uds[0] && !strcmp(o->vsock_uds, d->vsock_uds))
				return cfg_error(c, "%s: uds=%s is already used",
						 label(d, i, lb, sizeof(lb)), d->vsock_uds);
		}
	}
	if (balloons > 1)
		return cfg_error(c, "only one virtio-balloon is supported");
	if (debug_exits > 1)
		return cfg_error(c, "only one isa-debug-exit is supported");

	c->opt = "-numa";
	if (cfg->nnuma) {
		uint64_t total = 0;

		for (unsigned i = 0; i < cfg->nnuma; i++) {
			const struct cfg_numa *n = &cfg->numa[i];
			const struct cfg_object *o = config_object(cfg, n->memdev);

			if (!is_membackend(o))
				return cfg_error(c, "memdev='%s' names no memory backend",
						 n->memdev);
			for (unsigned j = 0; j < cfg->ndevices; j++)
				if (!strcmp(cfg->devices[j].memdev, n->memdev))
					return cfg_error(c, "memdev '%s' is already used by a device",
							 n->memdev);
			for (unsigned j = 0; j < i; j++)
				if (!strcmp(cfg->numa[j].memdev, n->memdev))
					return cfg_error(c, "memdev '%s' is used by two nodes",
							 n->memdev);
			total += o->size;
		}
		if (total != cfg->mem.size)
			return cfg_error(c, "the nodes' memory (%llu MiB) does not equal -m (%llu MiB)",
					 (unsigned long long)(total >> 20),
					 (unsigned long long)(cfg->mem.size >> 20));
		/* Guest RAM comes from these backends (machine/board_ram.c);
		 * no SRAT yet (issue 14), so the guest sees one node. */
		if (cfg->mem.mem_path[0])
			return cfg_error(c, "-mem-path and -numa node,memdev= both say where guest RAM comes from (use one)");
	}

	c->opt = "-kernel";
	if (cfg->machine.accel == CFG_ACCEL_SIM && cfg->kernel[0])
		return cfg_error(c, "'%s': accel=sim runs vmm's own device self-test, no guest code (drop -kernel, or use accel=kvm)",
				 cfg->kernel);
	c->opt = NULL;
	if (cfg->initrd[0] && !cfg->kernel[0])
		return cfg_error(c, "-initrd needs -kernel");
	if (cfg->append[0] && !cfg->kernel[0])
		return cfg_error(c, "-append needs -kernel");
	/* QEMU takes -S with no monitor and waits forever; we have no
	 * monitor but QMP, so without one nothing could ever say cont. */
	if (cfg->start_paused && cfg->machine.accel == CFG_ACCEL_SIM)
		return cfg_error(c, "-S needs accel=kvm (the simulator runs no vCPUs)");
	if (cfg->start_paused && !cfg->qmp_path[0] && !cfg->qmp_has_fd)
		return cfg_error(c, "-S needs -qmp: only QMP cont starts the vCPUs");
	return 0;
}

int cfg_check(struct cfg_ctx *c)
{
	if (check_unique(c) || check_refs(c) || check_consoles_and_serial(c) ||
	    check_scsi(c) || check_pci(c) || check_machine_rules(c) ||
	    cfg_check_incoming(c))
		return -1;
	c->opt = NULL;
	return 0;
}
