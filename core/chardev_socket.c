/* Unix socket character backends (see chardev_host.h), server and client,
 * with QEMU's meaning of the options:
 *
 *  - server (server=on): listen at path.  A socket file already there
 *    that someone still accepts on belongs to a live program and is an
 *    error (QEMU would unlink it and steal the name); one nobody accepts
 *    on is stale and replaced; any other kind of file is an error.
 *  - client (no server, or server=off, and `-serial unix:P`): connect to
 *    path, never create or remove anything there.  Without reconnect a
 *    failed connect is an error ("Failed to connect to 'P'"); with
 *    reconnect=N it is retried every N seconds from the event loop's
 *    clock, and so is a connection the peer closed.
 *
 * Only a file this process created in this run is ever removed, and only
 * if it is still that file (same device and inode) at close. */
#include "chardev_host.h"
#include "chardev_host_int.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "evloop.h"
#include "log.h"
#include "sockpath.h"

#define NS_PER_S 1000000000ull

static int chr_socket_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!path || !path[0] || strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* A new connection (accepted or made) is the peer from now on. */
static void chr_socket_up(struct chr_host *h, int fd)
{
	h->in_fd = h->out_fd = fd;
	h->in_reg = 0;
	h->in_paused = false;
	log_info(h->log, "chardev %s: %s %s", h->c.id,
		 h->client ? "connected to" : "client connected on", h->path);
	chr_fe_connected(&h->c, true);
	chr_host_flush(h); /* what was written while nobody listened */
}

void chr_socket_accept(struct chr_host *h)
{
	int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return; /* EAGAIN or a client that already left */
	chr_socket_up(h, fd);
}

/* One non-blocking connect attempt: 0 connected, else -errno.  A unix
 * stream connect either completes at once or fails (EAGAIN: the
 * listener's backlog is full), so nothing here ever waits. */
static int chr_socket_connect(struct chr_host *h)
{
	struct sockaddr_un sa;
	int r = chr_socket_addr(h->path, &sa);
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	chr_socket_up(h, fd);
	return 0;
}

static void chr_socket_retry_later(struct chr_host *h)
{
	if (!h->client || !h->reconnect_s || !h->loop)
		return;
	const struct clk *clk = evloop_clk(h->loop);
	clk_timer_arm(clk, &h->reconnect,
		      clk_now_ns(clk) + (uint64_t)h->reconnect_s * NS_PER_S);
}

static void chr_socket_reconnect(void *arg, uint64_t now)
{
	(void)now;
	struct chr_host *h = arg;
	if (h->in_fd >= 0)
		return;
	int r = chr_socket_connect(h);
	if (r < 0) {
		log_rl(h->log, &h->rl, LOG_INFO,
		       "chardev %s: reconnect to '%s' failed: %s", h->c.id, h->path,
		       strerror(-r));
		chr_socket_retry_later(h);
	}
}

void chr_socket_lost(struct chr_host *h)
{
	chr_socket_retry_later(h);
}

void chr_socket_release(struct chr_host *h)
{
	struct stat st;
	if (h->loop && clk_timer_armed(&h->reconnect))
		clk_timer_cancel(evloop_clk(h->loop), &h->reconnect);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	h->listen_fd = -1;
	/* Ours only if we bound it and nobody replaced it since. */
	if (h->bound && lstat(h->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == h->dev && st.st_ino == h->ino)
		unlink(h->path);
	h->bound = false;
}

struct chr *chr_socket_client_new(const char *id, const char *path,
				  unsigned reconnect_s, struct evloop *loop,
				  struct log *log)
{
	struct sockaddr_un sa;
	int r = chr_socket_addr(path, &sa);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	struct chr_host *h = chr_host_alloc(CH_SOCKET, id, loop, log);
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	h->client = true;
	h->reconnect_s = reconnect_s;
	clk_timer_init(&h->reconnect, chr_socket_reconnect, h);
	memcpy(h->path, sa.sun_path, sizeof(h->path));
	r = chr_socket_connect(h);
	if (r < 0) {
		if (!reconnect_s) {
			/* The caller words the one error line (errno). */
			log_debug(log, "chardev %s: Failed to connect to '%s': %s",
				  h->c.id, path, strerror(-r));
			chr_close(&h->c);
			errno = -r;
			return NULL;
		}
		/* QEMU: a client with reconnect starts unconnected and keeps
		 * trying; the guest's output meanwhile is kept as scrollback. */
		log_warn(log, "chardev %s: Unable to connect to '%s': %s; retrying "
			 "every %u s", h->c.id, path, strerror(-r), reconnect_s);
		chr_socket_retry_later(h);
	}
	chr_host_update(h);
	return &h->c;
}

/* Block until a client connects (wait=on), but not past a termination
 * signal: the VMM keeps SIGTERM/SIGINT/SIGHUP blocked for its signalfd, so
 * a plain accept() would sit through them and `kill` or Ctrl-C could not
 * end a VMM nobody connects to.  Poll in short steps and give up with
 * EINTR when one is pending; the signal stays pending for the loop. */
static int chr_socket_wait_client(int listen_fd)
{
	for (;;) {
		struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
		sigset_t pending;
		int r = poll(&pfd, 1, 100);

		if (r > 0) {
			int fd = accept4(listen_fd, NULL, NULL,
					 SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd >= 0 || errno != EAGAIN)
				return fd;
		} else if (r < 0) {
			/* EINTR included: with the signals unblocked (the KVM
			 * backend's start-up) their handler ran, and nothing is
			 * left pending for the check below. */
			return -1;
		}
		if (sigpending(&pending) == 0 &&
		    (sigismember(&pending, SIGTERM) == 1 ||
		     sigismember(&pending, SIGINT) == 1 ||
		     sigismember(&pending, SIGHUP) == 1)) {
			errno = EINTR;
			return -1;
		}
	}
}

struct chr *chr_socket_new(const char *id, const char *path, bool wait,
			   struct evloop *loop, struct log *log)
{
	struct chr_host *h = chr_host_alloc(CH_SOCKET, id, loop, log);
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	struct sockaddr_un sa;
	struct stat st;
	int e = -chr_socket_addr(path, &sa);
	if (e)
		goto fail;
	memcpy(h->path, sa.sun_path, sizeof(h->path));
	e = -sockpath_clear_stale(h->path);
	if (e)
		goto fail;
	h->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0 ||
	    bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		e = errno;
		goto fail;
	}
	/* The file is ours from here: remember which one it is. */
	if (stat(h->path, &st) == 0) {
		h->bound = true;
		h->dev = st.st_dev;
		h->ino = st.st_ino;
	}
	if (listen(h->listen_fd, 1) != 0) {
		e = errno;
		goto fail;
	}
	if (wait) {
		log_info(log, "chardev %s: waiting for connection on %s", h->c.id, path);
		int fd = chr_socket_wait_client(h->listen_fd);
		if (fd < 0) {
			e = errno;
			goto fail;
		}
		h->in_fd = h->out_fd = fd;
		h->c.connected = true;
	}
	if (chr_set_nonblock(h->listen_fd) < 0) {
		e = errno;
		goto fail;
	}
	chr_host_update(h);
	return &h->c;
fail:
	/* EINTR: the wait for a client was ended by a termination signal;
	 * the process is ending, not failing.  Otherwise detail for the
	 * log: the caller reports the error itself, once. */
	if (e != EINTR)
		log_info(log, "chardev %s: cannot listen on %s: %s", h->c.id,
			 path ? path : "(null)", strerror(e));
	chr_close(&h->c);
	errno = e;
	return NULL;
}
