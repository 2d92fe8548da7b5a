/* QEMU-compatible OFD image locks (core/imglock.h). */
#include "core/imglock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

/* QEMU's names for the permissions, as its error messages print them
 * (bdrv_perm_names). */
static const char *const imglock_names[IMGLOCK_NPERM] = {
	"consistent read", "write", "write unchanged", "resize",
};

/* A shared lock on one byte (QEMU qemu_lock_fd(fd, off, 1, false)). */
static int imglock_byte(int fd, unsigned off)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET,
			    .l_start = off, .l_len = 1 };
	return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* Does another open file hold a lock on byte off?  (QEMU
 * qemu_lock_fd_test with exclusive: any lock but our own conflicts with
 * a write lock.)  1 yes, 0 no, -errno. */
static int imglock_held(int fd, unsigned off)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = off, .l_len = 1 };
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

/* The filesystem (or kernel) has no OFD locks: go on unlocked. */
static bool imglock_unsupported(int e)
{
	return e == -EINVAL || e == -ENOLCK || e == -EOPNOTSUPP || e == -ENOSYS;
}

int imglock_take(int fd, bool write, bool share_rw, char *err, size_t errlen)
{
	unsigned perm = 1u << IMGLOCK_CONSISTENT_READ;
	if (write)
		perm |= 1u << IMGLOCK_WRITE;
	unsigned unshared = share_rw ? 0 : 1u << IMGLOCK_WRITE;
	/* Lock first, then check, as QEMU does: of two users starting at
	 * once, at least the later one sees the other's bytes. */
	for (unsigned i = 0; i < IMGLOCK_NPERM; i++) {
		int r = 0;
		if (perm & (1u << i))
			r = imglock_byte(fd, IMGLOCK_PERM_BASE + i);
		if (!r && (unshared & (1u << i)))
			r = imglock_byte(fd, IMGLOCK_SHARED_BASE + i);
		if (r == -EAGAIN || r == -EACCES) {
			/* Only a write lock refuses ours; QEMU never takes
			 * one, but whoever did means "keep out". */
			snprintf(err, errlen, "Failed to get \"%s\" lock: another "
				 "process holds a write lock on the image",
				 imglock_names[i]);
			return -EBUSY;
		}
		if (imglock_unsupported(r))
			return 0;
		if (r < 0) {
			snprintf(err, errlen, "locking the image: %s", strerror(-r));
			return r;
		}
	}
	for (unsigned i = 0; i < IMGLOCK_NPERM; i++) {
		/* We need permission i: nobody may refuse to share it. */
		int r = (perm & (1u << i)) ?
			imglock_held(fd, IMGLOCK_SHARED_BASE + i) : 0;
		if (r == 1) {
			snprintf(err, errlen, "Failed to get \"%s\" lock: is another "
				 "process (QEMU or vmm) using the image?",
				 imglock_names[i]);
			return -EBUSY;
		}
		/* We refuse to share permission i: nobody may hold it. */
		if (r == 0 && (unshared & (1u << i)))
			r = imglock_held(fd, IMGLOCK_PERM_BASE + i);
		if (r == 1) {
			snprintf(err, errlen, "Failed to get shared \"%s\" lock: is "
				 "another process (QEMU or vmm) using the image?",
				 imglock_names[i]);
			return -EBUSY;
		}
		if (imglock_unsupported(r))
			return 0;
		if (r < 0) {
			snprintf(err, errlen, "checking the image's locks: %s",
				 strerror(-r));
			return r;
		}
	}
	return 0;
}
