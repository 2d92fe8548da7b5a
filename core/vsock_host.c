/* The vsock host interface's dispatch (see vsock_host.h). */
#include "vsock_host.h"

#include <errno.h>
#include <string.h>

void vsock_host_attach(struct vsock_host *vh, const struct vsock_host_frontend *fe)
{
	vh->fe = *fe;
	vh->attached = true;
}

void vsock_host_detach(struct vsock_host *vh)
{
	if (!vh)
		return;
	memset(&vh->fe, 0, sizeof(vh->fe));
	vh->attached = false;
}

int vsock_host_connect(struct vsock_host *vh, uint32_t port, int *h)
{
	return vh->ops->connect(vh, port, h);
}

int vsock_host_accept(struct vsock_host *vh, int h, uint32_t local_port)
{
	return vh->ops->accept(vh, h, local_port);
}

ssize_t vsock_host_send(struct vsock_host *vh, int h, const void *buf, size_t len)
{
	return vh->ops->send(vh, h, buf, len);
}

ssize_t vsock_host_recv(struct vsock_host *vh, int h, void *buf, size_t len)
{
	return vh->ops->recv(vh, h, buf, len);
}

void vsock_host_shutdown_send(struct vsock_host *vh, int h)
{
	vh->ops->shutdown_send(vh, h);
}

void vsock_host_watch(struct vsock_host *vh, int h, unsigned events)
{
	vh->ops->watch(vh, h, events);
}

void vsock_host_close(struct vsock_host *vh, int h)
{
	vh->ops->close(vh, h);
}

void vsock_host_free(struct vsock_host *vh)
{
	if (vh)
		vh->ops->free(vh);
}

int vsock_host_incoming(struct vsock_host *vh, int h, uint32_t port)
{
	if (!vh->attached || !vh->fe.incoming)
		return -ECONNREFUSED;
	return vh->fe.incoming(vh->fe.opaque, h, port);
}

void vsock_host_ready(struct vsock_host *vh, int h, unsigned events)
{
	if (vh->attached && vh->fe.ready)
		vh->fe.ready(vh->fe.opaque, h, events);
}
