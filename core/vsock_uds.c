/* The unix socket vsock host backend (see vsock_host.h), with the
 * convention Firecracker and Cloud Hypervisor use and Kata's runtime
 * speaks to them:
 *
 *  - a host peer connects to PATH and writes "CONNECT <port>\n"; once the
 *    guest accepts it reads "OK <assigned>\n", and the socket is the
 *    stream from then on (a refused one is closed);
 *  - a guest connecting to host port P is connected to a listener the
 *    host made at "PATH_P" (none there: the guest gets RST).
 *
 * Every socket is non-blocking and watched by the event loop only for
 * what the device asks (watch), so a peer that floods or stops reading
 * costs the VMM no more than the device's bounded buffers.  At most
 * VSOCK_HOST_MAX_CONNS sockets are held; the CONNECT line is read with
 * MSG_PEEK so no stream byte after it is ever consumed here. */
#include "vsock_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "evloop.h"
#include "log.h"
#include "sockpath.h"

/* "CONNECT 4294967295\n" and some slack. */
#define LINE_MAX_LEN 32

enum uds_state { U_FREE, U_HANDSHAKE, U_PENDING, U_EST };

struct vsock_uds;

struct uds_conn {
	struct vsock_uds *u;
	enum uds_state st;
	int fd;
	unsigned watch;
};

struct vsock_uds {
	struct vsock_host vh;
	struct evloop *loop;
	struct log *log;
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool bound;
	dev_t dev;
	ino_t ino;
	struct uds_conn c[VSOCK_HOST_MAX_CONNS];
};

static struct vsock_uds *to_uds(struct vsock_host *vh)
{
	return (struct vsock_uds *)vh;
}

static struct uds_conn *conn(struct vsock_host *vh, int h)
{
	struct vsock_uds *u = to_uds(vh);
	if (h < 0 || (unsigned)h >= VSOCK_HOST_MAX_CONNS || u->c[h].st == U_FREE)
		return NULL;
	return &u->c[h];
}

static int slot(struct vsock_uds *u)
{
	for (unsigned i = 0; i < VSOCK_HOST_MAX_CONNS; i++)
		if (u->c[i].st == U_FREE)
			return (int)i;
	return -1;
}

static void conn_close(struct uds_conn *c)
{
	if (c->st == U_FREE)
		return;
	if (c->watch || c->st == U_HANDSHAKE)
		evloop_del_fd(c->u->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	c->st = U_FREE;
	c->watch = 0;
}

/* "CONNECT <port>\n", port a decimal u32. */
static int parse_connect(const char *line, uint32_t *port)
{
	if (strncmp(line, "CONNECT ", 8))
		return -1;
	const char *p = line + 8;
	uint64_t v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	if (*p)
		return -1;
	*port = (uint32_t)v;
	return 0;
}

static void handshake(struct uds_conn *c)
{
	struct vsock_uds *u = c->u;
	char buf[LINE_MAX_LEN + 1];
	ssize_t n = recv(c->fd, buf, LINE_MAX_LEN, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	char *nl = memchr(buf, '\n', (size_t)n);
	if (!nl) {
		if (n == LINE_MAX_LEN) {
			log_warn(u->log, "vsock %s: no CONNECT line from a host peer; closed",
				 u->path);
			conn_close(c);
		}
		return; /* the rest of the line is on its way */
	}
	size_t len = (size_t)(nl - buf) + 1;
	/* Consume the line and nothing after it. */
	if (recv(c->fd, buf, len, MSG_DONTWAIT) != (ssize_t)len) {
		conn_close(c);
		return;
	}
	buf[len - 1] = '\0';
	uint32_t port;
	if (parse_connect(buf, &port) < 0) {
		log_warn(u->log, "vsock %s: bad handshake from a host peer; closed",
			 u->path);
		conn_close(c);
		return;
	}
	/* Nothing to watch until the guest answers. */
	evloop_del_fd(u->loop, c->fd);
	c->st = U_PENDING;
	int h = (int)(c - u->c);
	if (vsock_host_incoming(&u->vh, h, port) < 0 && c->st == U_PENDING)
		conn_close(c);
}

static void conn_cb(void *arg, int fd, unsigned events)
{
	(void)fd;
	struct uds_conn *c = arg;
	if (c->st == U_HANDSHAKE) {
		handshake(c);
		return;
	}
	unsigned ev = 0;
	if (events & (EV_IN | EV_ERR))
		ev |= VSOCK_HOST_IN;
	if (events & (EV_OUT | EV_ERR))
		ev |= VSOCK_HOST_OUT;
	ev &= c->watch;
	if (ev)
		vsock_host_ready(&c->u->vh, (int)(c - c->u->c), ev);
}

static void listen_cb(void *arg, int fd, unsigned events)
{
	(void)events;
	struct vsock_uds *u = arg;
	int s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (s < 0)
		return;
	int k = slot(u);
	unsigned hs = 0;
	for (unsigned i = 0; i < VSOCK_HOST_MAX_CONNS; i++)
		hs += u->c[i].st == U_HANDSHAKE;
	if (k < 0 || hs >= VSOCK_UDS_MAX_HANDSHAKES) {
		log_warn(u->log, "vsock %s: %s; a host peer refused", u->path,
			 k < 0 ? "every connection slot is held" :
			 "too many host peers have not sent CONNECT yet");
		close(s);
		return;
	}
	struct uds_conn *c = &u->c[k];
	c->u = u;
	c->fd = s;
	c->st = U_HANDSHAKE;
	c->watch = 0;
	if (evloop_add_fd(u->loop, s, EV_IN, conn_cb, c) < 0) {
		close(s);
		c->st = U_FREE;
	}
}

static int uds_connect(struct vsock_host *vh, uint32_t port, int *h)
{
	struct vsock_uds *u = to_uds(vh);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", u->path, port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	int k = slot(u);
	if (k < 0)
		return -EMFILE;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	/* A unix connect completes at once or fails (a full backlog says
	 * EAGAIN): never a wait here. */
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(s);
		return e == ENOENT ? -ECONNREFUSED : -e;
	}
	u->c[k].u = u;
	u->c[k].fd = s;
	u->c[k].st = U_EST;
	u->c[k].watch = 0;
	*h = k;
	return 0;
}

static int uds_accept(struct vsock_host *vh, int h, uint32_t local_port)
{
	struct uds_conn *c = conn(vh, h);
	if (!c || c->st != U_PENDING)
		return -EBADF;
	char line[LINE_MAX_LEN];
	int n = snprintf(line, sizeof(line), "OK %u\n", local_port);
	/* A fresh socket's buffer always has room for one short line. */
	if (send(c->fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
		return -EPIPE;
	c->st = U_EST;
	return 0;
}

static ssize_t uds_send(struct vsock_host *vh, int h, const void *buf, size_t len)
{
	struct uds_conn *c = conn(vh, h);
	if (!c || c->st != U_EST)
		return -EBADF;
	ssize_t n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EINTR)
		return -EAGAIN;
	return errno == ECONNRESET ? -EPIPE : -errno;
}

static ssize_t uds_recv(struct vsock_host *vh, int h, void *buf, size_t len)
{
	struct uds_conn *c = conn(vh, h);
	if (!c || c->st != U_EST)
		return -EBADF;
	ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
}

static void uds_shutdown_send(struct vsock_host *vh, int h)
{
	struct uds_conn *c = conn(vh, h);
	if (c && c->st == U_EST)
		shutdown(c->fd, SHUT_WR);
}

static void uds_watch(struct vsock_host *vh, int h, unsigned events)
{
	struct uds_conn *c = conn(vh, h);
	if (!c || c->st != U_EST)
		return;
	unsigned ev = ((events & VSOCK_HOST_IN) ? EV_IN : 0) |
		      ((events & VSOCK_HOST_OUT) ? EV_OUT : 0);
	/* epoll reports a hang-up even for no events: an fd nobody waits
	 * on is not in the loop at all. */
	if (!ev) {
		if (c->watch)
			evloop_del_fd(c->u->loop, c->fd);
	} else if (evloop_add_fd(c->u->loop, c->fd, ev, conn_cb, c) < 0) {
		events = 0;
	}
	c->watch = events;
}

static void uds_close(struct vsock_host *vh, int h)
{
	struct uds_conn *c = conn(vh, h);
	if (c)
		conn_close(c);
}

static void uds_free(struct vsock_host *vh)
{
	struct vsock_uds *u = to_uds(vh);
	struct stat st;
	for (unsigned i = 0; i < VSOCK_HOST_MAX_CONNS; i++)
		conn_close(&u->c[i]);
	if (u->lfd >= 0) {
		evloop_del_fd(u->loop, u->lfd);
		close(u->lfd);
	}
	/* Only the socket this run bound, if it is still that file. */
	if (u->bound && stat(u->path, &st) == 0 && st.st_dev == u->dev &&
	    st.st_ino == u->ino)
		unlink(u->path);
	free(u);
}

static const struct vsock_host_ops uds_ops = {
	.connect = uds_connect, .accept = uds_accept, .send = uds_send,
	.recv = uds_recv, .shutdown_send = uds_shutdown_send,
	.watch = uds_watch, .close = uds_close, .free = uds_free,
};

struct vsock_host *vsock_uds_new(const char *path, struct evloop *loop,
				 struct log *log, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int e;
	if (!loop) {
		snprintf(err, errlen, "needs the host event loop (accel=kvm)");
		errno = EINVAL;
		return NULL;
	}
	/* Room for "_4294967295" after it, for the guest's connections. */
	if (!path || !path[0] || strlen(path) + 11 >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long (at most %zu bytes)",
			 sizeof(sa.sun_path) - 12);
		errno = ENAMETOOLONG;
		return NULL;
	}
	struct vsock_uds *u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u->vh.ops = &uds_ops;
	u->loop = loop;
	u->log = log;
	u->lfd = -1;
	for (unsigned i = 0; i < VSOCK_HOST_MAX_CONNS; i++)
		u->c[i].fd = -1;
	strcpy(u->path, path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	e = -sockpath_clear_stale(path);
	if (e)
		goto fail;
	u->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->lfd < 0 || bind(u->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		e = errno;
		goto fail;
	}
	if (stat(path, &st) == 0) {
		u->bound = true;
		u->dev = st.st_dev;
		u->ino = st.st_ino;
	}
	if (listen(u->lfd, 16) != 0 ||
	    evloop_add_fd(loop, u->lfd, EV_IN, listen_cb, u) < 0) {
		e = errno ? errno : EIO;
		goto fail;
	}
	return &u->vh;
fail:
	snprintf(err, errlen, "%s: %s", path,
		 e == EADDRINUSE ? "in use by a live socket or not a socket" : strerror(e));
	uds_free(&u->vh);
	errno = e;
	return NULL;
}
