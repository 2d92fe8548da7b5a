/* kvm-floor: the least a process can do to run a guest to one port-I/O
 * exit, as the floor bench_startup measures vmm's start-up against.
 *
 *   kvm-floor [--irqchip] [MiB]   (guest RAM, default 64: as the vmm runs)
 *
 * It opens /dev/kvm, creates a VM, registers the guest's RAM as one slot,
 * writes two instructions (real mode at 0x1000: mov $0x10,%al;
 * out %al,$0xf4), creates one vCPU, runs it to the port-I/O exit and
 * exits as vmm does for isa-debug-exit: (value << 1) | 1 = 33.  No
 * irqchip, no devices, no tables, no threads, no libraries beyond libc:
 * whatever vmm spends above this is its own.
 *
 * --irqchip adds KVM_CREATE_IRQCHIP before the slot, as vmm (whose guests
 * see an in-kernel LAPIC and IOAPIC) must: on some hosts the kernel ends
 * an SRCU grace period after it that the next memory-slot change waits
 * for, and that wait is then part of any VMM with an in-kernel irqchip. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int irqchip = argc > 1 && strcmp(argv[1], "--irqchip") == 0;
	if (irqchip) {
		argc--;
		argv++;
	}
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	if (mib == 0 || mib > 4096) {
		fprintf(stderr, "kvm-floor: RAM size 1..4096 MiB\n");
		return 2;
	}
	size_t memsz = mib << 20;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("kvm-floor: /dev/kvm");
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	uint8_t *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm < 0 || mem == MAP_FAILED) {
		perror("kvm-floor: KVM_CREATE_VM");
		return 1;
	}
	static const uint8_t code[] = { 0xb0, 0x10, 0xe6, 0xf4 };
	memcpy(mem + 0x1000, code, sizeof(code));
	/* Intel without unrestricted guest needs the real-mode TSS. */
	ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	if (irqchip && ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		perror("kvm-floor: KVM_CREATE_IRQCHIP");
		return 1;
	}
	struct kvm_userspace_memory_region reg = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = memsz,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg) < 0) {
		perror("kvm-floor: KVM_SET_USER_MEMORY_REGION");
		return 1;
	}
	int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (cpu < 0 || sz <= 0) {
		perror("kvm-floor: KVM_CREATE_VCPU");
		return 1;
	}
	struct kvm_run *run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE,
				   MAP_SHARED, cpu, 0);
	struct kvm_sregs sr;
	if (run == MAP_FAILED || ioctl(cpu, KVM_GET_SREGS, &sr) < 0) {
		perror("kvm-floor: vCPU");
		return 1;
	}
	sr.cs.base = 0;
	sr.cs.selector = 0;
	struct kvm_regs rg = { .rip = 0x1000, .rflags = 2 };
	if (ioctl(cpu, KVM_SET_SREGS, &sr) < 0 || ioctl(cpu, KVM_SET_REGS, &rg) < 0 ||
	    ioctl(cpu, KVM_RUN, 0) < 0) {
		perror("kvm-floor: KVM_RUN");
		return 1;
	}
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0xf4 ||
	    run->io.direction != KVM_EXIT_IO_OUT) {
		fprintf(stderr, "kvm-floor: unexpected exit %u\n", run->exit_reason);
		return 1;
	}
	uint8_t v = *((uint8_t *)run + run->io.data_offset);
	return ((v << 1) | 1) & 0xff;
}
