#!/usr/bin/env bash
# Kata's pcie-root-port line under KVM: the test guest finds the root port
# (Red Hat 1b36:000c, a PCI-to-PCI bridge function with a PCIe capability),
# numbers its secondary bus, finds the virtio-blk-pci at device 0 behind it
# and reads sector 0 (presence detect and link up from power-on, BARs
# decoded through the port's windows).  Hot-plug over QMP is in
# test_kvm_hotplug.sh.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

make_disk "$TMP/disk.img"

run_guest rp -machine q35,accel=kvm -m 256M \
	-kernel "$GUEST" -append "q35 root port" \
	-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1,addr=2 \
	-drive id=d0,file="$TMP/disk.img",readonly=on \
	-device virtio-blk-pci,drive=d0,bus=rp0,addr=0x0 \
	-device pcie-root-port,id=rp1,bus=pcie.0,chassis=2,slot=2,addr=3 \
	-no-reboot
expect_rc $rc 33 "root port: guest passed its checks (debug-exit 0x10)"
expect_line "$out" "^testguest: pci 00:02.0 1b36:000c[[:space:]]*$" "root port: function at 00:02.0 (Red Hat 1b36:000c)"
expect_line "$out" "^testguest: pci 00:03.0 1b36:000c[[:space:]]*$" "root port: an empty one at 00:03.0"
expect_line "$out" "^testguest: pci-bridge 00:02.0 bus 01[[:space:]]*$" "root port: guest numbered its secondary bus 1"
expect_line "$out" "^testguest: pci 01:00.0 1af4:1042[[:space:]]*$" "root port: virtio-blk-pci at 01:00.0"
expect_line "$out" "^testguest: virtio-blk pci 01:00.0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "root port: sector 0 read behind the port"
expect_line "$out" "^testguest: done, 0 failed" "root port: done line"
expect_no_line "$TMP/rp.err" "not mapped|refus" "root port: no BAR conflicts or refusals logged"

finish
