/* chardev_host: pipes (fds/stdio), file, pty, a terminal on stdio;
 * output buffering and input flow control.  The unix socket server is in
 * test_chardev_host_socket.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "tests/unit/skip.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>
#include "core/chardev_host.h"
#include "core/evloop.h"
#include "core/log.h"
#include "chardev_host_fixture.h"

static void test_pipes_output_buffering(void **state)
{
	(void)state;
	struct evloop *loop = evloop_new(NULL);
	int out[2];
	assert_int_equal(pipe(out), 0);
	struct chr *c = chr_fds_new("p", -1, out[1], loop, NULL);
	assert_non_null(c);
	assert_true(c->connected);
	struct fe f = { 0 };
	attach(c, &f);
	assert_int_equal(chr_write(c, (const uint8_t *)"abc", 3), 3);
	char buf[8];
	assert_int_equal(read(out[0], buf, 3), 3);
	assert_memory_equal(buf, "abc", 3);
	/* Fill the pipe; the backend then buffers up to CHR_OUT_BUF and
	 * finally reports "full" without ever blocking. */
	static uint8_t chunk[16384];
	memset(chunk, 'x', sizeof(chunk));
	size_t total = 0, took;
	do {
		took = chr_write(c, chunk, sizeof(chunk));
		total += took;
	} while (took == sizeof(chunk));
	assert_int_equal(chr_host_out_pending(c), CHR_OUT_BUF);
	assert_int_equal(chr_write(c, chunk, 1), 0);
	assert_int_equal(f.writable_calls, 0);
	/* The host reads everything; the loop flushes, then says writable. */
	int fl = fcntl(out[0], F_GETFL);
	fcntl(out[0], F_SETFL, fl | O_NONBLOCK);
	size_t drained = 0;
	for (int i = 0; i < 2000 && drained < total; i++) {
		static uint8_t sink[65536];
		ssize_t n = read(out[0], sink, sizeof(sink));
		if (n > 0)
			drained += (size_t)n;
		evloop_run_once(loop, 1);
	}
	assert_int_equal(drained, total);
	assert_int_equal(chr_host_out_pending(c), 0);
	assert_true(f.writable_calls >= 1);
	/* Reader gone: output is discarded, never fatal (SIGPIPE ignored as
	 * the vmm main does). */
	signal(SIGPIPE, SIG_IGN);
	close(out[0]);
	assert_int_equal(chr_write(c, (const uint8_t *)"zz", 2), 2);
	assert_int_equal(chr_write(c, (const uint8_t *)"zz", 2), 2);
	chr_close(c);
	close(out[1]);
	evloop_free(loop);
}

static void test_pipes_input_flow(void **state)
{
	(void)state;
	struct evloop *loop = evloop_new(NULL);
	int in[2];
	assert_int_equal(pipe(in), 0);
	struct chr *c = chr_fds_new("p", in[0], -1, loop, NULL);
	struct fe f = { .room = 3 };
	attach(c, &f);
	assert_int_equal(write(in[1], "hello", 5), 5);
	SPIN_UNTIL(loop, f.got_len == 3);
	/* No room: the rest stays in the pipe, the loop stays idle. */
	for (int i = 0; i < 5; i++)
		evloop_run_once(loop, 5);
	assert_int_equal(f.got_len, 3);
	f.room = 10;
	chr_accept_input(c);
	SPIN_UNTIL(loop, f.got_len == 5);
	assert_memory_equal(f.got, "hello", 5);
	/* Output with no output fd is swallowed. */
	assert_int_equal(chr_write(c, (const uint8_t *)"q", 1), 1);
	/* EOF: input stops, nothing spins. */
	close(in[1]);
	for (int i = 0; i < 5; i++)
		evloop_run_once(loop, 5);
	assert_int_equal(f.got_len, 5);
	chr_close(c);
	close(in[0]);
	evloop_free(loop);
}

static void test_unpollable_input(void **state)
{
	(void)state;
	struct evloop *loop = evloop_new(NULL);
	struct log *log = log_new_memory(LOG_DEBUG);
	/* epoll refuses regular files: such an input is simply absent. */
	char path[] = "/tmp/vmm-chr-reg-XXXXXX";
	int reg = mkstemp(path);
	struct chr *c = chr_fds_new("n", reg, -1, loop, log);
	assert_non_null(c);
	assert_non_null(strstr(log_memory_text(log), "not pollable"));
	assert_int_equal(chr_write(c, (const uint8_t *)"x", 1), 1);
	chr_close(c);
	close(reg);
	unlink(path);
	log_free(log);
	evloop_free(loop);
}

static void test_stdio(void **state)
{
	(void)state;
	struct evloop *loop = evloop_new(NULL);
	int in[2], out[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	fflush(stdout);
	int save0 = dup(0), save1 = dup(1);
	dup2(in[0], 0);
	dup2(out[1], 1);
	struct chr *c = chr_stdio_new("serial0", loop, NULL);
	struct fe f = { .room = 100 };
	attach(c, &f);
	assert_int_equal(chr_write(c, (const uint8_t *)"boot\n", 5), 5);
	assert_int_equal(write(in[1], "k", 1), 1);
	for (int i = 0; i < 200 && f.got_len == 0; i++)
		evloop_run_once(loop, 10);
	chr_close(c);
	dup2(save0, 0);
	dup2(save1, 1);
	close(save0);
	close(save1);
	char buf[8] = { 0 };
	assert_int_equal(read(out[0], buf, 5), 5);
	assert_memory_equal(buf, "boot\n", 5);
	assert_int_equal(f.got_len, 1);
	assert_int_equal(f.got[0], 'k');
	/* stdout's flags were restored (blocking again). */
	assert_false(fcntl(1, F_GETFL) & O_NONBLOCK);
	for (int i = 0; i < 2; i++) {
		close(in[i]);
		close(out[i]);
	}
	evloop_free(loop);
}

static void test_file(void **state)
{
	(void)state;
	char path[] = "/tmp/vmm-chr-file-XXXXXX";
	int fd = mkstemp(path);
	assert_int_equal(write(fd, "old", 3), 3);
	close(fd);
	struct chr *c = chr_file_new("f", path, false, NULL);
	assert_non_null(c);
	assert_int_equal(chr_write(c, (const uint8_t *)"new", 3), 3);
	chr_accept_input(c); /* no input side: harmless */
	chr_close(c);
	c = chr_file_new("f", path, true, NULL);
	assert_int_equal(chr_write(c, (const uint8_t *)"+more", 5), 5);
	chr_close(c);
	char buf[16] = { 0 };
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "new+more");
	close(fd);
	unlink(path);
	struct log *log = log_new_memory(LOG_INFO);
	errno = 0;
	assert_null(chr_file_new("f", "/nonexistent/dir/x", false, log));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(log_memory_text(log), "/nonexistent/dir/x"));
	log_free(log);
}

static void test_pty(void **state)
{
	(void)state;
	struct evloop *loop = evloop_new(NULL);
	struct chr *c = chr_pty_new("pty0", loop, NULL);
	if (!c) {
		/* Containers without /dev/pts: nothing to test here. */
		evloop_free(loop);
		SKIP_BECAUSE("no pty available (no /dev/pts in this container?)");
	}
	const char *name = chr_pty_path(c);
	assert_non_null(name);
	assert_non_null(strstr(name, "/dev/pts/"));
	struct fe f = { .room = 16 };
	attach(c, &f);
	int s = open(name, O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	assert_int_equal(chr_write(c, (const uint8_t *)"tty\n", 4), 4);
	char buf[8] = { 0 };
	assert_int_equal(read(s, buf, 4), 4);
	assert_memory_equal(buf, "tty\n", 4); /* raw: no \r added */
	assert_int_equal(write(s, "x", 1), 1);
	SPIN_UNTIL(loop, f.got_len == 1);
	assert_int_equal(f.got[0], 'x');
	close(s);
	/* Client closed; we hold the slave, so nothing breaks. */
	for (int i = 0; i < 3; i++)
		evloop_run_once(loop, 5);
	assert_int_equal(chr_write(c, (const uint8_t *)"more", 4), 4);
	chr_close(c);
	struct chr *m = chr_fds_new("x", -1, -1, NULL, NULL);
	assert_null(chr_pty_path(m));
	chr_close(m);
	evloop_free(loop);
}

static void test_stdio_tty(void **state)
{
	(void)state;
	/* stdin a terminal: raw mode while open, restored on close. */
	struct evloop *loop = evloop_new(NULL);
	int m, s;
	char name[64];
	if (openpty(&m, &s, name, NULL, NULL) != 0) {
		evloop_free(loop);
		SKIP_BECAUSE("openpty failed: no terminal to test raw mode on");
	}
	struct termios before;
	assert_int_equal(tcgetattr(s, &before), 0);
	assert_true(before.c_lflag & ICANON);
	int save0 = dup(0);
	dup2(s, 0);
	struct chr *c = chr_stdio_new("con", loop, NULL);
	struct termios during;
	assert_int_equal(tcgetattr(0, &during), 0);
	assert_false(during.c_lflag & ICANON);
	assert_false(during.c_lflag & ECHO);
	assert_true(during.c_lflag & ISIG);
	struct fe f = { .room = 8 };
	attach(c, &f);
	assert_int_equal(write(m, "ab", 2), 2);
	SPIN_UNTIL(loop, f.got_len == 2); /* no newline needed: raw */
	chr_close(c);
	struct termios after;
	assert_int_equal(tcgetattr(0, &after), 0);
	assert_true(after.c_lflag & ICANON);
	dup2(save0, 0);
	close(save0);
	close(s);
	close(m);
	evloop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipes_output_buffering),
		cmocka_unit_test(test_pipes_input_flow),
		cmocka_unit_test(test_unpollable_input),
		cmocka_unit_test(test_stdio),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_pty),
		cmocka_unit_test(test_stdio_tty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
