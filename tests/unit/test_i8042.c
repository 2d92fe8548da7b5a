/* i8042 on the simulator: reset requests (0xFE, pulse commands, output
 * port bit 0), the probe Linux runs (self-test, command byte, interface
 * test, keyboard reset/identify), IRQ1 edges, hostile command streams. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "core/bus.h"
#include "devices/i8042.h"
#include "sim/sim.h"

struct fx {
	struct sim *s;
	struct i8042 *k;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->s = sim_new(NULL);
	assert_non_null(f->s);
	struct i8042_config cfg = { .irq = irq_line(f->s->m.irqchip, 1),
				    .ctl = f->s->m.ctl };
	f->k = i8042_new(&cfg);
	assert_non_null(f->k);
	assert_int_equal(bus_register(f->s->m.pio, I8042_DATA_PORT, 1,
				      i8042_data_access, f->k, "kbd-data"), 0);
	assert_int_equal(bus_register(f->s->m.pio, I8042_CMD_PORT, 1,
				      i8042_cmd_access, f->k, "kbd-cmd"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	i8042_free(f->k);
	sim_free(f->s);
	free(f);
	return 0;
}

static uint8_t status(struct fx *f)
{
	return (uint8_t)sim_pio_read(f->s, 0x64, 1);
}

static void cmd(struct fx *f, uint8_t c)
{
	/* Linux's i8042_wait_write: IBF must be clear. */
	assert_int_equal(status(f) & I8042_STR_IBF, 0);
	sim_pio_write(f->s, 0x64, 1, c);
}

static void data(struct fx *f, uint8_t d)
{
	assert_int_equal(status(f) & I8042_STR_IBF, 0);
	sim_pio_write(f->s, 0x60, 1, d);
}

/* Linux's i8042_wait_read then inb(0x60). */
static uint8_t reply(struct fx *f)
{
	assert_int_equal(status(f) & I8042_STR_OBF, I8042_STR_OBF);
	return (uint8_t)sim_pio_read(f->s, 0x60, 1);
}

/* The read-RAM commands are 0x20-0x3f (0x20 the command byte) and the
 * write-RAM ones 0x60-0x7f: 0x40, just past the read range, answers
 * nothing and takes no data byte. */
static void test_command_ranges(void **state)
{
	struct fx *f = *state;
	cmd(f, 0x3f);
	(void)reply(f);
	cmd(f, 0x40);
	assert_int_equal(status(f) & I8042_STR_OBF, 0);
	cmd(f, 0x20);
	uint8_t ctr = reply(f);
	/* 0x40 left no pending write: a data byte now is for the keyboard,
	 * not the command byte. */
	cmd(f, 0x40);
	data(f, 0xf4);
	assert_int_equal(reply(f), 0xfa); /* the keyboard's ACK */
	cmd(f, 0x20);
	assert_int_equal(reply(f), ctr);
}

static void test_reboot_k(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->s->last_request, MACHINE_RUNNING);
	/* reboot=k: kb_wait() then outb(0xfe, 0x64). */
	cmd(f, 0xfe);
	assert_int_equal(f->s->last_request, MACHINE_RESET);
	assert_int_equal(f->s->last_request_status, 0);
}

static void test_pulse_and_output_port_reset(void **state)
{
	struct fx *f = *state;

	/* Pulsing bits 1-3 only (0xF1 keeps bit 0 high) is no reset. */
	cmd(f, 0xf1);
	cmd(f, 0xff);
	assert_int_equal(f->s->last_request, MACHINE_RUNNING);
	cmd(f, 0xf0);
	assert_int_equal(f->s->last_request, MACHINE_RESET);
	f->s->last_request = MACHINE_RUNNING;
	/* Output port: read, keep A20, then clear the reset line. */
	cmd(f, 0xd0);
	uint8_t op = reply(f);
	assert_int_equal(op & 0x03, 0x03);
	cmd(f, 0xd1);
	data(f, op);
	assert_int_equal(f->s->last_request, MACHINE_RUNNING);
	cmd(f, 0xdd); /* A20 off */
	cmd(f, 0xd0);
	assert_int_equal(reply(f) & 0x02, 0);
	cmd(f, 0xdf);
	cmd(f, 0xd0);
	assert_int_equal(reply(f) & 0x02, 0x02);
	cmd(f, 0xd1);
	data(f, 0x02);
	assert_int_equal(f->s->last_request, MACHINE_RESET);
}

static void test_linux_probe(void **state)
{
	struct fx *f = *state;

	/* i8042_controller_check: status is not 0xff. */
	assert_int_not_equal(status(f), 0xff);
	assert_int_equal(status(f) & I8042_STR_OBF, 0);
	/* i8042_controller_selftest. */
	cmd(f, 0xaa);
	assert_int_equal(reply(f), 0x55);
	assert_int_equal(status(f) & I8042_STR_SYS, I8042_STR_SYS);
	/* Read the command byte twice (i8042_controller_init). */
	cmd(f, 0x20);
	uint8_t ctr = reply(f);
	cmd(f, 0x20);
	assert_int_equal(reply(f), ctr);
	assert_int_equal(ctr & I8042_CTR_AUXDIS, I8042_CTR_AUXDIS);
	/* Write it with interrupts off, read it back. */
	cmd(f, 0x60);
	data(f, (uint8_t)(ctr & ~(I8042_CTR_KBDINT | I8042_CTR_AUXINT)));
	assert_int_equal(status(f) & I8042_STR_CMDDAT, 0);
	cmd(f, 0x20);
	assert_int_equal(status(f) & I8042_STR_CMDDAT, I8042_STR_CMDDAT);
	assert_int_equal(reply(f), ctr & ~(I8042_CTR_KBDINT | I8042_CTR_AUXINT));
	/* Keyboard interface test, enable/disable. */
	cmd(f, 0xab);
	assert_int_equal(reply(f), 0x00);
	cmd(f, 0xad);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & I8042_CTR_KBDDIS, I8042_CTR_KBDDIS);
	cmd(f, 0xae);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & I8042_CTR_KBDDIS, 0);
	/* Aux port: reports absent (test result 0x01). */
	cmd(f, 0xa9);
	assert_int_equal(reply(f), 0x01);
	cmd(f, 0xa8);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & I8042_CTR_AUXDIS, 0);
	cmd(f, 0xa7);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & I8042_CTR_AUXDIS, I8042_CTR_AUXDIS);
	/* Input port; nothing left behind. */
	cmd(f, 0xc0);
	assert_int_equal(reply(f), 0x80);
	assert_int_equal(status(f) & I8042_STR_OBF, 0);
	/* Aux writes go nowhere and produce nothing. */
	cmd(f, 0xd4);
	data(f, 0xf2);
	cmd(f, 0xd3);
	data(f, 0x5a);
	assert_int_equal(status(f) & I8042_STR_OBF, 0);
}

static void test_keyboard_commands(void **state)
{
	struct fx *f = *state;

	data(f, 0xff); /* reset: ACK, BAT passed */
	assert_int_equal(reply(f), 0xfa);
	assert_int_equal(reply(f), 0xaa);
	data(f, 0xf2); /* identify */
	assert_int_equal(reply(f), 0xfa);
	assert_int_equal(reply(f), 0xab);
	assert_int_equal(reply(f), 0x83);
	data(f, 0xed); /* LEDs + parameter */
	assert_int_equal(reply(f), 0xfa);
	data(f, 0x07);
	assert_int_equal(reply(f), 0xfa);
	data(f, 0xf0); /* get scan code set */
	assert_int_equal(reply(f), 0xfa);
	data(f, 0x00);
	assert_int_equal(reply(f), 0xfa);
	assert_int_equal(reply(f), 0x02);
	data(f, 0xf0); /* set 3, then read it */
	reply(f);
	data(f, 0x03);
	reply(f);
	data(f, 0xf0);
	reply(f);
	data(f, 0x00);
	reply(f);
	assert_int_equal(reply(f), 0x03);
	data(f, 0xf3);
	assert_int_equal(reply(f), 0xfa);
	data(f, 0x20);
	assert_int_equal(reply(f), 0xfa);
	data(f, 0xee);
	assert_int_equal(reply(f), 0xee);
	data(f, 0xf4);
	assert_int_equal(reply(f), 0xfa);
	data(f, 0xf5);
	assert_int_equal(reply(f), 0xfa);
	data(f, 0xf6);
	assert_int_equal(reply(f), 0xfa);
	data(f, 0xf8);
	assert_int_equal(reply(f), 0xfa);
	data(f, 0xfe); /* resend the last reply */
	assert_int_equal(reply(f), 0xfa);
	data(f, 0x12); /* unknown */
	assert_int_equal(reply(f), 0xfe);
	/* Controller writes a byte "from the keyboard". */
	cmd(f, 0xd2);
	data(f, 0x1c);
	assert_int_equal(reply(f), 0x1c);
	/* An empty buffer reads the last byte again, OBF stays clear. */
	assert_int_equal(sim_pio_read(f->s, 0x60, 1), 0x1c);
	assert_int_equal(status(f) & I8042_STR_OBF, 0);
}

static void test_irq1_edges(void **state)
{
	struct fx *f = *state;

	/* Keyboard interrupts are enabled by the BIOS default. */
	data(f, 0xf2);
	assert_int_equal(f->s->gsi_level[1], 1);
	assert_int_equal(f->s->gsi_edges[1], 1);
	/* Each byte read: the line drops and rises for the next byte. */
	reply(f);
	assert_int_equal(f->s->gsi_edges[1], 2);
	reply(f);
	assert_int_equal(f->s->gsi_edges[1], 3);
	reply(f);
	assert_int_equal(f->s->gsi_level[1], 0);
	/* Interrupts off in the command byte: no line. */
	cmd(f, 0x60);
	data(f, 0x44);
	data(f, 0xf4);
	assert_int_equal(f->s->gsi_level[1], 0);
	assert_int_equal(reply(f), 0xfa);
}

static void test_hostile_streams(void **state)
{
	struct fx *f = *state;

	/* Flood the output queue without reading: bounded, no crash. */
	for (int i = 0; i < 100; i++)
		data(f, 0xf2);
	int n = 0;
	while (status(f) & I8042_STR_OBF) {
		sim_pio_read(f->s, 0x60, 1);
		n++;
	}
	assert_int_equal(n, 16);
	/* Every command byte, each followed by a data byte. */
	for (unsigned c = 0; c < 256; c++) {
		if (c == 0xd1 || (c >= 0xf0 && !(c & 1)))
			continue; /* the reset paths, tested above */
		sim_pio_write(f->s, 0x64, 1, c);
		sim_pio_write(f->s, 0x60, 1, 0x01 | (c & 0xfe));
		while (status(f) & I8042_STR_OBF)
			sim_pio_read(f->s, 0x60, 1);
	}
	assert_int_equal(f->s->last_request, MACHINE_RUNNING);
	/* Wide and stray accesses. */
	uint8_t b[2] = { 0, 0 };
	assert_int_equal(i8042_cmd_access(f->k, 0, b, 2, false), 0);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(i8042_data_access(f->k, 0, b, 2, false), 0);
	assert_int_equal(b[1], 0xff);
	b[1] = 0xfe;
	assert_int_equal(i8042_cmd_access(f->k, 1, b + 1, 1, true), 0);
	assert_int_equal(i8042_data_access(f->k, 1, b + 1, 1, true), 0);
	assert_int_equal(f->s->last_request, MACHINE_RUNNING);
	/* Reset restores the BIOS state. */
	i8042_reset(f->k);
	cmd(f, 0x20);
	assert_int_equal(reply(f), 0x65);
	i8042_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reboot_k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pulse_and_output_port_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq1_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_streams, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
