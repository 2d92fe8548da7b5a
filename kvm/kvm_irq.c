/* Interrupts into the in-kernel irqchip: the irq_chip devices see
 * (KVM_IRQ_LINE for GSIs, KVM_SIGNAL_MSI for messages), the GSI routing
 * table, and irqfd for interrupts raised from other threads without the
 * big lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/layout.h"
#include "core/log.h"
#include "kvm/kvm_int.h"

static void kvm_irq_set_level(void *opaque, unsigned gsi, int level)
{
	struct kvm_vm *vm = opaque;
	struct kvm_irq_level l = { .irq = gsi, .level = level ? 1 : 0 };
	if (ioctl(vm->fd, KVM_IRQ_LINE, &l) < 0)
		log_rl(vm->log, &vm->rl, LOG_WARN, "kvm: KVM_IRQ_LINE gsi %u: %s",
		       gsi, strerror(errno));
}

static int kvm_irq_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct kvm_vm *vm = opaque;
	struct kvm_msi m = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	/* > 0 delivered, 0 blocked by the guest (masked/filtered), < 0 error. */
	int r = ioctl(vm->fd, KVM_SIGNAL_MSI, &m);
	if (r < 0) {
		int e = errno;
		log_rl(vm->log, &vm->rl, LOG_WARN, "kvm: KVM_SIGNAL_MSI 0x%llx/0x%x: %s",
		       (unsigned long long)addr, data, strerror(e));
		return -e;
	}
	return 0;
}

static const struct irq_chip_ops kvm_irq_ops = {
	.set_level = kvm_irq_set_level,
	.msi = kvm_irq_msi,
};

static void kvm_irq_add_chip(struct kvm_irq_routing *r, unsigned gsi,
			     unsigned chip, unsigned pin)
{
	struct kvm_irq_routing_entry *e = &r->entries[r->nr++];
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static int kvm_irq_commit(struct kvm_vm *vm)
{
	if (ioctl(vm->fd, KVM_SET_GSI_ROUTING, vm->routing) < 0)
		return -errno;
	return 0;
}

/* Wired as on a PC (and as the MADT's interrupt source override says):
 * ISA IRQ n goes to the 8259 pair and to IOAPIC pin n, except IRQ0 (the
 * PIT), which reaches IOAPIC pin 2 -- the ISA override every PC firmware
 * reports (ACPI 6.4 §5.2.12.5) -- while PIC input 2 is the cascade. */
int kvm_irq_routing_init(struct kvm_vm *vm)
{
	vm->routing = calloc(1, sizeof(*vm->routing) +
			     KVM_VM_MAX_ROUTES * sizeof(vm->routing->entries[0]));
	if (!vm->routing)
		return -ENOMEM;
	struct kvm_irq_routing *r = vm->routing;
	for (unsigned gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue;
		kvm_irq_add_chip(r, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
				 KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
	}
	for (unsigned gsi = 0; gsi < LAYOUT_IOAPIC_PINS; gsi++)
		kvm_irq_add_chip(r, gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
	vm->chip.ops = &kvm_irq_ops;
	vm->chip.opaque = vm;
	return kvm_irq_commit(vm);
}

/* The 8259 pair as PC firmware leaves it (SeaBIOS, qboot): initialized
 * (ICW1-ICW4: cascade on master IR2, 8086 mode), vectors 0x08/0x70, every
 * input masked but the cascade.  KVM creates both uninitialized -- vector
 * base 0, nothing masked -- and vCPU 0 takes their output through LINT0
 * as ExtINT (virtual wire, kvm_vcpu.c), as firmware sets it.  Booting
 * without firmware, that is our part to play: an OS that uses the 8259s
 * reprograms them (Linux's init_8259A() on q35), but Linux on a
 * hardware-reduced ACPI machine (microvm) never touches them, and the
 * PIT's channel 0, counting from reset as on a PC, would reach the CPU at
 * its first sti as vector 0: a "divide error" (issue 12). */
int kvm_irq_pic_handover(struct kvm_vm *vm)
{
	static const struct { uint8_t base, imr; } pic[2] = {
		{ 0x08, (uint8_t)~(1u << 2) },  /* master: all but the cascade */
		{ 0x70, 0xff },                 /* slave: all */
	};
	for (unsigned i = 0; i < 2; i++) {
		struct kvm_irqchip c;
		memset(&c, 0, sizeof(c));
		c.chip_id = i == 0 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		if (ioctl(vm->fd, KVM_GET_IRQCHIP, &c) < 0)
			return -errno;
		struct kvm_pic_state *p = &c.chip.pic;
		p->irq_base = pic[i].base;
		p->imr = pic[i].imr;
		p->init4 = 1;
		p->init_state = 0;
		p->isr = 0;
		p->priority_add = 0;
		if (ioctl(vm->fd, KVM_SET_IRQCHIP, &c) < 0)
			return -errno;
	}
	return 0;
}

int kvm_irq_msi_route(struct kvm_vm *vm, uint64_t addr, uint32_t data)
{
	pthread_mutex_lock(&vm->route_lock);
	struct kvm_irq_routing *r = vm->routing;
	int ret;
	if (r->nr >= KVM_VM_MAX_ROUTES) {
		ret = -ENOSPC;
		goto out;
	}
	unsigned gsi = vm->next_msi_gsi;
	struct kvm_irq_routing_entry *e = &r->entries[r->nr];
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
	r->nr++;
	ret = kvm_irq_commit(vm);
	if (ret < 0) {
		r->nr--;
		goto out;
	}
	vm->next_msi_gsi++;
	ret = (int)gsi;
out:
	pthread_mutex_unlock(&vm->route_lock);
	return ret;
}

int kvm_irq_msi_route_update(struct kvm_vm *vm, unsigned gsi, uint64_t addr,
			     uint32_t data)
{
	pthread_mutex_lock(&vm->route_lock);
	int ret = -ENOENT;
	struct kvm_irq_routing *r = vm->routing;
	for (unsigned i = 0; i < r->nr; i++) {
		struct kvm_irq_routing_entry *e = &r->entries[i];
		if (e->gsi != gsi || e->type != KVM_IRQ_ROUTING_MSI)
			continue;
		struct kvm_irq_routing_entry old = *e;
		e->u.msi.address_lo = (uint32_t)addr;
		e->u.msi.address_hi = (uint32_t)(addr >> 32);
		e->u.msi.data = data;
		ret = kvm_irq_commit(vm);
		if (ret < 0)
			*e = old;
		break;
	}
	pthread_mutex_unlock(&vm->route_lock);
	return ret;
}

int kvm_irqfd(struct kvm_vm *vm, int fd, unsigned gsi, int resample_fd,
	      bool assign)
{
	struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = gsi };
	if (!assign)
		f.flags |= KVM_IRQFD_FLAG_DEASSIGN;
	else if (resample_fd >= 0) {
		f.flags |= KVM_IRQFD_FLAG_RESAMPLE;
		f.resamplefd = (uint32_t)resample_fd;
	}
	return ioctl(vm->fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}
