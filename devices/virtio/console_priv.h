/* Private to devices/virtio/console*.c: the virtio-serial device state
 * (virtio 1.2 §5.3) shared by the port data path (console.c) and the
 * control queues (console_ctrl.c).  Users include console.h only. */
#ifndef VMM_VIRTIO_CONSOLE_PRIV_H
#define VMM_VIRTIO_CONSOLE_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "core/chardev.h"
#include "core/log.h"
#include "devices/virtio/console.h"
#include "devices/virtio/virtio.h"

#define VCON_CHUNK 4096u /* guest -> host bytes handed to chr_write at once */

struct vcon;

struct vcon_port {
	struct vcon *c;
	unsigned id;
	bool present, console;
	char name[VCON_NAME_MAX];
	struct chr *chr;
	bool guest_ready, guest_open;
	/* guest -> host: the chain being written out. */
	struct vq_elem *txe;
	bool tx_busy, in_tx;
	uint32_t tx_off;
	/* host -> guest ring buffer. */
	uint8_t rxbuf[VCON_RXBUF];
	unsigned rx_head, rx_len;
	bool in_accept;
};

struct ctrl_msg {
	uint32_t id;
	uint16_t event, value;
};

struct vcon {
	struct vdev vd;
	struct log *log;
	struct log_rl rl;
	unsigned max_ports;
	uint16_t cols, rows;
	struct vcon_port port[VCON_MAX_PORTS];
	struct ctrl_msg ctrl[VCON_CTRL_QLEN];
	unsigned ctrl_head, ctrl_count;
	bool driver_ready;   /* DEVICE_READY seen: ports are announced */
	struct vq_elem *e;   /* scratch element for control/rx queues */
	uint8_t buf[VCON_CHUNK];
	struct vcon_stats st;
};

static inline struct vcon *vcon_of(struct vdev *vd)
{
	return vd->priv;
}

static inline bool vcon_running(const struct vcon *c)
{
	return vdev_live(&c->vd);
}

static inline bool vcon_multiport(const struct vcon *c)
{
	return vdev_has(&c->vd, VIRTIO_CONSOLE_F_MULTIPORT);
}

static inline unsigned vcon_rxq_of(unsigned id)
{
	return id == 0 ? 0 : 2 + 2 * id;
}

static inline unsigned vcon_txq_of(unsigned id)
{
	return id == 0 ? 1 : 3 + 2 * id;
}

/* console.c: the next chain on vq into e (1), none (0), or the ring is
 * broken and the device needs a reset (-1); *pushed notes chains the
 * queue layer already returned as used. */
int vcon_pop_next(struct vcon *c, struct vq *vq, struct vq_elem *e, bool *pushed);
/* console.c: host -> guest bytes of port p into its receiveq. */
void vcon_rx_flush(struct vcon_port *p);
/* console.c: guest -> host chains of port p's transmitq to its backend. */
void vcon_tx_process(struct vcon_port *p);

/* console_ctrl.c: queue a control message to the driver (§5.3.6.2) and
 * deliver what the control receiveq has room for. */
void vcon_ctrl_send(struct vcon *c, unsigned id, uint16_t event, uint16_t value);
void vcon_ctrl_flush(struct vcon *c);
/* console_ctrl.c: handle the driver's control messages (§5.3.6.2). */
void vcon_ctrl_tx_process(struct vcon *c);

/* console_snap.c: vdev_ops.save/load (docs/snapshot.md). */
struct snap_w;
struct snap_r;
int vcon_save(struct vdev *vd, struct snap_w *w);
int vcon_load(struct vdev *vd, struct snap_r *r);

#endif
