/* Shared by the virtio device benchmarks: a simulated machine with the
 * device on virtio-mmio and the sim guest driver, set up without a test
 * framework (any failure aborts: a benchmark that cannot run has no
 * figure to report). */
#ifndef VMM_BENCH_VDEV_H
#define VMM_BENCH_VDEV_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "core/bus.h"
#include "core/gm.h"
#include "core/layout.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "sim/vdriver_queue.h"

struct bv {
	struct sim *sim;
	struct virtio_mmio *mmio;
	struct vdriver d;
	struct vdq q[4];
};

static inline double bv_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline struct bv *bv_new(uint64_t ram)
{
	struct bv *b = calloc(1, sizeof(*b));
	struct sim_config sc = { .ram_size = ram, .seed = 1 };
	if (!b || !(b->sim = sim_new(&sc)))
		abort();
	return b;
}

static inline void bv_start(struct bv *b, struct vdev *vd, unsigned nq,
			    uint16_t qsize, uint64_t want)
{
	b->mmio = virtio_mmio_new(b->sim->m.gm, NULL,
				  irq_line(b->sim->m.irqchip, 5), vd);
	if (!b->mmio || bus_register(b->sim->m.mmio, LAYOUT_VIRTIO_MMIO_BASE,
				     VIRTIO_MMIO_WINDOW, virtio_mmio_access,
				     b->mmio, "virtio-mmio") ||
	    vdriver_mmio_probe(&b->d, b->sim, LAYOUT_VIRTIO_MMIO_BASE, 5) ||
	    vdriver_negotiate(&b->d, want | VIRTIO_BIT(VIRTIO_F_VERSION_1)))
		abort();
	for (unsigned q = 0; q < nq; q++)
		if (vdriver_setup_queue(&b->d, q, &b->q[q], qsize))
			abort();
	vdriver_driver_ok(&b->d);
}

static inline void bv_detach(struct bv *b)
{
	bus_unregister(b->sim->m.mmio, LAYOUT_VIRTIO_MMIO_BASE, b->mmio);
	virtio_mmio_free(b->mmio);
}

static inline void bv_free(struct bv *b)
{
	sim_free(b->sim);
	free(b);
}

static inline void bv_kick(struct bv *b, unsigned q)
{
	vdq_publish(&b->q[q]);
	if (vdq_kick_prepare(&b->q[q]))
		b->d.bus->kick(&b->d, q);
}

#endif
