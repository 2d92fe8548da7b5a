/* CPUID for each vCPU (pure filtering of KVM_GET_SUPPORTED_CPUID), APIC
 * ids that agree with the MADT for any -smp shape, and the boot MSR list
 * (only MSRs the host lists). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "core/config.h"
#include "core/layout.h"
#include "devices/acpi/acpi.h"
#include "devices/acpi/acpi_spec.h"
#include "kvm/kvm_int.h"

#define F_IDX KVM_CPUID_FLAG_SIGNIFCANT_INDEX

static unsigned sup_intel(struct kvm_cpuid_entry2 *s)
{
	unsigned n = 0;
	memset(s, 0, 32 * sizeof(*s));
	s[n++] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0x1f,
		.ebx = 0x756e6547, .edx = 0x49656e69, .ecx = 0x6c65746e };
	/* leaf 1: host APIC id 0x77 and count 0x10 in EBX must be replaced */
	s[n++] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x806c1,
		.ebx = 0x77100800, .ecx = 0x7ffafbff, .edx = 0xbfebfbff };
	/* leaf 4: L1d, L2, L3, terminator; host sharing fields set */
	s[n++] = (struct kvm_cpuid_entry2){ .function = 4, .index = 0, .flags = F_IDX,
		.eax = 0xfc004121 };
	s[n++] = (struct kvm_cpuid_entry2){ .function = 4, .index = 1, .flags = F_IDX,
		.eax = 0xfc004143 };
	s[n++] = (struct kvm_cpuid_entry2){ .function = 4, .index = 2, .flags = F_IDX,
		.eax = 0xfc07c163 };
	s[n++] = (struct kvm_cpuid_entry2){ .function = 4, .index = 3, .flags = F_IDX };
	s[n++] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0, .flags = F_IDX,
		.eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x77 };
	s[n++] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1, .flags = F_IDX,
		.eax = 5, .ebx = 16, .ecx = 0x201, .edx = 0x77 };
	s[n++] = (struct kvm_cpuid_entry2){ .function = 0x1f, .index = 0, .flags = F_IDX,
		.eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x77 };
	s[n++] = (struct kvm_cpuid_entry2){ .function = 0x40000000, .eax = 0x40000001,
		.ebx = 0x4b4d564b };
	s[n++] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 0x3027,
		.ecx = 0 };
	return n;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e,
					   int n, uint32_t fn, uint32_t idx)
{
	for (int i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == idx)
			return &e[i];
	return NULL;
}

static void test_apic_ids(void **state)
{
	(void)state;
	struct kvm_topo flat = { .sockets = 4, .cores = 1, .threads = 1 };
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(kvm_topo_apic_id(&flat, i), i);
	/* 2 threads x 3 cores: core field 2 bits wide, ids leave gaps. */
	struct kvm_topo t = { .sockets = 2, .cores = 3, .threads = 2 };
	assert_int_equal(kvm_topo_thread_bits(&t), 1);
	assert_int_equal(kvm_topo_core_bits(&t), 2);
	assert_int_equal(kvm_topo_apic_id(&t, 0), 0);
	assert_int_equal(kvm_topo_apic_id(&t, 1), 1);
	assert_int_equal(kvm_topo_apic_id(&t, 2), 2);
	assert_int_equal(kvm_topo_apic_id(&t, 5), 5);
	assert_int_equal(kvm_topo_apic_id(&t, 6), 8);   /* socket 1 */
	assert_int_equal(kvm_topo_apic_id(&t, 11), 13);
	/* Zeros (unset) count as one. */
	struct kvm_topo z = { .sockets = 0, .cores = 0, .threads = 0 };
	assert_int_equal(kvm_topo_apic_id(&z, 3), 3);
}

static void test_leaf1_and_topology(void **state)
{
	(void)state;
	struct kvm_cpuid_entry2 sup[32], out[40];
	unsigned ns = sup_intel(sup);
	struct kvm_topo t = { .sockets = 1, .cores = 4, .threads = 2 };        /* 8 threads in one package */
	int n = kvm_cpuid_for_vcpu(sup, ns, out, 40, &t, 5);
	assert_true(n > 0);
	uint32_t apic = kvm_topo_apic_id(&t, 5);
	const struct kvm_cpuid_entry2 *l1 = find(out, n, 1, 0);
	assert_non_null(l1);
	assert_int_equal(l1->ebx >> 24, apic);
	assert_int_equal((l1->ebx >> 16) & 0xff, 8);
	assert_int_equal(l1->ebx & 0xffff, 0x0800);     /* CLFLUSH etc. kept */
	assert_true(l1->edx & (1u << 28));              /* HTT */
	assert_true(l1->ecx & (1u << 31));              /* hypervisor */
	assert_int_equal(l1->eax, 0x806c1);
	/* leaf 4: cores-1 in [31:26]; L1/L2 shared by the 2 threads, L3 by 8. */
	const struct kvm_cpuid_entry2 *c1 = find(out, n, 4, 0), *c3 = find(out, n, 4, 2);
	assert_int_equal(c1->eax >> 26, 3);
	assert_int_equal((c1->eax >> 14) & 0xfff, 1);
	assert_int_equal((c3->eax >> 14) & 0xfff, 7);
	assert_int_equal(c1->eax & 0x3fff, 0x0121);     /* cache type/level kept */
	assert_int_equal(find(out, n, 4, 3)->eax, 0);   /* terminator untouched */
	/* leaf 0xB regenerated: SMT, core, invalid; x2APIC id in EDX. */
	const struct kvm_cpuid_entry2 *b0 = find(out, n, 0xb, 0), *b1 = find(out, n, 0xb, 1),
		*b2 = find(out, n, 0xb, 2);
	assert_non_null(b2);
	assert_int_equal(b0->eax, 1);
	assert_int_equal(b0->ebx, 2);
	assert_int_equal(b0->ecx, 0x100);
	assert_int_equal(b1->eax, 3);
	assert_int_equal(b1->ebx, 8);
	assert_int_equal(b1->ecx, 0x201);
	assert_int_equal(b2->ecx & 0xff00, 0);
	assert_int_equal(b0->edx, apic);
	assert_int_equal(b1->edx, apic);
	assert_true(b0->flags & F_IDX);
	/* 0x1F the same way; other leaves copied as they are. */
	assert_int_equal(find(out, n, 0x1f, 1)->ebx, 8);
	assert_int_equal(find(out, n, 0x40000000, 0)->ebx, 0x4b4d564b);
	/* Intel: 0x80000008 ECX untouched. */
	assert_int_equal(find(out, n, 0x80000008, 0)->ecx, 0);
	/* No duplicates of regenerated leaves. */
	int count = 0;
	for (int i = 0; i < n; i++)
		count += out[i].function == 0xb;
	assert_int_equal(count, 3);
}

static void test_single_cpu_no_htt(void **state)
{
	(void)state;
	struct kvm_cpuid_entry2 sup[32], out[40];
	unsigned ns = sup_intel(sup);
	struct kvm_topo t = { .sockets = 1, .cores = 1, .threads = 1 };
	int n = kvm_cpuid_for_vcpu(sup, ns, out, 40, &t, 0);
	const struct kvm_cpuid_entry2 *l1 = find(out, n, 1, 0);
	assert_false(l1->edx & (1u << 28));
	assert_int_equal(l1->ebx >> 24, 0);
	assert_int_equal((l1->ebx >> 16) & 0xff, 1);
}

static void test_amd_leaves(void **state)
{
	(void)state;
	struct kvm_cpuid_entry2 sup[32], out[40];
	unsigned ns = sup_intel(sup);
	sup[0].ebx = 0x68747541;                     /* "Auth" enticAMD */
	sup[ns++] = (struct kvm_cpuid_entry2){ .function = 0x8000001e, .eax = 0x77,
		.ebx = 0x1ff, .ecx = 0x303 };
	struct kvm_topo t = { .sockets = 2, .cores = 2, .threads = 2 };
	int n = kvm_cpuid_for_vcpu(sup, ns, out, 40, &t, 7);
	const struct kvm_cpuid_entry2 *x8 = find(out, n, 0x80000008, 0);
	assert_int_equal(x8->ecx & 0xff, 3);         /* 4 threads per package - 1 */
	assert_int_equal((x8->ecx >> 12) & 0xf, 2);
	const struct kvm_cpuid_entry2 *x1e = find(out, n, 0x8000001e, 0);
	assert_int_equal(x1e->eax, kvm_topo_apic_id(&t, 7));
	assert_int_equal((x1e->ebx >> 8) & 0xff, 1);
	assert_int_equal(x1e->ebx & 0xff, 1);        /* core 1 of its package */
	assert_int_equal(x1e->ecx, 0);
}

/* -cpu host,pmu=off: leaf 0xA (Intel SDM vol. 2A: version 0 = no
 * architectural PMU), PDCM in leaf 1, AMD's PerfCtrExt* bits and leaf
 * 0x80000022 say there is no PMU; everything else stays as KVM gave it.
 * With the PMU on (the default) the host's values pass through. */
static void test_pmu_off(void **state)
{
	(void)state;
	struct kvm_cpuid_entry2 sup[32], out[40];
	unsigned ns = sup_intel(sup);
	sup[ns++] = (struct kvm_cpuid_entry2){ .function = 0xa, .eax = 0x07300805,
		.ebx = 0, .ecx = 0, .edx = 0x8603 };
	sup[ns++] = (struct kvm_cpuid_entry2){ .function = 0x80000001,
		.ecx = 0x00400121 | (1u << 23) | (1u << 24) | (1u << 28),
		.edx = 0x2c100800 };
	sup[ns++] = (struct kvm_cpuid_entry2){ .function = 0x80000022, .eax = 1,
		.ebx = 0x56 };
	sup[1].ecx |= 1u << 15;                      /* PDCM */

	struct kvm_topo on = { .sockets = 1, .cores = 1, .threads = 1 };
	int n = kvm_cpuid_for_vcpu(sup, ns, out, 40, &on, 0);
	assert_int_equal(find(out, n, 0xa, 0)->eax, 0x07300805);
	assert_true(find(out, n, 1, 0)->ecx & (1u << 15));
	assert_true(find(out, n, 0x80000001, 0)->ecx & (1u << 23));
	assert_int_equal(find(out, n, 0x80000022, 0)->eax, 1);

	struct kvm_topo off = on;
	off.no_pmu = true;
	n = kvm_cpuid_for_vcpu(sup, ns, out, 40, &off, 0);
	const struct kvm_cpuid_entry2 *a = find(out, n, 0xa, 0);
	assert_non_null(a);
	assert_int_equal(a->eax, 0);                 /* version 0: no PMU */
	assert_int_equal(a->edx, 0);
	const struct kvm_cpuid_entry2 *l1 = find(out, n, 1, 0);
	assert_false(l1->ecx & (1u << 15));
	assert_int_equal(l1->ecx | (1u << 15), sup[1].ecx | (1u << 31));
	const struct kvm_cpuid_entry2 *x1 = find(out, n, 0x80000001, 0);
	assert_int_equal(x1->ecx, 0x00400121);       /* only the PMU bits go */
	assert_int_equal(x1->edx, 0x2c100800);
	const struct kvm_cpuid_entry2 *x22 = find(out, n, 0x80000022, 0);
	assert_int_equal(x22->eax | x22->ebx | x22->ecx | x22->edx, 0);
}

/* What the KVM backend hands its vCPUs: kvm_machine's topology from the
 * parsed command line carries pmu=off down to the table. */
static void test_pmu_off_from_cmdline(void **state)
{
	(void)state;
	struct machine_config cfg;
	char err[256];
	char *argv[] = { "vmm", "-cpu", "host,pmu=off", NULL };
	assert_int_equal(config_parse(&cfg, 3, argv, err, sizeof(err)), 0);
	assert_false(cfg.cpu_pmu);
	char *argv2[] = { "vmm", "-cpu", "host", NULL };
	assert_int_equal(config_parse(&cfg, 3, argv2, err, sizeof(err)), 0);
	assert_true(cfg.cpu_pmu);
}

/* The MADT's Local APIC / x2APIC ids, by processor uid, from the tables
 * the machine would get (ACPI 6.4 §5.2.12.2, §5.2.12.12). */
static unsigned madt_ids(const struct machine_config *cfg, const struct layout *l,
			 uint32_t *ids, unsigned max)
{
	struct acpi_blob b;
	assert_int_equal(acpi_blob_build(&b, cfg, l, LAYOUT_ACPI_BASE,
					 LAYOUT_ACPI_SIZE, NULL), 0);
	const struct acpi_table_ref *t = acpi_blob_find(&b, "APIC");
	assert_non_null(t);
	const uint8_t *p = b.data + t->off + sizeof(struct acpi_madt);
	const uint8_t *end = b.data + t->off + t->len;
	unsigned n = 0;
	while (p < end) {
		const struct acpi_madt_sub *sub = (const void *)p;
		assert_true(sub->length >= 2);
		if (sub->type == ACPI_MADT_LAPIC) {
			const struct acpi_madt_lapic *c = (const void *)p;
			assert_int_equal(c->processor_uid, n);
			assert_true(n < max);
			ids[n++] = c->apic_id;
		} else if (sub->type == ACPI_MADT_X2APIC) {
			const struct acpi_madt_x2apic *c = (const void *)p;
			assert_int_equal(c->processor_uid, n);
			assert_true(n < max);
			ids[n++] = c->x2apic_id;
		}
		p += sub->length;
	}
	acpi_blob_free(&b);
	return n;
}

/* One formula for the MADT, the vCPU (its KVM id, hence its LAPIC id) and
 * every CPUID leaf that reports an APIC id or field width: for shapes
 * whose levels are not powers of two the ids are sparse, and a dense
 * numbering anywhere would make Linux's SMP bring-up and topology
 * detection disagree with ACPI. */
static void test_apic_ids_agree_with_madt(void **state)
{
	(void)state;
	static const struct {
		const char *smp;
		unsigned n;
		uint32_t want[8];
		unsigned tb, cb;
	} shapes[] = {
		{ "6,sockets=2,cores=3", 6, { 0, 1, 2, 4, 5, 6 }, 0, 2 },
		{ "4,threads=2", 4, { 0, 1, 2, 3 }, 1, 1 },
		{ "6,sockets=1,cores=3,threads=2", 6, { 0, 1, 2, 3, 4, 5 }, 1, 2 },
		{ "6,sockets=3,cores=1,threads=2", 6, { 0, 1, 2, 3, 4, 5 }, 1, 0 },
		{ "8,sockets=2,cores=2,threads=2", 8, { 0, 1, 2, 3, 4, 5, 6, 7 }, 1, 1 },
		{ "3", 3, { 0, 1, 2 }, 0, 2 },
		/* The MADT lists every maxcpus slot (those not there at boot
		 * Online Capable): a hot-plugged vCPU gets the same id. */
		{ "4,maxcpus=6,sockets=2,cores=3", 6, { 0, 1, 2, 4, 5, 6 }, 0, 2 },
	};
	struct kvm_cpuid_entry2 sup[32], out[40];
	unsigned ns = sup_intel(sup);
	for (unsigned s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		struct machine_config *cfg = calloc(1, sizeof(*cfg));
		char smp[64], err[256];
		snprintf(smp, sizeof(smp), "%s", shapes[s].smp);
		char *argv[] = { "vmm", "-machine", "microvm", "-smp", smp, NULL };
		assert_int_equal(config_parse(cfg, 5, argv, err, sizeof(err)), 0);
		struct layout l;
		assert_int_equal(layout_build(&l, cfg, err, sizeof(err)), 0);
		uint32_t madt[CFG_MAX_CPUS];
		unsigned nm = madt_ids(cfg, &l, madt, CFG_MAX_CPUS);
		assert_int_equal(nm, shapes[s].n);
		/* What kvm_machine.c passes to kvm_cpus_create. */
		struct kvm_topo t = { .sockets = cfg->smp.sockets,
				      .cores = cfg->smp.cores,
				      .threads = cfg->smp.threads };
		assert_int_equal(kvm_topo_thread_bits(&t), shapes[s].tb);
		assert_int_equal(kvm_topo_core_bits(&t), shapes[s].cb);
		for (unsigned i = 0; i < nm; i++) {
			uint32_t id = kvm_topo_apic_id(&t, i);
			assert_int_equal(id, shapes[s].want[i]);
			assert_int_equal(madt[i], id);
			assert_int_equal(acpi_apic_id_smp(&cfg->smp, i), id);
			int n = kvm_cpuid_for_vcpu(sup, ns, out, 40, &t, i);
			assert_true(n > 0);
			assert_int_equal(find(out, n, 1, 0)->ebx >> 24, id);
			assert_int_equal(find(out, n, 0xb, 0)->edx, id);
			assert_int_equal(find(out, n, 0xb, 1)->edx, id);
			assert_int_equal(find(out, n, 0x1f, 0)->edx, id);
			/* Shift counts: SMT level, then core level. */
			assert_int_equal(find(out, n, 0xb, 0)->eax, shapes[s].tb);
			assert_int_equal(find(out, n, 0xb, 1)->eax,
					 shapes[s].tb + shapes[s].cb);
			/* The id's package field is what the shifts leave. */
			assert_int_equal(id >> (shapes[s].tb + shapes[s].cb),
					 i / (cfg->smp.threads * cfg->smp.cores));
		}
		/* Ids are distinct. */
		for (unsigned i = 0; i < nm; i++)
			for (unsigned j = i + 1; j < nm; j++)
				assert_int_not_equal(madt[i], madt[j]);
		free(cfg);
	}
}

static void test_no_room(void **state)
{
	(void)state;
	struct kvm_cpuid_entry2 sup[32], out[40];
	unsigned ns = sup_intel(sup);
	struct kvm_topo t = { .sockets = 1, .cores = 1, .threads = 1 };
	assert_int_equal(kvm_cpuid_for_vcpu(sup, ns, out, 3, &t, 0), -ENOSPC);
	assert_int_equal(kvm_cpuid_for_vcpu(sup, ns, out, 0, &t, 0), -ENOSPC);
	/* Room for everything but the regenerated 0x1F levels. */
	assert_int_equal(kvm_cpuid_for_vcpu(sup, ns, out, ns + 1, &t, 0), -ENOSPC);
	assert_int_equal(kvm_cpuid_for_vcpu(sup, 0, out, 40, &t, 0), 0);
}

/* Only MSRs the host lists are set; MSR 0x10a (arch capabilities, what
 * QEMU 7.2 aborts on) is never in our list at all. */
static void test_msr_filter(void **state)
{
	(void)state;
	struct kvm_msr_entry out[32];
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + 8 * sizeof(uint32_t));
	l->nmsrs = 4;
	l->indices[0] = 0x10a;
	l->indices[1] = 0x2ff;
	l->indices[2] = 0xc0000082;
	l->indices[3] = 0x1a0;
	unsigned n = kvm_msr_boot_list(l, out, 32);
	assert_int_equal(n, 3);
	bool mtrr = false, lstar = false, misc = false;
	for (unsigned i = 0; i < n; i++) {
		assert_int_not_equal(out[i].index, 0x10a);
		if (out[i].index == 0x2ff) {
			mtrr = true;
			assert_int_equal(out[i].data, 0x806);   /* enabled, WB */
		}
		lstar |= out[i].index == 0xc0000082;
		if (out[i].index == 0x1a0) {
			misc = true;
			assert_int_equal(out[i].data, 1);
		}
	}
	assert_true(mtrr && lstar && misc);
	assert_int_equal(kvm_msr_boot_list(l, out, 1), 1);
	l->nmsrs = 0;
	assert_int_equal(kvm_msr_boot_list(l, out, 32), 0);
	assert_int_equal(kvm_msr_boot_list(NULL, out, 32), 0);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apic_ids),
		cmocka_unit_test(test_leaf1_and_topology),
		cmocka_unit_test(test_single_cpu_no_htt),
		cmocka_unit_test(test_amd_leaves),
		cmocka_unit_test(test_pmu_off),
		cmocka_unit_test(test_pmu_off_from_cmdline),
		cmocka_unit_test(test_apic_ids_agree_with_madt),
		cmocka_unit_test(test_no_room),
		cmocka_unit_test(test_msr_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
