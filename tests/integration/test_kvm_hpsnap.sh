#!/usr/bin/env bash
# Issues 17 + 18 under KVM: a resized VM is saved and restored, as Kata
# templates a sandbox it has resized.  The test guest (testguest.action=
# hpsnap, guest-images/testguest/hpsnap.c) takes a hot-plugged vCPU
# (device_add host-x86_64-cpu: INIT-SIPI-SIPI, the AP counts) and a
# hot-plugged DIMM (object-add + device_add pc-dimm: fills 1 MiB of it),
# says "hpsnap ready" and waits for a byte on COM1.  The VM is saved
# (migrate file:), the VMM quits, and a new vmm with the same -smp and
# the DIMM on its command line (QEMU's rule for memory devices) restores
# it: vmm plugs the saved vCPU set itself (docs/migration.md).  The guest
# then finds its DIMM bytes, its AP still counting and both hot-plug
# blocks as saved, and gives the vCPU up when the restored VMM's
# device_del asks by the saved id; a virtio-mem's requested-size set on
# the saved VM comes back.  Refusals: the DIMM missing or of
# another size on the restoring side, another -smp maxcpus.  Again with
# the DIMM in a shared file and x-ignore-shared (Kata's template).  And
# system_reset of a VM with a hot-plugged vCPU: the rebuilt MADT lists
# it enabled (QEMU's too).
TMP_NAME=vmm-kvm-hpsnap
. "$(dirname "$0")/kvm_common.sh"
kvm_require
export PYTHONPATH=$ROOT/tests/integration

# virtio-mem beside them: the guest does not drive it, the host's
# qom-set requested-size on the saved VM must come back.
VMEM=(-object memory-backend-ram,id=vmm,size=256M
      -device virtio-mem-pci,id=vm0,memdev=vmm,block-size=2M,requested-size=0)
BASE=(-machine q35,accel=kvm -smp 1,maxcpus=2 -m 128M,slots=2,maxmem=1G
      -kernel "$GUEST" -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot "${VMEM[@]}")
DIMM=(-object memory-backend-ram,id=m1,size=128M -device pc-dimm,id=dimm1,memdev=m1)

# --- save ---
# save NAME BACKEND STATE [CAP...]: boot, plug a vCPU and a DIMM whose
# memdev is memory-backend-BACKEND (file: shared, in $TMP/dimm.ram),
# wait for "hpsnap ready", migrate to file:STATE with the capabilities.
cat >"$TMP/save.py" <<'PY'
import json, sys, time
from hotplug_qmp import Qmp, wait_serial
tmp, name, backend, state, caps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
out = '%s/%s.out' % (tmp, name)
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)), flush=True)
q = Qmp('%s/%s.sock' % (tmp, name))
check('guest waits for a vCPU', wait_serial(out, 'hpsnap waiting cpu'))
r = q.cmd('device_add', {'driver': 'host-x86_64-cpu', 'id': 'cpu-1', 'socket-id': 0, 'core-id': 1, 'thread-id': 0})
check('device_add cpu-1', r == {'return': {}}, r)
check('the hot-plugged vCPU runs guest code', wait_serial(out, 'cpuhp cpu 1 apic 1 running'))
check('guest waits for a DIMM', wait_serial(out, 'hpsnap waiting dimm'))
obj = {'qom-type': 'memory-backend-' + backend, 'id': 'm1', 'size': 128 << 20}
if backend == 'file':
    obj.update({'mem-path': tmp + '/dimm.ram', 'share': True})
r = q.cmd('object-add', obj)
check('object-add m1 (%s)' % backend, r == {'return': {}}, r)
r = q.cmd('device_add', {'driver': 'pc-dimm', 'id': 'dimm1', 'memdev': 'm1'})
check('device_add pc-dimm dimm1', r == {'return': {}}, r)
check('guest wrote the DIMM and is ready', wait_serial(out, 'hpsnap ready'))
r = q.cmd('qom-set', {'path': '/machine/peripheral/vm0', 'property': 'requested-size', 'value': 64 << 20})
check('qom-set virtio-mem requested-size 64M', r == {'return': {}}, r)
r = q.cmd('migrate-set-capabilities', {'capabilities': [{'capability': c, 'state': True} for c in ['events'] + caps]})
check('capabilities ' + ','.join(['events'] + caps), r == {'return': {}}, r)
t0 = time.time()
r = q.cmd('migrate', {'uri': 'file:' + state})
check('migrate accepted (once refused: "a VM whose vCPUs differ from -smp")', r == {'return': {}}, r)
e = q.wait_event('MIGRATION', lambda e: e['data']['status'] in ('completed', 'failed'))
check('saved', e is not None and e['data']['status'] == 'completed', [e, q.cmd('query-migrate')])
print('saved in %d ms' % ((time.time() - t0) * 1000))
q.cmd('quit')
PY
save() {
	local name=$1
	rm -f "$TMP/$name.sock"
	timeout -k 5 90 "$VMM" "${BASE[@]}" -append "testguest.action=hpsnap" \
		-qmp unix:"$TMP/$name.sock",server,nowait -serial file:"$TMP/$name.out" 2>"$TMP/$name.err" &
	local spid=$!
	timeout 120 python3 "$TMP/save.py" "$TMP" "$@" >"$TMP/$name.py" 2>&1
	wait $spid
	sed 's/^/    /' "$TMP/$name.py" | grep -v '^    ok:'
	grep -c '^ok:' "$TMP/$name.py" | sed "s/^/ok: $name: save side, checks passed: /"
	if grep -q '^FAIL\|Traceback' "$TMP/$name.py"; then
		fail "$name: save side (see above)"; sed 's/^/    /' "$TMP/$name.out" "$TMP/$name.err" | tail -20
	fi
}
save s1 ram "$TMP/hp.state"

# restore NAME VMM-ARGS...: a new vmm from the stream, QMP on NAME.sock;
# once it says the state is loaded, its stdin gives the guest its byte.
# Sets out, err and rc; RESTORE_PY (a file) runs against QMP meanwhile.
restore() {
	local name=$1
	shift
	out=$TMP/$name.out
	err=$TMP/$name.err
	rm -f "$TMP/$name.in" "$TMP/$name.sock"
	mkfifo "$TMP/$name.in"
	local t0
	t0=$(date +%s%N)
	VMM_LOG_LEVEL=2 timeout -k 5 90 "$VMM" "${BASE[@]}" -append "testguest.action=hpsnap" "$@" \
		-qmp unix:"$TMP/$name.sock",server,nowait -serial stdio \
		<"$TMP/$name.in" >"$out" 2>"$err" &
	local pid=$!
	exec 7>"$TMP/$name.in"
	local i
	for i in $(seq 1200); do
		grep -q 'restored' "$err" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	if grep -q 'restored' "$err"; then
		echo "ok: $name: restored in $(( ($(date +%s%N) - t0) / 1000000 )) ms (exec to loaded, wall)"
	fi
	(printf 'g' >&7) 2>/dev/null
	if [ -n "${RESTORE_PY:-}" ] && kill -0 $pid 2>/dev/null; then
		timeout 120 python3 "$RESTORE_PY" "$TMP" "$name" >"$TMP/$name.py" 2>&1
	fi
	exec 7>&-
	wait $pid
	rc=$?
}

cat >"$TMP/restored.py" <<'PY'
import json, sys
from hotplug_qmp import Qmp, wait_serial
tmp, name = sys.argv[1], sys.argv[2]
out = '%s/%s.out' % (tmp, name)
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)), flush=True)
q = Qmp('%s/%s.sock' % (tmp, name))
r = q.cmd('query-hotpluggable-cpus')
paths = [s.get('qom-path') for s in r.get('return', [])]
check('query-hotpluggable-cpus: the plugged slot came back with its id',
      paths == ['/machine/peripheral/cpu-1', '/machine/unattached/device[0]'], r)
r = q.cmd('query-cpus-fast')
cpus = r.get('return', [])
check('query-cpus-fast: two vCPUs, the restored one with a thread',
      len(cpus) == 2 and cpus[1]['qom-path'] == '/machine/peripheral/cpu-1' and cpus[1]['thread-id'] > 0, r)
r = q.cmd('query-memory-devices')
d = [m['data'] for m in r.get('return', []) if m.get('type') == 'dimm']
check('query-memory-devices: dimm1 at its saved place',
      len(d) == 1 and d[0]['id'] == 'dimm1' and d[0]['size'] == 128 << 20 and d[0]['slot'] == 0, r)
v = [m['data'] for m in r.get('return', []) if m.get('type') == 'virtio-mem']
check('virtio-mem: requested-size from the stream (64M), not the command line (0)',
      len(v) == 1 and v[0]['requested-size'] == 64 << 20, r)
check('guest checked DIMM, AP and blocks, waits for the eject request',
      wait_serial(out, 'cpuhp waiting eject'))
r = q.cmd('device_del', {'id': 'cpu-1'})
check('device_del cpu-1 on the restored VM', r == {'return': {}}, r)
e = q.wait_event('DEVICE_DELETED', lambda e: e.get('data', {}).get('device') == 'cpu-1')
check('DEVICE_DELETED once the guest ejected it', e is not None, q.events)
PY

RESTORE_PY=$TMP/restored.py restore r1 "${DIMM[@]}" -incoming file:"$TMP/hp.state"
sed 's/^/    /' "$TMP/r1.py" 2>/dev/null | grep -v '^    ok:'
grep -c '^ok:' "$TMP/r1.py" 2>/dev/null | sed 's/^/ok: restored side, checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/r1.py" && fail "restored side (see above)"
expect_rc "$rc" 33 "the restored guest finished every check"
expect_line "$out" 'hpsnap dimm memory ok' "the hot-plugged DIMM's bytes came back"
expect_line "$out" 'hpsnap cpu 1 still running' "the hot-plugged vCPU runs on after the restore"
expect_line "$out" 'hpsnap blocks ok' "both hot-plug blocks as saved"
expect_line "$out" 'cpuhp cpu 1 ejected' "the restored vCPU ejected through the saved id"
expect_line "$err" 'vCPU 1 \(APIC id 1\) plugged as saved id=cpu-1' "vmm plugged the saved vCPU set itself"
expect_no_line "$out" 'testguest: hello' "the guest did not boot again"
[ "$rc" = 33 ] || sed 's/^/    /' "$out" "$err" | tail -20

# Kata's template: the DIMM in a shared file, x-ignore-shared: its bytes
# stay in the file (the stream is smaller than the 1 MiB the guest wrote
# there), and the restoring vmm maps the same file again.
save s2 file "$TMP/hp2.state" x-ignore-shared
RESTORE_PY=$TMP/restored.py restore r5 -object memory-backend-file,id=m1,size=128M,mem-path="$TMP/dimm.ram",share=on \
	-device pc-dimm,id=dimm1,memdev=m1 -incoming file:"$TMP/hp2.state"
grep -q '^FAIL\|Traceback' "$TMP/r5.py" && { sed 's/^/    /' "$TMP/r5.py" | grep -v '^    ok:'; fail "x-ignore-shared: restored side"; }
expect_rc "$rc" 33 "x-ignore-shared: the restored guest finished every check"
expect_line "$out" 'hpsnap dimm memory ok' "x-ignore-shared: the DIMM's bytes came back from its file"
s1=$(stat -c %s "$TMP/hp.state" 2>/dev/null || echo 0)
s2=$(stat -c %s "$TMP/hp2.state" 2>/dev/null || echo 0)
if [ "$s2" -gt 0 ] && [ $((s2 + 1048576)) -le "$s1" ]; then
	pass "x-ignore-shared: the DIMM's RAM stays in its file (stream $s2 bytes, $s1 with the DIMM in it)"
else
	fail "x-ignore-shared: stream $s2 bytes vs $s1"
fi

# --- refusals, one line naming the field ---
unset RESTORE_PY
restore r2 -incoming file:"$TMP/hp.state"
expect_rc "$rc" 1 "no DIMM on the restoring command line: vmm exits 1"
expect_line "$err" "board.memdev0: 'pc-dimm dimm1 \\(m1\\) slot 0 128 MiB @0x[0-9a-f]+' was saved but is not here" \
	"no DIMM: the missing pc-dimm named"
restore r3 -object memory-backend-ram,id=m1,size=256M -device pc-dimm,id=dimm1,memdev=m1 \
	-incoming file:"$TMP/hp.state"
expect_rc "$rc" 1 "a DIMM of another size: vmm exits 1"
expect_line "$err" "board.memdev0: saved 'pc-dimm dimm1 \\(m1\\) slot 0 128 MiB @0x[0-9a-f]+', here 'pc-dimm dimm1 \\(m1\\) slot 0 256 MiB @0x[0-9a-f]+'" \
	"a DIMM of another size: both named"
BASE=(-machine q35,accel=kvm -smp 1,maxcpus=3 -m 128M,slots=2,maxmem=1G
      -kernel "$GUEST" -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot "${VMEM[@]}")
restore r4 "${DIMM[@]}" -incoming file:"$TMP/hp.state"
expect_rc "$rc" 1 "another -smp maxcpus: vmm exits 1"
expect_line "$err" 'vm.maxcpus: the saved VM had another number of vCPU slots' "another maxcpus: named"

# --- system_reset keeps a plugged vCPU in the MADT ---
rm -f "$TMP/m.sock"
timeout -k 5 90 "$VMM" -machine q35,accel=kvm -smp 1,maxcpus=2 -m 128M -kernel "$GUEST" \
	-append "testguest.action=madt" -qmp unix:"$TMP/m.sock",server,nowait \
	-serial file:"$TMP/m.out" 2>"$TMP/m.err" &
mpid=$!
timeout 120 python3 - "$TMP" >"$TMP/m.py" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp, wait_serial
tmp = sys.argv[1]
out = tmp + '/m.out'
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: ' + json.dumps(got)), flush=True)
q = Qmp(tmp + '/m.sock')
check('boot MADT: one of two LAPICs enabled', wait_serial(out, 'madt lapics enabled 1 of 2'))
r = q.cmd('device_add', {'driver': 'host-x86_64-cpu', 'id': 'cpu-1', 'socket-id': 0, 'core-id': 1, 'thread-id': 0})
check('device_add cpu-1', r == {'return': {}}, r)
r = q.cmd('system_reset')
check('system_reset', r == {'return': {}}, r)
check('after the reset the MADT lists the plugged vCPU enabled',
      wait_serial(out, 'madt lapics enabled 2 of 2'), open(out).read()[-300:])
r = q.cmd('device_del', {'id': 'cpu-1'})
check('device_del cpu-1 after the reset', r == {'return': {}}, r)
q.cmd('quit')
PY
wait $mpid
sed 's/^/    /' "$TMP/m.py" | grep -v '^    ok:'
grep -c '^ok:' "$TMP/m.py" | sed 's/^/ok: MADT after system_reset, checks passed: /'
grep -q '^FAIL\|Traceback' "$TMP/m.py" && fail "MADT after system_reset (see above)"
finish
