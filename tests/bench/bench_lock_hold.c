/* The longest one device entry point runs (a kick, or a resume timer on
 * the simulator's clock) while a hostile driver's request is served to the
 * end: the time the machine lock would be held in one go.  Per device:
 * rng and console get one chain of 64 descriptors x 4 MiB naming the same
 * memory (256 MiB asked), blk a full ring of 1 MiB reads, net a full ring
 * of 64 KiB frames, balloon a full ring of 4096-PFN buffers.  A figure,
 * not a gate; it aborts only if the work never ends (an unbounded loop).
 * Measured as the thread's CPU time per entry: on a shared machine wall
 * time adds whatever preemption happened to hit the longest entry, which
 * is noise, not work done under the lock. */
#include <string.h>
#include "bench_vdev.h"
#include "core/blockdev.h"
#include "core/entropy.h"
#include "core/netdev.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"

#define QSZ 256u
#define MIB (1u << 20)
#define MAX_STEPS 1000000u

static double worst;

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void timed_kick(struct bv *b, unsigned q)
{
	double t0 = cpu_now();
	vdq_publish(&b->q[q]);
	vdq_kick_prepare(&b->q[q]);
	b->d.bus->kick(&b->d, q);
	double dt = cpu_now() - t0;
	if (dt > worst)
		worst = dt;
}

/* Fire resume timers one at a time until none is left. */
static void drain(struct bv *b)
{
	for (unsigned i = 0; sim_next_deadline(b->sim) != UINT64_MAX; i++) {
		if (i == MAX_STEPS)
			abort(); /* never ends: an unbounded loop */
		double t0 = cpu_now();
		sim_clock_step(b->sim, sim_next_deadline(b->sim) - b->sim->now_ns);
		double dt = cpu_now() - t0;
		if (dt > worst)
			worst = dt;
	}
}

static void report(const char *dev)
{
	printf("BENCH lock_hold_%s %.0f us\n", dev, worst * 1e6);
	worst = 0;
}

static void huge_chain(struct bv *b, unsigned q, uint64_t gpa, bool write)
{
	struct vdq_buf v[64];
	for (unsigned i = 0; i < 64; i++)
		v[i] = (struct vdq_buf){ gpa, 4 * MIB, write };
	if (vdq_add(&b->q[q], v, 64, false) < 0)
		abort();
	timed_kick(b, q);
	drain(b);
}

static void bench_rng(void)
{
	struct bv *b = bv_new(64 * MIB);
	struct entropy *src = entropy_prng_new("e", 1);
	struct vrng_config c = { .gm = b->sim->m.gm, .clk = b->sim->m.clk,
				 .src = src, .queue_size = QSZ };
	struct vrng *r = vrng_new(&c);
	bv_start(b, vrng_vdev(r), 1, QSZ, 0);
	huge_chain(b, 0, 32 * MIB, true);
	report("rng");
	bv_detach(b);
	vrng_free(r);
	entropy_close(src);
	bv_free(b);
}

static void bench_console(void)
{
	struct bv *b = bv_new(64 * MIB);
	struct vcon_config c = { .gm = b->sim->m.gm, .clk = b->sim->m.clk,
				 .queue_size = QSZ };
	struct vcon *con = vcon_new(&c);
	vcon_add_port(con, 0, NULL, true, NULL);
	bv_start(b, vcon_vdev(con), 2, QSZ, 0);
	huge_chain(b, 1, 32 * MIB, false);
	report("console");
	bv_detach(b);
	vcon_free(con);
	bv_free(b);
}

static void bench_blk(void)
{
	struct bv *b = bv_new(64 * MIB);
	struct blockdev *bd = blockdev_mem_new("d", 64 * MIB, false);
	struct vblk_config c = { .gm = b->sim->m.gm, .clk = b->sim->m.clk,
				 .bd = bd, .queue_size = QSZ };
	struct vblk *v = vblk_new(&c);
	bv_start(b, vblk_vdev(v), 1, QSZ, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_IN) };
	uint64_t hdr = 32 * MIB, data = 33 * MIB, st = 40 * MIB;
	gm_write(b->sim->m.gm, hdr, &h, sizeof(h));
	for (unsigned i = 0; i < QSZ; i++) {
		struct vdq_buf s[3] = { { hdr, sizeof(h), false },
					{ data, MIB, true }, { st + i, 1, true } };
		if (vdq_add(&b->q[0], s, 3, true) < 0)
			abort();
	}
	timed_kick(b, 0);
	drain(b);
	report("blk");
	bv_detach(b);
	vblk_free(v);
	blockdev_close(bd);
	bv_free(b);
}

static void bench_net(void)
{
	struct bv *b = bv_new(64 * MIB);
	struct netdev *nd = netdev_loop_new("n", false);
	struct vnet_config c = { .gm = b->sim->m.gm, .clk = b->sim->m.clk,
				 .nd = nd, .queue_size = QSZ };
	struct vnet *n = vnet_new(&c);
	bv_start(b, vnet_vdev(n), 2, QSZ, 0);
	for (unsigned i = 0; i < QSZ; i++) {
		struct vdq_buf s = { 32 * MIB, 65000, false };
		if (vdq_add(&b->q[VNET_TXQ], &s, 1, false) < 0)
			abort();
	}
	timed_kick(b, VNET_TXQ);
	drain(b);
	report("net");
	bv_detach(b);
	vnet_free(n);
	netdev_close(nd);
	bv_free(b);
}

static void bench_balloon(void)
{
	struct bv *b = bv_new(64 * MIB);
	struct balloon_config c = { .gm = b->sim->m.gm, .clk = b->sim->m.clk,
				    .queue_size = QSZ };
	struct balloon *bl = balloon_new(&c);
	bv_start(b, balloon_vdev(bl), 2, QSZ, 0);
	uint32_t pfns[4096];
	for (unsigned i = 0; i < 4096; i++)
		pfns[i] = htole32(i + 1024);
	gm_write(b->sim->m.gm, 32 * MIB, pfns, sizeof(pfns));
	for (unsigned i = 0; i < QSZ; i++) {
		struct vdq_buf s = { 32 * MIB, sizeof(pfns), false };
		if (vdq_add(&b->q[BALLOON_INFLATEQ], &s, 1, false) < 0)
			abort();
	}
	timed_kick(b, BALLOON_INFLATEQ);
	drain(b);
	report("balloon");
	bv_detach(b);
	balloon_free(bl);
	bv_free(b);
}

int main(void)
{
	bench_rng();
	bench_console();
	bench_blk();
	bench_net();
	bench_balloon();
	return 0;
}
