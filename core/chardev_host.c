/* Host character backends (see chardev_host.h).  One implementation for
 * every kind: an input fd, an output fd (the same fd for sockets and
 * ptys), a bounded output buffer, and evloop registrations kept in step
 * with what is wanted: EV_IN while the front end has room, EV_OUT while
 * output is buffered.  An fd with nothing wanted is taken out of epoll so
 * a hung-up peer cannot make the loop spin. */
#include "chardev_host.h"
#include "chardev_host_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include "evloop.h"
#include "log.h"

static struct chr_host *chr_host_of(const struct chr *c)
{
	return (struct chr_host *)c;
}

static void chr_host_event(void *arg, int fd, unsigned events);

/* Make the registration of fd match mask: add, modify or delete. */
static void chr_host_watch(struct chr_host *h, int fd, unsigned *reg, unsigned mask)
{
	if (fd < 0 || !h->loop || *reg == mask)
		return;
	int rc;
	if (mask == 0)
		rc = evloop_del_fd(h->loop, fd);
	else if (*reg == 0)
		rc = evloop_add_fd(h->loop, fd, mask, chr_host_event, h);
	else
		rc = evloop_mod_fd(h->loop, fd, mask);
	if (rc != 0) {
		log_rl(h->log, &h->rl, LOG_WARN, "chardev %s: cannot watch fd %d: %s",
		       h->c.id, fd, strerror(-rc));
		return;
	}
	*reg = mask;
}

void chr_host_update(struct chr_host *h)
{
	unsigned in = (h->in_fd >= 0 && !h->in_eof && !h->in_paused &&
		       h->c.attached) ? EV_IN : 0;
	/* A socket whose input waits for the front end still hears its peer
	 * hang up (epoll reports HUP/ERR without asking): a client can then
	 * reconnect, a server accept the next one. */
	if (!in && h->kind == CH_SOCKET && h->in_fd >= 0)
		in = EV_ERR;
	unsigned out = (h->out_fd >= 0 && h->out_len && !h->out_dead) ? EV_OUT : 0;
	if (h->in_fd >= 0 && h->in_fd == h->out_fd) {
		chr_host_watch(h, h->in_fd, &h->in_reg, in | out);
	} else {
		chr_host_watch(h, h->in_fd, &h->in_reg, in);
		chr_host_watch(h, h->out_fd, &h->out_reg, out);
	}
	if (h->kind == CH_SOCKET)
		chr_host_watch(h, h->listen_fd, &h->listen_reg,
			       h->in_fd < 0 ? EV_IN : 0);
}

void chr_host_disconnect(struct chr_host *h)
{
	if (h->kind != CH_SOCKET || h->in_fd < 0)
		return;
	chr_host_watch(h, h->in_fd, &h->in_reg, 0);
	close(h->in_fd);
	h->in_fd = h->out_fd = -1;
	h->in_paused = false;
	log_info(h->log, "chardev %s: %s %s", h->c.id,
		 h->client ? "disconnected from" : "client disconnected from",
		 h->path);
	chr_fe_connected(&h->c, false);
	chr_host_update(h);
	chr_socket_lost(h);
}

/* Write to the host; returns bytes written, 0 when it would block, and
 * handles a dead peer (socket: disconnect; others: discard from now on). */
static size_t chr_host_put(struct chr_host *h, const uint8_t *buf, size_t len)
{
	ssize_t n;
	do {
		n = h->kind == CH_SOCKET ? send(h->out_fd, buf, len, MSG_NOSIGNAL)
					 : write(h->out_fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (size_t)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	if (h->kind == CH_SOCKET) {
		chr_host_disconnect(h);
	} else {
		log_warn(h->log, "chardev %s: output failed (%s); discarding output",
			 h->c.id, strerror(errno));
		h->out_dead = true;
	}
	return 0;
}

void chr_host_flush(struct chr_host *h)
{
	while (h->out_len && h->out_fd >= 0 && !h->out_dead) {
		size_t n = chr_host_put(h, h->out, h->out_len);
		if (n == 0)
			break;
		memmove(h->out, h->out + n, h->out_len - n);
		h->out_len -= n;
	}
	if (h->out_dead)
		h->out_len = 0;
	chr_host_update(h);
	/* Hysteresis: wake the front end when half the buffer is free, not
	 * for every byte that trickles out. */
	if (h->want_writable && h->out_len <= CHR_OUT_BUF / 2) {
		h->want_writable = false;
		chr_fe_writable(&h->c);
	}
}

/* Output nobody may ever read: a socket with no client, or a pty (we
 * cannot tell whether anyone has its slave open).  Stalling the guest's
 * console on it would hang the guest, so keep the newest CHR_OUT_BUF
 * bytes as scrollback for whoever connects and drop the oldest. */
static bool chr_host_lossy(const struct chr_host *h)
{
	return (h->kind == CH_SOCKET && h->out_fd < 0) || h->kind == CH_PTY;
}

static void chr_host_keep_tail(struct chr_host *h, const uint8_t *buf, size_t len)
{
	size_t dropped;
	if (len >= CHR_OUT_BUF) {
		dropped = h->out_len + (len - CHR_OUT_BUF);
		memcpy(h->out, buf + (len - CHR_OUT_BUF), CHR_OUT_BUF);
		h->out_len = CHR_OUT_BUF;
	} else {
		size_t keep = CHR_OUT_BUF - len;
		dropped = h->out_len - keep;
		memmove(h->out, h->out + dropped, keep);
		memcpy(h->out + keep, buf, len);
		h->out_len = CHR_OUT_BUF;
	}
	log_rl(h->log, &h->rl, LOG_INFO,
	       "chardev %s: nobody reading; dropped %zu byte(s) of old output",
	       h->c.id, dropped);
}

static size_t chr_host_write(struct chr *c, const uint8_t *buf, size_t len)
{
	struct chr_host *h = chr_host_of(c);
	if (h->out_dead)
		return len; /* the host side is gone for good: a sink */
	if (h->kind == CH_FILE) {
		size_t done = 0;
		while (done < len) {
			size_t n = chr_host_put(h, buf + done, len - done);
			if (h->out_dead || n == 0)
				break;
			done += n;
		}
		return len;
	}
	if (h->out_fd < 0 && h->kind != CH_SOCKET)
		return len; /* no output side at all */
	size_t done = 0;
	if (h->out_len == 0 && h->out_fd >= 0) {
		done = chr_host_put(h, buf, len);
		if (h->out_dead)
			return len;
	}
	if (chr_host_lossy(h) && len - done > CHR_OUT_BUF - h->out_len) {
		chr_host_keep_tail(h, buf + done, len - done);
		chr_host_update(h);
		return len;
	}
	size_t room = CHR_OUT_BUF - h->out_len;
	size_t take = len - done < room ? len - done : room;
	memcpy(h->out + h->out_len, buf + done, take);
	h->out_len += take;
	done += take;
	if (done < len)
		h->want_writable = true;
	chr_host_update(h);
	return done;
}

static void chr_host_read(struct chr_host *h)
{
	uint8_t buf[4096];
	size_t room = chr_fe_can_receive(&h->c);
	if (room == 0) {
		/* Leave the bytes in the kernel until the front end has
		 * room (chr_accept_input). */
		h->in_paused = true;
		chr_host_update(h);
		return;
	}
	ssize_t n = read(h->in_fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n > 0) {
		chr_fe_receive(&h->c, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (h->kind == CH_SOCKET) {
		chr_host_disconnect(h);
		return;
	}
	/* EOF or error on stdin/a pipe: no more input, output goes on. */
	h->in_eof = true;
	chr_host_update(h);
}

static void chr_host_event(void *arg, int fd, unsigned events)
{
	struct chr_host *h = arg;
	if (h->kind == CH_SOCKET && fd == h->listen_fd) {
		chr_socket_accept(h);
		return;
	}
	if (fd == h->out_fd && (events & (EV_OUT | EV_ERR)))
		chr_host_flush(h);
	if (fd != h->in_fd || !(events & (EV_IN | EV_ERR)))
		return;
	if (h->kind == CH_SOCKET && (events & EV_ERR) &&
	    (h->in_paused || !h->c.attached || chr_fe_can_receive(&h->c) == 0)) {
		/* Hung up while nobody could take its input: what it sent
		 * last has no reader anyway. */
		chr_host_disconnect(h);
		return;
	}
	chr_host_read(h);
}

static void chr_host_accept_input(struct chr *c)
{
	struct chr_host *h = chr_host_of(c);
	h->in_paused = false;
	chr_host_update(h);
}

static void chr_host_close(struct chr *c)
{
	struct chr_host *h = chr_host_of(c);
	/* Last chance to get buffered output out (non-blocking). */
	if (h->out_len && h->out_fd >= 0 && !h->out_dead) {
		size_t n = chr_host_put(h, h->out, h->out_len);
		(void)n;
	}
	bool shared = h->in_fd >= 0 && h->in_fd == h->out_fd;
	chr_host_watch(h, h->in_fd, &h->in_reg, 0);
	if (!shared)
		chr_host_watch(h, h->out_fd, &h->out_reg, 0);
	chr_host_watch(h, h->listen_fd, &h->listen_reg, 0);
	if (h->restore_tio)
		tcsetattr(h->in_fd, TCSANOW, &h->saved_tio);
	if (h->saved_out_flags >= 0 && h->out_fd >= 0)
		fcntl(h->out_fd, F_SETFL, h->saved_out_flags);
	if (h->own_fds || h->kind == CH_SOCKET) {
		if (h->in_fd >= 0)
			close(h->in_fd);
		if (h->out_fd >= 0 && !shared)
			close(h->out_fd);
	}
	if (h->kind == CH_SOCKET)
		chr_socket_release(h);
	if (h->pty_slave >= 0)
		close(h->pty_slave);
	free(h->out);
	free(h);
}

static const struct chr_ops chr_host_ops = {
	.write = chr_host_write,
	.accept_input = chr_host_accept_input,
	.close = chr_host_close,
};

struct chr_host *chr_host_alloc(enum chr_host_kind kind, const char *id,
				struct evloop *loop, struct log *log)
{
	struct chr_host *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->out = malloc(CHR_OUT_BUF);
	if (!h->out) {
		free(h);
		return NULL;
	}
	h->c.ops = &chr_host_ops;
	snprintf(h->c.id, sizeof(h->c.id), "%s", id ? id : "chr");
	h->kind = kind;
	h->loop = loop;
	h->log = log;
	h->in_fd = h->out_fd = h->listen_fd = h->pty_slave = -1;
	h->saved_out_flags = -1;
	clk_timer_init(&h->reconnect, NULL, h); /* armed only by a client */
	return h;
}

int chr_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return fl;
}

static struct chr_host *chr_fds_setup(enum chr_host_kind kind, const char *id,
				      int in_fd, int out_fd,
				      struct evloop *loop, struct log *log)
{
	struct chr_host *h = chr_host_alloc(kind, id, loop, log);
	if (!h)
		return NULL;
	h->c.connected = true;
	h->out_fd = out_fd;
	struct stat st;
	/* Regular files never block (and O_NONBLOCK means nothing there). */
	if (out_fd >= 0 && fstat(out_fd, &st) == 0 && !S_ISREG(st.st_mode))
		h->saved_out_flags = chr_set_nonblock(out_fd);
	/* Only pollable inputs (epoll refuses regular files and /dev/null:
	 * then there is simply no input). */
	if (in_fd >= 0 && loop) {
		if (evloop_add_fd(loop, in_fd, 0, chr_host_event, h) == 0) {
			evloop_del_fd(loop, in_fd);
			h->in_fd = in_fd;
		} else {
			log_debug(log, "chardev %s: input fd %d not pollable; no input",
				  h->c.id, in_fd);
		}
	}
	return h;
}

struct chr *chr_fds_new(const char *id, int in_fd, int out_fd,
			struct evloop *loop, struct log *log)
{
	struct chr_host *h = chr_fds_setup(CH_FDS, id, in_fd, out_fd, loop, log);
	return h ? &h->c : NULL;
}

struct chr *chr_stdio_new(const char *id, struct evloop *loop, struct log *log)
{
	struct chr_host *h = chr_fds_setup(CH_STDIO, id, STDIN_FILENO,
					   STDOUT_FILENO, loop, log);
	if (!h)
		return NULL;
	if (h->in_fd >= 0 && isatty(h->in_fd) &&
	    tcgetattr(h->in_fd, &h->saved_tio) == 0) {
		/* Raw input for the guest's console, but ^C/^Z still act
		 * on the VMM (QEMU's -serial stdio with signal=on). */
		struct termios t = h->saved_tio;
		t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR |
					 IGNCR | ICRNL | IXON);
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(h->in_fd, TCSANOW, &t) == 0)
			h->restore_tio = true;
	}
	return &h->c;
}

struct chr *chr_file_new(const char *id, const char *path, bool append,
			 struct log *log)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
		      (append ? O_APPEND : O_TRUNC), 0644);
	if (fd < 0) {
		int e = errno;
		/* EINTR: a FIFO waiting for its reader, and the process was
		 * asked to end; that is no error to report.  Otherwise detail
		 * for the log: the caller reports the error itself. */
		if (e != EINTR)
			log_info(log, "chardev %s: cannot open %s: %s", id ? id : "",
				 path, strerror(e));
		errno = e;
		return NULL;
	}
	struct chr_host *h = chr_host_alloc(CH_FILE, id, NULL, log);
	if (!h) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	h->out_fd = fd;
	h->own_fds = true;
	h->c.connected = true;
	return &h->c;
}

struct chr *chr_pty_new(const char *id, struct evloop *loop, struct log *log)
{
	struct chr_host *h = chr_host_alloc(CH_PTY, id, loop, log);
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	int m, s;
	if (openpty(&m, &s, h->path, NULL, NULL) != 0) {
		int e = errno;
		log_info(log, "chardev %s: cannot open a pty: %s", h->c.id, strerror(e));
		chr_host_close(&h->c);
		errno = e;
		return NULL;
	}
	/* Raw slave: the guest's bytes pass through unchanged. */
	struct termios t;
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	fcntl(m, F_SETFD, FD_CLOEXEC);
	fcntl(s, F_SETFD, FD_CLOEXEC);
	chr_set_nonblock(m);
	/* We keep the slave open so the master never sees a hang-up while
	 * no client has the pty open. */
	h->pty_slave = s;
	h->in_fd = h->out_fd = m;
	h->own_fds = true;
	h->c.connected = true;
	log_info(log, "char device redirected to %s (label %s)", h->path, h->c.id);
	return &h->c;
}

const char *chr_pty_path(const struct chr *c)
{
	const struct chr_host *h = chr_host_of(c);
	return h->kind == CH_PTY ? h->path : NULL;
}

size_t chr_host_out_pending(const struct chr *c)
{
	return chr_host_of(c)->out_len;
}
