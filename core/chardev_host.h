/* Host character backends: stdio, a pair of fds, a file (output only), a
 * unix socket server (nowait, reconnects) or client (reconnect=) and a
 * pty.
 *
 * All register their fds with the event loop and never block: output the
 * host cannot take yet is buffered (up to CHR_OUT_BUF) and flushed when the
 * fd is writable, after which the front end's `writable` runs; input is
 * read only as far as the front end's can_receive() allows, and resumes on
 * chr_accept_input().  Callbacks run from the loop thread with the machine
 * lock held, the same lock device code runs under, so no extra locking.
 *
 * Exception: output nobody may ever read (a socket with no client, a pty
 * whose slave may not be open) never stalls the guest: once the buffer is
 * full the oldest bytes are dropped, keeping the newest CHR_OUT_BUF bytes
 * as scrollback for whoever connects.
 *
 * A writer that hits a closed pipe gets SIGPIPE unless the process ignores
 * it: the vmm main program must set SIGPIPE to SIG_IGN (sockets use
 * MSG_NOSIGNAL regardless). */
#ifndef VMM_CORE_CHARDEV_HOST_H
#define VMM_CORE_CHARDEV_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include "chardev.h"

struct evloop;
struct log;

/* stdin/stdout; a terminal on stdin is put in raw mode (keeping ISIG so
 * ^C still stops the VMM) and restored by chr_close. */
struct chr *chr_stdio_new(const char *id, struct evloop *loop, struct log *log);
/* Any fd pair (either may be -1); the fds stay the caller's. */
struct chr *chr_fds_new(const char *id, int in_fd, int out_fd,
			struct evloop *loop, struct log *log);
/* Output to a file (truncated unless append); input: none. */
struct chr *chr_file_new(const char *id, const char *path, bool append,
			 struct log *log);
/* Unix socket server at path.  wait: block in here until the first client
 * connects (QEMU's default); else start disconnected (`nowait`).  When a
 * client goes away the next one is accepted; output written while nobody
 * is connected is kept (the newest CHR_OUT_BUF bytes) for the next client.
 * A live socket already at path (someone accepts on it) or a file that is
 * not a socket: NULL with EADDRINUSE, the file untouched; a stale socket
 * file is replaced.  Close removes the file only if it is still ours. */
struct chr *chr_socket_new(const char *id, const char *path, bool wait,
			   struct evloop *loop, struct log *log);
/* Unix socket client of whoever listens at path (nothing is created or
 * removed there).  reconnect_s 0: a failed connect is NULL with errno set
 * (ENOENT, ECONNREFUSED...), and a hang-up leaves it disconnected for
 * good.  reconnect_s > 0: start even unconnected, and retry every
 * reconnect_s seconds from the loop's clock until connected, after a
 * hang-up too.  Output while disconnected is kept as for a server. */
struct chr *chr_socket_client_new(const char *id, const char *path,
				  unsigned reconnect_s, struct evloop *loop,
				  struct log *log);
/* A new pseudo-terminal; chr_pty_path() names the slave to connect to. */
struct chr *chr_pty_new(const char *id, struct evloop *loop, struct log *log);
const char *chr_pty_path(const struct chr *c);

/* Output bytes accepted but not yet written to the host. */
size_t chr_host_out_pending(const struct chr *c);

#endif
