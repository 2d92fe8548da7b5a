/* The KVM machine's board hook for vhost-user calls
 * (kvm_board_msi_irqfd, kvm/kvm_qmp.c) on the real /dev/kvm (skipped
 * without it): BIND routes a GSI to the MSI message and binds the call
 * eventfd to it, so a backend's write is taken by KVM (the eventfd's
 * count is consumed without us reading it); UPDATE re-points the route
 * and keeps the binding; UNBIND gives the eventfd back (a write stays
 * readable for the loop); a later BIND reuses the GSI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "tests/unit/skip.h"
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/kvm_int.h"

static bool readable(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	return poll(&p, 1, 0) == 1;
}

/* KVM takes the count on its own wakeup path; give it a moment, bounded. */
static bool consumed(int fd)
{
	for (int i = 0; i < 200; i++) {
		if (!readable(fd))
			return true;
		struct pollfd p = { -1, 0, 0 };
		poll(&p, 0, 5);
	}
	return false;
}

static void test_msi_irqfd_hook(void **state)
{
	(void)state;
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		SKIP_BECAUSE("no usable /dev/kvm");
	char err[256];
	struct kvm_machine *kmp = calloc(1, sizeof(*kmp));   /* large */
	assert_non_null(kmp);
	assert_int_equal(kvm_sys_open(&kmp->sys, err, sizeof(err)), 0);
	assert_int_equal(kvm_vm_create(&kmp->vm, &kmp->sys, NULL, err, sizeof(err)), 0);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), route = -1;
	uint64_t one = 1;
	assert_int_equal(kvm_board_msi_irqfd(kmp, efd, 0xfee00000, 0x41, &route, VHU_IRQFD_BIND), 0);
	assert_true(route >= KVM_VM_FIRST_MSI_GSI);
	int gsi = route;
	assert_int_equal(write(efd, &one, 8), 8);
	assert_true(consumed(efd));
	assert_int_equal(kvm_board_msi_irqfd(kmp, efd, 0xfee00000, 0x42, &route, VHU_IRQFD_UPDATE), 0);
	assert_int_equal(route, gsi);
	assert_int_equal(write(efd, &one, 8), 8);
	assert_true(consumed(efd));
	assert_int_equal(kvm_board_msi_irqfd(kmp, efd, 0, 0, &route, VHU_IRQFD_UNBIND), 0);
	assert_int_equal(write(efd, &one, 8), 8);
	assert_true(readable(efd));   /* ours again: the loop reads it */
	uint64_t v;
	assert_int_equal(read(efd, &v, 8), 8);
	assert_int_equal(kvm_board_msi_irqfd(kmp, efd, 0xfee00000, 0x43, &route, VHU_IRQFD_BIND), 0);
	assert_int_equal(route, gsi);
	assert_int_equal(kvm_board_msi_irqfd(kmp, efd, 0, 0, &route, VHU_IRQFD_UNBIND), 0);
	close(efd);
	kvm_vm_destroy(&kmp->vm);
	kvm_sys_close(&kmp->sys);
	free(kmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msi_irqfd_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
