/* isa-debug-exit: QEMU's (v << 1) | 1 exit status for every access size,
 * reads, and the port range as the board registers it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "core/bus.h"
#include "devices/debug_exit.h"
#include "sim/sim.h"

struct fx {
	struct sim *s;
	struct debug_exit *d;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->s = sim_new(NULL);
	assert_non_null(f->s);
	struct debug_exit_config cfg = { .iobase = 0xf4, .iosize = 4,
					 .ctl = f->s->m.ctl };
	f->d = debug_exit_new(&cfg);
	assert_non_null(f->d);
	assert_int_equal(bus_register(f->s->m.pio, 0xf4, 4, debug_exit_access,
				      f->d, "debug-exit"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	debug_exit_free(f->d);
	sim_free(f->s);
	free(f);
	return 0;
}

static void test_status_formula(void **state)
{
	struct fx *f = *state;

	/* The classic test-guest convention: write 0x10 -> exit 33. */
	sim_pio_write(f->s, 0xf4, 1, 0x10);
	assert_int_equal(f->s->last_request, MACHINE_EXIT);
	assert_int_equal(f->s->last_request_status, 33);
	sim_pio_write(f->s, 0xf4, 1, 0);
	assert_int_equal(f->s->last_request_status, 1);
	for (unsigned v = 0; v < 256; v++) {
		sim_pio_write(f->s, 0xf4, 1, v);
		assert_int_equal(f->s->last_request_status, ((v << 1) | 1) & 0xff);
	}
}

static void test_access_sizes(void **state)
{
	struct fx *f = *state;

	/* 16/32-bit writes: the value is the whole access, as in QEMU; the
	 * process status keeps its low 8 bits. */
	sim_pio_write(f->s, 0xf4, 2, 0x1234);
	assert_int_equal(f->s->last_request_status, (0x1234 * 2 + 1) & 0xff);
	sim_pio_write(f->s, 0xf4, 4, 0xdeadbeef);
	assert_int_equal(f->s->last_request_status,
			 (int)(((0xdeadbeefull << 1) | 1) & 0xff));
	/* Any offset inside the range. */
	sim_pio_write(f->s, 0xf6, 1, 0x02);
	assert_int_equal(f->s->last_request_status, 5);
	assert_int_equal(debug_exit_status(0xffffffffffffffffull, 8), 0xff);
	assert_int_equal(debug_exit_status(0x1ff, 1), 0xff);
	uint8_t big[12] = { 3 };
	assert_int_equal(debug_exit_access(f->d, 0, big, sizeof(big), true), 0);
	assert_int_equal(f->s->last_request_status, 7);
}

static void test_reads_and_defaults(void **state)
{
	struct fx *f = *state;

	assert_int_equal(sim_pio_read(f->s, 0xf4, 4), 0);
	assert_int_equal(f->s->last_request, MACHINE_RUNNING);
	/* Outside the range: not ours. */
	sim_pio_write(f->s, 0xf8, 1, 1);
	assert_int_equal(f->s->last_request, MACHINE_RUNNING);
	/* iosize 0 means QEMU's default. */
	struct debug_exit_config cfg = { .iobase = DEBUG_EXIT_DEFAULT_IOBASE,
					 .ctl = f->s->m.ctl };
	struct debug_exit *d = debug_exit_new(&cfg);
	assert_non_null(d);
	assert_int_equal(bus_register(f->s->m.pio, DEBUG_EXIT_DEFAULT_IOBASE,
				      DEBUG_EXIT_DEFAULT_IOSIZE, debug_exit_access,
				      d, "debug-exit2"), 0);
	sim_pio_write(f->s, DEBUG_EXIT_DEFAULT_IOBASE + 1, 1, 0x7f);
	assert_int_equal(f->s->last_request_status, 0xff);
	bus_unregister(f->s->m.pio, DEBUG_EXIT_DEFAULT_IOBASE, d);
	debug_exit_free(d);
	/* A ctl without a callback is a no-op, not a crash. */
	struct debug_exit_config none = { .iobase = 0x10, .iosize = 1 };
	d = debug_exit_new(&none);
	uint8_t v = 1;
	assert_int_equal(debug_exit_access(d, 0, &v, 1, true), 0);
	debug_exit_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_formula, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_and_defaults, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
