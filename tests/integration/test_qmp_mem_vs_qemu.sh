#!/usr/bin/env bash
# Memory hot-plug's QMP against QEMU 7.2 (issue 17, issue 15 item 2):
# the same machine -- q35, -m 128M,slots=2,maxmem=1G, a virtio-mem-pci,
# two pcie-root-ports --
# started paused (-S) on each side, the same commands (object-add /
# object-del of memory backends, device_add / device_del pc-dimm,
# query-memory-devices, qom-set / qom-get requested-size, device_add of a
# virtio-mem-pci behind a root port as Kata's govmm sends it (bus,
# memdev, requested-size) and its device_del, with the usual
# mistakes), and every reply must match: error class and words exactly,
# returns by shape (keys and value types) and, where both place memory
# the same way, by value.  vmm runs the test guest under KVM; QEMU needs
# no guest (it never leaves prelaunch).
. "$(dirname "$0")/kvm_common.sh"
kvm_require
QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }

M=(-m 128M,slots=2,maxmem=1G -object memory-backend-ram,id=vmm,size=256M
   -device virtio-mem-pci,id=vm0,memdev=vmm,block-size=2M,requested-size=0
   -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1,addr=0x5
   -device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2,addr=0x6
   -device pci-bridge,id=br1,bus=pcie.0,chassis_nr=3,addr=0x7,shpc=on)
timeout -k 5 60 "$QEMU" -machine q35,accel=tcg -nodefaults -display none -S "${M[@]}" \
	-qmp "unix:$TMP/qemu.sock,server=on,wait=off" >"$TMP/qemu.log" 2>&1 &
qpid=$!
timeout -k 5 60 "$VMM" -machine q35,accel=kvm -kernel "$GUEST" -S "${M[@]}" \
	-qmp "unix:$TMP/vmm.sock,server,nowait" >"$TMP/vmm.log" 2>&1 &
vpid=$!

PYTHONPATH=$ROOT/tests/integration timeout 90 python3 - "$TMP" ${QMP_MEM_DUMP:-} >"$TMP/cmp.out" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp
tmp = sys.argv[1]
M = 128 << 20
cmds = [
    ('object-add', {'qom-type': 'memory-backend-ram', 'id': 'm1', 'size': M}),
    ('object-add', {'qom-type': 'memory-backend-ram', 'id': 'm1', 'size': M}),
    ('object-add', {'qom-type': 'memory-backend-ram', 'id': 'm2', 'size': '128M'}),
    ('object-add', {'qom-type': 'memory-backend-ram', 'id': 'm2'}),
    ('object-add', {'qom-type': 'memory-backend-file', 'id': 'm2', 'size': M}),
    ('object-add', {'qom-type': 'nope', 'id': 'm2'}),
    ('object-add', {'qom-type': 'memory-backend-ram', 'id': 'm2', 'size': M, 'bogus': 1}),
    ('object-add', {'id': 'm2'}),
    ('object-add', {'qom-type': 'memory-backend-memfd', 'id': 'm2', 'size': M}),
    ('object-add', {'qom-type': 'memory-backend-ram', 'id': 'odd', 'size': 129 << 20}),
    ('object-add', {'qom-type': 'memory-backend-ram', 'id': 'big', 'size': 2 << 30}),
    ('object-add', {'qom-type': 'memory-backend-ram', 'id': 'm3', 'size': M}),
    ('device_add', {'driver': 'pc-dimm', 'id': 'd1', 'memdev': 'm1'}),
    ('device_add', {'driver': 'pc-dimm', 'id': 'd2', 'memdev': 'm1'}),
    ('device_add', {'driver': 'pc-dimm', 'id': 'd2'}),
    ('device_add', {'driver': 'pc-dimm', 'id': 'd2', 'memdev': 'nope'}),
    ('device_add', {'driver': 'pc-dimm', 'id': 'd2', 'memdev': 'odd'}),
    ('device_add', {'driver': 'pc-dimm', 'id': 'd2', 'memdev': 'big'}),
    ('device_add', {'driver': 'pc-dimm', 'id': 'd1', 'memdev': 'm2'}),
    ('device_add', {'driver': 'pc-dimm', 'id': 'd2', 'memdev': 'm2'}),
    ('device_add', {'driver': 'pc-dimm', 'id': 'd3', 'memdev': 'm3'}),
    ('query-memory-devices', None),
    # virtio-mem-pci hot-added (Kata: ExecMemdevAdd with virtio-mem).
    ('object-add', {'qom-type': 'memory-backend-ram', 'id': 'vh1', 'size': 64 << 20}),
    ('device_add', {'driver': 'virtio-mem-pci', 'id': 'vh', 'bus': 'rp1'}),
    ('device_add', {'driver': 'virtio-mem-pci', 'id': 'vh', 'memdev': 'nope', 'bus': 'rp1'}),
    ('device_add', {'driver': 'virtio-mem-pci', 'id': 'vh', 'memdev': 'vh1', 'bus': 'nobus'}),
    ('device_add', {'driver': 'virtio-mem-pci', 'id': 'vh', 'memdev': 'vh1', 'bus': 'pcie.0'}),
    ('device_add', {'driver': 'virtio-mem-pci', 'id': 'vh', 'memdev': 'odd', 'bus': 'rp1'}),
    ('device_add', {'driver': 'virtio-mem-pci', 'id': 'vh', 'memdev': 'big', 'bus': 'rp1'}),
    ('device_add', {'driver': 'virtio-mem-pci', 'id': 'vh', 'memdev': 'vmm', 'bus': 'rp1'}),
    ('device_add', {'driver': 'virtio-mem-pci', 'id': 'vh', 'memdev': 'vh1', 'bus': 'rp1', 'requested-size': 1000}),
    ('device_add', {'driver': 'virtio-mem-pci', 'id': 'vm0', 'memdev': 'vh1', 'bus': 'rp1'}),
    ('device_add', {'driver': 'virtio-mem-pci', 'id': 'vh', 'memdev': 'vh1', 'bus': 'rp1', 'requested-size': 32 << 20}),
    ('device_add', {'driver': 'virtio-mem-pci', 'id': 'vh2', 'memdev': 'vh1', 'bus': 'rp2'}),
    # Kata on q35 puts it on a pci-bridge, at a slot (addr).
    ('object-add', {'qom-type': 'memory-backend-ram', 'id': 'vh3', 'size': 32 << 20}),
    ('device_add', {'addr': '0x2', 'driver': 'virtio-mem-pci', 'id': 'vb', 'memdev': 'vh3', 'bus': 'br1'}),
    ('query-memory-devices', None),
    ('qom-set', {'path': '/machine/peripheral/vh', 'property': 'requested-size', 'value': 64 << 20}),
    ('qom-get', {'path': '/machine/peripheral/vh', 'property': 'requested-size'}),
    ('qom-set', {'path': '/machine/peripheral/vh', 'property': 'requested-size', 'value': 128 << 20}),
    ('qom-get', {'path': '/machine/peripheral/vh', 'property': 'block-size'}),
    ('object-del', {'id': 'vh1'}),
    ('device_del', {'id': 'vh'}),
    ('device_del', {'id': 'vm0'}),
    ('object-del', {'id': 'm1'}),
    ('object-del', {'id': 'nope'}),
    ('object-del', {'id': 'odd'}),
    ('qom-get', {'path': '/machine/peripheral/vm0', 'property': 'requested-size'}),
    ('qom-set', {'path': '/machine/peripheral/vm0', 'property': 'requested-size', 'value': 64 << 20}),
    ('qom-get', {'path': 'vm0', 'property': 'requested-size'}),
    ('qom-get', {'path': '/machine/peripheral/vm0', 'property': 'block-size'}),
    ('qom-get', {'path': '/machine/peripheral/vm0', 'property': 'size'}),
    ('qom-set', {'path': '/machine/peripheral/vm0', 'property': 'requested-size', 'value': '64M'}),
    ('qom-set', {'path': '/machine/peripheral/vm0', 'property': 'requested-size', 'value': 1000}),
    ('qom-set', {'path': '/machine/peripheral/vm0', 'property': 'requested-size', 'value': 1 << 30}),
    ('qom-set', {'path': '/machine/peripheral/vm0', 'property': 'nope', 'value': 1}),
    ('qom-set', {'path': '/machine/peripheral/zz', 'property': 'requested-size', 'value': 0}),
    ('qom-set', {'path': '/machine/peripheral/vm0', 'property': 'requested-size'}),
    ('device_del', {'id': 'd1'}),
    ('query-memory-devices', None),
]
def shape(v):
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(x) for x in v]
    return type(v).__name__
def run(sock):
    q = Qmp(sock)
    return [q.cmd(n, a) for n, a in cmds]
qemu, vmm = run(tmp + '/qemu.sock'), run(tmp + '/vmm.sock')
bad = 0
for (n, a), x, y in zip(cmds, qemu, vmm):
    if 'error' in x or 'error' in y:
        same = x.get('error') == y.get('error')
    else:
        # Values too: both place the virtio-mem region and the DIMMs
        # the same way (first fit from 4 GiB).
        same = shape(x.get('return')) == shape(y.get('return')) and x == y
    if not same:
        bad += 1
        print('FAIL: %s %s\n  qemu: %s\n  vmm:  %s' % (n, json.dumps(a, sort_keys=True), json.dumps(x, sort_keys=True), json.dumps(y, sort_keys=True)))
if len(sys.argv) > 2:
    print(json.dumps(vmm))
print('ok: %d of %d memory hot-plug replies as QEMU 7.2 gives them' % (len(cmds) - bad, len(cmds)))
PY
kill "$qpid" "$vpid" 2>/dev/null
wait "$qpid" "$vpid" 2>/dev/null
cat "$TMP/cmp.out"
grep -q '^FAIL\|Traceback' "$TMP/cmp.out" && fail "replies differ from QEMU's (see above)"
grep -q '^ok: ' "$TMP/cmp.out" || fail "comparison did not run"
finish
