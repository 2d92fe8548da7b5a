/* Block backends (raw file, O_DIRECT, read-only, in-memory) as virtio-blk
 * sees them.  Byte offsets; every call is synchronous and bounds-checked
 * here (blockdev_*), so a backend only ever sees in-range requests.
 *
 * Durability contract: after blockdev_flush() returns 0, every write that
 * returned before it is on stable storage (fdatasync for files). */
#ifndef VMM_CORE_BLOCKDEV_H
#define VMM_CORE_BLOCKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct blockdev;

struct blockdev_ops {
	/* Whole-buffer transfers: 0 or -errno. */
	int (*read)(struct blockdev *bd, uint64_t off, void *buf, size_t len);
	int (*write)(struct blockdev *bd, uint64_t off, const void *buf, size_t len);
	int (*flush)(struct blockdev *bd);
	/* Deallocate: afterwards the range reads as zeroes. */
	int (*discard)(struct blockdev *bd, uint64_t off, uint64_t len);
	/* Make the range read as zeroes; unmap allows deallocation. */
	int (*write_zeroes)(struct blockdev *bd, uint64_t off, uint64_t len,
			    bool unmap);
	void (*close)(struct blockdev *bd);
};

struct blockdev {
	const struct blockdev_ops *ops;
	uint64_t size;     /* bytes */
	bool readonly;
	bool direct;       /* O_DIRECT: transfers go through aligned bounces */
	/* Flushes succeed without reaching the host (QEMU's
	 * cache.no-flush=on, -drive cache=unsafe): the durability contract
	 * above is waived, as the user asked. */
	bool no_flush;
	char id[64];
	/* Counters (host-side statistics). */
	uint64_t nr_read, nr_write, nr_flush, nr_discard, nr_zero;
};

/* Bounds- and readonly-checked front door.  -EINVAL for a range outside the
 * device (or wrapping), -EROFS for modifications of a read-only device. */
int blockdev_read(struct blockdev *bd, uint64_t off, void *buf, size_t len);
int blockdev_write(struct blockdev *bd, uint64_t off, const void *buf, size_t len);
int blockdev_flush(struct blockdev *bd);
int blockdev_discard(struct blockdev *bd, uint64_t off, uint64_t len);
int blockdev_write_zeroes(struct blockdev *bd, uint64_t off, uint64_t len,
			  bool unmap);
void blockdev_close(struct blockdev *bd);

/* A raw image file.  readonly: O_RDONLY (the file is never modified);
 * direct: O_DIRECT, unaligned guest transfers bounced through aligned
 * buffers; share_rw: other writers may have the image too (QEMU's
 * share-rw=on).  The image is locked as QEMU locks it (core/imglock.h):
 * EBUSY when another process (vmm or QEMU) holds a conflicting lock;
 * EINVAL for a file that is neither a regular file nor a block device (a
 * FIFO is refused at once, never waited on).
 * Returns NULL with errno set and one line in err (the caller names the
 * option). */
struct blockdev_file_opts {
	bool readonly, direct, share_rw;
};
struct blockdev *blockdev_file_open_opts(const char *id, const char *path,
					 const struct blockdev_file_opts *o,
					 char *err, size_t errlen);
/* The same without share_rw and without the message. */
struct blockdev *blockdev_file_open(const char *id, const char *path,
				    bool readonly, bool direct);
/* fallocate(2)'s signature: -1 with errno on failure. */
typedef int blockdev_fallocate_fn(int fd, int mode, off_t off, off_t len);
/* Tests: call fn in place of fallocate(2) on a file backend (a filesystem
 * without FALLOC_FL_ZERO_RANGE or PUNCH_HOLE answers EOPNOTSUPP, and the
 * backend falls back to writing zeroes).  NULL: fallocate(2) again. */
void blockdev_file_set_fallocate(struct blockdev *bd, blockdev_fallocate_fn *fn);
/* The alignment O_DIRECT transfers use (offset, length and memory). */
#define BLOCKDEV_DIRECT_ALIGN 4096u

/* In-memory disk of `size` bytes (zeroed), for tests and benchmarks. */
struct blockdev *blockdev_mem_new(const char *id, uint64_t size, bool readonly);
/* The backing bytes (tests inspect and seed them). */
uint8_t *blockdev_mem_data(struct blockdev *bd);
/* Make every subsequent operation fail with err (0 clears): error paths. */
void blockdev_mem_fail(struct blockdev *bd, int err);

#endif
