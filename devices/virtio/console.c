/* virtio-serial device model with multiport (virtio 1.2 §5.3): the port
 * data path (receiveq/transmitq per port), the vdev ops and the public
 * API.  The control queues are in console_ctrl.c.  See console.h for the
 * flow-control contract. */
#include "devices/virtio/console_priv.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/chardev.h"
#include "core/gm.h"
#include "core/log.h"
#include "devices/virtio/virtio.h"

/* The next chain the driver made available on vq, into e: 1 when there
 * is one, 0 when there is none, -1 when the ring is broken and needs a
 * reset (stop touching it).  A bad chain the queue layer already returned
 * as used is skipped, and *pushed set so the caller notifies. */
int vcon_pop_next(struct vcon *c, struct vq *vq, struct vq_elem *e, bool *pushed)
{
	for (;;) {
		int r = vdev_pop(&c->vd, vq, e, pushed,
				 "virtio-console: broken ring");
		if (r >= 0)
			return r > 0;
		if (r == -EPROTO)
			return -1;
	}
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

void vcon_rx_flush(struct vcon_port *p)
{
	struct vcon *c = p->c;
	struct vq *vq = &c->vd.vqs[vcon_rxq_of(p->id)];
	bool pushed = false;
	/* Data for a port the guest has not opened waits (Linux would
	 * discard it). */
	if (!vcon_running(c) || !p->guest_open)
		return;
	while (p->rx_len) {
		int r = vcon_pop_next(c, vq, c->e, &pushed);
		if (r < 0)
			return;
		if (r == 0)
			break;
		pushed = true;
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
		vdev_notify_queue(&c->vd, vcon_rxq_of(p->id));
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
	vcon_rx_flush(p);
}

/* ---- guest -> host ---- */

void vcon_tx_process(struct vcon_port *p)
{
	struct vcon *c = p->c;
	struct vq *vq = &c->vd.vqs[vcon_txq_of(p->id)];
	bool pushed = false;
	struct vdev_budget b;
	/* A backend may call `writable` from inside chr_write. */
	if (!vcon_running(c) || p->in_tx)
		return;
	p->in_tx = true;
	vdev_budget_init(&b);
	for (;;) {
		/* A chain may be 4 GiB: the budget cuts inside it too, and
		 * tx_off says where to go on. */
		if (vdev_budget_spent(&c->vd, &b)) {
			vdev_resume_later(&c->vd, vcon_txq_of(p->id));
			break;
		}
		if (!p->tx_busy) {
			if (vcon_pop_next(c, vq, p->txe, &pushed) <= 0)
				break;
			p->tx_busy = true;
			p->tx_off = 0;
		}
		bool stalled = false;
		while (p->tx_off < p->txe->out_len &&
		       !vdev_budget_spent(&c->vd, &b)) {
			uint32_t n = p->txe->out_len - p->tx_off;
			if (n > VCON_CHUNK)
				n = VCON_CHUNK;
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
			b.bytes += took;
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
		if (p->tx_off < p->txe->out_len)
			continue; /* budget spent mid-chain: resume later */
		vq_push(vq, p->txe, 0);
		p->tx_busy = false;
		pushed = true;
		vdev_budget_charge(&b, 0);
	}
	p->in_tx = false;
	if (pushed)
		vdev_notify_queue(&c->vd, vcon_txq_of(p->id));
}

static void port_writable(void *opaque)
{
	vcon_tx_process(opaque);
}

static void port_connected(void *opaque, int up)
{
	struct vcon_port *p = opaque;
	if (vcon_running(p->c) && vcon_multiport(p->c) && p->guest_ready)
		vcon_ctrl_send(p->c, p->id, VIRTIO_CONSOLE_PORT_OPEN, up ? 1 : 0);
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
	struct vcon *c = vcon_of(vd);
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
	struct vcon *c = vcon_of(vd);
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
	struct vcon *c = vcon_of(vd);
	/* Without MULTIPORT there is only port 0 and it is always open. */
	if (!vcon_multiport(c) && c->port[0].present)
		c->port[0].guest_open = true;
	for (unsigned i = 0; i < c->max_ports; i++) {
		if (!c->port[i].present)
			continue;
		vcon_rx_flush(&c->port[i]);
		vcon_tx_process(&c->port[i]);
	}
	return 0;
}

static void con_notify(struct vdev *vd, unsigned q)
{
	struct vcon *c = vcon_of(vd);
	if (q == VCON_CTRL_TXQ) {
		vcon_ctrl_tx_process(c);
		return;
	}
	if (q == VCON_CTRL_RXQ) {
		vcon_ctrl_flush(c);
		return;
	}
	unsigned id = q < 2 ? 0 : (q - 2) / 2;
	if (id >= c->max_ports || !c->port[id].present)
		return;
	if (q == vcon_rxq_of(id))
		vcon_rx_flush(&c->port[id]);
	else
		vcon_tx_process(&c->port[id]);
}

static void con_reset(struct vdev *vd)
{
	struct vcon *c = vcon_of(vd);
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
	vd->clk = cfg->clk;
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
	if (vcon_running(c) && vcon_multiport(c) && c->driver_ready)
		vcon_ctrl_send(c, id, VIRTIO_CONSOLE_DEVICE_ADD, 0);
	return 0;
}

int vcon_remove_port(struct vcon *c, unsigned id)
{
	if (id >= c->max_ports || !c->port[id].present)
		return -ENOENT;
	struct vcon_port *p = &c->port[id];
	/* A guest chain half written out goes back to the driver: the port
	 * it was for is gone. */
	if (p->tx_busy && vcon_running(c)) {
		vq_push(&c->vd.vqs[vcon_txq_of(id)], p->txe, 0);
		vdev_notify_queue(&c->vd, vcon_txq_of(id));
	}
	if (p->chr) {
		struct chr_frontend none = { 0 };
		chr_attach(p->chr, &none);
	}
	struct vq_elem *txe = p->txe;   /* kept for a later port here */
	struct vcon *owner = p->c;
	memset(p, 0, sizeof(*p));
	p->c = owner;
	p->id = id;
	p->txe = txe;
	/* §5.3.6.2: a driver past DEVICE_READY unregisters the port. */
	if (vcon_running(c) && vcon_multiport(c) && c->driver_ready)
		vcon_ctrl_send(c, id, VIRTIO_CONSOLE_DEVICE_REMOVE, 0);
	return 0;
}

void vcon_free(struct vcon *c)
{
	if (!c)
		return;
	vdev_resume_cancel(&c->vd);
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
