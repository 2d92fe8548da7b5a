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
};

#define VDEV_MAX_QUEUES 16

struct vdev;

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
};

/* What a transport offers the device: interrupts. */
struct vdev_transport_ops {
	void (*notify_queue)(void *t, unsigned q);  /* used buffers */
	void (*notify_config)(void *t);             /* config changed */
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
	/* Nonzero: only these of VIRTIO_TRANSPORT_FEATURES are offered (a
	 * vhost-user backend serves the rings, so it decides). */
	uint64_t transport_mask;

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

/* Device → driver: interrupt for queue q if vq_should_notify() agrees. */
void vdev_notify_queue(struct vdev *vd, unsigned q);
/* Device config changed: bump generation, config interrupt. */
void vdev_config_changed(struct vdev *vd);
/* The guest broke the device (§2.1.2): set DEVICE_NEEDS_RESET, tell the
 * driver through a config interrupt, stop processing. */
void vdev_needs_reset(struct vdev *vd, const char *why);
/* Offered features = device features | transport features. */
uint64_t vdev_offered_features(struct vdev *vd);

#endif
