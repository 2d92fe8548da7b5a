/* Network backend front door shared by tap and loop. */
#include "core/netdev.h"

#include <errno.h>

void netdev_attach(struct netdev *nd, const struct netdev_frontend *fe)
{
	nd->fe = *fe;
	nd->attached = true;
}

void netdev_detach(struct netdev *nd)
{
	nd->attached = false;
}

int netdev_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	int r = nd->ops->send(nd, iov, iovcnt);
	if (r == 0)
		nd->tx_frames++;
	else
		nd->tx_errors++;
	return r;
}

int netdev_set_offload(struct netdev *nd, unsigned flags)
{
	int r = nd->ops->set_offload ? nd->ops->set_offload(nd, flags) : 0;
	if (r == 0)
		nd->offload = flags;
	return r;
}

void netdev_accept_input(struct netdev *nd)
{
	if (nd->ops->accept_input)
		nd->ops->accept_input(nd);
}

void netdev_close(struct netdev *nd)
{
	if (nd)
		nd->ops->close(nd);
}

int netdev_set_enabled(struct netdev *nd, bool on)
{
	return nd->ops->set_enabled ? nd->ops->set_enabled(nd, on) : 0;
}

bool netdev_deliver(struct netdev *nd, const uint8_t *frame, size_t len)
{
	if (!nd->attached || !nd->fe.can_receive(nd->fe.opaque))
		return false;
	nd->rx_frames++;
	nd->fe.receive(nd->fe.opaque, frame, len);
	return true;
}
