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

/* Fill a buffer with a pattern derived from seed. */
static inline void fx_pattern(struct fx *f, uint64_t gpa, uint32_t len, uint8_t seed)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		assert_int_equal(gm_write_u8(f->gm, gpa + i,
					     (uint8_t)(seed + i * 7)), 0);
}

#endif
