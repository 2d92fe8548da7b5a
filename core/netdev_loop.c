/* In-memory network backend: bounded frame queues in both directions, and
 * a loopback mode where the guest's transmit comes straight back to it. */
#include "core/netdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct frame {
	size_t len;
	uint8_t *data;
};

struct fq {
	struct frame f[NETDEV_LOOP_QLEN];
	size_t head, count;
};

struct netdev_loop {
	struct netdev nd;
	bool loopback;
	bool delivering;
	int fail;
	struct fq rx, tx;
};

static struct netdev_loop *to_loop(struct netdev *nd)
{
	return (struct netdev_loop *)nd;
}

static int fq_push(struct fq *q, uint8_t *data, size_t len)
{
	if (q->count == NETDEV_LOOP_QLEN)
		return -ENOBUFS;
	struct frame *f = &q->f[(q->head + q->count) % NETDEV_LOOP_QLEN];
	f->data = data;
	f->len = len;
	q->count++;
	return 0;
}

static struct frame *fq_peek(struct fq *q)
{
	return q->count ? &q->f[q->head] : NULL;
}

static void fq_drop_head(struct fq *q)
{
	free(q->f[q->head].data);
	q->head = (q->head + 1) % NETDEV_LOOP_QLEN;
	q->count--;
}

static void deliver(struct netdev_loop *l)
{
	/* A front end's receive may send (a loopback reply): no recursion. */
	if (l->delivering)
		return;
	l->delivering = true;
	struct frame *f;
	while ((f = fq_peek(&l->rx)) && netdev_deliver(&l->nd, f->data, f->len))
		fq_drop_head(&l->rx);
	l->delivering = false;
}

static int queue_frame(struct netdev_loop *l, struct fq *q, const struct iovec *iov,
		       int iovcnt)
{
	size_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len < NETDEV_HDR_LEN || len > NETDEV_MAX_FRAME)
		return -EINVAL;
	if (q->count == NETDEV_LOOP_QLEN)
		return -ENOBUFS;
	uint8_t *data = malloc(len);
	if (!data)
		return -ENOMEM;
	size_t off = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	(void)l;
	return fq_push(q, data, len);
}

static int loop_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	struct netdev_loop *l = to_loop(nd);
	if (l->fail)
		return l->fail;
	if (!l->loopback)
		return queue_frame(l, &l->tx, iov, iovcnt);
	int r = queue_frame(l, &l->rx, iov, iovcnt);
	if (r == -ENOBUFS)
		nd->rx_dropped++;
	deliver(l);
	return r;
}

static void loop_accept_input(struct netdev *nd)
{
	deliver(to_loop(nd));
}

static void fq_clear(struct fq *q)
{
	while (q->count)
		fq_drop_head(q);
}

static void loop_close(struct netdev *nd)
{
	struct netdev_loop *l = to_loop(nd);
	fq_clear(&l->rx);
	fq_clear(&l->tx);
	free(l);
}

static const struct netdev_ops loop_ops = {
	.send = loop_send,
	.accept_input = loop_accept_input,
	.close = loop_close,
};

struct netdev *netdev_loop_new(const char *id, bool loopback)
{
	struct netdev_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->nd.ops = &loop_ops;
	l->loopback = loopback;
	snprintf(l->nd.id, sizeof(l->nd.id), "%s", id ? id : "loop");
	return &l->nd;
}

int netdev_loop_inject(struct netdev *nd, const void *frame, size_t len)
{
	struct netdev_loop *l = to_loop(nd);
	struct iovec iov = { (void *)(uintptr_t)frame, len };
	int r = queue_frame(l, &l->rx, &iov, 1);
	if (r == -ENOBUFS)
		nd->rx_dropped++;
	if (r == 0)
		deliver(l);
	return r;
}

long netdev_loop_take(struct netdev *nd, void *buf, size_t cap)
{
	struct netdev_loop *l = to_loop(nd);
	struct frame *f = fq_peek(&l->tx);
	if (!f)
		return 0;
	if (f->len > cap)
		return -ENOSPC;
	long n = (long)f->len;
	memcpy(buf, f->data, f->len);
	fq_drop_head(&l->tx);
	return n;
}

size_t netdev_loop_pending_rx(const struct netdev *nd)
{
	return ((const struct netdev_loop *)nd)->rx.count;
}

size_t netdev_loop_pending_tx(const struct netdev *nd)
{
	return ((const struct netdev_loop *)nd)->tx.count;
}

void netdev_loop_fail_send(struct netdev *nd, int err)
{
	to_loop(nd)->fail = err > 0 ? -err : err;
}
