/* /dev/kvm: open it, check the API version and every capability the
 * backend uses, and read what the host supports (CPUID, MSR list).
 * Every failure says what is missing and what the user can do about it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm/kvm.h"
#include "kvm/kvm_int.h"

/* KVM_GET_API_VERSION has returned 12 since Linux 2.6.22 and must not
 * change (Documentation/virt/kvm/api.rst §4.1). */
#define KVM_SYS_API_VERSION 12

struct kvm_sys_cap {
	int cap;
	const char *name;
	const char *why;
};

/* Capabilities without which the machine cannot be built at all. */
static const struct kvm_sys_cap kvm_sys_required[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest memory" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "in-kernel interrupt controller" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", "GSI routing" },
	{ KVM_CAP_IRQ_INJECT_STATUS, "KVM_CAP_IRQ_INJECT_STATUS", "KVM_IRQ_LINE_STATUS" },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI", "MSI interrupts" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "irqfd" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", "ioeventfd" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "KVM_GET_SUPPORTED_CPUID" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "the VMX real-mode TSS" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", "secondary vCPU start-up" },
};

void kvm_sys_close(struct kvm_sys *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->cpuid);
	free(s->msrs);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* KVM_GET_SUPPORTED_CPUID fails with E2BIG until the buffer is big enough.
 * Start at 256 entries (hosts report 60-100 today): each failed call costs
 * as much as a good one, about 0.4 ms of start-up on this project's host. */
static int kvm_sys_read_cpuid(struct kvm_sys *s)
{
	for (unsigned n = 256; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(s->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			s->cpuid = c;
			return 0;
		}
		int e = errno;
		free(c);
		if (e != E2BIG)
			return -e;
	}
	return -E2BIG;
}

static int kvm_sys_read_msrs(struct kvm_sys *s)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	/* The first call says how many (E2BIG), the second fills them in. */
	if (ioctl(s->fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
	if (!l)
		return -ENOMEM;
	l->nmsrs = probe.nmsrs;
	if (ioctl(s->fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		int e = errno;
		free(l);
		return -e;
	}
	s->msrs = l;
	return 0;
}

bool kvm_sys_msr_supported(const struct kvm_sys *s, uint32_t index)
{
	if (!s->msrs)
		return false;
	for (unsigned i = 0; i < s->msrs->nmsrs; i++)
		if (s->msrs->indices[i] == index)
			return true;
	return false;
}

int kvm_sys_open_caps(struct kvm_sys *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (s->fd < 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen, "vmm: /dev/kvm does not exist: load "
				 "the kvm_intel or kvm_amd module (and enable "
				 "virtualization in the firmware), or run with "
				 "-machine accel=sim");
		else if (e == EACCES || e == EPERM)
			snprintf(err, errlen, "vmm: /dev/kvm: permission denied: "
				 "add yourself to the 'kvm' group "
				 "(sudo usermod -aG kvm $USER, then log in again)");
		else
			snprintf(err, errlen, "vmm: cannot open /dev/kvm: %s",
				 strerror(e));
		s->fd = -1;
		return -1;
	}
	int v = ioctl(s->fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_SYS_API_VERSION) {
		snprintf(err, errlen, "vmm: /dev/kvm speaks API version %d, this "
			 "vmm needs %d: the host kernel is too old or not Linux KVM",
			 v, KVM_SYS_API_VERSION);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(kvm_sys_required) / sizeof(kvm_sys_required[0]); i++) {
		const struct kvm_sys_cap *c = &kvm_sys_required[i];
		if (ioctl(s->fd, KVM_CHECK_EXTENSION, c->cap) <= 0) {
			snprintf(err, errlen, "vmm: the host KVM lacks %s (%s): "
				 "use a newer host kernel (Linux 4.11 or later)",
				 c->name, c->why);
			goto fail;
		}
	}
	s->vcpu_mmap_size = ioctl(s->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (s->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		snprintf(err, errlen, "vmm: KVM_GET_VCPU_MMAP_SIZE failed: %s",
			 strerror(errno));
		goto fail;
	}
	/* Recommended/maximum counts (api.rst: KVM_CAP_NR_VCPUS is the
	 * recommended maximum, KVM_CAP_MAX_VCPUS the hard one). */
	int r = ioctl(s->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (r <= 0)
		r = ioctl(s->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	s->max_vcpus = r > 0 ? (unsigned)r : 4;
	r = ioctl(s->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
	s->max_vcpu_id = r > 0 ? (unsigned)r : s->max_vcpus;
	r = ioctl(s->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	s->nr_memslots = r > 0 ? (unsigned)r : 32;
	s->readonly_mem = ioctl(s->fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
	return 0;
fail:
	kvm_sys_close(s);
	return -1;
}

int kvm_sys_load_cpu(struct kvm_sys *s, char *err, size_t errlen)
{
	if (s->cpuid && s->msrs)
		return 0;
	int e = s->cpuid ? 0 : kvm_sys_read_cpuid(s);
	if (e < 0) {
		snprintf(err, errlen, "vmm: KVM_GET_SUPPORTED_CPUID failed: %s",
			 strerror(-e));
		return -1;
	}
	e = s->msrs ? 0 : kvm_sys_read_msrs(s);
	if (e < 0) {
		snprintf(err, errlen, "vmm: KVM_GET_MSR_INDEX_LIST failed: %s",
			 strerror(-e));
		return -1;
	}
	return 0;
}

int kvm_sys_open(struct kvm_sys *s, char *err, size_t errlen)
{
	if (kvm_sys_open_caps(s, err, errlen) < 0)
		return -1;
	if (kvm_sys_load_cpu(s, err, errlen) < 0) {
		kvm_sys_close(s);
		return -1;
	}
	return 0;
}

int kvm_check(char *err, size_t errlen)
{
	struct kvm_sys s;
	if (kvm_sys_open(&s, err, errlen) < 0)
		return -1;
	kvm_sys_close(&s);
	return 0;
}
