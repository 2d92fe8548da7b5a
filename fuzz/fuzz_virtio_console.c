/* libFuzzer target: virtio-console control messages and port traffic from
 * a hostile guest (any control message, any buffer shape, ring pokes,
 * resets), with host-side input, slow output draining and disconnects as
 * host events.  See fuzz_vdev.h for the input format. */
#include <stddef.h>
#include <stdint.h>
#include "core/chardev.h"
#include "devices/virtio/console.h"
#include "fuzz_vdev.h"

#define NPORTS 3u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fcon {
	struct chr *chr[NPORTS];
};

static void host(struct fv *f, void *dev, unsigned arg, struct fv_in *in)
{
	struct fcon *c = dev;
	struct chr *ch = c->chr[arg % NPORTS];
	switch ((arg >> 2) & 3) {
	case 0: {
		size_t len = fv_u8(in);
		size_t k = len < in->n ? len : in->n;
		chr_mem_push_input(ch, in->p, k);
		in->p += k;
		in->n -= k;
		break;
	}
	case 1:
		chr_mem_take_output(ch, f->buf, fv_u16(in) % sizeof(f->buf));
		break;
	case 2:
		chr_fe_connected(ch, !ch->connected);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fv_in in = { data, size };
	uint8_t cfg = fv_u8(&in);
	struct fv *f = fv_new();
	struct vcon_config cc = { .gm = f->sim->m.gm, .max_ports = NPORTS,
				  .queue_size = FV_QSIZE };
	struct vcon *v = vcon_new(&cc);
	struct fcon c;
	for (unsigned i = 0; i < NPORTS; i++) {
		c.chr[i] = chr_mem_new("fz", 64 + i * 1000);
		vcon_add_port(v, i, i == 2 && (cfg & 8) ? NULL : c.chr[i], i == 0,
			      i == 1 ? "org.fuzz.1" : NULL);
	}
	f->want = VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE);
	if (!(cfg & 16))
		f->want |= VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT);
	if (cfg & 1)
		f->want |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (cfg & 2)
		f->want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (cfg & 4)
		f->want |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (fv_attach(f, vcon_vdev(v), (cfg & 16) ? 2 : 2 + 2 * NPORTS))
		fv_run(f, &in, host, &c);
	fv_detach(f);
	vcon_free(v);
	fv_free(f);
	for (unsigned i = 0; i < NPORTS; i++)
		chr_close(c.chr[i]);
	return 0;
}
