#!/usr/bin/env bash
# PCIe native hot-plug over QMP under KVM, with the test guest playing
# pciehp (testguest.action=hotplug): device_add of a virtio-blk-pci into
# a pcie-root-port as Kata sends it, the guest sees presence, binds and
# reads sector 0; it survives system_reset (the rebuilt board has it, the
# rebooted guest reads it again); device_del presses the attention
# button, the guest powers the slot off, DEVICE_DELETED follows.  A guest
# that never answers (action=spin) keeps the device and the VMM answers.
# QEMU 7.2's refusals for the usual mistakes, and nothing half-added.
. "$(dirname "$0")/kvm_common.sh"
kvm_require
make_disk "$TMP/disk.img"

start_vm() { # NAME ACTION
	rm -f "$TMP/$1.sock"
	timeout -k 5 120 "$VMM" -machine q35,accel=kvm -m 256M -kernel "$GUEST" \
		-append "testguest.action=$2" \
		-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1,addr=2 \
		-device pcie-root-port,id=rp1,bus=pcie.0,chassis=2,slot=2,addr=3 \
		-drive id=d0,file="$TMP/disk.img",readonly=on \
		-drive id=d1,file="$TMP/disk.img",readonly=on \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-qmp "unix:$TMP/$1.sock,server,nowait" -serial "file:$TMP/$1.out" \
		>"$TMP/$1.log" 2>&1 &
	vpid=$!
}

start_vm hp hotplug
PYTHONPATH=$ROOT/tests/integration timeout 150 python3 - "$TMP" >"$TMP/hp.py.out" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp, wait_serial
tmp = sys.argv[1]
out = tmp + '/hp.out'
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)))
def err(r):
    return (r.get('error', {}).get('class'), r.get('error', {}).get('desc'))
q = Qmp(tmp + '/hp.sock')
check('guest waits on the root port', wait_serial(out, 'hotplug waiting'))
blk = {'driver': 'virtio-blk-pci', 'drive': 'd0', 'id': 'v0', 'bus': 'rp0', 'addr': '0x0'}
cases = [
    ({}, ('GenericError', "Parameter 'driver' is missing")),
    ({'driver': 'nope'}, ('GenericError', "'nope' is not a valid device model name")),
    (dict(blk, bus='rp9'), ('GenericError', "Bus 'rp9' not found")),
    (dict(blk, bus='pcie.0', addr='0x9'), ('GenericError', "Bus 'pcie.0' does not support hotplugging")),
    (dict(blk, drive='zz'), ('GenericError', "Property 'virtio-blk-device.drive' can't find value 'zz'")),
    ({k: v for k, v in blk.items() if k != 'drive'}, ('GenericError', 'drive property not set')),
    (dict(blk, id='rp1'), ('GenericError', "Duplicate device ID 'rp1'")),
]
for args, want in cases:
    r = q.cmd('device_add', args)
    check('device_add %s refused as QEMU: %s' % (json.dumps(args, sort_keys=True), want[1]), err(r) == want, r)
r = q.cmd('qom-get', {'path': 'v0', 'property': 'addr'})
check('nothing half-added after the refusals', err(r)[0] == 'DeviceNotFound', r)
r = q.cmd('device_add', blk)
check('device_add virtio-blk-pci into rp0', r == {'return': {}}, r)
r = q.cmd('device_add', dict(blk, id='v1', drive='d1'))
check('a second device on rp0 refused (slot in use)', err(r)[1] == 'PCI: slot 0 function 0 not available for virtio-blk-pci, in use by virtio-blk-pci,id=v0', r)
r = q.cmd('device_add', dict(blk, id='v1', bus='rp1'))
check('drive d0 in use refused', err(r) == ('GenericError', "Drive 'd0' is already in use by another device"), r)
check('guest bound it and read sector 0', wait_serial(out, "hotplug virtio-blk pci 01:00.0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'"))
r = q.cmd('qom-get', {'path': '/machine/peripheral/v0', 'property': 'addr'})
check('qom-get addr of v0 is devfn 0', r == {'return': 0}, r)
r = q.cmd('qom-get', {'path': 'v0', 'property': 'parent_bus'})
check('qom-get parent_bus names rp0', 'rp0' in str(r.get('return')), r)
r = q.cmd('system_reset')
check('system_reset', r == {'return': {}}, r)
check('after the reset the guest finds v0 present and reads it again',
      wait_serial(out, "hotplug virtio-blk pci 01:00.0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'", count=2))
r = q.cmd('device_del', {'id': 'nope'})
check('device_del of an unknown id', err(r) == ('DeviceNotFound', "Device 'nope' not found"), r)
r = q.cmd('device_del', {'id': 'rp0'})
check('device_del of a root port refused', err(r)[0] == 'GenericError', r)
r = q.cmd('device_del', {'id': 'v0'})
check('device_del v0 accepted', r == {'return': {}}, r)
e = q.wait_event('DEVICE_DELETED', lambda e: e.get('data', {}).get('device') == 'v0')
check('DEVICE_DELETED v0 after the guest powered the slot off', e is not None and e['data']['path'] == '/machine/peripheral/v0', e)
check('guest saw it go', wait_serial(out, 'hotplug released 01:00.0'))
PY
wait "$vpid"; rc=$?
sed 's/^/    /' "$TMP/hp.py.out" | grep -v '^    ok:' ; grep -c '^ok:' "$TMP/hp.py.out" | sed 's/^/ok: checks passed: /'
grep -q '^FAIL' "$TMP/hp.py.out" && fail "hot-plug scenario (see above)"
grep -q '^ok: guest saw it go' "$TMP/hp.py.out" || { fail "hot-plug scenario did not finish"; cat "$TMP/hp.out" "$TMP/hp.log"; }
expect_rc $rc 33 "hot-plug: guest passed its checks and ended (debug-exit 0x10)"

# --- a guest that never releases the slot ---
start_vm spin spin
PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$TMP" >"$TMP/spin.py.out" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp
tmp = sys.argv[1]
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)))
q = Qmp(tmp + '/spin.sock')
r = q.cmd('device_add', {'driver': 'virtio-blk-pci', 'drive': 'd0', 'id': 'v0', 'bus': 'rp0', 'addr': '00'})
check('device_add', r == {'return': {}}, r)
r = q.cmd('device_del', {'id': 'v0'})
check('device_del accepted', r == {'return': {}}, r)
r = q.cmd('device_del', {'id': 'v0'})
check('a second device_del while pending', r.get('error', {}).get('desc') == 'Device v0 is already in the process of unplug', r)
for _ in range(100):
    r = q.cmd('query-status')
check('the VMM keeps answering', r.get('return', {}).get('status') == 'running', r)
check('no DEVICE_DELETED without the guest', not any(e['event'] == 'DEVICE_DELETED' for e in q.events), q.events)
r = q.cmd('qom-get', {'path': 'v0', 'property': 'addr'})
check('the device is still there', r == {'return': 0}, r)
q.cmd('quit')
PY
wait "$vpid"
sed 's/^/    /' "$TMP/spin.py.out" | grep -v '^    ok:'; grep -c '^ok:' "$TMP/spin.py.out" | sed 's/^/ok: never-acknowledging guest, checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/spin.py.out" && fail "never-acknowledging guest (see above)"
grep -q "the device is still there" "$TMP/spin.py.out" || fail "never-acknowledging scenario did not finish"
finish
