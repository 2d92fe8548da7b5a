/* The sim guest driver's side of vCPU hot-plug: what the DSDT's CPUS
 * methods (devices/acpi/dsdt_cpu.c) do over QEMU's modern CPU hot-plug
 * registers, as port I/O on a simulated machine, so unit tests can play
 * the guest without a CPU: CSCN's scan (command 0 until no CPU has an
 * event, acknowledging each), _STA, _EJ0. */
#ifndef VMM_SIM_VDRIVER_CPUHP_H
#define VMM_SIM_VDRIVER_CPUHP_H

#include <stdint.h>

struct sim;

struct vdriver_cpuhp_event {
	uint32_t sel;      /* CPU selector (slot) */
	uint32_t apic_id;  /* command 3 */
	uint8_t flags;     /* status as read: enabled/insert/remove */
};

/* One CSCN pass: every CPU with an insert or remove event, each
 * acknowledged as the AML does after its Notify.  Returns how many (at
 * most max are stored; the scan is bounded by 2 * 256 rounds). */
unsigned vdriver_cpuhp_scan(struct sim *s, struct vdriver_cpuhp_event *ev,
			    unsigned max);
/* _STA's view of slot sel: the status byte. */
uint8_t vdriver_cpuhp_status(struct sim *s, uint32_t sel);
/* _EJ0 of slot sel; returns the status read afterwards. */
uint8_t vdriver_cpuhp_eject(struct sim *s, uint32_t sel);

#endif
