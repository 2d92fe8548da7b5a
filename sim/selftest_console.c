/* Self-test of virtio-console with VIRTIO_CONSOLE_F_MULTIPORT (virtio 1.2
 * §5.3.6) and virtio-balloon (§5.5.6), played as Linux's virtio_console
 * and virtio_balloon drivers play them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/chardev.h"
#include "core/gm.h"
#include "core/trace.h"
#include "machine/board.h"
#include "sim/selftest_int.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/console.h"
#include "devices/virtio/virtio.h"

#define CON_NQ (2u * (VCON_MAX_PORTS + 1u))
#define CON_CTRL_BUFS 4u
#define CON_CTRL_LEN (sizeof(struct virtio_console_control) + VCON_NAME_MAX)

struct st_con {
	struct selftest *t;
	struct vdriver *d;
	struct vdq vq[CON_NQ];
	uint64_t ctrl_buf[CON_CTRL_BUFS];
	uint64_t by_id[8];            /* control receive buffer of each id */
	uint64_t msg;                 /* driver -> device control message */
	/* Events seen per port: bit e for event e (VIRTIO_CONSOLE_*). */
	uint32_t seen[VCON_MAX_PORTS];
	uint32_t opened_by_host;      /* ports with PORT_OPEN value 1 */
	uint32_t named;               /* ports whose PORT_NAME matched */
	const char *name[VCON_MAX_PORTS];  /* virtconsole id= ("" none) */
	bool bad;                     /* a message for a port that is not there */
};

/* Give the device a control receive buffer (queue size 8: ids < 8). */
static void st_con_post(struct st_con *c, uint64_t buf)
{
	struct vdq_buf b = { buf, CON_CTRL_LEN, true };
	int id = vdq_add(&c->vq[VCON_CTRL_RXQ], &b, 1, false);
	if (id >= 0 && id < 8)
		c->by_id[id] = buf;
}

/* Take every control message the device has put in our buffers, give
 * the buffers back, and let the device know there is room again. */
static void st_con_drain(struct st_con *c, unsigned nports)
{
	const struct gm *gm = c->t->sim->m.gm;
	struct vdq *rx = &c->vq[VCON_CTRL_RXQ];
	uint16_t id;
	uint32_t len;
	if (c->d->bus->irq_pending(c->d))
		c->d->bus->isr_ack(c->d);
	while (vdq_get_used(rx, &id, &len) == 1) {
		struct virtio_console_control m;
		uint64_t buf = id < 8 ? c->by_id[id] : 0;
		if (buf && len >= sizeof(m) && gm_read(gm, buf, &m, sizeof(m)) == 0) {
			if (m.id < nports && m.event < 32) {
				c->seen[m.id] |= 1u << m.event;
				if (m.event == VIRTIO_CONSOLE_PORT_OPEN && m.value)
					c->opened_by_host |= 1u << m.id;
				/* The name follows the header, its length is
				 * the buffer's (§5.3.6.2). */
				char nm[VCON_NAME_MAX + 1] = "";
				size_t nl = len - sizeof(m) < VCON_NAME_MAX ?
					    len - sizeof(m) : VCON_NAME_MAX;
				if (m.event == VIRTIO_CONSOLE_PORT_NAME &&
				    gm_read(gm, buf + sizeof(m), nm, nl) == 0 &&
				    nl == strlen(c->name[m.id]) &&
				    !memcmp(nm, c->name[m.id], nl))
					c->named |= 1u << m.id;
			} else {
				c->bad = true;
			}
		}
		if (buf)
			st_con_post(c, buf);
	}
	vdq_publish(rx);
	vdriver_kick(c->d, VCON_CTRL_RXQ, rx);
}

/* One driver -> device control message; the device's answers land in the
 * control receive buffers. */
static bool st_con_send(struct st_con *c, uint32_t id, uint16_t event,
			uint16_t value, unsigned nports)
{
	struct virtio_console_control m = { .id = id, .event = event, .value = value };
	gm_write(c->t->sim->m.gm, c->msg, &m, sizeof(m));
	struct vdq_buf b = { c->msg, sizeof(m), false };
	uint32_t len;
	int r = st_vq_run(c->t, c->d, VCON_CTRL_TXQ, &c->vq[VCON_CTRL_TXQ], &b, 1, &len);
	st_con_drain(c, nports);
	return r == 1;
}

/* hvc writes a line on the port's transmit queue; it must reach the
 * port's chardev (the in-memory stand-in) byte for byte.  Then input the
 * chardev receives must land in a buffer posted on the receive queue. */
static bool st_con_write(struct st_con *c, unsigned port, const char *chardev,
			 char *what, size_t wlen)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "vmm self-test: virtio-console port %u\n",
			 port);
	uint64_t buf = vdriver_alloc(c->d, (uint64_t)n, 16);
	gm_write(c->t->sim->m.gm, buf, line, (size_t)n);
	struct vdq_buf b = { buf, (uint32_t)n, false };
	unsigned q = port == 0 ? 1 : 3 + 2 * port;
	uint32_t len;
	int r = buf ? st_vq_run(c->t, c->d, q, &c->vq[q], &b, 1, &len) : -1;
	struct st_backend *bk = chardev[0] ?
		st_backend_find(c->t, TRACE_BK_CHR, chardev) : NULL;
	char got[64];
	size_t k = bk ? chr_mem_take_output(bk->obj, (uint8_t *)got, sizeof(got)) : 0;
	bool ok = r == 1 && (!bk || (k == (size_t)n && !memcmp(got, line, k)));
	size_t used = strlen(what);
	snprintf(what + used, wlen - used, "; port %u: %d bytes %s", port, n,
		 !bk ? "written (no chardev: discarded)" : ok ?
		 "reached the chardev" : r != 1 ? "NOT completed" : "LOST");
	if (!bk)
		return ok;
	/* Host -> guest: what the chardev receives lands in a buffer the
	 * driver posted on the port's receive queue. */
	static const char in[] = "hello guest\n";
	q = port == 0 ? 0 : 2 + 2 * port;
	uint64_t rb = vdriver_alloc(c->d, 64, 16);
	struct vdq_buf rbuf = { rb, 64, true };
	int head = rb ? vdq_add(&c->vq[q], &rbuf, 1, false) : -1;
	vdq_publish(&c->vq[q]);
	vdriver_kick(c->d, q, &c->vq[q]);
	chr_mem_push_input(bk->obj, (const uint8_t *)in, sizeof(in) - 1);
	uint16_t id = 0;
	len = 0;
	int rr = head >= 0 ? st_vq_wait(c->t, c->d, &c->vq[q], &id, &len) : -1;
	bool rx = rr == 1 && id == (uint16_t)head && len == sizeof(in) - 1 &&
		  gm_read(c->t->sim->m.gm, rb, got, len) == 0 &&
		  !memcmp(got, in, len);
	used = strlen(what);
	snprintf(what + used, wlen - used, ", %zu bytes back %s", sizeof(in) - 1,
		 rx ? "received" : "NOT RECEIVED");
	return ok && rx;
}

void st_console(struct selftest *t, unsigned i, struct vdriver *d,
		const char *where)
{
	const char *chardev[VCON_MAX_PORTS], *name[VCON_MAX_PORTS] = { 0 };
	unsigned nports = 0;
	for (unsigned k = 0; k < t->cfg->ndevices && nports < VCON_MAX_PORTS; k++) {
		const struct cfg_device *p = &t->cfg->devices[k];
		if (p->type == CFG_DEV_VIRTCONSOLE && p->parent == (int)i) {
			name[nports] = p->id;
			chardev[nports++] = p->chardev;
		}
	}
	struct st_con *c = calloc(1, sizeof(*c));
	if (c)
		memcpy(c->name, name, sizeof(name));
	int r = c ? vdriver_negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				      VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT)) : -1;
	uint32_t max = r == 0 ? st_cfg32(d, offsetof(struct virtio_console_config,
						    max_nr_ports)) : 0;
	if (r == 0 && (!(d->features & VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT)) ||
		       max < nports || max > VCON_MAX_PORTS))
		r = -1;
	for (unsigned q = 0; r == 0 && q < 2 * (max + 1); q++)
		r = vdriver_setup_queue(d, q, &c->vq[q], 8);
	if (c) {
		c->t = t;
		c->d = d;
		c->msg = vdriver_alloc(d, sizeof(struct virtio_console_control), 16);
		for (unsigned k = 0; k < CON_CTRL_BUFS; k++)
			c->ctrl_buf[k] = vdriver_alloc(d, CON_CTRL_LEN, 16);
	}
	if (r < 0 || !c->ctrl_buf[CON_CTRL_BUFS - 1]) {
		st_report(t, false, "virtio-console over %s: set-up failed (%d)",
			  where, r);
		free(c);
		return;
	}
	vdriver_driver_ok(d);
	for (unsigned k = 0; k < CON_CTRL_BUFS; k++)
		st_con_post(c, c->ctrl_buf[k]);
	st_con_drain(c, nports);
	/* DEVICE_READY -> PORT_ADD per port; PORT_READY -> CONSOLE_PORT (and
	 * PORT_OPEN from the host side); then the guest opens each port. */
	bool sent = st_con_send(c, 0, VIRTIO_CONSOLE_DEVICE_READY, 1, nports);
	for (unsigned p = 0; p < nports; p++)
		sent = sent && st_con_send(c, p, VIRTIO_CONSOLE_PORT_READY, 1, nports);
	for (unsigned p = 0; p < nports; p++)
		sent = sent && st_con_send(c, p, VIRTIO_CONSOLE_PORT_OPEN, 1, nports);
	unsigned added = 0, consoles = 0, open = 0, names = 0, named = 0;
	for (unsigned p = 0; p < nports; p++) {
		added += !!(c->seen[p] & (1u << VIRTIO_CONSOLE_DEVICE_ADD));
		consoles += !!(c->seen[p] & (1u << VIRTIO_CONSOLE_CONSOLE_PORT));
		open += !!(c->opened_by_host & (1u << p));
		names += c->name[p][0] != '\0';
		named += !!(c->named & (1u << p));
	}
	char what[384] = "";
	bool ok = sent && !c->bad && added == nports && consoles == nports &&
		  open == nports && named == names;
	for (unsigned p = 0; p < nports; p++)
		ok = st_con_write(c, p, chardev[p], what, sizeof(what)) && ok;
	st_report(t, ok, "virtio-console over %s: %u port(s): DEVICE_READY, "
		  "PORT_ADD %u, PORT_READY, CONSOLE_PORT %u, PORT_NAME %u of %u, "
		  "PORT_OPEN %u%s%s", where, nports, added, consoles, named, names,
		  open, c->bad ? ", UNKNOWN PORT" : "",
		  nports ? what : "; no virtconsole on it");
	free(c);
}

/* Host sets a target (config interrupt); the guest inflates that many
 * pages, which must show as released (the board's release hook ran and
 * the balloon's bitmap has them), reports `actual`, then deflates. */
void st_balloon(struct selftest *t, struct vdriver *d, const char *where)
{
	enum { PAGES = 4 };
	/* board_balloon(t->b) at each use, never kept: a snapshot restore
	 * (selftest_snap.c) may replace the board between two steps. */
	struct vdq inf, def;
	int r = board_balloon(t->b) ? vdriver_negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1)) : -1;
	if (r == 0)
		r = vdriver_setup_queue(d, BALLOON_INFLATEQ, &inf, 8);
	if (r == 0)
		r = vdriver_setup_queue(d, BALLOON_DEFLATEQ, &def, 8);
	uint64_t pages = vdriver_alloc(d, PAGES * BALLOON_PAGE_SIZE, BALLOON_PAGE_SIZE);
	uint64_t pfns = vdriver_alloc(d, PAGES * 4, 4);
	if (r < 0 || !pfns) {
		st_report(t, false, "virtio-balloon over %s: set-up failed (%d)",
			  where, r);
		return;
	}
	vdriver_driver_ok(d);
	const struct gm *gm = t->sim->m.gm;
	uint64_t pfn0 = pages >> VIRTIO_BALLOON_PFN_SHIFT;
	for (unsigned k = 0; k < PAGES; k++)
		gm_write_u32le(gm, pfns + 4 * k, (uint32_t)(pfn0 + k));
	(void)d->bus->irq_pending(d);   /* forget interrupts so far */
	d->bus->isr_ack(d);
	board_balloon_set_target(t->b, PAGES);   /* recorded in a trace */
	bool cfg_irq = d->bus->irq_pending(d);
	d->bus->isr_ack(d);
	uint32_t target = st_cfg32(d, offsetof(struct virtio_balloon_config, num_pages));
	uint64_t rel0 = t->released_pages;
	struct vdq_buf b = { pfns, PAGES * 4, false };
	uint32_t len;
	int ri = st_vq_run(t, d, BALLOON_INFLATEQ, &inf, &b, 1, &len);
	unsigned marked = 0;
	for (unsigned k = 0; k < PAGES; k++)
		marked += balloon_page_inflated(board_balloon(t->b), pfn0 + k);
	d->bus->config_write(d, offsetof(struct virtio_balloon_config, actual), 4, PAGES);
	bool actual = balloon_get_actual(board_balloon(t->b)) == PAGES;
	uint64_t released = t->released_pages - rel0;
	board_balloon_set_target(t->b, 0);
	cfg_irq = cfg_irq && d->bus->irq_pending(d);
	d->bus->isr_ack(d);
	int rd = st_vq_run(t, d, BALLOON_DEFLATEQ, &def, &b, 1, &len);
	d->bus->config_write(d, offsetof(struct virtio_balloon_config, actual), 4, 0);
	bool back = balloon_inflated_pages(board_balloon(t->b)) == 0 && balloon_get_actual(board_balloon(t->b)) == 0;
	st_report(t, cfg_irq && target == PAGES && ri == 1 && marked == PAGES &&
		  released == PAGES && actual && rd == 1 && back,
		  "virtio-balloon over %s: target %u pages (config interrupt %s), "
		  "inflated %u marked released (%llu pages handed back), actual %s, "
		  "deflated %s", where, target, cfg_irq ? "ok" : "MISSING", marked,
		  (unsigned long long)released, actual ? "reported" : "NOT SEEN",
		  rd == 1 && back ? "ok" : "FAILED");
}
