/* The machine description: what the command line (QEMU/StratoVirt dialect,
 * see DESIGN.md) says to build.  config_parse() fills it and validates every
 * option and every cross-reference before anything is created; the KVM and
 * simulator backends and devices/board.c read it. */
#ifndef VMM_CORE_CONFIG_H
#define VMM_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_ID_MAX 64
#define CFG_MAX_CPUS 254
#define CFG_MAX_ITEMS 64    /* of each kind: drives, devices, objects... */
#define CFG_MAX_IOTHREADS 8

enum cfg_machine_type { CFG_MACHINE_MICROVM, CFG_MACHINE_Q35 };
enum cfg_accel { CFG_ACCEL_KVM, CFG_ACCEL_SIM };

struct cfg_machine {
	enum cfg_machine_type type;
	enum cfg_accel accel;
	bool nvdimm;          /* nvdimm=on */
	bool pmem_legacy;     /* pmem-legacy=on: e820 type 12 instead of NFIT */
	bool kernel_irqchip;  /* kernel_irqchip=on (default on) */
};

struct cfg_smp {
	unsigned cpus, maxcpus, sockets, cores, threads;
};

struct cfg_mem {
	uint64_t size;       /* -m SIZE */
	unsigned slots;      /* -m ...,slots=N */
	uint64_t maxmem;     /* -m ...,maxmem=M (0: none) */
	char mem_path[256];  /* -mem-path DIR (hugetlbfs) */
};

enum cfg_object_type {
	CFG_OBJ_MEMORY_BACKEND_FILE,
	CFG_OBJ_MEMORY_BACKEND_RAM,
	CFG_OBJ_RNG_RANDOM,
	CFG_OBJ_IOTHREAD,
};

struct cfg_object {
	enum cfg_object_type type;
	char id[CFG_ID_MAX];
	/* memory-backend-*: */
	char mem_path[256];
	uint64_t size;
	bool share, readonly;
	/* rng-random: */
	char filename[256];
};

struct cfg_drive {
	char id[CFG_ID_MAX];
	char file[256];
	bool readonly;
	bool direct;
	uint64_t iops_total;  /* throttling.iops-total, 0 = unlimited */
	char format[16];      /* "raw" only */
};

enum cfg_netdev_type { CFG_NETDEV_TAP, CFG_NETDEV_LOOP };
struct cfg_netdev {
	enum cfg_netdev_type type;
	char id[CFG_ID_MAX];
	char ifname[16];
	int fd;               /* fds=N (-1: open ifname) */
};

enum cfg_chardev_type {
	CFG_CHR_STDIO, CFG_CHR_FILE, CFG_CHR_SOCKET, CFG_CHR_PTY, CFG_CHR_NULL
};
struct cfg_chardev {
	enum cfg_chardev_type type;
	char id[CFG_ID_MAX];
	char path[256];
	bool server, wait;
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
};
enum cfg_transport { CFG_TRANSPORT_NONE, CFG_TRANSPORT_MMIO, CFG_TRANSPORT_PCI };

struct cfg_device {
	enum cfg_device_type type;
	enum cfg_transport transport;  /* -device ...-device vs ...-pci */
	char id[CFG_ID_MAX];
	/* PCI placement: bus=pcie.0,addr=SLOT[.FUNC],multifunction=on */
	char bus[CFG_ID_MAX];
	int pci_slot;        /* -1: auto */
	int pci_func;
	bool multifunction;
	/* References (validated to name something defined): */
	char drive[CFG_ID_MAX], netdev[CFG_ID_MAX], chardev[CFG_ID_MAX];
	char memdev[CFG_ID_MAX], rng[CFG_ID_MAX], iothread[CFG_ID_MAX];
	/* Per-type properties: */
	char serial[32];          /* virtio-blk serial= */
	uint8_t mac[6];           /* virtio-net mac= */
	bool has_mac;
	uint64_t rng_max_bytes;   /* virtio-rng max-bytes= */
	uint64_t rng_period_ms;   /* virtio-rng period= */
	bool deflate_on_oom;      /* virtio-balloon */
	bool unarmed;             /* nvdimm unarmed= */
	uint64_t label_size;      /* nvdimm label-size= */
	uint16_t iobase, iosize;  /* isa-debug-exit */
};

enum cfg_serial_type { CFG_SERIAL_NONE, CFG_SERIAL_STDIO, CFG_SERIAL_CHARDEV,
		       CFG_SERIAL_FILE, CFG_SERIAL_PTY, CFG_SERIAL_SOCKET };
struct cfg_serial {
	enum cfg_serial_type type;
	char arg[256];        /* chardev id, file path or socket path */
};

enum cfg_rtc_base { CFG_RTC_UTC, CFG_RTC_LOCALTIME, CFG_RTC_DATE };
struct cfg_rtc {
	enum cfg_rtc_base base;
	int64_t date_epoch;   /* CFG_RTC_DATE: seconds since the epoch (UTC) */
};

enum cfg_lost_tick { CFG_LOST_TICK_DELAY, CFG_LOST_TICK_DISCARD };

struct machine_config {
	char name[CFG_ID_MAX];
	uint8_t uuid[16];
	bool has_uuid;
	struct cfg_machine machine;
	char cpu_model[64];
	struct cfg_smp smp;
	struct cfg_mem mem;
	char kernel[256], initrd[256], append[4096];
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
	struct cfg_serial serial[4];
	unsigned nserial;
	struct cfg_rtc rtc;
	enum cfg_lost_tick lost_tick_policy;
	char qmp_path[256];   /* -qmp unix:PATH,server,nowait */
	char pidfile[256];
	char logfile[256];    /* -D */
	char dump_dtb[256];   /* -dump-dtb FILE */
	char trace_record[256];
	bool daemonize, no_reboot, disable_seccomp;
	uint64_t seed;        /* accel=sim: PRNG seed (-seed N) */
};

/* Parse argv (argv[0] is the program).  On error writes one line to `err`
 * ("vmm: -smp: '300' out of range (1-254)") and returns -1; on --help /
 * --version returns 1 after printing to stdout; 0 on success. */
int config_parse(struct machine_config *cfg, int argc, char **argv,
		 char *err, size_t errlen);
void config_defaults(struct machine_config *cfg);
void config_usage(void *stream);

/* Lookups by id (NULL if none). */
const struct cfg_object *config_object(const struct machine_config *cfg, const char *id);
const struct cfg_drive *config_drive(const struct machine_config *cfg, const char *id);
const struct cfg_netdev *config_netdev(const struct machine_config *cfg, const char *id);
const struct cfg_chardev *config_chardev(const struct machine_config *cfg, const char *id);

/* Parse "512M", "1G", "4096" (bytes, or MiB for -m when no suffix, as
 * QEMU does: pass default_unit).  0 or -EINVAL / -ERANGE. */
int config_parse_size(const char *s, uint64_t default_unit, uint64_t *out);

#endif
