/* The command/file helper process (core/spawn.h).
 *
 * Wire format on the SOCK_SEQPACKET pair, one message each:
 *   request  op byte ('w' shell we write to, 'r' shell we read from,
 *            'W' open for writing, 'R' open for reading), then the
 *            command or path (not NUL-terminated, < SPAWN_MAX bytes)
 *   reply    int32: 0 or -errno, with one descriptor when 0
 *   status   (shell requests only, once the command ended) int32 */
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPAWN_MAX 4096

struct spawn {
	int sock;
	pid_t pid;
};

static int spawn_send(int sock, int32_t v, int fd)
{
	struct iovec iov = { &v, sizeof(v) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&c, 0, sizeof(c));
		m.msg_control = c.buf;
		m.msg_controllen = sizeof(c.buf);
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fd, sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(v) ? 0 : -1;
}

/* Child side: close every descriptor except keep (and 0-2). */
static void spawn_close_others(int keep)
{
#ifdef SYS_close_range
	if (keep < 0 && syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return;
	if (keep > 3 && syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0 &&
	    syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		if (fd != keep)
			close(fd);
}

/* The grandchild: the command, with the pipe end as stdin or stdout. */
static void spawn_exec(const char *cmd, int end, bool cmd_reads)
{
	if (dup2(end, cmd_reads ? 0 : 1) < 0)
		_exit(127);
	spawn_close_others(-1);
	signal(SIGPIPE, SIG_DFL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

static void spawn_do_shell(int sock, const char *cmd, bool cmd_reads)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		spawn_send(sock, -errno, -1);
		return;
	}
	int ours = cmd_reads ? p[1] : p[0], theirs = cmd_reads ? p[0] : p[1];
	pid_t c = fork();
	if (c < 0) {
		spawn_send(sock, -errno, -1);
		close(p[0]);
		close(p[1]);
		return;
	}
	if (c == 0) {
		close(sock);
		close(ours);
		spawn_exec(cmd, theirs, cmd_reads);
	}
	close(theirs);
	spawn_send(sock, 0, ours);
	close(ours);
	int st = 0;
	pid_t w;
	do
		w = waitpid(c, &st, 0);
	while (w < 0 && errno == EINTR);
	int32_t status = w < 0 ? -ECHILD : WIFEXITED(st) ? WEXITSTATUS(st) :
			 WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
	spawn_send(sock, status, -1);
}

static void spawn_do_open(int sock, const char *path, bool write)
{
	int fd = write ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
			      O_NOCTTY, 0600) :
		 open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		spawn_send(sock, -errno, -1);
		return;
	}
	/* Reading: a FIFO would not block the open (O_NONBLOCK) but must
	 * block the reads, as a file does. */
	if (!write)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	spawn_send(sock, 0, fd);
	close(fd);
}

static void spawn_helper(int sock)
{
	spawn_close_others(sock);
	/* Its own name, so ps and tests tell it from the VMM whose command
	 * line it shares. */
	prctl(PR_SET_NAME, (unsigned long)"vmm-helper", 0, 0, 0);
	/* Our parent's signal set-up is not ours: a SIGTERM for the VMM's
	 * process group must not leave a helper behind, a SIGPIPE from a
	 * closed socket must not either. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char buf[SPAWN_MAX + 1];
	for (;;) {
		ssize_t n = recv(sock, buf, SPAWN_MAX, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		buf[n] = 0;
		/* A NUL inside would cut the command short silently. */
		if (n < 2 || strlen(buf + 1) != (size_t)(n - 1)) {
			spawn_send(sock, -EINVAL, -1);
			continue;
		}
		switch (buf[0]) {
		case 'w': spawn_do_shell(sock, buf + 1, true); break;
		case 'r': spawn_do_shell(sock, buf + 1, false); break;
		case 'W': spawn_do_open(sock, buf + 1, true); break;
		case 'R': spawn_do_open(sock, buf + 1, false); break;
		default: spawn_send(sock, -EINVAL, -1); break;
		}
	}
}

struct spawn *spawn_new(char *err, size_t errlen)
{
	struct spawn *s = calloc(1, sizeof(*s));
	int sv[2];
	if (!s) {
		snprintf(err, errlen, "vmm: out of memory");
		return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "vmm: migration helper: socketpair: %s",
			 strerror(errno));
		free(s);
		return NULL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "vmm: migration helper: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(s);
		return NULL;
	}
	if (pid == 0) {
		close(sv[0]);
		spawn_helper(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	s->sock = sv[0];
	s->pid = pid;
	return s;
}

void spawn_cancel(struct spawn *s)
{
	if (s)
		shutdown(s->sock, SHUT_RDWR);
}

void spawn_free(struct spawn *s)
{
	if (!s)
		return;
	close(s->sock);
	/* The helper exits on EOF at once (it is idle: callers finished
	 * their requests, or cancelled them). */
	int st;
	while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
		;
	free(s);
}

/* One int32 reply, and a descriptor with it when *fd is asked for. */
static int spawn_recv(struct spawn *s, int *fd)
{
	int32_t v;
	struct iovec iov = { &v, sizeof(v) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = c.buf, .msg_controllen = sizeof(c.buf) };
	ssize_t n;
	do
		n = recvmsg(s->sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ESHUTDOWN;
	if (n != (ssize_t)sizeof(v))
		return n < 0 ? -errno : -EPROTO;
	int got = -1;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
		    h->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&got, CMSG_DATA(h), sizeof(int));
	if (fd)
		*fd = got;
	else if (got >= 0)
		close(got);
	return v;
}

static int spawn_request(struct spawn *s, char op, const char *arg)
{
	size_t len = strlen(arg);
	if (len == 0 || len >= SPAWN_MAX)
		return -EINVAL;
	char buf[SPAWN_MAX];
	buf[0] = op;
	memcpy(buf + 1, arg, len);
	ssize_t n;
	do
		n = send(s->sock, buf, len + 1, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(len + 1))
		return n < 0 ? -errno : -EPROTO;
	int fd = -1;
	int r = spawn_recv(s, &fd);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd >= 0 ? fd : -EPROTO;
}

int spawn_shell(struct spawn *s, const char *cmd, enum spawn_dir dir)
{
	return spawn_request(s, dir == SPAWN_TO_CMD ? 'w' : 'r', cmd);
}

int spawn_wait(struct spawn *s)
{
	return spawn_recv(s, NULL);
}

int spawn_open(struct spawn *s, const char *path, bool write)
{
	return spawn_request(s, write ? 'W' : 'R', path);
}
