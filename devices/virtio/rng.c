/* virtio-rng device model (virtio 1.2 §5.4).  See rng.h. */
#include "core/snapshot.h"
#include "devices/virtio/queue_snap.h"
#include "devices/virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/clk.h"
#include "core/entropy.h"
#include "core/log.h"
#include "core/tokenbucket.h"
#include "devices/virtio/virtio.h"

#define CHUNK 4096u

struct vrng {
	struct vdev vd;
	const struct clk *clk;
	struct entropy *src;
	struct log *log;
	struct log_rl rl;
	struct tokenbucket tb;
	struct clk_timer timer;
	bool waiting;
	struct vrng_stats st;
	struct vq_elem *e;
	uint8_t buf[CHUNK];
};

static struct vrng *to_rng(struct vdev *vd)
{
	return vd->priv;
}

bool vrng_rate_valid(uint64_t max_bytes, uint64_t period_ms)
{
	if (max_bytes == 0)
		return true;
	if (period_ms == 0 || max_bytes > UINT64_MAX / 1000)
		return false;
	uint64_t rate = max_bytes * 1000 / period_ms;
	return rate >= VRNG_MIN_RATE && rate <= VRNG_MAX_RATE;
}

static void wait_until(struct vrng *r, uint64_t at)
{
	r->waiting = true;
	clk_timer_arm(r->clk, &r->timer, at);
}

/* Fill one chain; false when it must wait (it was put back). */
static bool fill(struct vrng *r, struct vq *vq, struct vq_elem *e)
{
	uint64_t now = clk_now_ns(r->clk);
	/* §5.4.6.2: the device may fill less than the whole buffer; one
	 * answer is at most a budget's worth, whatever the guest asks. */
	uint32_t want = e->in_len < VDEV_BUDGET_BYTES ? e->in_len : VDEV_BUDGET_BYTES;
	uint64_t got = tokenbucket_take_upto(&r->tb, want, now);
	if (got == 0) {
		/* Empty bucket: come back when this buffer (or a full bucket,
		 * if it is larger) can be served. */
		vq_unpop(vq, e);
		r->st.throttled++;
		wait_until(r, now + tokenbucket_wait_ns(&r->tb, want, now));
		return false;
	}
	uint32_t done = 0;
	while (done < got) {
		size_t n = got - done < CHUNK ? (size_t)(got - done) : CHUNK;
		ssize_t k = entropy_read(r->src, r->buf, n);
		if (k <= 0) {
			if (done)
				break; /* a partial buffer is a valid answer */
			vq_unpop(vq, e);
			if (k != -EAGAIN) {
				r->st.source_errors++;
				log_rl(r->log, &r->rl, LOG_WARN,
				       "virtio-rng: entropy source failed: %s",
				       strerror((int)-k));
			}
			wait_until(r, now + VRNG_RETRY_NS);
			return false;
		}
		if (vq_elem_write(r->vd.gm, e, done, r->buf, (size_t)k)) {
			log_rl(r->log, &r->rl, LOG_WARN,
			       "virtio-rng: buffer not writable");
			break;
		}
		done += (uint32_t)k;
	}
	/* A partial answer keeps tokens honest: only what was delivered is
	 * charged (got - done goes back). */
	if (done < got)
		r->tb.budget += got - done;
	r->st.bytes += done;
	r->st.requests++;
	vq_push(vq, e, done);
	return true;
}

static void process(struct vrng *r)
{
	struct vdev *vd = &r->vd;
	struct vq *vq = &vd->vqs[0];
	bool pushed = false;
	struct vdev_budget b;
	if (!vdev_live(vd) || r->waiting)
		return;
	vdev_budget_init(&b);
	for (;;) {
		if (vdev_budget_spent(vd, &b)) {
			vdev_resume_later(vd, 0);
			break;
		}
		uint64_t before = r->st.bytes;
		int k = vdev_pop(vd, vq, r->e, &pushed, "virtio-rng: broken ring");
		if (k == 0)
			break;
		if (k == -EPROTO)
			return;
		if (k < 0)
			continue;
		if (r->e->in_len == 0) {
			vq_push(vq, r->e, 0); /* nothing to fill */
			pushed = true;
			continue;
		}
		if (!fill(r, vq, r->e))
			break;
		pushed = true;
		vdev_budget_charge(&b, r->st.bytes - before);
	}
	if (pushed)
		vdev_notify_queue(vd, 0);
}

static void timer_fired(void *arg, uint64_t now)
{
	(void)now;
	struct vrng *r = arg;
	r->waiting = false;
	process(r);
}

static uint64_t rng_features(struct vdev *vd)
{
	(void)vd;
	return 0; /* §5.4.3: none defined */
}

static void rng_config_read(struct vdev *vd, uint32_t off, void *data,
			    unsigned len)
{
	(void)vd;
	(void)off;
	memset(data, 0, len); /* §5.4.4: no config space */
}

static void rng_config_write(struct vdev *vd, uint32_t off, const void *data,
			     unsigned len)
{
	(void)vd;
	(void)off;
	(void)data;
	(void)len;
}

static int rng_activate(struct vdev *vd)
{
	process(to_rng(vd));
	return 0;
}

static void rng_notify(struct vdev *vd, unsigned q)
{
	if (q == 0)
		process(to_rng(vd));
}

static void rng_reset(struct vdev *vd)
{
	struct vrng *r = to_rng(vd);
	clk_timer_cancel(r->clk, &r->timer);
	r->waiting = false;
}

static int rng_save(struct vdev *vd, struct snap_w *w);
static int rng_load(struct vdev *vd, struct snap_r *r);

static const struct vdev_ops rng_ops = {
	.features = rng_features,
	.config_read = rng_config_read,
	.config_write = rng_config_write,
	.activate = rng_activate,
	.notify = rng_notify,
	.reset = rng_reset,
	.save = rng_save,
	.load = rng_load,
};

struct vrng *vrng_new(const struct vrng_config *cfg)
{
	uint64_t period = cfg->period_ms ? cfg->period_ms : 1000;
	if (!vrng_rate_valid(cfg->max_bytes, period)) {
		errno = EINVAL;
		return NULL;
	}
	struct vrng *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->e = malloc(sizeof(*r->e));
	if (!r->e) {
		free(r);
		return NULL;
	}
	r->clk = cfg->clk;
	r->src = cfg->src;
	r->log = cfg->log;
	if (cfg->max_bytes)
		tokenbucket_init(&r->tb, cfg->max_bytes, period * 1000000ull,
				 clk_now_ns(cfg->clk));
	else
		tokenbucket_init(&r->tb, 0, 0, 0);
	clk_timer_init(&r->timer, timer_fired, r);
	struct vdev *vd = &r->vd;
	vd->clk = cfg->clk;
	vd->ops = &rng_ops;
	vd->priv = r;
	vd->device_id = VIRTIO_ID_RNG;
	vd->config_size = 0;
	vd->nqueues = 1;
	vd->queue_max[0] = cfg->queue_size ? cfg->queue_size : VRNG_QUEUE_SIZE;
	vd->gm = cfg->gm;
	vd->log = cfg->log;
	return r;
}

void vrng_free(struct vrng *r)
{
	if (!r)
		return;
	if (clk_timer_armed(&r->timer))
		clk_timer_cancel(r->clk, &r->timer);
	vdev_resume_cancel(&r->vd);
	free(r->e);
	free(r);
}

struct vdev *vrng_vdev(struct vrng *r)
{
	return &r->vd;
}

const struct vrng_stats *vrng_get_stats(const struct vrng *r)
{
	return &r->st;
}

/* ---- snapshot (docs/snapshot.md "virtio-rng") ----
 * A chain that must wait for tokens is put back (vq_unpop), so the rng
 * holds none between entry points: its state is the bucket and timer. */

static int rng_save(struct vdev *vd, struct snap_w *w)
{
	struct vrng *r = to_rng(vd);
	snap_w_begin(w, "virtio-rng", 1);
	snap_w_bool(w, "waiting", r->waiting);
	snap_w_timer(w, "timer", &r->timer);
	snap_w_tokenbucket(w, "rate", &r->tb);
	snap_w_end(w);
	return 0;
}

static int rng_load(struct vdev *vd, struct snap_r *rd)
{
	struct vrng *r = to_rng(vd);
	bool waiting = false;
	struct snap_timer t;
	struct tokenbucket tb;
	snap_r_begin(rd, "virtio-rng", 1, NULL);
	snap_r_bool(rd, "waiting", &waiting);
	snap_r_timer(rd, "timer", &t);
	snap_r_tokenbucket(rd, "rate", &r->tb, &tb);
	snap_r_check(rd, !t.armed || waiting, "timer", "armed while not waiting");
	int rc = snap_r_end(rd);
	if (rc)
		return rc;
	r->waiting = waiting;
	r->tb = tb;
	snap_timer_apply(&t, r->clk, &r->timer);
	return 0;
}
