/* The machine description: what the command line (QEMU/StratoVirt dialect,
 * see docs/cli.md) says to build.  config_parse() fills it and
 * validates every option and every cross-reference before anything is
 * created; the KVM and simulator backends and machine/board.c read it.
 *
 * Parsing is pure: it opens no file and creates nothing.  Whether a path
 * (-kernel, -drive file=, mem-path=, ...) exists is checked by the backend
 * that opens it, so the error names the real open() failure and there is
 * no check-then-use race. */
#ifndef VMM_CORE_CONFIG_H
#define VMM_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_VERSION "0.1.0"

#define CFG_ID_MAX 64
#define CFG_PATH_MAX 256
/* -incoming exec:CMD: a shell command line. */
#define CFG_INCOMING_MAX 1024
#define CFG_NAME_MAX 256    /* -name: StratoVirt allows 1-255 characters */
#define CFG_MAX_CPUS 254
#define CFG_MAX_ITEMS 64    /* of each kind: drives, devices, objects... */
#define CFG_MAX_IOTHREADS 8
#define CFG_MAX_SERIAL 4    /* COM1-COM4 */
#define CFG_MAX_NUMA 8
#define CFG_MAX_MEM_SLOTS 256             /* QEMU's ACPI_MAX_RAM_SLOTS */
#define CFG_MIN_MEM (4ull << 20)          /* boot structures + a guest */
#define CFG_MAX_MEM (512ull << 30)        /* StratoVirt: [256M, 512G] */
#define CFG_MAX_MAXMEM (4ull << 40)
#define CFG_MAX_IOPS 1000000u             /* throttling.iops-total */
#define CFG_PCI_SLOTS 32
#define CFG_PCI_FUNCS 8
#define CFG_MAX_VECTORS 64   /* vectors=: MSIX_MAX_VECTORS (PCI allows 2048) */
#define CFG_MAX_CONSOLE_PORTS 7  /* virtconsoles per virtio-serial: VCON_MAX_PORTS */
#define CFG_MAX_BLK_QUEUES 16     /* virtio-blk num-queues= (VDEV_MAX_QUEUES) */
#define CFG_NET_MAX_QUEUES 7      /* tap queue pairs: (VDEV_MAX_QUEUES - 1) / 2 */
#define CFG_MAX_SCSI_QUEUES 14    /* virtio-scsi num_queues=: + control, event */
#define CFG_MAX_SCSI_TARGET 255   /* scsi-id= (virtio 1.2 §5.6.4 max_target) */
#define CFG_MAX_SCSI_LUN 16383    /* lun= (max_lun, SAM single-level flat) */

enum cfg_machine_type { CFG_MACHINE_MICROVM, CFG_MACHINE_Q35 };
enum cfg_accel { CFG_ACCEL_KVM, CFG_ACCEL_SIM };

struct cfg_machine {
	enum cfg_machine_type type;
	enum cfg_accel accel;
	bool nvdimm;          /* nvdimm=on */
	bool pmem_legacy;     /* pmem-legacy=on: e820 type 12 instead of NFIT */
	bool kernel_irqchip;  /* kernel_irqchip=on: the only value accepted */
	bool dump_guest_core; /* dump-guest-core=on: the only value accepted */
	bool mem_merge;       /* mem-merge=off: the only value accepted */
};

struct cfg_smp {
	unsigned cpus, maxcpus, sockets, cores, threads;
	/* Run time, not an option: the vCPU slots beyond -smp N that
	 * device_add filled (bit i = slot i), kept in the description like
	 * a hot-plugged -device, so a rebuild (system_reset) lists them
	 * enabled in its MADT, as QEMU's does.  config_cpu_plugged(). */
	uint64_t plugged[(CFG_MAX_CPUS + 63) / 64];
};

struct cfg_mem {
	uint64_t size;       /* -m SIZE */
	unsigned slots;      /* -m ...,slots=N */
	uint64_t maxmem;     /* -m ...,maxmem=M (0: none) */
	char mem_path[CFG_PATH_MAX];  /* -mem-path DIR (hugetlbfs) */
};

enum cfg_object_type {
	CFG_OBJ_MEMORY_BACKEND_FILE,
	CFG_OBJ_MEMORY_BACKEND_RAM,
	CFG_OBJ_RNG_RANDOM,
	CFG_OBJ_IOTHREAD,
	CFG_OBJ_MEMORY_BACKEND_MEMFD,  /* appended: trace headers keep the values */
};

struct cfg_object {
	enum cfg_object_type type;
	char id[CFG_ID_MAX];
	/* memory-backend-*: */
	char mem_path[CFG_PATH_MAX];
	uint64_t size;
	bool share, readonly;
	/* rng-random: */
	char filename[CFG_PATH_MAX];  /* default /dev/urandom */
};

enum cfg_cache { CFG_CACHE_WRITEBACK, CFG_CACHE_NONE, CFG_CACHE_WRITETHROUGH,
		 CFG_CACHE_DIRECTSYNC, CFG_CACHE_UNSAFE };
enum cfg_aio { CFG_AIO_THREADS, CFG_AIO_NATIVE, CFG_AIO_IO_URING };

struct cfg_drive {
	char id[CFG_ID_MAX];
	char file[CFG_PATH_MAX];
	bool readonly;
	bool direct;          /* O_DIRECT: direct=on, or cache=none|directsync */
	uint64_t iops_total;  /* throttling.iops-total, 0 = unlimited */
	char format[16];      /* "raw" only */
	enum cfg_cache cache;
	bool flush;           /* honour guest flushes (off for cache=unsafe) */
	enum cfg_aio aio;
};

enum cfg_netdev_type { CFG_NETDEV_TAP, CFG_NETDEV_LOOP };
struct cfg_netdev {
	enum cfg_netdev_type type;
	char id[CFG_ID_MAX];
	char ifname[16];      /* IFNAMSIZ */
	int fd;               /* fd=N, or the first of fds= (-1: open ifname) */
	int fds[CFG_NET_MAX_QUEUES]; /* fds=A:B:...: one tap queue per pair */
	bool fd_list;         /* given as fds= (not fd=), for messages */
	unsigned queues;      /* queue pairs: queues=N or the fds count (>= 1) */
	bool vhost;           /* vhost=on, or a vhostfd given (QEMU's rule) */
	int vhostfd;          /* vhostfd=N, or the first of vhostfds= (-1: none) */
	int vhostfds[CFG_NET_MAX_QUEUES];
	unsigned nvhostfds;
};

enum cfg_chardev_type {
	CFG_CHR_STDIO, CFG_CHR_FILE, CFG_CHR_SOCKET, CFG_CHR_PTY, CFG_CHR_NULL
};
struct cfg_chardev {
	enum cfg_chardev_type type;
	char id[CFG_ID_MAX];
	char path[CFG_PATH_MAX];
	bool server, wait;    /* socket: listen; wait for a client before boot */
	unsigned reconnect;   /* socket client: retry every N s (0: never) */
	bool signal;          /* stdio: ^C raises SIGINT (default on) */
};

enum cfg_device_type {
	CFG_DEV_VIRTIO_BLK,
	CFG_DEV_VIRTIO_NET,
	CFG_DEV_VIRTIO_SERIAL,   /* the virtio-serial controller */
	CFG_DEV_VIRTCONSOLE,     /* a console port on a virtio-serial */
	CFG_DEV_VIRTIO_RNG,
	CFG_DEV_VIRTIO_BALLOON,
	CFG_DEV_NVDIMM,
	CFG_DEV_ISA_DEBUG_EXIT,
	CFG_DEV_PCI_BRIDGE,
	CFG_DEV_VIRTIO_SCSI,     /* the virtio-scsi host bus adapter */
	CFG_DEV_SCSI_HD,         /* a disk LUN on a virtio-scsi */
	CFG_DEV_SCSI_CD,         /* a read-only CD-ROM LUN on a virtio-scsi */
	CFG_DEV_VHOST_USER_BLK,  /* vhost-user-blk-{pci,device} (issue 16) */
	CFG_DEV_VHOST_USER_FS,   /* vhost-user-fs-{pci,device} */
	CFG_DEV_VIRTIO_VSOCK,    /* virtio-vsock-{pci,device}: userspace, uds= */
	CFG_DEV_VHOST_VSOCK,     /* vhost-vsock-{pci,device}: /dev/vhost-vsock */
	CFG_DEV_PC_DIMM,         /* pc-dimm: a hot-pluggable DIMM (issue 17) */
	CFG_DEV_VIRTIO_MEM,      /* virtio-mem-{pci,device} (virtio 1.2 §5.15) */
};
enum cfg_transport { CFG_TRANSPORT_NONE, CFG_TRANSPORT_MMIO, CFG_TRANSPORT_PCI };

#define CFG_ROOT_BUS "pcie.0"

struct cfg_device {
	enum cfg_device_type type;
	enum cfg_transport transport;  /* -device ...-device vs ...-pci */
	char id[CFG_ID_MAX];      /* "" when not given */
	/* PCI placement: bus=pcie.0,addr=SLOT[.FUNC],multifunction=on.  bus is
	 * "pcie.0" or the id of a pci-bridge; for virtconsole the id of its
	 * virtio-serial controller, or "" for the first one. */
	char bus[CFG_ID_MAX];
	/* The same, resolved by config_parse: index in devices[] of the
	 * pci-bridge or virtio-serial this sits on; -1 for pcie.0 / none. */
	int parent;
	int pci_slot;        /* -1: auto (layout_build assigns) */
	int pci_func;
	bool multifunction;
	/* References (validated to name something defined): */
	char drive[CFG_ID_MAX], netdev[CFG_ID_MAX], chardev[CFG_ID_MAX];
	char memdev[CFG_ID_MAX], rng[CFG_ID_MAX], iothread[CFG_ID_MAX];
	/* Per-type properties: */
	bool disable_modern;      /* virtio-*-pci: transitional (legacy) only */
	bool disable_legacy;      /* virtio-*-pci: modern only */
	char serial[21];          /* virtio-blk serial= (VIRTIO_BLK_ID_BYTES) */
	bool share_rw;            /* virtio-blk share-rw=: others may write too */
	uint8_t mac[6];           /* virtio-net mac= */
	bool has_mac;
	bool mq;                  /* virtio-net mq=: VIRTIO_NET_F_MQ + control queue */
	unsigned vectors;         /* virtio-*-pci vectors=: MSI-X table size */
	bool has_vectors;         /* vectors= given (else queues + 1) */
	uint64_t rng_max_bytes;   /* virtio-rng max-bytes= (0: unlimited) */
	uint64_t rng_period_ms;   /* virtio-rng period= (default 1000) */
	bool deflate_on_oom;      /* virtio-balloon */
	bool unarmed;             /* nvdimm unarmed= */
	uint64_t label_size;      /* nvdimm label-size= */
	uint16_t iobase, iosize;  /* isa-debug-exit (defaults 0x501, 2) */
	unsigned chassis_nr;      /* pci-bridge chassis_nr= */
	bool shpc;                /* pci-bridge shpc= */
	unsigned num_queues;      /* virtio-blk num-queues= / virtio-scsi
				   * num_queues= (request queues; 0: 1) */
	int scsi_id;              /* scsi-hd/cd scsi-id= (-1 until config_parse
				   * picks the first free target) */
	unsigned scsi_lun;        /* scsi-hd/cd lun= */
	bool free_page_reporting; /* virtio-balloon free-page-reporting= */
	/* vhost-user-blk num-queues= / vhost-user-fs num-request-queues=
	 * (0: 1), vhost-user-fs queue-size= (0: 128) and tag= (at most 36
	 * bytes, virtio 1.2 §5.11.4). */
	unsigned vhu_queues;
	unsigned vhu_queue_size;
	char vhu_tag[37];
	/* pcie-root-port: a CFG_DEV_PCI_BRIDGE with a PCIe hot-plug slot;
	 * chassis= lands in chassis_nr, slot= in port_slot. */
	bool pcie_port;
	unsigned port_slot;
	/* virtio-vsock / vhost-vsock guest-cid= (3..0xfffffffe), the
	 * userspace device's host socket uds=, vhost-vsock vhostfd= (-1:
	 * open /dev/vhost-vsock). */
	uint64_t guest_cid;
	char vsock_uds[CFG_PATH_MAX];
	int vhostfd;
	/* virtconsole / virtserialport (a CFG_DEV_VIRTCONSOLE that is no
	 * console): name= of the port, "" when not given. */
	bool serialport;
	char port_name[64];
	/* Memory devices in the -m maxmem= window (core/config_mem.c):
	 * pc-dimm addr= and slot= (0 / -1 until placed: config_mem_place
	 * fixes them so a DIMM keeps its place while others come and go),
	 * node=; virtio-mem block-size= and requested-size=. */
	uint64_t mem_addr;
	int mem_slot;
	unsigned mem_node;
	uint64_t vmem_block_size;
	uint64_t vmem_requested;
	bool hotplugged;          /* added by QMP device_add */
};

enum cfg_serial_type { CFG_SERIAL_NONE, CFG_SERIAL_STDIO, CFG_SERIAL_CHARDEV,
		       CFG_SERIAL_FILE, CFG_SERIAL_PTY, CFG_SERIAL_SOCKET,
		       CFG_SERIAL_NULL };
struct cfg_serial {
	enum cfg_serial_type type;
	char arg[CFG_PATH_MAX];   /* chardev id, file path or socket path */
	bool server, wait;        /* CFG_SERIAL_SOCKET */
	unsigned reconnect;       /* CFG_SERIAL_SOCKET client: retry every N s */
};

enum cfg_rtc_base { CFG_RTC_UTC, CFG_RTC_LOCALTIME, CFG_RTC_DATE };
enum cfg_rtc_clock { CFG_RTC_CLOCK_HOST, CFG_RTC_CLOCK_RT, CFG_RTC_CLOCK_VM };
struct cfg_rtc {
	enum cfg_rtc_base base;
	int64_t date_epoch;   /* CFG_RTC_DATE: seconds since the epoch (UTC) */
	enum cfg_rtc_clock clock;
	bool driftfix_slew;   /* re-deliver missed RTC periodic interrupts */
};

enum cfg_lost_tick { CFG_LOST_TICK_DELAY, CFG_LOST_TICK_DISCARD };

/* -numa node,memdev=ID: RAM is backed by that memory backend (QEMU: the
 * nodes' memdev sizes must add up to -m). */
struct cfg_numa {
	unsigned nodeid;
	char memdev[CFG_ID_MAX];
};

struct machine_config {
	char name[CFG_NAME_MAX];
	uint8_t uuid[16];
	bool has_uuid;
	struct cfg_machine machine;
	char cpu_model[64];   /* "host" */
	bool cpu_pmu;         /* -cpu host,pmu=on|off (default on) */
	struct cfg_smp smp;
	struct cfg_mem mem;
	char kernel[CFG_PATH_MAX], initrd[CFG_PATH_MAX], append[4096];
	struct cfg_object objects[CFG_MAX_ITEMS];
	unsigned nobjects;
	struct cfg_drive drives[CFG_MAX_ITEMS];
	unsigned ndrives;
	struct cfg_netdev netdevs[CFG_MAX_ITEMS];
	unsigned nnetdevs;
	struct cfg_chardev chardevs[CFG_MAX_ITEMS];
	unsigned nchardevs;
	struct cfg_device devices[CFG_MAX_ITEMS];
	unsigned ndevices;
	struct cfg_serial serial[CFG_MAX_SERIAL];
	unsigned nserial;     /* 0: no 16550 (the default, and -serial none) */
	struct cfg_numa numa[CFG_MAX_NUMA];
	unsigned nnuma;
	struct cfg_rtc rtc;
	enum cfg_lost_tick lost_tick_policy;
	char qmp_path[CFG_PATH_MAX];   /* -qmp unix:PATH,server,nowait */
	/* -qmp unix:fd=N,server=on,wait=off: serve QMP on the inherited
	 * listening socket N (Kata binds it and passes it down). */
	bool qmp_has_fd;
	int qmp_fd;
	char pidfile[CFG_PATH_MAX];
	char logfile[CFG_PATH_MAX];    /* -D */
	char dump_dtb[CFG_PATH_MAX];   /* -dump-dtb FILE */
	char trace_record[CFG_PATH_MAX];
	bool daemonize, no_reboot, disable_seccomp;
	bool start_paused;    /* -S: vCPUs stay stopped until QMP cont */
	bool realtime_mlock;  /* always false: only -realtime mlock=off */
	bool nodefaults, no_user_config, nographic;  /* accepted, stored */
	uint64_t seed;        /* accel=sim: PRNG seed (-seed N, default 0) */
	/* -incoming defer|exec:CMD|file:PATH (config_incoming.c): start from
	 * a saved state instead of booting the kernel. */
	enum cfg_incoming { CFG_INCOMING_NONE, CFG_INCOMING_DEFER,
			    CFG_INCOMING_EXEC, CFG_INCOMING_FILE } incoming;
	char incoming_arg[CFG_INCOMING_MAX];  /* the command or the path */
};

/* Parse argv (argv[0] is the program).  On error writes one line to `err`
 * ("vmm: -smp: '300' is out of range (1-254)", no newline) and returns -1;
 * on --help / --version returns 1 after printing to stdout; 0 on success.
 * cfg is reset to config_defaults() first. */
int config_parse(struct machine_config *cfg, int argc, char **argv,
		 char *err, size_t errlen);
void config_defaults(struct machine_config *cfg);
/* stream is a FILE * (void * keeps <stdio.h> out of this header). */
void config_usage(void *stream);

/* Make every relative path in cfg (-kernel, -drive file=, mem-path=,
 * -serial file:, -pidfile, -D, sockets, ...) absolute against cwd, so it
 * keeps its meaning after -daemonize's chdir("/") (config_paths.c).  0,
 * or -1 with a one-line message when a result would not fit. */
int config_absolute_paths(struct machine_config *cfg, const char *cwd,
			  char *err, size_t errlen);

/* Run-time changes (config_hotplug.c).  config_add_device parses one
 * -device option string and appends it, with every check config_parse
 * makes; on failure (-1, message in err) cfg is unchanged.
 * config_remove_device drops the device with that id and renumbers the
 * parent indexes; it returns the index it had, or -1. */
int config_add_device(struct machine_config *cfg, const char *arg, char *err,
		      size_t errlen);
int config_remove_device(struct machine_config *cfg, const char *id);
/* netdev_add / netdev_del (config_netdev.c): the same for one -netdev
 * option string; remove returns the index it had, or -1. */
int config_add_netdev(struct machine_config *cfg, const char *arg, char *err,
		      size_t errlen);
int config_remove_netdev(struct machine_config *cfg, const char *id);
/* QMP object-add / object-del of memory backends (config_mem.c):
 * config_add_object parses one -object option string with every check
 * (cfg unchanged on failure); config_remove_object drops it (0, or -1
 * when there is none).  Whether it is in use is the caller's check:
 * config_object_in_use says whether a device or NUMA node names it. */
int config_add_object(struct machine_config *cfg, const char *arg, char *err,
		      size_t errlen);
int config_remove_object(struct machine_config *cfg, const char *id);
bool config_object_in_use(const struct machine_config *cfg, const char *id);
/* Memory devices (pc-dimm, virtio-mem): the hot-plug window's size
 * (maxmem - size; 0 without maxmem), whether it exists, and the room
 * devices use in it. */
#define CFG_DIMM_ALIGN (2ull << 20)   /* QEMU: backend sizes in 2 MiB */
#define CFG_VMEM_MIN_BLOCK (2ull << 20)
bool config_is_memdev(const struct cfg_device *d);
uint64_t config_memdev_size(const struct machine_config *cfg,
			    const struct cfg_device *d);

/* Lookups by id (NULL if none). */
const struct cfg_object *config_object(const struct machine_config *cfg, const char *id);
const struct cfg_drive *config_drive(const struct machine_config *cfg, const char *id);
const struct cfg_netdev *config_netdev(const struct machine_config *cfg, const char *id);
const struct cfg_chardev *config_chardev(const struct machine_config *cfg, const char *id);
const struct cfg_device *config_device(const struct machine_config *cfg, const char *id);

/* Parse "512M", "1G", "4096" (bytes, or MiB for -m when no suffix, as
 * QEMU does: pass default_unit).  One suffix letter B K M G T P E
 * (binary, either case), decimal fractions with a suffix ("1.5G").  0, -EINVAL
 * (not a size) or -ERANGE (does not fit in 64 bits). */
int config_parse_size(const char *s, uint64_t default_unit, uint64_t *out);

/* Names for messages and the device tree ("virtio-blk-pci", "microvm"). */
const char *config_device_name(const struct cfg_device *dev);
const char *config_machine_name(enum cfg_machine_type type);

/* The run-time record of hot-plugged vCPU slots (cfg_smp.plugged). */
static inline bool config_cpu_plugged(const struct machine_config *cfg, unsigned i)
{
	return i < CFG_MAX_CPUS && (cfg->smp.plugged[i / 64] >> (i % 64) & 1);
}
static inline void config_cpu_set_plugged(struct machine_config *cfg, unsigned i, bool on)
{
	if (i >= CFG_MAX_CPUS)
		return;
	if (on)
		cfg->smp.plugged[i / 64] |= 1ull << (i % 64);
	else
		cfg->smp.plugged[i / 64] &= ~(1ull << (i % 64));
}

#endif
