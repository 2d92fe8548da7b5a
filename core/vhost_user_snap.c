/* Stopping a vhost-user device's rings for a save, and checking a base a
 * load hands back (vhost_user.h, docs/snapshot.md "vhost-user").
 *
 * The backend is untrusted: its GET_VRING_BASE answer is checked against
 * the ring in guest RAM before it is saved, and a restored base is
 * checked the same way before a new backend is told to start from it.
 * The wait for the backend's last requests is bounded by the
 * connection's timeout, like every other exchange with it. */
#include "core/vhost_user.h"
#include "core/gm.h"

#include <stdio.h>
#include <time.h>

/* virtio 1.2 §2.7.6 / §2.7.8: flags then idx, both le16, in the avail
 * and used rings. */
#define RING_IDX_OFF 2u

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ring_idx(const struct gm *gm, uint64_t ring, uint16_t *idx)
{
	return gm_read_u16le(gm, ring + RING_IDX_OFF, idx);
}

int vhu_check_base(const struct gm *gm, const struct vhu_vring *v, bool packed,
		   char *why, size_t whylen)
{
	if (packed) {
		/* vhost-user.rst "Vring descriptor indices for packed
		 * virtqueues": bits 0-14 and 16-30 are indices below the
		 * size, 15 and 31 the wrap counters. */
		if ((v->base & 0x7fffu) >= v->num || ((v->base >> 16) & 0x7fffu) >= v->num) {
			snprintf(why, whylen, "base 0x%x has an index beyond the ring size %u",
				 v->base, v->num);
			return -1;
		}
		return 0;
	}
	uint16_t avail = 0, used = 0;
	if (v->base > 0xffffu) {
		snprintf(why, whylen, "base 0x%x sets reserved bits (split rings use 16)",
			 v->base);
		return -1;
	}
	if (ring_idx(gm, v->avail_gpa, &avail) || ring_idx(gm, v->used_gpa, &used)) {
		snprintf(why, whylen, "the ring is outside guest RAM");
		return -1;
	}
	/* The backend has taken base - used chains and not used them; it
	 * cannot have taken more than the driver made available. */
	uint16_t taken = (uint16_t)(v->base - used), posted = (uint16_t)(avail - used);
	if (taken > posted || taken > v->num) {
		snprintf(why, whylen, "base %u is not between the used index %u and the avail index %u",
			 v->base, used, avail);
		return -1;
	}
	return 0;
}

int vhu_stop_for_save(struct vhu *c, const struct gm *gm, unsigned nq,
		      const struct vhu_vring *rings, bool packed,
		      uint32_t *bases, char *why, size_t whylen)
{
	char w[160];
	for (unsigned q = 0; q < nq && q < VHU_MAX_QUEUES; q++) {
		bases[q] = 0;
		if (!vhu_ring_started(c, q))
			continue;
		if (vhu_get_vring_base(c, q, &bases[q]) < 0) {
			snprintf(why, whylen, "ring %u: the backend did not say where it stopped (GET_VRING_BASE; see the log)",
				 q);
			return -1;
		}
		struct vhu_vring v = rings[q];
		v.base = bases[q];
		if (vhu_check_base(gm, &v, packed, w, sizeof(w)) < 0) {
			snprintf(why, whylen, "ring %u: the backend's GET_VRING_BASE answer is false: %s",
				 q, w);
			vhu_break(c, why);
			return -1;
		}
	}
	if (packed)
		return 0;   /* no backend we run offers packed rings to drain */
	/* Requests the backend took before it stopped finish on their own
	 * (libvhost-user completes them after GET_VRING_BASE); the saved
	 * RAM must hold them used, or the restored guest would wait for
	 * them forever. */
	int64_t deadline = mono_ms() + vhu_timeout(c);
	for (unsigned q = 0; q < nq && q < VHU_MAX_QUEUES; q++) {
		if (!rings[q].num)
			continue;
		for (;;) {
			uint16_t used = 0;
			if (ring_idx(gm, rings[q].used_gpa, &used)) {
				snprintf(why, whylen, "ring %u: the used ring is outside guest RAM", q);
				return -1;
			}
			uint16_t left = (uint16_t)(bases[q] - used);
			if (!left)
				break;
			if (mono_ms() >= deadline) {
				snprintf(why, whylen, "ring %u: the backend still holds %u request%s after stopping (waited %d ms)",
					 q, left, left == 1 ? "" : "s", vhu_timeout(c));
				return -1;
			}
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
	}
	return 0;
}
