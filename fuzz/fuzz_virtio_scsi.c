/* libFuzzer target: virtio-scsi requests from a hostile guest (request
 * and response headers, CDBs, data buffers of any shape, control queue
 * TMF/AN requests, raw ring pokes, resets) against in-memory LUs, with
 * backend failures and driver writes of cdb_size/sense_size as host
 * events.  See fuzz_vdev.h for the input format; seeds in
 * fuzz/corpus/virtio_scsi are Linux-like probes (INQUIRY, VPD, REPORT
 * LUNS, READ CAPACITY, MODE SENSE, READ/WRITE, UNMAP, TMF).
 * Invariants: no crash, no sanitizer report, a read-only disk and the
 * CD-ROM are never modified. */
#include <stddef.h>
#include <stdint.h>
#include "core/blockdev.h"
#include "devices/virtio/scsi.h"
#include "fuzz_vdev.h"

#define DISK (64u << 10)
#define CD (16u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct scsi_fz {
	struct blockdev *bd, *cd;
};

static void host(struct fv *f, void *dev, unsigned arg, struct fv_in *in)
{
	struct scsi_fz *z = dev;
	uint32_t v;
	switch (arg & 3) {
	case 0:
		blockdev_mem_fail(z->bd, arg & 4 ? -5 : 0); /* EIO or healthy */
		break;
	case 1: /* the driver resizes the CDB area (any value, also bad) */
		v = fv_u16(in);
		f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config,
						       cdb_size), 4, v);
		break;
	case 2:
		v = fv_u16(in);
		v |= (uint32_t)fv_u8(in) << 16;
		f->d.bus->config_write(&f->d, offsetof(struct virtio_scsi_config,
						       sense_size), 4, v);
		break;
	default: /* a partial config write anywhere in the space */
		v = fv_u8(in);
		f->d.bus->config_write(&f->d, fv_u8(in) % sizeof(struct virtio_scsi_config),
				       1, v);
		break;
	}
}

static bool pattern_kept(struct blockdev *bd, uint64_t size)
{
	for (uint64_t i = 0; i < size; i++)
		if (blockdev_mem_data(bd)[i] != (uint8_t)(i * 13))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fv_in in = { data, size };
	uint8_t cfg = fv_u8(&in);
	bool ro = cfg & 8;
	struct scsi_fz z = { blockdev_mem_new("fz", DISK, ro),
			     blockdev_mem_new("cd", CD, true) };
	for (unsigned i = 0; i < DISK; i++)
		blockdev_mem_data(z.bd)[i] = (uint8_t)(i * 13);
	for (unsigned i = 0; i < CD; i++)
		blockdev_mem_data(z.cd)[i] = (uint8_t)(i * 13);
	struct fv *f = fv_new();
	struct vscsi_config c = { .gm = f->sim->m.gm, .clk = f->sim->m.clk,
				  .queue_size = FV_QSIZE };
	struct vscsi *s = vscsi_new(&c);
	struct vscsi_lun_config l0 = { .target = 0, .lun = 0, .bd = z.bd,
				       .serial = "fz", .dev_id = "fz",
				       .iops_total = cfg & 16 ? 1000 : 0 };
	struct vscsi_lun_config l1 = { .target = 0, .lun = 1, .bd = z.cd,
				       .cdrom = true, .dev_id = "cd" };
	struct vscsi_lun_config l2 = { .target = 2, .lun = 300, .bd = z.bd,
				       .dev_id = "fz2" };
	if (!s || vscsi_add_lun(s, &l0) || vscsi_add_lun(s, &l1) ||
	    vscsi_add_lun(s, &l2))
		abort();
	f->want = ~0ull;
	if (!(cfg & 1))
		f->want &= ~VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (!(cfg & 2))
		f->want &= ~VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (!(cfg & 4))
		f->want &= ~VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (fv_attach(f, vscsi_vdev(s), VSCSI_REQQ + 1))
		fv_run(f, &in, host, &z);
	if ((ro && !pattern_kept(z.bd, DISK)) || !pattern_kept(z.cd, CD))
		abort();
	fv_detach(f);
	vscsi_free(s);
	fv_free(f);
	blockdev_close(z.bd);
	blockdev_close(z.cd);
	return 0;
}
