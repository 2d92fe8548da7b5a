/* vdriver_cpuhp.h: the CPUS AML's register protocol on a sim machine. */
#include "sim/vdriver_cpuhp.h"

#include "devices/acpi/cpu_hotplug.h"
#include "sim/sim.h"

#define PORT(off) ((uint16_t)(ACPI_CPUHP_IO_BASE + (off)))

uint8_t vdriver_cpuhp_status(struct sim *s, uint32_t sel)
{
	sim_pio_write(s, PORT(ACPI_CPUHP_SEL_OFF), 4, sel);
	return (uint8_t)sim_pio_read(s, PORT(ACPI_CPUHP_FLAGS_OFF), 1);
}

uint8_t vdriver_cpuhp_eject(struct sim *s, uint32_t sel)
{
	sim_pio_write(s, PORT(ACPI_CPUHP_SEL_OFF), 4, sel);
	sim_pio_write(s, PORT(ACPI_CPUHP_FLAGS_OFF), 1, ACPI_CPUHP_EJECT);
	return vdriver_cpuhp_status(s, sel);
}

unsigned vdriver_cpuhp_scan(struct sim *s, struct vdriver_cpuhp_event *ev,
			    unsigned max)
{
	unsigned n = 0;
	for (unsigned round = 0; round < 2 * ACPI_CPUHP_MAX; round++) {
		sim_pio_write(s, PORT(ACPI_CPUHP_CMD_OFF), 1, ACPI_CPUHP_CMD_NEXT_EVENT);
		uint8_t f = (uint8_t)sim_pio_read(s, PORT(ACPI_CPUHP_FLAGS_OFF), 1);
		uint32_t sel = (uint32_t)sim_pio_read(s, PORT(ACPI_CPUHP_DATA_OFF), 4);
		uint8_t ack = (f & ACPI_CPUHP_INSERT) ? ACPI_CPUHP_INSERT :
			      (f & ACPI_CPUHP_REMOVE) ? ACPI_CPUHP_REMOVE : 0;
		if (!ack)
			break;
		sim_pio_write(s, PORT(ACPI_CPUHP_CMD_OFF), 1, ACPI_CPUHP_CMD_ARCH_ID);
		uint32_t id = (uint32_t)sim_pio_read(s, PORT(ACPI_CPUHP_DATA_OFF), 4);
		if (n < max)
			ev[n] = (struct vdriver_cpuhp_event){ sel, id, f };
		n++;
		sim_pio_write(s, PORT(ACPI_CPUHP_FLAGS_OFF), 1, ack);
	}
	return n;
}
