/* -pidfile and -daemonize (see proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/proc.h"

int proc_write_pidfile(struct proc *p, const char *path, char *err,
		       size_t errlen)
{
	/* A lock, as QEMU does, so two VMMs never share one pidfile. */
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "vmm: -pidfile: cannot open '%s': %s",
			 path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "vmm: -pidfile: '%s' is locked by another "
			 "running vmm", path);
		close(fd);
		return -1;
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
		snprintf(err, errlen, "vmm: -pidfile: cannot write '%s': %s",
			 path, strerror(errno));
		close(fd);
		return -1;
	}
	p->pidfile_fd = fd;
	p->pidfile = path;
	return 0;
}

/* fork; the parent waits until the child says the VM is running (or died)
 * so a launcher that waits for the parent sees a ready VM, as with QEMU. */
int proc_daemonize(struct proc *p)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(pfd[1]);
		char c;
		ssize_t r;
		do
			r = read(pfd[0], &c, 1);
		while (r < 0 && errno == EINTR);
		/* No byte: the child failed before the VM ran; it printed why. */
		_exit(r == 1 ? 0 : 1);
	}
	close(pfd[0]);
	if (setsid() < 0)
		return -1;
	/* The daemon never reads or writes the terminal: with -serial stdio
	 * the console goes nowhere, and the terminal is never put in raw
	 * mode behind the shell's back.  stderr stays until the VM runs so
	 * set-up errors still reach the user through the waiting parent. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return -1;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	close(null);
	p->ready_fd = pfd[1];
	if (chdir("/") < 0)
		return -1;
	return 0;
}

void proc_ready(void *arg)
{
	struct proc *p = arg;
	if (p->ready_fd < 0)
		return;
	/* The parent exits now; detach our stdio from its terminal. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	ssize_t w;
	do
		w = write(p->ready_fd, "1", 1);
	while (w < 0 && errno == EINTR);
	close(p->ready_fd);
	p->ready_fd = -1;
}

void proc_cleanup(struct proc *p)
{
	if (p->pidfile_fd >= 0) {
		unlink(p->pidfile);
		close(p->pidfile_fd);
		p->pidfile_fd = -1;
	}
}
