/* virtio-blk's host side through the sim guest driver on each transport:
 * the iops limit (throttling.iops-total) over virtual time, and a file
 * backend's durability: a completed write plus FLUSH is in
 * the file, read-only leaves it untouched, and a VMM killed right after
 * a FLUSH keeps every write the guest saw complete. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "virtio_blk_fixture.h"

/* Keep the queue full of 512-byte reads for `ns` of virtual time in 1 ms
 * steps; returns completed requests. */
static uint64_t run_load(struct bt *t, uint64_t ns)
{
	uint64_t done = 0, st = vfx_alloc(t->f, 1), d = vfx_alloc(t->f, 512);
	uint64_t h = hdr_at(t, VIRTIO_BLK_T_IN, 1);
	struct vdq_buf b[3] = { { h, 16, false }, { d, 512, true }, { st, 1, true } };
	for (uint64_t tns = 0; tns < ns; tns += 1000000) {
		while (t->out < QSZ / 3) {
			vfx_add_nokick(t->f, 0, b, 3);
			t->out++;
		}
		vfx_kick(t->f, 0);
		sim_clock_step(t->f->sim, 1000000);
		uint16_t id;
		uint32_t len;
		while (vfx_used(t->f, 0, &id, &len)) {
			done++;
			t->out--;
		}
	}
	return done;
}

static void test_throttle_iops(void **state)
{
	const uint64_t iops = 1000;
	struct bt *t = bt_new(kind(state), false, iops, 0);
	uint64_t secs = 3;
	uint64_t done = run_load(t, secs * 1000000000ull);
	/* Never above the limit on average (plus the 100 ms initial burst),
	 * and not far below it either. */
	assert_true(done <= iops * secs + iops / 10);
	assert_true(done >= iops * secs * 9 / 10);
	assert_true(vblk_get_stats(t->b)->throttled > 0);
	/* A second window, after the burst is spent, is within the limit. */
	uint64_t again = run_load(t, 1000000000ull);
	assert_true(again <= iops + 1);
	assert_true(again >= iops * 9 / 10);
	/* Reset while parked: the timer is cancelled, nothing fires later. */
	vdriver_reset(&t->f->d);
	sim_clock_step(t->f->sim, 1000000000ull);
	bt_free(t);
}

static void test_unlimited_not_throttled(void **state)
{
	struct bt *t = bt_new(kind(state), false, 0, 0);
	uint64_t done = run_load(t, 50 * 1000000ull);
	assert_int_equal(vblk_get_stats(t->b)->throttled, 0);
	assert_true(done >= 50 * (QSZ / 3) - QSZ);
	bt_free(t);
}

static char tmpl[] = "/tmp/vblk-test-XXXXXX";

static void test_file_backend_durable(void **state)
{
	char path[sizeof(tmpl)];
	memcpy(path, tmpl, sizeof(tmpl));
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DISK), 0);
	struct blockdev *bd = blockdev_file_open("f0", path, false, false);
	assert_non_null(bd);
	struct bt *t = bt_new_bd(kind(state), bd, 0, ~0ull);
	assert_int_equal(vfx_cfg(t->f, 0, 8), DISK / 512);
	uint8_t buf[1024];
	memset(buf, 0x77, sizeof(buf));
	uint64_t w = vfx_put(t->f, buf, sizeof(buf));
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, 2, w, sizeof(buf), false),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), VIRTIO_BLK_S_OK);
	uint8_t back[1024];
	assert_int_equal(pread(fd, back, sizeof(back), 1024), (ssize_t)sizeof(back));
	assert_memory_equal(back, buf, sizeof(buf));
	bt_free(t);
	/* Read-only: writes fail and the file is untouched. */
	struct stat st0, st1;
	assert_int_equal(fstat(fd, &st0), 0);
	bd = blockdev_file_open("f0", path, true, false);
	assert_non_null(bd);
	t = bt_new_bd(kind(state), bd, 0, ~0ull);
	memset(buf, 0x11, sizeof(buf));
	w = vfx_put(t->f, buf, sizeof(buf));
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, 2, w, sizeof(buf), false),
			 VIRTIO_BLK_S_IOERR);
	bt_free(t);
	assert_int_equal(pread(fd, back, sizeof(back), 1024), (ssize_t)sizeof(back));
	memset(buf, 0x77, sizeof(buf));
	assert_memory_equal(back, buf, sizeof(buf));
	assert_int_equal(fstat(fd, &st1), 0);
	assert_int_equal(st0.st_mtim.tv_nsec, st1.st_mtim.tv_nsec);
	assert_int_equal(st0.st_mtim.tv_sec, st1.st_mtim.tv_sec);
	close(fd);
	unlink(path);
}

static void test_killed_after_flush(void **state)
{
	/* A VMM killed right after a completed FLUSH keeps every write the
	 * guest saw complete: the child writes and flushes through the
	 * device, then dies by SIGKILL; the file has the data. */
	char path[sizeof(tmpl)];
	memcpy(path, tmpl, sizeof(tmpl));
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DISK), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct blockdev *bd = blockdev_file_open("k", path, false, false);
		struct bt *t = bt_new_bd(kind(state), bd, 0, ~0ull);
		uint8_t buf[4096];
		for (unsigned i = 0; i < 4; i++) {
			memset(buf, 0x10 + i, sizeof(buf));
			uint64_t w = vfx_put(t->f, buf, sizeof(buf));
			if (req(t, VIRTIO_BLK_T_OUT, i * 8, w, sizeof(buf), false))
				_exit(2);
		}
		if (req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false))
			_exit(3);
		raise(SIGKILL);
		_exit(4);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	uint8_t back[4096], want[4096];
	for (unsigned i = 0; i < 4; i++) {
		memset(want, 0x10 + i, sizeof(want));
		assert_int_equal(pread(fd, back, sizeof(back), i * 4096), 4096);
		assert_memory_equal(back, want, sizeof(want));
	}
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VFX_TESTS(test_throttle_iops),
		VFX_TESTS(test_unlimited_not_throttled),
		VFX_TESTS(test_file_backend_durable),
		VFX_TESTS(test_killed_after_flush),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
