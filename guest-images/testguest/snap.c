/* testguest.action=snap: the guest side of a save and restore under KVM
 * (tests/integration/test_kvm_snapshot.sh).  After the RTC, interrupt
 * and PIT checks, the guest
 *   - lets the PIT tick into IRQ0 again (8259 -> LAPIC LINT0 -> the CPU),
 *   - fills 1 MiB of its memory with a pattern and notes the TSC,
 *   - prints "snap ready", then keeps computing (a counter, PIT ticks
 *     arriving) while it polls COM1 for a received byte.
 * The test stops and saves this VM, ends it, and restores the stream in a
 * new VMM, whose stdin sends the byte.  Then the guest checks what it can
 * only see if the state came back whole: the pattern and the counter
 * (RAM and registers), a TSC that did not go backwards, and PIT ticks
 * still arriving (the 8259s, the IOAPIC, the LAPIC and the PIT).  The
 * caller then runs the remaining checks (PCI, virtio) on the restored
 * devices and exits through debug-exit. */
#include "guest.h"

#define COM1 0x3f8
#define SNAP_PATTERN_WORDS (1u << 17)   /* 1 MiB of uint64_t */

extern volatile uint64_t pit_ticks;
bool snap_blk;
static uint64_t pattern[SNAP_PATTERN_WORDS];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t pattern_sum(void)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < SNAP_PATTERN_WORDS; i++)
		s = (s ^ pattern[i]) * 0x100000001b3ull;
	return s;
}

/* Up to about ten seconds of emulated instructions for `more` ticks. */
static bool wait_ticks(uint64_t more)
{
	uint64_t want = pit_ticks + more;
	for (unsigned long i = 0; i < 40000000ul && pit_ticks < want; i++)
		barrier();
	return pit_ticks >= want;
}

unsigned snap_action(void)
{
	unsigned failed = 0;
	outb(0x21, 0xfe);               /* IRQ0 only, as check_pit left it */
	__asm__ volatile("sti");
	if (!wait_ticks(2)) {
		say("snap FAIL no PIT ticks before the save\n");
		failed++;
	}
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < SNAP_PATTERN_WORDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pattern[i] = x;
	}
	uint64_t sum = pattern_sum();
	uint64_t t0 = rdtsc();
	volatile uint64_t counter = 0;
	if (snap_blk)
		failed += snapblk_start();
	say("snap ready\n");
	/* LSR bit 0: data ready (16550 datasheet, line status register). */
	while (!(inb(COM1 + 5) & 1)) {
		counter++;
		if (snap_blk)
			snapblk_poll();
	}
	(void)inb(COM1);
	uint64_t t1 = rdtsc();
	say("snap resumed after ");
	con_dec(counter);
	con_puts(" polls\n");
	if (pattern_sum() == sum) {
		say("snap memory ok\n");
	} else {
		say("snap memory FAIL\n");
		failed++;
	}
	if (t1 >= t0) {
		say("snap tsc ok\n");
	} else {
		say("snap tsc FAIL went backwards\n");
		failed++;
	}
	if (snap_blk)
		failed += snapblk_finish();
	uint64_t before = pit_ticks;
	if (wait_ticks(3)) {
		say("snap pit irq0 after restore ");
		con_dec(pit_ticks - before);
		con_puts(" ticks\n");
	} else {
		say("snap pit FAIL no ticks after restore\n");
		failed++;
	}
	__asm__ volatile("cli");
	outb(0x21, 0xff);
	return failed;
}

void snap_pause(void)
{
	say("snap ready\n");
	while (!(inb(COM1 + 5) & 1))
		barrier();
	(void)inb(COM1);
	say("snap resumed\n");
}

/* testguest.action=snapwait (benchmarks, and VMMs without the 8259
 * virtual-wire hand-over the snap action needs, such as QEMU's microvm):
 * "snap ready", wait for a byte on COM1, then debug-exit 0x10.  The byte
 * 'r' asks for a reset instead (i8042 command 0xFE, as the reboot
 * action), so a host can have the guest reset exactly once: the next
 * boot waits again. */
void snap_wait_action(void)
{
	say("snap ready\n");
	while (!(inb(COM1 + 5) & 1))
		barrier();
	if (inb(COM1) == 'r') {
		say("snap reset\n");
		for (unsigned i = 0; i < 100000 && (inb(0x64) & 2); i++)
			;
		outb(0x64, 0xfe);
		for (;;)
			barrier();     /* the VMM rebuilds us */
	}
	say("snap resumed\n");
	outb(0xf4, 0x10);
	for (;;)
		barrier();
}
