/* testguest.action=memhp: what the DSDT's MHPD methods do for a hot-
 * plugged DIMM (QEMU's acpi_mem_hotplug register interface, port 0xa00),
 * done directly and polled:
 *   - "memhp waiting", then scan the slots (selector, status) until one
 *     shows an insert event; read its base and length, acknowledge the
 *     event, write a pattern at both ends of the DIMM and read it back
 *     ("memhp slot S base 0x... size 0x... rw ok");
 *   - wait for that slot's remove event, acknowledge it and eject
 *     ("memhp ejected slot S empty"), check the slot reads empty;
 *   - wait for a new DIMM in that slot, take it as above, eject it when
 *     asked as above, and end through debug-exit. */
#include "guest.h"

#define MHP 0xa00
#define MHP_STATUS (MHP + 0x14)
#define MHP_SLOTS 32            /* scanned; a selector past the last reads 0 */
#define SPIN 400000000u

static uint64_t mhp_reg64(unsigned off)
{
	return inl(MHP + off) | (uint64_t)inl(MHP + off + 4) << 32;
}

/* Wait for `bit` in any slot (only = -1) or in slot `only`. */
static int mhp_wait(uint8_t bit, unsigned *slot, int only)
{
	for (unsigned i = 0; i < SPIN; i++)
		for (unsigned s = 0; s < MHP_SLOTS; s++) {
			if (only >= 0 && s != (unsigned)only)
				continue;
			outl(MHP, s);
			if (inb(MHP_STATUS) & bit) {
				*slot = s;
				return 0;
			}
		}
	return -1;
}

/* Take the DIMM in `slot`: read base and length, acknowledge, write
 * and read both ends.  0 when it works. */
static int mhp_take(unsigned slot)
{
	outl(MHP, slot);
	uint64_t base = mhp_reg64(0x0), size = mhp_reg64(0x8);
	outb(MHP_STATUS, 0x02);     /* clear the insert event */
	volatile uint64_t *lo = (volatile uint64_t *)(uintptr_t)base;
	volatile uint64_t *hi = (volatile uint64_t *)(uintptr_t)(base + size - 8);
	*lo = 0x1122334455667788ull ^ base;
	*hi = 0x8877665544332211ull ^ size;
	int ok = size && !(inb(MHP_STATUS) & 0x02) &&
		 *lo == (0x1122334455667788ull ^ base) &&
		 *hi == (0x8877665544332211ull ^ size);
	say("memhp slot ");
	con_dec(slot);
	con_puts(" base ");
	con_hex(base);
	con_puts(" size ");
	con_hex(size);
	con_puts(ok ? " rw ok\n" : " rw FAIL\n");
	return ok ? 0 : 1;
}

/* The remove request for `slot`: acknowledge it and eject (_OST, _EJ0),
 * then check the slot reads empty.  0, or 1 on failure. */
static unsigned mhp_eject(unsigned slot)
{
	unsigned slot2;
	if (mhp_wait(0x04, &slot2, -1) < 0 || slot2 != slot) {
		say("memhp FAIL no remove event\n");
		return 1;
	}
	outl(MHP, slot);
	outb(MHP_STATUS, 0x04);     /* clear the remove event */
	outl(MHP + 0x4, 0x103);     /* _OST: eject processing (ACPI 6.4 §6.3.5) */
	outl(MHP + 0x8, 0x80);      /* ... in progress */
	outb(MHP_STATUS, 0x08);     /* _EJ0 */
	outl(MHP, slot);
	int gone = !(inb(MHP_STATUS) & 0x01) && mhp_reg64(0x8) == 0;
	say("memhp ejected slot ");
	con_dec(slot);
	con_puts(gone ? " empty\n" : " FAIL still there\n");
	return gone ? 0 : 1;
}

/* For other actions (hpsnap.c): a DIMM's insert event in any slot,
 * taken as above.  0 with its slot, base and size, or 1. */
unsigned memhp_take_any(unsigned *slot, uint64_t *base, uint64_t *size)
{
	if (mhp_wait(0x02, slot, -1) < 0) {
		say("memhp FAIL no insert event\n");
		return 1;
	}
	if (mhp_take(*slot))
		return 1;
	outl(MHP, *slot);
	*base = mhp_reg64(0x0);
	*size = mhp_reg64(0x8);
	return 0;
}

uint8_t memhp_status(unsigned slot)
{
	outl(MHP, slot);
	return inb(MHP_STATUS);
}

unsigned memhp_action(void)
{
	unsigned slot, slot2;
	say("memhp waiting\n");
	if (mhp_wait(0x02, &slot, -1) < 0) {
		say("memhp FAIL no insert event\n");
		return 1;
	}
	if (mhp_take(slot) || mhp_eject(slot))
		return 1;
	/* The freed slot takes a new DIMM (its memory slot reused); the
	 * guest ends only once that one is removed too, so the host's last
	 * queries never race the guest's exit. */
	if (mhp_wait(0x02, &slot2, (int)slot) < 0) {
		say("memhp FAIL no second insert event\n");
		return 1;
	}
	if (mhp_take(slot))
		return 1;
	return mhp_eject(slot);
}
