/* virtio-serial device model with multiport (virtio 1.2 §5.3).  See
 * console.h for the flow-control contract. */
#include "devices/virtio/console.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/chardev.h"
#include "core/gm.h"
#include "core/log.h"
#include "devices/virtio/virtio.h"

#define CHUNK 4096u

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
	uint8_t buf[CHUNK];
	struct vcon_stats st;
};

static struct vcon *to_con(struct vdev *vd)
{
	return vd->priv;
}

static bool running(const struct vcon *c)
{
	return (c->vd.status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(c->vd.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static bool multiport(const struct vcon *c)
{
	return vdev_has(&c->vd, VIRTIO_CONSOLE_F_MULTIPORT);
}

static unsigned rxq_of(unsigned id)
{
	return id == 0 ? 0 : 2 + 2 * id;
}

static unsigned txq_of(unsigned id)
{
	return id == 0 ? 1 : 3 + 2 * id;
}

/* Bad pops: the queue layer returned the chain; a broken ring needs a
 * reset.  Returns false when processing must stop. */
static bool pop_failed(struct vcon *c, struct vq *vq, int r)
{
	if (r == -EPROTO || vq->broken) {
		vdev_needs_reset(&c->vd, "virtio-console: broken ring");
		return false;
	}
	return true;
}

/* ---- control messages to the driver (§5.3.6.2) ---- */

static void ctrl_flush(struct vcon *c)
{
	struct vq *vq = &c->vd.vqs[VCON_CTRL_RXQ];
	bool pushed = false;
	if (!running(c) || !multiport(c))
		return;
	while (c->ctrl_count) {
		int r = vq_pop(vq, c->e);
		if (r == 0)
			break;
		pushed = true;
		if (r < 0) {
			if (!pop_failed(c, vq, r))
				return;
			continue;
		}
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

static void ctrl_send(struct vcon *c, unsigned id, uint16_t event, uint16_t value)
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
	ctrl_flush(c);
}

/* ---- host -> guest ---- */

static void port_accept(struct vcon_port *p)
{
	/* chr_accept_input may deliver synchronously into port_receive,
	 * which flushes again: do not recurse into ourselves. */
	if (!p->chr || p->in_accept || p->rx_len == VCON_RXBUF)
		return;
	p->in_accept = true;
	chr_accept_input(p->chr);
	p->in_accept = false;
}

static void rx_flush(struct vcon_port *p)
{
	struct vcon *c = p->c;
	struct vq *vq = &c->vd.vqs[rxq_of(p->id)];
	bool pushed = false;
	/* Data for a port the guest has not opened waits (Linux would
	 * discard it). */
	if (!running(c) || !p->guest_open)
		return;
	while (p->rx_len) {
		int r = vq_pop(vq, c->e);
		if (r == 0)
			break;
		pushed = true;
		if (r < 0) {
			if (!pop_failed(c, vq, r))
				return;
			continue;
		}
		uint32_t n = c->e->in_len < p->rx_len ? c->e->in_len : p->rx_len;
		uint32_t first = VCON_RXBUF - p->rx_head;
		if (first > n)
			first = n;
		int err = vq_elem_write(c->vd.gm, c->e, 0, p->rxbuf + p->rx_head, first);
		if (!err && n > first)
			err = vq_elem_write(c->vd.gm, c->e, first, p->rxbuf, n - first);
		if (err) {
			/* Keep the bytes for the next buffer. */
			log_rl(c->log, &c->rl, LOG_WARN,
			       "virtio-console: port %u rx buffer not writable", p->id);
			vq_push(vq, c->e, 0);
			continue;
		}
		vq_push(vq, c->e, n);
		p->rx_head = (p->rx_head + n) % VCON_RXBUF;
		p->rx_len -= n;
		c->st.rx_bytes += n;
	}
	if (pushed)
		vdev_notify_queue(&c->vd, rxq_of(p->id));
	port_accept(p);
}

static size_t port_can_receive(void *opaque)
{
	struct vcon_port *p = opaque;
	return VCON_RXBUF - p->rx_len;
}

static void port_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct vcon_port *p = opaque;
	if (len > VCON_RXBUF - p->rx_len) {
		/* The backend broke the can_receive contract: never lose
		 * silently, but never overflow either. */
		log_rl(p->c->log, &p->c->rl, LOG_ERROR,
		       "virtio-console: port %u backend overran its window", p->id);
		len = VCON_RXBUF - p->rx_len;
	}
	for (size_t i = 0; i < len;) {
		unsigned tail = (p->rx_head + p->rx_len) % VCON_RXBUF;
		size_t n = VCON_RXBUF - tail;
		if (n > len - i)
			n = len - i;
		memcpy(p->rxbuf + tail, buf + i, n);
		p->rx_len += (unsigned)n;
		i += n;
	}
	rx_flush(p);
}

/* ---- guest -> host ---- */

static void tx_process(struct vcon_port *p)
{
	struct vcon *c = p->c;
	struct vq *vq = &c->vd.vqs[txq_of(p->id)];
	bool pushed = false;
	/* A backend may call `writable` from inside chr_write. */
	if (!running(c) || p->in_tx)
		return;
	p->in_tx = true;
	for (;;) {
		if (!p->tx_busy) {
			int r = vq_pop(vq, p->txe);
			if (r == 0)
				break;
			if (r < 0) {
				pushed = true;
				if (!pop_failed(c, vq, r))
					break;
				continue;
			}
			p->tx_busy = true;
			p->tx_off = 0;
		}
		bool stalled = false;
		while (p->tx_off < p->txe->out_len) {
			uint32_t n = p->txe->out_len - p->tx_off;
			if (n > CHUNK)
				n = CHUNK;
			if (vq_elem_read(c->vd.gm, p->txe, p->tx_off, c->buf, n)) {
				log_rl(c->log, &c->rl, LOG_WARN,
				       "virtio-console: port %u tx buffer unreadable",
				       p->id);
				p->tx_off = p->txe->out_len;
				break;
			}
			size_t took = n;
			if (p->chr)
				took = chr_write(p->chr, c->buf, n);
			else
				c->st.discarded += n;
			p->tx_off += (uint32_t)took;
			c->st.tx_bytes += took;
			if (took < n) {
				/* Backend full: keep the chain, pop nothing more
				 * until it says it is writable again. */
				stalled = true;
				c->st.tx_stalls++;
				break;
			}
		}
		if (stalled)
			break;
		vq_push(vq, p->txe, 0);
		p->tx_busy = false;
		pushed = true;
	}
	p->in_tx = false;
	if (pushed)
		vdev_notify_queue(&c->vd, txq_of(p->id));
}

static void port_writable(void *opaque)
{
	tx_process(opaque);
}

static void port_connected(void *opaque, int up)
{
	struct vcon_port *p = opaque;
	if (running(p->c) && multiport(p->c) && p->guest_ready)
		ctrl_send(p->c, p->id, VIRTIO_CONSOLE_PORT_OPEN, up ? 1 : 0);
}

/* ---- control messages from the driver ---- */

static void port_announce(struct vcon *c, struct vcon_port *p)
{
	/* What QEMU's virtio-serial does on PORT_READY: console first, so
	 * the driver hooks up hvc before the port opens. */
	if (p->console)
		ctrl_send(c, p->id, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	if (p->name[0])
		ctrl_send(c, p->id, VIRTIO_CONSOLE_PORT_NAME, 1);
	if (!p->chr || p->chr->connected)
		ctrl_send(c, p->id, VIRTIO_CONSOLE_PORT_OPEN, 1);
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
				ctrl_send(c, i, VIRTIO_CONSOLE_DEVICE_ADD, 0);
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
			rx_flush(p);
			tx_process(p);
		}
		return;
	default:
		break;
	}
	c->st.ctrl_bad++;
	log_rl(c->log, &c->rl, LOG_WARN,
	       "virtio-console: bad control message id %u event %u", id, event);
}

static void ctrl_tx_process(struct vcon *c)
{
	struct vq *vq = &c->vd.vqs[VCON_CTRL_TXQ];
	bool pushed = false;
	if (!running(c) || !multiport(c))
		return;
	for (;;) {
		int r = vq_pop(vq, c->e);
		if (r == 0)
			break;
		pushed = true;
		if (r < 0) {
			if (!pop_failed(c, vq, r))
				return;
			continue;
		}
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

/* ---- vdev_ops ---- */

static uint64_t con_features(struct vdev *vd)
{
	(void)vd;
	return VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT) |
	       VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE);
}

static void con_config_read(struct vdev *vd, uint32_t off, void *data,
			    unsigned len)
{
	struct vcon *c = to_con(vd);
	struct virtio_console_config cfg = {
		.cols = htole16(c->cols),
		.rows = htole16(c->rows),
		.max_nr_ports = htole32(c->max_ports),
		.emerg_wr = 0,
	};
	memcpy(data, (const uint8_t *)&cfg + off, len);
}

static void con_config_write(struct vdev *vd, uint32_t off, const void *data,
			     unsigned len)
{
	struct vcon *c = to_con(vd);
	/* §5.3.4: a write to emerg_wr outputs one character on port 0,
	 * even before the driver is up. */
	if (off == offsetof(struct virtio_console_config, emerg_wr) && len >= 1 &&
	    vdev_has(vd, VIRTIO_CONSOLE_F_EMERG_WRITE)) {
		struct vcon_port *p = &c->port[0];
		if (p->present && p->chr)
			chr_write(p->chr, data, 1);
		return;
	}
	log_rl(c->log, &c->rl, LOG_DEBUG,
	       "virtio-console: config write at %u len %u ignored", off, len);
}

static int con_activate(struct vdev *vd)
{
	struct vcon *c = to_con(vd);
	/* Without MULTIPORT there is only port 0 and it is always open. */
	if (!multiport(c) && c->port[0].present)
		c->port[0].guest_open = true;
	for (unsigned i = 0; i < c->max_ports; i++) {
		if (!c->port[i].present)
			continue;
		rx_flush(&c->port[i]);
		tx_process(&c->port[i]);
	}
	return 0;
}

static void con_notify(struct vdev *vd, unsigned q)
{
	struct vcon *c = to_con(vd);
	if (q == VCON_CTRL_TXQ) {
		ctrl_tx_process(c);
		return;
	}
	if (q == VCON_CTRL_RXQ) {
		ctrl_flush(c);
		return;
	}
	unsigned id = q < 2 ? 0 : (q - 2) / 2;
	if (id >= c->max_ports || !c->port[id].present)
		return;
	if (q == rxq_of(id))
		rx_flush(&c->port[id]);
	else
		tx_process(&c->port[id]);
}

static void con_reset(struct vdev *vd)
{
	struct vcon *c = to_con(vd);
	/* Chains in flight belong to the old rings; host->guest bytes not
	 * yet delivered stay for the next driver. */
	for (unsigned i = 0; i < c->max_ports; i++) {
		c->port[i].guest_ready = false;
		c->port[i].guest_open = false;
		c->port[i].tx_busy = false;
	}
	c->ctrl_head = c->ctrl_count = 0;
	c->driver_ready = false;
}

static const struct vdev_ops con_ops = {
	.features = con_features,
	.config_read = con_config_read,
	.config_write = con_config_write,
	.activate = con_activate,
	.notify = con_notify,
	.reset = con_reset,
};

struct vcon *vcon_new(const struct vcon_config *cfg)
{
	unsigned ports = cfg->max_ports ? cfg->max_ports : 1;
	if (ports > VCON_MAX_PORTS) {
		errno = EINVAL;
		return NULL;
	}
	struct vcon *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->e = malloc(sizeof(*c->e));
	if (!c->e) {
		free(c);
		return NULL;
	}
	c->log = cfg->log;
	c->max_ports = ports;
	c->cols = cfg->cols;
	c->rows = cfg->rows;
	for (unsigned i = 0; i < VCON_MAX_PORTS; i++) {
		c->port[i].c = c;
		c->port[i].id = i;
	}
	struct vdev *vd = &c->vd;
	vd->ops = &con_ops;
	vd->priv = c;
	vd->device_id = VIRTIO_ID_CONSOLE;
	vd->config_size = sizeof(struct virtio_console_config);
	vd->nqueues = 2 + 2 * ports;
	for (unsigned q = 0; q < vd->nqueues; q++)
		vd->queue_max[q] = cfg->queue_size ? cfg->queue_size : VCON_QUEUE_SIZE;
	vd->gm = cfg->gm;
	vd->log = cfg->log;
	return c;
}

int vcon_add_port(struct vcon *c, unsigned id, struct chr *chr, bool console,
		  const char *name)
{
	if (id >= c->max_ports)
		return -EINVAL;
	struct vcon_port *p = &c->port[id];
	if (p->present)
		return -EEXIST;
	if (!p->txe) {
		p->txe = malloc(sizeof(*p->txe));
		if (!p->txe)
			return -ENOMEM;
	}
	p->present = true;
	p->console = console;
	p->chr = chr;
	if (name) {
		size_t n = strnlen(name, sizeof(p->name) - 1);
		memcpy(p->name, name, n);
		p->name[n] = 0;
	}
	if (chr) {
		struct chr_frontend fe = {
			.can_receive = port_can_receive,
			.receive = port_receive,
			.writable = port_writable,
			.connected = port_connected,
			.opaque = p,
		};
		chr_attach(chr, &fe);
	}
	/* Hot-add: a driver past DEVICE_READY learns of it now; one before
	 * it hears of every port in the answer to DEVICE_READY. */
	if (running(c) && multiport(c) && c->driver_ready)
		ctrl_send(c, id, VIRTIO_CONSOLE_DEVICE_ADD, 0);
	return 0;
}

void vcon_free(struct vcon *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < VCON_MAX_PORTS; i++)
		free(c->port[i].txe);
	free(c->e);
	free(c);
}

struct vdev *vcon_vdev(struct vcon *c)
{
	return &c->vd;
}

bool vcon_port_guest_open(const struct vcon *c, unsigned id)
{
	return id < c->max_ports && c->port[id].guest_open;
}

unsigned vcon_port_pending(const struct vcon *c, unsigned id)
{
	return id < c->max_ports ? c->port[id].rx_len : 0;
}

const struct vcon_stats *vcon_get_stats(const struct vcon *c)
{
	return &c->st;
}
