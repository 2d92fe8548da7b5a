#!/usr/bin/env bash
# virtio-scsi end to end.  In the simulator: the self-test's checks of a
# scsi-hd and a scsi-cd on both transports, recorded and replayed.  Under
# KVM (SKIP without it): the test guest finds the virtio-scsi-pci function,
# looks for a target whose LUN 0 answers INQUIRY, clears the power-on unit
# attention with TEST UNIT READY and reads block 0 with READ(10).  Cases:
# LU on target 0, LU on target 3 behind the Kata line's pci-bridge (a
# writable, iops-limited drive), a scsi-cd, an adapter with no LU.  Where
# QEMU 7.2 is installed each line runs there too and the guest must see
# the same thing (vendor/product strings aside).  The device models are
# the ones the simulator tests drive (test_virtio_scsi); this checks the
# assembly and a real guest's view of it.
. "$(dirname "$0")/kvm_common.sh"
REPLAY=${REPLAY:-$BUILD/vmm-replay}
QEMU=$(command -v qemu-system-x86_64 || true)
make_disk "$TMP/disk.img"

# replay_ok TRACE WHAT: vmm-replay reports a match.
replay_ok() {
	local o
	o=$(timeout 60 "$REPLAY" "$1" 2>&1)
	if [ $? -eq 0 ] && echo "$o" | grep -q '^vmm-replay: match: [1-9]'; then
		pass "$2: $o"
	else
		fail "$2: $o"
	fi
}

# ---- accel=sim (no KVM needed): the self-test's scsi checks on both
# transports, recorded and replayed ----
out=$TMP/sim.out
timeout -k 5 60 "$VMM" -machine q35,accel=sim -m 64M \
	-device virtio-scsi-pci,id=scsi0 -drive id=d0,file="$TMP/disk.img" \
	-device scsi-hd,drive=d0,bus=scsi0.0,scsi-id=1 \
	-device virtio-scsi-device,id=scsi1 \
	-drive id=d1,file="$TMP/disk.img",readonly=on -device scsi-cd,drive=d1,bus=scsi1.0 \
	-trace-record "$TMP/sim.trace" >"$out" 2>&1
expect_rc $? 0 "sim: self-test of two adapters recorded"
expect_line "$out" "^selftest: ok: virtio-scsi over virtio-pci: scsi-hd drive d0 at target 1 lun 0" "sim: scsi-hd over virtio-pci"
expect_line "$out" "^selftest: ok: virtio-scsi over virtio-mmio: scsi-cd drive d1 at target 0 lun 0" "sim: scsi-cd over virtio-mmio"
replay_ok "$TMP/sim.trace" "sim: replay"
cmp -s "$TMP/disk.img" <(printf 'VMM-TESTGUEST-DISK-SECTOR-0'; head -c $((1048576 - 27)) /dev/zero) &&
	pass "sim: the image file is unchanged" || fail "sim: the image file changed"

kvm_require
DISK_RO="id=d0,file=$TMP/disk.img,if=none,format=raw,readonly=on"
SECTOR="sector0 'VMM-TESTGUEST-DISK-SECTOR-0'"

# run_both NAME ARGS...: vmm, then QEMU (out_q, rc_q) on the same line.
# QEMU alone gets -cpu host,-arch-capabilities (7.2 aborts on this host's
# MSR 0x10a otherwise; vmm refuses CPU flags and filters CPUID itself)
# and -display none.  disable-legacy=on on both: QEMU makes a q35
# virtio-scsi-pci transitional (id 0x1004) by default, the guest drives
# the modern interface (0x1048).
run_both() {
	local name=$1
	shift
	run_guest "$name" "$@"
	rc_q=skip
	[ -n "$QEMU" ] || return 0
	out_q=$TMP/$name.qemu.out
	timeout -k 5 60 "$QEMU" -nodefaults -cpu host,-arch-capabilities -display none \
		"$@" -device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial stdio \
		>"$out_q" 2>"$TMP/$name.qemu.err"
	rc_q=$?
}
qemu_expect() {  # RC REGEX WHAT
	if [ "$rc_q" = skip ]; then echo "SKIP: QEMU 7.2 not installed: $3"; return; fi
	expect_rc "$rc_q" "$1" "QEMU 7.2: $3"
	expect_line "$out_q" "$2" "QEMU 7.2: $3"
}

run_both scsi -machine q35,accel=kvm -m 128M -kernel "$GUEST" -append scsi \
	-device virtio-scsi-pci,id=scsi0,bus=pcie.0,addr=0x4,disable-legacy=on \
	-drive "$DISK_RO" -device scsi-hd,drive=d0,bus=scsi0.0,scsi-id=0,lun=0
expect_rc $rc 33 "scsi-hd on target 0: guest passed its checks"
expect_line "$out" "^testguest: pci 00:04.0 1af4:1048" "virtio-scsi-pci at 00:04.0 (modern device id 0x1048)"
expect_line "$out" "^testguest: virtio-scsi pci 00:04.0 target 0 lun 0 'VMM     VMM HARDDISK    ' ua 2900 $SECTOR" "INQUIRY, power-on unit attention on TEST UNIT READY, READ(10) of block 0"
qemu_expect 33 "^testguest: virtio-scsi pci 00:04.0 target 0 lun 0 'QEMU    QEMU HARDDISK   ' ua 2900 $SECTOR" "the same INQUIRY/TUR/READ(10) sequence"

# Targets 0-2 have no LU (BAD_TARGET), target 3 does; a writable drive
# with an iops limit; the adapter on the Kata pci-bridge.
run_both target3 -machine q35,accel=kvm -m 128M -kernel "$GUEST" \
	-device pci-bridge,bus=pcie.0,id=pci-bridge-0,chassis_nr=1,shpc=on,addr=2 \
	-device virtio-scsi-pci,id=scsi0,bus=pci-bridge-0,addr=1,disable-legacy=on \
	-drive id=d0,file="$TMP/disk.img",if=none,format=raw,throttling.iops-total=100 \
	-device scsi-hd,drive=d0,bus=scsi0.0,scsi-id=3
expect_rc $rc 33 "scsi-hd on target 3 behind a bridge: guest passed its checks"
# The same run recorded: vmm-replay must reproduce it.
timeout -k 5 60 "$VMM" -machine q35,accel=kvm -m 128M -kernel "$GUEST" \
	-device virtio-scsi-pci,id=scsi0,disable-legacy=on \
	-drive "$DISK_RO" -device scsi-hd,drive=d0,scsi-id=3 \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial stdio \
	-trace-record "$TMP/kvm.trace" >"$TMP/kvmrec.out" 2>&1
expect_rc $? 33 "kvm: the guest's scsi read recorded"
replay_ok "$TMP/kvm.trace" "kvm: replay of the guest's scsi read"
expect_line "$out" "^testguest: virtio-scsi pci 01:01.0 target 3 lun 0 'VMM     VMM HARDDISK    ' ua 2900 $SECTOR" "the guest skips the empty targets and reads target 3"
qemu_expect 33 "^testguest: virtio-scsi pci 01:01.0 target 3 lun 0 'QEMU    QEMU HARDDISK   ' ua 2900 $SECTOR" "target 3 behind the bridge"

# A CD-ROM LUN: 2048-byte blocks, so the 512-byte READ(10) buffer is too
# small and the device answers OVERRUN (the guest's step 7).
run_both cd -machine q35,accel=kvm -m 128M -kernel "$GUEST" \
	-device virtio-scsi-pci,id=scsi0,disable-legacy=on \
	-drive "$DISK_RO" -device scsi-cd,drive=d0
expect_rc $rc 35 "scsi-cd: the guest's 512-byte read fails"
expect_line "$out" "^testguest: virtio-scsi pci 00:0[0-9a-f].0 FAIL step 7" "scsi-cd: READ(10) of one 2048-byte block into 512 bytes is refused"
qemu_expect 35 "^testguest: virtio-scsi pci 00:0[0-9a-f].0 FAIL step 7" "scsi-cd read into 512 bytes refused"

# virtio-scsi-device on microvm (virtio-mmio), and on q35 next to a
# virtio-scsi-pci: two adapters, each with its own LU, found and read.
# (Not run on QEMU: its microvm puts virtio-mmio at 0xfeb00000 and has no
# RTC/PIT unless asked, where the test guest expects this layout.)
run_guest mmio -machine microvm,accel=kvm -m 128M -kernel "$GUEST" \
	-device virtio-scsi-device,id=scsi0 \
	-drive "$DISK_RO" -device scsi-hd,drive=d0,scsi-id=5
expect_rc $rc 33 "microvm, virtio-scsi-device: guest passed its checks"
expect_line "$out" "^testguest: virtio-scsi mmio 0xd0000000 target 5 lun 0 'VMM     VMM HARDDISK    ' ua 2900 $SECTOR" "INQUIRY + TUR + READ(10) over virtio-mmio"
run_guest two -machine q35,accel=kvm -m 128M -kernel "$GUEST" \
	-device virtio-scsi-pci,id=scsi0 -drive "$DISK_RO" -device scsi-hd,drive=d0,bus=scsi0.0 \
	-device virtio-scsi-device,id=scsi1 \
	-drive id=d1,file="$TMP/disk.img",if=none,readonly=on -device scsi-hd,drive=d1,bus=scsi1.0,scsi-id=2
expect_rc $rc 33 "two adapters: guest passed its checks"
expect_line "$out" "^testguest: virtio-scsi pci 00:0[0-9a-f].0 target 0 lun 0 'VMM     VMM HARDDISK    ' ua 2900 $SECTOR" "two adapters: the PCI one"
expect_line "$out" "^testguest: virtio-scsi mmio 0xd0000000 target 2 lun 0 'VMM     VMM HARDDISK    ' ua 2900 $SECTOR" "two adapters: the MMIO one"

# Both adapters on an I/O thread: their kicks arrive through ioeventfds.
run_guest iothread -machine q35,accel=kvm -m 128M -kernel "$GUEST" -object iothread,id=io0 \
	-device virtio-scsi-pci,id=scsi0,iothread=io0 -drive "$DISK_RO" -device scsi-hd,drive=d0,bus=scsi0.0 \
	-device virtio-scsi-device,id=scsi1,iothread=io0 \
	-drive id=d1,file="$TMP/disk.img",if=none,readonly=on -device scsi-hd,drive=d1,bus=scsi1.0
expect_rc $rc 33 "iothread=: guest passed its checks"
expect_line "$out" "^testguest: virtio-scsi pci 00:0[0-9a-f].0 target 0 lun 0 .* $SECTOR" "iothread=: virtio-scsi-pci read"
expect_line "$out" "^testguest: virtio-scsi mmio 0xd0000000 target 0 lun 0 .* $SECTOR" "iothread=: virtio-scsi-device read"

# No LU at all: every target is BAD_TARGET.
run_both empty -machine q35,accel=kvm -m 128M -kernel "$GUEST" \
	-device virtio-scsi-pci,id=scsi0,disable-legacy=on
expect_rc $rc 35 "virtio-scsi without LUs: the guest finds no disk"
expect_line "$out" "^testguest: virtio-scsi pci 00:0[0-9a-f].0 FAIL step 8" "no target answers"
qemu_expect 35 "^testguest: virtio-scsi pci 00:0[0-9a-f].0 FAIL step 8" "no target answers"
finish
