/* The VM: created with the in-kernel irqchip (PIC, IOAPIC, LAPICs) but not
 * the in-kernel PIT (devices/pit.c is ours and also runs in the
 * simulator), and one memory slot per guest-memory region. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/gm.h"
#include "core/log.h"
#include "kvm/boot.h"
#include "kvm/kvm_int.h"

/* Intel VMX needs three pages for a real-mode TSS and one for the EPT
 * identity map of unrestricted-guest-less hosts (api.rst
 * KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR).  Both sit in the top of
 * the 32-bit hole, clear of the IOAPIC/LAPIC pages and of any RAM. */
#define KVM_VM_IDENTITY_MAP_ADDR BOOT_KVM_PRIVATE_ADDR
#define KVM_VM_TSS_ADDR (BOOT_KVM_PRIVATE_ADDR + 0x1000)

int kvm_vm_create(struct kvm_vm *vm, const struct kvm_sys *sys,
		  struct log *log, char *err, size_t errlen)
{
	memset(vm, 0, sizeof(*vm));
	vm->sys = sys;
	vm->log = log;
	vm->next_msi_gsi = KVM_VM_FIRST_MSI_GSI;
	pthread_mutex_init(&vm->route_lock, NULL);
	vm->fd = ioctl(sys->fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		int e = errno;
		snprintf(err, errlen, "vmm: KVM_CREATE_VM failed: %s%s", strerror(e),
			 e == EBUSY || e == EINVAL ?
			 " (is another hypervisor holding VMX/SVM?)" : "");
		vm->fd = -1;
		return -1;
	}
	if (ioctl(sys->fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		uint64_t a = KVM_VM_IDENTITY_MAP_ADDR;
		if (ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &a) < 0) {
			snprintf(err, errlen, "vmm: KVM_SET_IDENTITY_MAP_ADDR: %s",
				 strerror(errno));
			goto fail;
		}
	}
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_VM_TSS_ADDR) < 0) {
		snprintf(err, errlen, "vmm: KVM_SET_TSS_ADDR: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		snprintf(err, errlen, "vmm: KVM_CREATE_IRQCHIP: %s", strerror(errno));
		goto fail;
	}
	int r = kvm_irq_routing_init(vm);
	if (r < 0) {
		snprintf(err, errlen, "vmm: KVM_SET_GSI_ROUTING: %s", strerror(-r));
		goto fail;
	}
	r = kvm_irq_pic_handover(vm);
	if (r < 0) {
		snprintf(err, errlen, "vmm: KVM_SET_IRQCHIP (8259s): %s", strerror(-r));
		goto fail;
	}
	return 0;
fail:
	kvm_vm_destroy(vm);
	return -1;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	free(vm->routing);
	vm->routing = NULL;
	pthread_mutex_destroy(&vm->route_lock);
}

int kvm_vm_map_gm(struct kvm_vm *vm, const struct gm *gm, char *err,
		  size_t errlen)
{
	unsigned n = gm_region_count(gm);
	if (n > vm->sys->nr_memslots) {
		snprintf(err, errlen, "vmm: %u memory regions but the host KVM "
			 "has only %u memory slots", n, vm->sys->nr_memslots);
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct gm_region *r = gm_region_at(gm, i);
		struct kvm_userspace_memory_region s = {
			.slot = vm->nslots,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->host,
		};
		if (r->flags & (GM_READONLY | GM_ROM)) {
			/* Guest writes to a read-only slot exit as MMIO writes,
			 * which the bus drops: a readonly=on nvdimm's file is
			 * never modified by the guest. */
			if (!vm->sys->readonly_mem) {
				snprintf(err, errlen, "vmm: region '%s' is read-only "
					 "but the host KVM lacks KVM_CAP_READONLY_MEM; "
					 "use readonly=off or a newer host kernel",
					 r->name);
				return -1;
			}
			s.flags |= KVM_MEM_READONLY;
		}
		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &s) < 0) {
			snprintf(err, errlen, "vmm: memory slot for '%s' at 0x%llx "
				 "(%llu bytes): %s", r->name,
				 (unsigned long long)r->gpa,
				 (unsigned long long)r->size, strerror(errno));
			return -1;
		}
		log_debug(vm->log, "kvm: slot %u gpa 0x%llx size 0x%llx %s%s",
			  vm->nslots, (unsigned long long)r->gpa,
			  (unsigned long long)r->size, r->name,
			  (s.flags & KVM_MEM_READONLY) ? " (read-only)" : "");
		vm->nslots++;
	}
	return 0;
}
