/* chardev: dispatch and the in-memory backend's flow control both ways. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include "core/chardev.h"

struct fe {
	struct chr *c;
	size_t room;       /* bytes the front end can take now */
	uint8_t got[1024];
	size_t got_len;
	int writable_calls;
	int connected_calls;
	bool accept_in_receive; /* re-enter chr_accept_input from receive */
};

static size_t fe_can_receive(void *o)
{
	return ((struct fe *)o)->room;
}

static void fe_receive(void *o, const uint8_t *buf, size_t len)
{
	struct fe *f = o;
	assert_true(len <= f->room);
	memcpy(f->got + f->got_len, buf, len);
	f->got_len += len;
	f->room -= len;
	if (f->accept_in_receive) {
		f->room += 1;
		chr_accept_input(f->c);
	}
}

static void fe_writable(void *o)
{
	((struct fe *)o)->writable_calls++;
}

static void fe_connected(void *o, int up)
{
	(void)up;
	((struct fe *)o)->connected_calls++;
}

static void attach(struct chr *c, struct fe *f)
{
	f->c = c;
	struct chr_frontend fe = { fe_can_receive, fe_receive, fe_writable,
				   fe_connected, f };
	chr_attach(c, &fe);
}

static void test_output_flow(void **state)
{
	(void)state;
	struct chr *c = chr_mem_new("m0", 10);
	assert_non_null(c);
	assert_string_equal(c->id, "m0");
	assert_true(c->connected);
	struct fe f = { 0 };
	attach(c, &f);
	assert_true(c->attached);
	assert_int_equal(chr_write(c, (const uint8_t *)"hello", 5), 5);
	/* Short by one byte is short: the writer is told when room returns. */
	assert_int_equal(chr_write(c, (const uint8_t *)"world!", 6), 5); /* full */
	assert_int_equal(chr_write(c, (const uint8_t *)"x", 1), 0);
	assert_int_equal(chr_write(c, (const uint8_t *)"x", 0), 0);
	assert_int_equal(chr_mem_output_len(c), 10);
	assert_int_equal(f.writable_calls, 0);
	uint8_t out[16];
	assert_int_equal(chr_mem_take_output(c, out, 4), 4);
	assert_memory_equal(out, "hell", 4);
	assert_int_equal(f.writable_calls, 1); /* space again */
	assert_int_equal(chr_mem_take_output(c, out, sizeof(out)), 6);
	assert_memory_equal(out, "oworl", 5);
	assert_int_equal(f.writable_calls, 1); /* only once per stall */
	assert_int_equal(chr_mem_take_output(c, out, sizeof(out)), 0);
	chr_close(c);
	/* Default limit. */
	c = chr_mem_new(NULL, 0);
	static uint8_t big[CHR_OUT_BUF + 10];
	assert_int_equal(chr_write(c, big, sizeof(big)), CHR_OUT_BUF);
	assert_string_equal(c->id, "mem");
	chr_close(c);
}

static void test_input_flow(void **state)
{
	(void)state;
	struct chr *c = chr_mem_new("in", 0);
	/* Before a front end: held back. */
	assert_int_equal(chr_mem_push_input(c, (const uint8_t *)"abcdef", 6), 6);
	assert_int_equal(chr_mem_pending_input(c), 6);
	struct fe f = { .room = 4 };
	attach(c, &f); /* offered at once, as much as fits */
	assert_int_equal(f.got_len, 4);
	assert_int_equal(chr_mem_pending_input(c), 2);
	chr_accept_input(c); /* still no room: nothing */
	assert_int_equal(f.got_len, 4);
	f.room = 16;
	chr_accept_input(c);
	assert_int_equal(f.got_len, 6);
	assert_memory_equal(f.got, "abcdef", 6);
	/* Re-entrant accept from receive. */
	f.room = 1;
	f.accept_in_receive = true;
	assert_int_equal(chr_mem_push_input(c, (const uint8_t *)"123", 3), 3);
	assert_int_equal(f.got_len, 9);
	assert_memory_equal(f.got + 6, "123", 3);
	f.accept_in_receive = false;
	/* The input queue is bounded. */
	f.room = 0;
	static uint8_t big[CHR_OUT_BUF + 5];
	assert_int_equal(chr_mem_push_input(c, big, sizeof(big)), CHR_OUT_BUF);
	assert_int_equal(chr_mem_push_input(c, big, 1), 0);
	/* Detach with a zeroed front end: input is held back again. */
	struct chr_frontend none;
	memset(&none, 0, sizeof(none));
	chr_attach(c, &none);
	assert_false(c->attached);
	chr_accept_input(c);
	assert_int_equal(chr_mem_pending_input(c), CHR_OUT_BUF);
	chr_attach(c, NULL);
	assert_false(c->attached);
	chr_close(c);
}

static void test_fe_helpers(void **state)
{
	(void)state;
	struct chr *c = chr_mem_new("h", 0);
	uint8_t b = 1;
	/* Detached: every helper is a no-op. */
	assert_int_equal(chr_fe_can_receive(c), 0);
	chr_fe_receive(c, &b, 1);
	chr_fe_writable(c);
	chr_fe_connected(c, false);
	assert_false(c->connected);
	struct fe f = { .room = 3 };
	attach(c, &f);
	chr_fe_connected(c, true);
	assert_true(c->connected);
	assert_int_equal(f.connected_calls, 1);
	assert_int_equal(chr_fe_can_receive(c), 3);
	chr_fe_writable(c);
	assert_int_equal(f.writable_calls, 1);
	/* NULL chr is tolerated by the front-end API. */
	chr_attach(NULL, NULL);
	assert_int_equal(chr_write(NULL, &b, 1), 0);
	chr_accept_input(NULL);
	chr_close(NULL);
	chr_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_flow),
		cmocka_unit_test(test_input_flow),
		cmocka_unit_test(test_fe_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
