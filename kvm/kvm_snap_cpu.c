/* One vCPU's KVM state in a snapshot (kvm/kvm_snapshot.h).
 *
 * The kernel's own structures go into the stream as byte fields of their
 * exact size (linux/kvm.h is a stable ABI on x86_64), so a stream from a
 * kernel with a different layout is refused by size instead of misread.
 * Restore order follows what KVM needs (QEMU's kvm_arch_put_registers
 * does the same): registers, FPU/XSAVE, XCRs, special registers (APIC base
 * and EFER before anything that depends on them), the LAPIC, MSRs (the
 * TSC first, so TSC_DEADLINE is relative to the restored TSC), MP state,
 * pending events (after MP state: an INIT/SIPI latch lives there), debug
 * registers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/log.h"
#include "core/snapshot.h"
#include "kvm/kvm_int.h"
#include "kvm/kvm_snapshot.h"

#define KVM_SNAP_CPU_VERSION 1
#define MSR_IA32_TSC 0x10
#define MSR_IA32_APICBASE_X2APIC (1ull << 10)
#define APIC_REG_ID 0x20
#define KVM_SNAP_EVENT_FLAGS                                              \
	(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR | \
	 KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM |             \
	 KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
/* A TSC rate beyond any CPU's (100 GHz): a hostile value. */
#define KVM_SNAP_MAX_TSC_KHZ 100000000u

static int kvm_cap(const struct kvm_sys *sys, long cap)
{
	int r = ioctl(sys->fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

/* The XSAVE area this host's KVM uses: 4096 bytes (struct kvm_xsave), or
 * more with KVM_CAP_XSAVE2 (AMX state); 0 without XSAVE. */
static size_t kvm_snap_xsave_size(const struct kvm_sys *sys)
{
	if (!kvm_cap(sys, KVM_CAP_XSAVE))
		return 0;
	int n2 = kvm_cap(sys, KVM_CAP_XSAVE2);
	return n2 > (int)sizeof(struct kvm_xsave) ? (size_t)n2 : sizeof(struct kvm_xsave);
}

unsigned kvm_snap_msr_filter(const uint32_t *listed, unsigned n, uint32_t *out,
			     unsigned max)
{
	unsigned k = 0;
	/* The TSC first: KVM computes the TSC offset from it, and
	 * TSC_DEADLINE (like the LAPIC timer) is relative to it. */
	for (unsigned i = 0; i < n && k < max; i++)
		if (listed[i] == MSR_IA32_TSC) {
			out[k++] = MSR_IA32_TSC;
			break;
		}
	for (unsigned i = 0; i < n && k < max; i++) {
		uint32_t m = listed[i];
		/* x2APIC registers are the LAPIC state (KVM_GET_LAPIC). */
		if (m == MSR_IA32_TSC || (m >= 0x800 && m <= 0x8ff))
			continue;
		bool dup = false;
		for (unsigned j = 0; j < k && !dup; j++)
			dup = out[j] == m;
		if (!dup)
			out[k++] = m;
	}
	return k;
}

/* KVM_GET_MSRS / KVM_SET_MSRS stop at the first MSR they refuse and
 * return how many they did: skip that one and go on (an MSR listed by the
 * host but not enabled for this vCPU's CPUID, such as PMU counters when
 * the PMU is off).  Returns how many entries were kept at the front of e
 * (get: the readable ones, compacted; set: the count set). */
static unsigned kvm_snap_msrs_io(int fd, unsigned long req,
				 struct kvm_msr_entry *e, unsigned n,
				 struct log *log)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(*e));
	if (!m)
		return 0;
	unsigned done = 0, start = 0;
	while (start < n) {
		m->nmsrs = n - start;
		memcpy(m->entries, &e[start], (n - start) * sizeof(*e));
		int r = ioctl(fd, req, m);
		if (r < 0)
			break;
		/* Keep what went through (reads: with their values). */
		memmove(&e[done], m->entries, (size_t)r * sizeof(*e));
		done += (unsigned)r;
		start += (unsigned)r;
		if (start < n) {
			if (req == KVM_SET_MSRS)
				log_warn(log, "kvm: restore: host refused MSR 0x%x; "
					 "left at its reset value", e[start].index);
			start++;
		}
	}
	free(m);
	return done;
}

int kvm_snap_cpu_save(int fd, const struct kvm_sys *sys, unsigned index,
		      uint32_t apic_id, struct snap_w *w, char *err,
		      size_t errlen)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_debugregs dr;
	const char *what = NULL;
	size_t xs = kvm_snap_xsave_size(sys);
	void *xsave = xs ? calloc(1, xs) : NULL;
	unsigned nlisted = sys->msrs ? sys->msrs->nmsrs : 0;
	uint32_t *idx = calloc(nlisted + 1, sizeof(*idx));
	struct kvm_msr_entry *msrs = calloc(nlisted + 1, sizeof(*msrs));
	bool has_xcrs = kvm_cap(sys, KVM_CAP_XCRS) > 0;
	bool has_dr = kvm_cap(sys, KVM_CAP_DEBUGREGS) > 0;
	memset(&xcrs, 0, sizeof(xcrs));
	memset(&dr, 0, sizeof(dr));
	memset(&fpu, 0, sizeof(fpu));
	if ((xs && !xsave) || !idx || !msrs)
		what = "out of memory";
	else if (ioctl(fd, KVM_GET_REGS, &regs) < 0)
		what = "KVM_GET_REGS";
	else if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		what = "KVM_GET_SREGS";
	else if (xs && ioctl(fd, xs > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 :
			     KVM_GET_XSAVE, xsave) < 0)
		what = "KVM_GET_XSAVE";
	else if (!xs && ioctl(fd, KVM_GET_FPU, &fpu) < 0)
		what = "KVM_GET_FPU";
	else if (has_xcrs && ioctl(fd, KVM_GET_XCRS, &xcrs) < 0)
		what = "KVM_GET_XCRS";
	else if (ioctl(fd, KVM_GET_LAPIC, &lapic) < 0)
		what = "KVM_GET_LAPIC";
	else if (ioctl(fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		what = "KVM_GET_VCPU_EVENTS";
	else if (ioctl(fd, KVM_GET_MP_STATE, &mp) < 0)
		what = "KVM_GET_MP_STATE";
	else if (has_dr && ioctl(fd, KVM_GET_DEBUGREGS, &dr) < 0)
		what = "KVM_GET_DEBUGREGS";
	if (what) {
		snprintf(err, errlen, "vmm: saving vCPU %u: %s%s%s", index, what,
			 strcmp(what, "out of memory") ? ": " : "",
			 strcmp(what, "out of memory") ? strerror(errno) : "");
		free(xsave);
		free(idx);
		free(msrs);
		return -EIO;
	}
	unsigned n = kvm_snap_msr_filter(sys->msrs ? sys->msrs->indices : NULL,
					 nlisted, idx, nlisted);
	for (unsigned i = 0; i < n; i++)
		msrs[i].index = idx[i];
	n = kvm_snap_msrs_io(fd, KVM_GET_MSRS, msrs, n, NULL);
	int khz = ioctl(fd, KVM_GET_TSC_KHZ, 0);

	snap_w_begin(w, KVM_SNAP_CPU_SECTION, KVM_SNAP_CPU_VERSION);
	snap_w_u32(w, "index", index);
	snap_w_u32(w, "apic_id", apic_id);
	snap_w_bytes(w, "regs", &regs, sizeof(regs));
	snap_w_bytes(w, "sregs", &sregs, sizeof(sregs));
	snap_w_u32(w, "xsave_size", (uint32_t)xs);
	if (xs)
		snap_w_bytes(w, "xsave", xsave, xs);
	else
		snap_w_bytes(w, "fpu", &fpu, sizeof(fpu));
	snap_w_u8(w, "has_xcrs", has_xcrs);
	if (has_xcrs)
		snap_w_bytes(w, "xcrs", &xcrs, sizeof(xcrs));
	snap_w_bytes(w, "lapic", &lapic, sizeof(lapic));
	snap_w_u32(w, "nmsrs", n);
	snap_w_bytes(w, "msrs", msrs, n * sizeof(*msrs));
	snap_w_u32(w, "mp_state", mp.mp_state);
	snap_w_bytes(w, "events", &ev, sizeof(ev));
	snap_w_u8(w, "has_debugregs", has_dr);
	if (has_dr)
		snap_w_bytes(w, "debugregs", &dr, sizeof(dr));
	snap_w_u32(w, "tsc_khz", khz > 0 ? (uint32_t)khz : 0);
	snap_w_end(w);
	free(xsave);
	free(idx);
	free(msrs);
	return 0;
}

static bool kvm_snap_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The checks on what the stream says, before anything reaches KVM. */
static void kvm_snap_check_cpu(struct snap_r *r, const struct kvm_sys *sys,
			       const struct kvm_sregs *sregs,
			       const struct kvm_lapic_state *lapic,
			       uint32_t apic_id, const struct kvm_msr_entry *msrs,
			       unsigned n, uint32_t mp, const struct kvm_vcpu_events *ev)
{
	/* The APIC id register: bits 31:24 in xAPIC mode, the whole
	 * register in x2APIC mode (SDM vol. 3 §11.4.6, §11.12.5.1). */
	uint32_t id;
	memcpy(&id, &lapic->regs[APIC_REG_ID], 4);
	if (!(sregs->apic_base & MSR_IA32_APICBASE_X2APIC))
		id >>= 24;
	snap_r_check(r, id == apic_id, "lapic", "APIC id register differs from "
		     "the vCPU's APIC id");
	for (unsigned i = 0; i < n; i++) {
		if (!kvm_sys_msr_supported(sys, msrs[i].index) || msrs[i].reserved ||
		    (msrs[i].index >= 0x800 && msrs[i].index <= 0x8ff)) {
			snap_r_check(r, false, "msrs", "an MSR this host's KVM does "
				     "not list for saving, or a reserved field set");
			break;
		}
	}
	snap_r_check(r, mp <= KVM_MP_STATE_SIPI_RECEIVED, "mp_state",
		     "not an x86 MP state");
	snap_r_check(r, !(ev->flags & ~(uint32_t)KVM_SNAP_EVENT_FLAGS), "events",
		     "unknown flags");
	snap_r_check(r, ev->exception.nr < 32 && ev->exception.injected <= 1 &&
		     ev->exception.pending <= 1 && ev->exception.has_error_code <= 1 &&
		     ev->interrupt.injected <= 1 && ev->interrupt.soft <= 1 &&
		     ev->nmi.injected <= 1 && ev->nmi.pending <= 1 &&
		     ev->nmi.masked <= 1 && ev->nmi.pad == 0 &&
		     ev->sipi_vector <= 0xff && ev->smi.smm <= 1 &&
		     ev->smi.pending <= 1 && ev->smi.smm_inside_nmi <= 1 &&
		     ev->smi.latched_init <= 1 && ev->triple_fault.pending <= 1 &&
		     ev->exception_has_payload <= 1 &&
		     kvm_snap_zero(ev->reserved, sizeof(ev->reserved)),
		     "events", "a field out of its range");
}

static int kvm_snap_refused(struct snap_r *r, const char *field, const char *ioc)
{
	char why[96];
	snprintf(why, sizeof(why), "%s refused it: %s", ioc, strerror(errno));
	snap_r_check(r, false, field, why);
	return -EINVAL;
}

int kvm_snap_cpu_load(int fd, const struct kvm_sys *sys, unsigned index,
		      uint32_t apic_id, struct snap_r *r, struct log *log)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	struct kvm_debugregs dr;
	uint32_t v_index = 0, v_apic = 0, xs = 0, n = 0, mp = 0, khz = 0, ver;
	uint8_t has_xcrs = 0, has_dr = 0;
	size_t host_xs = kvm_snap_xsave_size(sys);
	void *xsave = NULL;
	struct kvm_msr_entry *msrs = NULL;
	int rc = -EINVAL;

	snap_r_begin(r, KVM_SNAP_CPU_SECTION, KVM_SNAP_CPU_VERSION, &ver);
	snap_r_u32(r, "index", &v_index);
	snap_r_u32(r, "apic_id", &v_apic);
	if (snap_r_failed(r))
		goto out;
	if (snap_r_check(r, v_index == index, "index", "vCPUs out of order") < 0 ||
	    snap_r_check(r, v_apic == apic_id, "apic_id", "differs from this "
			 "vCPU's (another -smp shape?)") < 0)
		goto out;
	snap_r_bytes(r, "regs", &regs, sizeof(regs));
	snap_r_bytes(r, "sregs", &sregs, sizeof(sregs));
	if (snap_r_u32(r, "xsave_size", &xs) < 0)
		goto out;
	if (xs) {
		if (snap_r_check(r, xs == host_xs, "xsave_size", "not the XSAVE "
				 "area size this host's KVM uses") < 0)
			goto out;
		xsave = calloc(1, xs);
		if (!xsave) {
			rc = -ENOMEM;
			goto out;
		}
		snap_r_bytes(r, "xsave", xsave, xs);
	} else {
		snap_r_bytes(r, "fpu", &fpu, sizeof(fpu));
	}
	snap_r_u8(r, "has_xcrs", &has_xcrs);
	if (snap_r_failed(r) || snap_r_check(r, has_xcrs <= 1, "has_xcrs", "not 0 or 1") < 0)
		goto out;
	if (has_xcrs) {
		snap_r_bytes(r, "xcrs", &xcrs, sizeof(xcrs));
		if (snap_r_failed(r) ||
		    snap_r_check(r, xcrs.nr_xcrs <= KVM_MAX_XCRS && xcrs.flags == 0 &&
				 kvm_snap_zero(xcrs.padding, sizeof(xcrs.padding)),
				 "xcrs", "count beyond KVM_MAX_XCRS or flags set") < 0)
			goto out;
	}
	snap_r_bytes(r, "lapic", &lapic, sizeof(lapic));
	if (snap_r_u32(r, "nmsrs", &n) < 0 ||
	    snap_r_check(r, n <= KVM_SNAP_MAX_MSRS, "nmsrs", "too many MSRs") < 0)
		goto out;
	msrs = calloc(n + 1, sizeof(*msrs));
	if (!msrs) {
		rc = -ENOMEM;
		goto out;
	}
	snap_r_bytes(r, "msrs", msrs, n * sizeof(*msrs));
	snap_r_u32(r, "mp_state", &mp);
	snap_r_bytes(r, "events", &ev, sizeof(ev));
	snap_r_u8(r, "has_debugregs", &has_dr);
	if (snap_r_failed(r) || snap_r_check(r, has_dr <= 1, "has_debugregs", "not 0 or 1") < 0)
		goto out;
	if (has_dr) {
		snap_r_bytes(r, "debugregs", &dr, sizeof(dr));
		if (snap_r_failed(r) ||
		    snap_r_check(r, dr.flags == 0 && kvm_snap_zero(dr.reserved,
				 sizeof(dr.reserved)), "debugregs",
				 "flags or reserved fields set") < 0)
			goto out;
	}
	snap_r_u32(r, "tsc_khz", &khz);
	if (snap_r_failed(r) ||
	    snap_r_check(r, khz <= KVM_SNAP_MAX_TSC_KHZ, "tsc_khz", "beyond 100 GHz") < 0)
		goto out;
	kvm_snap_check_cpu(r, sys, &sregs, &lapic, apic_id, msrs, n, mp, &ev);
	if (snap_r_failed(r))
		goto out;

	/* The TSC rate first: the TSC MSR below is counted in it.  Without
	 * TSC scaling (KVM_CAP_TSC_CONTROL) a different host rate cannot be
	 * given to the guest; it then sees time at this host's rate, as
	 * QEMU does without invtsc. */
	int host_khz = ioctl(fd, KVM_GET_TSC_KHZ, 0);
	if (khz && host_khz > 0 && (uint32_t)host_khz != khz &&
	    ioctl(fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0)
		log_warn(log, "kvm: restore: the guest's TSC ran at %u kHz, this host's "
			 "at %d kHz, and KVM cannot scale it (%s)", khz, host_khz,
			 strerror(errno));
	if (ioctl(fd, KVM_SET_REGS, &regs) < 0) {
		rc = kvm_snap_refused(r, "regs", "KVM_SET_REGS");
		goto out;
	}
	if (xs && ioctl(fd, KVM_SET_XSAVE, xsave) < 0) {
		rc = kvm_snap_refused(r, "xsave", "KVM_SET_XSAVE");
		goto out;
	}
	if (!xs && ioctl(fd, KVM_SET_FPU, &fpu) < 0) {
		rc = kvm_snap_refused(r, "fpu", "KVM_SET_FPU");
		goto out;
	}
	if (has_xcrs && kvm_cap(sys, KVM_CAP_XCRS) && ioctl(fd, KVM_SET_XCRS, &xcrs) < 0) {
		rc = kvm_snap_refused(r, "xcrs", "KVM_SET_XCRS");
		goto out;
	}
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0) {
		rc = kvm_snap_refused(r, "sregs", "KVM_SET_SREGS");
		goto out;
	}
	if (ioctl(fd, KVM_SET_LAPIC, &lapic) < 0) {
		rc = kvm_snap_refused(r, "lapic", "KVM_SET_LAPIC");
		goto out;
	}
	kvm_snap_msrs_io(fd, KVM_SET_MSRS, msrs, n, log);
	struct kvm_mp_state mps = { .mp_state = mp };
	if (ioctl(fd, KVM_SET_MP_STATE, &mps) < 0) {
		rc = kvm_snap_refused(r, "mp_state", "KVM_SET_MP_STATE");
		goto out;
	}
	/* NMI and SIPI fields are meaningful in every saved state. */
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	if (ioctl(fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
		rc = kvm_snap_refused(r, "events", "KVM_SET_VCPU_EVENTS");
		goto out;
	}
	if (has_dr && kvm_cap(sys, KVM_CAP_DEBUGREGS) &&
	    ioctl(fd, KVM_SET_DEBUGREGS, &dr) < 0) {
		rc = kvm_snap_refused(r, "debugregs", "KVM_SET_DEBUGREGS");
		goto out;
	}
	rc = snap_r_end(r);
out:
	free(xsave);
	free(msrs);
	if (rc == 0 && snap_r_failed(r))
		rc = -EINVAL;
	return rc;
}
