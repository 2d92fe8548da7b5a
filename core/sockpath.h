/* Unix socket paths a server is about to bind: what may be replaced.
 * A socket file that someone still accepts connections on belongs to a
 * live program and is never removed (QEMU would unlink it and take the
 * name); a socket nobody listens on is a leftover and may be; any other
 * kind of file is never ours to remove. */
#ifndef VMM_CORE_SOCKPATH_H
#define VMM_CORE_SOCKPATH_H

/* Make room at path for bind(): 0 when nothing is there or a stale socket
 * was removed; -EADDRINUSE for a live socket or a file that is not a
 * socket (left untouched); -ENAMETOOLONG; another -errno from lstat. */
int sockpath_clear_stale(const char *path);

#endif
