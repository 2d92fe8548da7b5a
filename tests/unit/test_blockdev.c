/* Block backends: the bounds/readonly front door, the in-memory disk, the
 * raw file (read-only never modifies, flush, discard/zeroes) and O_DIRECT
 * with unaligned offsets, lengths and buffers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "tests/unit/skip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/blockdev.h"

static void test_mem_basic(void **state)
{
	(void)state;
	struct blockdev *bd = blockdev_mem_new("m", 8192, false);
	assert_non_null(bd);
	assert_int_equal(bd->size, 8192);
	uint8_t buf[100], back[100];
	memset(buf, 0x3c, sizeof(buf));
	assert_int_equal(blockdev_write(bd, 1000, buf, sizeof(buf)), 0);
	assert_int_equal(blockdev_read(bd, 1000, back, sizeof(back)), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	assert_int_equal(blockdev_write_zeroes(bd, 1010, 10, false), 0);
	assert_int_equal(blockdev_mem_data(bd)[1015], 0);
	assert_int_equal(blockdev_discard(bd, 1000, 5), 0);
	assert_int_equal(blockdev_mem_data(bd)[1004], 0);
	assert_int_equal(blockdev_mem_data(bd)[1005], 0x3c);
	assert_int_equal(blockdev_flush(bd), 0);
	/* Out of range, wrapping, zero length. */
	assert_int_equal(blockdev_read(bd, 8192, back, 1), -EINVAL);
	assert_int_equal(blockdev_read(bd, 8100, back, 100), -EINVAL);
	assert_int_equal(blockdev_write(bd, UINT64_MAX, buf, 2), -EINVAL);
	assert_int_equal(blockdev_discard(bd, 1, UINT64_MAX), -EINVAL);
	assert_int_equal(blockdev_write_zeroes(bd, 8192, 1, true), -EINVAL);
	assert_int_equal(blockdev_read(bd, 8192, back, 0), 0);
	assert_int_equal(blockdev_discard(bd, 0, 0), 0);
	assert_int_equal(blockdev_write_zeroes(bd, 0, 0, false), 0);
	/* Injected failure. */
	blockdev_mem_fail(bd, -EIO);
	assert_int_equal(blockdev_read(bd, 0, back, 1), -EIO);
	assert_int_equal(blockdev_write(bd, 0, buf, 1), -EIO);
	assert_int_equal(blockdev_flush(bd), -EIO);
	assert_int_equal(blockdev_discard(bd, 0, 1), -EIO);
	blockdev_mem_fail(bd, 0);
	assert_true(bd->nr_read >= 2 && bd->nr_write >= 2);
	blockdev_close(bd);
	blockdev_close(NULL);
}

static void test_mem_readonly(void **state)
{
	(void)state;
	struct blockdev *bd = blockdev_mem_new(NULL, 4096, true);
	uint8_t b = 1;
	assert_int_equal(blockdev_write(bd, 0, &b, 1), -EROFS);
	assert_int_equal(blockdev_discard(bd, 0, 1), -EROFS);
	assert_int_equal(blockdev_write_zeroes(bd, 0, 1, false), -EROFS);
	assert_int_equal(blockdev_flush(bd), 0);
	assert_int_equal(blockdev_read(bd, 0, &b, 1), 0);
	blockdev_close(bd);
}

/* A temp file of size bytes with a pattern; returns its fd (kept open for
 * checks) and fills path. */
static int make_file(char *path, size_t size)
{
	strcpy(path, "/var/tmp/blockdev-test-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t *p = malloc(size);
	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)(i * 31 + i / 4096);
	assert_int_equal(pwrite(fd, p, size, 0), (ssize_t)size);
	free(p);
	return fd;
}

static void test_file_rw_flush(void **state)
{
	(void)state;
	char path[64];
	int fd = make_file(path, 65536);
	struct blockdev *bd = blockdev_file_open("f", path, false, false);
	assert_non_null(bd);
	assert_int_equal(bd->size, 65536);
	uint8_t buf[3000], back[3000];
	memset(buf, 0x99, sizeof(buf));
	assert_int_equal(blockdev_write(bd, 777, buf, sizeof(buf)), 0);
	assert_int_equal(blockdev_flush(bd), 0);
	assert_int_equal(pread(fd, back, sizeof(back), 777), (ssize_t)sizeof(back));
	assert_memory_equal(buf, back, sizeof(buf));
	assert_int_equal(blockdev_read(bd, 777, back, sizeof(back)), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	/* Discard and write-zeroes read back as zeroes; size unchanged. */
	assert_int_equal(blockdev_discard(bd, 8192, 8192), 0);
	assert_int_equal(blockdev_write_zeroes(bd, 100, 50, false), 0);
	assert_int_equal(blockdev_write_zeroes(bd, 20000, 4096, true), 0);
	static const uint8_t zero[8192];
	uint8_t z[8192];
	assert_int_equal(blockdev_read(bd, 8192, z, 8192), 0);
	assert_memory_equal(z, zero, 8192);
	assert_int_equal(blockdev_read(bd, 100, z, 50), 0);
	assert_memory_equal(z, zero, 50);
	assert_int_equal(blockdev_read(bd, 20000, z, 4096), 0);
	assert_memory_equal(z, zero, 4096);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 65536);
	blockdev_close(bd);
	close(fd);
	unlink(path);
}

static void test_file_readonly_untouched(void **state)
{
	(void)state;
	char path[64];
	int fd = make_file(path, 16384);
	struct stat st0, st1;
	assert_int_equal(fstat(fd, &st0), 0);
	struct blockdev *bd = blockdev_file_open("f", path, true, false);
	assert_non_null(bd);
	assert_true(bd->readonly);
	uint8_t b[512] = { 0 };
	assert_int_equal(blockdev_write(bd, 0, b, sizeof(b)), -EROFS);
	assert_int_equal(blockdev_discard(bd, 0, 512), -EROFS);
	assert_int_equal(blockdev_write_zeroes(bd, 0, 512, true), -EROFS);
	assert_int_equal(blockdev_flush(bd), 0);
	/* Even bypassing the front door, the fd is O_RDONLY. */
	assert_true(bd->ops->write(bd, 0, b, sizeof(b)) < 0);
	blockdev_close(bd);
	assert_int_equal(fstat(fd, &st1), 0);
	assert_int_equal(st0.st_mtim.tv_sec, st1.st_mtim.tv_sec);
	assert_int_equal(st0.st_mtim.tv_nsec, st1.st_mtim.tv_nsec);
	uint8_t first;
	assert_int_equal(pread(fd, &first, 1, 0), 1);
	assert_int_equal(first, 0);
	assert_int_equal(pread(fd, &first, 1, 1), 1);
	assert_int_equal(first, 31);
	close(fd);
	unlink(path);
}

static void test_file_open_errors(void **state)
{
	(void)state;
	errno = 0;
	assert_null(blockdev_file_open("x", "/nonexistent/disk.img", false, false));
	assert_int_equal(errno, ENOENT);
	assert_null(blockdev_file_open("x", "/", true, false));
	/* Reading past the end of a file that shrank is an error, not a hang. */
	char path[64];
	int fd = make_file(path, 8192);
	struct blockdev *bd = blockdev_file_open("f", path, false, false);
	assert_int_equal(ftruncate(fd, 4096), 0);
	uint8_t b[4096];
	assert_int_equal(blockdev_read(bd, 4096, b, sizeof(b)), -EIO);
	blockdev_close(bd);
	close(fd);
	unlink(path);
}

static void test_file_direct(void **state)
{
	(void)state;
	char path[64];
	/* Not a multiple of the alignment: the tail block is partial. */
	const size_t size = 3 * 1048576 + 4096 * 3 + 1024;
	int fd = make_file(path, size);
	struct blockdev *bd = blockdev_file_open("d", path, false, true);
	if (!bd && errno == EINVAL) {
		close(fd);
		unlink(path);
		SKIP_BECAUSE("the temp filesystem refuses O_DIRECT (tmpfs?)");
	}
	assert_non_null(bd);
	assert_true(bd->direct);
	uint8_t *ref = malloc(size), *buf = malloc(size + 1);
	assert_int_equal(pread(fd, ref, size, 0), (ssize_t)size);
	/* Unaligned everything, and a span larger than the bounce buffer. */
	struct { uint64_t off; size_t len; } cases[] = {
		{ 1, 10 }, { 4095, 2 }, { 512, 4096 }, { 0, 8192 },
		{ 100, 2 * 1048576 + 77 }, { size - 700, 700 }, { size - 5000, 5000 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* buf + 1: an unaligned destination too. */
		assert_int_equal(blockdev_read(bd, cases[i].off, buf + 1, cases[i].len), 0);
		assert_memory_equal(buf + 1, ref + cases[i].off, cases[i].len);
	}
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t k = 0; k < cases[i].len; k++)
			ref[cases[i].off + k] = (uint8_t)(i + k);
		assert_int_equal(blockdev_write(bd, cases[i].off, ref + cases[i].off,
						cases[i].len), 0);
	}
	/* An aligned transfer takes the direct path. */
	void *al = NULL;
	assert_int_equal(posix_memalign(&al, 4096, 8192), 0);
	memset(al, 0x42, 8192);
	assert_int_equal(blockdev_write(bd, 4096, al, 8192), 0);
	memset(ref + 4096, 0x42, 8192);
	assert_int_equal(blockdev_read(bd, 4096, al, 8192), 0);
	assert_memory_equal(al, ref + 4096, 8192);
	free(al);
	assert_int_equal(blockdev_flush(bd), 0);
	assert_int_equal(blockdev_write_zeroes(bd, 10, 10, false), 0);
	memset(ref + 10, 0, 10);
	blockdev_close(bd);
	/* The file holds exactly what we wrote, and kept its size. */
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)size);
	assert_int_equal(pread(fd, buf, size, 0), (ssize_t)size);
	assert_memory_equal(buf, ref, size);
	free(ref);
	free(buf);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_basic),
		cmocka_unit_test(test_mem_readonly),
		cmocka_unit_test(test_file_rw_flush),
		cmocka_unit_test(test_file_readonly_untouched),
		cmocka_unit_test(test_file_open_errors),
		cmocka_unit_test(test_file_direct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
