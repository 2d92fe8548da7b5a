#!/usr/bin/env bash
# Debian's 6.1 kernel and initramfs on -machine microvm (virtio-mmio,
# hardware-reduced ACPI), recorded, to the last line this host's KVM lets
# any VMM reach (linux_limit.sh says why and what the arguments are).
# It must get there with no Oops/BUG/divide error/panic/WARNING: before
# issue 12's fix it died at the first sti with a "divide error" (the
# uninitialized 8259 delivered PIT IRQ0 as vector 0).  Where QEMU is
# installed, QEMU's microvm boots the same kernel and command line side by
# side (the two VMs run in parallel, one per core) and the kernel's
# sequence of subsystems must be the same.  The trace must replay in the
# simulator to its end with no divergence and hold the boot's device
# traffic.  Under ASan (make check-asan) only test_linux_boot_q35.sh
# boots, to keep check-asan inside CI's budget.
. "$(dirname "$0")/linux_limit.sh"
limit_require
if is_asan_build; then
	echo "SKIP: microvm Linux boot under ASan: check-asan boots Linux once (test_linux_boot_q35.sh, more device models); the plain pass boots microvm"
	exit 77
fi

name=microvm
vmm_start "$name" -machine microvm,accel=kvm -m 512M
vpid=$VMM_PID
qpid=
if have_qemu; then
	# ioapic2=off: one IOAPIC (GSI 0-23), as vmm's microvm has.
	qemu_start "$name-qemu" -M microvm,ioapic2=off -m 512M
	qpid=$QEMU_PID
fi
wait_limit "$name" "$vpid" "$VMM_STOPPED_RE"
vmm_reached=$REACHED
check_vm "$name" vmm
check_vmm_stop "$name"

if [ -n "$qpid" ]; then
	wait_limit "$name-qemu" "$qpid" "$QEMU_STOPPED_RE"
	check_vm "$name-qemu" QEMU
	# Lines that legitimately differ, and why:
	#   Kernel/User page tables isolation, MDS, RETBleed: the CPU model.
	#     QEMU 7.2 runs here only without arch-capabilities (it aborts
	#     on MSR 0x10a), so its guest must assume Meltdown and MDS; vmm
	#     passes the host's ARCH_CAPABILITIES through.
	drop='^(Kernel/User page tables isolation|MDS|RETBleed):'
	[ "$vmm_reached" = 1 ] && compare_qemu "$name" "$drop"
else
	echo "SKIP: QEMU comparison: $QEMU is not installed"
fi

replay_check "$name"
trace_common_checks "$name"
keep_artifacts
finish
