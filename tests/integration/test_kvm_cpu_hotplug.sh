#!/usr/bin/env bash
# vCPU hot-plug over QMP under KVM, with the test guest doing what the
# CPUS AML and the OS would (testguest.action=cpuhp, guest-images/
# testguest/cpuhp.c): -smp 1,maxcpus=3; query-hotpluggable-cpus shows the
# free slots; device_add host-x86_64-cpu as Kata sends it; the guest sees
# the insert event, starts the new vCPU with INIT-SIPI-SIPI and it runs
# guest code; device_del raises the remove event, the guest stops the AP
# and ejects it, DEVICE_DELETED follows and the slot is free again; the
# same slot is plugged a second time (the parked vCPU fd is reused).  The
# guest first makes the hostile writes (eject of the boot CPU, of an empty
# slot, of the new CPU before device_del, selector out of range).  QEMU
# 7.2's refusals for out-of-range ids, an occupied slot and an unknown
# property.  A guest that never ejects keeps the vCPU; the VMM answers.
# On q35 (GPE; recorded, and replayed by vmm-replay) and microvm (GED,
# under -no-reboot's seccomp filter).  A plugged vCPU survives
# system_reset.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

start_vm() { # NAME MACHINE ACTION-ARGS [VMM-OPTION...]
	rm -f "$TMP/$1.sock"
	local name=$1 machine=$2 args=$3
	shift 3
	timeout -k 5 120 "$VMM" "$@" -machine "$machine",accel=kvm -smp 1,maxcpus=3 -m 128M \
		-kernel "$GUEST" -append "$args" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-qmp "unix:$TMP/$name.sock,server,nowait" -serial "file:$TMP/$name.out" \
		>"$TMP/$name.log" 2>&1 &
	vpid=$!
}

run_scenario() { # NAME MACHINE [VMM-OPTION...]
	start_vm "$1" "$2" "testguest.action=cpuhp testguest.cpuhp=2h" "${@:3}"
	PYTHONPATH=$ROOT/tests/integration timeout 150 python3 - "$TMP" "$1" >"$TMP/$1.py.out" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp, wait_serial
tmp, name = sys.argv[1], sys.argv[2]
out = '%s/%s.out' % (tmp, name)
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)))
def err(r):
    return (r.get('error', {}).get('class'), r.get('error', {}).get('desc'))
q = Qmp('%s/%s.sock' % (tmp, name))
check('hostile register writes left the VMM and the boot CPU alone', wait_serial(out, 'cpuhp hostile ok'))
check('guest waits for a CPU', wait_serial(out, 'cpuhp waiting'))
r = q.cmd('query-hotpluggable-cpus')
slots = r.get('return', [])
check('three slots (-smp fills cores first, as QEMU 7.2), the last first',
      [(s['props']['socket-id'], s['props']['core-id'], s['props']['thread-id']) for s in slots] == [(0, 2, 0), (0, 1, 0), (0, 0, 0)], r)
check('only the boot CPU has a qom-path', ['qom-path' in s for s in slots] == [False, False, True], r)
check('type host-x86_64-cpu, one vCPU each', all(s['type'] == 'host-x86_64-cpu' and s['vcpus-count'] == 1 for s in slots), r)
cpu = {'driver': 'host-x86_64-cpu', 'id': 'cpu-1', 'socket-id': 0, 'core-id': 1, 'thread-id': 0}
cases = [
    (dict(cpu, **{'socket-id': 1}), 'Invalid CPU socket-id: 1 must be in range 0:0'),
    (dict(cpu, **{'core-id': 3}), 'Invalid CPU core-id: 3 must be in range 0:2'),
    ({k: v for k, v in cpu.items() if k != 'thread-id'}, 'CPU thread-id is not set'),
    (dict(cpu, **{'core-id': 0}), 'CPU[0] with APIC ID 0 exists'),
    (dict(cpu, foo=1), "Property 'host-x86_64-cpu.foo' not found"),
]
for args, want in cases:
    r = q.cmd('device_add', args)
    check('device_add refused as QEMU: ' + want, err(r) == ('GenericError', want), r)
r = q.cmd('query-cpus-fast')
check('nothing half-added: one CPU', len(r.get('return', [])) == 1, r)
for rnd in (1, 2):
    r = q.cmd('device_add', cpu)
    check('round %d: device_add cpu-1' % rnd, r == {'return': {}}, r)
    r = q.cmd('device_add', dict(cpu, id='cpu-9'))
    check('round %d: the slot is taken' % rnd, err(r) == ('GenericError', 'CPU[1] with APIC ID 1 exists'), r)
    check('round %d: the new vCPU runs guest code' % rnd,
          wait_serial(out, 'cpuhp cpu 1 apic 1 running', count=rnd))
    r = q.cmd('query-cpus-fast')
    cpus = r.get('return', [])
    check('round %d: query-cpus-fast lists it with its thread' % rnd,
          len(cpus) == 2 and cpus[1]['qom-path'] == '/machine/peripheral/cpu-1' and cpus[1]['thread-id'] > 0
          and cpus[1]['props']['core-id'] == 1, r)
    r = q.cmd('query-hotpluggable-cpus')
    check('round %d: its slot has a qom-path' % rnd, r['return'][1].get('qom-path') == '/machine/peripheral/cpu-1', r)
    check('round %d: guest waits for the eject request' % rnd, wait_serial(out, 'cpuhp waiting eject', count=rnd))
    r = q.cmd('device_del', {'id': 'cpu-1'})
    check('round %d: device_del cpu-1' % rnd, r == {'return': {}}, r)
    e = q.wait_event('DEVICE_DELETED', lambda e: e.get('data', {}).get('device') == 'cpu-1')
    check('round %d: DEVICE_DELETED after the guest ejected it' % rnd,
          e is not None and e['data']['path'] == '/machine/peripheral/cpu-1', e)
    q.events = [x for x in q.events if x['event'] != 'DEVICE_DELETED']
    check('round %d: guest saw it go' % rnd, wait_serial(out, 'cpuhp cpu 1 ejected', count=rnd))
    if rnd == 1:
        r = q.cmd('query-hotpluggable-cpus')
        check('round 1: the slot is free again', 'qom-path' not in r['return'][1], r)
    if rnd == 1: # after the last round the guest ends at once
        r = q.cmd('query-cpus-fast')
        check('round %d: one CPU left' % rnd, len(r.get('return', [])) == 1, r)
check('guest finished', wait_serial(out, 'done, 0 failed'))
PY
	wait "$vpid"; rc=$?
	sed 's/^/    /' "$TMP/$1.py.out" | grep -v '^    ok:'; grep -c '^ok:' "$TMP/$1.py.out" | sed "s/^/ok: $2 checks passed: /"
	if grep -q '^FAIL\|Traceback' "$TMP/$1.py.out" || ! grep -q '^ok: guest finished' "$TMP/$1.py.out"; then
		fail "$2 vCPU hot-plug scenario (see above)"; sed 's/^/    /' "$TMP/$1.out" "$TMP/$1.log" | tail -30
	fi
	expect_rc $rc 33 "$2: guest passed its checks and ended (debug-exit 0x10)"
}

run_scenario q35 q35 -trace-record "$TMP/q35.trace"
# The recording replays in the simulator: the plug and unplug requests
# are recorded host calls (machine/board_cpuhp.c), the rest bus accesses.
REPLAY=${REPLAY:-$BUILD/vmm-replay}
if out=$(timeout 120 "$REPLAY" "$TMP/q35.trace" 2>&1) && grep -q '^vmm-replay: match' <<<"$out"; then
	echo "ok: q35 recording with two hot-plugged vCPUs replays: $out"
else
	fail "q35 recording does not replay: $out"
fi
# -no-reboot: the seccomp filter without the machine-rebuild calls, so
# only what vCPU hot-plug adds lets a vCPU be created at run time.
[ -n "${CPUHP_Q35_ONLY:-}" ] || run_scenario mvm microvm -no-reboot

# --- a guest that never ejects ---
start_vm spin q35 "testguest.action=spin"
PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$TMP" >"$TMP/spin.py.out" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp
tmp = sys.argv[1]
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)))
q = Qmp(tmp + '/spin.sock')
r = q.cmd('device_add', {'driver': 'host-x86_64-cpu', 'id': 'cpu-2', 'socket-id': 0, 'core-id': 2, 'thread-id': 0})
check('device_add', r == {'return': {}}, r)
r = q.cmd('system_reset')
check('system_reset', r == {'return': {}}, r)
for _ in range(500):
    r = q.cmd('query-cpus-fast')
    cpus = r.get('return', [])
    if len(cpus) == 2 and cpus[1]['thread-id'] > 0:
        break
check('the hot-plugged vCPU survives the reset, with a thread of its own',
      len(cpus) == 2 and cpus[1]['qom-path'] == '/machine/peripheral/cpu-2' and cpus[1]['thread-id'] > 0, r)
r = q.cmd('device_del', {'id': 'cpu-2'})
check('device_del accepted', r == {'return': {}}, r)
r = q.cmd('device_del', {'id': 'cpu-2'})
check('a second device_del while pending is taken, as QEMU takes it', r == {'return': {}}, r)
for _ in range(50):
    r = q.cmd('query-status')
check('the VMM keeps answering', r.get('return', {}).get('status') == 'running', r)
check('no DEVICE_DELETED without the guest', not any(e['event'] == 'DEVICE_DELETED' for e in q.events), q.events)
r = q.cmd('query-cpus-fast')
check('the vCPU is still there', len(r.get('return', [])) == 2, r)
q.cmd('quit')
PY
wait "$vpid"
sed 's/^/    /' "$TMP/spin.py.out" | grep -v '^    ok:'; grep -c '^ok:' "$TMP/spin.py.out" | sed 's/^/ok: never-ejecting guest, checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/spin.py.out" && fail "never-ejecting guest (see above)"
grep -q "the vCPU is still there" "$TMP/spin.py.out" || fail "never-ejecting scenario did not finish"
finish
