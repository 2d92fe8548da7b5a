/* A vCPU's architectural start state, set through its fd: the boot
 * registers a loader chose (boot.h), the LAPIC's LINT pins in virtual-wire
 * mode, and the FPU's reset values.  kvm_vcpu.c creates the vCPUs and
 * runs them. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/boot.h"
#include "kvm/kvm_int.h"

/* LAPIC register offsets and LVT delivery modes (Intel SDM vol. 3 §11.5.1). */
#define KVM_APIC_LVT0 0x350
#define KVM_APIC_LVT1 0x360
#define KVM_APIC_DM_NMI 0x400
#define KVM_APIC_DM_EXTINT 0x700
#define KVM_APIC_LVT_MASKED 0x10000

static void kvm_seg_to_kvm(struct kvm_segment *k, const struct boot_seg *s)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->sel;
	k->type = s->type;
	k->present = s->present;
	k->dpl = s->dpl;
	k->db = s->db;
	k->s = s->s;
	k->l = s->l;
	k->g = s->g;
	k->avl = s->avl;
	k->unusable = !s->present;
}

int kvm_vcpu_load_boot(int fd, const struct boot_cpu *b)
{
	struct kvm_sregs sr;
	if (ioctl(fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	kvm_seg_to_kvm(&sr.cs, &b->cs);
	kvm_seg_to_kvm(&sr.ds, &b->ds);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	kvm_seg_to_kvm(&sr.tr, &b->tr);
	sr.gdt.base = b->gdt_base;
	sr.gdt.limit = b->gdt_limit;
	sr.cr0 = b->cr0;
	sr.cr3 = b->cr3;
	sr.cr4 = b->cr4;
	sr.efer = b->efer;
	if (ioctl(fd, KVM_SET_SREGS, &sr) < 0)
		return -errno;
	struct kvm_regs r;
	memset(&r, 0, sizeof(r));
	r.rip = b->rip;
	r.rsp = b->rsp;
	r.rsi = b->rsi;
	r.rbx = b->rbx;
	r.rflags = b->rflags | 2;   /* bit 1 is reserved, always 1 */
	if (ioctl(fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

/* Virtual-wire mode (MP spec §3.6.2.2): the BSP takes 8259 interrupts
 * through LINT0 as ExtINT, every CPU takes NMI on LINT1. */
int kvm_vcpu_set_lint(int fd, bool bsp)
{
	struct kvm_lapic_state l;
	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	uint32_t lvt0 = bsp ? KVM_APIC_DM_EXTINT : KVM_APIC_LVT_MASKED;
	uint32_t lvt1 = KVM_APIC_DM_NMI;
	memcpy(&l.regs[KVM_APIC_LVT0], &lvt0, 4);
	memcpy(&l.regs[KVM_APIC_LVT1], &lvt1, 4);
	if (ioctl(fd, KVM_SET_LAPIC, &l) < 0)
		return -errno;
	return 0;
}

int kvm_vcpu_set_fpu(int fd)
{
	/* x87 control word and MXCSR reset values (SDM vol. 1 §8.1.5, §10.2.3). */
	struct kvm_fpu f;
	memset(&f, 0, sizeof(f));
	f.fcw = 0x37f;
	f.mxcsr = 0x1f80;
	return ioctl(fd, KVM_SET_FPU, &f) < 0 ? -errno : 0;
}
