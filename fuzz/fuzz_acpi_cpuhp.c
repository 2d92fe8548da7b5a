/* libFuzzer target: the CPU hot-plug register block (devices/acpi/
 * cpu_hotplug.c) as a hostile guest drives it, with the management plane
 * plugging and asking to unplug in between.  Each 4-byte record: byte 0
 * bits 0-6 an offset (any, so out of range too), bit 7 "host op instead";
 * byte 1 width 1-4 (host op: slot); byte 2 bit 0 direction (host op:
 * plug or unplug request); byte 3 the value byte, repeated.
 * Invariants: out-of-range accesses fail; eject reaches the machine only
 * for a slot whose removal was asked for and never for a boot CPU; boot
 * CPUs stay enabled; reads with a selector out of range return 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "devices/acpi/cpu_hotplug.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCPU 6u
#define NBOOT 2u

struct ctx {
	struct acpi_cpuhp hp;
	bool asked[NCPU];
};

static void on_eject(void *o, unsigned i)
{
	struct ctx *c = o;
	if (i < NBOOT || i >= NCPU || !c->asked[i])
		abort();
	c->asked[i] = false;
	acpi_cpuhp_unplugged(&c->hp, i);
}

static void on_notify(void *o)
{
	(void)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return 0;
	acpi_cpuhp_init(&c->hp, NCPU, NULL, NBOOT, NULL);
	c->hp.eject = on_eject;
	c->hp.notify = on_notify;
	c->hp.opaque = c;
	for (size_t i = 0; i + 4 <= size; i += 4) {
		if (data[i] & 0x80) {
			unsigned slot = data[i + 1] % (NCPU + 2);
			if (data[i + 2] & 1) {
				acpi_cpuhp_plug(&c->hp, slot);
			} else if (acpi_cpuhp_request_unplug(&c->hp, slot) == 0) {
				if (slot < NBOOT)
					abort();
				c->asked[slot] = true;
			}
			continue;
		}
		uint64_t off = data[i] & 0x7f;
		unsigned len = 1 + (data[i + 1] & 3);
		bool wr = data[i + 2] & 1;
		uint8_t buf[4];
		memset(buf, data[i + 3], sizeof(buf));
		int rc = acpi_cpuhp_access(&c->hp, off, buf, len, wr);
		bool in = off < ACPI_CPUHP_IO_SIZE && len <= ACPI_CPUHP_IO_SIZE - off;
		if ((rc == 0) != in)
			abort();
		if (!wr && rc == 0 && c->hp.selector >= NCPU)
			for (unsigned k = 0; k < len; k++)
				if (buf[k])
					abort();
		for (unsigned k = 0; k < NBOOT; k++)
			if (!acpi_cpuhp_enabled(&c->hp, k))
				abort();
	}
	free(c);
	return 0;
}
