/* Virtqueue throughput in the simulator, one core: chains per second that
 * the sim guest driver adds and publishes, the device pops (walks and
 * validates) and pushes back, and the driver collects, for 1- and
 * 4-descriptor chains on split and packed rings (256 entries, batches of
 * 32, EVENT_IDX on, one notify check per batch as a device would).
 * The 4-descriptor rows also run as one indirect descriptor. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "core/gm.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/virtio.h"
#include "sim/vdriver_queue.h"

#define RING_GPA 0x10000u
#define DATA_GPA 0x200000u
#define QSIZE 256
#define BATCH 32

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Chains/s, best of 3 runs of ~100 ms. */
static double bench_run(bool packed, unsigned ndesc, bool indirect)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			    VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			    VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
			    (packed ? VIRTIO_BIT(VIRTIO_F_RING_PACKED) : 0);
	struct gm *gm = gm_new();
	struct vdq *dq = calloc(1, sizeof(*dq));
	struct vq *vq = calloc(1, sizeof(*vq));
	struct vq_elem *e = calloc(1, sizeof(*e));
	struct vdq_buf b[4];
	struct vq_config cfg;
	double best = 0;

	if (!gm || !dq || !vq || !e || gm_add_heap(gm, 0, 16u << 20, 0, "ram") ||
	    vdq_init(dq, gm, RING_GPA, QSIZE, features))
		abort();
	vdq_config(dq, &cfg);
	if (vq_enable(vq, gm, NULL, 0, &cfg, features))
		abort();
	for (unsigned j = 0; j < ndesc; j++) {
		b[j].gpa = DATA_GPA + j * 0x1000;
		b[j].len = 512;
		b[j].write = j + 1 == ndesc; /* request..., then status */
	}
	for (int rep = 0; rep < 3; rep++) {
		uint64_t chains = 0;
		double t0 = bench_now(), t1;

		do {
			for (int k = 0; k < 64; k++) {
				unsigned i;
				uint16_t id;
				uint32_t len;

				for (i = 0; i < BATCH; i++)
					if (vdq_add(dq, b, ndesc, indirect) < 0)
						abort();
				vdq_publish(dq);
				vdq_kick_prepare(dq);
				for (i = 0; i < BATCH; i++) {
					if (vq_pop(vq, e) != 1 ||
					    vq_push(vq, e, 1))
						abort();
				}
				vq_should_notify(vq);
				for (i = 0; i < BATCH; i++)
					if (vdq_get_used(dq, &id, &len) != 1)
						abort();
				chains += BATCH;
			}
			t1 = bench_now();
		} while (t1 - t0 < 0.1);
		if (chains / (t1 - t0) > best)
			best = chains / (t1 - t0);
	}
	free(e);
	free(vq);
	free(dq);
	gm_free(gm);
	return best;
}

int main(void)
{
	static const struct {
		const char *name;
		bool packed;
		unsigned ndesc;
		bool indirect;
	} rows[] = {
		{ "vq_split_1desc", false, 1, false },
		{ "vq_split_4desc", false, 4, false },
		{ "vq_split_4desc_indirect", false, 4, true },
		{ "vq_packed_1desc", true, 1, false },
		{ "vq_packed_4desc", true, 4, false },
		{ "vq_packed_4desc_indirect", true, 4, true },
	};

	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		printf("BENCH %s %.0f chains/s\n", rows[i].name,
		       bench_run(rows[i].packed, rows[i].ndesc,
				 rows[i].indirect));
	return 0;
}
