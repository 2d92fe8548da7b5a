/* What the host character backends share between chardev_host.c (fds,
 * stdio, file, pty and the common buffering) and chardev_socket.c (unix
 * sockets, server and client).  Private to those two files. */
#ifndef VMM_CORE_CHARDEV_HOST_INT_H
#define VMM_CORE_CHARDEV_HOST_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
#include <termios.h>
#include "chardev.h"
#include "clk.h"
#include "log.h"

struct evloop;

enum chr_host_kind { CH_FDS, CH_STDIO, CH_FILE, CH_SOCKET, CH_PTY };

struct chr_host {
	struct chr c;
	enum chr_host_kind kind;
	struct evloop *loop;
	struct log *log;
	int in_fd, out_fd;     /* -1: none (or socket disconnected) */
	int listen_fd, pty_slave;
	bool own_fds;
	unsigned in_reg, out_reg, listen_reg; /* registered masks, 0 = none */
	bool in_eof, in_paused, out_dead, want_writable;
	uint8_t *out;
	size_t out_len;
	struct termios saved_tio;
	bool restore_tio;
	int saved_out_flags;   /* -1: leave alone */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct log_rl rl;
	/* Sockets.  bound: we created the file at path in this run (it is
	 * removed at close only if it is still that file: dev/ino). */
	bool bound;
	dev_t dev;
	ino_t ino;
	/* Client mode: reconnect after a failed connect or a hang-up every
	 * reconnect_s seconds (0: never), from the loop's clock. */
	bool client;
	unsigned reconnect_s;
	struct clk_timer reconnect;
};

struct chr_host *chr_host_alloc(enum chr_host_kind kind, const char *id,
				struct evloop *loop, struct log *log);
/* Keep the evloop registrations in step with what is wanted. */
void chr_host_update(struct chr_host *h);
/* Write buffered output out as far as the host takes it. */
void chr_host_flush(struct chr_host *h);
/* Socket peer gone: close it, tell the front end. */
void chr_host_disconnect(struct chr_host *h);
int chr_set_nonblock(int fd);

/* chardev_socket.c: a client is waiting on the listening socket; the
 * connection is gone (client mode may schedule a reconnect); close-time
 * cleanup (timer, our socket file). */
void chr_socket_accept(struct chr_host *h);
void chr_socket_lost(struct chr_host *h);
void chr_socket_release(struct chr_host *h);

#endif
