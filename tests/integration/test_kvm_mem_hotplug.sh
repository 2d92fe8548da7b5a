#!/usr/bin/env bash
# DIMM hot-plug over QMP under KVM, with the test guest doing what the
# DSDT's MHPD methods would (testguest.action=memhp, port 0xa00):
# object-add of a memory backend and device_add pc-dimm as Kata sends
# them; the guest sees the insert event, reads base and length, writes
# and reads both ends of the DIMM; query-memory-devices reports it in
# QEMU's shape; object-del of the backend in use is refused; device_del
# raises the remove event, the guest ejects, DEVICE_DELETED follows and
# the backend can go.  QEMU 7.2's refusals (busy memdev, missing memdev,
# size not a multiple of 2 MiB, bigger than the window, no free slot),
# on q35 (GPE) and microvm (GED).  A guest that never ejects keeps the
# DIMM and the VMM answering.  virtio-mem (testguest.action=virtio-mem):
# qom-set requested-size grows and shrinks it, the guest plugs, uses
# and unplugs blocks, and sees NACK / ERROR for hostile requests.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

start_vm() { # NAME MACHINE ACTION [VMM OPTIONS]
	rm -f "$TMP/$1.sock"
	timeout -k 5 60 "$VMM" -machine "$2,accel=kvm" -m 128M,slots=2,maxmem=1G "${@:4}" \
		-kernel "$GUEST" -append "testguest.action=$3" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-qmp "unix:$TMP/$1.sock,server,nowait" -serial "file:$TMP/$1.out" \
		>"$TMP/$1.log" 2>&1 &
	vpid=$!
}

scenario() { # NAME MACHINE [VMM OPTIONS]
	start_vm "$1" "$2" memhp "${@:3}"
	PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$TMP" "$1" >"$TMP/$1.py.out" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp, wait_serial
tmp, name = sys.argv[1], sys.argv[2]
out = '%s/%s.out' % (tmp, name)
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)))
def err(r):
    return (r.get('error', {}).get('class'), r.get('error', {}).get('desc'))
q = Qmp('%s/%s.sock' % (tmp, name))
check('guest waits for a DIMM', wait_serial(out, 'memhp waiting'))
M = 128 << 20
for oid, size in (('m1', M), ('m2', M), ('odd', M + 4096), ('big', 2 << 30), ('m3', M)):
    r = q.cmd('object-add', {'qom-type': 'memory-backend-ram', 'id': oid, 'size': size})
    check('object-add %s' % oid, r == {'return': {}}, r)
cases = [
    ({'driver': 'pc-dimm', 'id': 'dx'}, ('GenericError', "'memdev' property must be set")),
    ({'driver': 'pc-dimm', 'id': 'dx', 'memdev': 'nope'}, ('DeviceNotFound', "Device 'nope' not found")),
    ({'driver': 'pc-dimm', 'id': 'dx', 'memdev': 'odd'}, ('GenericError', 'backend memory size must be multiple of 0x200000')),
    ({'driver': 'pc-dimm', 'id': 'dx', 'memdev': 'big'}, ('GenericError', 'not enough space, currently 0x0 in use of total space for memory devices 0x38000000')),
]
for args, want in cases:
    r = q.cmd('device_add', args)
    check('device_add %s refused as QEMU: %s' % (json.dumps(args, sort_keys=True), want[1]), err(r) == want, r)
r = q.cmd('query-memory-devices')
check('nothing half-added after the refusals', r == {'return': []}, r)
r = q.cmd('device_add', {'driver': 'pc-dimm', 'id': 'd1', 'memdev': 'm1'})
check('device_add pc-dimm d1', r == {'return': {}}, r)
r = q.cmd('device_add', {'driver': 'pc-dimm', 'id': 'd2', 'memdev': 'm1'})
check('a busy memdev refused', err(r) == ('GenericError', "can't use already busy memdev: m1"), r)
r = q.cmd('device_add', {'driver': 'pc-dimm', 'id': 'd1', 'memdev': 'm2'})
check('a duplicate id refused', err(r) == ('GenericError', "Duplicate device ID 'd1'"), r)
check('guest wrote and read the DIMM', wait_serial(out, 'memhp slot 0 base 0x100000000 size 0x8000000 rw ok'))
r = q.cmd('device_add', {'driver': 'pc-dimm', 'id': 'd2', 'memdev': 'm2'})
check('device_add pc-dimm d2', r == {'return': {}}, r)
r = q.cmd('device_add', {'driver': 'pc-dimm', 'id': 'd3', 'memdev': 'm3'})
check('no free slot refused', err(r) == ('GenericError', 'no free slots available'), r)
r = q.cmd('query-memory-devices')
want = [{'type': 'dimm', 'data': {'memdev': '/objects/m1', 'hotplugged': True, 'addr': 1 << 32,
         'hotpluggable': True, 'size': M, 'slot': 0, 'node': 0, 'id': 'd1'}},
        {'type': 'dimm', 'data': {'memdev': '/objects/m2', 'hotplugged': True, 'addr': (1 << 32) + M,
         'hotpluggable': True, 'size': M, 'slot': 1, 'node': 0, 'id': 'd2'}}]
check('query-memory-devices as QEMU reports them', r == {'return': want}, r)
r = q.cmd('object-del', {'id': 'm1'})
check('object-del of a backend in use refused', err(r) == ('GenericError', "object 'm1' is in use, can not be deleted"), r)
r = q.cmd('object-del', {'id': 'nope'})
check('object-del of an unknown id', err(r) == ('GenericError', "object 'nope' not found"), r)
r = q.cmd('device_del', {'id': 'd1'})
check('device_del d1 accepted', r == {'return': {}}, r)
e = q.wait_event('DEVICE_DELETED', lambda e: e.get('data', {}).get('device') == 'd1')
check('DEVICE_DELETED d1 after the guest ejected it', e is not None and e['data']['path'] == '/machine/peripheral/d1', e)
check('guest saw the slot empty', wait_serial(out, 'memhp ejected slot 0 empty'))
r = q.cmd('object-del', {'id': 'm1'})
check('object-del m1 once the DIMM is gone', r == {'return': {}}, r)
r = q.cmd('query-memory-devices')
check('only d2 left', [d['data']['id'] for d in r.get('return', [])] == ['d2'], r)
r = q.cmd('device_add', {'driver': 'pc-dimm', 'id': 'd3', 'memdev': 'm3'})
check('the freed slot takes d3', r == {'return': {}}, r)
r = q.cmd('query-memory-devices')
check('d3 in slot 0 at the freed address', [(d['data']['id'], d['data']['slot'], d['data']['addr']) for d in r.get('return', [])] == [('d2', 1, (1 << 32) + M), ('d3', 0, 1 << 32)], r)
check('guest wrote and read d3', wait_serial(out, 'memhp slot 0 base 0x100000000 size 0x8000000 rw ok', count=2))
r = q.cmd('device_del', {'id': 'd3'})
check('device_del d3 accepted', r == {'return': {}}, r)
e = q.wait_event('DEVICE_DELETED', lambda e: e.get('data', {}).get('device') == 'd3')
check('DEVICE_DELETED d3, and the guest ends', e is not None, e)
PY
	wait "$vpid"; local rc=$?
	sed 's/^/    /' "$TMP/$1.py.out" | grep -v '^    ok:'; grep -c '^ok:' "$TMP/$1.py.out" | sed "s/^/ok: $2 DIMM hot-plug, checks passed: /"
	grep -q '^FAIL\|Traceback' "$TMP/$1.py.out" && { fail "$2 DIMM hot-plug (see above)"; cat "$TMP/$1.out" "$TMP/$1.log"; }
	grep -q '^ok: DEVICE_DELETED d3' "$TMP/$1.py.out" || fail "$2 DIMM hot-plug scenario did not finish"
	expect_rc $rc 33 "$2: guest passed its checks and ended (debug-exit 0x10)"
}
scenario q35 q35
# -no-reboot (Kata's): the seccomp filter without rebuild rules must
# still let a DIMM be mapped while the guest runs.
scenario mvm microvm -no-reboot

# --- virtio-mem: grow and shrink with qom-set requested-size ---
rm -f "$TMP/vm.sock"
timeout -k 5 60 "$VMM" -machine microvm,accel=kvm -m 128M,slots=1,maxmem=1G \
	-kernel "$GUEST" -append "testguest.action=virtio-mem" \
	-object memory-backend-memfd,id=vmm,size=256M \
	-device virtio-mem-device,id=vm0,memdev=vmm,block-size=2M,requested-size=0 \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-qmp "unix:$TMP/vm.sock,server,nowait" -serial "file:$TMP/vm.out" \
	>"$TMP/vm.log" 2>&1 &
vpid=$!
PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$TMP" >"$TMP/vm.py.out" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp, wait_serial
tmp = sys.argv[1]
out = tmp + '/vm.out'
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)))
def err(r):
    return (r.get('error', {}).get('class'), r.get('error', {}).get('desc'))
q = Qmp(tmp + '/vm.sock')
P = '/machine/peripheral/vm0'
check('guest drives the device', wait_serial(out, 'virtio-mem waiting'))
r = q.cmd('qom-get', {'path': P, 'property': 'requested-size'})
check('qom-get requested-size 0', r == {'return': 0}, r)
cases = [
    ({'path': P, 'property': 'requested-size', 'value': '64M'}, ('GenericError', "Parameter 'requested-size' expects uint64")),
    ({'path': P, 'property': 'requested-size', 'value': 1000}, ('GenericError', "'requested-size' has to be multiples of 'block-size' (0x200000)")),
    ({'path': P, 'property': 'requested-size', 'value': 1 << 30}, ('GenericError', "'requested-size' cannot exceed the memory backend size(0x10000000)")),
    ({'path': P, 'property': 'nope', 'value': 1}, ('GenericError', "Property 'virtio-mem-device.nope' not found")),
    ({'path': '/machine/peripheral/zz', 'property': 'requested-size', 'value': 0}, ('DeviceNotFound', "Device '/machine/peripheral/zz' not found")),
    ({'path': P, 'property': 'requested-size'}, ('GenericError', "Parameter 'value' is missing")),
]
for args, want in cases:
    r = q.cmd('qom-set', args)
    check('qom-set %s refused as QEMU: %s' % (json.dumps(args, sort_keys=True), want[1]), err(r) == want, r)
r = q.cmd('qom-set', {'path': P, 'property': 'requested-size', 'value': 64 << 20})
check('qom-set requested-size 64M', r == {'return': {}}, r)
check('guest plugged 64M (and got NACK past it)', wait_serial(out, 'virtio-mem plugged 0x4000000 nack ok'))
r = q.cmd('qom-get', {'path': 'vm0', 'property': 'size'})
check('qom-get size is what the guest plugged', r == {'return': 64 << 20}, r)
r = q.cmd('query-memory-devices')
want = [{'type': 'virtio-mem', 'data': {'memdev': '/objects/vmm', 'memaddr': 1 << 32, 'block-size': 2 << 20,
         'size': 64 << 20, 'node': 0, 'max-size': 256 << 20, 'requested-size': 64 << 20, 'id': 'vm0'}}]
check('query-memory-devices as QEMU reports virtio-mem', r == {'return': want}, r)
r = q.cmd('qom-set', {'path': P, 'property': 'requested-size', 'value': 0})
check('qom-set requested-size 0', r == {'return': {}}, r)
check('guest unplugged it all (and got ERROR for a block never plugged)', wait_serial(out, 'virtio-mem unplugged to 0x0 error ok'))
PY
wait "$vpid"; rc=$?
sed 's/^/    /' "$TMP/vm.py.out" | grep -v '^    ok:'; grep -c '^ok:' "$TMP/vm.py.out" | sed 's/^/ok: virtio-mem grow and shrink, checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/vm.py.out" && { fail "virtio-mem (see above)"; cat "$TMP/vm.out" "$TMP/vm.log"; }
grep -q '^ok: guest unplugged it all' "$TMP/vm.py.out" || fail "virtio-mem scenario did not finish"
expect_rc $rc 33 "virtio-mem: guest passed its checks and ended (debug-exit 0x10)"

# --- a guest that never ejects ---
start_vm spin q35 spin
PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$TMP" >"$TMP/spin.py.out" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp
tmp = sys.argv[1]
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)))
q = Qmp(tmp + '/spin.sock')
q.cmd('object-add', {'qom-type': 'memory-backend-memfd', 'id': 'm1', 'size': 128 << 20})
r = q.cmd('device_add', {'driver': 'pc-dimm', 'id': 'd1', 'memdev': 'm1'})
check('device_add', r == {'return': {}}, r)
r = q.cmd('device_del', {'id': 'd1'})
check('device_del accepted', r == {'return': {}}, r)
r = q.cmd('device_del', {'id': 'd1'})
check('a second device_del while pending', r.get('error', {}).get('desc') == 'Device d1 is already in the process of unplug', r)
for _ in range(100):
    r = q.cmd('query-status')
check('the VMM keeps answering', r.get('return', {}).get('status') == 'running', r)
check('no DEVICE_DELETED without the guest', not any(e['event'] == 'DEVICE_DELETED' for e in q.events), q.events)
r = q.cmd('query-memory-devices')
check('the DIMM is still there', [d['data']['id'] for d in r.get('return', [])] == ['d1'], r)
q.cmd('quit')
PY
wait "$vpid"
sed 's/^/    /' "$TMP/spin.py.out" | grep -v '^    ok:'; grep -c '^ok:' "$TMP/spin.py.out" | sed 's/^/ok: never-ejecting guest, checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/spin.py.out" && fail "never-ejecting guest (see above)"
grep -q "the DIMM is still there" "$TMP/spin.py.out" || fail "never-ejecting scenario did not finish"
finish
