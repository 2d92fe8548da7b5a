#!/usr/bin/env bash
# virtio-mem-pci hot-added over QMP under KVM, as Kata resizes a sandbox
# with virtio-mem: object-add of a memory backend, device_add
# virtio-mem-pci {memdev, bus} onto a pcie-root-port, then qom-set
# requested-size.  The test guest (testguest.action=virtio-mem-pci) does
# what pciehp and the virtio-mem driver would: waits for the function
# behind the port, gives it BARs, binds it, then follows requested_size --
# plugs the blocks and writes and reads them (they are guest RAM: the
# region went into a KVM memory slot in the memory-device window before
# the function appeared), sees NACK past the request, unplugs them again
# and sees ERROR for a block never plugged.  device_del and object-del of
# the backend are refused in QEMU 7.2's words while it is plugged, a
# device_add that fails leaves nothing behind (the same id then works),
# and system_reset keeps the device where it was.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

rm -f "$TMP/vm.sock"
timeout -k 5 60 "$VMM" -machine q35,accel=kvm -m 128M,slots=2,maxmem=1G \
	-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1,addr=0x5 \
	-kernel "$GUEST" -append "testguest.action=virtio-mem-pci" \
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
check('guest waits behind the root port', wait_serial(out, 'hotplug waiting on 00:'))
M = 128 << 20
r = q.cmd('object-add', {'qom-type': 'memory-backend-memfd', 'id': 'virtiomem', 'size': M})
check('object-add memory-backend-memfd', r == {'return': {}}, r)
# A failed device_add rolls back: the same id and memdev then work.
r = q.cmd('device_add', {'driver': 'virtio-mem-pci', 'id': 'virtiomem0', 'memdev': 'virtiomem',
                         'bus': 'rp1', 'requested-size': 1000})
check('device_add with a bad requested-size refused',
      err(r) == ('GenericError', "'requested-size' property has to be multiples of 'block-size' (0x200000)"), r)
r = q.cmd('query-memory-devices')
check('nothing left of it', r == {'return': []}, r)
r = q.cmd('device_add', {'driver': 'virtio-mem-pci', 'id': 'virtiomem0', 'memdev': 'virtiomem', 'bus': 'rp1'})
check('device_add virtio-mem-pci on rp1', r == {'return': {}}, r)
check('guest bound the hot-added function', wait_serial(out, 'virtio-mem pci 01:00.0'))
check('guest drives the device', wait_serial(out, 'virtio-mem waiting'))
P = '/machine/peripheral/virtiomem0'
r = q.cmd('device_del', {'id': 'virtiomem0'})
check('device_del refused as QEMU 7.2 does',
      err(r) == ('GenericError', 'virtio based memory devices cannot be unplugged.'), r)
r = q.cmd('object-del', {'id': 'virtiomem'})
check('object-del of the backend in use refused',
      err(r) == ('GenericError', "object 'virtiomem' is in use, can not be deleted"), r)
r = q.cmd('qom-set', {'path': P, 'property': 'requested-size', 'value': 32 << 20})
check('qom-set requested-size 32M', r == {'return': {}}, r)
check('guest plugged and used 32M (and got NACK past it)', wait_serial(out, 'virtio-mem plugged 0x2000000 nack ok'))
r = q.cmd('query-memory-devices')
want = [{'type': 'virtio-mem', 'data': {'memdev': '/objects/virtiomem', 'memaddr': 1 << 32,
         'block-size': 2 << 20, 'size': 32 << 20, 'node': 0, 'max-size': M,
         'requested-size': 32 << 20, 'id': 'virtiomem0'}}]
check('query-memory-devices: in the window, what the guest plugged', r == {'return': want}, r)
# system_reset keeps a hot-added device (as QEMU does): the rebuilt
# board has it at the same place with the requested size, and the guest
# (from scratch: the function is present at boot) plugs it again.
r = q.cmd('system_reset')
check('system_reset', r == {'return': {}}, r)
check('after the reset the guest binds it again', wait_serial(out, 'virtio-mem pci 01:00.0', count=2))
check('and plugs the requested 32M again', wait_serial(out, 'virtio-mem plugged 0x2000000 nack ok', count=2))
r = q.cmd('query-memory-devices')
check('query-memory-devices the same after the reset', r == {'return': want}, r)
r = q.cmd('qom-set', {'path': P, 'property': 'requested-size', 'value': 0})
check('qom-set requested-size 0', r == {'return': {}}, r)
check('guest unplugged it all (and got ERROR for a block never plugged)', wait_serial(out, 'virtio-mem unplugged to 0x0 error ok'))
PY
wait "$vpid"; rc=$?
sed 's/^/    /' "$TMP/vm.py.out" | grep -v '^    ok:'
grep -c '^ok:' "$TMP/vm.py.out" | sed 's/^/ok: virtio-mem-pci hot-add, checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/vm.py.out" && { fail "virtio-mem-pci (see above)"; cat "$TMP/vm.out" "$TMP/vm.log"; }
grep -q '^ok: guest unplugged it all' "$TMP/vm.py.out" || fail "scenario did not finish"
expect_rc $rc 33 "guest passed its checks and ended (debug-exit 0x10)"

# --- -no-reboot (Kata's): under the seccomp filter the region is still
# mapped and the guest plugs it ---
rm -f "$TMP/nr.sock"
timeout -k 5 60 "$VMM" -machine q35,accel=kvm -m 128M,slots=2,maxmem=1G -no-reboot \
	-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1,addr=0x5 \
	-kernel "$GUEST" -append "testguest.action=virtio-mem-pci" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-qmp "unix:$TMP/nr.sock,server,nowait" -serial "file:$TMP/nr.out" \
	>"$TMP/nr.log" 2>&1 &
vpid=$!
PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$TMP" >"$TMP/nr.py.out" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp, wait_serial
tmp = sys.argv[1]
out = tmp + '/nr.out'
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)))
q = Qmp(tmp + '/nr.sock')
check('guest waits behind the root port', wait_serial(out, 'hotplug waiting on 00:'))
r = q.cmd('object-add', {'qom-type': 'memory-backend-memfd', 'id': 'virtiomem', 'size': 64 << 20})
check('object-add', r == {'return': {}}, r)
r = q.cmd('device_add', {'driver': 'virtio-mem-pci', 'id': 'virtiomem0', 'memdev': 'virtiomem',
                         'bus': 'rp1', 'requested-size': 32 << 20})
check('device_add virtio-mem-pci with requested-size', r == {'return': {}}, r)
check('guest plugged 32M', wait_serial(out, 'virtio-mem plugged 0x2000000 nack ok'))
r = q.cmd('qom-set', {'path': 'virtiomem0', 'property': 'requested-size', 'value': 0})
check('qom-set requested-size 0', r == {'return': {}}, r)
check('guest unplugged it all', wait_serial(out, 'virtio-mem unplugged to 0x0 error ok'))
PY
wait "$vpid"; rc=$?
sed 's/^/    /' "$TMP/nr.py.out" | grep -v '^    ok:'
grep -c '^ok:' "$TMP/nr.py.out" | sed 's/^/ok: -no-reboot, checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/nr.py.out" && { fail "-no-reboot (see above)"; cat "$TMP/nr.out" "$TMP/nr.log"; }
grep -q '^ok: guest unplugged it all' "$TMP/nr.py.out" || fail "-no-reboot scenario did not finish"
expect_rc $rc 33 "-no-reboot: guest passed its checks and ended"
finish
