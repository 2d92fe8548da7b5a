/* Entropy from a host file or character device (rng-random filename=).
 * Opened O_NONBLOCK: the device retries on -EAGAIN instead of blocking the
 * thread that runs device code. */
#include "core/entropy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

struct entropy_file {
	struct entropy e;
	int fd;
};

ssize_t entropy_read(struct entropy *e, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	ssize_t n = e->ops->read(e, buf, len);
	if (n > 0)
		e->bytes += (uint64_t)n;
	return n;
}

void entropy_close(struct entropy *e)
{
	if (e)
		e->ops->close(e);
}

static ssize_t file_read(struct entropy *e, void *buf, size_t len)
{
	struct entropy_file *f = (struct entropy_file *)e;
	for (;;) {
		ssize_t n = read(f->fd, buf, len);
		if (n > 0)
			return n;
		if (n == 0)
			return -EIO; /* a regular file ran dry: no more entropy */
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

static void file_close(struct entropy *e)
{
	struct entropy_file *f = (struct entropy_file *)e;
	close(f->fd);
	free(f);
}

static const struct entropy_ops file_ops = {
	.read = file_read,
	.close = file_close,
};

struct entropy *entropy_file_open(const char *id, const char *filename)
{
	int fd = open(filename, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* A character device (/dev/urandom, /dev/hwrng) or a regular file;
	 * a FIFO or socket is no source of entropy. */
	struct stat st;
	bool got = fstat(fd, &st) == 0;
	if (!got || !(S_ISCHR(st.st_mode) || S_ISREG(st.st_mode))) {
		int e = got ? EINVAL : errno;
		close(fd);
		errno = e;
		return NULL;
	}
	struct entropy_file *f = calloc(1, sizeof(*f));
	if (!f) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	f->fd = fd;
	f->e.ops = &file_ops;
	snprintf(f->e.id, sizeof(f->e.id), "%s", id ? id : filename);
	return &f->e;
}
