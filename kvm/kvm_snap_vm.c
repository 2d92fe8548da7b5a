/* The VM-wide KVM state in a snapshot (kvm/kvm_snapshot.h): the in-kernel
 * 8259 pair and IOAPIC (KVM_GET/SET_IRQCHIP), and the KVM clock
 * (KVM_GET/SET_CLOCK), so a guest's kvmclock reads on from where it was
 * saved instead of jumping by the time the snapshot sat on disk. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/snapshot.h"
#include "kvm/kvm_int.h"
#include "kvm/kvm_snapshot.h"

#define KVM_SNAP_IRQCHIP_VERSION 1
#define KVM_SNAP_CLOCK_VERSION 1
/* Where every PC's IOAPIC sits (and KVM's only choice). */
#define KVM_SNAP_IOAPIC_BASE 0xfec00000ull

static const struct {
	unsigned id;
	const char *field;
} kvm_snap_chips[] = {
	{ KVM_IRQCHIP_PIC_MASTER, "pic_master" },
	{ KVM_IRQCHIP_PIC_SLAVE, "pic_slave" },
	{ KVM_IRQCHIP_IOAPIC, "ioapic" },
};
#define KVM_SNAP_NCHIPS (sizeof(kvm_snap_chips) / sizeof(kvm_snap_chips[0]))

/* The bytes of one chip's state inside struct kvm_irqchip's union. */
static size_t kvm_snap_chip_size(unsigned id)
{
	return id == KVM_IRQCHIP_IOAPIC ? sizeof(struct kvm_ioapic_state) :
	       sizeof(struct kvm_pic_state);
}

int kvm_snap_vm_save(const struct kvm_vm *vm, struct snap_w *w, char *err,
		     size_t errlen)
{
	struct kvm_irqchip chips[KVM_SNAP_NCHIPS];
	for (unsigned i = 0; i < KVM_SNAP_NCHIPS; i++) {
		memset(&chips[i], 0, sizeof(chips[i]));
		chips[i].chip_id = kvm_snap_chips[i].id;
		if (ioctl(vm->fd, KVM_GET_IRQCHIP, &chips[i]) < 0) {
			snprintf(err, errlen, "vmm: saving the irqchip: KVM_GET_IRQCHIP "
				 "(%s): %s", kvm_snap_chips[i].field, strerror(errno));
			return -EIO;
		}
	}
	struct kvm_clock_data clk;
	memset(&clk, 0, sizeof(clk));
	if (ioctl(vm->fd, KVM_GET_CLOCK, &clk) < 0) {
		snprintf(err, errlen, "vmm: saving the KVM clock: %s", strerror(errno));
		return -EIO;
	}
	snap_w_begin(w, KVM_SNAP_IRQCHIP_SECTION, KVM_SNAP_IRQCHIP_VERSION);
	for (unsigned i = 0; i < KVM_SNAP_NCHIPS; i++)
		snap_w_bytes(w, kvm_snap_chips[i].field, &chips[i].chip,
			     kvm_snap_chip_size(kvm_snap_chips[i].id));
	snap_w_end(w);
	snap_w_begin(w, KVM_SNAP_CLOCK_SECTION, KVM_SNAP_CLOCK_VERSION);
	snap_w_u64(w, "clock", clk.clock);
	snap_w_end(w);
	return 0;
}

/* 8259A state as KVM keeps it (arch/x86/kvm/i8259.c): every field is a
 * register of the chip or a small enumeration. */
static bool kvm_snap_pic_ok(const struct kvm_pic_state *p)
{
	return p->read_reg_select <= 1 && p->poll <= 1 && p->special_mask <= 1 &&
	       p->init_state <= 3 && p->auto_eoi <= 1 &&
	       p->rotate_on_auto_eoi <= 1 && p->special_fully_nested_mode <= 1 &&
	       p->init4 <= 1 && (p->irq_base & 7) == 0;
}

/* 82093AA IOAPIC: 24 pins, 8-bit APIC id (its datasheet §3.2.1). */
static bool kvm_snap_ioapic_ok(const struct kvm_ioapic_state *s)
{
	return s->base_address == KVM_SNAP_IOAPIC_BASE && s->id <= 0xff &&
	       s->pad == 0;
}

int kvm_snap_vm_load(const struct kvm_vm *vm, struct snap_r *r)
{
	uint32_t ver;
	struct kvm_irqchip chips[KVM_SNAP_NCHIPS];
	snap_r_begin(r, KVM_SNAP_IRQCHIP_SECTION, KVM_SNAP_IRQCHIP_VERSION, &ver);
	for (unsigned i = 0; i < KVM_SNAP_NCHIPS; i++) {
		memset(&chips[i], 0, sizeof(chips[i]));
		chips[i].chip_id = kvm_snap_chips[i].id;
		snap_r_bytes(r, kvm_snap_chips[i].field, &chips[i].chip,
			     kvm_snap_chip_size(kvm_snap_chips[i].id));
	}
	if (snap_r_failed(r))
		return -EINVAL;
	if (snap_r_check(r, kvm_snap_pic_ok(&chips[0].chip.pic), "pic_master",
			 "a field out of its range") < 0 ||
	    snap_r_check(r, kvm_snap_pic_ok(&chips[1].chip.pic), "pic_slave",
			 "a field out of its range") < 0 ||
	    snap_r_check(r, kvm_snap_ioapic_ok(&chips[2].chip.ioapic), "ioapic",
			 "base address not 0xfec00000, id beyond 8 bits or pad set") < 0)
		return -EINVAL;
	for (unsigned i = 0; i < KVM_SNAP_NCHIPS; i++) {
		if (ioctl(vm->fd, KVM_SET_IRQCHIP, &chips[i]) < 0) {
			char why[96];
			snprintf(why, sizeof(why), "KVM_SET_IRQCHIP refused it: %s",
				 strerror(errno));
			snap_r_check(r, false, kvm_snap_chips[i].field, why);
			return -EINVAL;
		}
	}
	if (snap_r_end(r) < 0)
		return -EINVAL;
	uint64_t clock = 0;
	snap_r_begin(r, KVM_SNAP_CLOCK_SECTION, KVM_SNAP_CLOCK_VERSION, &ver);
	snap_r_u64(r, "clock", &clock);
	if (snap_r_failed(r))
		return -EINVAL;
	/* Only the clock value: KVM_CLOCK_REALTIME would advance it by the
	 * wall time since the save, and a template restored an hour later
	 * would see an hour pass in one step. */
	struct kvm_clock_data clk;
	memset(&clk, 0, sizeof(clk));
	clk.clock = clock;
	if (ioctl(vm->fd, KVM_SET_CLOCK, &clk) < 0) {
		char why[96];
		snprintf(why, sizeof(why), "KVM_SET_CLOCK refused it: %s", strerror(errno));
		snap_r_check(r, false, "clock", why);
		return -EINVAL;
	}
	return snap_r_end(r) < 0 ? -EINVAL : 0;
}
