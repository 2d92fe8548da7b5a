/* Multiple APIC Description Table, ACPI 6.4 §5.2.12: one Local APIC per
 * vCPU (x2APIC form for IDs past 254), the IOAPIC at LAYOUT_IOAPIC_BASE serving GSIs 0-23, and the
 * interrupt source overrides of a PC: ISA IRQ0 (the PIT) arrives on GSI 2,
 * and on q35 the SCI is level-triggered, active high (§5.2.12.5). */
#include "acpi_int.h"

uint32_t acpi_apic_id(const struct layout *l, unsigned index)
{
	(void)l;
	return index;
}

static unsigned field_bits(unsigned n)
{
	unsigned b = 0;
	while (b < 31 && (1u << b) < n)
		b++;
	return b;
}

static unsigned smp_threads(const struct cfg_smp *smp)
{
	return smp && smp->threads ? smp->threads : 1;
}

static unsigned smp_cores(const struct cfg_smp *smp)
{
	return smp && smp->cores ? smp->cores : 1;
}

unsigned acpi_apic_id_thread_bits(const struct cfg_smp *smp)
{
	return field_bits(smp_threads(smp));
}

unsigned acpi_apic_id_core_bits(const struct cfg_smp *smp)
{
	return field_bits(smp_cores(smp));
}

uint32_t acpi_apic_id_smp(const struct cfg_smp *smp, unsigned index)
{
	unsigned threads = smp_threads(smp), cores = smp_cores(smp);
	unsigned tb = acpi_apic_id_thread_bits(smp);
	unsigned cb = acpi_apic_id_core_bits(smp);
	unsigned thread = index % threads;
	unsigned core = (index / threads) % cores;
	unsigned pkg = index / (threads * cores);
	return (pkg << (tb + cb)) | (core << tb) | thread;
}

unsigned acpi_possible_cpus(const struct machine_config *cfg, unsigned nboot)
{
	unsigned n = cfg && cfg->smp.maxcpus > nboot ? cfg->smp.maxcpus : nboot;
	return n ? n : 1;
}

static void *madt_sub(uint8_t **p, uint8_t type, uint8_t len)
{
	struct acpi_madt_sub *s = (struct acpi_madt_sub *)*p;
	s->type = type;
	s->length = len;
	*p += len;
	return s;
}

uint64_t acpi_build_madt(struct acpi_builder *bld)
{
	const struct layout *l = bld->l;
	bool q35 = acpi_is_q35(bld);
	unsigned nboot = l->ncpus ? l->ncpus : 1;
	unsigned ncpus = acpi_possible_cpus(bld->cfg, nboot);
	unsigned niso = q35 ? 2 : 1;
	size_t cpus_len = 0;
	for (unsigned i = 0; i < ncpus; i++)
		cpus_len += acpi_apic_id_smp(&bld->cfg->smp, i) < 0xff ?
			    sizeof(struct acpi_madt_lapic) :
			    sizeof(struct acpi_madt_x2apic);
	size_t len = sizeof(struct acpi_madt) + cpus_len +
		     sizeof(struct acpi_madt_ioapic) +
		     niso * sizeof(struct acpi_madt_iso) +
		     sizeof(struct acpi_madt_lapic_nmi);
	uint64_t gpa = 0;
	struct acpi_madt *m = acpi_table_new(bld, "APIC", len, 5, &gpa);
	if (!m)
		return 0;
	m->lapic_address = (uint32_t)LAYOUT_LAPIC_BASE;
	/* PCAT_COMPAT: the in-kernel irqchip includes the dual 8259s, which
	 * the OS must mask when it uses the IOAPIC. */
	m->flags = 1;
	uint8_t *p = (uint8_t *)(m + 1);

	for (unsigned i = 0; i < ncpus; i++) {
		uint32_t id = acpi_apic_id_smp(&bld->cfg->smp, i);
		/* -smp maxcpus: the CPUs not there at boot are listed not
		 * enabled but Online Capable (ACPI 6.4 §5.2.12.2, Table 5.37),
		 * which a revision-5 MADT needs for Linux to count them as
		 * possible (acpi_is_processor_usable()); the CPU hot-plug
		 * interface (dsdt_cpu.c) brings them in. */
		/* A slot device_add filled stays plugged across system_reset
		 * (QEMU's too): the rebuilt MADT lists it enabled, or the
		 * guest would boot without it while its vCPU exists. */
		uint32_t flags = i < nboot || config_cpu_plugged(bld->cfg, i) ?
				 ACPI_MADT_ENABLED : ACPI_MADT_ONLINE_CAPABLE;
		/* 0xff is the xAPIC broadcast ID: it and anything above need
		 * the x2APIC form. */
		if (id < 0xff) {
			struct acpi_madt_lapic *c =
				madt_sub(&p, ACPI_MADT_LAPIC, sizeof(*c));
			c->processor_uid = (uint8_t)i;
			c->apic_id = (uint8_t)id;
			c->flags = flags;
		} else {
			struct acpi_madt_x2apic *c =
				madt_sub(&p, ACPI_MADT_X2APIC, sizeof(*c));
			c->x2apic_id = id;
			c->processor_uid = i;
			c->flags = flags;
		}
	}

	struct acpi_madt_ioapic *io = madt_sub(&p, ACPI_MADT_IOAPIC, sizeof(*io));
	io->ioapic_id = 0; /* KVM's in-kernel IOAPIC resets to ID 0 */
	io->address = (uint32_t)LAYOUT_IOAPIC_BASE;
	io->gsi_base = 0;

	struct acpi_madt_iso *iso = madt_sub(&p, ACPI_MADT_ISO, sizeof(*iso));
	iso->bus = 0;
	iso->source = 0;
	iso->gsi = 2;
	iso->flags = 0; /* conforms to the bus: ISA edge, active high */
	if (q35) {
		iso = madt_sub(&p, ACPI_MADT_ISO, sizeof(*iso));
		iso->bus = 0;
		iso->source = LAYOUT_GSI_ACPI_SCI;
		iso->gsi = LAYOUT_GSI_ACPI_SCI;
		iso->flags = ACPI_INTI_POLARITY_HIGH | ACPI_INTI_TRIGGER_LEVEL;
	}

	/* LINT1 of every processor is wired to NMI, as on a PC. */
	struct acpi_madt_lapic_nmi *nmi =
		madt_sub(&p, ACPI_MADT_LAPIC_NMI, sizeof(*nmi));
	nmi->processor_uid = 0xff;
	nmi->flags = 0;
	nmi->lint = 1;

	acpi_table_done(bld, m);
	return gpa;
}
