/* Boot-time MSR values.  Only MSRs in KVM_GET_MSR_INDEX_LIST are ever
 * written, and one the host still refuses is logged and skipped: QEMU 7.2
 * aborts on a rejected MSR (0x10a on this project's hosts); we must not. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/log.h"
#include "kvm/kvm_int.h"

struct kvm_msr_init {
	uint32_t index;
	uint64_t value;
};

/* Intel SDM vol. 3 §10.1 (state after reset) plus what firmware leaves
 * before handing over to a kernel, since there is no firmware here. */
static const struct kvm_msr_init kvm_msr_boot[] = {
	{ 0x00000174, 0 },          /* IA32_SYSENTER_CS */
	{ 0x00000175, 0 },          /* IA32_SYSENTER_ESP */
	{ 0x00000176, 0 },          /* IA32_SYSENTER_EIP */
	{ 0xc0000081, 0 },          /* STAR */
	{ 0xc0000082, 0 },          /* LSTAR */
	{ 0xc0000083, 0 },          /* CSTAR */
	{ 0xc0000084, 0 },          /* SFMASK */
	{ 0xc0000102, 0 },          /* KERNEL_GS_BASE */
	{ 0x00000010, 0 },          /* IA32_TSC */
	/* IA32_MISC_ENABLE bit 0: fast-string operations, as BIOSes set. */
	{ 0x000001a0, 1 },
	/* IA32_MTRR_DEF_TYPE: MTRRs enabled (bit 11), default type
	 * write-back (6); without it Linux maps all RAM uncached. */
	{ 0x000002ff, (1u << 11) | 6 },
};

static bool kvm_msr_in(const struct kvm_msr_list *l, uint32_t index)
{
	for (unsigned i = 0; l && i < l->nmsrs; i++)
		if (l->indices[i] == index)
			return true;
	return false;
}

unsigned kvm_msr_boot_list(const struct kvm_msr_list *supported,
			   struct kvm_msr_entry *out, unsigned max)
{
	unsigned n = 0;
	for (size_t i = 0; i < sizeof(kvm_msr_boot) / sizeof(kvm_msr_boot[0]); i++) {
		if (n >= max)
			break;
		if (!kvm_msr_in(supported, kvm_msr_boot[i].index))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].index = kvm_msr_boot[i].index;
		out[n].data = kvm_msr_boot[i].value;
		n++;
	}
	return n;
}

int kvm_msr_setup(int vcpu_fd, const struct kvm_msr_list *supported,
		  struct log *log)
{
	enum { MAX = sizeof(kvm_msr_boot) / sizeof(kvm_msr_boot[0]) };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MAX];
	} buf;
	memset(&buf, 0, sizeof(buf));
	unsigned n = kvm_msr_boot_list(supported, buf.e, MAX);
	unsigned set = 0, start = 0;
	/* KVM_SET_MSRS stops at the first MSR it refuses and returns how many
	 * it set before it: skip that one and carry on with the rest. */
	while (start < n) {
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e[MAX];
		} part;
		memset(&part, 0, sizeof(part));
		part.hdr.nmsrs = n - start;
		memcpy(part.e, &buf.e[start], (n - start) * sizeof(part.e[0]));
		int r = ioctl(vcpu_fd, KVM_SET_MSRS, &part);
		if (r < 0) {
			log_warn(log, "kvm: KVM_SET_MSRS: %s; boot MSRs left at "
				 "their reset values", strerror(errno));
			break;
		}
		set += (unsigned)r;
		start += (unsigned)r;
		if (start < n) {
			log_warn(log, "kvm: host refused MSR 0x%x; skipped",
				 buf.e[start].index);
			start++;
		}
	}
	return (int)set;
}
