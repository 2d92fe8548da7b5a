#!/usr/bin/env bash
# vCPU hot-plug over QMP as QEMU 7.2 answers it: the same q35 with
# -smp 1,maxcpus=3 on each side, the same test guest doing the guest's
# part (testguest.action=cpuhp: it switches QEMU's ICH9 to the modern
# interface, starts the new vCPU, ejects it on request), and Kata's
# sequence: query-hotpluggable-cpus, device_add of host-x86_64-cpu with
# the usual mistakes (ids out of range, a missing id, an occupied slot,
# an unknown property, a duplicate id), the good one, query-cpus-fast,
# device_del, DEVICE_DELETED, device_del of what is gone.  Replies must
# be identical: error classes and words, and the values of the slots'
# props, types and qom-paths (thread ids only by type), and both guests
# must pass.  (Under -S QEMU's ICH9 is still in its legacy CPU hot-plug
# mode and refuses device_del of a CPU; with the modern interface there
# is no such refusal, so the comparison runs the guest.)
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
VMM=${VMM:-$BUILD/vmm}
GUEST=$BUILD/guest-images/testguest.elf
QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ] || [ ! -f "$GUEST" ] || [ ! -x "$VMM" ]; then
	echo "SKIP: needs /dev/kvm, $VMM and $GUEST"; exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-cpuhp.XXXXXX")
qpid= vpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	[ -n "$vpid" ] && kill "$vpid" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

seq_run() { # SOCK OUT SERIAL
	PYTHONPATH=$ROOT/tests/integration timeout 100 python3 - "$1" "$3" >"$2" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp, wait_serial
q = Qmp(sys.argv[1])
serial = sys.argv[2]
print('guest waits:', wait_serial(serial, 'cpuhp waiting'))
def norm(v):
    if isinstance(v, dict):
        return {k: (type(x).__name__ if k == 'thread-id' and 'props' in v else norm(x))
                for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v
cpu = {'driver': 'host-x86_64-cpu', 'id': 'cpu-1', 'socket-id': 0, 'core-id': 1, 'thread-id': 0}
seq = [
    ('query-hotpluggable-cpus', None),
    ('device_add', dict(cpu, **{'socket-id': 1})),
    ('device_add', dict(cpu, **{'core-id': 3})),
    ('device_add', dict(cpu, **{'thread-id': 1})),
    ('device_add', {k: v for k, v in cpu.items() if k != 'socket-id'}),
    ('device_add', {k: v for k, v in cpu.items() if k != 'core-id'}),
    ('device_add', {k: v for k, v in cpu.items() if k != 'thread-id'}),
    ('device_add', dict(cpu, **{'core-id': 0})),
    ('device_add', dict(cpu, foo=1)),
    ('device_add', dict(cpu, **{'die-id': 0})),
    ('device_add', dict(cpu, id='cpu-x')),
    ('device_add', dict(cpu, **{'core-id': 2})),
    ('query-hotpluggable-cpus', None),
    ('query-cpus-fast', None),
    ('device_del', {'id': 'nope'}),
    ('wait', ('cpuhp waiting eject', 1)),
    # (A second device_del right away races the guest's eject: {} before
    # it, DeviceNotFound after, on either side; test_kvm_cpu_hotplug.sh
    # checks it against a guest that never ejects.)
    ('device_del', {'id': 'cpu-1'}),
    ('event', 'DEVICE_DELETED'), ('event', 'DEVICE_DELETED'),
    ('wait', ('cpuhp cpu 1 ejected', 1)),
    ('query-cpus-fast', None),
    ('query-hotpluggable-cpus', None),
    ('device_del', {'id': 'cpu-1'}),
    # Another slot: QEMU 7.2 cannot plug a slot again on this host's KVM
    # (its parked vCPU fails KVM_SET_CPUID2 with EINVAL and QEMU exits);
    # ours can, test_kvm_cpu_hotplug.sh plugs the same slot twice.
    ('device_add', dict(cpu, id='cpu-2', **{'core-id': 2})),
    ('wait', ('cpuhp waiting eject', 2)),
    ('query-cpus-fast', None),
    ('device_del', {'id': 'cpu-2'}),
    ('event', 'DEVICE_DELETED'), ('event', 'DEVICE_DELETED'),
]
for name, args in seq:
    if name == 'wait':
        print('guest:', args[0], wait_serial(serial, args[0], count=args[1]))
        continue
    if name == 'event':
        e = q.wait_event(args)
        print('event:', args, json.dumps(e and e.get('data'), sort_keys=True))
        continue
    r = q.cmd(name, args)
    print(name, json.dumps(args, sort_keys=True), '->',
          json.dumps(r['error'] if 'error' in r else norm(r['return']), sort_keys=True))
print('other events:', sorted(e['event'] for e in q.events))
print('guest done:', wait_serial(serial, 'done, 0 failed'))
PY
}
SMP="-smp 1,maxcpus=3"
rm -f "$TMP/q.sock" "$TMP/v.sock"
# shellcheck disable=SC2086
timeout 90 "$QEMU" -M q35 -enable-kvm -cpu host,-arch-capabilities $SMP -m 128M \
	-nodefaults -display none -kernel "$GUEST" -append "testguest.action=cpuhp testguest.cpuhp=2" \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -serial file:"$TMP/q.serial" \
	-qmp "unix:$TMP/q.sock,server=on,wait=off" >"$TMP/q.log" 2>&1 &
qpid=$!
seq_run "$TMP/q.sock" "$TMP/q.out" "$TMP/q.serial"
wait "$qpid"; qrc=$?; qpid=
if ! grep -q -- '->' "$TMP/q.out"; then
	echo "SKIP: QEMU under KVM did not start:"; cat "$TMP/q.log" "$TMP/q.out"; exit 77
fi
# shellcheck disable=SC2086
timeout 90 "$VMM" -machine q35,accel=kvm $SMP -m 128M -kernel "$GUEST" \
	-append "testguest.action=cpuhp testguest.cpuhp=2" -device isa-debug-exit,iobase=0xf4,iosize=4 \
	-serial file:"$TMP/v.serial" -qmp "unix:$TMP/v.sock,server,nowait" >"$TMP/v.log" 2>&1 &
vpid=$!
seq_run "$TMP/v.sock" "$TMP/v.out" "$TMP/v.serial"
wait "$vpid"; vrc=$?; vpid=
[ "$qrc" = 33 ] || echo "note: QEMU exited $qrc (the test guest's debug-exit is 33)"
[ "$vrc" = 33 ] || { echo "FAIL: vmm exited $vrc, want 33 (guest passed)"; cat "$TMP/v.serial" "$TMP/v.log"; exit 1; }
if ! diff -u "$TMP/q.out" "$TMP/v.out"; then
	echo "FAIL: CPU hot-plug replies differ from QEMU's (- qemu q35, + vmm)"
	for f in q.log q.serial v.log; do echo "== $f"; tail -n 5 "$TMP/$f"; done
	exit 1
fi
grep -q '^guest done: True' "$TMP/v.out" || { echo "FAIL: the guest did not finish"; exit 1; }
echo "ok: query-hotpluggable-cpus, device_add/device_del of host-x86_64-cpu, query-cpus-fast as QEMU q35: $(grep -c -- '->' "$TMP/v.out") commands"
