/* A helper process that runs shell commands and opens files for the VMM
 * after its seccomp sandbox is in (migration's exec: and file: URIs).
 *
 * The sandbox refuses fork, execve and (under -no-reboot) openat, and a
 * child would inherit the filter anyway, so a command could not run.  The
 * helper is forked before the sandbox, from a process with no guest yet,
 * closes every descriptor but its socket, and waits for requests on a
 * SOCK_SEQPACKET pair: run `/bin/sh -c CMD` with a pipe as its stdin (the
 * VMM writes a stream to it) or stdout (the VMM reads one), or open a
 * path, and pass the descriptor back (SCM_RIGHTS).  For a command it then
 * waits for the command to end and sends its exit status, so a stream
 * counts as written only once `cat >FILE` has finished writing FILE, as
 * QEMU's exec: migration waits for its command.  The helper exits when
 * the VMM's end of the socket closes (the VMM ended, however it ended).
 *
 * One request at a time per helper (the caller serializes).  Its name
 * (comm) is "vmm-helper".
 *
 * The trade-off: the helper runs outside the VMM's seccomp filter, so a
 * VMM taken over by its guest could ask it to run a command, which the
 * filter alone would have prevented (QEMU's -sandbox spawn=deny makes
 * the same choice the other way: no exec: migration).  It is only forked
 * when migration is reachable (-qmp or -incoming). */
#ifndef VMM_CORE_SPAWN_H
#define VMM_CORE_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

struct spawn;

/* Fork the helper.  NULL with a message in err on failure. */
struct spawn *spawn_new(char *err, size_t errlen);
/* Close the socket (the helper exits; a command it runs is not killed)
 * and reap the helper. */
void spawn_free(struct spawn *s);
/* Wake a thread blocked in spawn_wait (teardown): it returns -ESHUTDOWN. */
void spawn_cancel(struct spawn *s);

enum spawn_dir {
	SPAWN_TO_CMD,    /* we write, the command reads its stdin */
	SPAWN_FROM_CMD,  /* the command writes its stdout, we read */
};
/* Start `/bin/sh -c cmd`.  Returns our end of the pipe (close-on-exec),
 * or -errno.  Then call spawn_wait once our end is closed. */
int spawn_shell(struct spawn *s, const char *cmd, enum spawn_dir dir);
/* The exit status of the command spawn_shell started: 0, a positive
 * exit code (128 + N for signal N), or -errno. */
int spawn_wait(struct spawn *s);
/* Open path: for writing (created 0600 if absent, truncated) or for
 * reading.  Returns the descriptor (close-on-exec) or -errno. */
int spawn_open(struct spawn *s, const char *path, bool write);

#endif
