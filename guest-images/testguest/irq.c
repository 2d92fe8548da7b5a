/* Interrupt delivery as the VMM hands the machine over, checked the way
 * Linux meets it.  Linux 6.1's start_kernel() enables interrupts
 * (local_irq_enable() before kmem_cache_init_late()) long before it sets
 * up the LAPIC, and on a hardware-reduced ACPI machine (microvm) it never
 * touches the 8259s (legacy_pic = &null_legacy_pic).  Whatever the VMM
 * left in the 8259s, LINT0 and the PIT then reaches the CPU.  So:
 *
 *   testguest: irq handover hw-reduced ACPI... | 8259s masked first...
 *   testguest: irq handover lint0 0x... lint1 0x...
 *   testguest: irq handover lapic timer vector 0xec, N other
 *       The 8259s, LINT0 and the PIT as handed over, not touched; the
 *       LAPIC enabled and its timer armed for 200 ms (Linux's
 *       LOCAL_TIMER_VECTOR); sti; every vector that arrives is counted.
 *       Anything but the timer fails; a vector below 32 (an 8259 left
 *       at vector base 0 delivers PIT IRQ0 as vector 0, "divide error")
 *       fails at once with "FAIL interrupt on vector 0x..".
 *   testguest: irq ioapic pin 2 pit N ticks on vector 0x30, N other
 *       The PIT's channel 0 at 1 kHz through IOAPIC pin 2 -- ISA IRQ0's
 *       GSI by the MADT's interrupt source override (ACPI 6.4
 *       §5.2.12.5) -- on vector 0x30 (Linux's ISA_IRQ_VECTOR(0)), as
 *       Linux routes the timer on a PC (check_timer()); a 500 ms LAPIC
 *       timer is the deadline.
 *
 * Both run on every machine type; they leave the LAPIC enabled with LINT0
 * as found, IOAPIC pin 2 masked and the PIT running. */
#include "guest.h"

#define LAPIC_BASE 0xfee00000ull
#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVTT 0x320
#define LAPIC_LVT0 0x350
#define LAPIC_LVT1 0x360
#define LAPIC_TMICT 0x380
#define LAPIC_TDCR 0x3e0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_TDCR_DIV1 0x0b      /* SDM vol. 3 §11.5.4, Figure 11-10 */
#define LVT_MASKED 0x10000u

#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))
#define PIT_GSI 2

#define VEC_TIMER 0xec
#define VEC_PIT 0x30
#define VEC_SPURIOUS 0xff

/* KVM's LAPIC timer counts at 1 GHz (APIC bus cycle 1 ns), the rate
 * Linux measures there. */
#define LAPIC_NS(ms) ((uint32_t)(ms) * 1000000u)

#define DEBUG_EXIT 0xf4

extern char irq_vector_stubs[];   /* start.S: 256 stubs, 16 bytes apart */
static volatile uint32_t hits[256];

static struct idt_gate idt[256] __attribute__((aligned(16)));

static uint32_t lapic_read(unsigned reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

static void lapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);          /* IOREGSEL */
	mmio_write32(IOAPIC_BASE + 0x10, v);     /* IOWIN */
}

/* Called by every stub with its vector.  Below 32 an interrupt was
 * delivered on an exception vector (or the guest faulted): report it and
 * end, since returning from a real fault would repeat it. */
void irq_vector(uint64_t v);
void irq_vector(uint64_t v)
{
	if (v < 32) {
		say("FAIL interrupt on vector ");
		con_hex(v);
		con_puts(" (an exception vector)\n");
		outb(DEBUG_EXIT, 0x11);
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	hits[v]++;
	if (v != VEC_SPURIOUS)
		lapic_write(LAPIC_EOI, 0);
}

static uint32_t others(unsigned except)
{
	uint32_t n = 0;
	for (unsigned v = 0; v < 256; v++)
		if (v != except)
			n += hits[v];
	return n;
}

static void clear_hits(void)
{
	for (unsigned v = 0; v < 256; v++)
		hits[v] = 0;
}

/* Wait with interrupts enabled until *until reaches n or the LAPIC
 * timer (armed by the caller) has fired.  sti's one-instruction shadow
 * keeps the wake-up from slipping in between the check and hlt. */
static void wait_for(volatile uint32_t *until, uint32_t n)
{
	__asm__ volatile("cli");
	while (*until < n && !hits[VEC_TIMER])
		__asm__ volatile("sti; hlt; cli" ::: "memory");
}

static void arm_timer(unsigned ms)
{
	lapic_write(LAPIC_TDCR, LAPIC_TDCR_DIV1);
	lapic_write(LAPIC_LVTT, VEC_TIMER);      /* one-shot, unmasked */
	lapic_write(LAPIC_TMICT, LAPIC_NS(ms));
}

/* Whether the OS owns the 8259s: Linux programs them before it enables
 * interrupts (init_8259A() masks them all -- needed on a PC whose
 * firmware left IRQ0 running, as SeaBIOS does at vector 8) unless the
 * FADT says HW_REDUCED_ACPI (flags bit 20, ACPI 6.4 §5.2.9 Table 5.10):
 * then legacy_pic is the null PIC, Linux never touches them, and the
 * VMM's hand-over is all there is (microvm). */
static void pic_as_linux(const struct start_info *si)
{
	const uint8_t *fadt = acpi_table(si, "FACP");
	bool reduced = fadt && acpi_rd32(fadt + 4) >= 116 &&
		       (acpi_rd32(fadt + 112) & (1u << 20));
	if (!reduced) {
		outb(0x21, 0xff);
		outb(0xa1, 0xff);
	}
	say("irq handover ");
	con_puts(reduced ? "hw-reduced ACPI: 8259s as handed over"
			 : "8259s masked first, as Linux does on a PC");
	con_puts("\n");
}

static unsigned check_handover(const struct start_info *si)
{
	pic_as_linux(si);
	say("irq handover lint0 ");
	con_hex(lapic_read(LAPIC_LVT0));
	con_puts(" lint1 ");
	con_hex(lapic_read(LAPIC_LVT1));
	con_puts("\n");
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);
	clear_hits();
	/* 200 ms: more than three periods of a PIT channel 0 left counting
	 * from reset (65536 / 1.193182 MHz = 54.9 ms). */
	arm_timer(200);
	wait_for(&hits[VEC_TIMER], 1);
	uint32_t other = others(VEC_TIMER);
	say("irq handover lapic timer vector ");
	con_hex(VEC_TIMER);
	con_puts(", ");
	con_dec(other);
	con_puts(" other\n");
	return other ? 1 : 0;
}

static unsigned check_ioapic_pit(void)
{
	uint32_t dest = lapic_read(LAPIC_ID) >> 24;
	clear_hits();
	outb(0x43, 0x34);               /* ch0, lobyte/hibyte, mode 2 */
	outb(0x40, 1193 & 0xff);        /* 1 kHz */
	outb(0x40, 1193 >> 8);
	/* Fixed delivery, physical destination, edge, active high (ISA
	 * IRQ0 conforms to its bus), unmasked (82093AA §3.2.4). */
	ioapic_write(IOAPIC_REDTBL(PIT_GSI) + 1, dest << 24);
	ioapic_write(IOAPIC_REDTBL(PIT_GSI), VEC_PIT);
	arm_timer(500);
	wait_for(&hits[VEC_PIT], 3);
	ioapic_write(IOAPIC_REDTBL(PIT_GSI), LVT_MASKED | VEC_PIT);
	lapic_write(LAPIC_TMICT, 0);
	__asm__ volatile("sti; nop; nop; cli");  /* drain one in flight */
	uint32_t ticks = hits[VEC_PIT];
	uint32_t other = others(VEC_PIT) - hits[VEC_TIMER];
	say("irq ioapic pin 2 pit ");
	con_dec(ticks);
	con_puts(" ticks on vector ");
	con_hex(VEC_PIT);
	con_puts(", ");
	con_dec(other);
	con_puts(" other\n");
	return ticks < 3 || other ? 1 : 0;
}

unsigned check_irq(const struct start_info *si)
{
	for (unsigned v = 0; v < 256; v++)
		idt_gate_set(&idt[v], irq_vector_stubs + 16 * v);
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } d = {
		sizeof(idt) - 1, (uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(d));
	unsigned failed = check_handover(si);
	failed += check_ioapic_pit();
	return failed;
}
