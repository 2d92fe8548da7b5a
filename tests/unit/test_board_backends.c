/* Host backends outliving boards (board_host.keep): boards built one
 * after another with one store open each backend once and share it, as
 * the KVM backend's rebuild on a guest reset does.  A -serial file keeps
 * every board's output, front ends are detached when their board goes,
 * input typed between boards reaches the next one, a board that fails
 * half-way leaves the store usable, and nothing leaks (ASan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/chardev.h"
#include "core/config.h"
#include "core/layout.h"
#include "core/trace.h"
#include "machine/board.h"
#include "sim/sim.h"

#define COM1 0x3f8
#define COM2 0x2f8

struct kfix {
	char com1[64], com2[64], disk[64], rngf[64];
	struct machine_config cfg;
	struct layout l;
	struct board_backends *keep;
	/* The backends the board opened, as the record/replay hook sees
	 * them (the hook passes them through unchanged). */
	struct chr *opened_serial0, *opened_c1;
	unsigned hook_calls;
	char err[512];
};

static void make_file(char *path, const char *tmpl, const char *text, size_t size)
{
	strcpy(path, tmpl);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	size_t n = fread(buf, 1, cap - 1, fp);
	fclose(fp);
	buf[n] = 0;
	return n;
}

static int kf_hook(void *opaque, int kind, const char *id, void *opened,
		   void **out, char *err, size_t errlen)
{
	struct kfix *f = opaque;
	(void)err;
	(void)errlen;
	f->hook_calls++;
	if (kind == TRACE_BK_CHR && !strcmp(id, "serial0"))
		f->opened_serial0 = opened;
	if (kind == TRACE_BK_CHR && !strcmp(id, "c1"))
		f->opened_c1 = opened;
	*out = opened;
	return 0;
}

static struct kfix *kf_new(void)
{
	struct kfix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	make_file(f->com1, "/tmp/vmm-bk-com1.XXXXXX", "STALE", 0);
	make_file(f->com2, "/tmp/vmm-bk-com2.XXXXXX", "STALE", 0);
	make_file(f->disk, "/tmp/vmm-bk-disk.XXXXXX", "BK-DISK", 1 << 20);
	make_file(f->rngf, "/tmp/vmm-bk-rng.XXXXXX", "0123456789abcdef", 4096);
	char serial[96], chardev[128], drive[128], obj[128];
	snprintf(serial, sizeof(serial), "file:%s", f->com1);
	snprintf(chardev, sizeof(chardev), "file,id=c1,path=%s", f->com2);
	snprintf(drive, sizeof(drive), "id=d0,file=%s", f->disk);
	snprintf(obj, sizeof(obj), "rng-random,id=r0,filename=%s", f->rngf);
	const char *argv[] = {
		"vmm", "-machine", "microvm,accel=sim", "-m", "64M",
		"-serial", serial, "-chardev", chardev, "-serial", "chardev:c1",
		"-drive", drive, "-device", "virtio-blk-device,drive=d0",
		"-netdev", "loop,id=n0", "-device", "virtio-net-device,netdev=n0",
		"-object", obj, "-device", "virtio-rng-device,rng=r0", NULL,
	};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;
	if (config_parse(&f->cfg, argc, (char **)argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	f->keep = board_backends_new();
	assert_non_null(f->keep);
	return f;
}

static void kf_free(struct kfix *f)
{
	board_backends_free(f->keep);
	unlink(f->com1);
	unlink(f->com2);
	unlink(f->disk);
	unlink(f->rngf);
	free(f);
}

/* One boot: a machine, its board on the shared store, a byte out of each
 * COM port, then the board and machine go. */
struct boot {
	struct sim *sim;
	struct board *b;
	struct board_host host;
};

static int boot_up(struct kfix *f, struct boot *bt, struct board_backends *keep,
		   struct chr *com1_override)
{
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	bt->sim = sim_new(&sc);
	assert_non_null(bt->sim);
	bt->host = (struct board_host){
		.wall_epoch = 1767225600, .keep = keep,
		.backend = kf_hook, .backend_opaque = f,
	};
	bt->host.serial[0] = com1_override;
	bt->b = board_new(&bt->sim->m, &f->cfg, &f->l, &bt->host, f->err,
			  sizeof(f->err));
	return bt->b ? 0 : -1;
}

static void boot_down(struct boot *bt)
{
	board_shutdown(bt->b);
	board_free(bt->b);
	sim_free(bt->sim);
	bt->b = NULL;
	bt->sim = NULL;
}

static void boot_say(struct boot *bt, char c1, char c2)
{
	sim_pio_write(bt->sim, COM1, 1, (uint8_t)c1);
	sim_pio_write(bt->sim, COM2, 1, (uint8_t)c2);
}

static void test_two_boots_share_backends(void **state)
{
	(void)state;
	struct kfix *f = kf_new();
	struct boot bt;
	char buf[64];

	assert_int_equal(boot_up(f, &bt, f->keep, NULL), 0);
	/* COM1 file, chardev c1, drive, netdev, rng source. */
	assert_int_equal(board_backends_count(f->keep), 5);
	struct chr *s0 = f->opened_serial0, *c1 = f->opened_c1;
	assert_non_null(s0);
	assert_non_null(c1);
	assert_true(s0->attached);
	assert_true(c1->attached);
	/* Opened once, truncated once. */
	assert_int_equal(read_file(f->com1, buf, sizeof(buf)), 0);
	boot_say(&bt, 'a', 'x');
	boot_down(&bt);
	/* The board is gone, its backends are not; nothing points at the
	 * freed serial ports. */
	assert_int_equal(board_backends_count(f->keep), 5);
	assert_false(s0->attached);
	assert_false(c1->attached);

	/* Second boot: the same objects, nothing reopened. */
	f->opened_serial0 = f->opened_c1 = NULL;
	assert_int_equal(boot_up(f, &bt, f->keep, NULL), 0);
	assert_int_equal(board_backends_count(f->keep), 5);
	assert_ptr_equal(f->opened_serial0, s0);
	assert_ptr_equal(f->opened_c1, c1);
	assert_true(s0->attached);
	boot_say(&bt, 'b', 'y');
	boot_down(&bt);

	/* A third, then the VMM exits. */
	assert_int_equal(boot_up(f, &bt, f->keep, NULL), 0);
	boot_say(&bt, 'c', 'z');
	boot_down(&bt);
	assert_int_equal(read_file(f->com1, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(read_file(f->com2, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "xyz");
	kf_free(f);
}

/* Without a store each board opens and closes its own: a -serial file
 * holds only the last board's output (what a rebuild used to do). */
static void test_without_store_board_owns(void **state)
{
	(void)state;
	struct kfix *f = kf_new();
	struct boot bt;
	char buf[64];
	for (int i = 0; i < 2; i++) {
		assert_int_equal(boot_up(f, &bt, NULL, NULL), 0);
		boot_say(&bt, (char)('a' + i), (char)('x' + i));
		boot_down(&bt);
	}
	assert_int_equal(board_backends_count(f->keep), 0);
	assert_int_equal(read_file(f->com1, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "b");
	kf_free(f);
}

/* Input typed while no board exists waits in the backend and reaches
 * the next board's UART (NS16550A: RBR at offset 0, LSR bit 0 DR). */
static void test_input_between_boards(void **state)
{
	(void)state;
	struct kfix *f = kf_new();
	struct chr *mem = chr_mem_new("com1", 0);
	assert_non_null(mem);
	struct boot bt;
	assert_int_equal(boot_up(f, &bt, f->keep, mem), 0);
	assert_true(mem->attached);
	boot_down(&bt);
	assert_false(mem->attached);
	assert_int_equal(chr_mem_push_input(mem, (const uint8_t *)"hi", 2), 2);
	assert_int_equal(chr_mem_pending_input(mem), 2);
	assert_int_equal(boot_up(f, &bt, f->keep, mem), 0);
	/* FIFOs off after reset: one byte in RBR, the next one waits. */
	assert_int_equal(chr_mem_pending_input(mem), 1);
	assert_int_equal(sim_pio_read(bt.sim, COM1 + 5, 1) & 1, 1);
	assert_int_equal(sim_pio_read(bt.sim, COM1, 1), 'h');
	assert_int_equal(chr_mem_pending_input(mem), 0);
	assert_int_equal(sim_pio_read(bt.sim, COM1, 1), 'i');
	assert_int_equal(sim_pio_read(bt.sim, COM1 + 5, 1) & 1, 0);
	boot_down(&bt);
	/* The override is the caller's: the store never held it. */
	assert_int_equal(board_backends_count(f->keep), 4);
	chr_close(mem);
	kf_free(f);
}

/* A board that fails half-way (its disk vanished) leaves what it opened
 * in the store; the next attempt reuses it and opens the rest. */
static void test_failed_board_leaves_store_usable(void **state)
{
	(void)state;
	struct kfix *f = kf_new();
	char disk[64];
	strcpy(disk, f->disk);
	assert_int_equal(rename(f->disk, "/tmp/vmm-bk-moved-disk"), 0);
	struct boot bt;
	assert_int_equal(boot_up(f, &bt, f->keep, NULL), -1);
	assert_non_null(strstr(f->err, "drive id=d0"));
	sim_free(bt.sim);
	unsigned before = board_backends_count(f->keep);
	assert_true(before >= 2);     /* the COM ports came first */
	assert_true(before < 5);
	struct chr *s0 = f->opened_serial0;
	assert_false(s0->attached);
	assert_int_equal(rename("/tmp/vmm-bk-moved-disk", disk), 0);
	assert_int_equal(boot_up(f, &bt, f->keep, NULL), 0);
	assert_ptr_equal(f->opened_serial0, s0);
	assert_int_equal(board_backends_count(f->keep), 5);
	boot_down(&bt);
	kf_free(f);
}

/* Replay opens nothing: the store stays empty and the stand-ins the
 * hook hands in are used as they are. */
static int kf_replace_hook(void *opaque, int kind, const char *id, void *opened,
			   void **out, char *err, size_t errlen)
{
	struct chr **mem = opaque;
	(void)id;
	assert_null(opened);
	*out = NULL;
	if (kind == TRACE_BK_CHR) {
		*out = *mem;
		return 0;
	}
	snprintf(err, errlen, "no stand-in");
	return -1;
}

static void test_replace_ignores_store(void **state)
{
	(void)state;
	struct kfix *f = kf_new();
	/* Only the COM ports, so the chr stand-in is all replay needs. */
	char serial[96];
	snprintf(serial, sizeof(serial), "file:%s", f->com1);
	const char *argv[] = { "vmm", "-machine", "microvm,accel=sim", "-m", "64M",
			       "-serial", serial, NULL };
	memset(&f->cfg, 0, sizeof(f->cfg));
	assert_int_equal(config_parse(&f->cfg, 7, (char **)argv, f->err,
				      sizeof(f->err)), 0);
	struct chr *mem = chr_mem_new("serial0", 0);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	struct sim *s = sim_new(&sc);
	struct board_host host = {
		.keep = f->keep, .backend = kf_replace_hook, .backend_opaque = &mem,
		.backend_replace = true,
	};
	struct board *b = board_new(&s->m, &f->cfg, &f->l, &host, f->err,
				    sizeof(f->err));
	assert_non_null(b);
	assert_int_equal(board_backends_count(f->keep), 0);
	sim_pio_write(s, COM1, 1, 'R');
	uint8_t c = 0;
	assert_int_equal(chr_mem_take_output(mem, &c, 1), 1);
	assert_int_equal(c, 'R');
	board_free(b);
	assert_false(mem->attached);
	sim_free(s);
	chr_close(mem);
	kf_free(f);
}

static void test_store_null_safe(void **state)
{
	(void)state;
	board_backends_free(NULL);
	assert_int_equal(board_backends_count(NULL), 0);
	struct board_backends *k = board_backends_new();
	assert_int_equal(board_backends_count(k), 0);
	board_backends_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_boots_share_backends),
		cmocka_unit_test(test_without_store_board_owns),
		cmocka_unit_test(test_input_between_boards),
		cmocka_unit_test(test_failed_board_leaves_store_usable),
		cmocka_unit_test(test_replace_ignores_store),
		cmocka_unit_test(test_store_null_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
