/* virtio-console's own state in a snapshot (docs/snapshot.md
 * "virtio-console"): the console size, the control messages not yet
 * delivered (§5.3.6.2), and per port whether the guest opened it, the
 * transmit chain being written out to a busy backend and how far, and
 * the host input buffered for the guest.  Ports must be the same set
 * (ids, names, console or not): the command line's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "core/snapshot.h"
#include "console_priv.h"
#include "queue_snap.h"

int vcon_save(struct vdev *vd, struct snap_w *w)
{
	struct vcon *c = vcon_of(vd);
	uint8_t ctrl[VCON_CTRL_QLEN * 8];
	char f[16];
	for (unsigned i = 0; i < c->ctrl_count; i++) {
		const struct ctrl_msg *m = &c->ctrl[(c->ctrl_head + i) % VCON_CTRL_QLEN];
		uint8_t *p = ctrl + 8 * i;
		for (int k = 0; k < 4; k++)
			p[k] = (uint8_t)(m->id >> (8 * k));
		p[4] = (uint8_t)m->event;
		p[5] = (uint8_t)(m->event >> 8);
		p[6] = (uint8_t)m->value;
		p[7] = (uint8_t)(m->value >> 8);
	}
	snap_w_begin(w, "virtio-console", 1);
	snap_w_u16(w, "cols", c->cols);
	snap_w_u16(w, "rows", c->rows);
	snap_w_bool(w, "driver_ready", c->driver_ready);
	snap_w_bytes(w, "ctrl", ctrl, 8u * c->ctrl_count);
	for (unsigned i = 0; i < c->max_ports; i++) {
		const struct vcon_port *p = &c->port[i];
		snprintf(f, sizeof(f), "port%u", i);
		snap_w_begin(w, f, 1);
		snap_w_bool(w, "present", p->present);
		snap_w_bool(w, "console", p->console);
		snap_w_bytes(w, "name", p->name, strnlen(p->name, sizeof(p->name)));
		snap_w_bool(w, "guest_ready", p->guest_ready);
		snap_w_bool(w, "guest_open", p->guest_open);
		vq_elem_save(w, "txe", p->tx_busy ? p->txe : NULL);
		snap_w_u32(w, "tx_off", p->tx_off);
		uint8_t rx[VCON_RXBUF];
		for (unsigned k = 0; k < p->rx_len; k++)
			rx[k] = p->rxbuf[(p->rx_head + k) % VCON_RXBUF];
		snap_w_bytes(w, "rx", rx, p->rx_len);
		snap_w_end(w);
	}
	snap_w_end(w);
	return 0;
}

int vcon_load(struct vdev *vd, struct snap_r *r)
{
	struct vcon *c = vcon_of(vd);
	uint16_t cols = 0, rows = 0;
	bool ready = false;
	const uint8_t *ctrl = NULL, *rx[VCON_MAX_PORTS] = { 0 };
	size_t nctrl = 0, nrx[VCON_MAX_PORTS] = { 0 };
	bool gready[VCON_MAX_PORTS], gopen[VCON_MAX_PORTS], busy[VCON_MAX_PORTS];
	uint32_t off[VCON_MAX_PORTS];
	char f[16];
	snap_r_begin(r, "virtio-console", 1, NULL);
	snap_r_u16(r, "cols", &cols);
	snap_r_u16(r, "rows", &rows);
	snap_r_bool(r, "driver_ready", &ready);
	snap_r_blob(r, "ctrl", &ctrl, &nctrl);
	snap_r_check(r, nctrl % 8 == 0 && nctrl / 8 <= VCON_CTRL_QLEN, "ctrl",
		     "not a whole number of messages, or too many");
	for (unsigned i = 0; i < c->max_ports && !snap_r_failed(r); i++) {
		struct vcon_port *p = &c->port[i];
		bool present = false, console = false;
		const uint8_t *name = NULL;
		size_t nlen = 0;
		snprintf(f, sizeof(f), "port%u", i);
		snap_r_begin(r, f, 1, NULL);
		snap_r_bool(r, "present", &present);
		snap_r_bool(r, "console", &console);
		snap_r_blob(r, "name", &name, &nlen);
		snap_r_check(r, present == p->present && console == p->console &&
			     nlen == strnlen(p->name, sizeof(p->name)) &&
			     (nlen == 0 || !memcmp(name, p->name, nlen)), "present",
			     "another port here (virtconsole/virtserialport, name=)");
		snap_r_bool(r, "guest_ready", &gready[i]);
		snap_r_bool(r, "guest_open", &gopen[i]);
		/* The tx queue of this port is only there with a port. */
		unsigned txq = vcon_txq_of(i);
		busy[i] = false;
		if (txq < vd->nqueues && p->txe) {
			vq_elem_load(r, "txe", &vd->vqs[txq], p->txe, &busy[i]);
		} else {
			/* No transmit queue here: only an empty "txe" fits. */
			bool held = false;
			snap_r_begin(r, "txe", 1, NULL);
			snap_r_bool(r, "present", &held);
			snap_r_check(r, !held, "present",
				     "a transmit chain on a port without a queue");
			snap_r_end(r);
		}
		snap_r_u32(r, "tx_off", &off[i]);
		snap_r_check(r, !busy[i] || off[i] <= p->txe->out_len, "tx_off",
			     "beyond the chain");
		snap_r_blob(r, "rx", &rx[i], &nrx[i]);
		snap_r_check(r, nrx[i] <= VCON_RXBUF, "rx", "more than the buffer");
		snap_r_end(r);
	}
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	c->cols = cols;
	c->rows = rows;
	c->driver_ready = ready;
	c->ctrl_head = 0;
	c->ctrl_count = (unsigned)(nctrl / 8);
	for (unsigned i = 0; i < c->ctrl_count; i++) {
		const uint8_t *p = ctrl + 8 * i;
		c->ctrl[i].id = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
				(uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		c->ctrl[i].event = (uint16_t)(p[4] | p[5] << 8);
		c->ctrl[i].value = (uint16_t)(p[6] | p[7] << 8);
	}
	for (unsigned i = 0; i < c->max_ports; i++) {
		struct vcon_port *p = &c->port[i];
		p->guest_ready = gready[i];
		p->guest_open = gopen[i];
		p->tx_busy = busy[i];
		p->tx_off = busy[i] ? off[i] : 0;
		p->rx_head = 0;
		p->rx_len = (unsigned)nrx[i];
		if (nrx[i])
			memcpy(p->rxbuf, rx[i], nrx[i]);
	}
	return 0;
}
