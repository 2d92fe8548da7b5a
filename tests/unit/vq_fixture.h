/* Shared by the virtqueue unit tests: a sim guest memory with a driver
 * ring (sim/vdriver_queue) and the device's struct vq on it, plus helpers
 * to read the used ring the way a driver would.  static inline helpers only. */
#ifndef VMM_TESTS_VQ_FIXTURE_H
#define VMM_TESTS_VQ_FIXTURE_H

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/gm.h"
#include "core/log.h"
#include "core/prng.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/virtio.h"
#include "sim/vdriver_queue.h"

#define FX_RAM_SIZE (8u << 20)
#define FX_RING_GPA 0x10000u
#define FX_DATA_GPA 0x400000u /* buffers live from here */
#define FX_SPLIT_FEATURES \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))
#define FX_PACKED_FEATURES (FX_SPLIT_FEATURES | VIRTIO_BIT(VIRTIO_F_RING_PACKED))

struct fx {
	struct gm *gm;
	struct log *log;
	struct vdq dq;
	struct vq vq;
	struct vq_elem *e;
	uint64_t features;
};

static inline struct fx *fx_new(uint16_t size, uint64_t features)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vq_config cfg;

	assert_non_null(f);
	f->gm = gm_new();
	assert_non_null(f->gm);
	assert_int_equal(gm_add_heap(f->gm, 0, FX_RAM_SIZE, 0, "ram"), 0);
	f->log = log_new_memory(LOG_DEBUG);
	f->e = calloc(1, sizeof(*f->e));
	assert_non_null(f->e);
	f->features = features;
	assert_int_equal(vdq_init(&f->dq, f->gm, FX_RING_GPA, size, features), 0);
	vdq_config(&f->dq, &cfg);
	assert_int_equal(vq_enable(&f->vq, f->gm, f->log, 0, &cfg, features), 0);
	return f;
}

static inline void fx_free(struct fx *f)
{
	gm_free(f->gm);
	log_free(f->log);
	free(f->e);
	free(f);
}

static inline const char *fx_log(const struct fx *f)
{
	const char *t = log_memory_text(f->log);
	return t ? t : "";
}

/* Split: used ring entry i as the driver sees it. */
static inline void fx_used_entry(struct fx *f, uint16_t i, uint32_t *id, uint32_t *len)
{
	struct virtq_used_elem u;

	assert_int_equal(gm_read(f->gm, f->dq.device +
					     offsetof(struct virtq_used, ring) +
					     sizeof(u) * (i % f->dq.size),
				 &u, sizeof(u)), 0);
	*id = le32toh(u.id);
	*len = le32toh(u.len);
}

static inline uint16_t fx_used_idx(struct fx *f)
{
	uint16_t v;

	assert_int_equal(gm_read_u16le(f->gm, f->dq.device +
						   offsetof(struct virtq_used, idx),
				       &v), 0);
	return v;
}

/* What a popped element must look like (struct vq_elem's counters). */
struct fx_shape {
	uint16_t id, ndesc, nout, nin;
	uint32_t out_len, in_len;
};

/* The device pops one chain, and it has this shape. */
static inline void fx_pop_expect(struct fx *f, struct fx_shape want)
{
	assert_int_equal(vq_pop(&f->vq, f->e), 1);
	assert_int_equal(f->e->id, want.id);
	assert_int_equal(f->e->ndesc, want.ndesc);
	assert_int_equal(f->e->nout, want.nout);
	assert_int_equal(f->e->nin, want.nin);
	assert_int_equal(f->e->out_len, want.out_len);
	assert_int_equal(f->e->in_len, want.in_len);
}

/* Fill a buffer with a pattern derived from seed. */
static inline void fx_pattern(struct fx *f, uint64_t gpa, uint32_t len, uint8_t seed)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		assert_int_equal(gm_write_u8(f->gm, gpa + i,
					     (uint8_t)(seed + i * 7)), 0);
}

/* The shape of one randomized ping-pong run: how many buffers a chain may
 * have, how far apart chains' buffers sit, how much the device reads back
 * and replies, and the reply byte. */
struct fx_pp_shape {
	unsigned max_bufs;  /* 1..6 buffers per chain */
	unsigned slots;     /* chains' buffers cycle through this many areas */
	uint64_t stride;    /* bytes between two areas */
	uint32_t read_cap;  /* device checks at most this much (<= 512) */
	uint32_t reply_cap; /* device writes at most this much (<= 64) */
	uint8_t reply_byte;
	bool publish;       /* split: the driver publishes avail idx itself */
};

/* Randomized ping-pong: the driver adds chains of 1..max_bufs buffers
 * (direct or indirect) with patterned data, the device pops in random
 * batches, checks the data, writes a reply and pushes out of order; the
 * driver checks every completion.  Seeded, so a failure reproduces. */
static inline void fx_pingpong(uint64_t features, uint16_t size, uint64_t seed,
			       const struct fx_pp_shape *s)
{
	struct fx *f = fx_new(size, features);
	struct prng p;
	struct vq_elem *held = calloc(8, sizeof(*held));
	unsigned nheld = 0, done = 0, added = 0;
	uint32_t expect_len[VQ_MAX_SIZE];
	uint8_t buf[512];

	assert_non_null(held);
	assert_true(s->max_bufs >= 1 && s->max_bufs <= 6);
	assert_true(s->read_cap <= sizeof(buf) && s->reply_cap <= 64);
	prng_seed(&p, seed);
	for (unsigned round = 0; round < 3000; round++) {
		unsigned op = (unsigned)prng_below(&p, 4);

		if (op <= 1) {
			struct vdq_buf b[6];
			unsigned n = 1 + (unsigned)prng_below(&p, s->max_bufs);
			unsigned nout = (unsigned)prng_below(&p, n + 1);
			uint64_t base = FX_DATA_GPA +
					(uint64_t)(added % s->slots) * s->stride;
			uint32_t in = 0;
			int id;

			for (unsigned j = 0; j < n; j++) {
				b[j].gpa = base + j * 0x400;
				b[j].len = 1 + (uint32_t)prng_below(&p, 0x3ff);
				b[j].write = j >= nout;
				if (b[j].write)
					in += b[j].len;
				else
					fx_pattern(f, b[j].gpa, b[j].len,
						   (uint8_t)added);
			}
			id = vdq_add(&f->dq, b, n, prng_below(&p, 3) == 0);
			if (id == -ENOSPC)
				continue;
			assert_true(id >= 0);
			expect_len[id] = in < s->reply_cap ? in : s->reply_cap;
			added++;
			if (s->publish)
				vdq_publish(&f->dq);
			vdq_kick_prepare(&f->dq);
		} else if (op == 2) {
			while (nheld < 8) {
				struct vq_elem *e = &held[nheld];
				int r = vq_pop(&f->vq, e);
				uint32_t l;

				assert_true(r >= 0);
				if (r == 0)
					break;
				/* The first readable byte identifies the
				 * pattern; all of it must match. */
				l = e->out_len < s->read_cap ? e->out_len : s->read_cap;
				assert_int_equal(vq_elem_read(f->gm, e, 0, buf, l), 0);
				for (uint32_t k = 1; k < l && k < e->seg[0].len; k++)
					assert_int_equal(buf[k],
							 (uint8_t)(buf[0] + k * 7));
				nheld++;
				if (prng_below(&p, 2))
					break;
			}
		} else if (nheld) {
			unsigned k = (unsigned)prng_below(&p, nheld);
			struct vq_elem *e = &held[k];
			uint32_t w = e->in_len < s->reply_cap ? e->in_len : s->reply_cap;

			memset(buf, s->reply_byte, w);
			assert_int_equal(vq_elem_write(f->gm, e, 0, buf, w), 0);
			assert_int_equal(vq_push(&f->vq, e, w), 0);
			vq_should_notify(&f->vq);
			held[k] = held[--nheld];
		}
		for (;;) {
			uint16_t id;
			uint32_t len;
			int r = vdq_get_used(&f->dq, &id, &len);

			assert_true(r >= 0);
			if (r == 0)
				break;
			assert_int_equal(len, expect_len[id]);
			done++;
		}
	}
	assert_true(done > 300);
	assert_int_equal(vdq_outstanding(&f->dq), added - done);
	assert_false(f->vq.broken);
	free(held);
	fx_free(f);
}

#endif
