/* The QMP unix socket: -qmp unix:PATH,server,nowait.  A nonblocking
 * listener on the machine's evloop, up to QMP_MAX_CLIENTS sessions at
 * once (QEMU's chardev serves one; more do no harm and let a debugging
 * qmp-shell sit next to the Kata runtime).
 *
 * A client is never freed while its session is running a command: an op
 * may emit an event, which flushes every client, and a failed write there
 * only marks the client dead; the fd callback closes it afterwards. */
#include "qmp_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "clk.h"
#include "evloop.h"
#include "log.h"
#include "sockpath.h"

struct qmp_client {
	struct qmp_server *srv;
	int fd;
	struct qmp_session *sess;
	bool dead;     /* write error or hangup: close at the next chance */
	bool busy;     /* inside qmp_client_fn: only that may free it */
	unsigned mask; /* events armed on fd */
};

/* QEMU rate-limits events a guest can trigger at will (monitor.c
 * monitor_qapi_event_conf: BALLOON_CHANGE, RTC_CHANGE, ... at most one a
 * second), keeping only the latest in between.  Without it a guest
 * flapping its balloon could fill QMP_MAX_OUTPUT and get the management
 * client dropped. */
#define QMP_THROTTLE_NS 1000000000ull
#define QMP_NTHROTTLE 2

struct qmp_throttle {
	const char *name;
	struct qmp_server *srv;
	struct clk_timer timer; /* armed: the rate window is open */
	char *pending;          /* latest data held back in the window */
	bool have_pending;
	uint64_t pending_time;  /* its realtime timestamp */
};

struct qmp_server {
	struct evloop *loop;
	struct qmp_throttle throttle[QMP_NTHROTTLE];
	int lfd;
	bool listening;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	const struct qmp_machine_ops *ops;
	void *opaque;
	struct log *log;
	struct log_rl rl;
	struct qmp_client *clients[QMP_MAX_CLIENTS];
	struct qmp_fdtab *fds; /* the monitor's, shared by its clients */
};

#define QMP_READ_CHUNK 4096
/* Reads per readiness event: a client flooding us must not starve the
 * loop (level-triggered epoll calls us again). */
#define QMP_READS_PER_EVENT 16

static void qmp_listen_fn(void *arg, int fd, unsigned events);
static void qmp_throttle_init(struct qmp_server *srv);

static void qmp_set_listening(struct qmp_server *srv, bool on)
{
	if (on == srv->listening)
		return;
	if (on)
		srv->listening = evloop_add_fd(srv->loop, srv->lfd, EV_IN, qmp_listen_fn, srv) == 0;
	else {
		evloop_del_fd(srv->loop, srv->lfd);
		srv->listening = false;
	}
}

static void qmp_client_close(struct qmp_client *cl)
{
	struct qmp_server *srv = cl->srv;
	for (unsigned i = 0; i < QMP_MAX_CLIENTS; i++)
		if (srv->clients[i] == cl)
			srv->clients[i] = NULL;
	evloop_del_fd(srv->loop, cl->fd);
	close(cl->fd);
	qmp_session_free(cl->sess);
	log_info(srv->log, "qmp: client disconnected");
	free(cl);
	qmp_set_listening(srv, true); /* a slot is free again */
}

/* Write what the socket takes.  Never frees the client. */
static void qmp_client_flush(struct qmp_client *cl)
{
	size_t len;
	const char *out;
	while (!cl->dead && (out = qmp_session_output(cl->sess, &len), len > 0)) {
		/* MSG_NOSIGNAL: a client gone away is EPIPE, not SIGPIPE. */
		ssize_t w = send(cl->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			qmp_session_consume(cl->sess, (size_t)w);
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Closing (e.g. it let QMP_MAX_OUTPUT pile up) and still
			 * not reading: waiting for it would hold a slot forever. */
			if (qmp_session_closing(cl->sess))
				cl->dead = true;
			break;
		} else {
			cl->dead = true;
		}
	}
	qmp_session_output(cl->sess, &len);
	/* A closing session reads no more input (level-triggered EV_IN would
	 * spin on a client that keeps writing): only drain it.  EV_OUT stays
	 * armed while it is closing or dead, so the fd callback comes round
	 * to close it even when an event flush (not a callback) drained it. */
	bool closing = qmp_session_closing(cl->sess);
	unsigned mask = (closing ? 0 : EV_IN) | (cl->dead || closing || len > 0 ? EV_OUT : 0);
	if (mask != cl->mask && evloop_mod_fd(cl->srv->loop, cl->fd, mask) == 0)
		cl->mask = mask;
}

static bool qmp_client_done(struct qmp_client *cl)
{
	size_t len;
	qmp_session_output(cl->sess, &len);
	return cl->dead || (qmp_session_closing(cl->sess) && len == 0);
}

/* recv() that also takes SCM_RIGHTS descriptors (getfd).  MSG_CMSG_CLOEXEC
 * so a received fd never leaks into a child; fds beyond our buffer are
 * discarded by the kernel (MSG_CTRUNC), never installed. */
static ssize_t qmp_recv_fds(int fd, char *buf, size_t len, int *fds, unsigned *nfds)
{
	union {
		char b[CMSG_SPACE(QMP_MAX_PENDING_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b),
	};
	*nfds = 0;
	ssize_t r = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (r < 0)
		return r;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const unsigned char *d = CMSG_DATA(cm);
		for (size_t k = 0; k < n; k++) {
			int v;
			memcpy(&v, d + k * sizeof(int), sizeof(int));
			if (*nfds < QMP_MAX_PENDING_FDS)
				fds[(*nfds)++] = v;
			else
				close(v);
		}
	}
	return r;
}

static void qmp_client_fn(void *arg, int fd, unsigned events)
{
	struct qmp_client *cl = arg;
	char buf[QMP_READ_CHUNK];
	cl->busy = true;
	if ((events & EV_IN) && !qmp_session_closing(cl->sess)) {
		for (int i = 0; i < QMP_READS_PER_EVENT && !cl->dead; i++) {
			int fds[QMP_MAX_PENDING_FDS];
			unsigned nfds = 0;
			ssize_t r = qmp_recv_fds(fd, buf, sizeof(buf), fds, &nfds);
			if (r <= 0) {
				for (unsigned k = 0; k < nfds; k++)
					close(fds[k]);
			}
			if (r > 0) {
				if (qmp_session_input_fds(cl->sess, buf, (size_t)r, fds, nfds) != 0) {
					log_rl(cl->srv->log, &cl->srv->rl, LOG_WARN,
					       "qmp: dropping client (oversized message or unread output)");
					break;
				}
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			cl->dead = true; /* EOF (client gone mid-command or not) or error */
		}
	}
	cl->busy = false;
	if (events & EV_ERR)
		cl->dead = true;
	qmp_client_flush(cl);
	if (qmp_client_done(cl))
		qmp_client_close(cl);
}

static void qmp_listen_fn(void *arg, int fd, unsigned events)
{
	struct qmp_server *srv = arg;
	(void)events;
	for (;;) {
		unsigned slot = 0;
		while (slot < QMP_MAX_CLIENTS && srv->clients[slot])
			slot++;
		if (slot == QMP_MAX_CLIENTS) {
			/* Full: leave the rest in the backlog until one leaves. */
			qmp_set_listening(srv, false);
			return;
		}
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_rl(srv->log, &srv->rl, LOG_WARN, "qmp: accept: %s", strerror(errno));
			return;
		}
		struct qmp_client *cl = calloc(1, sizeof(*cl));
		if (cl)
			cl->sess = qmp_session_new(srv->ops, srv->opaque);
		if (cl && cl->sess)
			qmp_session_share_fdtab(cl->sess, srv->fds);
		if (!cl || !cl->sess || evloop_add_fd(srv->loop, cfd, EV_IN, qmp_client_fn, cl) != 0) {
			log_rl(srv->log, &srv->rl, LOG_WARN, "qmp: cannot set up a client");
			if (cl)
				qmp_session_free(cl->sess);
			free(cl);
			close(cfd);
			return;
		}
		cl->srv = srv;
		cl->fd = cfd;
		cl->mask = EV_IN;
		srv->clients[slot] = cl;
		log_info(srv->log, "qmp: client connected");
		qmp_client_flush(cl); /* the greeting */
		if (qmp_client_done(cl))
			qmp_client_close(cl);
	}
}

/* Make room for the socket: a leftover socket file nobody listens on is
 * removed; a live one (another program's, or another vmm's QMP) and any
 * other file are the user's and an error (core/sockpath.h). */
static int qmp_clear_path(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int r = sockpath_clear_stale(path);
	if (r == 0)
		return 0;
	if (r == -EADDRINUSE && lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		snprintf(err, errlen, "qmp: %s exists and is not a socket", path);
	else if (r == -EADDRINUSE)
		snprintf(err, errlen, "qmp: %s: a live socket is there (another "
			 "program serves on it)", path);
	else
		snprintf(err, errlen, "qmp: %s: %s", path, strerror(-r));
	return -1;
}

static struct qmp_server *qmp_server_alloc(struct evloop *loop,
					   const struct qmp_machine_ops *ops,
					   void *opaque, struct log *log,
					   char *err, size_t errlen)
{
	struct qmp_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "qmp: out of memory");
		return NULL;
	}
	srv->loop = loop;
	srv->ops = ops;
	srv->opaque = opaque;
	srv->log = log;
	srv->lfd = -1;
	srv->fds = qmp_fdtab_new();
	if (!srv->fds) {
		snprintf(err, errlen, "qmp: out of memory");
		free(srv);
		return NULL;
	}
	qmp_throttle_init(srv);
	return srv;
}

/* Watch srv->lfd; on failure closes it and frees srv. */
static struct qmp_server *qmp_server_start(struct qmp_server *srv,
					   const char *what, char *err,
					   size_t errlen)
{
	qmp_set_listening(srv, true);
	if (!srv->listening) {
		snprintf(err, errlen, "qmp: cannot watch the listening socket");
		close(srv->lfd);
		qmp_fdtab_free(srv->fds);
		free(srv);
		return NULL;
	}
	log_info(srv->log, "qmp: listening on %s", what);
	return srv;
}

struct qmp_server *qmp_server_new(struct evloop *loop, const char *path,
				  const struct qmp_machine_ops *ops, void *opaque,
				  struct log *log, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	if (!loop || !path || !ops) {
		snprintf(err, errlen, "qmp: missing loop, path or machine ops");
		return NULL;
	}
	if (!path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "qmp: socket path must be 1..%zu bytes: %s",
			 sizeof(sa.sun_path) - 1, path);
		return NULL;
	}
	struct qmp_server *srv = qmp_server_alloc(loop, ops, opaque, log, err, errlen);
	if (!srv)
		return NULL;
	strcpy(srv->path, path); /* length checked above */
	strcpy(sa.sun_path, path);
	srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->lfd < 0) {
		snprintf(err, errlen, "qmp: socket: %s", strerror(errno));
		qmp_fdtab_free(srv->fds);
		free(srv);
		return NULL;
	}
	if (qmp_clear_path(path, err, errlen) != 0)
		goto fail;
	if (bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(srv->lfd, QMP_MAX_CLIENTS) != 0) {
		snprintf(err, errlen, "qmp: cannot listen on %s: %s", path, strerror(errno));
		goto fail;
	}
	/* Remember which file is ours, so free() removes only that one. */
	if (stat(path, &st) == 0) {
		srv->dev = st.st_dev;
		srv->ino = st.st_ino;
	}
	srv = qmp_server_start(srv, path, err, errlen);
	if (!srv)
		unlink(path);
	return srv;
fail:
	close(srv->lfd);
	qmp_fdtab_free(srv->fds);
	free(srv);
	return NULL;
}

struct qmp_server *qmp_server_new_fd(struct evloop *loop, int fd,
				     const struct qmp_machine_ops *ops,
				     void *opaque, struct log *log, char *err,
				     size_t errlen)
{
	struct stat st;
	int type = 0, acc = 0;
	socklen_t l1 = sizeof(type), l2 = sizeof(acc);
	if (!loop || !ops) {
		snprintf(err, errlen, "qmp: missing loop or machine ops");
		return NULL;
	}
	/* The fd comes from whoever started us: check it is what the
	 * option says before the loop waits on it. */
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "qmp: fd=%d is not open", fd);
		return NULL;
	}
	if (!S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) != 0 ||
	    type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l2) != 0 || !acc) {
		snprintf(err, errlen, "qmp: fd=%d is not a listening stream socket", fd);
		return NULL;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		snprintf(err, errlen, "qmp: fd=%d: %s", fd, strerror(errno));
		return NULL;
	}
	struct qmp_server *srv = qmp_server_alloc(loop, ops, opaque, log, err, errlen);
	if (!srv)
		return NULL;
	/* No path: the socket file is the caller's, and stays when we exit. */
	srv->lfd = fd;
	char what[32];
	snprintf(what, sizeof(what), "fd %d", fd);
	return qmp_server_start(srv, what, err, errlen);
}

void qmp_server_free(struct qmp_server *srv)
{
	struct stat st;
	if (!srv)
		return;
	for (unsigned i = 0; i < QMP_MAX_CLIENTS; i++) {
		struct qmp_client *cl = srv->clients[i];
		if (!cl)
			continue;
		qmp_client_flush(cl); /* e.g. quit's reply and SHUTDOWN */
		qmp_client_close(cl);
	}
	qmp_set_listening(srv, false);
	for (unsigned i = 0; i < QMP_NTHROTTLE; i++) {
		clk_timer_cancel(evloop_clk(srv->loop), &srv->throttle[i].timer);
		free(srv->throttle[i].pending);
	}
	close(srv->lfd);
	qmp_fdtab_free(srv->fds);
	if (lstat(srv->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	free(srv);
}

static uint64_t qmp_realtime_ns(const struct qmp_server *srv)
{
	if (srv->ops->realtime_ns)
		return srv->ops->realtime_ns(srv->opaque);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Queue the event to every client; nothing is validated here. */
static void qmp_broadcast(struct qmp_server *srv, const char *name,
			  const char *data_json, uint64_t now)
{
	for (unsigned i = 0; i < QMP_MAX_CLIENTS; i++) {
		struct qmp_client *cl = srv->clients[i];
		if (!cl)
			continue;
		qmp_session_event(cl->sess, name, data_json, now);
		qmp_client_flush(cl);
		/* A client that stopped reading is dropped here, unless we are
		 * inside its own command (its fd callback closes it then). */
		if (!cl->busy && qmp_client_done(cl))
			qmp_client_close(cl);
	}
}

static void qmp_throttle_fire(void *arg, uint64_t now_ns)
{
	struct qmp_throttle *t = arg;
	if (!t->have_pending)
		return; /* window over, nothing held back: next one goes at once */
	qmp_broadcast(t->srv, t->name, t->pending, t->pending_time);
	free(t->pending);
	t->pending = NULL;
	t->have_pending = false;
	clk_timer_arm(evloop_clk(t->srv->loop), &t->timer, now_ns + QMP_THROTTLE_NS);
}

static void qmp_throttle_init(struct qmp_server *srv)
{
	static const char *const names[QMP_NTHROTTLE] = { "BALLOON_CHANGE", "RTC_CHANGE" };
	for (unsigned i = 0; i < QMP_NTHROTTLE; i++) {
		srv->throttle[i].name = names[i];
		srv->throttle[i].srv = srv;
		clk_timer_init(&srv->throttle[i].timer, qmp_throttle_fire, &srv->throttle[i]);
	}
}

int qmp_server_emit_event(struct qmp_server *srv, const char *name, const char *data_json)
{
	/* Checked even with no client connected, so a host bug shows. */
	int rc = qmp_event_validate(name, data_json);
	if (rc != 0)
		return rc;
	uint64_t now = qmp_realtime_ns(srv);
	for (unsigned i = 0; i < QMP_NTHROTTLE; i++) {
		struct qmp_throttle *t = &srv->throttle[i];
		if (strcmp(t->name, name) != 0)
			continue;
		const struct clk *clk = evloop_clk(srv->loop);
		if (!clk_timer_armed(&t->timer)) {
			clk_timer_arm(clk, &t->timer, clk_now_ns(clk) + QMP_THROTTLE_NS);
			break; /* first in the window: send now */
		}
		char *copy = data_json ? strdup(data_json) : NULL;
		if (data_json && !copy)
			return -ENOMEM;
		free(t->pending);
		t->pending = copy;
		t->have_pending = true;
		t->pending_time = now;
		return 0;
	}
	qmp_broadcast(srv, name, data_json, now);
	return 0;
}

struct qmp_fdtab *qmp_server_fdtab(const struct qmp_server *srv)
{
	return srv->fds;
}

unsigned qmp_server_nclients(const struct qmp_server *srv)
{
	unsigned n = 0;
	for (unsigned i = 0; i < QMP_MAX_CLIENTS; i++)
		n += srv->clients[i] != NULL;
	return n;
}
