/* Image locking as QEMU does it, so QEMU and vmm see each other's locks.
 *
 * QEMU (block/file-posix.c, raw_apply_lock_bytes / raw_check_lock_bytes)
 * takes an OFD byte-range read lock (F_OFD_SETLK, F_RDLCK) on byte
 * 100 + i for every block permission i its user holds, and on byte
 * 200 + i for every permission it does not share with others; then it
 * checks that nobody else holds byte 200 + i for a permission it holds,
 * nor byte 100 + i for one it does not share.  Permission bits (QEMU 7.2
 * include/block/block-common.h): 0 consistent read, 1 write, 2 write
 * unchanged, 3 resize.  A virtio-blk drive holds consistent read, plus
 * write when writable, and shares everything but write unless the device
 * says share-rw=on: readers coexist, a writer excludes readers and
 * writers, share-rw=on users coexist with each other.  OFD locks belong
 * to the open file description, so they go away when the fd is closed and
 * a second open in the same process conflicts like another process. */
#ifndef VMM_CORE_IMGLOCK_H
#define VMM_CORE_IMGLOCK_H

#include <stdbool.h>
#include <stddef.h>

#define IMGLOCK_PERM_BASE 100    /* QEMU RAW_LOCK_PERM_BASE */
#define IMGLOCK_SHARED_BASE 200  /* QEMU RAW_LOCK_SHARED_BASE */
enum {
	IMGLOCK_CONSISTENT_READ = 0, /* BLK_PERM_CONSISTENT_READ = 1 << 0 */
	IMGLOCK_WRITE = 1,           /* BLK_PERM_WRITE = 1 << 1 */
	IMGLOCK_WRITE_UNCHANGED = 2, /* BLK_PERM_WRITE_UNCHANGED = 1 << 2 */
	IMGLOCK_RESIZE = 3,          /* BLK_PERM_RESIZE = 1 << 3 */
	IMGLOCK_NPERM = 4,
};

/* Lock the image open on fd for a reader (write false) or a writer;
 * share_rw lets other writers in (QEMU's share-rw=on).  0 when locked
 * (or when the filesystem has no OFD locks: QEMU's locking=auto goes on
 * without them too); -EBUSY when another open file holds a conflicting
 * lock, with err saying which, as QEMU says it ('Failed to get "write"
 * lock'); another -errno with err for other failures.  On failure the
 * locks this call took stay until fd is closed (the caller closes it). */
int imglock_take(int fd, bool write, bool share_rw, char *err, size_t errlen);

#endif
