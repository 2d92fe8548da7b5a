#!/usr/bin/env bash
# A DIMM hot-added while a real virtiofsd serves the guest (issue 16 with
# issue 17): the test guest (testguest.action=fs-dimm) starts virtio-fs
# and opens the host's hello.txt, then waits for a DIMM; object-add of a
# memory-backend-memfd and device_add pc-dimm as Kata sends them; the
# guest READs the file with the reply buffer inside the new DIMM, which
# virtiofsd can only fill if vmm told it of the region (ADD_MEM_REG, or
# a fresh SET_MEM_TABLE).  A share=off backend is refused at device_add
# with one line naming the vhost-user device, before anything is mapped.
# Under -no-reboot (Kata's), so inside the seccomp filter.
. "$(dirname "$0")/kvm_common.sh"
kvm_require
VIRTIOFSD=/usr/lib/qemu/virtiofsd
[ -x "$VIRTIOFSD" ] || { echo "SKIP: $VIRTIOFSD not installed (ci/deps.sh installs qemu-system-x86)"; exit 77; }
FSD_PID=
cleanup() { [ -n "$FSD_PID" ] && kill "$FSD_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

mkdir -p "$TMP/share"
printf 'VMM-VIRTIOFS-HELLO-FROM-HOST\n' >"$TMP/share/hello.txt"
"$VIRTIOFSD" --socket-path="$TMP/fs.sock" -o source="$TMP/share" -o cache=none \
	>"$TMP/virtiofsd.log" 2>&1 &
FSD_PID=$!
end=$((SECONDS + 10))
until [ -S "$TMP/fs.sock" ] || [ $SECONDS -ge $end ]; do sleep 0.05; done
[ -S "$TMP/fs.sock" ] || { fail "virtiofsd did not come up"; finish; }

timeout -k 5 60 "$VMM" -machine q35,accel=kvm -m 128M,slots=2,maxmem=1G -no-reboot \
	-object memory-backend-memfd,id=mem,size=128M -numa node,memdev=mem \
	-chardev socket,id=c1,path="$TMP/fs.sock" \
	-device vhost-user-fs-pci,id=fs0,chardev=c1,tag=kataShared \
	-kernel "$GUEST" -append "testguest.action=fs-dimm" \
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
check('guest opened hello.txt through virtiofsd and waits', wait_serial(out, 'fs-dimm waiting'))
M = 128 << 20
r = q.cmd('object-add', {'qom-type': 'memory-backend-ram', 'id': 'priv', 'size': M})
check('object-add memory-backend-ram', r == {'return': {}}, r)
r = q.cmd('device_add', {'driver': 'pc-dimm', 'id': 'dp', 'memdev': 'priv'})
check('a share=off DIMM is refused beside vhost-user',
      err(r) == ('GenericError', "memdev 'priv' is not shareable with vhost-user device 'fs0' "
                 "(use memory-backend-memfd, or memory-backend-file with share=on)"), r)
r = q.cmd('query-memory-devices')
check('nothing was added', r == {'return': []}, r)
r = q.cmd('object-add', {'qom-type': 'memory-backend-memfd', 'id': 'm1', 'size': M})
check('object-add memory-backend-memfd', r == {'return': {}}, r)
r = q.cmd('device_add', {'driver': 'pc-dimm', 'id': 'd1', 'memdev': 'm1'})
check('device_add pc-dimm', r == {'return': {}}, r)
check('virtiofsd wrote the READ reply into the hot-added DIMM',
      wait_serial(out, "fs-dimm read into 0x100001000 'VMM-VIRTIOFS-HELLO-FROM-HOST' match"))
PY
wait "$vpid"; rc=$?
sed 's/^/    /' "$TMP/vm.py.out" | grep -v '^    ok:'
grep -c '^ok:' "$TMP/vm.py.out" | sed 's/^/ok: DIMM hot-added beside virtiofsd, checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/vm.py.out" && { fail "see above"; cat "$TMP/vm.out" "$TMP/vm.log" "$TMP/virtiofsd.log"; }
expect_rc $rc 33 "guest passed its checks and ended (debug-exit 0x10)"
expect_no_line "$TMP/vm.log" "backend broken" "virtiofsd took the region (no broken backend)"
finish
