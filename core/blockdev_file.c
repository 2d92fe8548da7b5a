/* Raw image file block backend.
 *
 * readonly opens O_RDONLY, so not even a bug here can modify the image.
 * direct opens O_DIRECT: the kernel then requires offset, length and buffer
 * alignment (BLOCKDEV_DIRECT_ALIGN covers every logical block size in
 * practice), so each transfer goes through an aligned bounce buffer with
 * read-modify-write of partial head/tail blocks.  Flush is fdatasync (the
 * data and the metadata needed to read it back), discard is a punched hole,
 * write-zeroes FALLOC_FL_ZERO_RANGE (or a hole when unmap is allowed).
 * Every image is locked as QEMU locks it (core/imglock.h). */
#include "core/blockdev.h"
#include "core/imglock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>

#define BOUNCE_SIZE (1u << 20)

/* The source of zeroes for write_zero_bytes.  Read-only memory, so no
 * I/O path can ever write into it: the O_DIRECT bounce once doubled as
 * it, and a read-modify-write of a partial block filled it with the
 * file's bytes, which were then written as the "zeroes".  Aligned, so an
 * aligned O_DIRECT write takes it without a bounce. */
#define ZERO_SIZE (64u << 10)
static const uint8_t file_zeroes[ZERO_SIZE]
	__attribute__((aligned(BLOCKDEV_DIRECT_ALIGN)));

struct blockdev_file {
	struct blockdev bd;
	int fd;
	uint8_t *bounce; /* direct only: BOUNCE_SIZE, aligned */
	/* fallocate(2), or a test's stand-in for a filesystem that lacks
	 * a mode (blockdev_file_set_fallocate). */
	blockdev_fallocate_fn *fallocate;
};

static struct blockdev_file *to_file(struct blockdev *bd)
{
	return (struct blockdev_file *)bd;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off, bool zero_eof)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			if (!zero_eof)
				return -EIO;
			memset(p, 0, len); /* O_DIRECT tail block past EOF */
			return 0;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static bool aligned(uint64_t v)
{
	return (v & (BLOCKDEV_DIRECT_ALIGN - 1)) == 0;
}

/* One bounce-sized aligned window at most per call. */
static int direct_chunk(struct blockdev_file *f, uint64_t off, uint8_t *buf,
			size_t len, bool is_write)
{
	uint64_t a0 = off & ~(uint64_t)(BLOCKDEV_DIRECT_ALIGN - 1);
	uint64_t end = off + len;
	uint64_t a1 = (end + BLOCKDEV_DIRECT_ALIGN - 1) &
		      ~(uint64_t)(BLOCKDEV_DIRECT_ALIGN - 1);
	size_t span = (size_t)(a1 - a0);
	int r;

	if (!is_write || a0 != off || a1 != end) {
		/* Reads always, writes when a partial block must be merged. */
		r = pread_full(f->fd, f->bounce, span, a0, true);
		if (r)
			return r;
	}
	if (!is_write) {
		memcpy(buf, f->bounce + (off - a0), len);
		return 0;
	}
	memcpy(f->bounce + (off - a0), buf, len);
	r = pwrite_full(f->fd, f->bounce, span, a0);
	if (r)
		return r;
	if (a1 > f->bd.size && ftruncate(f->fd, (off_t)f->bd.size) < 0)
		return -errno; /* the tail block grew the file: keep its size */
	return 0;
}

static int direct_xfer(struct blockdev_file *f, uint64_t off, uint8_t *buf,
		       size_t len, bool is_write)
{
	/* Room for the chunk plus a partial block at either end. */
	const size_t step = BOUNCE_SIZE - 2 * BLOCKDEV_DIRECT_ALIGN;
	while (len) {
		size_t n = len < step ? len : step;
		int r = direct_chunk(f, off, buf, n, is_write);
		if (r)
			return r;
		off += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static int file_read(struct blockdev *bd, uint64_t off, void *buf, size_t len)
{
	struct blockdev_file *f = to_file(bd);
	if (bd->direct) {
		if (aligned(off) && aligned(len) && aligned((uintptr_t)buf) &&
		    off + len <= (bd->size & ~(uint64_t)(BLOCKDEV_DIRECT_ALIGN - 1)))
			return pread_full(f->fd, buf, len, off, false);
		return direct_xfer(f, off, buf, len, false);
	}
	return pread_full(f->fd, buf, len, off, false);
}

static int file_write(struct blockdev *bd, uint64_t off, const void *buf, size_t len)
{
	struct blockdev_file *f = to_file(bd);
	if (bd->direct) {
		if (aligned(off) && aligned(len) && aligned((uintptr_t)buf) &&
		    off + len <= (bd->size & ~(uint64_t)(BLOCKDEV_DIRECT_ALIGN - 1)))
			return pwrite_full(f->fd, buf, len, off);
		/* direct_xfer only reads from buf on the write path. */
		return direct_xfer(f, off, (uint8_t *)(uintptr_t)buf, len, true);
	}
	return pwrite_full(f->fd, buf, len, off);
}

static int file_flush(struct blockdev *bd)
{
	return fdatasync(to_file(bd)->fd) < 0 ? -errno : 0;
}

/* Zero by writing when the filesystem cannot deallocate or zero ranges.
 * The zeroes come from file_zeroes, never from a buffer this backend
 * reads into. */
static int write_zero_bytes(struct blockdev *bd, uint64_t off, uint64_t len)
{
	int r = 0;
	while (len && !r) {
		size_t n = len < ZERO_SIZE ? (size_t)len : ZERO_SIZE;
		r = file_write(bd, off, file_zeroes, n);
		off += n;
		len -= n;
	}
	return r;
}

static int file_discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
	struct blockdev_file *f = to_file(bd);
	if (f->fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno == EOPNOTSUPP || errno == ENOSYS)
		return write_zero_bytes(bd, off, len);
	return -errno;
}

static int file_write_zeroes(struct blockdev *bd, uint64_t off, uint64_t len,
			     bool unmap)
{
	struct blockdev_file *f = to_file(bd);
	int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
			 : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	if (f->fallocate(f->fd, mode, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)
		return write_zero_bytes(bd, off, len);
	return -errno;
}

static void file_close(struct blockdev *bd)
{
	struct blockdev_file *f = to_file(bd);
	close(f->fd);
	free(f->bounce);
	free(f);
}

static const struct blockdev_ops file_ops = {
	.read = file_read,
	.write = file_write,
	.flush = file_flush,
	.discard = file_discard,
	.write_zeroes = file_write_zeroes,
	.close = file_close,
};

struct blockdev *blockdev_file_open_opts(const char *id, const char *path,
					 const struct blockdev_file_opts *o,
					 char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO would block open() until a peer came.  The
	 * type is checked before anything is read, then the flag goes. */
	int flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK;
	if (o->direct)
		flags |= O_DIRECT;
	int fd = open(path, flags);
	struct stat st;
	if (fd < 0) {
		int e = errno;
		/* O_DIRECT is refused (EINVAL) by what cannot do it: a FIFO,
		 * or a filesystem without it.  Say which. */
		if (e == EINVAL && o->direct && stat(path, &st) == 0) {
			bool file = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
			snprintf(err, errlen, "%s", file ? "direct=on: the "
				 "filesystem does not support O_DIRECT" :
				 "not a regular file or block device");
		} else {
			snprintf(err, errlen, "%s", strerror(e));
		}
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		close(fd);
		errno = e;
		return NULL;
	}
	if (!(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		snprintf(err, errlen, "not a regular file or block device");
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		close(fd);
		errno = e;
		return NULL;
	}
	/* The image's locks, as QEMU takes them, before anything reads it:
	 * a writer elsewhere (vmm or QEMU) is refused, not raced. */
	int r = imglock_take(fd, !o->readonly, o->share_rw, err, errlen);
	if (r < 0) {
		close(fd);
		errno = -r;
		return NULL;
	}
	off_t size = S_ISBLK(st.st_mode) ? lseek(fd, 0, SEEK_END) : st.st_size;
	struct blockdev_file *f = calloc(1, sizeof(*f));
	if (!f || size < 0) {
		free(f);
		close(fd);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	if (o->direct && posix_memalign((void **)&f->bounce, BLOCKDEV_DIRECT_ALIGN,
					BOUNCE_SIZE)) {
		free(f);
		close(fd);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	f->fd = fd;
	f->fallocate = fallocate;
	f->bd.ops = &file_ops;
	f->bd.size = (uint64_t)size;
	f->bd.readonly = o->readonly;
	f->bd.direct = o->direct;
	snprintf(f->bd.id, sizeof(f->bd.id), "%s", id ? id : path);
	return &f->bd;
}

struct blockdev *blockdev_file_open(const char *id, const char *path,
				    bool readonly, bool direct)
{
	struct blockdev_file_opts o = { .readonly = readonly, .direct = direct };
	char err[160];
	return blockdev_file_open_opts(id, path, &o, err, sizeof(err));
}

void blockdev_file_set_fallocate(struct blockdev *bd, blockdev_fallocate_fn *fn)
{
	to_file(bd)->fallocate = fn ? fn : fallocate;
}
