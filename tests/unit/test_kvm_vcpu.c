/* The KVM backend's pieces on the real /dev/kvm (skipped without it):
 * capability checks, GSI/MSI routing, the 8259s as handed over, irqfd,
 * ioeventfd argument checks, memory slots (read-only ones too), a vCPU
 * running a few PVH instructions whose MMIO and port-I/O exits reach our
 * buses, and the start-up order of kvm_machine_run (vCPUs parked before
 * the slots). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "tests/unit/skip.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/gm.h"
#include "kvm/boot.h"
#include "kvm/kvm_int.h"

static int kvm_usable(void)
{
	return access("/dev/kvm", R_OK | W_OK) == 0;
}

#define NEED_KVM()                                                     \
	do {                                                           \
		if (!kvm_usable())                                     \
			SKIP_BECAUSE("no usable /dev/kvm");            \
	} while (0)

static void test_sys_and_routing(void **state)
{
	(void)state;
	NEED_KVM();
	char err[256];
	struct kvm_sys sys;
	assert_int_equal(kvm_sys_open(&sys, err, sizeof(err)), 0);
	assert_true(sys.cpuid->nent > 0);
	assert_true(sys.msrs->nmsrs > 0);
	assert_true(sys.vcpu_mmap_size >= (int)sizeof(struct kvm_run));
	assert_false(kvm_sys_msr_supported(&sys, 0xdeadbeef));
	struct kvm_vm vm;
	assert_int_equal(kvm_vm_create(&vm, &sys, NULL, err, sizeof(err)), 0);
	/* MSI routes take GSIs after the 24 IOAPIC pins. */
	assert_int_equal(kvm_irq_msi_route(&vm, 0xfee00000, 0x41), KVM_VM_FIRST_MSI_GSI);
	assert_int_equal(kvm_irq_msi_route(&vm, 0xfee00000, 0x42), KVM_VM_FIRST_MSI_GSI + 1);
	assert_int_equal(kvm_irq_msi_route_update(&vm, KVM_VM_FIRST_MSI_GSI, 0xfee01000, 0x43), 0);
	assert_int_equal(kvm_irq_msi_route_update(&vm, 5, 0xfee00000, 0x43), -ENOENT);
	/* irqfd on an edge GSI, then a level one with a resample fd. */
	int efd = eventfd(0, EFD_CLOEXEC), rfd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(kvm_irqfd(&vm, efd, KVM_VM_FIRST_MSI_GSI, -1, true), 0);
	assert_int_equal(kvm_irqfd(&vm, efd, KVM_VM_FIRST_MSI_GSI, -1, false), 0);
	assert_int_equal(kvm_irqfd(&vm, efd, 5, rfd, true), 0);
	assert_int_equal(kvm_irqfd(&vm, efd, 5, rfd, false), 0);
	/* ioeventfd: widths KVM accepts, duplicates refused. */
	struct kvm_ioeventfd_spec s = { .addr = 0xd0000050, .len = 3 };
	assert_int_equal(kvm_ioeventfd(&vm, &s, efd, true), -EINVAL);
	s.len = 0;
	s.pio = true;
	assert_int_equal(kvm_ioeventfd(&vm, &s, efd, true), -EINVAL);
	s = (struct kvm_ioeventfd_spec){ .addr = 0xd0000050, .len = 4,
					 .datamatch = true, .data = 0 };
	assert_int_equal(kvm_ioeventfd(&vm, &s, efd, true), 0);
	assert_int_equal(kvm_ioeventfd(&vm, &s, efd, true), -EEXIST);
	assert_int_equal(kvm_ioeventfd(&vm, &s, efd, false), 0);
	/* The irq_chip devices use. */
	irq_set_level(&(struct irq){ &vm.chip, 4 }, 1);
	irq_set_level(&(struct irq){ &vm.chip, 4 }, 0);
	close(efd);
	close(rfd);
	kvm_vm_destroy(&vm);
	kvm_sys_close(&sys);
}

struct vcpu_fix {
	struct machine m;
	uint32_t mmio_val;
	uint8_t pio_val;
	int done;
};

static int fix_mmio(void *dev, uint64_t off, void *data, unsigned len, bool wr)
{
	struct vcpu_fix *f = dev;
	if (wr && off == 0 && len == 4)
		memcpy(&f->mmio_val, data, 4);
	return 0;
}

static int fix_pio(void *dev, uint64_t off, void *data, unsigned len, bool wr)
{
	struct vcpu_fix *f = dev;
	(void)off;
	if (wr && len == 1) {
		f->pio_val = *(uint8_t *)data;
		machine_request(&f->m.ctl, MACHINE_EXIT, f->pio_val);
	}
	return 0;
}

static void fix_request(void *opaque, enum machine_event ev, int status)
{
	struct vcpu_fix *f = opaque;
	(void)status;
	if (ev == MACHINE_EXIT)
		__atomic_store_n(&f->done, 1, __ATOMIC_SEQ_CST);
}

/* Issue 12: the 8259s as PC firmware leaves them, not as KVM creates them
 * (vector base 0, nothing masked: PIT IRQ0 became vector 0 at Linux's
 * first sti on microvm). */
static void test_pic_handover(void **state)
{
	(void)state;
	NEED_KVM();
	char err[256];
	struct kvm_sys sys;
	assert_int_equal(kvm_sys_open(&sys, err, sizeof(err)), 0);
	struct kvm_vm vm;
	assert_int_equal(kvm_vm_create(&vm, &sys, NULL, err, sizeof(err)), 0);
	static const struct { unsigned chip; uint8_t base, imr; } want[] = {
		{ KVM_IRQCHIP_PIC_MASTER, 0x08, 0xfb },
		{ KVM_IRQCHIP_PIC_SLAVE, 0x70, 0xff },
	};
	for (unsigned i = 0; i < 2; i++) {
		struct kvm_irqchip c;
		memset(&c, 0, sizeof(c));
		c.chip_id = want[i].chip;
		assert_int_equal(ioctl(vm.fd, KVM_GET_IRQCHIP, &c), 0);
		assert_int_equal(c.chip.pic.irq_base, want[i].base);
		assert_int_equal(c.chip.pic.imr, want[i].imr);
		assert_int_equal(c.chip.pic.init4, 1);
		assert_int_equal(c.chip.pic.init_state, 0);
	}
	/* PIT IRQ0 raised: pending at the master, but masked, so nothing is
	 * in service and nothing reaches LINT0. */
	struct kvm_irq_level l = { .irq = 0, .level = 1 };
	assert_int_equal(ioctl(vm.fd, KVM_IRQ_LINE, &l), 0);
	struct kvm_irqchip c;
	memset(&c, 0, sizeof(c));
	c.chip_id = KVM_IRQCHIP_PIC_MASTER;
	assert_int_equal(ioctl(vm.fd, KVM_GET_IRQCHIP, &c), 0);
	assert_int_equal(c.chip.pic.irr & 1, 1);
	assert_int_equal(c.chip.pic.isr, 0);
	kvm_vm_destroy(&vm);
	kvm_sys_close(&sys);
}

/* A machine for one test vCPU: lock, guest memory with 4 MiB of RAM at
 * 0, empty port and MMIO buses. */
static void mach_init(struct machine *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->gm = gm_new();
	m->pio = bus_new("pio", NULL);
	m->mmio = bus_new("mmio", NULL);
	struct gm_mmap_spec anon = { .kind = GM_MMAP_ANON };
	assert_int_equal(gm_add_mmap(m->gm, 0, 4u << 20, &anon, 0, "ram"), 0);
}

/* The VM goes before the memory its slots map. */
static void mach_free(struct machine *m, struct kvm_vm *vm)
{
	bus_free(m->pio);
	bus_free(m->mmio);
	kvm_vm_destroy(vm);
	gm_free(m->gm);
	pthread_mutex_destroy(&m->lock);
}

static void test_vcpu_exits_reach_buses(void **state)
{
	(void)state;
	NEED_KVM();
	char err[256];
	struct kvm_sys sys;
	struct kvm_vm vm;
	assert_int_equal(kvm_sys_open(&sys, err, sizeof(err)), 0);
	assert_int_equal(kvm_vm_create(&vm, &sys, NULL, err, sizeof(err)), 0);
	struct vcpu_fix *f = calloc(1, sizeof(*f));
	mach_init(&f->m);
	f->m.ctl = (struct machine_ctl){ fix_request, f };
	struct gm_mmap_spec anon = { .kind = GM_MMAP_ANON };
	/* A read-only region (as for readonly=on nvdimms). */
	assert_int_equal(gm_add_mmap(f->m.gm, 8u << 20, 2u << 20, &anon, GM_READONLY,
				     "rom"), 0);
	assert_int_equal(kvm_vm_map_gm(&vm, f->m.gm, err, sizeof(err)), 0);
	assert_int_equal(vm.nslots, 2);
	assert_int_equal(bus_register(f->m.mmio, 0xd0000000, 4, fix_mmio, f, "t"), 0);
	assert_int_equal(bus_register(f->m.pio, 0xf4, 1, fix_pio, f, "t"), 0);
	/* 32-bit code at 1 MiB: MMIO store, port write, spin. */
	static const uint8_t code[] = {
		0xb8, 0x78, 0x56, 0x34, 0x12,        /* mov $0x12345678, %eax */
		0xa3, 0x00, 0x00, 0x00, 0xd0,        /* mov %eax, 0xd0000000 */
		0xb0, 0x42,                          /* mov $0x42, %al */
		0xe6, 0xf4,                          /* out %al, $0xf4 */
		0xeb, 0xfe,                          /* jmp . */
	};
	assert_int_equal(gm_write(f->m.gm, 0x100000, code, sizeof(code)), 0);
	struct boot_cpu cpu;
	assert_int_equal(boot_common(f->m.gm, &cpu, err, sizeof(err)), 0);
	boot_cpu_pvh(&cpu, 0x100000, 0);
	struct kvm_topo t = { .sockets = 1, .cores = 1, .threads = 1 };
	struct kvm_cpu_env env = { .m = &f->m, .vm = &vm };
	struct kvm_cpus *c = kvm_cpus_create(&env, 1, &t, &cpu, err, sizeof(err));
	assert_non_null(c);
	/* With a LAPIC to receive it, an MSI is delivered (or blocked while
	 * the guest has interrupts off): never an error. */
	assert_true(irq_msi(&vm.chip, 0xfee00000, 0x30) >= 0);
	assert_int_equal(kvm_cpus_start(c), 0);
	for (int i = 0; i < 1000 && !__atomic_load_n(&f->done, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	assert_int_equal(f->done, 1);
	assert_int_equal(f->mmio_val, 0x12345678);
	assert_int_equal(f->pio_val, 0x42);
	assert_true(kvm_cpus_exit_count(c) >= 2);
	kvm_cpus_destroy(c);   /* the spinning vCPU is kicked out and joined */
	/* Too many vCPUs for the host: a clear error, nothing created. */
	assert_null(kvm_cpus_create(&env, sys.max_vcpus + 1, &t, &cpu, err, sizeof(err)));
	assert_non_null(strstr(err, "vCPUs"));
	mach_free(&f->m, &vm);
	free(f);
	kvm_sys_close(&sys);
}

static uint32_t counter(struct gm *gm)
{
	uint32_t v = 0;
	assert_int_equal(gm_read_u32le(gm, 0x200000, &v), 0);
	return v;
}

/* One vCPU booted (PVH) into a loop at 1 MiB that counts at 2 MiB. */
static struct kvm_cpus *counting_vcpu(struct machine *m, struct kvm_vm *vm)
{
	char err[256];
	static const uint8_t code[] = {
		0xff, 0x05, 0x00, 0x00, 0x20, 0x00,  /* 1: incl 0x200000 */
		0xeb, 0xf8,                          /* jmp 1b */
	};
	assert_int_equal(gm_write(m->gm, 0x100000, code, sizeof(code)), 0);
	struct boot_cpu cpu;
	assert_int_equal(boot_common(m->gm, &cpu, err, sizeof(err)), 0);
	boot_cpu_pvh(&cpu, 0x100000, 0);
	struct kvm_topo t = { .sockets = 1, .cores = 1, .threads = 1 };
	struct kvm_cpu_env env = { .m = m, .vm = vm };
	struct kvm_cpus *c = kvm_cpus_create(&env, 1, &t, &cpu, err, sizeof(err));
	assert_non_null(c);
	return c;
}

/* QMP stop/cont underneath: a paused vCPU stops counting, a resumed one
 * goes on, and a paused machine still shuts down. */
static void test_vcpu_pause_resume(void **state)
{
	(void)state;
	NEED_KVM();
	char err[256];
	struct kvm_sys sys;
	struct kvm_vm vm;
	assert_int_equal(kvm_sys_open(&sys, err, sizeof(err)), 0);
	assert_int_equal(kvm_vm_create(&vm, &sys, NULL, err, sizeof(err)), 0);
	struct machine m;
	mach_init(&m);
	assert_int_equal(kvm_vm_map_gm(&vm, m.gm, err, sizeof(err)), 0);
	struct kvm_cpus *c = counting_vcpu(&m, &vm);
	/* Started paused and resumed before the thread reached its pause
	 * check (kvm_machine_run's start, raced): it runs. */
	kvm_cpus_pause(c);
	assert_int_equal(kvm_cpus_start(c), 0);
	kvm_cpus_resume(c);
	for (int i = 0; i < 500 && counter(m.gm) == 0; i++)
		usleep(10000);
	assert_true(counter(m.gm) > 0);
	kvm_cpus_pause(c);
	assert_true(kvm_cpus_paused(c));
	usleep(100000);                      /* let it park */
	uint32_t a = counter(m.gm);
	usleep(100000);
	assert_int_equal(counter(m.gm), a);
	kvm_cpus_resume(c);
	assert_false(kvm_cpus_paused(c));
	for (int i = 0; i < 500 && counter(m.gm) == a; i++)
		usleep(10000);
	assert_true(counter(m.gm) != a);
	/* Stop then cont at once, before the vCPU noticed the stop: it
	 * must run on (it used to spin on KVM_RUN failing with EINTR). */
	for (int k = 0; k < 20; k++) {
		kvm_cpus_pause(c);
		kvm_cpus_resume(c);
	}
	uint32_t b = counter(m.gm);
	for (int i = 0; i < 500 && counter(m.gm) == b; i++)
		usleep(10000);
	assert_true(counter(m.gm) != b);
	kvm_cpus_pause(c);
	kvm_cpus_destroy(c);                 /* joins a parked vCPU */
	mach_free(&m, &vm);
	kvm_sys_close(&sys);
}

static void parked_request(void *opaque, enum machine_event ev, int status)
{
	(void)status;
	if (ev == MACHINE_ERROR)
		__atomic_add_fetch((int *)opaque, 1, __ATOMIC_SEQ_CST);
}

/* kvm_machine_run's start-up order: /dev/kvm's capabilities, the VM with
 * its irqchip, then the host CPU lists, vCPUs started parked before the
 * VM has any memory slot, the slots, and only then the vCPUs run. */
static void test_vcpu_start_parked_before_slots(void **state)
{
	(void)state;
	NEED_KVM();
	char err[256];
	struct kvm_sys sys;
	struct kvm_vm vm;
	assert_int_equal(kvm_sys_open_caps(&sys, err, sizeof(err)), 0);
	assert_null(sys.cpuid);               /* the costly lists come later */
	assert_null(sys.msrs);
	assert_int_equal(kvm_vm_create(&vm, &sys, NULL, err, sizeof(err)), 0);
	assert_int_equal(kvm_sys_load_cpu(&sys, err, sizeof(err)), 0);
	assert_non_null(sys.cpuid);
	assert_non_null(sys.msrs);
	struct kvm_cpuid2 *cpuid = sys.cpuid;
	assert_int_equal(kvm_sys_load_cpu(&sys, err, sizeof(err)), 0);
	assert_ptr_equal(sys.cpuid, cpuid);   /* a reset's rebuild: no ioctl */

	int errors = 0;
	struct machine m;
	mach_init(&m);
	m.ctl = (struct machine_ctl){ parked_request, &errors };
	struct kvm_cpus *c = counting_vcpu(&m, &vm);
	kvm_cpus_pause(c);
	assert_int_equal(kvm_cpus_start(c), 0);
	/* The thread is up (it names itself, then checks for a pause before
	 * its first KVM_RUN); a vCPU running now would fetch from guest
	 * memory KVM has no slot for and end the machine with an error. */
	for (int i = 0; i < 500 && kvm_cpus_thread_id(c, 0) == 0; i++)
		usleep(10000);
	assert_true(kvm_cpus_thread_id(c, 0) != 0);
	assert_int_equal(vm.nslots, 0);
	assert_int_equal(kvm_vm_map_gm(&vm, m.gm, err, sizeof(err)), 0);
	assert_int_equal(kvm_cpus_exit_count(c), 0);
	kvm_cpus_resume(c);
	for (int i = 0; i < 500 && counter(m.gm) == 0; i++)
		usleep(10000);
	assert_true(counter(m.gm) > 0);
	assert_int_equal(__atomic_load_n(&errors, __ATOMIC_SEQ_CST), 0);
	kvm_cpus_destroy(c);
	mach_free(&m, &vm);
	kvm_sys_close(&sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sys_and_routing),
		cmocka_unit_test(test_pic_handover),
		cmocka_unit_test(test_vcpu_exits_reach_buses),
		cmocka_unit_test(test_vcpu_pause_resume),
		cmocka_unit_test(test_vcpu_start_parked_before_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
