/* Self-test check of the ACPI hot-plug register blocks, when the machine
 * has them (-smp maxcpus > cpus: the CPU block; -m slots=: the memory
 * block), played the way the DSDT's CPUS and MHPD methods read them:
 * select a slot, read its status, ask for the APIC id (command 3) or
 * read a DIMM's base and length, report _OST.  Nothing is plugged or
 * ejected: the point is register state in mid-protocol (a selector
 * stored, a command pending, _OST half written), which the snapshot
 * equivalence test saves inside this check like any device's. */
#include "devices/acpi/acpi.h"
#include "devices/acpi/cpu_hotplug.h"
#include "devices/acpi/mem_hotplug.h"
#include "machine/board.h"
#include "sim/selftest_int.h"
#include "sim/sim.h"

/* The first hot-pluggable slot: empty, its APIC id the -smp shape's;
 * slot 0 (a boot CPU) enabled; command 0 finds no event. */
static bool st_cpuhp(struct selftest *t, unsigned boot, uint32_t *apic)
{
	struct sim *s = t->sim;
	const uint16_t b = ACPI_CPUHP_IO_BASE;
	sim_pio_write(s, b + ACPI_CPUHP_SEL_OFF, 4, boot);
	uint8_t st = (uint8_t)sim_pio_read(s, b + ACPI_CPUHP_FLAGS_OFF, 1);
	sim_pio_write(s, b + ACPI_CPUHP_CMD_OFF, 1, ACPI_CPUHP_CMD_ARCH_ID);
	*apic = (uint32_t)sim_pio_read(s, b + ACPI_CPUHP_DATA_OFF, 4);
	/* _OST: "ejection not supported" for that slot (ACPI 6.4 §6.3.5). */
	sim_pio_write(s, b + ACPI_CPUHP_CMD_OFF, 1, ACPI_CPUHP_CMD_OST_EVENT);
	sim_pio_write(s, b + ACPI_CPUHP_DATA_OFF, 4, 0x103);
	sim_pio_write(s, b + ACPI_CPUHP_CMD_OFF, 1, ACPI_CPUHP_CMD_OST_STATUS);
	sim_pio_write(s, b + ACPI_CPUHP_DATA_OFF, 4, 0x81);
	sim_pio_write(s, b + ACPI_CPUHP_SEL_OFF, 4, 0);
	uint8_t st0 = (uint8_t)sim_pio_read(s, b + ACPI_CPUHP_FLAGS_OFF, 1);
	sim_pio_write(s, b + ACPI_CPUHP_CMD_OFF, 1, ACPI_CPUHP_CMD_NEXT_EVENT);
	uint32_t next = (uint32_t)sim_pio_read(s, b + ACPI_CPUHP_DATA_OFF, 4);
	return st == 0 && st0 == ACPI_CPUHP_ENABLED && next == 0 &&
	       *apic == acpi_apic_id_smp(&t->cfg->smp, boot);
}

static uint64_t st_mem64(struct sim *s, unsigned off)
{
	return sim_pio_read(s, (uint16_t)(MEMHP_IO_BASE + off), 4) |
	       sim_pio_read(s, (uint16_t)(MEMHP_IO_BASE + off + 4), 4) << 32;
}

/* Every slot: a cold DIMM of the description enabled at its layout
 * place, the others empty; _OST written on slot 0.  The DIMM count. */
static bool st_memhp(struct selftest *t, unsigned *ndimms)
{
	struct sim *s = t->sim;
	bool ok = true;
	*ndimms = 0;
	for (unsigned slot = 0; slot < t->cfg->mem.slots && slot < MEMHP_MAX_SLOTS; slot++) {
		uint64_t want_base = 0, want_size = 0;
		for (unsigned i = 0; i < t->cfg->ndevices; i++) {
			const struct layout_dev *ld = layout_dev_for(t->l, (int)i);
			if (t->cfg->devices[i].type == CFG_DEV_PC_DIMM && ld &&
			    ld->mem_slot == (int)slot) {
				want_base = ld->pmem_base;
				want_size = ld->pmem_size;
			}
		}
		sim_pio_write(s, MEMHP_IO_BASE + MEMHP_REG_SEL, 4, slot);
		uint32_t st = (uint32_t)sim_pio_read(s, MEMHP_IO_BASE + MEMHP_REG_STATUS, 1);
		uint64_t base = st_mem64(s, MEMHP_REG_BASE_LO);
		uint64_t size = st_mem64(s, MEMHP_REG_LEN_LO);
		ok &= st == (want_size ? MEMHP_STS_ENABLED : 0u) && base == want_base &&
		      size == want_size;
		*ndimms += want_size != 0;
	}
	sim_pio_write(s, MEMHP_IO_BASE + MEMHP_REG_SEL, 4, 0);
	sim_pio_write(s, MEMHP_IO_BASE + MEMHP_REG_OST_EVENT, 4, 0x103);
	sim_pio_write(s, MEMHP_IO_BASE + MEMHP_REG_OST_STATUS, 4, 0x80);
	return ok;
}

void st_hotplug(struct selftest *t)
{
	const struct machine_config *cfg = t->cfg;
	unsigned boot = cfg->smp.cpus ? cfg->smp.cpus : 1;
	unsigned n = board_cpu_possible(cfg);
	if (n > boot) {
		uint32_t apic = 0;
		bool ok = st_cpuhp(t, boot, &apic);
		st_report(t, ok, "acpi-cpuhp: %u CPU slots, slot %u empty with APIC id %u, "
			  "slot 0 enabled, no event", n, boot, apic);
	}
	if (layout_memhp(cfg)) {
		unsigned nd = 0;
		bool ok = st_memhp(t, &nd);
		st_report(t, ok, "acpi-memhp: %u memory slots, %u DIMM%s at %s layout place%s",
			  cfg->mem.slots, nd, nd == 1 ? "" : "s", nd == 1 ? "its" : "their",
			  nd == 1 ? "" : "s");
	}
}
