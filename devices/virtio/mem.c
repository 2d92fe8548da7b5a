/* virtio-mem device model (virtio 1.2 §5.15).  See mem.h. */
#include "devices/virtio/mem.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/snapshot.h"
#include "devices/virtio/virtio.h"

struct vmem {
	struct vdev vd;
	struct vmem_config cfg;
	uint64_t nblocks, usable, plugged, requested;
	uint8_t *bitmap;          /* 1 = plugged */
	struct vmem_stats st;
	struct log_rl rl;
	struct vq_elem *e;
};

static bool bit(const struct vmem *m, uint64_t i)
{
	return (m->bitmap[i / 8] >> (i % 8)) & 1;
}

static void set_bits(struct vmem *m, uint64_t first, uint64_t n, bool v)
{
	for (uint64_t i = first; i < first + n; i++) {
		if (v)
			m->bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
		else
			m->bitmap[i / 8] &= (uint8_t)~(1u << (i % 8));
	}
}

/* QEMU's usable region: requested_size plus a margin, in blocks, never
 * beyond the region; it only grows while the driver runs (the driver
 * may have plugged anywhere inside the old one). */
static void grow_usable(struct vmem *m, bool can_shrink)
{
	uint64_t bs = m->cfg.block_size;
	uint64_t u = m->requested + VMEM_USABLE_EXTENT;
	u = (u + bs - 1) & ~(bs - 1);
	if (u > m->cfg.region_size || u < m->requested)
		u = m->cfg.region_size;
	if (u > m->usable || can_shrink)
		m->usable = u;
}

/* §5.15.6.1: addr block-aligned, nb_blocks > 0, inside the usable
 * region.  Out: the first block's index. */
static bool valid_range(const struct vmem *m, uint64_t addr, uint64_t nb,
			uint64_t *first)
{
	uint64_t bs = m->cfg.block_size;
	if (nb == 0 || addr < m->cfg.addr || (addr - m->cfg.addr) % bs)
		return false;
	uint64_t off = addr - m->cfg.addr;
	if (off >= m->usable || nb > (m->usable - off) / bs)
		return false;
	*first = off / bs;
	return true;
}

/* All of [first, first + n) in state v? */
static bool all(const struct vmem *m, uint64_t first, uint64_t n, bool v)
{
	for (uint64_t i = first; i < first + n; i++)
		if (bit(m, i) != v)
			return false;
	return true;
}

static void release(struct vmem *m, uint64_t first, uint64_t n)
{
	uint64_t bs = m->cfg.block_size;
	m->st.released_bytes += n * bs;
	if (m->cfg.release)
		m->cfg.release(m->cfg.release_opaque, m->cfg.addr + first * bs, n * bs);
}

static uint16_t do_plug(struct vmem *m, uint64_t addr, uint64_t nb, bool plug)
{
	uint64_t first;
	if (!valid_range(m, addr, nb, &first))
		return VIRTIO_MEM_RESP_ERROR;
	uint64_t bytes = nb * m->cfg.block_size;
	/* §5.15.6.3: plugging beyond requested_size is refused with NACK. */
	if (plug && m->plugged + bytes > m->requested)
		return VIRTIO_MEM_RESP_NACK;
	/* Every block must be in the other state (no double plug, no
	 * unplug of what was never plugged). */
	if (!all(m, first, nb, !plug))
		return VIRTIO_MEM_RESP_ERROR;
	set_bits(m, first, nb, plug);
	if (plug) {
		m->plugged += bytes;
	} else {
		m->plugged -= bytes;
		release(m, first, nb);
	}
	return VIRTIO_MEM_RESP_ACK;
}

void vmem_unplug_all(struct vmem *m)
{
	/* Release plugged runs, one host call per run. */
	uint64_t i = 0;
	while (i < m->nblocks) {
		if (!bit(m, i)) {
			i++;
			continue;
		}
		uint64_t s = i;
		while (i < m->nblocks && bit(m, i))
			i++;
		release(m, s, i - s);
	}
	memset(m->bitmap, 0, (size_t)((m->nblocks + 7) / 8));
	m->plugged = 0;
}

static uint16_t do_request(struct vmem *m, const struct virtio_mem_req *rq,
			   uint16_t *state)
{
	uint64_t addr = le64toh(rq->addr), nb = le16toh(rq->nb_blocks), first;
	switch (le16toh(rq->type)) {
	case VIRTIO_MEM_REQ_PLUG:
		return do_plug(m, addr, nb, true);
	case VIRTIO_MEM_REQ_UNPLUG:
		return do_plug(m, addr, nb, false);
	case VIRTIO_MEM_REQ_UNPLUG_ALL:
		vmem_unplug_all(m);
		/* The driver gave everything back: the usable region may
		 * shrink to fit the request again. */
		grow_usable(m, true);
		return VIRTIO_MEM_RESP_ACK;
	case VIRTIO_MEM_REQ_STATE:
		if (!valid_range(m, addr, nb, &first))
			return VIRTIO_MEM_RESP_ERROR;
		*state = all(m, first, nb, true) ? VIRTIO_MEM_STATE_PLUGGED :
			 all(m, first, nb, false) ? VIRTIO_MEM_STATE_UNPLUGGED :
			 VIRTIO_MEM_STATE_MIXED;
		return VIRTIO_MEM_RESP_ACK;
	default:
		return VIRTIO_MEM_RESP_ERROR;
	}
}

static void process(struct vmem *m)
{
	struct vdev *vd = &m->vd;
	struct vq *vq = &vd->vqs[0];
	bool pushed = false;
	struct vdev_budget b;
	if (!vdev_live(vd))
		return;
	vdev_budget_init(&b);
	for (;;) {
		if (vdev_budget_spent(vd, &b)) {
			vdev_resume_later(vd, 0);
			break;
		}
		int k = vdev_pop(vd, vq, m->e, &pushed, "virtio-mem: broken ring");
		if (k == 0)
			break;
		if (k == -EPROTO)
			return;
		if (k < 0)
			continue;
		struct virtio_mem_req rq;
		struct virtio_mem_resp rs;
		memset(&rs, 0, sizeof(rs));
		if (m->e->out_len < sizeof(rq) || m->e->in_len < sizeof(rs) ||
		    vq_elem_read(vd->gm, m->e, 0, &rq, sizeof(rq))) {
			/* QEMU: a malformed request breaks the device. */
			vq_push(vq, m->e, 0);
			vdev_needs_reset(vd, "virtio-mem: request or response buffer too small");
			return;
		}
		uint16_t st = 0, r = do_request(m, &rq, &st);
		m->st.acks += r == VIRTIO_MEM_RESP_ACK;
		m->st.nacks += r == VIRTIO_MEM_RESP_NACK;
		m->st.errors += r == VIRTIO_MEM_RESP_ERROR;
		if (r == VIRTIO_MEM_RESP_ERROR)
			log_rl(m->cfg.log, &m->rl, LOG_WARN,
			       "virtio-mem: request type %u at 0x%llx x%u refused",
			       le16toh(rq.type), (unsigned long long)le64toh(rq.addr),
			       le16toh(rq.nb_blocks));
		rs.type = htole16(r);
		rs.state = htole16(st);
		int w = vq_elem_write(vd->gm, m->e, 0, &rs, sizeof(rs));
		vq_push(vq, m->e, w ? 0 : sizeof(rs));
		pushed = true;
		vdev_budget_charge(&b, sizeof(rq));
	}
	if (pushed)
		vdev_notify_queue(vd, 0);

}

static struct vmem *to_mem(struct vdev *vd)
{
	return vd->priv;
}

static uint64_t mem_features(struct vdev *vd)
{
	(void)vd;
	/* node_id is meaningful: the SRAT's proximity domains. */
	return VIRTIO_BIT(VIRTIO_MEM_F_ACPI_PXM);
}

static void mem_config_read(struct vdev *vd, uint32_t off, void *data, unsigned len)
{
	struct vmem *m = to_mem(vd);
	struct virtio_mem_config c = {
		.block_size = htole64(m->cfg.block_size),
		.node_id = htole16(m->cfg.node_id),
		.addr = htole64(m->cfg.addr),
		.region_size = htole64(m->cfg.region_size),
		.usable_region_size = htole64(m->usable),
		.plugged_size = htole64(m->plugged),
		.requested_size = htole64(m->requested),
	};
	memcpy(data, (const uint8_t *)&c + off, len);
}

static void mem_config_write(struct vdev *vd, uint32_t off, const void *data, unsigned len)
{
	/* §5.15.4: read-only for the driver. */
	(void)vd;
	(void)off;
	(void)data;
	(void)len;
}

static int mem_activate(struct vdev *vd)
{
	process(to_mem(vd));
	return 0;
}

static void mem_notify(struct vdev *vd, unsigned q)
{
	if (q == 0)
		process(to_mem(vd));
}

static void mem_reset(struct vdev *vd)
{
	/* A driver reset keeps the plugged blocks (the memory stays in the
	 * guest); the driver finds them through STATE or unplugs all. */
	(void)vd;
}

static int mem_save(struct vdev *vd, struct snap_w *w);
static int mem_load(struct vdev *vd, struct snap_r *r);

static const struct vdev_ops mem_ops = {
	.features = mem_features,
	.config_read = mem_config_read,
	.config_write = mem_config_write,
	.activate = mem_activate,
	.notify = mem_notify,
	.reset = mem_reset,
	.save = mem_save,
	.load = mem_load,
};

struct vmem *vmem_new(const struct vmem_config *cfg)
{
	uint64_t bs = cfg->block_size;
	if (!bs || (bs & (bs - 1)) || !cfg->region_size || cfg->region_size % bs ||
	    cfg->addr % bs || cfg->requested_size % bs ||
	    cfg->requested_size > cfg->region_size || cfg->region_size / bs > (1ull << 32)) {
		errno = EINVAL;
		return NULL;
	}
	struct vmem *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cfg = *cfg;
	m->nblocks = cfg->region_size / bs;
	m->bitmap = calloc(1, (size_t)((m->nblocks + 7) / 8));
	m->e = malloc(sizeof(*m->e));
	if (!m->bitmap || !m->e) {
		vmem_free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->requested = cfg->requested_size;
	grow_usable(m, true);
	struct vdev *vd = &m->vd;
	vd->clk = cfg->clk;
	vd->ops = &mem_ops;
	vd->priv = m;
	vd->device_id = VIRTIO_ID_MEM;
	vd->config_size = sizeof(struct virtio_mem_config);
	vd->nqueues = 1;
	vd->queue_max[0] = VMEM_QUEUE_SIZE;
	vd->gm = cfg->gm;
	vd->log = cfg->log;
	return m;
}

void vmem_free(struct vmem *m)
{
	if (!m)
		return;
	vdev_resume_cancel(&m->vd);
	free(m->bitmap);
	free(m->e);
	free(m);
}

struct vdev *vmem_vdev(struct vmem *m)
{
	return &m->vd;
}

int vmem_set_requested(struct vmem *m, uint64_t size)
{
	if (size % m->cfg.block_size || size > m->cfg.region_size)
		return -EINVAL;
	m->requested = size;
	grow_usable(m, false);
	vdev_config_changed(&m->vd);
	return 0;
}

uint64_t vmem_requested(const struct vmem *m) { return m->requested; }
uint64_t vmem_plugged(const struct vmem *m) { return m->plugged; }
uint64_t vmem_block_size(const struct vmem *m) { return m->cfg.block_size; }
const struct vmem_stats *vmem_get_stats(const struct vmem *m) { return &m->st; }

/* ---- snapshot (docs/snapshot.md, section "virtio-mem") ----
 * The sizes the driver sees and the plugged-block bitmap.  Place, region
 * size and block size are configuration: they must match.  A request is
 * answered within the notify that popped it, so no chain is ever held
 * between entry points.  The bytes of the region are guest RAM (the
 * "ram" section). */
static int mem_save(struct vdev *vd, struct snap_w *w)
{
	const struct vmem *m = to_mem(vd);
	uint8_t st[5 * 8];
	const uint64_t v[5] = { m->st.acks, m->st.nacks, m->st.busy, m->st.errors,
				m->st.released_bytes };
	for (unsigned i = 0; i < 5; i++)
		for (unsigned k = 0; k < 8; k++)
			st[8 * i + k] = (uint8_t)(v[i] >> (8 * k));
	snap_w_begin(w, "virtio-mem", 1);
	snap_w_u64(w, "addr", m->cfg.addr);
	snap_w_u64(w, "region_size", m->cfg.region_size);
	snap_w_u64(w, "block_size", m->cfg.block_size);
	snap_w_u64(w, "requested", m->requested);
	snap_w_u64(w, "usable", m->usable);
	snap_w_u64(w, "plugged", m->plugged);
	snap_w_blob(w, "bitmap", m->bitmap, (size_t)((m->nblocks + 7) / 8));
	snap_w_bytes(w, "stats", st, sizeof(st));
	snap_w_end(w);
	return 0;
}

static int mem_load(struct vdev *vd, struct snap_r *r)
{
	struct vmem *m = to_mem(vd);
	uint64_t addr = 0, rsize = 0, bs = 0, req = 0, usable = 0, plugged = 0;
	const uint8_t *bm = NULL;
	size_t bmlen = 0;
	uint8_t st[5 * 8];
	snap_r_begin(r, "virtio-mem", 1, NULL);
	snap_r_u64(r, "addr", &addr);
	snap_r_u64(r, "region_size", &rsize);
	snap_r_u64(r, "block_size", &bs);
	snap_r_u64(r, "requested", &req);
	snap_r_u64(r, "usable", &usable);
	snap_r_u64(r, "plugged", &plugged);
	snap_r_blob(r, "bitmap", &bm, &bmlen);
	snap_r_bytes(r, "stats", st, sizeof(st));
	snap_r_check(r, addr == m->cfg.addr, "addr", "the region sits elsewhere here");
	snap_r_check(r, rsize == m->cfg.region_size, "region_size",
		     "another memory backend size");
	snap_r_check(r, bs == m->cfg.block_size, "block_size", "another block-size");
	if (snap_r_failed(r))
		return snap_r_failed(r);
	/* What qom-set and grow_usable can make: block multiples within
	 * the region, usable at least what was requested. */
	snap_r_check(r, req % bs == 0 && req <= rsize, "requested",
		     "not a block multiple inside the region");
	snap_r_check(r, (usable % bs == 0 || usable == rsize) && usable <= rsize &&
		     usable >= req, "usable", "outside [requested, region size]");
	snap_r_check(r, bmlen == (size_t)((m->nblocks + 7) / 8), "bitmap",
		     "length disagrees with the region");
	if (snap_r_failed(r))
		return snap_r_failed(r);
	/* Every plugged block counted in `plugged` and inside the usable
	 * region (it only shrinks after an unplug-all); no bit past the
	 * last block. */
	uint64_t count = 0, ublocks = usable / bs;
	bool outside = false;
	for (uint64_t i = 0; i < (uint64_t)bmlen * 8; i++) {
		if (!((bm[i / 8] >> (i % 8)) & 1))
			continue;
		count++;
		outside |= i >= ublocks;
	}
	snap_r_check(r, !outside, "bitmap", "a plugged block outside the usable region");
	snap_r_check(r, count * bs == plugged, "plugged", "disagrees with the bitmap");
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	memcpy(m->bitmap, bm, bmlen);
	m->requested = req;
	m->usable = usable;
	m->plugged = plugged;
	uint64_t v[5];
	for (unsigned i = 0; i < 5; i++) {
		v[i] = 0;
		for (unsigned k = 0; k < 8; k++)
			v[i] |= (uint64_t)st[8 * i + k] << (8 * k);
	}
	m->st = (struct vmem_stats){ .acks = v[0], .nacks = v[1], .busy = v[2],
				     .errors = v[3], .released_bytes = v[4] };
	return 0;
}
