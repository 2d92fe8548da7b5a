#!/usr/bin/env bash
# chardev-add + device_add vhost-user-blk-pci under KVM (issues 15 and
# 16 item 7), the way Kata hot-adds a vhost-user volume: vmm runs paused
# (-S) with shareable guest RAM and a pcie-root-port; over QMP a client
# chardev connects to qemu-storage-daemon's vhost-user-blk export, and
# device_add puts a vhost-user-blk-pci on that connection behind the
# port (the vhost-user handshake runs then, against the real backend).
# query-pci shows the function, query-chardev the chardev in use,
# chardev-remove is refused while the device holds it.  No guest code
# runs: it takes a second.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
VMM=${VMM:-$BUILD/vmm}
GUEST=$BUILD/guest-images/testguest.elf
QSD=$(command -v qemu-storage-daemon || true)
[ -n "$QSD" ] || { echo "SKIP: qemu-storage-daemon not installed (ci/deps.sh installs qemu-system-x86)"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "SKIP: no usable /dev/kvm"; exit 77; }
[ -f "$GUEST" ] && [ -x "$VMM" ] || { echo "SKIP: vmm or $GUEST not built"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-qmpvhu.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT
truncate -s 1M "$TMP/disk.img"
"$QSD" --blockdev driver=file,node-name=f,filename="$TMP/disk.img" \
	--export type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path="$TMP/blk.sock",writable=on \
	>"$TMP/qsd.log" 2>&1 &
PIDS+=($!)
end=$((SECONDS + 10))
until [ -S "$TMP/blk.sock" ]; do
	[ $SECONDS -ge $end ] && { echo "FAIL: qemu-storage-daemon did not come up"; cat "$TMP/qsd.log"; exit 1; }
	sleep 0.05
done
timeout 60 "$VMM" -machine q35,accel=kvm -m 128M -kernel "$GUEST" -append testguest.action=spin \
	-object memory-backend-memfd,id=mem,size=128M -numa node,memdev=mem -serial none -S \
	-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=4,addr=2 \
	-qmp "unix:$TMP/v.sock,server=on,wait=off" >"$TMP/vmm.log" 2>&1 &
PIDS+=($!)
timeout 60 python3 - "$TMP" <<'PY' || { echo "FAIL: see above"; cat "$TMP/vmm.log"; exit 1; }
import json, sys
sys.path.insert(0, __import__('os').environ.get('ROOT', '.') + '/tests/integration')
from hotplug_qmp import Qmp
tmp = sys.argv[1]
q = Qmp(tmp + '/v.sock')
def sock(cid, path):
    return {'backend': {'data': {'addr': {'data': {'path': path}, 'type': 'unix'},
                                 'server': False, 'wait': False}, 'type': 'socket'}, 'id': cid}
def check(what, cond, got):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' -- got ' + json.dumps(got)))
    if not cond:
        sys.exit(1)
r = q.cmd('chardev-add', sock('c9', tmp + '/none.sock'))
check('chardev-add to nobody: QEMU\'s error', r.get('error', {}).get('desc', '').startswith(
    "Failed to add chardev 'c9': Failed to connect to"), r)
r = q.cmd('chardev-add', sock('c0', tmp + '/blk.sock'))
check('chardev-add connects to qemu-storage-daemon', r == {'return': {}}, r)
r = q.cmd('device_add', {'driver': 'vhost-user-blk-pci', 'id': 'vu0', 'chardev': 'c0',
                         'bus': 'rp0', 'addr': '0'})
check('device_add vhost-user-blk-pci on the chardev (handshake with the real backend)',
      r == {'return': {}}, r)
r = q.cmd('device_add', {'driver': 'vhost-user-blk-pci', 'id': 'vu1', 'chardev': 'c0', 'bus': 'rp0'})
check('a second device on the same chardev is refused', 'in use' in r.get('error', {}).get('desc', ''), r)
r = q.cmd('chardev-remove', {'id': 'c0'})
check('chardev-remove of the chardev in use is refused',
      r.get('error', {}).get('desc') == "Chardev 'c0' is busy", r)
r = q.cmd('query-pci')
kids = [d for b in r['return'] for d in b['devices'] if d['qdev_id'] == 'rp0'][0]['pci_bridge'].get('devices', [])
check('query-pci: vu0 behind rp0 as a virtio-blk function',
      [(k['qdev_id'], k['id']['vendor'], k['id']['device']) for k in kids] == [('vu0', 0x1af4, 0x1042)], r)
r = q.cmd('query-chardev')
c0 = [c for c in r['return'] if c['label'] == 'c0']
check('query-chardev: c0 connected, its front end open',
      c0 and c0[0]['frontend-open'] and c0[0]['filename'].startswith('unix:'), r)
q.cmd('quit')
PY
wait "${PIDS[1]}" 2>/dev/null

# Under -no-reboot the seccomp filter allows no new file, socket or
# eventfd after boot (socket() would kill the VMM): each command that
# would need one is refused by name, and the VMM keeps answering.
rm -f "$TMP/v.sock"
VMM_LOG_LEVEL=2 timeout 60 "$VMM" -machine q35,accel=kvm -m 128M -kernel "$GUEST" -append testguest.action=spin \
	-object memory-backend-memfd,id=mem,size=128M -numa node,memdev=mem -serial none -no-reboot \
	-chardev socket,id=c5,path="$TMP/blk.sock" \
	-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=4,addr=2 \
	-qmp "unix:$TMP/v.sock,server=on,wait=off" >"$TMP/vmm2.log" 2>&1 &
PIDS+=($!)
timeout 60 python3 - "$TMP" >"$TMP/nr.py.out" 2>&1 <<'PY'
import json, sys
sys.path.insert(0, __import__('os').environ.get('ROOT', '.') + '/tests/integration')
from hotplug_qmp import Qmp
tmp = sys.argv[1]
q = Qmp(tmp + '/v.sock')
def check(what, cond, got):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' -- got ' + json.dumps(got)))
    if not cond:
        sys.exit(1)
r = q.cmd('chardev-add', {'id': 'c0', 'backend': {'type': 'socket', 'data': {
    'server': False, 'addr': {'type': 'unix', 'data': {'path': tmp + '/blk.sock'}}}}})
check('-no-reboot under seccomp: chardev-add refused by name',
      'chardev-add cannot open host files or sockets in a -no-reboot VM' in r.get('error', {}).get('desc', ''), r)
r = q.cmd('blockdev-add', {'driver': 'raw', 'node-name': 'n0',
                           'file': {'driver': 'file', 'filename': tmp + '/disk.img'}})
check('-no-reboot under seccomp: blockdev-add refused by name',
      'blockdev-add cannot open host files' in r.get('error', {}).get('desc', ''), r)
r = q.cmd('device_add', {'driver': 'vhost-user-blk-pci', 'id': 'vu0', 'chardev': 'c5', 'bus': 'rp0'})
check('-no-reboot under seccomp: device_add vhost-user-blk-pci refused by name',
      'cannot be hot-plugged into a -no-reboot VM under seccomp' in r.get('error', {}).get('desc', ''), r)
r = q.cmd('query-status')
check('the VMM still answers', r.get('return', {}).get('status') == 'running', r)
q.cmd('quit')
PY
nr_rc=$?
# A sanitizer build installs no filter (LeakSanitizer needs ptrace at
# exit): there -no-reboot limits nothing and the refusals do not apply.
if grep -q "seccomp: not installed in an ASan build" "$TMP/vmm2.log"; then
	echo "SKIP: sanitizer build: no seccomp filter, so -no-reboot does not limit chardev-add/blockdev-add/vhost-user hot-plug"
else
	cat "$TMP/nr.py.out"
	[ "$nr_rc" = 0 ] || { echo "FAIL: see above"; cat "$TMP/vmm2.log"; exit 1; }
fi
echo "ok: chardev-add + device_add vhost-user-blk-pci against qemu-storage-daemon"
