/* virtio-blk in the simulator, one core, in-memory disk: 4 KiB random
 * read and write IOPS and 64 KiB sequential read GB/s, the whole path (sim
 * guest driver adds and kicks through virtio-mmio, the device walks the
 * chain and copies between the backend and guest RAM, the driver collects
 * used buffers).  Each figure is printed next to the memcpy bound for the
 * same bytes between two host buffers: the ratio is the figure. */
#include <endian.h>
#include <string.h>
#include "core/blockdev.h"
#include "core/prng.h"
#include "devices/virtio/blk.h"
#include "bench_vdev.h"

#define DISK (64ull << 20)
#define QD 32u
#define DATA_GPA (32ull << 20)
#define RUN_S 0.3

struct rig {
	struct bv *bv;
	struct blockdev *bd;
	struct vblk *b;
	uint64_t hdr[QD], st[QD], data[QD];
};

static struct rig *rig_new(void)
{
	struct rig *r = calloc(1, sizeof(*r));
	r->bv = bv_new(128ull << 20);
	r->bd = blockdev_mem_new("bench", DISK, false);
	memset(blockdev_mem_data(r->bd), 0x5a, DISK);
	struct vblk_config c = { .gm = r->bv->sim->m.gm, .clk = r->bv->sim->m.clk,
				 .bd = r->bd, .queue_size = 256 };
	r->b = vblk_new(&c);
	bv_start(r->bv, vblk_vdev(r->b), 1, 256,
		 VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	for (unsigned i = 0; i < QD; i++) {
		r->hdr[i] = DATA_GPA + i * 64;
		r->st[i] = DATA_GPA + QD * 64 + i;
		r->data[i] = DATA_GPA + (1ull << 20) + i * (64ull << 10);
	}
	return r;
}

static void rig_free(struct rig *r)
{
	bv_detach(r->bv);
	vblk_free(r->b);
	bv_free(r->bv);
	blockdev_close(r->bd);
	free(r);
}

/* Requests per second for `len`-byte requests; random or sequential. */
static double run_vblk(struct rig *r, uint32_t type, uint32_t len, bool random,
		       double *bytes_per_s)
{
	struct prng p;
	prng_seed(&p, 1);
	const struct gm *gm = r->bv->sim->m.gm;
	uint64_t nsec = DISK / 512, seq = 0, done = 0;
	double t0 = bv_now(), t;
	do {
		for (unsigned i = 0; i < QD; i++) {
			uint64_t sector = random ? prng_below(&p, (DISK - len) / 4096) * 8
						 : seq;
			seq = (seq + len / 512) % (nsec - len / 512);
			struct virtio_blk_outhdr h = { htole32(type), 0, htole64(sector) };
			gm_write(gm, r->hdr[i], &h, sizeof(h));
			struct vdq_buf b[3] = {
				{ r->hdr[i], sizeof(h), false },
				{ r->data[i], len, type == VIRTIO_BLK_T_IN },
				{ r->st[i], 1, true },
			};
			if (vdq_add(&r->bv->q[0], b, 3, false) < 0)
				abort();
		}
		bv_kick(r->bv, 0);
		uint16_t id;
		uint32_t ul;
		/* A kick serves one entry's budget (devices/virtio/virtio.h);
		 * the rest comes from the resume timer, as the event loop
		 * would fire it. */
		for (unsigned i = 0, steps = 0; i < QD;) {
			int g = vdq_get_used(&r->bv->q[0], &id, &ul);
			if (g < 0 || ++steps > 1000000)
				abort();
			if (g == 1)
				i++;
			else
				sim_clock_step(r->bv->sim, VDEV_RESUME_NS);
		}
		done += QD;
		t = bv_now() - t0;
	} while (t < RUN_S);
	if (vblk_get_stats(r->b)->ok < done)
		abort(); /* every request must have succeeded */
	*bytes_per_s = (double)done * len / t;
	return (double)done / t;
}

/* The same transfers as plain memcpy between a disk-sized buffer and
 * QD request buffers. */
static double run_memcpy(uint8_t *disk, uint8_t *bufs, uint32_t len, bool write,
			 bool random)
{
	struct prng p;
	prng_seed(&p, 1);
	uint64_t seq = 0, done = 0;
	double t0 = bv_now(), t;
	do {
		for (unsigned i = 0; i < QD; i++) {
			uint64_t off = random ? prng_below(&p, (DISK - len) / 4096) * 4096
					      : seq;
			seq = (seq + len) % (DISK - len);
			uint8_t *b = bufs + (size_t)i * (64u << 10);
			if (write)
				memcpy(disk + off, b, len);
			else
				memcpy(b, disk + off, len);
		}
		__asm__ volatile("" ::: "memory");
		done += QD;
		t = bv_now() - t0;
	} while (t < RUN_S);
	return (double)done / t;
}

static double best(double a, double b)
{
	return a > b ? a : b;
}

int main(void)
{
	struct rig *r = rig_new();
	uint8_t *disk = malloc(DISK), *bufs = malloc((size_t)QD << 16);
	memset(disk, 1, DISK);
	memset(bufs, 2, (size_t)QD << 16);
	double bps, bps2, v, m;

	v = best(run_vblk(r, VIRTIO_BLK_T_IN, 4096, true, &bps),
		 run_vblk(r, VIRTIO_BLK_T_IN, 4096, true, &bps));
	m = best(run_memcpy(disk, bufs, 4096, false, true),
		 run_memcpy(disk, bufs, 4096, false, true));
	printf("BENCH vblk_randread_4k %.0f IOPS vs memcpy %.0f IOPS ratio %.3f\n",
	       v, m, v / m);
	v = best(run_vblk(r, VIRTIO_BLK_T_OUT, 4096, true, &bps),
		 run_vblk(r, VIRTIO_BLK_T_OUT, 4096, true, &bps));
	m = best(run_memcpy(disk, bufs, 4096, true, true),
		 run_memcpy(disk, bufs, 4096, true, true));
	printf("BENCH vblk_randwrite_4k %.0f IOPS vs memcpy %.0f IOPS ratio %.3f\n",
	       v, m, v / m);
	run_vblk(r, VIRTIO_BLK_T_IN, 65536, false, &bps);
	run_vblk(r, VIRTIO_BLK_T_IN, 65536, false, &bps2);
	bps = best(bps, bps2);
	m = best(run_memcpy(disk, bufs, 65536, false, false),
		 run_memcpy(disk, bufs, 65536, false, false)) * 65536;
	printf("BENCH vblk_seqread_64k %.2f GB/s vs memcpy %.2f GB/s ratio %.3f\n",
	       bps / 1e9, m / 1e9, bps / m);
	free(disk);
	free(bufs);
	rig_free(r);
	return 0;
}
