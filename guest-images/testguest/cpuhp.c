/* testguest.action=cpuhp: what the CPUS AML and the OS do for vCPU
 * hot-plug, over QEMU's modern ACPI CPU hot-plug registers at 0xcd8
 * (QEMU docs/specs/acpi_cpu_hotplug.rst), polled:
 *   - select CPU 0 (on QEMU's ICH9 that also switches the legacy
 *     interface to the modern one), say "cpuhp waiting";
 *   - command 0 until a CPU has its insert event; read its APIC id
 *     (command 3), acknowledge the event;
 *   - start it with INIT-SIPI-SIPI through the LAPIC (Intel SDM vol. 3
 *     §9.4.4) at a real-mode trampoline copied to 0x8000 (start.S), which
 *     goes to long mode on the BSP's page tables and runs ap_main(): the
 *     AP counts in shared memory, and the BSP says
 *     "cpuhp cpu N apic A running" once the count moves;
 *   - say "cpuhp waiting eject", wait for the remove event, acknowledge
 *     it, stop the AP (it parks in cli/hlt), write the eject bit, and
 *     check the slot reads not enabled: "cpuhp cpu N ejected".
 * testguest.cpuhp=R[h]: R rounds (default 1); with 'h' first the hostile
 * writes a VMM must shrug off: eject of the boot CPU, of an empty slot,
 * of the new CPU before anyone asked, a selector out of range, an unknown
 * command. */
#include "guest.h"

#define CPHP 0xcd8
#define CPHP_SEL (CPHP + 0)
#define CPHP_FLAGS (CPHP + 4)
#define CPHP_CMD (CPHP + 5)
#define CPHP_DATA (CPHP + 8)
#define F_ENABLED 0x01
#define F_INSERT 0x02
#define F_REMOVE 0x04
#define F_EJECT 0x08
#define CMD_NEXT 0
#define CMD_ARCH_ID 3

#define LAPIC 0xfee00000ull
#define ICR_LO 0x300
#define ICR_HI 0x310
#define TRAMPOLINE 0x8000u

extern const char ap_tramp_start[], ap_tramp_end[];
volatile uint64_t ap_stack_top;
static volatile uint64_t ap_count;
static volatile uint32_t ap_apic;
static volatile int ap_stop, ap_stopped;
static uint8_t ap_stack[16384] __attribute__((aligned(16)));

void ap_main(void);
void ap_main(void)
{
	uint32_t a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	ap_apic = b >> 24;
	while (!ap_stop)
		ap_count++;
	ap_stopped = 1;
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void lapic_ipi(uint32_t apic, uint32_t lo)
{
	mmio_write32(LAPIC + ICR_HI, apic << 24);
	mmio_write32(LAPIC + ICR_LO, lo);
	/* Delivery status (bit 12) clears once the IPI is sent. */
	for (unsigned i = 0; i < 100000 && (mmio_read32(LAPIC + ICR_LO) & 0x1000); i++)
		;
}

/* Command 0 and the selected CPU's flags: the next CPU with an event. */
static uint8_t next_event(uint32_t *sel)
{
	outb(CPHP_CMD, CMD_NEXT);
	uint8_t f = inb(CPHP_FLAGS);
	*sel = inl(CPHP_DATA);
	return f;
}

static uint8_t flags_of(uint32_t sel)
{
	outl(CPHP_SEL, sel);
	return inb(CPHP_FLAGS);
}

static unsigned hostile(void)
{
	unsigned bad = 0;
	outl(CPHP_SEL, 0);
	outb(CPHP_FLAGS, F_EJECT);          /* the boot CPU */
	if (!(flags_of(0) & F_ENABLED))
		bad++;
	outl(CPHP_SEL, 0xffff);             /* out of range: reads 0 */
	outb(CPHP_FLAGS, F_EJECT);
	if (inb(CPHP_FLAGS) != 0 || inl(CPHP_DATA) != 0)
		bad++;
	outl(CPHP_SEL, 1);                  /* empty slot */
	outb(CPHP_FLAGS, F_EJECT);
	outb(CPHP_CMD, 0x7f);               /* reserved command */
	if (inl(CPHP_DATA) != 0)
		bad++;
	outl(CPHP_SEL, 0);
	say("cpuhp hostile ");
	con_puts(bad ? "FAILED\n" : "ok\n");
	return bad;
}

/* Wait for a CPU's insert event; its slot and APIC id, acknowledged.
 * 0, or 1 (said why). */
static unsigned take_insert(uint32_t *sel, uint32_t *apic)
{
	uint8_t f = 0;
	/* Bounded: the test plugs within seconds; ~10^9 polls is minutes
	 * even at emulated speed, then the guest reports and ends. */
	for (uint64_t i = 0; i < 1000000000ull; i++) {
		f = next_event(sel);
		if (f & F_INSERT)
			break;
	}
	if (!(f & F_INSERT)) {
		say("cpuhp no insert event FAILED\n");
		return 1;
	}
	outb(CPHP_CMD, CMD_ARCH_ID);
	*apic = inl(CPHP_DATA);
	outb(CPHP_FLAGS, F_INSERT);         /* acknowledged */
	return 0;
}

/* INIT-SIPI-SIPI to `apic`; says "cpuhp cpu SEL apic A running" once
 * the AP counts.  0, or 1. */
static unsigned start_ap(uint32_t sel, uint32_t apic)
{
	memcpy((void *)(uintptr_t)TRAMPOLINE, ap_tramp_start,
	       (size_t)(ap_tramp_end - ap_tramp_start));
	ap_stack_top = (uint64_t)(uintptr_t)(ap_stack + sizeof(ap_stack));
	ap_count = 0;
	ap_apic = ~0u;
	ap_stop = ap_stopped = 0;
	barrier();
	lapic_ipi(apic, 0x4500);                      /* INIT, assert */
	lapic_ipi(apic, 0x4600 | (TRAMPOLINE >> 12)); /* SIPI */
	lapic_ipi(apic, 0x4600 | (TRAMPOLINE >> 12));
	for (uint64_t i = 0; i < 2000000000ull && ap_count < 1000; i++)
		barrier();
	say("cpuhp cpu ");
	con_dec(sel);
	con_puts(" apic ");
	con_dec(apic);
	if (ap_count < 1000 || ap_apic != apic) {
		con_puts(" did not start FAILED\n");
		return 1;
	}
	con_puts(" running\n");
	return 0;
}

/* Wait for slot sel's remove event, stop the AP and eject; says
 * "cpuhp cpu SEL ejected".  0, or 1. */
static unsigned eject_ap(uint32_t sel)
{
	uint8_t f = 0;
	say("cpuhp waiting eject\n");
	for (uint64_t i = 0; i < 1000000000ull; i++) {
		outl(CPHP_SEL, sel);
		f = inb(CPHP_FLAGS);
		if (f & F_REMOVE)
			break;
	}
	if (!(f & F_REMOVE)) {
		say("cpuhp no remove event FAILED\n");
		return 1;
	}
	outb(CPHP_FLAGS, F_REMOVE);
	ap_stop = 1;
	for (uint64_t i = 0; i < 1000000000ull && !ap_stopped; i++)
		barrier();
	outl(CPHP_SEL, sel);
	outb(CPHP_FLAGS, F_EJECT);
	f = flags_of(sel);
	say("cpuhp cpu ");
	con_dec(sel);
	con_puts((f & F_ENABLED) ? " still enabled FAILED\n" : " ejected\n");
	return (f & F_ENABLED) ? 1 : 0;
}

static unsigned one_round(int bad_guest)
{
	uint32_t sel = 0, apic = 0;
	say("cpuhp waiting\n");
	if (take_insert(&sel, &apic))
		return 1;
	if (bad_guest) {
		/* Eject the new CPU before anyone asked: it must stay. */
		outb(CPHP_FLAGS, F_EJECT);
		if (!(flags_of(sel) & F_ENABLED)) {
			say("cpuhp unrequested eject took the CPU FAILED\n");
			return 1;
		}
	}
	if (start_ap(sel, apic))
		return 1;
	return eject_ap(sel);
}

/* For other actions (hpsnap.c): the same steps, one at a time. */
unsigned cpuhp_plugged_ap(uint32_t *sel)
{
	uint32_t apic = 0;
	outl(CPHP_SEL, 0);
	return take_insert(sel, &apic) || start_ap(*sel, apic);
}

uint64_t cpuhp_ap_count(void)
{
	return ap_count;
}

uint8_t cpuhp_flags(uint32_t sel)
{
	return flags_of(sel);
}

unsigned cpuhp_eject_ap(uint32_t sel)
{
	return eject_ap(sel);
}

unsigned cpuhp_action(const char *opt)
{
	unsigned rounds = 1, bad = 0;
	int bad_guest = 0;
	if (opt && *opt >= '1' && *opt <= '9')
		rounds = (unsigned)(*opt++ - '0');
	if (opt && *opt == 'h')
		bad_guest = 1;
	outl(CPHP_SEL, 0); /* valid selector; QEMU ICH9: modern interface */
	outb(CPHP_CMD, CMD_NEXT);
	if (inl(CPHP_SEL) != 0) {
		say("cpuhp no modern CPU hot-plug interface FAILED\n");
		return 1;
	}
	if (bad_guest)
		bad += hostile();
	for (unsigned r = 0; r < rounds && !bad; r++)
		bad += one_round(bad_guest);
	return bad;
}
