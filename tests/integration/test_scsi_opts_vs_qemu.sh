#!/usr/bin/env bash
# The -device options of issue 14 that this branch adds (virtio-scsi-pci/
# -device with scsi-hd and scsi-cd LUs, num-queues= on virtio-blk,
# num_queues= on virtio-scsi, romfile=, free-page-reporting=, the
# driver=NAME form), each line given to vmm and to QEMU 7.2: both must
# accept or both refuse, except where the case names why vmm differs.
# vmm's verdict: `-dump-dtb` of the parsed machine (exit 0) or exit 2 with
# one line.  QEMU's: started with -S, still running after 3 s = accepted,
# exit 1 = refused.  SKIP without qemu-system-x86_64.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMM=${VMM:-$ROOT/build/vmm}
QEMU=$(command -v qemu-system-x86_64 || true)
[ -x "$VMM" ] || { echo "FAIL: $VMM not built"; exit 1; }
[ -n "$QEMU" ] || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-scsiq.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
printf 'DISK' >"$TMP/d.img"; truncate -s 1M "$TMP/d.img"
D0="id=d0,file=$TMP/d.img,if=none,format=raw"
D1="id=d1,file=$TMP/d.img,if=none,format=raw,readonly=on"

vmm_verdict() {
	"$VMM" -machine q35,accel=sim "$@" -dump-dtb "$TMP/dtb" >"$TMP/vmm.out" 2>&1
	case $? in 0) echo accept ;; 2) echo refuse ;; *) echo "error $?" ;; esac
}
qemu_verdict() {
	timeout 3 "$QEMU" -nodefaults -machine q35 -accel tcg -display none -S \
		"$@" </dev/null >"$TMP/qemu.out" 2>&1
	case $? in 124) echo accept ;; 1) echo refuse ;; *) echo "error $?" ;; esac
}

# same ARGS...: both accept or both refuse.
same() {
	local v q
	v=$(vmm_verdict "$@"); q=$(qemu_verdict "$@")
	if [ "$v" = "$q" ]; then pass "$v by both: $*"
	else fail "$*: vmm $v, QEMU $q ($(head -c 200 "$TMP/vmm.out"; head -c 200 "$TMP/qemu.out"))"; fi
}
# differ WHY ARGS...: vmm refuses what QEMU accepts, for the reason named.
differ() {
	local why=$1; shift
	local v q
	v=$(vmm_verdict "$@"); q=$(qemu_verdict "$@")
	if [ "$v" = refuse ] && [ "$q" = accept ]; then pass "vmm refuses, QEMU accepts ($why): $*"
	else fail "$*: expected vmm refuse / QEMU accept ($why), got vmm $v, QEMU $q"; fi
}

# virtio-scsi and its LUs.
same -device virtio-scsi-pci,id=scsi0
same -device virtio-scsi-pci,id=scsi0,disable-modern=true
same -device driver=virtio-scsi-pci,id=scsi0,num_queues=4,romfile=
same -device virtio-scsi-pci,id=scsi0 -drive "$D0" -device scsi-hd,drive=d0,bus=scsi0.0,scsi-id=1,lun=2
same -device virtio-scsi-pci,id=scsi0 -drive "$D0" -device scsi-hd,drive=d0
same -device virtio-scsi-pci,id=scsi0 -drive "$D1" -device scsi-cd,drive=d1,bus=scsi0.0,channel=0
same -device virtio-scsi-pci,id=scsi0 -drive "$D0" -device scsi-hd,drive=d0,serial=ABC
same -drive "$D0" -device scsi-hd,drive=d0
same -device virtio-scsi-pci,id=scsi0 -device scsi-hd,bus=scsi0.0
same -device virtio-scsi-pci,id=scsi0 -drive "$D0" -device scsi-hd,drive=d0,bus=nosuch.0
same -device virtio-scsi-pci,id=scsi0 -drive "$D0" -device scsi-hd,drive=d0,scsi-id=256
same -device virtio-scsi-pci,id=scsi0 -drive "$D0" -device scsi-hd,drive=d0,lun=16384
same -device virtio-scsi-pci,id=scsi0 -drive "$D0" -drive "$D1" \
	-device scsi-hd,drive=d0,scsi-id=1,lun=1 -device scsi-cd,drive=d1,scsi-id=1,lun=1
same -device virtio-scsi-pci,id=scsi0 -drive "$D0" -device scsi-hd,drive=d0 \
	-device virtio-blk-pci,drive=d0
same -device virtio-scsi-pci,id=scsi0,num_queues=0
differ "VDEV_MAX_QUEUES: 14 request queues at most" -device virtio-scsi-pci,id=scsi0,num_queues=15
same -device virtio-scsi-pci,id=scsi0 -drive "$D0" -device scsi-hd,drive=d0,channel=1
# virtio-blk num-queues=.
same -drive "$D0" -device virtio-blk-pci,drive=d0,num-queues=4
same -drive "$D0" -device virtio-blk-pci,drive=d0,num-queues=0
differ "VDEV_MAX_QUEUES: 16 queues at most" -drive "$D0" -device virtio-blk-pci,drive=d0,num-queues=17
# romfile=: empty (Kata's default) means no ROM.
same -drive "$D0" -device virtio-blk-pci,drive=d0,romfile=
same -device virtio-balloon-pci,romfile=
differ "no expansion ROM BAR: an option ROM image would be accepted and not shown" \
	-device virtio-balloon-pci,romfile=efi-virtio.rom
# free page reporting.
same -device virtio-balloon-pci,free-page-reporting=on
same -device driver=virtio-balloon-pci,free-page-reporting=off
same -device virtio-balloon-pci,free-page-reporting=maybe
# The driver= form.
same -device driver=virtio-balloon-pci,id=b0
same -device id=b0,driver=virtio-balloon-pci
same -device driver=
differ "a property given twice is ambiguous (QEMU silently takes the last)" \
	-device virtio-balloon-pci,driver=virtio-balloon-pci

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
exit 0
