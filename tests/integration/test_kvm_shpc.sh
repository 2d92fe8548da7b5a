#!/usr/bin/env bash
# SHPC hot-plug over QMP under KVM, with the test guest playing Linux's
# shpchp (testguest.action=shpc): device_add of a virtio-blk-pci into a
# pci-bridge with shpc=on as Kata sends it, the guest takes the
# presence/attention interrupt, powers and enables the slot, binds the
# function behind the bridge and reads sector 0; device_del presses the
# attention button, the guest disables the slot with its indicators off,
# DEVICE_DELETED follows.  A guest that never answers (action=spin) keeps
# a device whose slot is enabled, and the VMM answers.  QEMU 7.2's
# refusals: a bridge with shpc=off, a slot in use, slot 0, an unknown bus;
# nothing half-added.
. "$(dirname "$0")/kvm_common.sh"
kvm_require
make_disk "$TMP/disk.img"

start_vm() { # NAME ACTION [DEVICE...]
	rm -f "$TMP/$1.sock"
	local name=$1 action=$2
	shift 2
	timeout -k 5 120 "$VMM" -machine q35,accel=kvm -m 256M -kernel "$GUEST" \
		-append "testguest.action=$action" "$@" \
		-device pci-bridge,id=br0,bus=pcie.0,chassis_nr=1,shpc=on,addr=0x2 \
		-device pci-bridge,id=br1,bus=pcie.0,chassis_nr=2,shpc=off,addr=0x3 \
		-drive id=d0,file="$TMP/disk.img",readonly=on \
		-drive id=d1,file="$TMP/disk.img",readonly=on \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-drive id=d2,file="$TMP/disk.img",readonly=on \
		-qmp "unix:$TMP/$name.sock,server,nowait" -serial "file:$TMP/$name.out" \
		>"$TMP/$name.log" 2>&1 &
	vpid=$!
}

start_vm hp shpc
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
check('guest waits on the SHPC', wait_serial(out, 'shpc waiting on 00:02.0 slots 31'))
blk = {'driver': 'virtio-blk-pci', 'drive': 'd0', 'id': 'v0', 'bus': 'br0', 'addr': '0x3'}
cases = [
    (dict(blk, bus='br9'), ('GenericError', "Bus 'br9' not found")),
    (dict(blk, bus='br1'), ('GenericError', "Bus 'br1' does not support hotplugging")),
    (dict(blk, drive='zz'), ('GenericError', "Property 'virtio-blk-device.drive' can't find value 'zz'")),
    ({k: v for k, v in blk.items() if k != 'addr'},
     ('GenericError', 'Unsupported PCI slot 0 for standard hotplug controller. Valid slots are between 1 and 31.')),
]
for args, want in cases:
    r = q.cmd('device_add', args)
    check('device_add %s refused as QEMU: %s' % (json.dumps(args, sort_keys=True), want[1]), err(r) == want, r)
r = q.cmd('qom-get', {'path': 'v0', 'property': 'addr'})
check('nothing half-added after the refusals', err(r)[0] == 'DeviceNotFound', r)
r = q.cmd('device_add', blk)
check('device_add virtio-blk-pci into br0 slot 3', r == {'return': {}}, r)
r = q.cmd('device_add', dict(blk, id='v1', drive='d1'))
check('a second device in slot 3 refused', err(r) == ('GenericError', 'PCI: slot 3 function 0 not available for virtio-blk-pci, in use by virtio-blk-pci,id=v0'), r)
check('guest powered the slot and read sector 0',
      wait_serial(out, "shpc virtio-blk pci 01:03.0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'"))
r = q.cmd('qom-get', {'path': '/machine/peripheral/v0', 'property': 'addr'})
check('qom-get addr of v0 is devfn 0x18', r == {'return': 24}, r)
r = q.cmd('qom-get', {'path': 'v0', 'property': 'parent_bus'})
check('qom-get parent_bus as QEMU', r == {'return': '/machine/peripheral/br0/br0'}, r)
r = q.cmd('device_del', {'id': 'v0'})
check('device_del v0 accepted', r == {'return': {}}, r)
e = q.wait_event('DEVICE_DELETED', lambda e: e.get('data', {}).get('device') == 'v0')
check('DEVICE_DELETED v0 after the guest disabled the slot', e is not None and e['data']['path'] == '/machine/peripheral/v0', e)
check('guest saw it go', wait_serial(out, 'shpc released 01:03.0'))
PY
wait "$vpid"; rc=$?
sed 's/^/    /' "$TMP/hp.py.out" | grep -v '^    ok:' ; grep -c '^ok:' "$TMP/hp.py.out" | sed 's/^/ok: checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/hp.py.out" && { fail "SHPC hot-plug scenario (see above)"; cat "$TMP/hp.out"; }
grep -q '^ok: guest saw it go' "$TMP/hp.py.out" || { fail "SHPC hot-plug scenario did not finish"; cat "$TMP/hp.out" "$TMP/hp.log"; }
expect_rc $rc 33 "SHPC hot-plug: guest passed its checks and ended (debug-exit 0x10)"

# --- a guest that never releases the slot ---
# c0 is present from power-on (its slot enabled, as firmware leaves it):
# device_del is a request the spinning guest never answers.  A device
# hot-added into a slot the guest never enabled has no driver on it and
# goes at once, as with QEMU's SHPC.
start_vm spin spin -device virtio-blk-pci,id=c0,drive=d2,bus=br0,addr=0x6
PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$TMP" >"$TMP/spin.py.out" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp
tmp = sys.argv[1]
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)))
q = Qmp(tmp + '/spin.sock')
r = q.cmd('device_del', {'id': 'c0'})
check('device_del c0 accepted', r == {'return': {}}, r)
r = q.cmd('device_del', {'id': 'c0'})
check('a second device_del presses the button again (as QEMU)', r == {'return': {}}, r)
for _ in range(100):
    r = q.cmd('query-status')
check('the VMM keeps answering', r.get('return', {}).get('status') == 'running', r)
check('no DEVICE_DELETED without the guest', not any(e['event'] == 'DEVICE_DELETED' for e in q.events), q.events)
r = q.cmd('qom-get', {'path': 'c0', 'property': 'addr'})
check('the device is still there', r == {'return': 48}, r)
r = q.cmd('device_add', {'driver': 'virtio-blk-pci', 'drive': 'd0', 'id': 'v0', 'bus': 'br0', 'addr': '05'})
check('device_add v0', r == {'return': {}}, r)
r = q.cmd('device_del', {'id': 'v0'})
check('device_del v0 accepted', r == {'return': {}}, r)
e = q.wait_event('DEVICE_DELETED', lambda e: e.get('data', {}).get('device') == 'v0', deadline=10)
check('v0, never enabled by the guest, is gone at once', e is not None, e)
r = q.cmd('qom-get', {'path': 'v0', 'property': 'addr'})
check('v0 no longer there', r.get('error', {}).get('class') == 'DeviceNotFound', r)
q.cmd('quit')
PY
wait "$vpid"
sed 's/^/    /' "$TMP/spin.py.out" | grep -v '^    ok:'; grep -c '^ok:' "$TMP/spin.py.out" | sed 's/^/ok: never-acknowledging guest, checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/spin.py.out" && fail "never-acknowledging guest (see above)"
grep -q "v0 no longer there" "$TMP/spin.py.out" || fail "never-acknowledging scenario did not finish"
finish
