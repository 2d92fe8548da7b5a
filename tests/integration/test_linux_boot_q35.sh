#!/usr/bin/env bash
# Debian's 6.1 kernel and initramfs on -machine q35 (PCIe, full ACPI with
# an NFIT nvdimm), recorded, to the last line this host's KVM lets any
# VMM reach (linux_limit.sh says why and what the arguments are), with
# no Oops/BUG/divide error/panic/WARNING before it.  Where QEMU is
# installed, QEMU's q35 boots the same kernel and command line side by
# side and the kernel's sequence of subsystems must be the same.  The
# trace must replay in the simulator to its end with no divergence and
# hold the boot's device traffic, PCI configuration included.  Under
# ASan (make check-asan) this is the one Linux boot, without QEMU.
. "$(dirname "$0")/linux_limit.sh"
limit_require

name=q35
printf 'VMM-NVDIMM-SIG-0' >"$TMP/pmem.img"
truncate -s 2M "$TMP/pmem.img"
nvdimm=(-object memory-backend-file,id=m0,mem-path="$TMP/pmem.img",size=2M,readonly=on
	-device nvdimm,id=nv0,memdev=m0,unarmed=on)
vmm_start "$name" -machine q35,accel=kvm,nvdimm=on -m 1G,slots=2,maxmem=4G "${nvdimm[@]}"
vpid=$VMM_PID
qpid=
if is_asan_build; then
	echo "SKIP: QEMU comparison under ASan: it checks the kernel's path, not vmm's memory safety, and ran in the plain pass"
elif have_qemu; then
	# hpet=off: vmm's q35 has no HPET (with one, Linux also takes the
	# PIT/HPET timer check path).  -nodefaults: no NIC, no VGA.
	qemu_start "$name-qemu" -M q35,nvdimm=on,hpet=off -m 1G,slots=2,maxmem=4G "${nvdimm[@]}"
	qpid=$QEMU_PID
else
	echo "SKIP: QEMU comparison: $QEMU is not installed"
fi
wait_limit "$name" "$vpid" "$VMM_STOPPED_RE"
vmm_reached=$REACHED
check_vm "$name" vmm
check_vmm_stop "$name"

if [ -n "$qpid" ]; then
	wait_limit "$name-qemu" "$qpid" "$QEMU_STOPPED_RE"
	check_vm "$name-qemu" QEMU
	# Lines that legitimately differ, and why:
	#   Kernel/User page tables isolation, MDS, RETBleed: the CPU model
	#     (test_linux_boot_microvm.sh says why).
	#   SMBIOS: SeaBIOS provides SMBIOS tables; vmm boots the kernel
	#     without firmware and has none ("DMI not present").
	#   Disabled / x86/PAT: MTRRs disabled / CPU MTRRs all blank: SeaBIOS
	#     programs the MTRRs; without firmware they are blank, which Linux
	#     accepts on a virtualized system.
	#   SRAT, NUMA, No NUMA configuration, Faking a node, software IO TLB:
	#     QEMU writes an SRAT with the hotpluggable range up to maxmem
	#     (above 4 GiB, so the kernel also sets up swiotlb); vmm writes
	#     none.
	drop='^(Kernel/User page tables isolation|MDS|RETBleed|SMBIOS|Disabled$|x86/PAT: MTRRs disabled|CPU MTRRs all blank|SRAT|NUMA|ACPI: SRAT|No NUMA configuration|Faking a node|software IO TLB)'
	[ "$vmm_reached" = 1 ] && compare_qemu "$name" "$drop"
fi

replay_check "$name"
trace_common_checks "$name"
# PCI configuration mechanism #1 (0xCF8/0xCFC): the kernel's early scan of
# bus 0 (early quirks) finds the host bridge, 8086:29c0.
trace_has "$name" 1 'bus pio 0xcf8 write 4 byte\(s\) 0x80000000 ' "a config read of 00:00.0"
trace_has "$name" 1 'bus pio 0xcfc read 2 byte\(s\) 0x8086 ' "the host bridge's vendor id"
trace_has "$name" 32 'bus pio 0xcf8 write 4 byte\(s\) 0x8000[0-9a-f]{2}0a ' "the class-code scan of bus 0"
# Linux stops the PIT's channel 0 (mode 0, count 0) once the TSC-deadline
# LAPIC timer makes it unneeded (clockevent_i8253_disable()).
trace_has "$name" 1 'bus pio 0x43 write 1 byte\(s\) 0x30 ' "PIT channel 0 stopped by the kernel"
keep_artifacts
finish
