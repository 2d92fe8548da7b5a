/* gm_mmap: anonymous, memfd, file (shared, private, read-only) and
 * hugetlbfs-directory backings, gm_sync, and error paths. */
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
#include <sys/stat.h>
#include <unistd.h>
#include "core/gm.h"

static char *tmpfile_with(size_t size, uint8_t fill)
{
	char *path = strdup("/tmp/vmm-gm-mmap-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t buf[4096];
	memset(buf, fill, sizeof(buf));
	for (size_t off = 0; off < size; off += sizeof(buf))
		assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	close(fd);
	return path;
}

static uint8_t file_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDONLY);
	uint8_t b = 0;
	assert_int_equal(pread(fd, &b, 1, off), 1);
	close(fd);
	return b;
}

static void test_anon(void **state)
{
	(void)state;
	struct gm *gm = gm_new();
	struct gm_mmap_spec sp = { .kind = GM_MMAP_ANON };
	assert_int_equal(gm_add_mmap(gm, 0, 1 << 20, &sp, 0, "ram"), 0);
	const struct gm_region *r = gm_region_find(gm, 0);
	assert_int_equal(r->backing, GM_BACKING_MMAP);
	assert_int_equal(r->fd, -1);
	assert_int_equal(gm_write_u64le(gm, (1 << 20) - 8, 0x1122334455667788ull), 0);
	uint64_t v;
	assert_int_equal(gm_read_u64le(gm, (1 << 20) - 8, &v), 0);
	assert_int_equal(v, 0x1122334455667788ull);
	/* Overlap is refused and leaves nothing mapped (no leak under ASan). */
	assert_int_equal(gm_add_mmap(gm, 0x1000, 4096, &sp, 0, "dup"), -EEXIST);
	assert_int_equal(gm_add_mmap(gm, 0x100000, 0, &sp, 0, "z"), -EINVAL);
	assert_int_equal(gm_add_mmap(gm, UINT64_MAX - 10, 4096, &sp, 0, "w"), -EINVAL);
	assert_int_equal(gm_add_mmap(gm, 0x100000, 4096, NULL, 0, "n"), -EINVAL);
	struct gm_mmap_spec bad = { .kind = (enum gm_mmap_kind)99 };
	assert_int_equal(gm_add_mmap(gm, 0x100000, 4096, &bad, 0, "b"), -EINVAL);
	assert_int_equal(gm_sync(gm), 0);
	gm_free(gm);
}

static void test_memfd(void **state)
{
	(void)state;
	struct gm *gm = gm_new();
	struct gm_mmap_spec sp = { .kind = GM_MMAP_MEMFD };
	assert_int_equal(gm_add_mmap(gm, 0x100000, 2 << 20, &sp, 0, "shared"), 0);
	const struct gm_region *r = gm_region_find(gm, 0x100000);
	assert_true(r->fd >= 0);
	assert_int_equal(gm_write_u32le(gm, 0x100010, 0xabcdef01), 0);
	/* Shared: the fd sees the guest's write (vhost-user style sharing). */
	uint32_t v = 0;
	assert_int_equal(pread(r->fd, &v, 4, 0x10), 4);
	assert_int_equal(v, 0xabcdef01);
	assert_int_equal(gm_sync(gm), 0);
	gm_free(gm);
}

static void test_file_shared_sync(void **state)
{
	(void)state;
	char *path = tmpfile_with(64 * 1024, 0x5a);
	struct gm *gm = gm_new();
	struct gm_mmap_spec sp = { .kind = GM_MMAP_FILE, .path = path, .share = true };
	assert_int_equal(gm_add_mmap(gm, 0x100000000ull, 64 * 1024, &sp, GM_PMEM, "nv0"), 0);
	uint8_t b;
	assert_int_equal(gm_read_u8(gm, 0x100000000ull + 100, &b), 0);
	assert_int_equal(b, 0x5a);
	assert_int_equal(gm_write_u8(gm, 0x100000000ull + 100, 0x33), 0);
	assert_int_equal(gm_sync(gm), 0);
	assert_int_equal(file_byte(path, 100), 0x33);
	assert_true(gm_region_find(gm, 0x100000000ull)->flags & GM_PMEM);
	gm_free(gm);
	unlink(path);
	free(path);
}

static void test_file_private_and_grow(void **state)
{
	(void)state;
	char *path = tmpfile_with(4096, 0x11);
	struct gm *gm = gm_new();
	/* Writable + larger than the file: the file is grown. */
	struct gm_mmap_spec sp = { .kind = GM_MMAP_FILE, .path = path, .share = false };
	assert_int_equal(gm_add_mmap(gm, 0, 16384, &sp, 0, "priv"), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 16384);
	assert_int_equal(gm_write_u8(gm, 10, 0x99), 0);
	uint8_t b;
	assert_int_equal(gm_read_u8(gm, 10, &b), 0);
	assert_int_equal(b, 0x99);
	assert_int_equal(gm_read_u8(gm, 8000, &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(gm_sync(gm), 0);
	/* Private: the file keeps its bytes. */
	assert_int_equal(file_byte(path, 10), 0x11);
	gm_free(gm);
	unlink(path);
	free(path);
}

static void test_file_overlap_no_side_effect(void **state)
{
	(void)state;
	/* A refused region must not have grown the file first. */
	char *path = tmpfile_with(4096, 0x22);
	struct gm *gm = gm_new();
	assert_int_equal(gm_add_heap(gm, 0, 0x10000, 0, "ram"), 0);
	struct gm_mmap_spec sp = { .kind = GM_MMAP_FILE, .path = path, .share = true };
	assert_int_equal(gm_add_mmap(gm, 0x8000, 0x100000, &sp, 0, "nv"), -EEXIST);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4096);
	assert_int_equal(gm_can_add(gm, 0x10000, 16), 0);
	assert_int_equal(gm_can_add(gm, 0xfff0, 32), -EEXIST);
	assert_int_equal(gm_can_add(gm, 0x10000, 0), -EINVAL);
	gm_free(gm);
	unlink(path);
	free(path);
}

static void test_file_readonly(void **state)
{
	(void)state;
	char *path = tmpfile_with(8192, 0x77);
	chmod(path, 0444);
	struct gm *gm = gm_new();
	struct gm_mmap_spec sp = { .kind = GM_MMAP_FILE, .path = path, .readonly = true };
	/* Bigger than the file: refused (mapping past EOF would SIGBUS). */
	assert_int_equal(gm_add_mmap(gm, 0, 16384, &sp, 0, "ro"), -EINVAL);
	assert_int_equal(gm_region_count(gm), 0);
	assert_int_equal(gm_add_mmap(gm, 0, 8192, &sp, 0, "ro"), 0);
	assert_true(gm_region_find(gm, 0)->flags & GM_READONLY);
	uint8_t b;
	assert_int_equal(gm_read_u8(gm, 8191, &b), 0);
	assert_int_equal(b, 0x77);
	assert_int_equal(gm_write_u8(gm, 0, 1), -EFAULT);
	assert_null(gm_map(gm, 0, 16, true));
	assert_int_equal(gm_sync(gm), 0);
	gm_free(gm);
	unlink(path);
	free(path);
	/* One byte short of the size is short: refused, not mapped. */
	path = tmpfile_with(8192, 0x77);
	assert_int_equal(truncate(path, 8191), 0);
	chmod(path, 0444);
	sp.path = path;
	gm = gm_new();
	assert_int_equal(gm_add_mmap(gm, 0, 8192, &sp, 0, "ro"), -EINVAL);
	assert_int_equal(gm_region_count(gm), 0);
	gm_free(gm);
	unlink(path);
	free(path);
}

static void test_file_errors(void **state)
{
	(void)state;
	struct gm *gm = gm_new();
	struct gm_mmap_spec sp = { .kind = GM_MMAP_FILE, .path = "/nonexistent/vmm/file" };
	assert_int_equal(gm_add_mmap(gm, 0, 4096, &sp, 0, "x"), -ENOENT);
	sp.path = NULL;
	assert_int_equal(gm_add_mmap(gm, 0, 4096, &sp, 0, "x"), -EINVAL);
	struct gm_mmap_spec hp = { .kind = GM_MMAP_HUGETLBFS, .path = NULL };
	assert_int_equal(gm_add_mmap(gm, 0, 4096, &hp, 0, "x"), -EINVAL);
	hp.path = "/nonexistent/hugepages";
	assert_int_equal(gm_add_mmap(gm, 0, 4096, &hp, 0, "x"), -ENOENT);
	char longp[5000];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	hp.path = longp;
	assert_int_equal(gm_add_mmap(gm, 0, 4096, &hp, 0, "x"), -ENAMETOOLONG);
	/* A directory we cannot create files in. */
	hp.path = "/proc";
	assert_true(gm_add_mmap(gm, 0, 4096, &hp, 0, "x") < 0);
	/* Not a regular file (a FIFO, /dev/zero): refused before anything
	 * would wait on it or try to size it. */
	char fifo[] = "/tmp/vmm-gm-fifo-XXXXXX";
	int tfd = mkstemp(fifo);
	close(tfd);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	struct gm_mmap_spec fs = { .kind = GM_MMAP_FILE, .path = fifo };
	assert_int_equal(gm_add_mmap(gm, 0, 4096, &fs, 0, "x"), -ENODEV);
	unlink(fifo);
	fs.path = "/dev/zero";
	assert_int_equal(gm_add_mmap(gm, 0, 4096, &fs, 0, "x"), -ENODEV);
	/* mmap itself failing: an absurd size. */
	struct gm_mmap_spec an = { .kind = GM_MMAP_ANON };
	assert_int_equal(gm_add_mmap(gm, 0, 1ull << 62, &an, 0, "x"), -ENOMEM);
	assert_int_equal(gm_add_mmap(gm, 0, 1ull << 63, &an, 0, "x"), -EINVAL);
	/* memfd overlapping an existing region: nothing left behind. */
	assert_int_equal(gm_add_mmap(gm, 0, 4096, &an, 0, "a"), 0);
	struct gm_mmap_spec mf = { .kind = GM_MMAP_MEMFD };
	assert_int_equal(gm_add_mmap(gm, 0, 4096, &mf, 0, "m"), -EEXIST);
	assert_int_equal(gm_region_count(gm), 1);
	gm_free(gm);
}

static void test_hugetlbfs_dir(void **state)
{
	(void)state;
	/* No hugetlbfs mount on CI machines: a plain directory exercises the
	 * same temp-file path (created, unlinked at once, mapped). */
	char dir[] = "/tmp/vmm-huge-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct gm *gm = gm_new();
	struct gm_mmap_spec sp = { .kind = GM_MMAP_HUGETLBFS, .path = dir, .share = true };
	assert_int_equal(gm_add_mmap(gm, 0, 1 << 20, &sp, 0, "huge"), 0);
	assert_int_equal(gm_write_u32le(gm, 4096, 42), 0);
	uint32_t v;
	assert_int_equal(gm_read_u32le(gm, 4096, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(gm_sync(gm), 0);
	/* Nothing left on disk. */
	assert_int_equal(rmdir(dir), 0);
	gm_free(gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anon),
		cmocka_unit_test(test_memfd),
		cmocka_unit_test(test_file_shared_sync),
		cmocka_unit_test(test_file_private_and_grow),
		cmocka_unit_test(test_file_overlap_no_side_effect),
		cmocka_unit_test(test_file_readonly),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_hugetlbfs_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
