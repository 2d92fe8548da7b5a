/* virtio-balloon device model (virtio 1.2 §5.5).  See balloon.h. */
#include "core/snapshot.h"
#include "devices/virtio/queue_snap.h"
#include "devices/virtio/balloon.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/gm.h"
#include "core/log.h"
#include "devices/virtio/virtio.h"

#define PFN_BATCH 256u

struct balloon {
	struct vdev vd;
	struct log *log;
	struct log_rl rl;
	bool deflate_on_oom, offer_stats, offer_reporting;
	void (*release)(void *opaque, uint64_t gpa, uint64_t len);
	void (*reclaim)(void *opaque, uint64_t gpa, uint64_t len);
	void *opaque;
	uint32_t num_pages, actual;
	uint64_t *bitmap;
	uint64_t npages;     /* bits in the bitmap: up to the end of RAM */
	uint64_t ninflated;
	struct vq_elem *e;
	struct vq_elem *stats_elem;
	bool stats_held;
	uint64_t stat_val[BALLOON_NR_STATS];
	bool stat_valid[BALLOON_NR_STATS];
	struct balloon_stats st;
};

static struct balloon *to_bal(struct vdev *vd)
{
	return vd->priv;
}

static bool running(const struct balloon *b)
{
	return vdev_live(&b->vd);
}

static bool bit_get(const struct balloon *b, uint64_t pfn)
{
	return (b->bitmap[pfn / 64] >> (pfn % 64)) & 1;
}

static void bit_set(struct balloon *b, uint64_t pfn, bool v)
{
	if (v)
		b->bitmap[pfn / 64] |= 1ull << (pfn % 64);
	else
		b->bitmap[pfn / 64] &= ~(1ull << (pfn % 64));
}

static void page_op(struct balloon *b, uint32_t pfn, bool inflate)
{
	uint64_t gpa = (uint64_t)pfn << VIRTIO_BALLOON_PFN_SHIFT;
	/* A PFN outside RAM (or on a hole) is a guest error: skip it. */
	if (pfn >= b->npages || !gm_range_valid(b->vd.gm, gpa, BALLOON_PAGE_SIZE)) {
		b->st.bad_pfns++;
		log_rl(b->log, &b->rl, LOG_WARN,
		       "virtio-balloon: pfn %#x outside guest RAM", pfn);
		return;
	}
	if (bit_get(b, pfn) == inflate)
		return; /* already in that state: nothing to tell the host */
	bit_set(b, pfn, inflate);
	if (inflate) {
		b->ninflated++;
		b->st.inflated++;
		if (b->release)
			b->release(b->opaque, gpa, BALLOON_PAGE_SIZE);
	} else {
		b->ninflated--;
		b->st.deflated++;
		if (b->reclaim)
			b->reclaim(b->opaque, gpa, BALLOON_PAGE_SIZE);
	}
}

static void pfn_queue(struct balloon *b, unsigned q)
{
	struct vq *vq = &b->vd.vqs[q];
	bool pushed = false;
	struct vdev_budget bg;
	if (!running(b))
		return;
	vdev_budget_init(&bg);
	for (;;) {
		if (vdev_budget_spent(&b->vd, &bg)) {
			vdev_resume_later(&b->vd, q);
			break;
		}
		int r = vdev_pop(&b->vd, vq, b->e, &pushed,
				 "virtio-balloon: broken ring");
		if (r == 0)
			break;
		if (r == -EPROTO)
			return;
		if (r < 0)
			continue;
		pushed = true;
		/* §5.5.6: the buffer is an array of le32 PFNs. */
		uint32_t n = b->e->out_len / 4;
		if (n > BALLOON_MAX_PFNS_PER_REQ) {
			log_rl(b->log, &b->rl, LOG_WARN,
			       "virtio-balloon: %u pfns in one buffer, only %u used",
			       n, BALLOON_MAX_PFNS_PER_REQ);
			n = BALLOON_MAX_PFNS_PER_REQ;
		}
		uint32_t pfns[PFN_BATCH];
		for (uint32_t i = 0; i < n; i += PFN_BATCH) {
			uint32_t k = n - i < PFN_BATCH ? n - i : PFN_BATCH;
			if (vq_elem_read(b->vd.gm, b->e, i * 4, pfns, k * 4))
				break;
			for (uint32_t j = 0; j < k; j++)
				page_op(b, le32toh(pfns[j]), q == BALLOON_INFLATEQ);
		}
		vq_push(vq, b->e, 0);
		/* Each PFN is a page the host may act on (madvise): weigh it
		 * like 64 bytes copied, so one full buffer (4096 PFNs) is
		 * about one entry's budget. */
		vdev_budget_charge(&bg, (uint64_t)n * 64u);
	}
	if (pushed)
		vdev_notify_queue(&b->vd, q);
}

static void stats_queue(struct balloon *b)
{
	struct vq *vq = &b->vd.vqs[BALLOON_STATSQ];
	struct vdev_budget bg;
	bool pushed = false;   /* a bad chain went back empty */
	if (!running(b))
		return;
	vdev_budget_init(&bg);
	for (;;) {
		if (vdev_budget_spent(&b->vd, &bg)) {
			vdev_resume_later(&b->vd, BALLOON_STATSQ);
			break;
		}
		vdev_budget_charge(&bg, 0);
		int r = vdev_pop(&b->vd, vq, b->e, &pushed,
				 "virtio-balloon: broken ring");
		if (r == -EPROTO)
			return;
		if (r == 0)
			break;
		if (r < 0)
			continue;
		b->st.stats_updates++;
		uint32_t n = b->e->out_len / sizeof(struct virtio_balloon_stat);
		if (n > 64)
			n = 64; /* ten tags are defined; ignore a flood */
		for (uint32_t i = 0; i < n; i++) {
			struct virtio_balloon_stat s;
			if (vq_elem_read(b->vd.gm, b->e, i * (uint32_t)sizeof(s),
					 &s, sizeof(s)))
				break;
			uint16_t tag = le16toh(s.tag);
			if (tag >= BALLOON_NR_STATS)
				continue; /* newer tag than we know */
			b->stat_val[tag] = le64toh(s.val);
			b->stat_valid[tag] = true;
		}
		/* §5.5.6.3: the driver refills the one buffer when we hand it
		 * back; we keep the newest until the host asks for more.  An
		 * older one we still hold goes back now. */
		if (b->stats_held) {
			vq_push(vq, b->stats_elem, 0);
			vdev_notify_queue(&b->vd, BALLOON_STATSQ);
		}
		struct vq_elem *t = b->stats_elem;
		b->stats_elem = b->e;
		b->e = t;
		b->stats_held = true;
	}
	/* §2.7.7.2: a chain handed back is signalled, or the driver would
	 * wait for its stats buffer forever. */
	if (pushed)
		vdev_notify_queue(&b->vd, BALLOON_STATSQ);
}

int balloon_report_queue(const struct balloon *b)
{
	if (!vdev_has(&b->vd, VIRTIO_BALLOON_F_PAGE_REPORTING))
		return -1;
	return vdev_has(&b->vd, VIRTIO_BALLOON_F_STATS_VQ) ? 3 : 2;
}

/* One reported range (§5.5.6.7): free guest memory the host may take
 * back.  Only whole pages inside RAM are released; the guest reuses the
 * pages after the buffer comes back, so nothing is recorded. */
static void report_range(struct balloon *b, uint64_t gpa, uint32_t len)
{
	const uint64_t pg = BALLOON_PAGE_SIZE;
	uint64_t start = (gpa + pg - 1) & ~(pg - 1), end = (gpa + len) & ~(pg - 1);
	if (gpa > UINT64_MAX - len - pg || end <= start ||
	    !gm_range_valid(b->vd.gm, start, end - start)) {
		b->st.bad_reports++;
		log_rl(b->log, &b->rl, LOG_WARN,
		       "virtio-balloon: reported range %#llx+%#x is not whole pages of RAM",
		       (unsigned long long)gpa, len);
		return;
	}
	b->st.reported_pages += (end - start) / pg;
	if (b->release)
		b->release(b->opaque, start, end - start);
}

static void report_queue(struct balloon *b, unsigned q)
{
	struct vq *vq = &b->vd.vqs[q];
	bool pushed = false;
	if (!running(b))
		return;
	/* Bounded: at most the ring's worth of chains, each at most
	 * VQ_MAX_SEGS ranges. */
	for (;;) {
		int r = vdev_pop(&b->vd, vq, b->e, &pushed,
				 "virtio-balloon: broken ring");
		if (r == 0)
			break;
		if (r == -EPROTO)
			return;
		if (r < 0)
			continue;
		pushed = true;
		/* Linux adds the free ranges as device-writable buffers
		 * (virtqueue_add_inbuf); the device writes nothing to them. */
		for (unsigned i = 0; i < (unsigned)b->e->nout + b->e->nin; i++)
			report_range(b, b->e->seg[i].gpa, b->e->seg[i].len);
		b->st.reports++;
		vq_push(vq, b->e, 0);
	}
	if (pushed)
		vdev_notify_queue(&b->vd, q);
}

static uint64_t bal_features(struct vdev *vd)
{
	struct balloon *b = to_bal(vd);
	uint64_t f = 0;
	if (b->offer_stats)
		f |= VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ);
	if (b->deflate_on_oom)
		f |= VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	if (b->offer_reporting)
		f |= VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING);
	return f;
}

static void bal_config_read(struct vdev *vd, uint32_t off, void *data,
			    unsigned len)
{
	struct balloon *b = to_bal(vd);
	struct virtio_balloon_config c = {
		.num_pages = htole32(b->num_pages),
		.actual = htole32(b->actual),
	};
	memcpy(data, (const uint8_t *)&c + off, len);
}

static void bal_config_write(struct vdev *vd, uint32_t off, const void *data,
			     unsigned len)
{
	struct balloon *b = to_bal(vd);
	/* Only `actual` is the driver's to write (§5.5.4); merge partial
	 * writes into it byte by byte. */
	struct virtio_balloon_config c = {
		.num_pages = htole32(b->num_pages),
		.actual = htole32(b->actual),
	};
	const uint32_t a0 = offsetof(struct virtio_balloon_config, actual);
	for (unsigned i = 0; i < len; i++) {
		if (off + i >= a0 && off + i < a0 + 4)
			((uint8_t *)&c)[off + i] = ((const uint8_t *)data)[i];
	}
	b->actual = le32toh(c.actual);
}

static int bal_activate(struct vdev *vd)
{
	struct balloon *b = to_bal(vd);
	pfn_queue(b, BALLOON_INFLATEQ);
	pfn_queue(b, BALLOON_DEFLATEQ);
	if (vdev_has(vd, VIRTIO_BALLOON_F_STATS_VQ))
		stats_queue(b);
	if (balloon_report_queue(b) >= 0)
		report_queue(b, (unsigned)balloon_report_queue(b));
	return 0;
}

static void bal_notify(struct vdev *vd, unsigned q)
{
	struct balloon *b = to_bal(vd);
	if (q == BALLOON_INFLATEQ || q == BALLOON_DEFLATEQ)
		pfn_queue(b, q);
	else if ((int)q == balloon_report_queue(b))
		report_queue(b, q);
	else if (q == BALLOON_STATSQ && vdev_has(vd, VIRTIO_BALLOON_F_STATS_VQ))
		stats_queue(b);
}

static void bal_reset(struct vdev *vd)
{
	struct balloon *b = to_bal(vd);
	/* A new driver starts with a deflated balloon (§5.5.6.1): give every
	 * page back to it. */
	for (uint64_t pfn = 0; pfn < b->npages && b->ninflated; pfn++) {
		if (!bit_get(b, pfn))
			continue;
		bit_set(b, pfn, false);
		b->ninflated--;
		if (b->reclaim)
			b->reclaim(b->opaque, pfn << VIRTIO_BALLOON_PFN_SHIFT,
				   BALLOON_PAGE_SIZE);
	}
	b->actual = 0;
	b->stats_held = false;
}

static int bal_save(struct vdev *vd, struct snap_w *w);
static int bal_load(struct vdev *vd, struct snap_r *r);

static const struct vdev_ops bal_ops = {
	.features = bal_features,
	.config_read = bal_config_read,
	.config_write = bal_config_write,
	.activate = bal_activate,
	.notify = bal_notify,
	.reset = bal_reset,
	.save = bal_save,
	.load = bal_load,
};

struct balloon *balloon_new(const struct balloon_config *cfg)
{
	struct balloon *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	/* The bitmap covers guest physical memory up to the end of RAM. */
	uint64_t end = 0;
	for (unsigned i = 0; i < gm_region_count(cfg->gm); i++) {
		const struct gm_region *r = gm_region_at(cfg->gm, i);
		if (r->gpa + r->size > end)
			end = r->gpa + r->size;
	}
	b->npages = end >> VIRTIO_BALLOON_PFN_SHIFT;
	if (b->npages > (1ull << 32))
		b->npages = 1ull << 32; /* PFNs are 32 bits */
	b->bitmap = calloc((b->npages + 63) / 64 + 1, sizeof(uint64_t));
	b->e = malloc(sizeof(*b->e));
	b->stats_elem = malloc(sizeof(*b->stats_elem));
	if (!b->bitmap || !b->e || !b->stats_elem) {
		balloon_free(b);
		return NULL;
	}
	b->log = cfg->log;
	b->deflate_on_oom = cfg->deflate_on_oom;
	b->offer_stats = cfg->stats;
	b->offer_reporting = cfg->page_reporting;
	b->release = cfg->release;
	b->reclaim = cfg->reclaim;
	b->opaque = cfg->opaque;
	struct vdev *vd = &b->vd;
	vd->clk = cfg->clk;
	vd->ops = &bal_ops;
	vd->priv = b;
	vd->device_id = VIRTIO_ID_BALLOON;
	vd->config_size = sizeof(struct virtio_balloon_config);
	vd->nqueues = cfg->page_reporting ? BALLOON_MAX_QUEUES : 3;
	for (unsigned q = 0; q < vd->nqueues; q++)
		vd->queue_max[q] = cfg->queue_size ? cfg->queue_size
						   : BALLOON_QUEUE_SIZE;
	vd->gm = cfg->gm;
	vd->log = cfg->log;
	return b;
}

void balloon_free(struct balloon *b)
{
	if (!b)
		return;
	vdev_resume_cancel(&b->vd);
	free(b->bitmap);
	free(b->e);
	free(b->stats_elem);
	free(b);
}

struct vdev *balloon_vdev(struct balloon *b)
{
	return &b->vd;
}

void balloon_set_target(struct balloon *b, uint32_t pages)
{
	if (b->num_pages == pages)
		return;
	b->num_pages = pages;
	vdev_config_changed(&b->vd);
}

uint32_t balloon_get_target(const struct balloon *b)
{
	return b->num_pages;
}

uint32_t balloon_get_actual(const struct balloon *b)
{
	return b->actual;
}

uint64_t balloon_inflated_pages(const struct balloon *b)
{
	return b->ninflated;
}

bool balloon_page_inflated(const struct balloon *b, uint64_t pfn)
{
	return pfn < b->npages && bit_get(b, pfn);
}

bool balloon_request_stats(struct balloon *b)
{
	if (!b->stats_held || !running(b))
		return false;
	vq_push(&b->vd.vqs[BALLOON_STATSQ], b->stats_elem, 0);
	b->stats_held = false;
	vdev_notify_queue(&b->vd, BALLOON_STATSQ);
	return true;
}

bool balloon_get_stat(const struct balloon *b, unsigned tag, uint64_t *val)
{
	if (tag >= BALLOON_NR_STATS || !b->stat_valid[tag])
		return false;
	*val = b->stat_val[tag];
	return true;
}

const struct balloon_stats *balloon_get_counters(const struct balloon *b)
{
	return &b->st;
}

/* ---- snapshot (docs/snapshot.md "virtio-balloon") ----
 * The target and actual sizes, which pages are inflated (the bitmap: the
 * restoring VMM gives them back to the host again, as the guest would
 * not re-report them), the statistics buffer the device holds until the
 * next stats request (§5.5.6.3), and the last statistics. */

static int bal_save(struct vdev *vd, struct snap_w *w)
{
	struct balloon *b = to_bal(vd);
	uint8_t st[BALLOON_NR_STATS * 9];
	for (unsigned i = 0; i < BALLOON_NR_STATS; i++) {
		for (int k = 0; k < 8; k++)
			st[i * 9 + k] = (uint8_t)(b->stat_val[i] >> (8 * k));
		st[i * 9 + 8] = b->stat_valid[i];
	}
	snap_w_begin(w, "virtio-balloon", 1);
	snap_w_u32(w, "num_pages", b->num_pages);
	snap_w_u32(w, "actual", b->actual);
	snap_w_u64(w, "npages", b->npages);
	snap_w_u64(w, "ninflated", b->ninflated);
	snap_w_blob(w, "bitmap", b->bitmap, (size_t)((b->npages + 63) / 64) * 8);
	vq_elem_save(w, "stats_elem", b->stats_held ? b->stats_elem : NULL);
	snap_w_bytes(w, "stats", st, sizeof(st));
	snap_w_end(w);
	return 0;
}

static int bal_load(struct vdev *vd, struct snap_r *r)
{
	struct balloon *b = to_bal(vd);
	uint32_t num = 0, actual = 0;
	uint64_t npages = 0, ninfl = 0;
	const uint8_t *bm = NULL;
	size_t bmlen = 0;
	bool held = false;
	uint8_t st[BALLOON_NR_STATS * 9];
	snap_r_begin(r, "virtio-balloon", 1, NULL);
	snap_r_u32(r, "num_pages", &num);
	snap_r_u32(r, "actual", &actual);
	snap_r_u64(r, "npages", &npages);
	snap_r_u64(r, "ninflated", &ninfl);
	snap_r_blob(r, "bitmap", &bm, &bmlen);
	snap_r_check(r, npages == b->npages, "npages", "another amount of RAM");
	snap_r_check(r, bmlen == (size_t)((b->npages + 63) / 64) * 8, "bitmap",
		     "length disagrees with npages");
	if (!snap_r_failed(r)) {
		uint64_t count = 0;
		for (size_t i = 0; i < bmlen; i++)
			count += (uint64_t)__builtin_popcount(bm[i]);
		snap_r_check(r, count == ninfl, "ninflated",
			     "disagrees with the pages the bitmap holds");
	}
	vq_elem_load(r, "stats_elem", &vd->vqs[BALLOON_STATSQ], b->stats_elem,
		     &held);
	snap_r_bytes(r, "stats", st, sizeof(st));
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	b->num_pages = num;
	b->actual = actual;
	b->ninflated = ninfl;
	memcpy(b->bitmap, bm, bmlen);
	b->stats_held = held;
	for (unsigned i = 0; i < BALLOON_NR_STATS; i++) {
		b->stat_val[i] = 0;
		for (int k = 0; k < 8; k++)
			b->stat_val[i] |= (uint64_t)st[i * 9 + k] << (8 * k);
		b->stat_valid[i] = st[i * 9 + 8] != 0;
	}
	return 0;
}
