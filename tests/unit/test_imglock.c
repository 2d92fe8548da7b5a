/* Image locks as QEMU takes them (core/imglock.h; issue 11 item 6): the
 * bytes QEMU 7.2 locks for a virtio-blk drive (writer 100, 101, 201;
 * reader 100, 201; share-rw=on drops 201), who excludes whom, the same
 * through blockdev_file_open_opts and through an nvdimm's gm_add_mmap,
 * and another process's locks seen as well as our own second open. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/blockdev.h"
#include "core/gm.h"
#include "core/imglock.h"

static int setup(void **state)
{
	char *path = malloc(64);
	snprintf(path, 64, "/tmp/test_imglock_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 << 20), 0);
	close(fd);
	*state = path;
	return 0;
}

static int teardown(void **state)
{
	unlink(*state);
	free(*state);
	return 0;
}

static int open_rw(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* Is byte off locked by an open file other than fd's? */
static bool held(int fd, unsigned off)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = off, .l_len = 1 };
	assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
	return fl.l_type != F_UNLCK;
}

/* The bytes one user locks, seen from another open file: bit i for byte
 * 100 + i, bit 4 + i for byte 200 + i. */
static unsigned locked_bytes(const char *path, bool write, bool share_rw)
{
	int a = open_rw(path), probe = open_rw(path);
	char err[160];
	assert_int_equal(imglock_take(a, write, share_rw, err, sizeof(err)), 0);
	unsigned bits = 0;
	for (unsigned i = 0; i < IMGLOCK_NPERM; i++) {
		bits |= (unsigned)held(probe, IMGLOCK_PERM_BASE + i) << i;
		bits |= (unsigned)held(probe, IMGLOCK_SHARED_BASE + i) << (4 + i);
	}
	/* Nothing outside QEMU's two ranges. */
	assert_false(held(probe, 99));
	assert_false(held(probe, 104));
	assert_false(held(probe, 199));
	assert_false(held(probe, 204));
	close(a);
	close(probe);
	return bits;
}

static void test_qemu_bytes(void **state)
{
	const char *path = *state;
	/* What /proc/locks shows for QEMU 7.2's -drive + virtio-blk-pci. */
	assert_int_equal(locked_bytes(path, true, false), 0x1 | 0x2 | 0x20);
	assert_int_equal(locked_bytes(path, false, false), 0x1 | 0x20);
	assert_int_equal(locked_bytes(path, true, true), 0x1 | 0x2);
	assert_int_equal(locked_bytes(path, false, true), 0x1);
}

/* Can a second user (write2, share2) get the image while the first
 * (write1, share1) holds it?  Each on its own open file. */
static int second(const char *path, bool write1, bool share1, bool write2,
		  bool share2, char *err, size_t errlen)
{
	int a = open_rw(path), b = open_rw(path);
	assert_int_equal(imglock_take(a, write1, share1, err, errlen), 0);
	int r = imglock_take(b, write2, share2, err, errlen);
	close(b);
	/* The first user's locks go with its file. */
	int c = open_rw(path);
	close(a);
	assert_int_equal(imglock_take(c, write2, share2, err, errlen), 0);
	close(c);
	return r;
}

static void test_who_excludes_whom(void **state)
{
	const char *path = *state;
	char err[160];
	/* Readers share. */
	assert_int_equal(second(path, false, false, false, false, err, sizeof(err)), 0);
	/* A writer excludes writers and readers, and readers exclude it. */
	assert_int_equal(second(path, true, false, true, false, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "lock"));
	assert_int_equal(second(path, true, false, false, false, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "Failed to get shared \"write\" lock"));
	assert_int_equal(second(path, false, false, true, false, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "Failed to get \"write\" lock"));
	/* share-rw=on on both: writers share. */
	assert_int_equal(second(path, true, true, true, true, err, sizeof(err)), 0);
	assert_int_equal(second(path, true, true, false, true, err, sizeof(err)), 0);
	/* share-rw=on on one side only is not enough. */
	assert_int_equal(second(path, true, true, true, false, err, sizeof(err)), -EBUSY);
	assert_int_equal(second(path, true, false, true, true, err, sizeof(err)), -EBUSY);
	assert_int_equal(second(path, true, true, false, false, err, sizeof(err)), -EBUSY);
}

static void test_blockdev_locks(void **state)
{
	const char *path = *state;
	char err[256];
	struct blockdev_file_opts rw = { 0 }, ro = { .readonly = true };
	struct blockdev *a = blockdev_file_open_opts("a", path, &rw, err, sizeof(err));
	assert_non_null(a);
	errno = 0;
	assert_null(blockdev_file_open_opts("b", path, &rw, err, sizeof(err)));
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(err, "\"write\" lock"));
	assert_null(blockdev_file_open_opts("b", path, &ro, err, sizeof(err)));
	assert_int_equal(errno, EBUSY);
	/* The short form takes the same locks. */
	assert_null(blockdev_file_open("b", path, true, false));
	assert_int_equal(errno, EBUSY);
	blockdev_close(a);
	a = blockdev_file_open_opts("a", path, &ro, err, sizeof(err));
	struct blockdev *b = blockdev_file_open_opts("b", path, &ro, err, sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	blockdev_close(a);
	blockdev_close(b);
	struct blockdev_file_opts srw = { .share_rw = true };
	a = blockdev_file_open_opts("a", path, &srw, err, sizeof(err));
	b = blockdev_file_open_opts("b", path, &srw, err, sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	blockdev_close(a);
	blockdev_close(b);
}

/* NVDIMM backing files: share=on and writable is a writer, anything
 * else a reader. */
static void test_nvdimm_mapping_locks(void **state)
{
	const char *path = *state;
	struct gm *g1 = gm_new(), *g2 = gm_new();
	struct gm_mmap_spec wr = { .kind = GM_MMAP_FILE, .path = path,
				   .share = true, .lock = true };
	struct gm_mmap_spec rd = { .kind = GM_MMAP_FILE, .path = path,
				   .readonly = true, .lock = true };
	assert_int_equal(gm_add_mmap(g1, 0, 2 << 20, &wr, 0, "a"), 0);
	assert_int_equal(gm_add_mmap(g2, 0, 2 << 20, &wr, 0, "b"), -EBUSY);
	assert_int_equal(gm_add_mmap(g2, 0, 2 << 20, &rd, 0, "b"), -EBUSY);
	/* So is a drive on the same file. */
	char err[256];
	struct blockdev_file_opts ro = { .readonly = true };
	assert_null(blockdev_file_open_opts("d", path, &ro, err, sizeof(err)));
	gm_free(g1);
	g1 = gm_new();
	assert_int_equal(gm_add_mmap(g1, 0, 2 << 20, &rd, 0, "a"), 0);
	assert_int_equal(gm_add_mmap(g2, 0, 2 << 20, &rd, 0, "b"), 0);
	gm_free(g1);
	gm_free(g2);
}

/* Another process holding the image: its locks are seen here. */
static void test_other_process(void **state)
{
	const char *path = *state;
	int ready[2], done[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		struct blockdev_file_opts rw = { 0 };
		struct blockdev *bd = blockdev_file_open_opts("c", path, &rw, err,
							      sizeof(err));
		char c = bd ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		/* Hold the image until the parent has looked. */
		if (read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	char c = 0;
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	char err[256];
	struct blockdev_file_opts ro = { .readonly = true };
	errno = 0;
	assert_null(blockdev_file_open_opts("p", path, &ro, err, sizeof(err)));
	assert_int_equal(errno, EBUSY);
	assert_int_equal(write(done[1], "x", 1), 1);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Gone with its process. */
	struct blockdev *bd = blockdev_file_open_opts("p", path, &ro, err, sizeof(err));
	assert_non_null(bd);
	blockdev_close(bd);
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_qemu_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_who_excludes_whom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blockdev_locks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvdimm_mapping_locks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_process, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
