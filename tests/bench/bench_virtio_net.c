/* virtio-net packets per second in the simulator, one core, through the
 * loop backend in loopback mode: the sim guest driver transmits a frame,
 * the device hands it to the backend, the backend hands it back, the
 * device writes it into a receive buffer; counted when the driver has the
 * received frame.  64-byte and 1500-byte frames, batches of 32. */
#include <string.h>
#include "core/netdev.h"
#include "devices/virtio/net.h"
#include "bench_vdev.h"

#define BATCH 32u
#define DATA_GPA (32ull << 20)
#define RUN_S 0.3

static double run(uint32_t payload)
{
	struct bv *bv = bv_new(64ull << 20);
	struct netdev *nd = netdev_loop_new("bench", true);
	struct vnet_config c = { .gm = bv->sim->m.gm, .nd = nd, .queue_size = 256 };
	struct vnet *n = vnet_new(&c);
	bv_start(bv, vnet_vdev(n), 2, 256, VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	const struct gm *gm = bv->sim->m.gm;
	uint64_t tx = DATA_GPA, rx = DATA_GPA + (1ull << 20);
	uint32_t len = NETDEV_HDR_LEN + payload;
	uint8_t frame[NETDEV_HDR_LEN + 1500];
	memset(frame, 0, NETDEV_HDR_LEN);
	memset(frame + NETDEV_HDR_LEN, 0xab, payload);
	for (unsigned i = 0; i < BATCH; i++)
		gm_write(gm, tx + i * 2048, frame, len);
	uint64_t got = 0;
	double t0 = bv_now(), t;
	do {
		for (unsigned i = 0; i < BATCH; i++) {
			struct vdq_buf r = { rx + i * 2048, 2048, true };
			if (vdq_add(&bv->q[VNET_RXQ], &r, 1, false) < 0)
				abort();
		}
		bv_kick(bv, VNET_RXQ);
		for (unsigned i = 0; i < BATCH; i++) {
			struct vdq_buf b = { tx + i * 2048, len, false };
			if (vdq_add(&bv->q[VNET_TXQ], &b, 1, false) < 0)
				abort();
		}
		bv_kick(bv, VNET_TXQ);
		uint16_t id;
		uint32_t ul;
		for (unsigned i = 0; i < BATCH; i++) {
			if (vdq_get_used(&bv->q[VNET_TXQ], &id, &ul) != 1 ||
			    vdq_get_used(&bv->q[VNET_RXQ], &id, &ul) != 1 || ul != len)
				abort();
		}
		got += BATCH;
		t = bv_now() - t0;
	} while (t < RUN_S);
	if (vnet_get_stats(n)->rx_frames != got)
		abort();
	bv_detach(bv);
	vnet_free(n);
	bv_free(bv);
	netdev_close(nd);
	return (double)got / t;
}

int main(void)
{
	double a = run(64), b = run(64);
	printf("BENCH vnet_loop_64b %.0f pps\n", a > b ? a : b);
	a = run(1500);
	b = run(1500);
	printf("BENCH vnet_loop_1500b %.0f pps\n", a > b ? a : b);
	return 0;
}
