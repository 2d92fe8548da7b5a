/* testguest.action=hpsnap: a resized VM saved and restored
 * (tests/integration/test_kvm_hpsnap.sh).  The guest
 *   - takes a hot-plugged vCPU the way cpuhp.c does (insert event,
 *     INIT-SIPI-SIPI) and leaves it counting in shared memory;
 *   - takes a hot-plugged DIMM the way memhp.c does and fills its first
 *     MiB with a pattern;
 *   - says "hpsnap ready" and polls COM1 for a byte, which only the
 *     restored VMM sends.
 * Then it checks what only a whole restore gives back: the DIMM's bytes,
 * the AP still counting (its vCPU recreated with its registers), both
 * hot-plug blocks showing the slots plugged with no stale events; and
 * finally gives the vCPU up through the eject protocol when the restored
 * VMM's device_del asks (its id came back with it).
 *
 * testguest.action=madt: prints how many LAPICs the MADT lists and how
 * many of them enabled, then spins (the test resets or quits it). */
#include "guest.h"

#define COM1 0x3f8
#define HPSNAP_WORDS (1u << 17)       /* 1 MiB of uint64_t */

static uint64_t dimm_sum(volatile const uint64_t *p)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < HPSNAP_WORDS; i++)
		s = (s ^ p[i]) * 0x100000001b3ull;
	return s;
}

unsigned hpsnap_action(void)
{
	unsigned failed = 0, slot = 0;
	uint32_t sel = 0;
	uint64_t base = 0, size = 0;
	say("hpsnap waiting cpu\n");
	if (cpuhp_plugged_ap(&sel))
		return 1;
	say("hpsnap waiting dimm\n");
	if (memhp_take_any(&slot, &base, &size))
		return 1;
	if (size < 8ull * HPSNAP_WORDS) {
		say("hpsnap FAIL DIMM smaller than 1 MiB\n");
		return 1;
	}
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)base;
	uint64_t x = 0x2545f4914f6cdd1dull ^ base;
	for (unsigned i = 0; i < HPSNAP_WORDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
	}
	uint64_t sum = dimm_sum(p);
	say("hpsnap ready\n");
	volatile uint64_t polls = 0;
	/* LSR bit 0: data ready (16550 datasheet, line status register). */
	while (!(inb(COM1 + 5) & 1))
		polls++;
	(void)inb(COM1);
	say("hpsnap resumed\n");
	if (dimm_sum(p) == sum) {
		say("hpsnap dimm memory ok\n");
	} else {
		say("hpsnap dimm memory FAIL\n");
		failed++;
	}
	uint64_t c0 = cpuhp_ap_count();
	for (uint64_t i = 0; i < 2000000000ull && cpuhp_ap_count() < c0 + 1000; i++)
		barrier();
	say("hpsnap cpu ");
	con_dec(sel);
	if (cpuhp_ap_count() >= c0 + 1000) {
		con_puts(" still running\n");
	} else {
		con_puts(" stopped FAIL\n");
		failed++;
	}
	/* Enabled, no insert/remove event left over: exactly as saved. */
	uint8_t cf = cpuhp_flags(sel), mf = memhp_status(slot);
	say("hpsnap blocks ");
	con_puts(cf == 0x01 && mf == 0x01 ? "ok\n" : "FAIL\n");
	failed += !(cf == 0x01 && mf == 0x01);
	failed += cpuhp_eject_ap(sel);
	return failed;
}

unsigned madt_action(void)
{
	const uint8_t *t = acpi_table(guest_si, "APIC");
	unsigned n = 0, en = 0;
	if (t) {
		uint32_t len = acpi_rd32(t + 4);
		/* ACPI 6.4 §5.2.12: 44-byte header, then type/length entries;
		 * type 0 is a Processor Local APIC, flags at +4. */
		for (uint32_t off = 44; off + 2 <= len && t[off + 1] >= 2; off += t[off + 1]) {
			if (t[off] != 0)
				continue;
			n++;
			en += acpi_rd32(t + off + 4) & 1;
		}
	}
	say("madt lapics enabled ");
	con_dec(en);
	con_puts(" of ");
	con_dec(n);
	con_puts("\n");
	for (;;)
		barrier();     /* the test resets or quits us */
	return 0;
}
