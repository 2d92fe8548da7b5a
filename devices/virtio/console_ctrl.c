/* virtio-serial control queues (virtio 1.2 §5.3.6.2): messages to the
 * driver (DEVICE_ADD, CONSOLE_PORT, PORT_NAME, PORT_OPEN) through a
 * bounded queue, and the driver's DEVICE_READY / PORT_READY / PORT_OPEN.
 * The port data path is in console.c. */
#include "devices/virtio/console_priv.h"

#include <endian.h>
#include <string.h>
#include "core/gm.h"

/* ---- control messages to the driver (§5.3.6.2) ---- */

void vcon_ctrl_flush(struct vcon *c)
{
	struct vq *vq = &c->vd.vqs[VCON_CTRL_RXQ];
	bool pushed = false;
	if (!vcon_running(c) || !vcon_multiport(c))
		return;
	while (c->ctrl_count) {
		int r = vcon_pop_next(c, vq, c->e, &pushed);
		if (r < 0)
			return;
		if (r == 0)
			break;
		pushed = true;
		const struct ctrl_msg *m = &c->ctrl[c->ctrl_head];
		struct virtio_console_control cc = {
			.id = htole32(m->id),
			.event = htole16(m->event),
			.value = htole16(m->value),
		};
		const char *name = c->port[m->id].name;
		size_t nlen = m->event == VIRTIO_CONSOLE_PORT_NAME ? strlen(name) : 0;
		uint32_t written = 0;
		/* The name follows the header, not NUL-terminated: the
		 * driver takes the buffer length as its length. */
		if (c->e->in_len < sizeof(cc) + nlen ||
		    vq_elem_write(c->vd.gm, c->e, 0, &cc, sizeof(cc)) ||
		    vq_elem_write(c->vd.gm, c->e, sizeof(cc), name, nlen)) {
			log_rl(c->log, &c->rl, LOG_WARN,
			       "virtio-console: control buffer unusable, event %u lost",
			       m->event);
			c->st.ctrl_dropped++;
		} else {
			written = (uint32_t)(sizeof(cc) + nlen);
		}
		vq_push(vq, c->e, written);
		c->ctrl_head = (c->ctrl_head + 1) % VCON_CTRL_QLEN;
		c->ctrl_count--;
	}
	if (pushed)
		vdev_notify_queue(&c->vd, VCON_CTRL_RXQ);
}

void vcon_ctrl_send(struct vcon *c, unsigned id, uint16_t event, uint16_t value)
{
	if (c->ctrl_count == VCON_CTRL_QLEN) {
		/* Only a driver that floods us with requests gets here. */
		log_rl(c->log, &c->rl, LOG_WARN,
		       "virtio-console: control queue full, event %u dropped", event);
		c->st.ctrl_dropped++;
		return;
	}
	struct ctrl_msg *m = &c->ctrl[(c->ctrl_head + c->ctrl_count) % VCON_CTRL_QLEN];
	m->id = id;
	m->event = event;
	m->value = value;
	c->ctrl_count++;
	vcon_ctrl_flush(c);
}

/* ---- control messages from the driver ---- */

static void port_announce(struct vcon *c, struct vcon_port *p)
{
	/* What QEMU's virtio-serial does on PORT_READY: console first, so
	 * the driver hooks up hvc before the port opens. */
	if (p->console)
		vcon_ctrl_send(c, p->id, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	if (p->name[0])
		vcon_ctrl_send(c, p->id, VIRTIO_CONSOLE_PORT_NAME, 1);
	if (!p->chr || p->chr->connected)
		vcon_ctrl_send(c, p->id, VIRTIO_CONSOLE_PORT_OPEN, 1);
}

static void ctrl_handle(struct vcon *c, const struct virtio_console_control *cc)
{
	uint32_t id = le32toh(cc->id);
	uint16_t event = le16toh(cc->event), value = le16toh(cc->value);
	struct vcon_port *p = id < c->max_ports && c->port[id].present
				      ? &c->port[id] : NULL;

	c->st.ctrl_in++;
	switch (event) {
	case VIRTIO_CONSOLE_DEVICE_READY:
		if (!value) {
			log_rl(c->log, &c->rl, LOG_WARN,
			       "virtio-console: driver failed to initialise");
			return;
		}
		c->driver_ready = true;
		for (unsigned i = 0; i < c->max_ports; i++)
			if (c->port[i].present)
				vcon_ctrl_send(c, i, VIRTIO_CONSOLE_DEVICE_ADD, 0);
		return;
	case VIRTIO_CONSOLE_PORT_READY:
		if (!p)
			break;
		if (!value) {
			log_rl(c->log, &c->rl, LOG_WARN,
			       "virtio-console: driver failed to add port %u", id);
			return;
		}
		p->guest_ready = true;
		port_announce(c, p);
		return;
	case VIRTIO_CONSOLE_PORT_OPEN:
		if (!p)
			break;
		p->guest_open = value != 0;
		if (p->guest_open) {
			vcon_rx_flush(p);
			vcon_tx_process(p);
		}
		return;
	default:
		break;
	}
	c->st.ctrl_bad++;
	log_rl(c->log, &c->rl, LOG_WARN,
	       "virtio-console: bad control message id %u event %u", id, event);
}

void vcon_ctrl_tx_process(struct vcon *c)
{
	struct vq *vq = &c->vd.vqs[VCON_CTRL_TXQ];
	bool pushed = false;
	struct vdev_budget b;
	if (!vcon_running(c) || !vcon_multiport(c))
		return;
	vdev_budget_init(&b);
	for (;;) {
		/* A driver refilling the queue as fast as we read it would
		 * otherwise keep us here (virtio.h, bounded work). */
		if (vdev_budget_spent(&c->vd, &b)) {
			vdev_resume_later(&c->vd, VCON_CTRL_TXQ);
			break;
		}
		vdev_budget_charge(&b, 0);
		int r = vcon_pop_next(c, vq, c->e, &pushed);
		if (r < 0)
			return;
		if (r == 0)
			break;
		pushed = true;
		struct virtio_console_control cc;
		if (c->e->out_len < sizeof(cc) ||
		    vq_elem_read(c->vd.gm, c->e, 0, &cc, sizeof(cc))) {
			c->st.ctrl_bad++;
			log_rl(c->log, &c->rl, LOG_WARN,
			       "virtio-console: short control message (%u bytes)",
			       c->e->out_len);
			vq_push(vq, c->e, 0);
			continue;
		}
		/* Push first: handling may reuse the scratch element. */
		vq_push(vq, c->e, 0);
		ctrl_handle(c, &cc);
	}
	if (pushed)
		vdev_notify_queue(&c->vd, VCON_CTRL_TXQ);
}
