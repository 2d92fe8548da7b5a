/* CPU hot-plug on the board: the register block (devices/acpi/
 * cpu_hotplug.c) at ACPI_CPUHP_IO_BASE when -smp maxcpus leaves room for
 * more CPUs, and on q35 the GPE0 block its event arrives through.  The
 * board knows no vCPU: the backend plugs a slot once its vCPU exists
 * (board_cpu_plug), and the guest's eject of a slot whose removal was
 * asked for goes to the backend's board_host.cpu_eject, which takes the
 * vCPU away. */
#include <errno.h>
#include "machine/board_int.h"
#include "devices/acpi/acpi.h"

static void bcpu_notify(void *opaque)
{
	struct board *b = opaque;
	acpi_pm_hotplug_event(&b->pm, ACPI_GPE_CPU_HOTPLUG, ACPI_GED_EVT_CPU_HOTPLUG);
}

static void bcpu_eject(void *opaque, unsigned index)
{
	struct board *b = opaque;
	if (b->host && b->host->cpu_eject &&
	    b->host->cpu_eject(b->host->cpu_eject_opaque, index) != 0)
		return; /* the backend keeps it: the slot stays as it is */
	acpi_cpuhp_unplugged(&b->cpuhp, index);
}

unsigned board_cpu_possible(const struct machine_config *cfg)
{
	unsigned boot = cfg->smp.cpus ? cfg->smp.cpus : 1;
	return cfg->smp.maxcpus > boot ? cfg->smp.maxcpus : boot;
}

int board_cpuhp(struct board *b, char *err, size_t errlen)
{
	const struct machine_config *cfg = b->cfg;
	unsigned boot = cfg->smp.cpus ? cfg->smp.cpus : 1;
	unsigned n = board_cpu_possible(cfg);
	if (cfg->machine.type == CFG_MACHINE_Q35 &&
	    board_register(b, b->m->pio, ACPI_GPE0_IO_BASE, ACPI_GPE0_IO_SIZE,
			   acpi_gpe_access, &b->pm, "acpi-gpe0", err, errlen) < 0)
		return -1;
	if (n <= boot)
		return 0;
	uint32_t ids[ACPI_CPUHP_MAX];
	for (unsigned i = 0; i < n && i < ACPI_CPUHP_MAX; i++)
		ids[i] = acpi_apic_id_smp(&cfg->smp, i);
	acpi_cpuhp_init(&b->cpuhp, n, ids, boot, b->m->log);
	b->cpuhp.notify = bcpu_notify;
	b->cpuhp.eject = bcpu_eject;
	b->cpuhp.opaque = b;
	b->has_cpuhp = true;
	return board_register(b, b->m->pio, ACPI_CPUHP_IO_BASE, ACPI_CPUHP_IO_SIZE,
			      acpi_cpuhp_access, &b->cpuhp, "acpi-cpuhp", err, errlen);
}

static void bcpu_call(struct board *b, int what, unsigned index, bool begin)
{
	if (b->host && b->host->call)
		b->host->call(b->host->call_opaque, what, index, begin);
}

int board_cpu_plug(struct board *b, unsigned index, bool notify)
{
	if (!b->has_cpuhp)
		return -ENODEV;
	if (notify) {
		/* Recorded: a trace replays the plug on its rebuilt board. */
		bcpu_call(b, BOARD_CALL_CPU_PLUG, index, true);
		int r = acpi_cpuhp_plug(&b->cpuhp, index);
		bcpu_call(b, BOARD_CALL_CPU_PLUG, index, false);
		return r;
	}
	/* A rebuild (reset) of a machine that had it plugged: present from
	 * the start, no event.  (A trace ends at a reset after a vCPU plug,
	 * kvm_machine_trace_spans: nothing to record.) */
	if (index >= b->cpuhp.n)
		return -ERANGE;
	b->cpuhp.slot[index].enabled = true;
	return 0;
}

int board_cpu_unplug_request(struct board *b, unsigned index)
{
	if (!b->has_cpuhp)
		return -ENODEV;
	bcpu_call(b, BOARD_CALL_CPU_UNPLUG, index, true);
	int r = acpi_cpuhp_request_unplug(&b->cpuhp, index);
	bcpu_call(b, BOARD_CALL_CPU_UNPLUG, index, false);
	return r;
}

bool board_cpu_present(const struct board *b, unsigned index)
{
	if (!b->has_cpuhp) {
		unsigned boot = b->cfg->smp.cpus ? b->cfg->smp.cpus : 1;
		return index < boot;
	}
	return acpi_cpuhp_enabled(&b->cpuhp, index);
}

bool board_cpu_unplug_pending(const struct board *b, unsigned index)
{
	return b->has_cpuhp && acpi_cpuhp_unplug_pending(&b->cpuhp, index);
}
