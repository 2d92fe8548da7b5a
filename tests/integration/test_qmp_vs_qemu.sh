#!/usr/bin/env bash
# QMP as QEMU speaks it: the same command sequence goes to a real
# `qemu-system-x86_64 -machine none` (no guest, no KVM needed) and to our
# QMP server (core/qmp, served by the test_qmp_server binary with a fake
# machine shaped like -M none), and the shapes of every reply and event --
# keys, value types, error classes and messages, event names, run states
# -- must be identical.  Values (timestamps, package strings) are not compared.
# Differences we choose (strict JSON: no single quotes, no \u0000, no
# numbers beyond double range; we offer no capabilities, so enabling one
# is worded differently) are left out of the sequence; docs/qmp.md lists
# them.
#
# Then, where KVM is usable, the machine-level behaviour against a running
# QEMU microvm and the real vmm with the test guest: which of event and
# reply comes first for system_powerdown and system_reset (20 times
# each), balloon without a balloon device, and the SHUTDOWN a SIGTERM
# produces.
#
# Part three runs a real VM on each side under KVM, started the way Kata
# starts QEMU: -S, and QMP on a listening socket the launcher bound and
# passes as an inherited fd (-qmp unix:fd=N,server=on,wait=off).  Two
# clients in turn connect by the path; the run states (prelaunch, stop in
# prelaunch, system_reset in prelaunch, cont, stop) must match QEMU's, and
# our guest must not have run before cont.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# The QMP helpers' reader/writer (tests/integration/qmpio.py).
export PYTHONPATH="$ROOT/tests/integration${PYTHONPATH:+:$PYTHONPATH}"
BUILD=${BUILD:-$ROOT/build}
PROG=$BUILD/tests/test_qmp_server
QEMU=$(command -v qemu-system-x86_64 || true)
if [ -z "$QEMU" ]; then
	echo "SKIP: qemu-system-x86_64 not installed"; exit 77
fi
if [ ! -x "$PROG" ]; then
	echo "SKIP: $PROG not built"; exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-qmp.XXXXXX")
qpid= vpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	[ -n "$vpid" ] && kill "$vpid" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
[ -n "${QMP_KEEP:-}" ] && trap - EXIT
NAME=cmp UUID=977692f6-744c-4917-8ccd-ffad44020fe9

cat >"$TMP/cmds" <<'CMDS'
{"execute":"query-status"}
{"execute":"qmp_capabilities","arguments":{"enable":"x"}}
{"execute":"qmp_capabilities","id":"neg"}
{"execute":"qmp_capabilities"}
{"execute":"query-version"}
{"execute":"query-status"}
{"execute":"query-name"}
{"execute":"query-uuid"}
{"execute":"query-kvm"}
{"execute":"query-cpus-fast"}
{"execute":"balloon","arguments":{"value":1073741824}}
{"execute":"query-balloon"}
{"execute":"balloon"}
{"execute":"balloon","arguments":{"value":"1G"}}
{"execute":"balloon","arguments":{"value":1.5}}
{"execute":"nope","id":"x"}
[1]
1
"str"
{"execute":1}
{"foo":1}
{"id":5}
{"execute":"stop","arguments":[]}
{"execute":"stop","arguments":{"x":1}}
{"exec-oob":"stop"}
{"a":1,"a":2}
}
{"execute":"query-status" ,}
"\ud800"
{"execute":"query-name","id":[1,{"a":null,"b":"\u00e9\ud83d\ude00"}]}
{"execute":"stop","id":1}
{"execute":"query-status"}
{"execute":"cont"}
{"execute":"query-status"}
{"arguments":{},"execute":"query-status","id":"govmm-sorted-keys"}
{"arguments":{"fdname":"fd-tap0"},"execute":"getfd"}
{"arguments":{"fdname":"\u003ctap\u003e"},"execute":"closefd"}
{"execute":"getfd"}
{"execute":"getfd","arguments":{"fdname":7}}
{"execute":"closefd","arguments":{"fdname":"x","y":1}}
{"execute":"system_reset"}
{"execute":"system_powerdown"}
{"execute":"quit"}
CMDS

# Until the socket is there, the server died, or 30 s passed (CI runners
# are slow and shared: a fixed short budget would fail for no reason).
wait_sock() {
	local deadline=$((SECONDS + 30))
	while [ $SECONDS -lt $deadline ]; do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

timeout 60 "$QEMU" -machine none -nodefaults -display none -name "$NAME" -uuid "$UUID" \
	-qmp "unix:$TMP/qemu.sock,server=on,wait=off" >"$TMP/qemu.log" 2>&1 &
qpid=$!
if ! wait_sock "$TMP/qemu.sock" "$qpid"; then
	echo "SKIP: qemu-system-x86_64 -machine none did not start:"; cat "$TMP/qemu.log"; exit 77
fi
timeout 20 "$PROG" --client "$TMP/qemu.sock" <"$TMP/cmds" >"$TMP/qemu.out" 2>&1
wait "$qpid"; qpid=

timeout 60 "$PROG" --serve "$TMP/vmm.sock" "$NAME" "$UUID" >"$TMP/vmm.log" 2>&1 &
vpid=$!
if ! wait_sock "$TMP/vmm.sock" "$vpid"; then
	echo "FAIL: our QMP server did not start"; cat "$TMP/vmm.log"; exit 1
fi
timeout 20 "$PROG" --client "$TMP/vmm.sock" <"$TMP/cmds" >"$TMP/vmm.out" 2>&1
wait "$vpid"; rc=$? vpid=
[ $rc -eq 0 ] || { echo "FAIL: our server exited $rc after quit"; exit 1; }
[ -e "$TMP/vmm.sock" ] && { echo "FAIL: socket file left behind"; exit 1; }

if ! diff -u "$TMP/qemu.out" "$TMP/vmm.out"; then
	echo "FAIL: reply shapes differ from QEMU's (- qemu, + vmm)"
	exit 1
fi
n=$(grep -c '^>' "$TMP/vmm.out")
echo "ok: $n commands, replies and events shaped as QEMU $("$QEMU" --version | head -1 | awk '{print $4}')"

# --- the machine: event order, balloon, signals ---------------------------
GUEST=$BUILD/guest-images/testguest.elf
VMM=${VMM:-$BUILD/vmm}
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: no usable /dev/kvm: event order, -S and -qmp fd= against a running QEMU not compared"; exit 0
fi
if [ ! -f "$GUEST" ]; then
	echo "SKIP: $GUEST not built: event order, -S and -qmp fd= against a running QEMU not compared"; exit 0
fi
# machine SOCK PID-FILE OUT: the transcript of one machine, normalised.
machine() {
	timeout 120 python3 - "$1" "$2" >"$3" 2>&1 <<'PY'
import json, os, signal, socket, sys, time
import qmpio
path, pid = sys.argv[1], int(open(sys.argv[2]).read())
for _ in range(400):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(path); break
    except OSError:
        time.sleep(0.05)
f = qmpio.QmpFile(s)
json.loads(f.readline())
def send(cmd, args=None):
    m = {'execute': cmd}
    if args is not None:
        m['arguments'] = args
    f.write(json.dumps(m) + '\n'); f.flush()
def until_reply():
    got = []
    while True:
        m = json.loads(f.readline())
        if 'event' in m:
            got.append(m['event'])
        else:
            got.append('error ' + m['error']['class'] if 'error' in m else 'reply')
            return got
send('qmp_capabilities'); until_reply()
send('balloon', {'value': 0}); print('balloon 0:', until_reply())
send('query-balloon'); print('query-balloon:', until_reply())
for cmd, ev in (('system_powerdown', 'POWERDOWN'), ('system_reset', 'RESET')):
    orders = {}
    for i in range(20):
        send(cmd)
        got = until_reply()
        while ev not in got:       # the event after the reply
            m = json.loads(f.readline())
            if 'event' in m:
                got.insert(len(got), m['event'])
        key = ','.join(g for g in got if g in (ev, 'reply'))
        orders[key] = orders.get(key, 0) + 1
    print(cmd + ':', orders)
os.kill(pid, signal.SIGTERM)
for line in f:
    m = json.loads(line)
    if m.get('event') == 'SHUTDOWN':
        print('SIGTERM: SHUTDOWN', json.dumps(m['data'], sort_keys=True))
print('eof')
PY
}
rm -f "$TMP/qm.sock" "$TMP/vm.sock"
"$QEMU" -M microvm -enable-kvm -cpu host,-arch-capabilities -m 64M -nodefaults \
	-display none -qmp "unix:$TMP/qm.sock,server=on,wait=off" >"$TMP/qm.log" 2>&1 &
qpid=$!; echo $qpid >"$TMP/qm.pid"
machine "$TMP/qm.sock" "$TMP/qm.pid" "$TMP/qm.out"
wait "$qpid"; qpid=
"$VMM" -machine microvm,accel=kvm -m 64M -kernel "$GUEST" -append testguest.action=spin \
	-serial none -qmp "unix:$TMP/vm.sock,server,nowait" >"$TMP/vm.log" 2>&1 &
vpid=$!; echo $vpid >"$TMP/vm.pid"
machine "$TMP/vm.sock" "$TMP/vm.pid" "$TMP/vm.out"
wait "$vpid"; vpid=
if ! diff -u "$TMP/qm.out" "$TMP/vm.out"; then
	echo "FAIL: the machine's events differ from QEMU's (- qemu microvm, + vmm)"
	exit 1
fi
echo "ok: event-before-reply order, balloon errors and SIGTERM's SHUTDOWN as QEMU:"
sed 's/^/    /' "$TMP/vm.out"

# --- hot-plug: the same q35 with root ports and drives, Kata's commands --
# QEMU runs paused (-S: its guest never answers the attention button);
# ours runs the test guest spinning (it never answers either).  Replies
# (class and words of errors, shapes of returns) must be identical.
printf 'VMM-TESTGUEST-DISK-SECTOR-0' >"$TMP/hp.img"; truncate -s 1M "$TMP/hp.img"
hotplug_seq() { # SOCK OUT
	PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$1" >"$2" 2>&1 <<'PY'
import json, sys
from hotplug_qmp import Qmp
q = Qmp(sys.argv[1])
def shape(v):
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(x) for x in v]
    return type(v).__name__
blk = {'driver': 'virtio-blk-pci', 'drive': 'd0', 'id': 'v0', 'bus': 'rp0', 'addr': '0x0'}
seq = [
    ('device_add', {}), ('device_add', {'driver': 'nope'}),
    ('device_add', dict(blk, bus='rp9')), ('device_add', dict(blk, bus='pcie.0', addr='0x9')),
    ('device_add', dict(blk, drive='zz')),
    ('device_add', {k: v for k, v in blk.items() if k != 'drive'}),
    ('device_add', dict(blk, id='rp1')),
    ('device_add', blk), ('device_add', blk),
    ('device_add', dict(blk, id='v1', bus='rp1')),
    ('device_add', dict(blk, id='v1', drive='d1')),
    ('qom-get', {'path': '/machine/peripheral/v0', 'property': 'addr'}),
    ('qom-get', {'path': 'v0', 'property': 'addr'}),
    ('qom-get', {'path': 'nope', 'property': 'addr'}),
    ('device_del', {}), ('device_del', {'id': 'nope'}),
    ('device_del', {'id': 'v0'}), ('device_del', {'id': 'v0'}),
    ('getfd', {'fdname': 'fd-tap0'}), ('closefd', {'fdname': 'fd-tap0'}),
]
for name, args in seq:
    r = q.cmd(name, args)
    print(name, json.dumps(args, sort_keys=True), '->',
          json.dumps(r['error'] if 'error' in r else shape(r['return']), sort_keys=True))
print('events:', sorted(e['event'] for e in q.events))
q.cmd('quit')
PY
}
HPDEV="-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1,addr=2
	-device pcie-root-port,id=rp1,bus=pcie.0,chassis=2,slot=2,addr=3"
rm -f "$TMP/qh.sock" "$TMP/vh.sock"
# shellcheck disable=SC2086
timeout 90 "$QEMU" -M q35 -S -enable-kvm -cpu host,-arch-capabilities -m 256M -nodefaults \
	-display none $HPDEV \
	-drive id=d0,file="$TMP/hp.img",if=none,format=raw,readonly=on \
	-drive id=d1,file="$TMP/hp.img",if=none,format=raw,readonly=on \
	-qmp "unix:$TMP/qh.sock,server=on,wait=off" >"$TMP/qh.log" 2>&1 &
qpid=$!
hotplug_seq "$TMP/qh.sock" "$TMP/qh.out"
wait "$qpid"; qpid=
# shellcheck disable=SC2086
timeout 90 "$VMM" -machine q35,accel=kvm -m 256M -kernel "$GUEST" -append testguest.action=spin \
	$HPDEV -drive id=d0,file="$TMP/hp.img",readonly=on -drive id=d1,file="$TMP/hp.img",readonly=on \
	-serial none -qmp "unix:$TMP/vh.sock,server,nowait" >"$TMP/vh.log" 2>&1 &
vpid=$!
hotplug_seq "$TMP/vh.sock" "$TMP/vh.out"
wait "$vpid"; vpid=
if ! diff -u "$TMP/qh.out" "$TMP/vh.out"; then
	echo "FAIL: hot-plug replies differ from QEMU's (- qemu q35 -S, + vmm)"
	exit 1
fi
echo "ok: device_add/device_del/qom-get/getfd replies as QEMU q35 -S: $(grep -c -- '->' "$TMP/vh.out") commands"

# ---- -S and -qmp unix:fd=N on a real VM --------------------
GUEST=$BUILD/guest-images/testguest.elf
VMM=${VMM:-$BUILD/vmm}
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ] || [ ! -f "$GUEST" ] || [ ! -x "$VMM" ]; then
	echo "SKIP: -S and -qmp unix:fd= against QEMU not compared: needs /dev/kvm, $VMM and $GUEST"; exit 0
fi
# withfd SOCK CMD...: bind and listen on SOCK, then exec CMD with the
# listening socket inherited as fd 5 (@FD@ in CMD becomes 5), as Kata does.
withfd() {
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
os.dup2(s.fileno(), 5); os.set_inheritable(5, True)
os.execvp(sys.argv[2], [a.replace("@FD@", "5") for a in sys.argv[2:]])
' "$@"
}
cat >"$TMP/s1" <<'CMDS'
{"execute":"qmp_capabilities"}
{"execute":"query-status"}
{"execute":"stop"}
{"execute":"query-status"}
{"execute":"system_reset"}
{"execute":"query-status"}
CMDS
cat >"$TMP/s2" <<'CMDS'
{"execute":"qmp_capabilities"}
{"execute":"query-status"}
{"execute":"cont"}
{"execute":"query-status"}
{"execute":"stop"}
{"execute":"query-status"}
{"execute":"cont"}
CMDS
cat >"$TMP/s3" <<'CMDS'
{"execute":"qmp_capabilities"}
{"execute":"quit"}
CMDS
# side NAME CMD...: run one side, two clients in turn, by path.
side() {
	local name=$1
	shift
	withfd "$TMP/$name-fd.sock" timeout 150 "$@" \
		-S -qmp unix:fd=@FD@,server=on,wait=off >"$TMP/$name-fd.log" 2>&1 &
	local pid=$!
	wait_sock "$TMP/$name-fd.sock" "$pid" || return 1
	timeout 20 "$PROG" --client "$TMP/$name-fd.sock" <"$TMP/s1" >"$TMP/$name-fd.out" 2>&1
	if [ "$name" = vmm ] && grep -q testguest "$TMP/vmm-serial.out" 2>/dev/null; then
		echo "FAIL: the guest ran before cont"; cat "$TMP/vmm-serial.out"; return 1
	fi
	timeout 20 "$PROG" --client "$TMP/$name-fd.sock" <"$TMP/s2" >>"$TMP/$name-fd.out" 2>&1
	if [ "$name" = vmm ]; then  # running: the guest prints its line
		for _ in $(seq 900); do  # 90 s: slow under load and ASan
			grep -q "testguest: action spin" "$TMP/vmm-serial.out" && break
			sleep 0.1
		done
	fi
	timeout 20 "$PROG" --client "$TMP/$name-fd.sock" <"$TMP/s3" >>"$TMP/$name-fd.out" 2>&1
	wait "$pid"
}
if ! side qemu "$QEMU" -machine q35,accel=kvm -cpu host,-arch-capabilities -m 64M \
	-nodefaults -display none; then
	echo "SKIP: -S and -qmp unix:fd= against QEMU not compared: QEMU under KVM did not start:"; cat "$TMP/qemu-fd.log"; exit 0
fi
side vmm "$VMM" -machine q35,accel=kvm -m 64M -kernel "$GUEST" \
	-append testguest.action=spin -serial file:"$TMP/vmm-serial.out" || {
	echo "FAIL: vmm with -S and -qmp unix:fd=N:"; cat "$TMP/vmm-fd.log"; exit 1; }
grep -q "testguest: action spin" "$TMP/vmm-serial.out" || {
	echo "FAIL: the guest did not run after cont"; cat "$TMP/vmm-fd.log"; exit 1; }
[ -S "$TMP/vmm-fd.sock" ] || { echo "FAIL: vmm removed the launcher's socket file"; exit 1; }
# QEMU sends system_reset's RESET before or after the reply, depending on
# when its main loop runs: compare without it, and count it on each side.
for f in qemu vmm; do
	[ "$(grep -c 'event:RESET' "$TMP/$f-fd.out")" = 1 ] || {
		echo "FAIL: $f: not exactly one RESET event"; cat "$TMP/$f-fd.out"; exit 1; }
	grep -v 'event:RESET' "$TMP/$f-fd.out" >"$TMP/$f-fd.cmp"
done
if ! diff -u "$TMP/qemu-fd.cmp" "$TMP/vmm-fd.cmp"; then
	echo "FAIL: -S / -qmp unix:fd= run states differ from QEMU's (- qemu, + vmm)"
	exit 1
fi
grep -q 'status:prelaunch' "$TMP/vmm-fd.out" || { echo "FAIL: no prelaunch seen"; exit 1; }
echo "ok: -S and -qmp unix:fd=N: $(grep -c '^>' "$TMP/vmm-fd.out") commands, run states as QEMU's"
