/* What CPUID each vCPU sees: the host's KVM_GET_SUPPORTED_CPUID (so -cpu
 * host never advertises what KVM cannot virtualize), with the per-vCPU
 * APIC id and the topology the -smp shape describes.  Pure functions: no
 * ioctl here, so the filtering is unit-tested without /dev/kvm.
 *
 * APIC ids are built the way Intel SDM vol. 3 §9.9.1 (and AMD APM vol. 3
 * appendix E.5) describe: thread id in the low bits, then core id, then
 * package id, each field as wide as the next power of two requires.  The
 * formula is acpi_apic_id_smp()'s, the MADT's, so the ids the guest reads
 * from CPUID, from its LAPIC and from ACPI are the same numbers. */
#include <errno.h>
#include <string.h>

#include "core/config.h"
#include "devices/acpi/acpi.h"
#include "kvm/kvm_int.h"

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
/* What -cpu host,pmu=off hides (QEMU's enable_pmu=false does the same):
 * Intel SDM vol. 2A CPUID leaf 0AH (architectural performance monitoring:
 * version 0 means none) and leaf 1 ECX[15] PDCM (the PERF_CAPABILITIES
 * MSR); AMD APM vol. 3 appendix E: 80000001H ECX[23] PerfCtrExtCore,
 * [24] PerfCtrExtNB, [28] PerfCtrExtLLC (the extended counters), and
 * leaf 80000022H (PerfMonV2). */
#define CPUID_1_ECX_PDCM (1u << 15)
#define CPUID_80000001_ECX_PERF (1u << 23 | 1u << 24 | 1u << 28)

static unsigned kvm_topo_val(unsigned v)
{
	return v ? v : 1;
}

/* The shape as the ACPI builder sees it: one function computes APIC ids
 * for the MADT, the vCPUs and these leaves (devices/acpi/acpi.h). */
static struct cfg_smp kvm_topo_smp(const struct kvm_topo *t)
{
	return (struct cfg_smp){ .sockets = t->sockets, .cores = t->cores,
				 .threads = t->threads };
}

unsigned kvm_topo_thread_bits(const struct kvm_topo *t)
{
	struct cfg_smp smp = kvm_topo_smp(t);
	return acpi_apic_id_thread_bits(&smp);
}

unsigned kvm_topo_core_bits(const struct kvm_topo *t)
{
	struct cfg_smp smp = kvm_topo_smp(t);
	return acpi_apic_id_core_bits(&smp);
}

uint32_t kvm_topo_apic_id(const struct kvm_topo *t, unsigned index)
{
	struct cfg_smp smp = kvm_topo_smp(t);
	return acpi_apic_id_smp(&smp, index);
}

static bool kvm_cpuid_is_amd(const struct kvm_cpuid_entry2 *sup, unsigned nsup)
{
	for (unsigned i = 0; i < nsup; i++) {
		if (sup[i].function != 0)
			continue;
		/* "AuthenticAMD" / "HygonGenuine": EBX holds the first four. */
		return sup[i].ebx == 0x68747541u || sup[i].ebx == 0x6f677948u;
	}
	return false;
}

static struct kvm_cpuid_entry2 *kvm_cpuid_push(struct kvm_cpuid_entry2 *out,
					       unsigned max, unsigned *n)
{
	if (*n >= max)
		return NULL;
	struct kvm_cpuid_entry2 *e = &out[(*n)++];
	memset(e, 0, sizeof(*e));
	return e;
}

/* Leaf 0xB / 0x1F (Intel SDM vol. 2A CPUID "V2 extended topology"):
 * level 0 SMT, level 1 core, then an invalid level that ends the list. */
static int kvm_cpuid_ext_topo(struct kvm_cpuid_entry2 *out, unsigned max,
			      unsigned *n, uint32_t leaf,
			      const struct kvm_topo *t, uint32_t apic_id)
{
	unsigned tb = kvm_topo_thread_bits(t), cb = kvm_topo_core_bits(t);
	unsigned threads = kvm_topo_val(t->threads), cores = kvm_topo_val(t->cores);
	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *e = kvm_cpuid_push(out, max, n);
		if (!e)
			return -ENOSPC;
		e->function = leaf;
		e->index = sub;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->edx = apic_id;
		switch (sub) {
		case 0:
			e->eax = tb;
			e->ebx = threads;
			e->ecx = (1u << 8) | sub;   /* level type 1: SMT */
			break;
		case 1:
			e->eax = tb + cb;
			e->ebx = threads * cores;
			e->ecx = (2u << 8) | sub;   /* level type 2: core */
			break;
		default:
			e->ecx = sub;               /* type 0: invalid, last */
			break;
		}
	}
	return 0;
}

int kvm_cpuid_for_vcpu(const struct kvm_cpuid_entry2 *sup, unsigned nsup,
		       struct kvm_cpuid_entry2 *out, unsigned max,
		       const struct kvm_topo *t, unsigned index)
{
	uint32_t apic_id = kvm_topo_apic_id(t, index);
	unsigned tb = kvm_topo_thread_bits(t), cb = kvm_topo_core_bits(t);
	unsigned threads = kvm_topo_val(t->threads), cores = kvm_topo_val(t->cores);
	unsigned per_pkg = threads * cores;
	bool amd = kvm_cpuid_is_amd(sup, nsup);
	bool did_0b = false, did_1f = false;
	unsigned n = 0;

	for (unsigned i = 0; i < nsup; i++) {
		const struct kvm_cpuid_entry2 *s = &sup[i];
		/* Topology leaves are regenerated whole, once. */
		if (s->function == 0xb || s->function == 0x1f) {
			bool *done = s->function == 0xb ? &did_0b : &did_1f;
			if (!*done) {
				*done = true;
				if (kvm_cpuid_ext_topo(out, max, &n, s->function,
						       t, apic_id) < 0)
					return -ENOSPC;
			}
			continue;
		}
		struct kvm_cpuid_entry2 *e = kvm_cpuid_push(out, max, &n);
		if (!e)
			return -ENOSPC;
		*e = *s;
		switch (s->function) {
		case 1:
			/* EBX[31:24] initial APIC id, [23:16] addressable
			 * logical processor ids per package. */
			e->ebx = (e->ebx & 0xffffu) | (apic_id << 24) |
				 ((1u << (tb + cb)) << 16);
			if (per_pkg > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (t->no_pmu)
				e->ecx &= ~CPUID_1_ECX_PDCM;
			break;
		case 0xa:
		case 0x80000022:
			if (t->no_pmu)
				e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0x80000001:
			if (t->no_pmu)
				e->ecx &= ~CPUID_80000001_ECX_PERF;
			break;
		case 4: {
			/* Deterministic cache parameters: EAX[31:26] cores per
			 * package - 1, EAX[25:14] ids sharing this cache - 1
			 * (threads of a core for L1/L2, the package for L3). */
			if ((e->eax & 0x1f) == 0)
				break;      /* no more caches */
			unsigned level = (e->eax >> 5) & 7;
			unsigned share = level >= 3 ? (1u << (tb + cb)) : (1u << tb);
			e->eax &= 0x3fffu;
			e->eax |= (((1u << cb) - 1) & 0x3f) << 26;
			e->eax |= ((share - 1) & 0xfff) << 14;
			break;
		}
		case 0x80000008:
			/* AMD: ECX[7:0] threads per package - 1, [15:12] APIC
			 * id bits for them. Reserved on Intel. */
			if (amd) {
				e->ecx &= ~0xf0ffu;
				e->ecx |= ((per_pkg - 1) & 0xff) | ((tb + cb) << 12);
			}
			break;
		case 0x8000001e:
			/* AMD extended APIC id, core id (threads per core - 1
			 * in EBX[15:8]), one node per package. */
			e->eax = apic_id;
			e->ebx = ((threads - 1) << 8) |
				 ((index / threads) % cores);
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
	return (int)n;
}
