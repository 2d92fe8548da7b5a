/* Host files that are not what they claim (issue 11 item 7): a FIFO as a
 * drive image, an nvdimm backing file or an entropy source is refused at
 * once with EINVAL/ENODEV, never waited on in open() (which would block
 * until a peer opened the other end).  alarm() is the backstop: a test
 * that blocks is killed and fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/blockdev.h"
#include "core/entropy.h"
#include "core/gm.h"

static int setup(void **state)
{
	char *dir = malloc(64);
	snprintf(dir, 64, "/tmp/test_hostfile_types_XXXXXX");
	assert_non_null(mkdtemp(dir));
	char fifo[96];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	*state = dir;
	alarm(10);
	return 0;
}

static int teardown(void **state)
{
	alarm(0);
	char fifo[96];
	snprintf(fifo, sizeof(fifo), "%s/fifo", (char *)*state);
	unlink(fifo);
	rmdir(*state);
	free(*state);
	return 0;
}

static void fifo_path(void **state, char *buf, size_t len)
{
	snprintf(buf, len, "%s/fifo", (char *)*state);
}

static void test_blockdev_fifo(void **state)
{
	char p[96], err[160];
	fifo_path(state, p, sizeof(p));
	for (int mode = 0; mode < 3; mode++) {
		struct blockdev_file_opts o = { .readonly = mode == 1,
						.direct = mode == 2 };
		errno = 0;
		assert_null(blockdev_file_open_opts("f", p, &o, err, sizeof(err)));
		assert_int_equal(errno, EINVAL);
		assert_string_equal(err, "not a regular file or block device");
	}
	/* A directory is no image either. */
	struct blockdev_file_opts ro = { .readonly = true };
	assert_null(blockdev_file_open_opts("d", *state, &ro, err, sizeof(err)));
}

static void test_gm_mmap_fifo(void **state)
{
	char p[96];
	fifo_path(state, p, sizeof(p));
	struct gm *gm = gm_new();
	struct gm_mmap_spec rw = { .kind = GM_MMAP_FILE, .path = p, .share = true };
	struct gm_mmap_spec ro = { .kind = GM_MMAP_FILE, .path = p, .readonly = true };
	assert_int_equal(gm_add_mmap(gm, 0, 2 << 20, &rw, 0, "nv"), -ENODEV);
	assert_int_equal(gm_add_mmap(gm, 0, 2 << 20, &ro, 0, "nv"), -ENODEV);
	gm_free(gm);
}

static void test_entropy_fifo(void **state)
{
	char p[96];
	fifo_path(state, p, sizeof(p));
	errno = 0;
	assert_null(entropy_file_open("r", p));
	assert_int_equal(errno, EINVAL);
	/* The sources rng-random is for still open. */
	struct entropy *e = entropy_file_open("u", "/dev/urandom");
	assert_non_null(e);
	entropy_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blockdev_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gm_mmap_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entropy_fifo, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
