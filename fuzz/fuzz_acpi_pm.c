/* libFuzzer target: the ACPI PM register block as a guest drives it.
 * Each 4-byte record is one access: offset (byte 0, any value, so out of
 * range too), width 1-8 (byte 1), direction (byte 2 bit 0), value byte
 * (byte 3, repeated).  Invariants: out-of-range accesses fail, SCI_EN
 * always reads 1, SLP_EN never reads back, a machine request is only ever
 * shutdown or reset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "devices/acpi/acpi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	uint64_t now;
};

static uint64_t now_ns(void *opaque)
{
	struct ctx *c = opaque;
	return c->now += 12345;
}

static void request(void *opaque, enum machine_event ev, int status)
{
	(void)opaque;
	(void)status;
	if (ev != MACHINE_SHUTDOWN && ev != MACHINE_RESET)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct clk_ops ops = { .now_ns = now_ns };
	struct ctx c = { 0 };
	struct clk clk = { .ops = &ops, .opaque = &c };
	struct machine_ctl ctl = { .request = request, .opaque = &c };
	struct acpi_pm pm;
	acpi_pm_init(&pm, &clk, &ctl, size & 1, NULL);

	for (size_t i = 0; i + 4 <= size; i += 4) {
		uint64_t off = data[i];
		unsigned len = 1 + (data[i + 1] & 7);
		bool wr = data[i + 2] & 1;
		uint8_t buf[8];
		memset(buf, data[i + 3], sizeof(buf));
		int rc = acpi_pm_access(&pm, off, buf, len, wr);
		bool in = off < ACPI_PM_IO_SIZE && len <= ACPI_PM_IO_SIZE - off;
		if ((rc == 0) != in)
			abort();
		uint8_t cnt[2];
		if (acpi_pm_access(&pm, ACPI_PM1_CNT_OFF, cnt, 2, false) != 0 ||
		    !(cnt[0] & 1) || (cnt[1] & 0x20))
			abort();
	}
	return 0;
}
