/* bus: registration order, overlap errors, dispatch, unclaimed accesses,
 * straddling, unregister, observer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include "core/bus.h"
#include "core/log.h"

struct toy {
	uint8_t regs[16];
	uint64_t last_off;
	unsigned last_len;
	int calls;
	int rc;
};

static int toy_access(void *dev, uint64_t offset, void *data, unsigned len,
		      bool is_write)
{
	struct toy *t = dev;
	t->calls++;
	t->last_off = offset;
	t->last_len = len;
	if (offset + len > sizeof(t->regs))
		return -EINVAL;
	if (is_write)
		memcpy(t->regs + offset, data, len);
	else
		memcpy(data, t->regs + offset, len);
	return t->rc;
}

static void test_dispatch(void **state)
{
	(void)state;
	struct bus *b = bus_new("pio", NULL);
	struct toy a = { 0 }, c = { 0 };
	assert_string_equal(bus_name(b), "pio");
	assert_int_equal(bus_register(b, 0x3f8, 8, toy_access, &a, "com1"), 0);
	assert_int_equal(bus_register(b, 0x2f8, 8, toy_access, &c, "com2"), 0);
	bus_write(b, 0x3f9, 1, 0x42);
	assert_int_equal(a.last_off, 1);
	assert_int_equal(a.regs[1], 0x42);
	assert_int_equal(bus_read(b, 0x3f9, 1), 0x42);
	bus_write(b, 0x2f8, 4, 0x11223344);
	assert_int_equal(c.regs[0], 0x44);
	assert_int_equal(c.regs[3], 0x11);
	assert_int_equal(bus_read(b, 0x2f8, 4), 0x11223344);
	assert_int_equal(bus_read(b, 0x2f8, 2), 0x3344);
	/* Last byte of the range. */
	bus_write(b, 0x3ff, 1, 0x99);
	assert_int_equal(a.regs[7], 0x99);
	assert_int_equal(bus_unclaimed_count(b), 0);
	/* The device's rc is passed back. */
	a.rc = -EIO;
	uint8_t v = 0;
	assert_int_equal(bus_access(b, 0x3f8, &v, 1, false), -EIO);
	assert_int_equal(a.calls, 4);
	bus_free(b);
	bus_free(NULL);
}

static void test_overlap(void **state)
{
	(void)state;
	struct log *log = log_new_memory(LOG_DEBUG);
	struct bus *b = bus_new("mmio", log);
	struct toy a = { 0 };
	assert_int_equal(bus_register(b, 0x1000, 0x100, toy_access, &a, "alpha"), 0);
	assert_int_equal(bus_register(b, 0x10ff, 1, toy_access, &a, "beta"), -EEXIST);
	const char *txt = log_memory_text(log);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "alpha"));
	assert_non_null(strstr(txt, "beta"));
	assert_int_equal(bus_register(b, 0xf00, 0x101, toy_access, &a, "gamma"), -EEXIST);
	assert_non_null(strstr(log_memory_text(log), "gamma"));
	assert_int_equal(bus_register(b, 0x0, 0x10000, toy_access, &a, "delta"), -EEXIST);
	assert_int_equal(bus_register(b, 0x1010, 0x10, toy_access, &a, "eps"), -EEXIST);
	/* Adjacent on both sides is fine. */
	assert_int_equal(bus_register(b, 0xf00, 0x100, toy_access, &a, "lo"), 0);
	assert_int_equal(bus_register(b, 0x1100, 0x100, toy_access, &a, "hi"), 0);
	/* Invalid ranges. */
	assert_int_equal(bus_register(b, 0x5000, 0, toy_access, &a, "zero"), -EINVAL);
	assert_int_equal(bus_register(b, UINT64_MAX, 2, toy_access, &a, "wrap"), -EINVAL);
	assert_int_equal(bus_register(b, UINT64_MAX - 15, 16, toy_access, &a, "top"), -EINVAL);
	assert_int_equal(bus_register(b, 0x5000, 1, NULL, &a, NULL), -EINVAL);
	assert_non_null(strstr(log_memory_text(log), "invalid range"));
	bus_free(b);
	log_free(log);
}

static void test_unclaimed(void **state)
{
	(void)state;
	struct log *log = log_new_memory(LOG_DEBUG);
	struct bus *b = bus_new("pio", log);
	struct toy a = { 0 };
	assert_int_equal(bus_register(b, 0x60, 4, toy_access, &a, "kbd"), 0);
	uint8_t buf[8] = { 0 };
	assert_int_equal(bus_access(b, 0x80, buf, 4, false), -ENOENT);
	assert_int_equal(buf[0], 0xff);
	assert_int_equal(buf[3], 0xff);
	assert_int_equal(buf[4], 0);
	assert_int_equal(bus_read(b, 0x80, 8), UINT64_MAX);
	assert_int_equal(bus_read(b, 0x80, 2), 0xffff);
	bus_write(b, 0x80, 1, 0);
	assert_int_equal(bus_unclaimed_count(b), 4);
	/* Logged once for the address despite four accesses. */
	const char *txt = log_memory_text(log);
	const char *first = strstr(txt, "0x80");
	assert_non_null(first);
	assert_null(strstr(first + 1, "0x80"));
	/* Below the first range and straddling its end are unclaimed too. */
	assert_int_equal(bus_read(b, 0x10, 1), 0xff);
	assert_int_equal(bus_access(b, 0x62, buf, 4, false), -ENOENT);
	assert_int_equal(bus_access(b, 0x63, buf, 2, true), -ENOENT);
	assert_int_equal(a.calls, 0);
	assert_int_equal(bus_unclaimed_count(b), 7);
	/* Bad lengths are refused outright. */
	assert_int_equal(bus_access(b, 0x60, buf, 0, false), -EINVAL);
	assert_int_equal(bus_access(b, 0x60, buf, 9, false), -EINVAL);
	assert_int_equal(bus_read(b, 0x60, 9), UINT64_MAX);
	bus_write(b, 0x60, 0, 1);
	assert_int_equal(a.calls, 0);
	/* A guest scanning many addresses: memory of addresses is bounded and
	 * the log stays small (rate-limited). */
	size_t before = strlen(log_memory_text(log));
	for (uint64_t p = 0x1000; p < 0x1000 + 100000; p++)
		bus_read(b, p, 1);
	size_t grown = strlen(log_memory_text(log)) - before;
	assert_true(grown < 200 * 80);
	assert_int_equal(bus_unclaimed_count(b), 7 + 100000);
	bus_free(b);
	log_free(log);
}

static void test_unregister(void **state)
{
	(void)state;
	struct bus *b = bus_new("mmio", NULL);
	struct toy a = { 0 }, c = { 0 };
	assert_int_equal(bus_register(b, 0xc0000000, 0x1000, toy_access, &a, "bar0"), 0);
	assert_int_equal(bus_register(b, 0xc0001000, 0x1000, toy_access, &c, "bar1"), 0);
	assert_int_equal(bus_unregister(b, 0xc0000000, &c), -ENOENT); /* wrong dev */
	assert_int_equal(bus_unregister(b, 0xc0000010, &a), -ENOENT); /* not base */
	assert_int_equal(bus_unregister(b, 0x10, &a), -ENOENT);
	assert_int_equal(bus_unregister(b, 0xc0000000, &a), 0);
	assert_int_equal(bus_unregister(b, 0xc0000000, &a), -ENOENT);
	assert_int_equal(bus_read(b, 0xc0000000, 4), 0xffffffff);
	/* BAR moves: register again elsewhere. */
	assert_int_equal(bus_register(b, 0xc0002000, 0x1000, toy_access, &a, "bar0"), 0);
	bus_write(b, 0xc0002004, 4, 7);
	assert_int_equal(a.regs[4], 7);
	bus_write(b, 0xc0001004, 4, 9);
	assert_int_equal(c.regs[4], 9);
	/* Many registrations grow the table; lookups stay correct. */
	struct toy many[40];
	memset(many, 0, sizeof(many));
	for (int i = 39; i >= 0; i--)
		assert_int_equal(bus_register(b, 0x1000 + 0x10 * (uint64_t)i, 0x10,
					      toy_access, &many[i], "m"), 0);
	for (int i = 0; i < 40; i++)
		bus_write(b, 0x1000 + 0x10 * (uint64_t)i + 3, 1, (uint64_t)i);
	for (int i = 0; i < 40; i++)
		assert_int_equal(many[i].regs[3], i);
	bus_free(b);
}

struct obs {
	int calls;
	uint64_t addr;
	uint8_t data[8];
	unsigned len;
	bool is_write;
	int rc;
	const struct bus *bus;
};

static void observer(void *opaque, const struct bus *bus, uint64_t addr,
		     const void *data, unsigned len, bool is_write, int rc)
{
	struct obs *o = opaque;
	o->calls++;
	o->bus = bus;
	o->addr = addr;
	memcpy(o->data, data, len);
	o->len = len;
	o->is_write = is_write;
	o->rc = rc;
}

static void test_observer(void **state)
{
	(void)state;
	struct bus *b = bus_new("pio", NULL);
	struct toy a = { 0 };
	struct obs o = { 0 };
	assert_int_equal(bus_register(b, 0x70, 2, toy_access, &a, "rtc"), 0);
	bus_set_observer(b, observer, &o);
	a.regs[1] = 0x5a;
	assert_int_equal(bus_read(b, 0x71, 1), 0x5a);
	assert_int_equal(o.calls, 1);
	assert_ptr_equal(o.bus, b);
	assert_int_equal(o.addr, 0x71);
	assert_int_equal(o.data[0], 0x5a); /* the final data */
	assert_false(o.is_write);
	assert_int_equal(o.rc, 0);
	bus_read(b, 0x72, 2);
	assert_int_equal(o.calls, 2);
	assert_int_equal(o.rc, -ENOENT);
	assert_int_equal(o.data[0], 0xff);
	bus_write(b, 0x70, 1, 3);
	assert_true(o.is_write);
	assert_int_equal(o.data[0], 3);
	bus_set_observer(b, NULL, NULL);
	bus_read(b, 0x70, 1);
	assert_int_equal(o.calls, 3);
	bus_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_unclaimed),
		cmocka_unit_test(test_unregister),
		cmocka_unit_test(test_observer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
