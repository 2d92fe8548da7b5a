#!/usr/bin/env bash
# Kata's pci-bridge under KVM: the test guest scans bus 0, numbers each
# PCI-to-PCI bridge itself as firmware does (slot order from bus 1), scans
# behind it with type 1 config cycles and reads sector 0 of a virtio-blk-pci
# that sits behind the bridge (BARs decoded through the bridge's window).
# Two bridges listed in the opposite order of their slots show that the
# guest's numbering, not the VMM's preset, decides which bus a device is on.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

make_disk "$TMP/disk.img"

# --- Kata's bridge line, a disk behind it and one on pcie.0 ---
run_guest kata -machine q35,accel=kvm -m 256M \
	-kernel "$GUEST" -append "q35 bridge" \
	-device pci-bridge,bus=pcie.0,id=pci-bridge-0,chassis_nr=1,shpc=on,addr=2 \
	-drive id=d0,file="$TMP/disk.img",readonly=on \
	-device virtio-blk-pci,drive=d0,bus=pci-bridge-0,addr=1,disable-modern=true \
	-drive id=d1,file="$TMP/disk.img",readonly=on \
	-device virtio-blk-pci,drive=d1,addr=3 \
	-no-reboot
expect_rc $rc 33 "kata bridge: guest passed its checks (debug-exit 0x10)"
expect_line "$out" "^testguest: pci 00:02.0 1b36:0001[[:space:]]*$" "kata bridge: bridge function at 00:02.0 (Red Hat 1b36:0001)"
expect_line "$out" "^testguest: pci-bridge 00:02.0 bus 01[[:space:]]*$" "kata bridge: guest numbered the bridge's secondary bus 1"
# disable-modern=true as Kata passes it: the legacy I/O BAR, decoded
# through the bridge's I/O window.
expect_line "$out" "^testguest: pci 01:01.0 1af4:1001[[:space:]]*$" "kata bridge: legacy virtio-blk-pci found at 01:01.0 through type 1 config"
expect_line "$out" "^testguest: virtio-blk pci-legacy 01:01.0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "kata bridge: sector 0 read behind the bridge over the legacy I/O BAR"
expect_line "$out" "^testguest: virtio-blk pci 00:03.0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "kata bridge: bus 0 disk still works"
expect_line "$out" "^testguest: pci 4 functions[[:space:]]*$" "kata bridge: 4 functions on buses 0 and 1"
expect_line "$out" "^testguest: done, 0 failed" "kata bridge: done line"
expect_no_line "$TMP/kata.err" "not mapped|refus|only PCI bus 0" "kata bridge: no BAR conflicts or refusals logged"

# --- two bridges, listed against slot order ---
run_guest two -machine q35,accel=kvm -m 256M \
	-kernel "$GUEST" -append "q35 two bridges" \
	-device pci-bridge,id=late,chassis_nr=2,addr=5 \
	-device pci-bridge,id=early,chassis_nr=1,addr=2 \
	-drive id=d0,file="$TMP/disk.img",readonly=on \
	-device virtio-blk-pci,drive=d0,bus=early,addr=4 \
	-drive id=d1,file="$TMP/disk.img",readonly=on \
	-device virtio-blk-pci,drive=d1,bus=late,addr=7 \
	-no-reboot
expect_rc $rc 33 "two bridges: guest passed its checks"
expect_line "$out" "^testguest: pci-bridge 00:02.0 bus 01[[:space:]]*$" "two bridges: slot 2 numbered bus 1 by the guest"
expect_line "$out" "^testguest: pci-bridge 00:05.0 bus 02[[:space:]]*$" "two bridges: slot 5 numbered bus 2 by the guest"
expect_line "$out" "^testguest: virtio-blk pci 01:04.0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "two bridges: disk behind the slot 2 bridge on bus 1"
expect_line "$out" "^testguest: virtio-blk pci 02:07.0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "two bridges: disk behind the slot 5 bridge on bus 2"
expect_line "$out" "^testguest: done, 0 failed" "two bridges: done line"

finish
