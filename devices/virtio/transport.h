/* What virtio-mmio and virtio-pci share: the device status state machine
 * (virtio 1.2 §2.1, §3.1.1), feature negotiation (§2.2), queue
 * configuration and enabling, device config access and reset.  Each
 * transport embeds a struct vtransport and maps its registers onto these
 * calls, so both enforce exactly the same rules. */
#ifndef VMM_VIRTIO_TRANSPORT_H
#define VMM_VIRTIO_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include "core/log.h"
#include "virtio.h"

#define VTRANSPORT_NO_VECTOR 0xffffu /* VIRTIO_MSI_NO_VECTOR (§4.1.4.3) */

struct vtransport {
	struct vdev *vd;
	const struct gm *gm;
	struct log *log;
	const char *name;
	uint64_t offered;            /* device | transport features */
	/* Feature words the driver last wrote with bits never offered: such a
	 * driver must not get FEATURES_OK (§2.2.1). */
	uint32_t bad_feature_words;
	/* The driver speaks the legacy interface (virtio 1.2 §4.1.4.10,
	 * virtio-pci's I/O BAR): no FEATURES_OK step, so features take
	 * effect as written (until DRIVER_OK) and queues may be enabled once
	 * DRIVER is set; VERSION_1 is not required.  Set by the transport
	 * from the interface the driver last wrote. */
	bool legacy;
	struct vq_config q[VDEV_MAX_QUEUES]; /* as the driver programs them */
	struct log_rl rl;
};

/* Bind vd to a transport: vd->tops/transport point at the caller, every
 * queue is reset to its defaults (size = queue_max, not ready). */
void vtransport_init(struct vtransport *t, struct vdev *vd, const struct gm *gm,
		     struct log *log, const char *name,
		     const struct vdev_transport_ops *tops, void *transport);

/* 32-bit feature word sel of what the device offers (0 beyond 63). */
uint32_t vtransport_device_features(const struct vtransport *t, uint32_t sel);
/* Driver writes feature word sel.  Bits never offered are dropped and
 * remembered; ignored once FEATURES_OK is set. */
void vtransport_driver_features(struct vtransport *t, uint32_t sel, uint32_t val);
uint32_t vtransport_driver_features_word(const struct vtransport *t, uint32_t sel);

/* Which interface the driver uses (see struct vtransport.legacy). */
void vtransport_set_legacy(struct vtransport *t, bool legacy);

/* Driver writes the status register.  Returns true when it was a reset
 * (0 written): the caller then clears its own registers and interrupts. */
bool vtransport_set_status(struct vtransport *t, uint8_t val);
/* Full device reset (§2.1.2, §4.2.3.1.1): device ops->reset, every queue
 * reset, status/features cleared. */
void vtransport_reset(struct vtransport *t);

/* May the driver change queue q's configuration now?  Only for an
 * existing queue, before DRIVER_OK and while it is not ready (§4.2.2.2,
 * §4.1.4.3.2).  Logs (rate-limited) when not. */
bool vtransport_queue_writable(struct vtransport *t, unsigned q, const char *what);
uint16_t vtransport_queue_max(const struct vtransport *t, unsigned q);
/* Enable (validated by vq_enable: size, alignment, rings in RAM, needs
 * FEATURES_OK and not DRIVER_OK) or disable queue q.  Returns 0 or
 * -EINVAL when the enable was refused (ready stays 0). */
int vtransport_queue_set_ready(struct vtransport *t, unsigned q, bool ready);

/* The driver kicked queue q: forwarded to the device only when it is
 * live (DRIVER_OK, no DEVICE_NEEDS_RESET, queue ready). */
void vtransport_kick(struct vtransport *t, unsigned q);

/* Device config space (§2.5): accesses outside [0, config_size) or of a
 * width other than 1/2/4/8 read 0 / are ignored (rate-limited log). */
void vtransport_config_read(struct vtransport *t, uint64_t off, void *data,
			    unsigned len);
void vtransport_config_write(struct vtransport *t, uint64_t off,
			     const void *data, unsigned len);

/* Mark DEVICE_NEEDS_RESET (§2.1.2) and, after DRIVER_OK, send a config
 * change notification through the transport. */
void vtransport_needs_reset(struct vtransport *t, const char *why);

#endif
