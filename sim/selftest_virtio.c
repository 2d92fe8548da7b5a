/* Self-test of the virtio functions: for each one the configuration
 * names, probe it on its transport (virtio-mmio window or virtio-pci
 * function with MSI-X, as Linux's virtio_mmio / virtio_pci do), run its
 * check, and reset it so it stops using the memory it was given.
 * Requests count as done only when the device both used the buffer and
 * raised its interrupt (INTx line / MSI-X message): a driver sleeps on
 * the interrupt, not on the ring.  virtio-rng and virtio-net checks live
 * here; blk, console and balloon have their own files. */
#include <stdio.h>
#include <string.h>

#include "core/entropy.h"
#include "core/gm.h"
#include "core/netdev.h"
#include "core/trace.h"
#include "sim/selftest_int.h"
#include "devices/virtio/net.h"
#include "devices/virtio/virtio.h"

int st_vprobe(struct selftest *t, unsigned i, struct vdriver *d, char *where,
	      size_t wlen)
{
	const struct cfg_device *cd = &t->cfg->devices[i];
	const struct layout_dev *ld = layout_dev_for(t->l, (int)i);
	int r = -1;
	memset(d, 0, sizeof(*d));
	if (ld && cd->transport == CFG_TRANSPORT_MMIO) {
		snprintf(where, wlen, "virtio-mmio");
		r = vdriver_mmio_probe(d, t->sim, ld->mmio_base, ld->gsi);
		if (r < 0)
			st_report(t, false, "%s: no virtio-mmio device at 0x%llx",
				  config_device_name(cd),
				  (unsigned long long)ld->mmio_base);
	} else if (ld && cd->transport == CFG_TRANSPORT_PCI && ld->pci_bus >= 0) {
		/* Behind a pci-bridge the driver reaches it with type 1
		 * config requests and through the bridge's windows.  A
		 * disable-modern=on function is driven as Linux's
		 * virtio_pci_legacy does; a transitional one through its
		 * modern interface, Linux's choice. */
		snprintf(where, wlen, "virtio-pci%s%s",
			 cd->disable_modern ? " legacy" : "",
			 ld->pci_bus ? " behind a bridge" : "");
		r = cd->disable_modern ?
			vdriver_pci_probe_legacy_bus(d, t->sim, (unsigned)ld->pci_bus,
						     (unsigned)ld->pci_slot,
						     (unsigned)ld->pci_func, true) :
			vdriver_pci_probe_bus(d, t->sim, (unsigned)ld->pci_bus,
					      (unsigned)ld->pci_slot,
					      (unsigned)ld->pci_func, true);
		if (r < 0)
			st_report(t, false, "%s: no virtio-pci function at %02x:%02x.%x",
				  config_device_name(cd), ld->pci_bus, ld->pci_slot,
				  ld->pci_func);
	} else {
		st_report(t, false, "%s: not placed on a populated transport",
			  config_device_name(cd));
	}
	if (r < 0)
		return -1;
	vdriver_set_memory(d, t->mem_next, t->mem_end - t->mem_next);
	return 0;
}

void st_vdone(struct selftest *t, struct vdriver *d)
{
	vdriver_reset(d);
	/* The next device starts on a fresh page after what this one used. */
	uint64_t next = (d->mem_next + 4095) & ~4095ull;
	t->mem_next = next < t->mem_end ? next : t->mem_end;
}

uint32_t st_cfg32(struct vdriver *d, uint32_t off)
{
	return (uint32_t)d->bus->config_read(d, off, 4);
}

int st_vq_wait(struct selftest *t, struct vdriver *d, struct vdq *vq,
	       uint16_t *id, uint32_t *len)
{
	struct sim *s = t->sim;
	uint64_t end = s->now_ns + ST_WAIT_NS;
	bool irq = false;
	for (;;) {
		if (d->bus->irq_pending(d)) {
			irq = true;
			d->bus->isr_ack(d);
		}
		int r = vdq_get_used(vq, id, len);
		if (r < 0)
			return -1;
		if (r > 0) {
			/* The interrupt may be raised with the used entry. */
			if (!irq && d->bus->irq_pending(d)) {
				irq = true;
				d->bus->isr_ack(d);
			}
			return irq ? 1 : 2;
		}
		uint64_t next = sim_next_deadline(s);
		if (s->now_ns >= end || next == UINT64_MAX || next > end)
			return 0;
		sim_clock_step(s, next > s->now_ns ? next - s->now_ns : 0);
	}
}

int st_vq_run(struct selftest *t, struct vdriver *d, unsigned q,
	      struct vdq *vq, const struct vdq_buf *bufs, unsigned n,
	      uint32_t *len)
{
	int head = vdq_add(vq, bufs, n, false);
	if (head < 0)
		return -1;
	vdq_publish(vq);
	vdriver_kick(d, q, vq);
	uint16_t id;
	int r = st_vq_wait(t, d, vq, &id, len);
	if (r > 0 && id != (uint16_t)head)
		return -1;
	return r;
}

/* What a st_vq_run result means, for the report. */
static const char *st_vq_why(int r)
{
	return r == 0 ? "no completion" : r == 2 ? "completed without interrupt" :
	       r < 0 ? "ring error" : "ok";
}

/* virtio-rng (§5.4): two 64-byte reads, as hw_random's virtio backend
 * does them; the bytes must be the stand-in source's (the seeded PRNG
 * this device was given), not all zero, and differ between reads. */
static void st_rng(struct selftest *t, unsigned i, struct vdriver *d,
		   const char *where)
{
	struct vdq vq;
	uint8_t got[2][64], ref[2][64];
	uint32_t len[2] = { 0, 0 };
	int r = vdriver_negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	if (r == 0)
		r = vdriver_setup_queue(d, 0, &vq, 8);
	if (r < 0) {
		st_report(t, false, "virtio-rng over %s: set-up failed (%d)", where, r);
		return;
	}
	vdriver_driver_ok(d);
	uint64_t buf = vdriver_alloc(d, 64, 16);
	const char *why = "ok";
	for (unsigned k = 0; k < 2 && !strcmp(why, "ok"); k++) {
		gm_fill(t->sim->m.gm, buf, 0, 64);
		struct vdq_buf b = { buf, 64, true };
		r = st_vq_run(t, d, 0, &vq, &b, 1, &len[k]);
		why = st_vq_why(r);
		if (r == 1 && (len[k] == 0 || len[k] > 64))
			why = "bad length";
		if (r == 1)
			gm_read(t->sim->m.gm, buf, got[k], len[k] <= 64 ? len[k] : 64);
	}
	bool ok = !strcmp(why, "ok");
	bool zero = true, same = false, match = false;
	if (ok) {
		for (uint32_t k = 0; k < len[0]; k++)
			zero = zero && got[0][k] == 0;
		same = len[0] == len[1] && !memcmp(got[0], got[1], len[0]);
		/* The device reads its source once per buffer here (64 bytes
		 * is below its chunk), so the same reads of a fresh PRNG with
		 * the same seed give the same bytes. */
		char id[16];
		snprintf(id, sizeof(id), "rng%u", i);
		struct entropy *e = entropy_prng_new(id, st_rng_seed(t, i));
		match = e && entropy_read(e, ref[0], len[0]) == (ssize_t)len[0] &&
			entropy_read(e, ref[1], len[1]) == (ssize_t)len[1] &&
			!memcmp(ref[0], got[0], len[0]) && !memcmp(ref[1], got[1], len[1]);
		entropy_close(e);
		why = zero ? "all zero" : same ? "two reads returned the same bytes" :
		      !match ? "bytes are not the entropy source's" : "ok";
	}
	st_report(t, !strcmp(why, "ok"), "virtio-rng over %s: read %u+%u bytes "
		  "(%02x%02x%02x%02x...) from the seeded source: %s", where,
		  len[0], len[1], got[0][0], got[0][1], got[0][2], got[0][3], why);
}

/* A broadcast frame of the IEEE 802 local experimental EtherType. */
static size_t st_frame(uint8_t *f, const uint8_t mac[6])
{
	static const char payload[] = "vmm self-test frame";
	memset(f, 0, NETDEV_HDR_LEN);           /* virtio_net_hdr_v1: nothing */
	uint8_t *e = f + NETDEV_HDR_LEN;
	memset(e, 0xff, 6);
	memcpy(e + 6, mac, 6);
	e[12] = 0x88;
	e[13] = 0xb5;
	memset(e + 14, 0, 46);
	memcpy(e + 14, payload, sizeof(payload));
	return NETDEV_HDR_LEN + 60;
}

/* virtio-net (§5.1): MAC and link status from config space, one frame
 * out through the TX queue to the backend, one frame in from the backend
 * through an RX buffer.  The backend is the in-memory loop standing in
 * for the tap (nothing leaves the process). */
static void st_net(struct selftest *t, unsigned i, struct vdriver *d,
		   const char *where)
{
	const struct cfg_device *cd = &t->cfg->devices[i];
	struct st_backend *bk = st_backend_find(t, TRACE_BK_NET, cd->netdev);
	struct vdq rx, tx;
	/* MRG_RXBUF as Linux takes it: the 12-byte header on every
	 * interface, legacy included (§5.1.6.1). */
	uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
			VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);
	int r = vdriver_negotiate(d, want);
	if (r == 0)
		r = vdriver_setup_queue(d, VNET_RXQ, &rx, 8);
	if (r == 0)
		r = vdriver_setup_queue(d, VNET_TXQ, &tx, 8);
	if (r < 0 || !bk) {
		st_report(t, false, "virtio-net over %s: set-up failed (%d%s)", where,
			  r, bk ? "" : ", no backend");
		return;
	}
	vdriver_driver_ok(d);
	uint8_t mac[6];
	for (unsigned k = 0; k < 6; k++)
		mac[k] = (uint8_t)d->bus->config_read(d, offsetof(struct virtio_net_config,
								   mac) + k, 1);
	uint16_t status = (uint16_t)d->bus->config_read(
		d, offsetof(struct virtio_net_config, status), 2);
	bool mac_ok = !cd->has_mac || ((d->features & VIRTIO_BIT(VIRTIO_NET_F_MAC)) &&
				       !memcmp(mac, cd->mac, 6));
	bool link = (d->features & VIRTIO_BIT(VIRTIO_NET_F_STATUS)) &&
		    (status & VIRTIO_NET_S_LINK_UP);
	uint8_t frame[NETDEV_HDR_LEN + 60], back[sizeof(frame) + 16];
	size_t flen = st_frame(frame, mac);
	/* Guest -> host. */
	uint64_t tb = vdriver_alloc(d, flen, 16), rb = vdriver_alloc(d, 1526, 16);
	gm_write(t->sim->m.gm, tb, frame, flen);
	struct vdq_buf b = { tb, (uint32_t)flen, false };
	uint32_t len = 0;
	int rt = st_vq_run(t, d, VNET_TXQ, &tx, &b, 1, &len);
	long took = netdev_loop_take(bk->obj, back, sizeof(back));
	bool tx_ok = rt == 1 && took == (long)flen && !memcmp(back, frame, flen);
	/* Host -> guest: the frame comes back with its source and
	 * destination swapped, into a posted receive buffer. */
	memcpy(frame + NETDEV_HDR_LEN, mac, 6);
	memset(frame + NETDEV_HDR_LEN + 6, 0x02, 6);
	struct vdq_buf rbuf = { rb, 1526, true };
	int head = vdq_add(&rx, &rbuf, 1, false);
	vdq_publish(&rx);
	vdriver_kick(d, VNET_RXQ, &rx);
	int rr = -1;
	uint16_t id = 0;
	if (head >= 0 && netdev_loop_inject(bk->obj, frame, flen) == 0)
		rr = st_vq_wait(t, d, &rx, &id, &len);
	bool rx_ok = rr == 1 && id == (uint16_t)head && len == flen &&
		     gm_read(t->sim->m.gm, rb, back, flen) == 0 &&
		     !memcmp(back + NETDEV_HDR_LEN, frame + NETDEV_HDR_LEN,
			     flen - NETDEV_HDR_LEN);
	st_report(t, mac_ok && link && tx_ok && rx_ok,
		  "virtio-net over %s: netdev %s (%s), mac %02x:%02x:%02x:%02x:%02x:%02x"
		  "%s, link %s, TX %zu bytes %s, RX %s", where, cd->netdev,
		  bk->tap ? "tap replaced by an in-memory loop: no tap opened" :
		  "in-memory loop", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
		  !cd->has_mac ? " (no mac=)" : mac_ok ? "" : " (NOT the configured one)",
		  link ? "up" : "DOWN", flen, tx_ok ? "reached the backend" :
		  st_vq_why(rt), rx_ok ? "ok" : rr == 1 ? "wrong frame" : st_vq_why(rr));
}

void st_virtio(struct selftest *t)
{
	for (unsigned i = 0; i < t->cfg->ndevices; i++) {
		enum cfg_device_type type = t->cfg->devices[i].type;
		if (type != CFG_DEV_VIRTIO_BLK && type != CFG_DEV_VIRTIO_NET &&
		    type != CFG_DEV_VIRTIO_RNG && type != CFG_DEV_VIRTIO_SERIAL &&
		    type != CFG_DEV_VIRTIO_BALLOON && type != CFG_DEV_VIRTIO_SCSI)
			continue;
		struct vdriver d;
		char where[48];
		if (st_vprobe(t, i, &d, where, sizeof(where)) < 0)
			continue;
		switch (type) {
		case CFG_DEV_VIRTIO_BLK: st_blk(t, i, &d, where); break;
		case CFG_DEV_VIRTIO_NET: st_net(t, i, &d, where); break;
		case CFG_DEV_VIRTIO_RNG: st_rng(t, i, &d, where); break;
		case CFG_DEV_VIRTIO_SERIAL: st_console(t, i, &d, where); break;
		case CFG_DEV_VIRTIO_SCSI: st_scsi(t, i, &d, where); break;
		default: st_balloon(t, &d, where); break;
		}
		st_vdone(t, &d);
	}
}
