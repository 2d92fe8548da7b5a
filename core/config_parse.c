/* config_parse(): walk argv, hand each option to its parser, then check the
 * whole machine.  The option table is the one list of what vmm accepts;
 * docs/cli.md and config_usage() describe the same set. */
#include <stdio.h>
#include <string.h>
#include "config_priv.h"

enum opt_kind {
	OPT_FN,        /* handler(arg) */
	OPT_PATH,      /* copy arg into a char[] field */
	OPT_FLAG,      /* set a bool field */
	OPT_HELP,
	OPT_VERSION,
};

struct opt {
	const char *name;
	enum opt_kind kind;
	bool has_arg;
	int (*fn)(struct cfg_ctx *c, const char *arg);
	size_t off, len;   /* OPT_PATH / OPT_FLAG field */
};

#define F(field) offsetof(struct machine_config, field), \
	sizeof(((struct machine_config *)0)->field)

static int opt_enable_kvm(struct cfg_ctx *c, const char *arg);
static int opt_append(struct cfg_ctx *c, const char *arg);
static int opt_seed(struct cfg_ctx *c, const char *arg);

static const struct opt opts[] = {
	{ "name", OPT_FN, true, cfg_opt_name, 0, 0 },
	{ "uuid", OPT_FN, true, cfg_opt_uuid, 0, 0 },
	{ "machine", OPT_FN, true, cfg_opt_machine, 0, 0 },
	{ "M", OPT_FN, true, cfg_opt_machine, 0, 0 },
	{ "enable-kvm", OPT_FN, false, opt_enable_kvm, 0, 0 },
	{ "cpu", OPT_FN, true, cfg_opt_cpu, 0, 0 },
	{ "smp", OPT_FN, true, cfg_opt_smp, 0, 0 },
	{ "m", OPT_FN, true, cfg_opt_m, 0, 0 },
	{ "mem-path", OPT_PATH, true, NULL, F(mem.mem_path) },
	{ "kernel", OPT_PATH, true, NULL, F(kernel) },
	{ "initrd", OPT_PATH, true, NULL, F(initrd) },
	{ "append", OPT_FN, true, opt_append, 0, 0 },
	{ "object", OPT_FN, true, cfg_opt_object, 0, 0 },
	{ "drive", OPT_FN, true, cfg_opt_drive, 0, 0 },
	{ "netdev", OPT_FN, true, cfg_opt_netdev, 0, 0 },
	{ "chardev", OPT_FN, true, cfg_opt_chardev, 0, 0 },
	{ "device", OPT_FN, true, cfg_opt_device, 0, 0 },
	{ "serial", OPT_FN, true, cfg_opt_serial, 0, 0 },
	{ "rtc", OPT_FN, true, cfg_opt_rtc, 0, 0 },
	{ "qmp", OPT_FN, true, cfg_opt_qmp, 0, 0 },
	{ "pidfile", OPT_PATH, true, NULL, F(pidfile) },
	{ "daemonize", OPT_FLAG, false, NULL, F(daemonize) },
	{ "D", OPT_PATH, true, NULL, F(logfile) },
	{ "disable-seccomp", OPT_FLAG, false, NULL, F(disable_seccomp) },
	{ "no-reboot", OPT_FLAG, false, NULL, F(no_reboot) },
	{ "S", OPT_FLAG, false, NULL, F(start_paused) },
	{ "incoming", OPT_FN, true, cfg_opt_incoming, 0, 0 },
	{ "seed", OPT_FN, true, opt_seed, 0, 0 },
	{ "dump-dtb", OPT_PATH, true, NULL, F(dump_dtb) },
	{ "trace-record", OPT_PATH, true, NULL, F(trace_record) },
	{ "global", OPT_FN, true, cfg_opt_global, 0, 0 },
	{ "numa", OPT_FN, true, cfg_opt_numa, 0, 0 },
	{ "realtime", OPT_FN, true, cfg_opt_realtime, 0, 0 },
	{ "vga", OPT_FN, true, cfg_opt_vga, 0, 0 },
	{ "nodefaults", OPT_FLAG, false, NULL, F(nodefaults) },
	{ "no-user-config", OPT_FLAG, false, NULL, F(no_user_config) },
	{ "nographic", OPT_FLAG, false, NULL, F(nographic) },
	{ "help", OPT_HELP, false, NULL, 0, 0 },
	{ "h", OPT_HELP, false, NULL, 0, 0 },
	{ "version", OPT_VERSION, false, NULL, 0, 0 },
};

void config_defaults(struct machine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.type = CFG_MACHINE_MICROVM;
	cfg->machine.accel = CFG_ACCEL_KVM;
	cfg->machine.kernel_irqchip = true;
	cfg->machine.dump_guest_core = true;
	cfg->machine.mem_merge = false;  /* QEMU's default is on; see -machine */
	strcpy(cfg->cpu_model, "host");
	cfg->cpu_pmu = true;
	cfg->smp = (struct cfg_smp){ .cpus = 1, .maxcpus = 1, .sockets = 1, .cores = 1, .threads = 1 };
	cfg->mem.size = 256ull << 20;   /* StratoVirt's minimum */
	cfg->rtc.base = CFG_RTC_UTC;
	cfg->rtc.clock = CFG_RTC_CLOCK_HOST;
	cfg->lost_tick_policy = CFG_LOST_TICK_DELAY;  /* QEMU's kvm-pit default */
}

static int opt_enable_kvm(struct cfg_ctx *c, const char *arg)
{
	(void)arg;
	if (c->accel_given && c->cfg->machine.accel != CFG_ACCEL_KVM)
		return cfg_error(c, "conflicts with -machine accel=sim");
	c->cfg->machine.accel = CFG_ACCEL_KVM;
	c->accel_given = true;
	return 0;
}

/* The kernel command line may be empty and holds anything but a NUL. */
static int opt_append(struct cfg_ctx *c, const char *arg)
{
	size_t n = strlen(arg);

	if (n >= sizeof(c->cfg->append))
		return cfg_error(c, "too long (%zu bytes, at most %zu)", n,
				 sizeof(c->cfg->append) - 1);
	memcpy(c->cfg->append, arg, n + 1);
	return 0;
}

static int opt_seed(struct cfg_ctx *c, const char *arg)
{
	return cfg_uint(c, NULL, arg, 0, UINT64_MAX, &c->cfg->seed);
}

static const struct opt *find_opt(const char *name)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strcmp(opts[i].name, name))
			return &opts[i];
	return NULL;
}

int config_parse(struct machine_config *cfg, int argc, char **argv,
		 char *err, size_t errlen)
{
	struct cfg_ctx c = { .cfg = cfg, .err = err, .errlen = errlen };
	char optname[64];

	config_defaults(cfg);
	if (err && errlen)
		err[0] = '\0';
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name;
		const struct opt *o;
		const char *arg = NULL;

		c.opt = NULL;
		if (a[0] != '-' || a[1] == '\0')
			return cfg_error(&c, "'%s' is not an option (options start with '-'; see --help)",
					 a);
		/* QEMU takes "--name" for "-name". */
		name = a[1] == '-' ? a + 2 : a + 1;
		o = find_opt(name);
		if (!o)
			return cfg_error(&c, "unknown option '%s' (see --help)", a);
		snprintf(optname, sizeof(optname), "-%s", o->name);
		c.opt = optname;
		if (o->has_arg) {
			if (i + 1 >= argc)
				return cfg_error(&c, "needs an argument (see --help)");
			arg = argv[++i];
		}
		switch (o->kind) {
		case OPT_FN:
			if (o->fn(&c, arg))
				return -1;
			break;
		case OPT_PATH:
			if (cfg_str(&c, "the path", arg, (char *)cfg + o->off,
				    o->len))
				return -1;
			break;
		case OPT_FLAG:
			*(bool *)((char *)cfg + o->off) = true;
			break;
		case OPT_HELP:
			config_usage(stdout);
			return 1;
		case OPT_VERSION:
			printf("vmm version %s\n", VMM_VERSION);
			return 1;
		}
	}
	c.opt = NULL;
	return cfg_check(&c);
}

#define LOOKUP(fn, type, arr, n)                                          \
	const struct type *fn(const struct machine_config *cfg, const char *id) \
	{                                                                 \
		if (!id || !*id)                                          \
			return NULL;                                      \
		for (unsigned i = 0; i < cfg->n; i++)                     \
			if (!strcmp(cfg->arr[i].id, id))                  \
				return &cfg->arr[i];                      \
		return NULL;                                              \
	}

LOOKUP(config_object, cfg_object, objects, nobjects)
LOOKUP(config_drive, cfg_drive, drives, ndrives)
LOOKUP(config_netdev, cfg_netdev, netdevs, nnetdevs)
LOOKUP(config_chardev, cfg_chardev, chardevs, nchardevs)
LOOKUP(config_device, cfg_device, devices, ndevices)

const char *config_device_name(const struct cfg_device *dev)
{
	if (dev->type == CFG_DEV_VIRTCONSOLE && dev->serialport)
		return "virtserialport";
	static const char *const names[][3] = {
		/* NONE, MMIO, PCI */
		[CFG_DEV_VIRTIO_BLK] = { "virtio-blk", "virtio-blk-device", "virtio-blk-pci" },
		[CFG_DEV_VIRTIO_NET] = { "virtio-net", "virtio-net-device", "virtio-net-pci" },
		[CFG_DEV_VIRTIO_SERIAL] = { "virtio-serial", "virtio-serial-device", "virtio-serial-pci" },
		[CFG_DEV_VIRTCONSOLE] = { "virtconsole", "virtconsole", "virtconsole" },
		[CFG_DEV_VIRTIO_RNG] = { "virtio-rng", "virtio-rng-device", "virtio-rng-pci" },
		[CFG_DEV_VIRTIO_BALLOON] = { "virtio-balloon", "virtio-balloon-device", "virtio-balloon-pci" },
		[CFG_DEV_NVDIMM] = { "nvdimm", "nvdimm", "nvdimm" },
		[CFG_DEV_ISA_DEBUG_EXIT] = { "isa-debug-exit", "isa-debug-exit", "isa-debug-exit" },
		[CFG_DEV_PCI_BRIDGE] = { "pci-bridge", "pci-bridge", "pci-bridge" },
		[CFG_DEV_VIRTIO_SCSI] = { "virtio-scsi", "virtio-scsi-device", "virtio-scsi-pci" },
		[CFG_DEV_SCSI_HD] = { "scsi-hd", "scsi-hd", "scsi-hd" },
		[CFG_DEV_SCSI_CD] = { "scsi-cd", "scsi-cd", "scsi-cd" },
		[CFG_DEV_VHOST_USER_BLK] = { "vhost-user-blk", "vhost-user-blk-device", "vhost-user-blk-pci" },
		[CFG_DEV_VHOST_USER_FS] = { "vhost-user-fs", "vhost-user-fs-device", "vhost-user-fs-pci" },
		[CFG_DEV_VIRTIO_VSOCK] = { "virtio-vsock", "virtio-vsock-device", "virtio-vsock-pci" },
		[CFG_DEV_VHOST_VSOCK] = { "vhost-vsock", "vhost-vsock-device", "vhost-vsock-pci" },
		[CFG_DEV_PC_DIMM] = { "pc-dimm", "pc-dimm", "pc-dimm" },
		[CFG_DEV_VIRTIO_MEM] = { "virtio-mem", "virtio-mem-device", "virtio-mem-pci" },
	};

	if (dev->type == CFG_DEV_PCI_BRIDGE && dev->pcie_port)
		return "pcie-root-port";
	if ((unsigned)dev->type >= sizeof(names) / sizeof(names[0]) ||
	    (unsigned)dev->transport > CFG_TRANSPORT_PCI)
		return "?";
	return names[dev->type][dev->transport];
}

const char *config_machine_name(enum cfg_machine_type type)
{
	return type == CFG_MACHINE_Q35 ? "q35" : "microvm";
}
