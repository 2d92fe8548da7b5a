/* -device DRIVER[,prop=val...] (or driver=DRIVER,... as Kata writes it):
 * which devices exist, which properties each takes, and each property's
 * syntax and range.  Whether a referenced backend exists, PCI address
 * clashes and per-machine rules are config_check.c's job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_priv.h"

/* Property groups a device may take. */
#define P_PCI    0x001u  /* bus, addr, multifunction */
#define P_VPCI   0x002u  /* disable-modern, disable-legacy, vectors */
#define P_BLK    0x004u
#define P_NET    0x008u
#define P_CONS   0x010u
#define P_RNG    0x020u
#define P_BALL   0x040u
#define P_NVDIMM 0x080u
#define P_DEBUG  0x100u
#define P_BRIDGE 0x200u
#define P_SCSI   0x400u  /* virtio-scsi controller */
#define P_LUN    0x800u  /* scsi-hd, scsi-cd */
#define P_VHU    0x1000u /* vhost-user: chardev */
#define P_VHUBLK 0x2000u /* num-queues */
#define P_VHUFS  0x4000u /* tag, num-request-queues, queue-size */
#define P_PORT   0x8000u /* pcie-root-port: chassis, slot */
#define P_VSOCK  0x10000u /* guest-cid, uds (virtio-vsock) / vhostfd (vhost-vsock) */
#define P_DIMM   0x20000u /* pc-dimm (config_mem.c) */
#define P_VMEM   0x40000u /* virtio-mem (config_mem.c) */

static const struct dev_kind {
	const char *name;
	enum cfg_device_type type;
	enum cfg_transport transport;
	unsigned props;
	const char *accepted;
} kinds[] = {
#define VPCI "id, bus, addr, multifunction, disable-modern, disable-legacy, vectors, romfile, "
	{ "virtio-blk-device", CFG_DEV_VIRTIO_BLK, CFG_TRANSPORT_MMIO, P_BLK,
	  "id, drive, serial, share-rw, iothread, num-queues" },
	{ "virtio-blk-pci", CFG_DEV_VIRTIO_BLK, CFG_TRANSPORT_PCI,
	  P_PCI | P_VPCI | P_BLK, VPCI "drive, serial, share-rw, iothread, num-queues" },
	{ "virtio-net-device", CFG_DEV_VIRTIO_NET, CFG_TRANSPORT_MMIO, P_NET,
	  "id, netdev, mac, mq, iothread" },
	{ "virtio-net-pci", CFG_DEV_VIRTIO_NET, CFG_TRANSPORT_PCI,
	  P_PCI | P_VPCI | P_NET, VPCI "netdev, mac, mq, iothread" },
	{ "virtio-serial-device", CFG_DEV_VIRTIO_SERIAL, CFG_TRANSPORT_MMIO, 0,
	  "id" },
	{ "virtio-serial-pci", CFG_DEV_VIRTIO_SERIAL, CFG_TRANSPORT_PCI,
	  P_PCI | P_VPCI, VPCI },
	{ "virtconsole", CFG_DEV_VIRTCONSOLE, CFG_TRANSPORT_NONE, P_CONS,
	  "id, chardev, bus, name" },
	/* A generic port (Kata's agent channel): a CFG_DEV_VIRTCONSOLE
	 * that is not announced as a console (serialport set). */
	{ "virtserialport", CFG_DEV_VIRTCONSOLE, CFG_TRANSPORT_NONE, P_CONS,
	  "id, chardev, bus, name" },
	{ "virtio-rng-device", CFG_DEV_VIRTIO_RNG, CFG_TRANSPORT_MMIO, P_RNG,
	  "id, rng, max-bytes, period" },
	{ "virtio-rng-pci", CFG_DEV_VIRTIO_RNG, CFG_TRANSPORT_PCI,
	  P_PCI | P_VPCI | P_RNG, VPCI "rng, max-bytes, period" },
	{ "virtio-balloon-device", CFG_DEV_VIRTIO_BALLOON, CFG_TRANSPORT_MMIO,
	  P_BALL, "id, deflate-on-oom, free-page-reporting" },
	{ "virtio-balloon-pci", CFG_DEV_VIRTIO_BALLOON, CFG_TRANSPORT_PCI,
	  P_PCI | P_VPCI | P_BALL, VPCI "deflate-on-oom, free-page-reporting" },
	{ "nvdimm", CFG_DEV_NVDIMM, CFG_TRANSPORT_NONE, P_NVDIMM,
	  "id, memdev, unarmed, label-size" },
	{ "isa-debug-exit", CFG_DEV_ISA_DEBUG_EXIT, CFG_TRANSPORT_NONE, P_DEBUG,
	  "id, iobase, iosize" },
	{ "pci-bridge", CFG_DEV_PCI_BRIDGE, CFG_TRANSPORT_PCI, P_PCI | P_BRIDGE,
	  "id, bus, addr, multifunction, chassis_nr, shpc" },
	{ "virtio-scsi-device", CFG_DEV_VIRTIO_SCSI, CFG_TRANSPORT_MMIO, P_SCSI,
	  "id, num_queues, iothread" },
	{ "virtio-scsi-pci", CFG_DEV_VIRTIO_SCSI, CFG_TRANSPORT_PCI,
	  P_PCI | P_VPCI | P_SCSI, VPCI "num_queues, iothread" },
	{ "scsi-hd", CFG_DEV_SCSI_HD, CFG_TRANSPORT_NONE, P_LUN,
	  "id, drive, bus, channel, scsi-id, lun, serial" },
	{ "scsi-cd", CFG_DEV_SCSI_CD, CFG_TRANSPORT_NONE, P_LUN,
	  "id, drive, bus, channel, scsi-id, lun, serial" },
	{ "vhost-user-blk-device", CFG_DEV_VHOST_USER_BLK, CFG_TRANSPORT_MMIO,
	  P_VHU | P_VHUBLK, "id, chardev, num-queues" },
	{ "vhost-user-blk-pci", CFG_DEV_VHOST_USER_BLK, CFG_TRANSPORT_PCI,
	  P_PCI | P_VPCI | P_VHU | P_VHUBLK, VPCI "chardev, num-queues" },
	{ "vhost-user-fs-device", CFG_DEV_VHOST_USER_FS, CFG_TRANSPORT_MMIO,
	  P_VHU | P_VHUFS, "id, chardev, tag, num-request-queues, queue-size" },
	{ "vhost-user-fs-pci", CFG_DEV_VHOST_USER_FS, CFG_TRANSPORT_PCI,
	  P_PCI | P_VPCI | P_VHU | P_VHUFS,
	  VPCI "chardev, tag, num-request-queues, queue-size" },
	{ "pcie-root-port", CFG_DEV_PCI_BRIDGE, CFG_TRANSPORT_PCI, P_PCI | P_PORT,
	  "id, bus, addr, multifunction, chassis, slot" },
	{ "virtio-vsock-device", CFG_DEV_VIRTIO_VSOCK, CFG_TRANSPORT_MMIO, P_VSOCK,
	  "id, guest-cid, uds" },
	{ "virtio-vsock-pci", CFG_DEV_VIRTIO_VSOCK, CFG_TRANSPORT_PCI,
	  P_PCI | P_VPCI | P_VSOCK, VPCI "guest-cid, uds" },
	{ "vhost-vsock-device", CFG_DEV_VHOST_VSOCK, CFG_TRANSPORT_MMIO, P_VSOCK,
	  "id, guest-cid, vhostfd" },
	{ "vhost-vsock-pci", CFG_DEV_VHOST_VSOCK, CFG_TRANSPORT_PCI,
	  P_PCI | P_VPCI | P_VSOCK, VPCI "guest-cid, vhostfd" },
	{ "pc-dimm", CFG_DEV_PC_DIMM, CFG_TRANSPORT_NONE, P_DIMM,
	  "id, memdev, addr, slot, node" },
	{ "virtio-mem-device", CFG_DEV_VIRTIO_MEM, CFG_TRANSPORT_MMIO, P_VMEM,
	  "id, memdev, block-size, requested-size, node" },
	{ "virtio-mem-pci", CFG_DEV_VIRTIO_MEM, CFG_TRANSPORT_PCI,
	  P_PCI | P_VPCI | P_VMEM, VPCI "memdev, block-size, requested-size, node" },
#undef VPCI
};

#define KINDS_ACCEPTED "virtio-blk-device, virtio-blk-pci, virtio-net-device, " \
	"virtio-net-pci, virtio-serial-device, virtio-serial-pci, virtconsole, " \
	"virtio-rng-device, virtio-rng-pci, virtio-balloon-device, " \
	"virtio-balloon-pci, nvdimm, isa-debug-exit, pci-bridge, " \
	"virtio-scsi-device, virtio-scsi-pci, scsi-hd, scsi-cd, virtserialport, " \
	"vhost-user-blk-device, vhost-user-blk-pci, vhost-user-fs-device, " \
	"vhost-user-fs-pci, pcie-root-port, virtio-vsock-device, virtio-vsock-pci, " \
	"vhost-vsock-device, vhost-vsock-pci, pc-dimm, virtio-mem-device, " \
	"virtio-mem-pci"

/* addr=SLOT[.FUNC], both hex with or without 0x, as QEMU's PCI devfn
 * property (and StratoVirt's addr=0x3.0x0). */
static int parse_addr(struct cfg_ctx *c, const char *v, struct cfg_device *d)
{
	unsigned long long slot, func = 0;
	char *end;

	if (!v || !*v)
		goto bad;
	if (v[0] == '-' || v[0] == '+' || v[0] == ' ')
		goto bad;
	slot = strtoull(v, &end, 16);   /* ERANGE gives ULLONG_MAX: refused */
	if (end == v)
		goto bad;
	if (*end == '.') {
		const char *f = end + 1;

		if (!*f || *f == '-' || *f == '+' || *f == ' ')
			goto bad;
		func = strtoull(f, &end, 16);
		if (end == f)
			goto bad;
	}
	if (*end || slot >= CFG_PCI_SLOTS || func >= CFG_PCI_FUNCS)
		goto bad;
	d->pci_slot = (int)slot;
	d->pci_func = (int)func;
	return 0;
bad:
	return cfg_error(c, "addr='%s' is not a PCI address (accepted: SLOT[.FUNC] in hex, slot 0x0-0x1f, function 0x0-0x7)",
			 v ? v : "");
}

static int parse_mac(struct cfg_ctx *c, const char *v, uint8_t mac[6])
{
	unsigned b[6];
	int n = 0;

	if (!v || strlen(v) != 17 ||
	    sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &n) != 6 || n != 17)
		goto bad;
	for (int i = 0; i < 17; i++)
		if ((i % 3 == 2) != (v[i] == ':') ||
		    (i % 3 != 2 && !strchr("0123456789abcdefABCDEF", v[i])))
			goto bad;
	/* A NIC address must be unicast (IEEE 802: I/G bit clear). */
	if (b[0] & 1)
		return cfg_error(c, "mac='%s' is a multicast address (accepted: a unicast MAC, first byte even)",
				 v);
	if (!(b[0] | b[1] | b[2] | b[3] | b[4] | b[5]))
		goto bad;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
bad:
	return cfg_error(c, "mac='%s' is not a MAC address (accepted: xx:xx:xx:xx:xx:xx, hex, not all zero)",
			 v ? v : "");
}

static int ref(struct cfg_ctx *c, const struct cfg_kv *kv, char *dst)
{
	return cfg_id(c, kv->key, kv->val, dst);
}

/* bus=ID or bus=ID.0: QEMU names the bus a controller provides "ID.0"
 * (virtio-scsi's LUNs, virtio-serial's ports); both name the same ID. */
static int bus_ref(struct cfg_ctx *c, const struct cfg_kv *kv, char *dst)
{
	char tmp[CFG_ID_MAX + 2];
	size_t n = kv->val ? strlen(kv->val) : 0;

	if (n > 2 && n < sizeof(tmp) && !strcmp(kv->val + n - 2, ".0")) {
		memcpy(tmp, kv->val, n - 2);
		tmp[n - 2] = '\0';
		return cfg_id(c, "bus", tmp, dst);
	}
	return ref(c, kv, dst);
}

/* guest-cid= (virtio 1.2 §5.10.4: 0-2 are reserved, and Linux takes
 * 32 bits with 0xffffffff meaning any), uds=PATH for the userspace
 * device, vhostfd=N for vhost-vsock. */
static int vsock_prop(struct cfg_ctx *c, struct cfg_device *d,
		      const struct cfg_kv *kv, bool *handled)
{
	uint64_t v;

	if (!strcmp(kv->key, "guest-cid"))
		return cfg_uint(c, kv->key, kv->val, 3, 0xfffffffeull, &d->guest_cid);
	if (d->type == CFG_DEV_VIRTIO_VSOCK && !strcmp(kv->key, "uds"))
		return cfg_str(c, "uds", kv->val, d->vsock_uds, sizeof(d->vsock_uds));
	if (d->type == CFG_DEV_VHOST_VSOCK && !strcmp(kv->key, "vhostfd")) {
		if (cfg_uint(c, kv->key, kv->val, 0, INT32_MAX, &v))
			return -1;
		d->vhostfd = (int)v;
		return 0;
	}
	*handled = false;
	return 0;
}

/* One property; *handled false if this kind does not take it. */
static int dev_prop(struct cfg_ctx *c, const struct dev_kind *k,
		    struct cfg_device *d, const struct cfg_kv *kv, bool *handled,
		    bool *have_period)
{
	const char *key = kv->key;
	uint64_t v;

	*handled = true;
	if (!strcmp(key, "id"))
		return cfg_id(c, "id", kv->val, d->id);
	if (k->props & (P_DIMM | P_VMEM)) {
		int r = cfg_mem_prop(c, (k->props & P_DIMM) != 0, d, kv, handled);
		if (*handled)
			return r;
		*handled = true;
	}
	if ((k->props & P_PCI) && !strcmp(key, "bus"))
		return ref(c, kv, d->bus);
	if ((k->props & P_PCI) && !strcmp(key, "addr"))
		return parse_addr(c, kv->val, d);
	if ((k->props & P_PCI) && !strcmp(key, "multifunction"))
		return cfg_bool(c, kv, &d->multifunction);
	if ((k->props & P_VPCI) && !strcmp(key, "disable-modern"))
		return cfg_bool(c, kv, &d->disable_modern);
	if ((k->props & P_VPCI) && !strcmp(key, "disable-legacy"))
		return cfg_bool(c, kv, &d->disable_legacy);
	if ((k->props & P_VPCI) && !strcmp(key, "vectors")) {
		/* The MSI-X table size: PCI 3.0 §6.8.2 allows 1-2048,
		 * devices/pci/msix.h's table holds 64.  0 is QEMU's "no
		 * MSI-X capability": the device interrupts on INTx. */
		if (cfg_uint(c, key, kv->val, 0, 2048, &v))
			return -1;
		if (v > CFG_MAX_VECTORS)
			return cfg_error(c, "vectors=%llu is not supported (accepted: 0-%d; PCI allows 2048 MSI-X vectors, vmm's table holds %d, more than any of its virtio devices has queues)",
					 (unsigned long long)v, CFG_MAX_VECTORS,
					 CFG_MAX_VECTORS);
		d->vectors = (unsigned)v;
		d->has_vectors = true;
		return 0;
	}
	if ((k->props & P_VPCI) && !strcmp(key, "romfile")) {
		/* Kata passes romfile= empty: no option ROM, which is what
		 * every function here has.  A ROM image would need an
		 * expansion ROM BAR, which we do not model. */
		if (kv->val && *kv->val)
			return cfg_error(c, "romfile='%s': option ROMs are not supported (accepted: romfile= empty, no ROM)",
					 kv->val);
		return 0;
	}
	if ((k->props & (P_BLK | P_LUN)) && !strcmp(key, "drive"))
		return ref(c, kv, d->drive);
	if ((k->props & P_BLK) && !strcmp(key, "num-queues")) {
		if (cfg_uint(c, key, kv->val, 1, CFG_MAX_BLK_QUEUES, &v))
			return -1;
		d->num_queues = (unsigned)v;
		return 0;
	}
	if ((k->props & P_SCSI) && !strcmp(key, "num_queues")) {
		if (cfg_uint(c, key, kv->val, 1, CFG_MAX_SCSI_QUEUES, &v))
			return -1;
		d->num_queues = (unsigned)v;
		return 0;
	}
	/* QEMU names a virtio-scsi's bus "ID.0"; accept that or "ID". */
	if ((k->props & P_LUN) && !strcmp(key, "bus"))
		return bus_ref(c, kv, d->bus);
	if ((k->props & P_LUN) && !strcmp(key, "channel"))
		/* virtio-scsi has one channel (§5.6.4 max_channel 0). */
		return cfg_uint(c, key, kv->val, 0, 0, &v);
	if ((k->props & P_LUN) && !strcmp(key, "scsi-id")) {
		if (cfg_uint(c, key, kv->val, 0, CFG_MAX_SCSI_TARGET, &v))
			return -1;
		d->scsi_id = (int)v;
		return 0;
	}
	if ((k->props & P_LUN) && !strcmp(key, "lun")) {
		if (cfg_uint(c, key, kv->val, 0, CFG_MAX_SCSI_LUN, &v))
			return -1;
		d->scsi_lun = (unsigned)v;
		return 0;
	}
	if ((k->props & (P_BLK | P_LUN)) && !strcmp(key, "serial")) {
		if (cfg_str(c, "serial", kv->val, d->serial, sizeof(d->serial)))
			return -1;
		for (const char *p = d->serial; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				return cfg_error(c, "serial='%s' is not printable ASCII",
						 kv->val);
		return 0;
	}
	/* QEMU's image locking relaxed: other writers may open the image
	 * (Kata passes it for volumes shared between sandboxes). */
	if ((k->props & P_BLK) && !strcmp(key, "share-rw"))
		return cfg_bool(c, kv, &d->share_rw);
	if ((k->props & (P_BLK | P_NET | P_SCSI)) && !strcmp(key, "iothread"))
		return ref(c, kv, d->iothread);
	if ((k->props & P_NET) && !strcmp(key, "netdev"))
		return ref(c, kv, d->netdev);
	if ((k->props & P_NET) && !strcmp(key, "mac")) {
		d->has_mac = true;
		return parse_mac(c, kv->val, d->mac);
	}
	if ((k->props & P_NET) && !strcmp(key, "mq")) {
		/* mq=on: VIRTIO_NET_F_MQ and the control queue, one queue
		 * pair per queue of the netdev (virtio 1.2 §5.1.6.5.5). */
		return cfg_bool(c, kv, &d->mq);
	}
	if ((k->props & P_CONS) && !strcmp(key, "chardev"))
		return ref(c, kv, d->chardev);
	/* The port's name (VIRTIO_CONSOLE_PORT_NAME, §5.3.6.2). */
	if ((k->props & P_CONS) && !strcmp(key, "name")) {
		if (!kv->val[0] || strlen(kv->val) >= sizeof(d->port_name))
			return cfg_error(c, "name= must be 1-%zu bytes", sizeof(d->port_name) - 1);
		strcpy(d->port_name, kv->val);
		return 0;
	}
	/* QEMU names the port bus "SERIAL.0"; accept that or "SERIAL". */
	if ((k->props & P_CONS) && !strcmp(key, "bus"))
		return bus_ref(c, kv, d->bus);
	if ((k->props & P_RNG) && !strcmp(key, "rng"))
		return ref(c, kv, d->rng);
	if ((k->props & P_RNG) && !strcmp(key, "max-bytes"))
		return cfg_uint(c, key, kv->val, 1, INT64_MAX, &d->rng_max_bytes);
	if ((k->props & P_RNG) && !strcmp(key, "period")) {
		*have_period = true;
		return cfg_uint(c, key, kv->val, 1, UINT32_MAX, &d->rng_period_ms);
	}
	if ((k->props & P_BALL) && !strcmp(key, "deflate-on-oom"))
		return cfg_bool(c, kv, &d->deflate_on_oom);
	if ((k->props & P_BALL) && !strcmp(key, "free-page-reporting"))
		return cfg_bool(c, kv, &d->free_page_reporting);
	if ((k->props & P_NVDIMM) && !strcmp(key, "memdev"))
		return ref(c, kv, d->memdev);
	if ((k->props & P_NVDIMM) && !strcmp(key, "unarmed"))
		return cfg_bool(c, kv, &d->unarmed);
	if ((k->props & P_NVDIMM) && !strcmp(key, "label-size")) {
		/* QEMU: at least 128 KiB (MIN_NAMESPACE_LABEL_SIZE) if any. */
		if (cfg_size(c, key, kv->val, 1, 128ull << 10, 1ull << 30,
			     &d->label_size))
			return -1;
		return 0;
	}
	if ((k->props & P_DEBUG) && !strcmp(key, "iobase")) {
		if (cfg_uint(c, key, kv->val, 0, 0xffff, &v))
			return -1;
		d->iobase = (uint16_t)v;
		return 0;
	}
	if ((k->props & P_DEBUG) && !strcmp(key, "iosize")) {
		if (cfg_uint(c, key, kv->val, 1, 4, &v))
			return -1;
		if (v == 3)
			return cfg_error(c, "iosize='%s' is not accepted (accepted: 1, 2, 4)",
					 kv->val);
		d->iosize = (uint16_t)v;
		return 0;
	}
	if ((k->props & P_BRIDGE) && !strcmp(key, "chassis_nr")) {
		if (cfg_uint(c, key, kv->val, 1, 255, &v))
			return -1;
		d->chassis_nr = (unsigned)v;
		return 0;
	}
	if ((k->props & P_VHU) && !strcmp(key, "chardev"))
		return ref(c, kv, d->chardev);
	if (((k->props & P_VHUBLK) && !strcmp(key, "num-queues")) ||
	    ((k->props & P_VHUFS) && !strcmp(key, "num-request-queues"))) {
		/* The frontend handles at most 16 queues (fs: one of them
		 * the hiprio queue). */
		if (cfg_uint(c, key, kv->val, 1, (k->props & P_VHUFS) ? 15 : 16, &v))
			return -1;
		d->vhu_queues = (unsigned)v;
		return 0;
	}
	if ((k->props & P_VHUFS) && !strcmp(key, "queue-size")) {
		if (cfg_uint(c, key, kv->val, 1, 32768, &v))
			return -1;
		if (v & (v - 1))
			return cfg_error(c, "queue-size='%s' is not a power of 2", kv->val);
		d->vhu_queue_size = (unsigned)v;
		return 0;
	}
	if ((k->props & P_VHUFS) && !strcmp(key, "tag")) {
		/* virtio 1.2 §5.11.4: tag is 36 bytes, NUL-padded. */
		if (!kv->val || !kv->val[0] || strlen(kv->val) > 36)
			return cfg_error(c, "tag='%s' must be 1-36 bytes (virtio-fs tag)",
					 kv->val ? kv->val : "");
		strcpy(d->vhu_tag, kv->val);
		return 0;
	}
	/* QEMU's pcie-root-port: chassis (8 bits) and the Physical Slot
	 * Number (13 bits of Slot Capabilities, PCIe Base §7.5.3.9). */
	if ((k->props & P_PORT) && !strcmp(key, "chassis")) {
		if (cfg_uint(c, key, kv->val, 1, 255, &v))
			return -1;
		d->chassis_nr = (unsigned)v;
		return 0;
	}
	if ((k->props & P_PORT) && !strcmp(key, "slot")) {
		if (cfg_uint(c, key, kv->val, 0, 8191, &v))
			return -1;
		d->port_slot = (unsigned)v;
		return 0;
	}
	if ((k->props & P_BRIDGE) && !strcmp(key, "shpc"))
		return cfg_bool(c, kv, &d->shpc);
	if (k->props & P_VSOCK)
		return vsock_prop(c, d, kv, handled);
	*handled = false;
	return 0;
}

/* StratoVirt: a configured rate, max-bytes/period*1000 bytes per second,
 * must lie in [64, 1e9]. */
static int check_rng_rate(struct cfg_ctx *c, const struct cfg_device *d,
			  bool have_period)
{
	unsigned __int128 rate;

	if (have_period && !d->rng_max_bytes)
		return cfg_error(c, "period= needs max-bytes=");
	if (!d->rng_max_bytes)
		return 0;
	rate = (unsigned __int128)d->rng_max_bytes * 1000 / d->rng_period_ms;
	if (rate < 64 || rate > 1000000000)
		return cfg_error(c, "max-bytes=%llu,period=%llu is %llu bytes/s, out of range (accepted: max-bytes/period*1000 in 64-1000000000)",
				 (unsigned long long)d->rng_max_bytes,
				 (unsigned long long)d->rng_period_ms,
				 rate > UINT64_MAX ? (unsigned long long)UINT64_MAX :
				 (unsigned long long)rate);
	return 0;
}

int cfg_opt_device(struct cfg_ctx *c, const char *arg)
{
	struct machine_config *cfg = c->cfg;
	const struct dev_kind *k = NULL;
	struct cfg_device *d;
	struct cfg_kvlist l;
	const char *driver = NULL;
	bool have_period = false;

	if (cfg_kv_split(c, &l, arg, "driver"))
		return -1;
	for (unsigned i = 0; i < l.n; i++)
		if (!strcmp(l.kv[i].key, "driver"))
			driver = l.kv[i].val;
	if (!driver)
		return cfg_error(c, "'%s' names no device (accepted: %s)", arg,
				 KINDS_ACCEPTED);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, driver))
			k = &kinds[i];
	if (!k)
		return cfg_error(c, "device '%s' is not supported (accepted: %s)",
				 driver, KINDS_ACCEPTED);
	if (cfg->ndevices == CFG_MAX_ITEMS)
		return cfg_error(c, "too many devices (at most %d)", CFG_MAX_ITEMS);
	d = &cfg->devices[cfg->ndevices];
	memset(d, 0, sizeof(*d));
	d->type = k->type;
	d->transport = k->transport;
	d->pcie_port = (k->props & P_PORT) != 0;
	d->pci_slot = -1;
	d->parent = -1;
	d->rng_period_ms = 1000;
	d->iobase = 0x501;   /* QEMU's isa-debug-exit defaults */
	d->iosize = 2;
	d->scsi_id = -1;
	d->vhostfd = -1;
	d->serialport = !strcmp(k->name, "virtserialport");
	d->mem_slot = -1;
	if (k->transport == CFG_TRANSPORT_PCI)
		strcpy(d->bus, CFG_ROOT_BUS);
	for (unsigned i = 0; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];
		bool handled;

		if (!strcmp(kv->key, "driver"))
			continue;
		if (dev_prop(c, k, d, kv, &handled, &have_period))
			return -1;
		if (!handled)
			return cfg_error(c, "%s: unknown property '%s' (accepted: %s)",
					 k->name, kv->key, k->accepted);
	}
	if ((d->type == CFG_DEV_VIRTIO_BLK || d->type == CFG_DEV_SCSI_HD ||
	     d->type == CFG_DEV_SCSI_CD) && !d->drive[0])
		return cfg_error(c, "%s needs drive=ID", k->name);
	if (d->type == CFG_DEV_VIRTIO_NET && !d->netdev[0])
		return cfg_error(c, "%s needs netdev=ID", k->name);
	if (d->type == CFG_DEV_VIRTCONSOLE && !d->chardev[0])
		return cfg_error(c, "%s needs chardev=ID", k->name);
	if (d->type == CFG_DEV_VIRTIO_RNG && !d->rng[0])
		return cfg_error(c, "%s needs rng=ID", k->name);
	if ((k->props & P_VHU) && !d->chardev[0])
		return cfg_error(c, "%s needs chardev=ID (a -chardev socket)", k->name);
	if (d->type == CFG_DEV_VHOST_USER_FS && !d->vhu_tag[0])
		return cfg_error(c, "%s needs tag=NAME", k->name);
	if ((k->props & P_VSOCK) && !d->guest_cid)
		return cfg_error(c, "%s needs guest-cid=N (3-4294967294)", k->name);
	if (d->type == CFG_DEV_VIRTIO_VSOCK && !d->vsock_uds[0])
		return cfg_error(c, "%s needs uds=PATH (the host's unix socket)", k->name);
	if (d->type == CFG_DEV_NVDIMM && !d->memdev[0])
		return cfg_error(c, "nvdimm needs memdev=ID");
	if (d->disable_modern && d->disable_legacy)
		return cfg_error(c, "%s: disable-modern and disable-legacy together leave nothing",
				 k->name);
	/* The iothread's doorbells are ioeventfds on the modern notify
	 * area, which a legacy-only device does not have. */
	if (d->disable_modern && d->iothread[0])
		return cfg_error(c, "%s: iothread= needs the modern interface (drop disable-modern=on)",
				 k->name);
	if (d->type == CFG_DEV_ISA_DEBUG_EXIT &&
	    (unsigned)d->iobase + d->iosize > 0x10000)
		return cfg_error(c, "isa-debug-exit: iobase 0x%x + iosize %u is beyond port 0xffff",
				 d->iobase, d->iosize);
	if (d->type == CFG_DEV_VIRTIO_RNG && check_rng_rate(c, d, have_period))
		return -1;
	cfg->ndevices++;
	return 0;
}
