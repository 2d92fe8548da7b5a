/* QMP descriptor passing: getfd / closefd (QEMU 7.2 monitor/misc.c
 * qmp_getfd, qmp_closefd) and the per-monitor table of named fds that
 * netdev_add fds=NAME and friends take from.
 *
 * A descriptor arrives as SCM_RIGHTS ancillary data on the QMP socket,
 * with the bytes of the command that claims it (govmm's ExecuteGetFD
 * sends "getfd" and the fd in one sendmsg).  The session holds such fds
 * as "pending" only while the message they came with is still being
 * read; once no partial message is left, every pending fd that no getfd
 * took is closed.  So a client that sends fds without getfd cannot make
 * us accumulate them, and the table itself is bounded (QMP_MAX_FDS). */
#include "qmp_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct qmp_fd_entry {
	char name[QMP_FD_NAME_MAX + 1];
	int fd; /* -1: free entry */
};

struct qmp_fdtab {
	struct qmp_fd_entry e[QMP_MAX_FDS];
};

struct qmp_fdtab *qmp_fdtab_new(void)
{
	struct qmp_fdtab *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	for (unsigned i = 0; i < QMP_MAX_FDS; i++)
		t->e[i].fd = -1;
	return t;
}

void qmp_fdtab_free(struct qmp_fdtab *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < QMP_MAX_FDS; i++)
		if (t->e[i].fd >= 0)
			close(t->e[i].fd);
	free(t);
}

static struct qmp_fd_entry *qmp_fdtab_find(struct qmp_fdtab *t, const char *name)
{
	for (unsigned i = 0; i < QMP_MAX_FDS; i++)
		if (t->e[i].fd >= 0 && strcmp(t->e[i].name, name) == 0)
			return &t->e[i];
	return NULL;
}

int qmp_fdtab_take(struct qmp_fdtab *t, const char *name)
{
	struct qmp_fd_entry *e = t && name ? qmp_fdtab_find(t, name) : NULL;
	if (!e)
		return -ENOENT;
	/* QEMU's monitor_get_fd: the user of a named fd owns it from now on. */
	int fd = e->fd;
	e->fd = -1;
	e->name[0] = '\0';
	return fd;
}

bool qmp_fdtab_has(const struct qmp_fdtab *t, const char *name)
{
	return t && name && qmp_fdtab_find((struct qmp_fdtab *)t, name) != NULL;
}

unsigned qmp_fdtab_count(const struct qmp_fdtab *t)
{
	unsigned n = 0;
	for (unsigned i = 0; t && i < QMP_MAX_FDS; i++)
		n += t->e[i].fd >= 0;
	return n;
}

/* Store fd under name (taking ownership; a same-named fd is replaced and
 * closed, as QEMU does).  -ENOSPC when the table is full: fd is then
 * closed too, so the caller never has to. */
static int qmp_fdtab_put(struct qmp_fdtab *t, const char *name, int fd)
{
	struct qmp_fd_entry *e = qmp_fdtab_find(t, name);
	if (e) {
		close(e->fd);
		e->fd = fd;
		return 0;
	}
	for (unsigned i = 0; i < QMP_MAX_FDS; i++) {
		if (t->e[i].fd < 0) {
			strcpy(t->e[i].name, name); /* length checked by the caller */
			t->e[i].fd = fd;
			return 0;
		}
	}
	close(fd);
	return -ENOSPC;
}

void cmd_getfd(struct qmp_call *c)
{
	const char *name = json_get_str(json_get(c->args, "fdname"));
	int fd = c->take_pending_fd ? c->take_pending_fd(c->sess) : -1;
	if (fd < 0) {
		qmp_call_error(c, QMP_ERR_GENERIC, "No file descriptor supplied via SCM_RIGHTS");
		return;
	}
	/* QEMU refuses names that look like fd numbers (a "fd=3" elsewhere
	 * means the number); its check comes after taking the fd, which it
	 * then closes. */
	if (name[0] >= '0' && name[0] <= '9') {
		close(fd);
		qmp_call_error(c, QMP_ERR_GENERIC,
			       "Parameter 'fdname' expects a name not starting with a digit");
		return;
	}
	if (strlen(name) > QMP_FD_NAME_MAX) {
		close(fd);
		qmp_call_error(c, QMP_ERR_GENERIC, "Parameter 'fdname' expects a name of at most %d bytes",
			       QMP_FD_NAME_MAX);
		return;
	}
	if (!c->fds || qmp_fdtab_put(c->fds, name, fd) != 0) {
		if (!c->fds)
			close(fd);
		qmp_call_error(c, QMP_ERR_GENERIC, "Too many file descriptors (at most %d)",
			       QMP_MAX_FDS);
	}
}

void cmd_closefd(struct qmp_call *c)
{
	const char *name = json_get_str(json_get(c->args, "fdname"));
	int fd = qmp_fdtab_take(c->fds, name);
	if (fd < 0) {
		qmp_call_error(c, QMP_ERR_GENERIC, "File descriptor named '%.100s' not found", name);
		return;
	}
	close(fd);
}
