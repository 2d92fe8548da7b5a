#!/usr/bin/env bash
# QMP hot-plug as QEMU 7.2 answers it, part one: a pci-bridge with
# shpc=on.  The
# same q35 machine (an SHPC bridge, a bridge with shpc=off, four drives, a
# device present from power-on)
# runs under QEMU paused (-S: its guest never answers the attention
# button) and under vmm with the test guest spinning (it never answers
# either); Kata's device_add/device_del/qom-get sequence goes to both, and
# the replies -- error classes and words, the shapes of returns, the
# values qom-get gives for addr and parent_bus, the events -- must be
# identical.  (test_qmp_vs_qemu.sh does the same for pcie-root-port.)
# QEMU 7.2's q35 also hot-plugs into bridges through ACPI (ICH9-LPC
# acpi-pci-hotplug-with-bridge-support), which vmm does not model; it is
# turned off on the QEMU side so that a bridge with shpc=off has no
# hot-plug on either, and the SHPC is what both use.
# The commas in the argument arrays belong to -device/-drive values.
# shellcheck disable=SC2054
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
QEMU=$(command -v qemu-system-x86_64 || true)
GUEST=$BUILD/guest-images/testguest.elf
VMM=${VMM:-$BUILD/vmm}
[ -n "$QEMU" ] || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ] || [ ! -f "$GUEST" ] || [ ! -x "$VMM" ]; then
	echo "SKIP: needs /dev/kvm, $VMM and $GUEST"; exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-qmp-hp.XXXXXX")
qpid= vpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	[ -n "$vpid" ] && kill "$vpid" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# compare TAG SEQ WHAT LABEL: run SEQ (a function: SOCK OUT) against QEMU
# q35 paused (-S: its guest never answers the attention button) with the
# arguments in the array qemu_args, then against vmm with the test guest
# spinning (it never answers either) with vmm_args; the two outputs must
# be the same.  Files are $TMP/{q,v}TAG.{sock,out,log}.
compare() {
	local seq=$2 what=$3 label=$4 q=$TMP/q$1 v=$TMP/v$1
	timeout 90 "$QEMU" -M q35 -S -enable-kvm -cpu host,-arch-capabilities -m 256M -nodefaults \
		-display none "${qemu_args[@]}" \
		-qmp "unix:$q.sock,server=on,wait=off" >"$q.log" 2>&1 &
	qpid=$!
	"$seq" "$q.sock" "$q.out"
	wait "$qpid"; qpid=
	if ! grep -q -- '->' "$q.out"; then
		echo "SKIP: QEMU q35 ($what) did not answer:"; cat "$q.out" "$q.log"; exit 77
	fi
	rm -f "$TMP"/c?.sock   # chardev sockets the QEMU run left
	timeout 90 "$VMM" -machine q35,accel=kvm -m 256M -kernel "$GUEST" \
		-append testguest.action=spin "${vmm_args[@]}" \
		-serial none -qmp "unix:$v.sock,server,nowait" >"$v.log" 2>&1 &
	vpid=$!
	"$seq" "$v.sock" "$v.out"
	wait "$vpid"; vpid=
	if ! diff -u "$q.out" "$v.out"; then
		echo "FAIL: $what hot-plug replies differ from QEMU's (- qemu q35 -S, + vmm)"
		exit 1
	fi
	echo "ok: $label as QEMU q35 -S: $(grep -c -- '->' "$v.out") commands"
}

printf 'VMM-TESTGUEST-DISK-SECTOR-0' >"$TMP/hp.img"; truncate -s 1M "$TMP/hp.img"
shpc_seq() { # SOCK OUT
	PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$1" >"$2" 2>&1 <<'PY'
import sys
from hotplug_qmp import Qmp, run_steps
q = Qmp(sys.argv[1])
blk = {'driver': 'virtio-blk-pci', 'drive': 'd0', 'id': 'v0', 'bus': 'br0', 'addr': '0x3'}
# 'deleted v0': a device in a slot the guest never enabled goes at once;
# QEMU sends the pair of events after the reply.  QEMU also sends
# DEVICE_DELETED for the virtio-backend child of a device_add its SHPC
# refused (slot 0): an artifact of its rollback, for a device that never
# was; vmm creates nothing then (docs/qmp.md), so only events naming a
# device are compared.
run_steps(q, [
    ('device_add', dict(blk, bus='br9')),
    ('device_add', dict(blk, bus='br1')),
    ('device_add', dict(blk, drive='zz')),
    ('device_add', blk), ('device_add', blk),
    ('device_add', dict(blk, id='v1', drive='d1')),
    ('device_add', dict(blk, id='v1', drive='d0', addr='0x4')),
    ('device_add', dict(blk, id='v1', drive='d1', addr='04')),
    ('device_add', dict(blk, id='v2', drive='d2', addr=None)),
    ('qom-get', {'path': '/machine/peripheral/v0', 'property': 'addr'}),
    ('qom-get', {'path': 'v1', 'property': 'addr'}),
    ('qom-get', {'path': 'v2', 'property': 'addr'}),
    ('qom-get', {'path': 'v0', 'property': 'parent_bus'}),
    ('device_del', {'id': 'v0'}), 'deleted v0', ('device_del', {'id': 'v0'}),
    ('device_del', {'id': 'v2'}), ('device_del', {'id': 'br0'}),
    ('device_del', {'id': 'c0'}), ('device_del', {'id': 'c0'}),
    ('qom-get', {'path': 'c0', 'property': 'addr'}),
], events=lambda e: 'device' in e['data'])
q.cmd('quit')
PY
}
bridges=(-device pci-bridge,id=br0,bus=pcie.0,chassis_nr=1,shpc=on,addr=0x2
	-device pci-bridge,id=br1,bus=pcie.0,chassis_nr=2,shpc=off,addr=0x3)
# A device present from power-on (its slot enabled): device_del is a
# request the guest never answers on either side.
cold=(-device virtio-blk-pci,id=c0,drive=d3,bus=br0,addr=0x6)
qemu_args=(-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off "${bridges[@]}")
vmm_args=("${bridges[@]}")
for d in d0 d1 d2 d3; do
	qemu_args+=(-drive "id=$d,file=$TMP/hp.img,if=none,format=raw,readonly=on")
	vmm_args+=(-drive "id=$d,file=$TMP/hp.img,readonly=on")
done
qemu_args+=("${cold[@]}"); vmm_args+=("${cold[@]}")
compare "" shpc_seq SHPC "device_add/device_del/qom-get on pci-bridge shpc=on"

# --- part two: scsi-hd on a virtio-scsi bus ------------------------------
# The same way, a virtio-scsi-pci with one LU from start-up, Kata's
# scsi-hd commands.  An LU goes at once on device_del (no guest step),
# with one DEVICE_DELETED.
scsi_seq() { # SOCK OUT
	PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$1" >"$2" 2>&1 <<'PY'
import sys
from hotplug_qmp import Qmp, run_steps
q = Qmp(sys.argv[1])
hd = {'driver': 'scsi-hd', 'drive': 'd1', 'id': 's1', 'bus': 'scsi0.0', 'scsi-id': 0, 'lun': 1}
run_steps(q, [
    ('device_add', hd),
    ('device_add', dict(hd, id='s2', drive='d2')),
    ('device_add', dict(hd, id='s2', drive='zz', lun=2)),
    ('device_add', dict(hd, id='s2', lun=2)),
    ('device_add', dict(hd, id='s2', drive='d2', **{'scsi-id': 300})),
    ('device_add', dict(hd, id='s2', drive='d2', lun=20000)),
    ('device_add', dict(hd, id='s2', drive='d2', bus='scsi0.1')),
    ('device_add', dict(hd, id='s2', drive='d2', bus='scsi0')),
    ('device_add', dict(hd, id='s2', drive='d2', bus='pcie.0')),
    ('device_add', dict(hd, id='s2', drive=None, lun=2)),
    ('device_add', dict(hd, id='s0', drive='d2', lun=2)),
    ('device_add', dict(hd, id='s2', drive='d2', bus=None, lun=2, **{'scsi-id': '1'})),
    ('device_del', {'id': 's1'}), 'deleted s1', ('device_del', {'id': 's1'}),
    ('device_del', {'id': 's0'}), 'deleted s0',
    ('device_del', {'id': 's2'}), 'deleted s2',
])
q.cmd('quit')
PY
}
printf 'VMM-TESTGUEST-DISK-SECTOR-0' >"$TMP/s0.img"; truncate -s 1M "$TMP/s0.img"
lu0=(-device scsi-hd,id=s0,drive=d0,bus=scsi0.0,scsi-id=0,lun=0)
qemu_args=(-device virtio-scsi-pci,id=scsi0,addr=0x4
	-drive "id=d0,file=$TMP/s0.img,if=none,format=raw,readonly=on"
	-drive "id=d1,file=$TMP/hp.img,if=none,format=raw,readonly=on"
	-drive "id=d2,file=$TMP/hp.img,if=none,format=raw,readonly=on" "${lu0[@]}")
vmm_args=(-device virtio-scsi-pci,id=scsi0,addr=0x4
	-drive "id=d0,file=$TMP/s0.img,readonly=on" -drive "id=d1,file=$TMP/hp.img,readonly=on"
	-drive "id=d2,file=$TMP/hp.img,readonly=on" "${lu0[@]}")
compare s scsi_seq scsi-hd "scsi-hd device_add/device_del"

# --- part three: virtserialport / virtconsole on a virtio-serial ---------
# Kata's agent channel and console: ports come and go at once (the driver
# hears DEVICE_ADD / DEVICE_REMOVE), one DEVICE_DELETED each.
port_seq() { # SOCK OUT
	PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$1" >"$2" 2>&1 <<'PY'
import sys
from hotplug_qmp import Qmp, run_steps
q = Qmp(sys.argv[1])
sp = {'driver': 'virtserialport', 'chardev': 'c1', 'id': 'p1', 'bus': 'ser0.0', 'name': 'agent.channel.0'}
run_steps(q, [
    ('device_add', sp),
    ('device_add', dict(sp, id='p2')),
    ('device_add', dict(sp, id='p2', chardev='zz')),
    ('device_add', dict(sp, id='p2', chardev='c2', bus='ser9.0')),
    ('device_add', dict(sp, id='p2', chardev='c2', bus='ser0')),
    ('device_add', dict(sp, id='p2', chardev='c2', bus='pcie.0')),
    ('device_add', dict(sp, id='p1', chardev='c2')),
    ('device_add', {'driver': 'virtconsole', 'chardev': 'c0', 'id': 'p2'}),
    ('device_del', {'id': 'p1'}), 'deleted p1', ('device_del', {'id': 'p1'}),
    ('device_del', {'id': 'con0'}), 'deleted con0',
    ('device_add', {'driver': 'virtconsole', 'chardev': 'c2', 'id': 'p3', 'bus': 'ser0.0'}),
    ('device_del', {'id': 'p3'}), 'deleted p3',
])
q.cmd('quit')
PY
}
qemu_args=()
for c in c0 c1 c2; do
	qemu_args+=(-chardev "socket,id=$c,path=$TMP/$c.sock,server=on,wait=off")
done
qemu_args+=(-device virtio-serial-pci,id=ser0,addr=0x5 -device virtconsole,chardev=c0,id=con0,bus=ser0.0)
vmm_args=("${qemu_args[@]}")
compare p port_seq "virtio-serial port" "virtserialport/virtconsole device_add/device_del"
