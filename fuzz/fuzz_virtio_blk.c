/* libFuzzer target: virtio-blk requests from a hostile guest (header,
 * data and status buffers of any shape, raw ring pokes, resets) against
 * an in-memory disk (one queue, or two with VIRTIO_BLK_F_MQ), with
 * backend failures and throttling as host events.
 * See fuzz_vdev.h for the input format.  Invariants: no crash, no
 * sanitizer report, and a read-only disk is never modified. */
#include <stddef.h>
#include <stdint.h>
#include "core/blockdev.h"
#include "devices/virtio/blk.h"
#include "fuzz_vdev.h"

#define DISK (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void host(struct fv *f, void *dev, unsigned arg, struct fv_in *in)
{
	(void)f;
	(void)in;
	blockdev_mem_fail(dev, arg & 1 ? -5 : 0); /* EIO or healthy */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fv_in in = { data, size };
	uint8_t cfg = fv_u8(&in);
	bool ro = cfg & 8;
	struct blockdev *bd = blockdev_mem_new("fz", DISK, ro);
	for (unsigned i = 0; i < DISK; i++)
		blockdev_mem_data(bd)[i] = (uint8_t)i;
	struct fv *f = fv_new();
	struct vblk_config c = { .gm = f->sim->m.gm, .clk = f->sim->m.clk, .bd = bd,
				 .serial = "fuzz", .iops_total = cfg & 16 ? 1000 : 0,
				 .queue_size = FV_QSIZE,
				 .num_queues = cfg & 32 ? 2 : 1 };
	struct vblk *b = vblk_new(&c);
	f->want = ~0ull;
	if (!(cfg & 1))
		f->want &= ~VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (!(cfg & 2))
		f->want &= ~VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (!(cfg & 4))
		f->want &= ~VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (fv_attach(f, vblk_vdev(b), cfg & 32 ? 2 : 1))
		fv_run(f, &in, host, bd);
	if (ro)
		for (unsigned i = 0; i < DISK; i++)
			if (blockdev_mem_data(bd)[i] != (uint8_t)i)
				abort();
	fv_detach(f);
	vblk_free(b);
	fv_free(f);
	blockdev_close(bd);
	return 0;
}
