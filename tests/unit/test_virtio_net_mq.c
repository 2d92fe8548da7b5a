/* virtio-net multiqueue (virtio 1.2 §5.1.6.5.5) through the sim guest
 * driver on every transport: VIRTIO_NET_F_MQ and CTRL_VQ offered with
 * mq=on, max_virtqueue_pairs, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET moving
 * frames onto more pairs, the backends' queues attached and detached,
 * and what a hostile driver may send on the control queue: pair counts
 * out of range, unknown commands, short chains, no ack buffer, a control
 * queue that was never negotiated. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include "core/netdev.h"
#include "devices/virtio/net.h"
#include "vdev_fixture.h"

#define QSZ 64u
#define HL ((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define NP 3u
#define CTRLQ (2u * NP)

/* A backend that records what the device asks of its queue. */
struct spy {
	struct netdev nd;
	int enabled;   /* -1: never told */
	unsigned sets;
};

static int spy_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	(void)nd;
	(void)iov;
	(void)iovcnt;
	return 0;
}

static int spy_enable(struct netdev *nd, bool on)
{
	struct spy *s = (struct spy *)nd;
	s->enabled = on;
	s->sets++;
	return 0;
}

static void spy_close(struct netdev *nd)
{
	(void)nd;
}

static const struct netdev_ops spy_ops = {
	.send = spy_send, .close = spy_close, .set_enabled = spy_enable,
};

struct mt {
	struct vfx *f;
	struct netdev *nd[NP];
	struct vnet *n;
	unsigned cq;   /* where the driver finds the control queue */
};

static enum vfx_kind kind(void **state)
{
	return (enum vfx_kind)(uintptr_t)*state;
}

static struct vnet *make_vnet(struct vfx *f, struct netdev **nd, unsigned np,
			      bool mq)
{
	struct vnet_config c = { .gm = vfx_gm(f), .log = f->log, .nd = nd[0],
				 .pairs = np, .mq = mq, .clk = vfx_clk(f) };
	for (unsigned i = 1; i < np && i < VNET_MAX_PAIRS; i++)
		c.nds[i] = nd[i];
	return vnet_new(&c);
}

static struct mt *mt_new(enum vfx_kind k, uint64_t want, unsigned nq)
{
	struct mt *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = vfx_new(k);
	for (unsigned i = 0; i < NP; i++)
		assert_non_null(t->nd[i] = netdev_loop_new("n", false));
	t->n = make_vnet(t->f, t->nd, NP, true);
	assert_non_null(t->n);
	t->cq = CTRLQ;
	vfx_attach(t->f, vnet_vdev(t->n));
	vfx_start(t->f, want, nq, QSZ);
	return t;
}

static void mt_free(struct mt *t)
{
	vfx_detach(t->f);
	vnet_free(t->n);
	vfx_free(t->f);
	for (unsigned i = 0; i < NP; i++)
		netdev_close(t->nd[i]);
	free(t);
}

/* Send out_len bytes (class, command, data...) and an in buffer of
 * in_len bytes (0: none) on the control queue.  Returns the ack byte, or
 * -1 when the device returned the chain without writing one. */
static int ctrl_raw(struct mt *t, const uint8_t *out, uint32_t out_len,
		    uint32_t in_len)
{
	uint64_t a = vfx_put(t->f, out, out_len ? out_len : 1);
	uint64_t ack = vfx_alloc(t->f, 16);
	assert_int_equal(gm_fill(vfx_gm(t->f), ack, 0xee, 16), 0);
	struct vdq_buf b[2];
	unsigned n = 0;
	if (out_len)
		b[n++] = (struct vdq_buf){ a, out_len, false };
	if (in_len)
		b[n++] = (struct vdq_buf){ ack, in_len, true };
	vfx_add(t->f, t->cq, b, n);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, t->cq, &id, &ul), 1);
	uint8_t got[16];
	assert_int_equal(gm_read(vfx_gm(t->f), ack, got, sizeof(got)), 0);
	/* Nothing past the ack byte is ever written. */
	for (unsigned i = 1; i < sizeof(got); i++)
		assert_int_equal(got[i], 0xee);
	if (ul == 0) {
		assert_int_equal(got[0], 0xee);
		return -1;
	}
	assert_int_equal(ul, 1);
	return got[0];
}

static int set_pairs(struct mt *t, uint16_t pairs)
{
	uint8_t cmd[4] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET };
	uint16_t le = htole16(pairs);
	memcpy(cmd + 2, &le, 2);
	return ctrl_raw(t, cmd, sizeof(cmd), 1);
}

static void rxbuf(struct mt *t, unsigned pair)
{
	struct vdq_buf b = { vfx_alloc(t->f, 2048), 2048, true };
	vfx_add(t->f, 2 * pair, &b, 1);
}

static void inject(struct mt *t, unsigned pair, uint8_t tag)
{
	uint8_t fr[HL + 60];
	memset(fr, 0, sizeof(fr));
	fr[HL + 20] = tag;
	assert_int_equal(netdev_loop_inject(t->nd[pair], fr, sizeof(fr)), 0);
}

static void test_mq_offer(void **state)
{
	struct mt *t = mt_new(kind(state), ~0ull, 2 * NP + 1);
	uint64_t f = t->f->d.features;
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MQ));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ));
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_net_config,
						 max_virtqueue_pairs), 2), NP);
	assert_int_equal(vnet_vdev(t->n)->nqueues, 2 * NP + 1);
	assert_int_equal(vnet_cur_pairs(t->n), 1);
	mt_free(t);

	/* mq=off with a multiqueue backend: one pair, no control queue,
	 * and the backend's other queues are told they are out of use. */
	struct vfx *vf = vfx_new(kind(state));
	struct spy s[NP];
	struct netdev *nd[NP];
	for (unsigned i = 0; i < NP; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].nd.ops = &spy_ops;
		s[i].enabled = -1;
		nd[i] = &s[i].nd;
	}
	struct vnet *n = make_vnet(vf, nd, NP, false);
	assert_non_null(n);
	vfx_attach(vf, vnet_vdev(n));
	vfx_start(vf, ~0ull, 2, QSZ);
	assert_false(vf->d.features & VIRTIO_BIT(VIRTIO_NET_F_MQ));
	assert_false(vf->d.features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ));
	assert_int_equal(vfx_cfg(vf, offsetof(struct virtio_net_config,
					      max_virtqueue_pairs), 2), 1);
	assert_int_equal(vnet_vdev(n)->nqueues, 2);
	assert_int_equal(s[0].enabled, 1);
	assert_int_equal(s[1].enabled, 0);
	assert_int_equal(s[2].enabled, 0);
	vfx_detach(vf);
	vnet_free(n);
	vfx_free(vf);
	/* More pairs than a device holds, or no backend: refused. */
	vf = vfx_new(kind(state));
	struct netdev *many[VNET_MAX_PAIRS + 1];
	for (unsigned i = 0; i <= VNET_MAX_PAIRS; i++)
		many[i] = nd[0];
	assert_null(make_vnet(vf, many, VNET_MAX_PAIRS + 1, true));
	nd[1] = NULL;
	assert_null(make_vnet(vf, nd, 2, true));
	vfx_free(vf);
}

/* Frames on a backend queue wait while its pair is out of use and
 * arrive on that pair's receive queue once the driver enables it;
 * transmit on pair i reaches backend queue i. */
static void test_mq_pairs_set(void **state)
{
	struct mt *t = mt_new(kind(state), ~0ull, 2 * NP + 1);
	uint16_t id;
	uint32_t ul;
	for (unsigned p = 0; p < NP; p++)
		rxbuf(t, p);
	inject(t, 0, 0xa0);
	assert_int_equal(vfx_used(t->f, 0, &id, &ul), 1);
	inject(t, 2, 0xa2);
	assert_int_equal(vfx_used(t->f, 4, &id, &ul), 0);
	assert_int_equal(netdev_loop_pending_rx(t->nd[2]), 1);

	assert_int_equal(set_pairs(t, NP), VIRTIO_NET_OK);
	assert_int_equal(vnet_cur_pairs(t->n), NP);
	assert_int_equal(vfx_used(t->f, 4, &id, &ul), 1);
	assert_int_equal(ul, HL + 60);
	assert_int_equal(netdev_loop_pending_rx(t->nd[2]), 0);

	uint8_t fr[HL + 40];
	memset(fr, 0, sizeof(fr));
	fr[HL] = 0x77;
	struct vdq_buf b = { vfx_put(t->f, fr, sizeof(fr)), sizeof(fr), false };
	vfx_add(t->f, 2 * 1 + 1, &b, 1);
	assert_int_equal(vfx_used(t->f, 3, &id, &ul), 1);
	uint8_t out[256];
	assert_int_equal(netdev_loop_take(t->nd[1], out, sizeof(out)), sizeof(fr));
	assert_int_equal(out[HL], 0x77);
	assert_int_equal(netdev_loop_take(t->nd[0], out, sizeof(out)), 0);

	/* Back to one pair: pair 2 takes nothing more. */
	assert_int_equal(set_pairs(t, 1), VIRTIO_NET_OK);
	rxbuf(t, 2);
	inject(t, 2, 0xb2);
	assert_int_equal(vfx_used(t->f, 4, &id, &ul), 0);
	/* Reset: a new driver starts on one pair again. */
	assert_int_equal(set_pairs(t, 2), VIRTIO_NET_OK);
	vdriver_reset(&t->f->d);
	assert_int_equal(vnet_cur_pairs(t->n), 1);
	assert_int_equal(vnet_ctrl_errors(t->n), 0);
	mt_free(t);
}

static void test_mq_hostile(void **state)
{
	struct mt *t = mt_new(kind(state), ~0ull, 2 * NP + 1);
	uint64_t errs = 0;
	/* Pair counts outside 1..max_virtqueue_pairs (§5.1.6.5.5). */
	const uint16_t bad[] = { 0, NP + 1, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX,
				 VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX + 1, 0xffff };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(set_pairs(t, bad[i]), VIRTIO_NET_ERR);
		assert_int_equal(vnet_cur_pairs(t->n), 1);
		assert_int_equal(vnet_ctrl_errors(t->n), ++errs);
	}
	/* Commands and classes not offered: RX mode, MAC, announce. */
	const uint8_t other[][4] = { { 0, 0, 1, 0 }, { 1, 1, 0, 0 }, { 3, 0, 0, 0 },
				     { VIRTIO_NET_CTRL_MQ, 1, 2, 0 }, { 0xff, 0xff, 2, 0 } };
	for (unsigned i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_int_equal(ctrl_raw(t, other[i], 4, 1), VIRTIO_NET_ERR);
		assert_int_equal(vnet_ctrl_errors(t->n), ++errs);
	}
	/* The pair count cut short: 3 bytes, so no le16. */
	const uint8_t shortcmd[3] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2 };
	assert_int_equal(ctrl_raw(t, shortcmd, 3, 1), VIRTIO_NET_ERR);
	assert_int_equal(vnet_cur_pairs(t->n), 1);
	errs++;
	/* No room for the header, or none for the ack: returned unanswered. */
	assert_int_equal(ctrl_raw(t, shortcmd, 1, 1), -1);
	errs++;
	const uint8_t good[4] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0 };
	assert_int_equal(ctrl_raw(t, good, 4, 0), -1);
	assert_int_equal(vnet_cur_pairs(t->n), 1);
	errs++;
	assert_int_equal(ctrl_raw(t, good, 0, 1), -1);
	errs++;
	assert_int_equal(vnet_ctrl_errors(t->n), errs);
	/* A longer data part is fine (QEMU reads what it needs). */
	const uint8_t longer[8] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0, 9, 9, 9, 9 };
	assert_int_equal(ctrl_raw(t, longer, sizeof(longer), 1), VIRTIO_NET_OK);
	assert_int_equal(vnet_cur_pairs(t->n), 2);
	/* The device lives on. */
	assert_false(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	mt_free(t);
}

/* The driver took neither CTRL_VQ nor MQ: the control queue does not
 * exist for it (§5.1.2), a kick on its index is ignored; with CTRL_VQ but
 * no MQ the pair count cannot change. */
static void test_ctrl_not_negotiated(void **state)
{
	uint64_t want = ~0ull & ~VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) &
			~VIRTIO_BIT(VIRTIO_NET_F_MQ);
	struct mt *t = mt_new(kind(state), want, 2 * NP + 1);
	assert_false(t->f->d.features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ));
	uint8_t cmd[4] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0 };
	struct vdq_buf b[2] = { { vfx_put(t->f, cmd, 4), 4, false },
				{ vfx_alloc(t->f, 1), 1, true } };
	vfx_add(t->f, CTRLQ, b, 2);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, CTRLQ, &id, &ul), 0);
	assert_int_equal(vnet_cur_pairs(t->n), 1);
	mt_free(t);

	/* CTRL_VQ without MQ: one pair, so the control queue is queue 2
	 * (§5.1.2); what the driver puts on queue 6 is nobody's. */
	t = mt_new(kind(state), ~0ull & ~VIRTIO_BIT(VIRTIO_NET_F_MQ), 2 * NP + 1);
	assert_true(t->f->d.features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ));
	vfx_add(t->f, CTRLQ, b, 2);
	assert_int_equal(vfx_used(t->f, CTRLQ, &id, &ul), 0);
	t->cq = 2;
	assert_int_equal(set_pairs(t, 2), VIRTIO_NET_ERR);
	assert_int_equal(vnet_cur_pairs(t->n), 1);
	mt_free(t);
}

/* The backend queues follow the pair count: attached while in use. */
static void test_mq_backend_steering(void **state)
{
	struct vfx *f = vfx_new(kind(state));
	struct spy s[NP];
	struct netdev *nd[NP];
	for (unsigned i = 0; i < NP; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].nd.ops = &spy_ops;
		s[i].enabled = -1;
		nd[i] = &s[i].nd;
	}
	struct mt t = { .f = f, .cq = CTRLQ };
	t.n = make_vnet(f, nd, NP, true);
	assert_non_null(t.n);
	vfx_attach(f, vnet_vdev(t.n));
	vfx_start(f, ~0ull, 2 * NP + 1, QSZ);
	assert_int_equal(s[0].enabled, 1);
	assert_int_equal(s[1].enabled, 0);
	assert_int_equal(s[2].enabled, 0);
	assert_int_equal(set_pairs(&t, 3), VIRTIO_NET_OK);
	assert_int_equal(s[1].enabled, 1);
	assert_int_equal(s[2].enabled, 1);
	assert_int_equal(set_pairs(&t, 0), VIRTIO_NET_ERR);
	assert_int_equal(s[2].enabled, 1);
	assert_int_equal(set_pairs(&t, 2), VIRTIO_NET_OK);
	assert_int_equal(s[2].enabled, 0);
	vdriver_reset(&f->d);
	assert_int_equal(s[1].enabled, 0);
	assert_int_equal(s[0].enabled, 1);
	vfx_detach(f);
	vnet_free(t.n);
	vfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VFX_TESTS(test_mq_offer),
		VFX_TESTS(test_mq_pairs_set),
		VFX_TESTS(test_mq_hostile),
		VFX_TESTS(test_ctrl_not_negotiated),
		VFX_TESTS(test_mq_backend_steering),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
