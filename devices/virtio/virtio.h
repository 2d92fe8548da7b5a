/* A virtio device apart from its transport (virtio 1.2 §2, §4.1, §4.2).
 *
 * The device model (blk, net, ...) fills in a struct vdev and its ops; a
 * transport (virtio-mmio, virtio-pci) owns the status state machine,
 * feature negotiation, queue configuration and interrupts.  The same device
 * object code therefore works on both transports. */
#ifndef VMM_VIRTIO_VIRTIO_H
#define VMM_VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>
#include "core/clk.h"
#include "core/gm.h"
#include "core/log.h"
#include "queue.h"

struct gm;

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* Reserved feature bits (§6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_F_IN_ORDER 35

#define VIRTIO_BIT(b) (1ull << (b))

/* Device IDs (§5). */
enum {
	VIRTIO_ID_NET = 1,
	VIRTIO_ID_BLOCK = 2,
	VIRTIO_ID_CONSOLE = 3,
	VIRTIO_ID_RNG = 4,
	VIRTIO_ID_BALLOON = 5,
	VIRTIO_ID_SCSI = 8,
};

#define VDEV_MAX_QUEUES 16

struct vdev;
struct snap_w;
struct snap_r;

struct vdev_ops {
	/* Device-specific feature bits offered (the transport adds VERSION_1,
	 * INDIRECT_DESC, EVENT_IDX and RING_PACKED itself). */
	uint64_t (*features)(struct vdev *vd);
	/* Device config space (§2.5).  off/len already bounds-checked against
	 * config_size by the transport. */
	void (*config_read)(struct vdev *vd, uint32_t off, void *data, unsigned len);
	void (*config_write)(struct vdev *vd, uint32_t off, const void *data,
			     unsigned len);
	/* DRIVER_OK with these negotiated features; queues are enabled.
	 * Nonzero refuses (the transport sets DEVICE_NEEDS_RESET). */
	int (*activate)(struct vdev *vd);
	/* The driver kicked queue q. */
	void (*notify)(struct vdev *vd, unsigned q);
	/* Return to the initial state (status 0 written, or transport reset). */
	void (*reset)(struct vdev *vd);
	/* What tops->queue_msi answers may have changed (a vector, its
	 * MSI-X entry or mask, MSI-X enable, bus mastering).  Optional: a
	 * device whose interrupts bypass the transport (vhost-user calls
	 * through irqfd) re-reads it here. */
	void (*vectors_changed)(struct vdev *vd);
	/* Snapshot (docs/snapshot.md): the model's own state as one section,
	 * after the transport saved the common state and the queues.  load
	 * validates against the loaded queues and the model's configuration
	 * and returns 0 or a negative errno (the reader holds the message).
	 * NULL save: the device cannot be saved, and saving the machine
	 * fails naming it.  A save that fails for a reason of its own (a
	 * vhost-user backend that lies) may point save_error at one line
	 * saying why. */
	int (*save)(struct vdev *vd, struct snap_w *w);
	int (*load)(struct vdev *vd, struct snap_r *r);
	/* Optional: the guest is about to run after a save or a load
	 * (board_snap_resume): restart what the save stopped, start what
	 * the load left to start (a vhost-user backend's rings), send what
	 * a restore owes the driver (vsock's TRANSPORT_RESET).  Guest RAM
	 * is loaded by then. */
	void (*resume)(struct vdev *vd);
};

/* What a transport offers the device: interrupts. */
struct vdev_transport_ops {
	void (*notify_queue)(void *t, unsigned q);  /* used buffers */
	void (*notify_config)(void *t);             /* config changed */
	/* The MSI message queue q's interrupt is sent as now, if it is one
	 * that would be delivered (virtio-pci with MSI-X, the vector live):
	 * 0 with addr/data, else -1.  NULL: never (virtio-mmio, INTx). */
	int (*queue_msi)(void *t, unsigned q, uint64_t *addr, uint32_t *data);
};

/* Bounded work per entry point (no guest request may hold the machine
 * lock for unbounded work, whatever it asks for): a device loop over
 * guest-supplied chains and lengths serves at most VDEV_BUDGET_BYTES
 * bytes and VDEV_BUDGET_CHAINS chains per call from a kick, a timer or
 * a backend callback, then asks vdev_resume_later() to go on from the
 * event loop a moment later (VDEV_RESUME_NS on the device's clk: a
 * virtual-time step in the simulator, so deterministic).
 * A guest adding buffers as fast as we consume them (another vCPU writes
 * the ring without taking the machine lock) therefore cannot keep one
 * entry point, and the lock, forever.  Every device model that loops over
 * the ring uses this: blk, net, console, rng, balloon, and scsi when it
 * lands (one struct vdev_budget per loop; vdev_budget_spent() before
 * each pop; vdev_budget_charge() after each chain).  A single chain's own
 * work must be cut too, the device keeping its place in it: rng answers
 * short (§5.4), blk runs one request in slices (blk_req.c), console keeps
 * its offset in the chain.  The figure: `make bench`, lock_hold_*. */
#define VDEV_BUDGET_BYTES (256u * 1024u)
#define VDEV_BUDGET_CHAINS 64u
#define VDEV_RESUME_NS 1000u

struct vdev_budget {
	uint64_t bytes;
	unsigned chains;
};

struct vdev {
	/* Filled by the device model before attaching to a transport: */
	const struct vdev_ops *ops;
	void *priv;             /* the device model's own state */
	uint32_t device_id;
	uint32_t config_size;
	unsigned nqueues;
	uint16_t queue_max[VDEV_MAX_QUEUES];
	const struct gm *gm;
	struct log *log;
	/* Time for vdev_resume_later (NULL: budgets are off, a device
	 * without a clock cannot defer and serves everything at once). */
	const struct clk *clk;

	/* Owned by vdev.c: queues whose work was cut short by the budget. */
	struct clk_timer resume_timer;
	uint32_t resume_mask;
	bool resume_init;

	/* Nonzero: only these of VIRTIO_TRANSPORT_FEATURES are offered (a
	 * vhost-user backend serves the rings, so it decides). */
	uint64_t transport_mask;

	/* Set by a failing vdev_ops.save: one line, the model's storage. */
	const char *save_error;

	/* Owned by the transport: */
	uint8_t status;
	uint64_t driver_features;   /* as written by the driver (masked) */
	uint64_t features;          /* negotiated, valid from FEATURES_OK */
	uint32_t config_generation;
	struct vq vqs[VDEV_MAX_QUEUES];
	const struct vdev_transport_ops *tops;
	void *transport;
	struct log_rl rl;
};

/* Transport-independent feature set a transport offers on top of the
 * device's own. */
#define VIRTIO_TRANSPORT_FEATURES                                           \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | \
	 VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_RING_PACKED))

static inline bool vdev_has(const struct vdev *vd, unsigned bit)
{
	return (vd->features >> bit) & 1;
}

/* Driven by a driver (DRIVER_OK) that has not broken it. */
static inline bool vdev_driver_ok(const struct vdev *vd)
{
	return (vd->status & (VIRTIO_STATUS_DRIVER_OK |
			      VIRTIO_STATUS_DEVICE_NEEDS_RESET)) ==
	       VIRTIO_STATUS_DRIVER_OK;
}

/* May the device work on its rings and buffers now: driver OK, and guest
 * memory reachable through the view its transport gave it (virtio-pci
 * closes it while Bus Master Enable is off; work waits, and the
 * transport kicks the queues again when it opens).  Every device's "may
 * I run" check is this one. */
static inline bool vdev_live(const struct vdev *vd)
{
	return vdev_driver_ok(vd) && gm_enabled(vd->gm);
}

/* Device → driver: interrupt for queue q if vq_should_notify() agrees. */
void vdev_notify_queue(struct vdev *vd, unsigned q);
/* Device config changed: bump generation, config interrupt. */
void vdev_config_changed(struct vdev *vd);
/* The guest broke the device (§2.1.2): set DEVICE_NEEDS_RESET, tell the
 * driver through a config interrupt, stop processing. */
void vdev_needs_reset(struct vdev *vd, const char *why);
/* Budget for one entry point (see VDEV_BUDGET_BYTES). */
static inline void vdev_budget_init(struct vdev_budget *b)
{
	b->bytes = 0;
	b->chains = 0;
}
/* Is this entry point's share used up?  Never with budgets off. */
bool vdev_budget_spent(const struct vdev *vd, const struct vdev_budget *b);
/* One chain served, with `bytes` moved for it. */
static inline void vdev_budget_charge(struct vdev_budget *b, uint64_t bytes)
{
	b->bytes += bytes;
	b->chains++;
}
/* vq_pop() for a device loop, with the handling every device gives a
 * chain the queue layer refused (queue.h: consumed and already returned
 * to the used ring, so the driver is owed a notification: *pushed is set
 * when pushed is not NULL).  A broken ring (-EPROTO, or vq->broken after
 * the pop) makes the device need a reset (§2.1.2) with `why` logged.
 *   1        e filled
 *   0        nothing available
 *   -EAGAIN  a bad chain was returned; pop again
 *   -EPROTO  the device needs a reset now: stop processing */
int vdev_pop(struct vdev *vd, struct vq *vq, struct vq_elem *e, bool *pushed,
	     const char *why);
/* Queue q has work left: notify the device (ops->notify, as a kick would)
 * again from a timer VDEV_RESUME_NS from now, if the device is still live
 * then.  Cancelled by a reset. */
void vdev_resume_later(struct vdev *vd, unsigned q);
/* Drop pending resumes (device reset / free). */
void vdev_resume_cancel(struct vdev *vd);
/* Offered features = device features | transport features. */
uint64_t vdev_offered_features(struct vdev *vd);

#endif
