/* libFuzzer target: virtio-net transmit and receive with a hostile guest
 * (frames and vnet headers of any shape, receive buffers of any shape,
 * MRG_RXBUF, ring pokes, resets) and host frames injected through the
 * loop backend; with feature bit 0x10, three queue pairs (mq=on) and the
 * control queue, whose commands (pair counts, unknown classes, short
 * chains) come from the input too.  See fuzz_vdev.h for the input
 * format. */
#include <stddef.h>
#include <stdint.h>
#include "core/netdev.h"
#include "devices/virtio/net.h"
#include "fuzz_vdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_PAIRS 3u

static void host(struct fv *f, void *dev, unsigned arg, struct fv_in *in)
{
	struct netdev **nds = dev;
	struct netdev *nd = nds[(arg >> 1) % FZ_PAIRS];
	if (arg & 1) {
		/* Drain what the guest sent. */
		while (netdev_loop_take(nd, f->buf, sizeof(f->buf)) > 0)
			;
		return;
	}
	/* Inject a host frame: u16 length, then bytes (header first). */
	size_t len = fv_u16(in) % (sizeof(f->buf));
	size_t k = len < in->n ? len : in->n;
	memset(f->buf, 0, len);
	memcpy(f->buf, in->p, k);
	in->p += k;
	in->n -= k;
	netdev_loop_inject(nd, f->buf, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fv_in in = { data, size };
	uint8_t cfg = fv_u8(&in);
	bool mq = cfg & 0x10;
	struct netdev *nds[FZ_PAIRS];
	for (unsigned i = 0; i < FZ_PAIRS; i++)
		nds[i] = netdev_loop_new("fz", cfg & 8);
	struct fv *f = fv_new();
	struct vnet_config c = { .gm = f->sim->m.gm, .nd = nds[0], .has_mac = true,
				 .queue_size = FV_QSIZE, .pairs = FZ_PAIRS, .mq = mq };
	for (unsigned i = 1; i < FZ_PAIRS; i++)
		c.nds[i] = nds[i];
	struct vnet *n = vnet_new(&c);
	/* Offload and MRG bits straight from the input. */
	f->want = (uint64_t)fv_u16(&in) | VIRTIO_BIT(VIRTIO_NET_F_MAC);
	if (cfg & 1)
		f->want |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (cfg & 2)
		f->want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (cfg & 4)
		f->want |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (mq && (cfg & 0x20))
		f->want |= VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_BIT(VIRTIO_NET_F_MQ);
	if (fv_attach(f, vnet_vdev(n), mq ? 2 * FZ_PAIRS + 1 : 2))
		fv_run(f, &in, host, nds);
	fv_detach(f);
	vnet_free(n);
	fv_free(f);
	for (unsigned i = 0; i < FZ_PAIRS; i++)
		netdev_close(nds[i]);
	return 0;
}
