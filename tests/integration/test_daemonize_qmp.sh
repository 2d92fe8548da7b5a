#!/usr/bin/env bash
# -daemonize as Kata's runtime uses it: the parent returns only once the
# daemon serves QMP and has written its -pidfile, so the runtime can
# connect at once, without retrying.  Checked for the path form and for
# the listening socket handed over as -qmp unix:fd=N, with -S (Kata starts
# the sandbox paused), and the same against QEMU 7.2 where installed:
# right after the parent exits, one connect() gets the greeting,
# query-status says prelaunch, and quit ends the daemon and removes the
# pidfile.
TMP_NAME=vmm-daemonize
. "$(dirname "$0")/kvm_common.sh"
kvm_require

# check NAME KIND CMD...: run CMD (which daemonizes) from a Python driver
# that, for KIND=fd, first makes the listening socket and passes it as
# fd 3; then connects exactly once.  Prints one verdict line per check.
check() {
	local name=$1 kind=$2
	shift 2
	timeout -k 5 90 python3 - "$TMP/$name" "$kind" "$@" >"$TMP/$name.res" 2>"$TMP/$name.py" <<'PY'
import json, os, socket, subprocess, sys, time
import qmpio
base, kind, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
sock, pidf = base + '.sock', base + '.pid'
fds = ()
if kind == 'fd':
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(sock); ls.listen(4)
    if ls.fileno() != 3:
        os.dup2(ls.fileno(), 3)
    os.set_inheritable(3, True)
    fds = (3,)
    cmd = [a.replace('@QMP@', 'unix:fd=3,server=on,wait=off') for a in cmd]
else:
    cmd = [a.replace('@QMP@', 'unix:%s,server=on,wait=off' % sock) for a in cmd]
r = subprocess.run(cmd, pass_fds=fds, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=open(base + '.err', 'w'))
if kind == 'fd':
    fd = ls.detach()
    os.close(fd)
    if fd != 3:
        os.close(3)
print('parent-exit', r.returncode)
try:
    pid = int(open(pidf).read())
    os.kill(pid, 0)
    print('pidfile-live yes')
except Exception as e:
    print('pidfile-live no', e); sys.exit(0)
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sock)        # once: the parent's exit promised a server
except OSError as e:
    print('connect no', e); os.kill(pid, 9); sys.exit(0)
s.settimeout(30)
f = qmpio.QmpFile(s)
g = json.loads(f.readline())
print('greeting', 'QMP' in g)
def cmd(c):
    f.write(json.dumps({'execute': c}) + '\n'); f.flush()
    while True:
        m = json.loads(f.readline())
        if 'return' in m or 'error' in m:
            return m
cmd('qmp_capabilities')
st = cmd('query-status').get('return', {})
print('status', st.get('status'), st.get('running'))
cmd('quit')
end = time.monotonic() + 30
while time.monotonic() < end:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    time.sleep(0.02)
else:
    print('daemon-exit no'); os.kill(pid, 9); sys.exit(0)
print('daemon-exit yes')
print('pidfile-removed', not os.path.exists(pidf))
PY
}

want="parent-exit 0
pidfile-live yes
greeting True
status prelaunch False
daemon-exit yes
pidfile-removed True"

for kind in path fd; do
	check "vmm-$kind" $kind "$VMM" -machine microvm,accel=kvm -m 64M -kernel "$GUEST" \
		-append "testguest.action=spin" -serial file:"$TMP/vmm-$kind.out" -S \
		-qmp @QMP@ -pidfile "$TMP/vmm-$kind.pid" -daemonize
	if [ "$(cat "$TMP/vmm-$kind.res")" = "$want" ]; then
		pass "vmm -daemonize ($kind): QMP answers at once, pidfile first, prelaunch, quit"
	else
		fail "vmm -daemonize ($kind):"; cat "$TMP/vmm-$kind.res" "$TMP/vmm-$kind.err" "$TMP/vmm-$kind.py"
	fi
done

QEMU=$(command -v qemu-system-x86_64 || true)
if [ -z "$QEMU" ]; then
	echo "SKIP: qemu-system-x86_64 not installed: QEMU's -daemonize not compared"
	finish
fi
for kind in path fd; do
	check "qemu-$kind" $kind "$QEMU" -machine microvm,accel=kvm -cpu host,-arch-capabilities \
		-m 64M -nodefaults -display none -kernel "$GUEST" -S \
		-qmp @QMP@ -pidfile "$TMP/qemu-$kind.pid" -daemonize
	if [ "$(cat "$TMP/qemu-$kind.res")" = "$want" ]; then
		pass "QEMU -daemonize ($kind) behaves the same"
	else
		fail "QEMU -daemonize ($kind) differs:"; diff "$TMP/qemu-$kind.res" "$TMP/vmm-$kind.res"
		cat "$TMP/qemu-$kind.err"
	fi
done
finish
