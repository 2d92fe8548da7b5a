/* virtio-scsi in the simulator, one core, in-memory disk: 4 KiB random
 * READ(10)/WRITE(10) IOPS and 64 KiB sequential read GB/s through the
 * whole path (sim guest driver on virtio-mmio, request/response headers,
 * the SCSI command emulation, data copies), each next to virtio-blk
 * doing the same transfers on the same kind of rig: the ratio is what
 * the SCSI layer costs. */
#include <endian.h>
#include <string.h>
#include "core/blockdev.h"
#include "core/prng.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/scsi.h"
#include "devices/virtio/scsi_disk.h"
#include "bench_vdev.h"

#define DISK (64ull << 20)
#define QD 32u
#define DATA_GPA (32ull << 20)
#define RUN_S 0.3
#define RESP_LEN (sizeof(struct virtio_scsi_resp_cmd) + VIRTIO_SCSI_SENSE_DEFAULT_SIZE)
#define REQ_LEN (sizeof(struct virtio_scsi_req_cmd) + VIRTIO_SCSI_CDB_DEFAULT_SIZE)

struct rig {
	struct bv *bv;
	struct blockdev *bd;
	struct vscsi *s;
	struct vblk *b;
	unsigned q;
	uint64_t hdr[QD], st[QD], data[QD];
};

static struct rig *rig_new(bool scsi)
{
	struct rig *r = calloc(1, sizeof(*r));
	r->bv = bv_new(128ull << 20);
	r->bd = blockdev_mem_new("bench", DISK, false);
	memset(blockdev_mem_data(r->bd), 0x5a, DISK);
	const struct gm *gm = r->bv->sim->m.gm;
	if (scsi) {
		struct vscsi_config c = { .gm = gm, .clk = r->bv->sim->m.clk,
					  .queue_size = 256 };
		struct vscsi_lun_config l = { .bd = r->bd, .dev_id = "bench" };
		r->s = vscsi_new(&c);
		if (!r->s || vscsi_add_lun(r->s, &l))
			abort();
		bv_start(r->bv, vscsi_vdev(r->s), 3, 256, VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
		r->q = VSCSI_REQQ;
	} else {
		struct vblk_config c = { .gm = gm, .clk = r->bv->sim->m.clk,
					 .bd = r->bd, .queue_size = 256 };
		r->b = vblk_new(&c);
		bv_start(r->bv, vblk_vdev(r->b), 1, 256,
			 VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	}
	for (unsigned i = 0; i < QD; i++) {
		r->hdr[i] = DATA_GPA + i * 64;
		r->st[i] = DATA_GPA + QD * 64 + i * 128;
		r->data[i] = DATA_GPA + (1ull << 20) + i * (64ull << 10);
	}
	return r;
}

static void rig_free(struct rig *r)
{
	bv_detach(r->bv);
	if (r->s)
		vscsi_free(r->s);
	if (r->b)
		vblk_free(r->b);
	bv_free(r->bv);
	blockdev_close(r->bd);
	free(r);
}

/* Queue one request i: lba in 512-byte blocks, len bytes. */
static void add_req(struct rig *r, unsigned i, bool write, uint64_t lba, uint32_t len)
{
	const struct gm *gm = r->bv->sim->m.gm;
	if (r->s) {
		uint8_t h[REQ_LEN] = { 1, 0, 0x40, 0 };
		uint8_t *c = h + sizeof(struct virtio_scsi_req_cmd);
		c[0] = write ? SCSI_WRITE_10 : SCSI_READ_10;
		c[2] = (uint8_t)(lba >> 24); c[3] = (uint8_t)(lba >> 16);
		c[4] = (uint8_t)(lba >> 8); c[5] = (uint8_t)lba;
		c[7] = (uint8_t)((len / 512) >> 8); c[8] = (uint8_t)(len / 512);
		gm_write(gm, r->hdr[i], h, sizeof(h));
		struct vdq_buf b[3] = { { r->hdr[i], REQ_LEN, false } };
		if (write) {
			b[1] = (struct vdq_buf){ r->data[i], len, false };
			b[2] = (struct vdq_buf){ r->st[i], RESP_LEN, true };
		} else {
			b[1] = (struct vdq_buf){ r->st[i], RESP_LEN, true };
			b[2] = (struct vdq_buf){ r->data[i], len, true };
		}
		if (vdq_add(&r->bv->q[r->q], b, 3, false) < 0)
			abort();
		return;
	}
	struct virtio_blk_outhdr h = { htole32(write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN),
				       0, htole64(lba) };
	gm_write(gm, r->hdr[i], &h, sizeof(h));
	struct vdq_buf b[3] = { { r->hdr[i], sizeof(h), false },
				{ r->data[i], len, !write }, { r->st[i], 1, true } };
	if (vdq_add(&r->bv->q[0], b, 3, false) < 0)
		abort();
}

/* Requests per second for len-byte requests; random or sequential. */
static double run(struct rig *r, bool write, uint32_t len, bool random,
		  double *bytes_per_s)
{
	struct prng p;
	prng_seed(&p, 1);
	uint64_t nsec = DISK / 512, seq = 0, done = 0;
	double t0 = bv_now(), t;
	do {
		for (unsigned i = 0; i < QD; i++) {
			uint64_t lba = random ? prng_below(&p, (DISK - len) / 4096) * 8 : seq;
			seq = (seq + len / 512) % (nsec - len / 512);
			add_req(r, i, write, lba, len);
		}
		bv_kick(r->bv, r->q);
		uint16_t id;
		uint32_t ul;
		for (unsigned i = 0; i < QD; i++)
			if (vdq_get_used(&r->bv->q[r->q], &id, &ul) != 1)
				abort();
		done += QD;
		t = bv_now() - t0;
	} while (t < RUN_S);
	/* Every request must have succeeded: the one CHECK CONDITION is
	 * the power-on unit attention of the very first command. */
	if (r->s && (sdisk_get_stats(vscsi_lun(r->s, 0, 0))->check_conditions > 1 ||
		     vscsi_get_stats(r->s)->overrun || vscsi_get_stats(r->s)->failure))
		abort();
	if (r->b && vblk_get_stats(r->b)->ok != vblk_get_stats(r->b)->requests)
		abort();
	*bytes_per_s = (double)done * len / t;
	return (double)done / t;
}

static double best2(struct rig *r, bool write, uint32_t len, bool random, double *bps)
{
	double b1, b2, v1 = run(r, write, len, random, &b1), v2 = run(r, write, len, random, &b2);
	*bps = b1 > b2 ? b1 : b2;
	return v1 > v2 ? v1 : v2;
}

int main(void)
{
	struct rig *s = rig_new(true), *b = rig_new(false);
	double bps, bbps, v, w;
	/* Clear the power-on unit attention so every timed command moves data. */
	run(s, false, 4096, true, &bps);
	v = best2(s, false, 4096, true, &bps);
	w = best2(b, false, 4096, true, &bbps);
	printf("BENCH vscsi_randread_4k %.0f IOPS vs virtio-blk %.0f IOPS ratio %.3f\n",
	       v, w, v / w);
	v = best2(s, true, 4096, true, &bps);
	w = best2(b, true, 4096, true, &bbps);
	printf("BENCH vscsi_randwrite_4k %.0f IOPS vs virtio-blk %.0f IOPS ratio %.3f\n",
	       v, w, v / w);
	best2(s, false, 65536, false, &bps);
	best2(b, false, 65536, false, &bbps);
	printf("BENCH vscsi_seqread_64k %.2f GB/s vs virtio-blk %.2f GB/s ratio %.3f\n",
	       bps / 1e9, bbps / 1e9, bps / bbps);
	rig_free(s);
	rig_free(b);
	return 0;
}
