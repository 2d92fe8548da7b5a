/* Process plumbing for the vmm program: -pidfile and -daemonize.
 * Moved out of programs/vmm_main.c so the program keeps only argument
 * handling and the choice of backend (docs/layers.md), and so this part
 * can be tested on its own. */
#ifndef VMM_CORE_PROC_H
#define VMM_CORE_PROC_H

#include <stddef.h>

/* What -daemonize and -pidfile leave behind for the exit path. */
struct proc {
	int ready_fd;   /* daemonized child: write one byte when running */
	int pidfile_fd;
	const char *pidfile;
};

#define PROC_INIT { .ready_fd = -1, .pidfile_fd = -1, .pidfile = NULL }

/* Write our pid to path, held under an exclusive lock until
 * proc_cleanup(); -1 with a message in err on failure. */
int proc_write_pidfile(struct proc *p, const char *path, char *err,
		       size_t errlen);
/* fork; the parent waits until the child calls proc_ready() and exits 0,
 * or exits 1 when the child dies first.  Returns in the child only;
 * -1 with errno set on failure. */
int proc_daemonize(struct proc *p);
/* The VM is running: release a waiting -daemonize parent.  A void *
 * argument so it can be the backend's ready callback; no-op when not
 * daemonized. */
void proc_ready(void *arg);
/* Remove the pidfile we wrote. */
void proc_cleanup(struct proc *p);

#endif
