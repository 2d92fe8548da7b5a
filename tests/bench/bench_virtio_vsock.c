/* virtio-vsock stream throughput in the simulator, one core, with the
 * in-memory host backend playing the host peer: guest -> host (the
 * driver sends 4 KiB RW packets, the peer reads them) and host -> guest
 * (the peer writes, the device fills 4 KiB receive buffers, the driver
 * returns credit as it consumes).  Batches of 16 packets. */
#include <endian.h>
#include <string.h>
#include "core/vsock_host.h"
#include "devices/virtio/vsock.h"
#include "bench_vdev.h"

#define BATCH 16u
#define PKT 4096u
#define HL ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define DATA_GPA (32ull << 20)
#define RUN_S 0.3

static struct virtio_vsock_hdr hdr(uint16_t op, uint32_t len, uint32_t fwd)
{
	struct virtio_vsock_hdr h = {
		.src_cid = htole64(3), .dst_cid = htole64(VSOCK_HOST_CID),
		.src_port = htole32(100), .dst_port = htole32(1),
		.len = htole32(len), .type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
		.op = htole16(op), .buf_alloc = htole32(1u << 20),
		.fwd_cnt = htole32(fwd),
	};
	return h;
}

static double run(bool to_host)
{
	struct bv *bv = bv_new(64ull << 20);
	struct vsock_host *vh = vsock_mem_new();
	vsock_mem_listen(vh, 1, true);
	struct vvsock_config c = { .gm = bv->sim->m.gm, .guest_cid = 3, .host = vh,
				   .queue_size = 64 };
	struct vvsock *v = vvsock_new(&c);
	bv_start(bv, vvsock_vdev(v), 3, 64, VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	const struct gm *gm = bv->sim->m.gm;
	uint64_t tx = DATA_GPA, rx = DATA_GPA + (4ull << 20);
	static uint8_t pkt[HL + PKT], sink[VSOCK_MEM_CAP];
	uint16_t id;
	uint32_t ul;
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 0, 0);
	gm_write(gm, tx, &h, HL);
	struct vdq_buf b = { tx, HL, false };
	for (unsigned i = 0; i < BATCH; i++) {
		struct vdq_buf r = { rx + i * 8192ull, HL + PKT, true };
		vdq_add(&bv->q[VVSOCK_RXQ], &r, 1, false);
	}
	bv_kick(bv, VVSOCK_RXQ);
	vdq_add(&bv->q[VVSOCK_TXQ], &b, 1, false);
	bv_kick(bv, VVSOCK_TXQ);
	if (vdq_get_used(&bv->q[VVSOCK_TXQ], &id, &ul) != 1 ||
	    vdq_get_used(&bv->q[VVSOCK_RXQ], &id, &ul) != 1)
		abort();   /* the RESPONSE */
	vdq_add(&bv->q[VVSOCK_RXQ], &(struct vdq_buf){ rx + id * 8192ull, HL + PKT, true },
		1, false);
	int hd = vsock_mem_find(vh, 1);
	uint64_t bytes = 0;
	uint32_t fwd = 0;
	memset(pkt + HL, 0x5a, PKT);
	for (unsigned i = 0; i < BATCH; i++) {
		h = hdr(VIRTIO_VSOCK_OP_RW, PKT, 0);
		memcpy(pkt, &h, HL);
		gm_write(gm, tx + i * 8192ull, pkt, HL + PKT);
	}
	double t0 = bv_now(), t;
	do {
		if (to_host) {
			for (unsigned i = 0; i < BATCH; i++) {
				struct vdq_buf w = { tx + i * 8192ull, HL + PKT, false };
				if (vdq_add(&bv->q[VVSOCK_TXQ], &w, 1, false) < 0)
					abort();
			}
			bv_kick(bv, VVSOCK_TXQ);
			while (vdq_get_used(&bv->q[VVSOCK_TXQ], &id, &ul) == 1)
				;
			size_t n;
			while ((n = vsock_mem_read(vh, hd, sink, sizeof(sink))) > 0)
				bytes += n;
			/* Credit updates the device sends back. */
			while (vdq_get_used(&bv->q[VVSOCK_RXQ], &id, &ul) == 1)
				vdq_add(&bv->q[VVSOCK_RXQ],
					&(struct vdq_buf){ rx + id * 8192ull, HL + PKT, true }, 1, false);
			bv_kick(bv, VVSOCK_RXQ);
		} else {
			vsock_mem_write(vh, hd, sink, sizeof(sink));
			while (vdq_get_used(&bv->q[VVSOCK_RXQ], &id, &ul) == 1) {
				bytes += ul - HL;
				fwd += ul - HL;
				vdq_add(&bv->q[VVSOCK_RXQ],
					&(struct vdq_buf){ rx + id * 8192ull, HL + PKT, true }, 1, false);
			}
			bv_kick(bv, VVSOCK_RXQ);
			h = hdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, fwd);
			gm_write(gm, tx, &h, HL);
			vdq_add(&bv->q[VVSOCK_TXQ], &b, 1, false);
			bv_kick(bv, VVSOCK_TXQ);
			while (vdq_get_used(&bv->q[VVSOCK_TXQ], &id, &ul) == 1)
				;
		}
		t = bv_now() - t0;
	} while (t < RUN_S);
	if (!bytes)
		abort();
	bv_detach(bv);
	vvsock_free(v);
	vsock_host_free(vh);
	bv_free(bv);
	return (double)bytes / t / 1e6;
}

int main(void)
{
	double a = run(true), b = run(true);
	printf("BENCH vsock_guest_to_host %.0f MB/s\n", a > b ? a : b);
	a = run(false);
	b = run(false);
	printf("BENCH vsock_host_to_guest %.0f MB/s\n", a > b ? a : b);
	return 0;
}
