#!/usr/bin/env bash
# The test guest under KVM: every line it prints is checked, on microvm
# (virtio-mmio) and on q35 (virtio-pci, nvdimm), plus -smp 2.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

# --- microvm, virtio-blk over virtio-mmio ---
make_disk "$TMP/disk.img"
run_guest microvm -machine microvm,accel=kvm -cpu host -m 128M -smp 1 \
	-kernel "$GUEST" -append "console=ttyS0 testguest microvm" \
	-drive id=d0,file="$TMP/disk.img",readonly=on \
	-device virtio-blk-device,drive=d0 \
	-no-reboot
expect_rc $rc 33 "microvm: guest passed its checks (debug-exit 0x10)"
expect_line "$out" "^testguest: hello, pvh start_info 0x6000 cmdline 'console=ttyS0 testguest microvm'" "microvm: PVH start info and exact command line"
# 128 MiB minus the reserved 0x9fc00-0xfffff window.
expect_line "$out" "^testguest: e820 [0-9]+ entries, ram 0x7f9fc00 bytes" "microvm: e820 RAM total"
year=$(date -u +%Y)
expect_line "$out" "^testguest: rtc ($year|$((year + 1)))-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]" "microvm: RTC shows this year"
expect_line "$out" "^testguest: pit irq0 [3-9][0-9]* ticks" "microvm: PIT IRQ0 delivered"
expect_line "$out" "^testguest: pci 0 functions" "microvm: no PCI"
expect_line "$out" "^testguest: virtio-blk mmio 0xd0000000 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "microvm: virtio-blk read over virtio-mmio"
expect_line "$out" "^testguest: done, 0 failed" "microvm: done line"

# --- q35: virtio-blk over virtio-pci and virtio-mmio, nvdimm ---
make_pmem "$TMP/pmem.img"
run_guest q35 -machine q35,accel=kvm,nvdimm=on -m 256M,slots=2,maxmem=1G \
	-kernel "$GUEST" -append "q35" \
	-drive id=d0,file="$TMP/disk.img",readonly=on \
	-device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3 \
	-drive id=d1,file="$TMP/disk.img",readonly=on \
	-device virtio-blk-device,drive=d1 \
	-object memory-backend-file,id=mem0,mem-path="$TMP/pmem.img",size=2M,readonly=on \
	-device nvdimm,id=nv0,memdev=mem0,unarmed=on \
	-no-reboot
expect_rc $rc 33 "q35: guest passed its checks"
expect_line "$out" "^testguest: pci 00:00.0 8086:29c0" "q35: host bridge at 00:00.0"
expect_line "$out" "^testguest: pci 00:03.0 1af4:1042" "q35: virtio-blk-pci at 00:03.0"
expect_line "$out" "^testguest: virtio-blk pci 00:03.0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "q35: virtio-blk read over virtio-pci"
expect_line "$out" "^testguest: virtio-blk mmio 0xd0000000 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "q35: virtio-blk read over virtio-mmio"
expect_line "$out" "^testguest: nvdimm 0x[0-9a-f]+ size 0x200000 sig 'VMM-NVDIMM-SIG-0'" "q35: nvdimm signature through the NFIT"
expect_line "$out" "^testguest: done, 0 failed" "q35: done line"

# --- the same disks on an I/O thread: kicks arrive through ioeventfds ---
run_guest iothread -machine q35,accel=kvm -m 128M -kernel "$GUEST" \
	-object iothread,id=io0 \
	-drive id=d0,file="$TMP/disk.img",readonly=on \
	-device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3,iothread=io0 \
	-drive id=d1,file="$TMP/disk.img",readonly=on \
	-device virtio-blk-device,drive=d1,iothread=io0
expect_rc $rc 33 "iothread: guest passed its checks"
expect_line "$out" "^testguest: virtio-blk pci 00:03.0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "iothread: virtio-pci read"
expect_line "$out" "^testguest: virtio-blk mmio 0xd0000000 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "iothread: virtio-mmio read"

# --- the README's Kata-style command line (without the tap netdev, which
# needs a host interface), the test guest in place of the kernel ---
printf 'KATA-ROOTFS' >"$TMP/rootfs.img"
truncate -s 256M "$TMP/rootfs.img"
run_guest kata -name sandbox-1 -uuid 977692f6-744c-4917-8ccd-ffad44020fe9 \
	-machine microvm,accel=kvm,nvdimm=on -cpu host -smp 1,maxcpus=8 \
	-m 512M,slots=10,maxmem=16811M -kernel "$GUEST" \
	-append "console=ttyS0 root=/dev/pmem0p1 rootflags=dax ro" \
	-object memory-backend-file,id=mem0,mem-path="$TMP/rootfs.img",size=256M,readonly=on \
	-device nvdimm,id=nv0,memdev=mem0,unarmed=on \
	-drive id=d0,file="$TMP/disk.img",readonly=off,direct=off,throttling.iops-total=200 \
	-device virtio-blk-device,drive=d0,id=blk0 \
	-object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-device,rng=rng0 \
	-chardev socket,id=c0,path="$TMP/console.sock",server,nowait \
	-device virtio-serial-device -device virtconsole,chardev=c0 \
	-rtc base=utc -qmp unix:"$TMP/vmm.sock",server,nowait \
	-nodefaults -no-user-config -nographic -vga none -realtime mlock=off \
	-global kvm-pit.lost_tick_policy=discard -no-reboot
expect_rc $rc 33 "Kata-style command line: guest passed its checks"
expect_line "$out" "^testguest: nvdimm 0x[0-9a-f]+ size 0x10000000 sig 'KATA-ROOTFS'" "Kata-style: rootfs nvdimm readable"
expect_line "$out" "^testguest: virtio-blk mmio 0xd0000000 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "Kata-style: virtio-blk"

# --- two vCPUs: the AP waits for INIT/SIPI, the BSP runs the checks ---
run_guest smp -machine microvm,accel=kvm -smp 2 -m 64M -kernel "$GUEST"
expect_rc $rc 33 "-smp 2: guest passed its checks"

# --- a failing check reports through debug-exit as 0x11 -> 35: a disk
# whose sector read fails is not available, so use the RTC instead: a
# date before 2000 fails the guest's plausibility check. ---
run_guest fail -machine microvm,accel=kvm -m 64M -kernel "$GUEST" \
	-rtc base=1999-12-31
expect_rc $rc 35 "a failed guest check gives exit 35"
expect_line "$out" "^testguest: rtc 1999-12-31" "-rtc base=DATE reaches the guest"
finish
