#!/usr/bin/env bash
# blockdev-add/-del, chardev-add/-remove and query-pci/-block/-chardev as
# QEMU 7.2 answers them (issue 15): one command sequence goes to QEMU run
# paused (-S, q35, no accelerator needed) and to vmm run paused under KVM
# with the test guest, both with the same devices (a pcie-root-port, a
# -drive on a virtio-blk-pci, a virtconsole on a server socket).  The
# shapes of the replies (keys and value types, recursively) and every
# error's class and desc must be identical.  What differs by design is
# left out of the sequence and listed in docs/qmp.md: drivers other than
# raw/file/host_device, raw over a raw node, inet sockets.  query-pci is
# compared for the functions both machines have (QEMU's q35 also has its
# ICH9 functions; our root port has no MSI-X BAR; QEMU lists nothing
# behind a bridge before firmware numbered its bus).
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# The QMP helpers' reader/writer (tests/integration/qmpio.py).
export PYTHONPATH="$ROOT/tests/integration${PYTHONPATH:+:$PYTHONPATH}"
BUILD=${BUILD:-$ROOT/build}
VMM=${VMM:-$BUILD/vmm}
GUEST=$BUILD/guest-images/testguest.elf
QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "SKIP: no usable /dev/kvm for vmm"; exit 77; }
[ -f "$GUEST" ] || { echo "SKIP: $GUEST not built"; exit 77; }
[ -x "$VMM" ] || { echo "SKIP: $VMM not built"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-qmpblk.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
truncate -s 1M "$TMP/disk.img" "$TMP/disk2.img"

cat >"$TMP/cmds" <<CMDS
{"execute":"qmp_capabilities"}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n0","file":{"driver":"file","filename":"$TMP/disk.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n0","file":{"driver":"file","filename":"$TMP/disk.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n1","file":{"driver":"file","filename":"$TMP/missing.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"qcow9","node-name":"n2","file":{"driver":"file","filename":"$TMP/disk.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n3","file":{"driver":"host_device","filename":"$TMP/disk.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"d0","file":{"driver":"file","filename":"$TMP/disk2.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","file":{"driver":"file","filename":"$TMP/disk2.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n4"}}
{"execute":"blockdev-add","arguments":{"node-name":"n4"}}
{"execute":"blockdev-add","arguments":{"driver":7,"node-name":"n4"}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n5","aio":"threads","file":{"driver":"file","filename":"$TMP/disk2.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n6","bogus":1,"file":{"driver":"file","filename":"$TMP/disk2.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n6","read-only":"yes","file":{"driver":"file","filename":"$TMP/disk2.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n6","cache":{"direct":1},"file":{"driver":"file","filename":"$TMP/disk2.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n6","file":{"driver":"file"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n6","file":{"driver":"file","filename":"$TMP/disk2.img","aio":"bogus"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n6","file":{"driver":"file","filename":"$TMP/disk2.img","x":1}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n6","file":{"driver":"file","filename":"$TMP/disk2.img","aio":"native"}}}
{"execute":"blockdev-add","arguments":{"driver":"file","node-name":"f7","filename":"$TMP/disk2.img"}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n7","file":"f7"}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n9","file":"nosuch"}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"9bad","file":{"driver":"file","filename":"$TMP/disk2.img"}}}
{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"n8","read-only":true,"cache":{"direct":true,"no-flush":true},"file":{"driver":"file","filename":"$TMP/disk2.img","aio":"native"}}}
{"execute":"device_add","arguments":{"driver":"virtio-blk-pci","id":"vb0","drive":"n0","bus":"rp0"}}
{"execute":"blockdev-del","arguments":{"node-name":"n0"}}
{"execute":"blockdev-del","arguments":{"node-name":"f7"}}
{"execute":"blockdev-del","arguments":{"node-name":"nope"}}
{"execute":"blockdev-del","arguments":{"node-name":"d0"}}
{"execute":"blockdev-del"}
{"execute":"blockdev-del","arguments":{"node-name":"n7"}}
{"execute":"blockdev-del","arguments":{"node-name":"f7"}}
{"execute":"blockdev-del","arguments":{"node-name":"n8"}}
{"execute":"query-block"}
{"execute":"query-chardev"}
{"execute":"query-pci"}
{"execute":"chardev-add","arguments":{"id":"c1","backend":{"type":"socket","data":{"wait":false,"server":true,"addr":{"type":"unix","data":{"path":"$TMP/c1.sock"}}}}}}
{"execute":"chardev-add","arguments":{"id":"c1","backend":{"type":"socket","data":{"wait":false,"server":true,"addr":{"type":"unix","data":{"path":"$TMP/c1b.sock"}}}}}}
{"execute":"chardev-add","arguments":{"id":"c2","backend":{"type":"socket","data":{"server":false,"addr":{"type":"unix","data":{"path":"$TMP/none.sock"}}}}}}
{"execute":"chardev-add","arguments":{"id":"c3","backend":{"type":"bogus","data":{}}}}
{"execute":"chardev-add","arguments":{"id":"c3"}}
{"execute":"chardev-add","arguments":{"backend":{}}}
{"execute":"chardev-add","arguments":{"id":"c3","backend":{"type":"socket"}}}
{"execute":"chardev-add","arguments":{"id":"c3","backend":{"type":"socket","data":{}}}}
{"execute":"chardev-add","arguments":{"id":"c3","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{}}}}}}
{"execute":"chardev-add","arguments":{"id":"c3","backend":{"type":"socket","data":{"server":"yes","addr":{"type":"unix","data":{"path":"$TMP/c3.sock"}}}}}}
{"execute":"chardev-add","arguments":{"id":"c4","backend":{"type":"socket","data":{"server":false,"addr":{"type":"unix","data":{"path":"$TMP/c1.sock"}}}}}}
{"execute":"query-chardev"}
{"execute":"chardev-remove","arguments":{"id":"c4"}}
{"execute":"chardev-remove","arguments":{"id":"c1"}}
{"execute":"chardev-remove","arguments":{"id":"c1"}}
{"execute":"chardev-remove","arguments":{"id":"ch0"}}
{"execute":"chardev-remove"}
{"execute":"quit"}
CMDS

# One machine's transcript, reduced to shapes: errors by class and desc
# ($TMP and the monitor's socket path made neutral), returns by keys and
# JSON types; query-chardev sorted by label; query-pci cut to the
# functions both machines have.
cat >"$TMP/run.py" <<'PY'
import json, socket, sys, time
import qmpio
path, tmp = sys.argv[1], sys.argv[2]
for _ in range(600):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(path); break
    except OSError:
        time.sleep(0.05)
f = qmpio.QmpFile(s)
json.loads(f.readline())
def shape(v):
    if isinstance(v, dict):
        return {k: shape(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [shape(x) for x in v]
    return type(v).__name__
def pci(ret):
    devs = []
    def walk(ds):
        for d in ds:
            if d.get('qdev_id') in ('blk0', 'vs0', 'vb0'):
                devs.append((d['qdev_id'], shape(d)))
            if d.get('qdev_id') == 'rp0':
                keys = sorted(k for k in d if k != 'regions')
                devs.append(('rp0', keys, sorted(d['pci_bridge']['bus'])))
            # Not below bridges: under -S QEMU's bridges have no bus
            # numbers yet (no firmware ran) so it lists nothing there;
            # ours are numbered when the board is built.
    for b in ret:
        walk(b['devices'])
    return sorted(devs, key=lambda x: x[0])
for line in sys.stdin:
    cmd = json.loads(line)
    f.write(line); f.flush()
    while True:
        m = json.loads(f.readline())
        if 'event' not in m:
            break
    name = cmd['execute']
    if 'error' in m:
        out = 'error %s: %s' % (m['error']['class'], m['error']['desc'].replace(tmp, 'TMP'))
    elif name == 'query-chardev':
        out = json.dumps([(c['label'], shape(c)) for c in sorted(m['return'], key=lambda c: c['label'])
                          if c['label'] != 'compat_monitor0'])
    elif name == 'query-pci':
        out = json.dumps(pci(m['return']))
    else:
        out = json.dumps(shape(m['return']))
    print(name, out)
PY
run() { timeout 60 python3 "$TMP/run.py" "$1" "$TMP" <"$TMP/cmds"; }

DEVS="-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=4,addr=2
 -drive id=d0,file=$TMP/disk2.img,format=raw,if=none -device virtio-blk-pci,drive=d0,id=blk0,addr=3
 -chardev socket,id=ch0,path=$TMP/ch0.sock,server=on,wait=off
 -device virtio-serial-pci,id=vs0,addr=4 -device virtconsole,chardev=ch0,id=con0"
# shellcheck disable=SC2086
timeout 60 "$QEMU" -M q35 -S -nodefaults -display none $DEVS \
	-qmp "unix:$TMP/q.sock,server=on,wait=off" >"$TMP/qemu.log" 2>&1 &
pid=$!
run "$TMP/q.sock" >"$TMP/qemu.out" 2>&1
wait "$pid"; pid=
grep -q '^query-pci' "$TMP/qemu.out" || { echo "SKIP: QEMU did not answer:"; cat "$TMP/qemu.log" "$TMP/qemu.out"; exit 77; }
rm -f "$TMP"/*.sock
DEVS_VMM=$(echo "$DEVS" | sed 's/,if=none//')
# shellcheck disable=SC2086
timeout 60 "$VMM" -machine q35,accel=kvm -m 64M -kernel "$GUEST" -append testguest.action=spin \
	-serial none -S $DEVS_VMM -qmp "unix:$TMP/v.sock,server=on,wait=off" >"$TMP/vmm.log" 2>&1 &
pid=$!
run "$TMP/v.sock" >"$TMP/vmm.out" 2>&1
wait "$pid"; pid=
if ! diff -u "$TMP/qemu.out" "$TMP/vmm.out"; then
	echo "FAIL: replies differ from QEMU's (- qemu, + vmm)"; cat "$TMP/vmm.log"; exit 1
fi
echo "ok: $(wc -l <"$TMP/vmm.out") blockdev/chardev/query commands answered as QEMU $("$QEMU" --version | head -1 | awk '{print $4}')"
