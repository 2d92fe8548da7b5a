#!/usr/bin/env bash
# scsi-hd hot-plug over QMP under KVM, with the test guest playing Linux's
# virtio_scsi (testguest.action=scsihp): it negotiates
# VIRTIO_SCSI_F_HOTPLUG and posts event buffers; device_add of a scsi-hd
# on scsi0.0 brings a TRANSPORT_RESET/RESCAN event naming the LU, the
# guest reads its block 0; device_del removes it at once (DEVICE_DELETED)
# and the guest gets TRANSPORT_RESET/REMOVED and finds it gone.
. "$(dirname "$0")/kvm_common.sh"
kvm_require
make_disk "$TMP/disk.img"

rm -f "$TMP/vm.sock"
timeout -k 5 120 "$VMM" -machine q35,accel=kvm -m 256M -kernel "$GUEST" \
	-append "testguest.action=scsihp" \
	-device virtio-scsi-pci,id=scsi0,addr=0x4 \
	-drive id=d0,file="$TMP/disk.img",readonly=on \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-qmp "unix:$TMP/vm.sock,server,nowait" -serial "file:$TMP/vm.out" \
	>"$TMP/vm.log" 2>&1 &
vpid=$!
PYTHONPATH=$ROOT/tests/integration timeout 150 python3 - "$TMP" >"$TMP/py.out" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp, wait_serial
tmp = sys.argv[1]
out = tmp + '/vm.out'
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)))
q = Qmp(tmp + '/vm.sock')
check('guest waits for events', wait_serial(out, 'scsihp waiting'))
r = q.cmd('device_add', {'driver': 'scsi-hd', 'drive': 'zz', 'id': 's1', 'bus': 'scsi0.0', 'scsi-id': 1, 'lun': 2})
check('an unknown drive refused', r.get('error', {}).get('desc') == "Property 'scsi-hd.drive' can't find value 'zz'", r)
r = q.cmd('device_add', {'driver': 'scsi-hd', 'drive': 'd0', 'id': 's1', 'bus': 'scsi0.0', 'scsi-id': 1, 'lun': 2})
check('device_add scsi-hd 1:2', r == {'return': {}}, r)
check('guest got the rescan event', wait_serial(out, 'scsihp event rescan 1:2'))
check('guest read block 0 of the new LU',
      wait_serial(out, "scsihp lun 1:2 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'"))
r = q.cmd('device_del', {'id': 's1'})
check('device_del s1', r == {'return': {}}, r)
e = q.wait_event('DEVICE_DELETED', lambda e: e.get('data', {}).get('device') == 's1')
check('DEVICE_DELETED s1', e is not None and e['data'] == {'device': 's1', 'path': '/machine/peripheral/s1'}, e)
check('guest saw it go', wait_serial(out, 'scsihp removed 1:2'))
PY
wait "$vpid"; rc=$?
sed 's/^/    /' "$TMP/py.out" | grep -v '^    ok:'; grep -c '^ok:' "$TMP/py.out" | sed 's/^/ok: checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/py.out" && { fail "scsi-hd hot-plug scenario (see above)"; cat "$TMP/vm.out"; }
grep -q '^ok: guest saw it go' "$TMP/py.out" || { fail "scsi-hd hot-plug scenario did not finish"; cat "$TMP/vm.out" "$TMP/vm.log"; }
expect_rc $rc 33 "scsi-hd hot-plug: guest passed its checks and ended (debug-exit 0x10)"
finish
