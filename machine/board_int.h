/* Shared between machine/board*.c: the board object and its teardown
 * list.  Everything the board creates is pushed with its free function
 * and released in reverse order, so a failure half-way leaves nothing. */
#ifndef VMM_MACHINE_BOARD_INT_H
#define VMM_MACHINE_BOARD_INT_H

#include <stddef.h>
#include "core/bus.h"
#include "core/iothread.h"
#include "devices/acpi/acpi.h"
#include "devices/acpi/cpu_hotplug.h"
#include "machine/board.h"
#include "devices/nvdimm.h"
#include "devices/acpi/mem_hotplug.h"

#define BOARD_MAX_ITEMS 512

struct pci_host;
struct chr;
struct virtio_pci;
struct pcie_port;
struct shpc;
struct vscsi;
struct vcon;
struct pci_dev;

/* A readonly=on NVDIMM's range on the MMIO bus (board_nvdimm.c). */
struct board_nvro {
	const struct gm *gm;
	struct log *log;
	const char *id;
	uint64_t base;
	uint64_t dropped;        /* guest writes dropped */
};

struct board_item {
	void (*free)(void *obj);
	void *obj;
	/* Snapshot (board_snapshot.c): what kind of state obj has (0: none)
	 * and the name the device-set fingerprint lists it under. */
	int snap_kind;
	char snap_name[48];
};

struct board {
	struct machine *m;
	const struct machine_config *cfg;
	const struct layout *l;
	const struct board_host *host;
	struct board_item items[BOARD_MAX_ITEMS];
	unsigned nitems;
	unsigned ndevices;        /* guest-visible devices */
	struct pci_host *pci;
	struct balloon *balloon;
	struct acpi_pm pm;
	/* CPU hot-plug register block (board_cpuhp.c), when -smp maxcpus
	 * leaves room for more CPUs. */
	struct acpi_cpuhp cpuhp;
	bool has_cpuhp;
	bool nvdimms_mapped;
	/* NVDIMM flush hints and read-only ranges (board_nvdimm.c). */
	struct nvdimm_flusher flusher;
	bool flush_hints;
	struct board_nvro nvro[LAYOUT_MAX_NVDIMM];
	unsigned nnvro;
	/* Why the last board_save_state failed (board_save_error). */
	char snap_err[256];
	unsigned nshared;        /* share=on, writable */
	/* I/O threads (-object iothread), and virtio-pci functions whose
	 * notify ioeventfds wait for BAR assignment. */
	struct { const char *id; struct iothread *it; } iothreads[IOTHREAD_MAX];
	unsigned niothreads;
	/* Queue doorbells routed to ioeventfds an I/O thread watches
	 * (board_iothread.c): drained before a save, kicked after a load. */
	struct board_kick *kicks;
	struct { const struct cfg_device *d; struct virtio_pci *t; unsigned nq;
		 struct vdev *vd; } pci_iothread[CFG_MAX_ITEMS];
	unsigned npci_iothread;
	/* pcie-root-port functions, by -device index (NULL: not a port). */
	struct pcie_port *pcie_ports[CFG_MAX_ITEMS];
	/* pci-bridge shpc=on: its hot-plug controller, by -device index. */
	struct shpc *shpcs[CFG_MAX_ITEMS];
	/* virtio-scsi adapters, by -device index (their LUs hot-plug). */
	struct vscsi *vscsis[CFG_MAX_ITEMS];
	/* virtio-serial controllers, by -device index (ports hot-plug). */
	struct vcon *vcons[CFG_MAX_ITEMS];
	/* Hot-plug (board_hotplug.c): building a device device_add asked
	 * for (it is reported to the guest), and the board items each
	 * device behind a root port or in an SHPC slot owns, so its removal
	 * frees just those. */
	bool hotplugging;
	struct board_hot {
		char id[CFG_ID_MAX];
		struct pcie_port *port;
		struct shpc *shpc;     /* or this SHPC's slot */
		unsigned slot;
		struct vscsi *scsi;    /* or this LU (target, lun) */
		unsigned target, lun;
		struct vcon *vcon;     /* or virtio-serial port `slot` */
		unsigned first, end;   /* items[first, end) */
	} hot[CFG_MAX_ITEMS];
	unsigned nhot;
	/* Host char backends opened so far, by -chardev id, so a chardev
	 * named twice is opened once.  The id is a copy: chardev-remove
	 * moves the description's entries. */
	struct { char id[CFG_ID_MAX]; struct chr *chr; } chrs[CFG_MAX_ITEMS];
	unsigned nchrs;
	/* ACPI memory hot-plug (board_mem.c): present with -m slots=. */
	struct memhp memhp;
	bool has_memhp;
	/* virtio-mem devices by -device id (board_mem.c). */
	struct { const char *id; struct vmem *m; } vmems[CFG_MAX_ITEMS];
	unsigned nvmems;
	/* The failure being reported is the configuration's (board_build
	 * returns -2): set where it is found. */
	bool config_error;
};

/* Remember obj for teardown.  -1 with err when the list is full (then
 * obj is freed here). */
int board_push(struct board *b, void (*free_fn)(void *), void *obj,
	       char *err, size_t errlen);
/* Mark the item just pushed as saved in snapshots (board_snapshot.c):
 * kind is a BOARD_SNAP_* value, name what the fingerprint calls it. */
void board_snap_mark(struct board *b, int kind, const char *name,
		     const char *id);
/* Claim a bus range, with the error naming the device. */
int board_register(struct board *b, struct bus *bus, uint64_t base,
		   uint64_t size, bus_access_fn fn, void *dev, const char *name,
		   char *err, size_t errlen);

/* Backends that may outlive the board (board_backends.c).  The backend
 * of `kind` (TRACE_BK_*) a previous board opened under key, or NULL
 * (also always NULL without board_host.keep). */
#define BOARD_KEY_MAX (CFG_ID_MAX + 16)   /* "chardev:" + an option id */
void *board_kept(struct board *b, int kind, const char *key);
/* Take ownership of a backend just opened under key: kept in
 * board_host.keep when there is one, else closed with the board.  0, or
 * -1 with err (obj closed). */
int board_own(struct board *b, int kind, const char *key,
	      void (*close_fn)(void *), void *obj, char *err, size_t errlen);

/* The host backend for -serial number i (board_chr.c): the override
 * from board_host, or opened from the config; *chr NULL means output
 * discarded.  0, or -1 with err. */
int board_serial_chr(struct board *b, unsigned i, struct chr **chr,
		     char *err, size_t errlen);
/* The backend of -chardev id (opened once). */
int board_chardev(struct board *b, const char *id, struct chr **chr,
		  char *err, size_t errlen);

/* I/O threads (board_iothread.c): create them from the config; route a
 * device's queue notifications (nq queues, queue q's doorbell at base +
 * q * stride, a width-byte write of q) to its iothread; start; stop. */
/* One -device's virtio function (board_virtio.c), at start-up or hot. */
int board_virtio_device(struct board *b, unsigned i, char *err, size_t errlen);
/* Device index's transport for its model vd: a virtio-mmio window or a
 * virtio-pci function where the layout put it (board_virtio_transport.c).
 * 0, or -1 with err. */
int board_virtio_transport(struct board *b, int index, struct vdev *vd,
			   char *err, size_t errlen);
/* The scsi-hd/scsi-cd device i as an LU of its virtio-scsi (at build,
 * or hot: the driver is told).  0, or -1 with err. */
int board_scsi_lun(struct board *b, unsigned i, bool hot, char *err, size_t errlen);
/* The virtconsole/virtserialport device i as port `port` of its
 * virtio-serial (hot: the first free one, the driver told).  The port
 * number, or -1 with err.  Its chardev stays the board's. */
int board_serial_port(struct board *b, unsigned i, unsigned port, bool hot, char *err,
		      size_t errlen);
/* Remember which items [first, nitems) device i owns when it sits
 * behind a root port, and the ports' removal hook (board_hotplug.c). */
void board_hot_note(struct board *b, unsigned i, unsigned first);
void board_port_removed(void *opaque, struct pcie_port *p, struct pci_dev *dev);
void board_shpc_removed(void *opaque, struct shpc *s, unsigned slot,
			struct pci_dev *dev);

int board_iothreads_create(struct board *b, char *err, size_t errlen);
/* pd: the virtio-pci function whose notify area base is in BAR 4, so a
 * kick after a load goes only where the guest still has it; NULL for
 * virtio-mmio (a fixed window). */
struct pci_dev;
int board_iothread_attach(struct board *b, const struct cfg_device *d,
			  const struct pci_dev *pd, uint64_t base,
			  unsigned stride, unsigned width, unsigned nq,
			  char *err, size_t errlen);
/* Run every queue notification the guest made that no I/O thread has
 * taken yet (board_save_state, lock held).  Returns how many ran. */
unsigned board_kicks_drain(struct board *b);
int board_iothreads_start(struct board *b, char *err, size_t errlen);
void board_iothreads_stop(struct board *b);

/* Device families (board_platform.c, board_virtio_transport.c). */
int board_platform(struct board *b, char *err, size_t errlen);
/* The CPU hot-plug block and q35's GPE0 (board_cpuhp.c). */
int board_cpuhp(struct board *b, char *err, size_t errlen);
/* Pass a backend through board_host.backend (record/replay); without a
 * hook *out = opened.  0, or -1 with err. */
int board_backend(struct board *b, int kind, const char *id, void *opened,
		  void **out, char *err, size_t errlen);
int board_virtio(struct board *b, char *err, size_t errlen);
/* vhost-user-blk/-fs (board_vhost.c): connect to the -chardev socket's
 * backend, handshake, and build the device model.  NULL with err
 * (b->config_error set for what the configuration got wrong). */
struct vdev *board_vhost_user(struct board *b, const struct cfg_device *d,
			      char *err, size_t errlen);
/* Under KVM, a vhost-user device's queue q doorbell (base + q * stride, a
 * width-byte write of q) signals its backend's kick eventfd inside KVM
 * (ioeventfd), no exit.  No-op for other devices or without the hook.
 * 0, or -1 with err. */
int board_vhost_kicks(struct board *b, struct vdev *vd, uint64_t base,
		      unsigned stride, unsigned width, char *err, size_t errlen);
bool board_is_vhost(const struct cfg_device *d);
/* virtio-vsock / vhost-vsock (board_vsock.c). */
struct vdev *board_vsock(struct board *b, const struct cfg_device *d,
			 char *err, size_t errlen);
/* NVDIMMs (board_nvdimm.c): map them, claim flush hints and read-only
 * ranges; at the end, write shared mappings back. */
int board_nvdimm(struct board *b, char *err, size_t errlen);
/* Memory hot-plug (board_mem.c): the register block, q35's GPE0 block,
 * and the cold-plugged pc-dimms mapped into gm. */
int board_mem(struct board *b, char *err, size_t errlen);
/* virtio-mem -device i: its region mapped into gm, the model. */
struct vdev *board_vmem_device(struct board *b, unsigned i, char *err, size_t errlen);
/* The board's live vhost-user devices (board_vhost.c), at most max. */
struct vhud;
unsigned board_vhost_devices(struct board *b, struct vhud **out, unsigned max);
/* Hot-plugged RAM at gpa for them (board_vhost_mem.c; board.h has the
 * check): just mapped / about to be unmapped. */
void board_vhost_ram_added(struct board *b, uint64_t gpa);
void board_vhost_ram_removing(struct board *b, uint64_t gpa);
void board_nvdimm_shutdown(struct board *b);

#endif
