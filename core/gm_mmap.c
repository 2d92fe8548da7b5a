/* mmap-backed guest memory for the KVM backend: anonymous (private RAM),
 * memfd (shareable RAM), a file (memory-backend-file, nvdimm: shared so
 * guest writes reach the file, or read-only) and hugetlbfs (a temp file in
 * a hugetlbfs mount, unlinked at once so nothing is left on disk). */
#include "gm.h"
#include "imglock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

/* Open (or create) the fd behind a mapping and make it at least size
 * bytes long.  Returns an fd or -errno. */
static int gm_mmap_fd(const struct gm_mmap_spec *spec, uint64_t size,
		      const char *name)
{
	if (spec->kind == GM_MMAP_FILE) {
		if (spec->offset > (uint64_t)INT64_MAX - size)
			return -EINVAL;
		size += spec->offset;
	}
	int fd;
	switch (spec->kind) {
	case GM_MMAP_MEMFD:
		fd = memfd_create(name ? name : "vmm-ram", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		break;
	case GM_MMAP_FILE:
		if (!spec->path)
			return -EINVAL;
		/* O_NONBLOCK: a FIFO would block open() until a peer came;
		 * only a regular file can back guest memory (mmap). */
		fd = open(spec->path, (spec->readonly ? O_RDONLY : O_RDWR) |
			  O_CLOEXEC | O_NONBLOCK |
			  (spec->create && !spec->readonly ? O_CREAT : 0), 0600);
		if (fd < 0)
			return -errno;
		struct stat st;
		bool got = fstat(fd, &st) == 0;
		if (!got || !S_ISREG(st.st_mode)) {
			int e = got ? ENODEV : errno;
			close(fd);
			return -e;
		}
		if (spec->lock) {
			char why[160];
			/* Only a shared writable mapping writes the file. */
			int r = imglock_take(fd, spec->share && !spec->readonly,
					     false, why, sizeof(why));
			if (r < 0) {
				close(fd);
				return r;
			}
		}
		break;
	case GM_MMAP_HUGETLBFS: {
		if (!spec->path)
			return -EINVAL;
		struct statfs sfs;
		if (statfs(spec->path, &sfs) != 0)
			return -errno;
		/* On a real hugetlbfs mount the size must be whole huge
		 * pages or ftruncate fails later with a less clear error. */
		if ((unsigned long)sfs.f_type == HUGETLBFS_MAGIC && sfs.f_bsize > 0 &&
		    size % (uint64_t)sfs.f_bsize != 0)
			return -EINVAL;
		char *tmpl;
		if (asprintf(&tmpl, "%s/vmm-mem-XXXXXX", spec->path) < 0)
			return -ENOMEM;
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			free(tmpl);
			return -e;
		}
		unlink(tmpl);
		free(tmpl);
		break;
	}
	default:
		return -EINVAL;
	}
	off_t cur = lseek(fd, 0, SEEK_END);
	if (cur < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if ((uint64_t)cur < size) {
		/* Touching a mapping past EOF raises SIGBUS: a read-only file
		 * must already be big enough; a writable one is grown (as
		 * QEMU's memory-backend-file does). */
		if (spec->kind == GM_MMAP_FILE && spec->readonly) {
			close(fd);
			return -EINVAL;
		}
		if (ftruncate(fd, (off_t)size) != 0) {
			int e = errno;
			close(fd);
			return -e;
		}
	}
	return fd;
}

int gm_add_mmap(struct gm *gm, uint64_t gpa, uint64_t size,
		const struct gm_mmap_spec *spec, unsigned flags, const char *name)
{
	if (!spec || size > (uint64_t)INT64_MAX)
		return -EINVAL;
	/* Validate before creating, growing or mapping anything. */
	int rc = gm_can_add(gm, gpa, size);
	if (rc)
		return rc;
	int fd = -1;
	int prot = PROT_READ | PROT_WRITE;
	int mflags;
	switch (spec->kind) {
	case GM_MMAP_ANON:
		mflags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
		break;
	case GM_MMAP_MEMFD:
		mflags = MAP_SHARED;
		break;
	case GM_MMAP_FILE:
	case GM_MMAP_HUGETLBFS:
		mflags = spec->share ? MAP_SHARED : MAP_PRIVATE;
		if (spec->kind == GM_MMAP_FILE && spec->readonly) {
			prot = PROT_READ;
			flags |= GM_READONLY;
		}
		break;
	default:
		return -EINVAL;
	}
	if (spec->kind != GM_MMAP_ANON) {
		fd = gm_mmap_fd(spec, size, name);
		if (fd < 0)
			return fd;
	}
	uint64_t off = spec->kind == GM_MMAP_FILE ? spec->offset : 0;
	if (off & 4095) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	if (mflags & MAP_SHARED)
		flags |= GM_SHARED;
	void *host = mmap(NULL, (size_t)size, prot, mflags, fd, (off_t)off);
	if (host == MAP_FAILED) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	rc = gm_add_region_owned(gm, gpa, size, host, flags, name,
				 GM_BACKING_MMAP, fd, off);
	if (rc) {
		munmap(host, (size_t)size);
		if (fd >= 0)
			close(fd);
	}
	return rc;
}
