/* libFuzzer target: virtio-vsock with a hostile guest (packets of any
 * shape on the tx queue: lengths, ops, types, CIDs, ports and credit
 * fields from the input; rx buffers of any shape; ring pokes; resets)
 * and host peers played through the in-memory backend (connect to a
 * guest port, write, drain, close).  Whatever it does, the device's
 * buffers stay within their bounds.  See fuzz_vdev.h for the input
 * format. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "core/vsock_host.h"
#include "devices/virtio/vsock.h"
#include "fuzz_vdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct vsock_host *vh;
	struct vvsock *v;
};

static void host(struct fv *f, void *dev, unsigned arg, struct fv_in *in)
{
	struct fz *z = dev;
	int h = fv_u8(in) % VSOCK_HOST_MAX_CONNS;
	switch (arg & 3) {
	case 0:
		vsock_mem_host_connect(z->vh, fv_u8(in) % 8);
		break;
	case 1: {
		size_t len = fv_u16(in) % sizeof(f->buf);
		size_t k = len < in->n ? len : in->n;
		memset(f->buf, 0, len);
		memcpy(f->buf, in->p, k);
		in->p += k;
		in->n -= k;
		vsock_mem_write(z->vh, h, f->buf, len);
		break;
	}
	case 2:
		while (vsock_mem_read(z->vh, h, f->buf, sizeof(f->buf)) > 0)
			;
		break;
	default:
		vsock_mem_peer_close(z->vh, h);
		break;
	}
	if (vvsock_buffered(z->v) > (uint64_t)VVSOCK_BUF_ALLOC * VVSOCK_MAX_CONNS ||
	    vvsock_conn_count(z->v) > VVSOCK_MAX_CONNS)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fv_in in = { data, size };
	uint8_t cfg = fv_u8(&in);
	struct fz z = { .vh = vsock_mem_new() };
	struct fv *f = fv_new();
	for (uint32_t p = 0; p < 4; p++)
		vsock_mem_listen(z.vh, p, true);
	struct vvsock_config c = { .gm = f->sim->m.gm, .guest_cid = 3,
				   .host = z.vh, .queue_size = FV_QSIZE };
	z.v = vvsock_new(&c);
	f->want = 0;
	if (cfg & 1)
		f->want |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (cfg & 2)
		f->want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (cfg & 4)
		f->want |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (fv_attach(f, vvsock_vdev(z.v), 3))
		fv_run(f, &in, host, &z);
	fv_detach(f);
	vvsock_free(z.v);
	fv_free(f);
	vsock_host_free(z.vh);
	return 0;
}
