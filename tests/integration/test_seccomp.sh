#!/usr/bin/env bash
# The seccomp sandbox as a user meets it: the test guest with every device
# type (virtio-blk on PCI with an I/O thread and on MMIO, virtio-net on a
# loop backend and on tap, virtconsoles on a unix socket and a file,
# virtio-rng, balloon, nvdimm, serial file and pty, QMP, -D log) runs all
# its checks with the filter on by default, with -disable-seccomp, and
# after a QMP system_reset rebuilt the whole machine under the filter;
# every thread carries the filter; nothing is ever reported blocked.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

make_disk "$TMP/disk.img"
make_pmem "$TMP/pmem.img"

# The tap backend needs root and /dev/net/tun; without them the loop
# backend still covers virtio-net.
TAP=()
if [ "$(id -u)" = 0 ] && [ -w /dev/net/tun ]; then
	TAP=(-netdev "tap,id=n1,ifname=vmmsc$$,script=no,downscript=no"
	     -device virtio-net-device,netdev=n1)
else
	echo "SKIP: tap backend (needs root and /dev/net/tun); virtio-net runs on the loop backend"
fi

# vmm_all NAME EXTRA-ARGS...: the q35 machine with every device type.
vmm_all() {
	local name=$1
	shift
	rm -f "$TMP/$name.qmp" "$TMP/$name.con"
	# -k: a build blocked waiting for a chardev client does not run the
	# loop that handles SIGTERM.
	VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" -machine q35,accel=kvm,nvdimm=on \
		-m 256M,slots=2,maxmem=1G -smp 2 -kernel "$GUEST" -append q35 \
		-object iothread,id=io0 \
		-drive id=d0,file="$TMP/disk.img" \
		-device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3,iothread=io0,share-rw=on \
		-drive id=d1,file="$TMP/disk.img",readonly=on \
		-device virtio-blk-device,drive=d1,share-rw=on \
		-netdev loop,id=n0 -device virtio-net-pci,netdev=n0 "${TAP[@]}" \
		-chardev socket,id=c0,path="$TMP/$name.con",server=on,wait=${CON_WAIT:-off} \
		-device virtconsole,chardev=c0 \
		-chardev file,id=c1,path="$TMP/$name.con1" -device virtconsole,chardev=c1 \
		-object rng-random,id=r0,filename=/dev/urandom \
		-device virtio-rng-pci,rng=r0 -device virtio-balloon-pci \
		-object memory-backend-file,id=mem0,mem-path="$TMP/pmem.img",size=2M \
		-device nvdimm,id=nv0,memdev=mem0 \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-serial file:"$TMP/$name.out" -serial pty \
		-qmp unix:"$TMP/$name.qmp",server,nowait -D "$TMP/$name.log" "$@" \
		>/dev/null 2>"$TMP/$name.err"
}

# An ASan build leaves the filter out (LeakSanitizer's exit check needs
# ptrace): the runs must still pass, the filter checks are skipped.
sandboxed=1

check_run() { # check_run NAME RC WHAT
	expect_rc "$2" 33 "$3: the guest passed every device check"
	expect_line "$TMP/$1.out" "^testguest: done, 0 failed" "$3: done line"
	expect_no_line "$TMP/$1.err" "blocked system call" "$3: nothing blocked"
}

vmm_all strict -no-reboot
rc=$?
check_run strict $rc "seccomp, -no-reboot"
if grep -q "seccomp: not installed in an ASan build" "$TMP/strict.log"; then
	echo "SKIP: sanitizer build: the vmm runs without its seccomp filter"
	sandboxed=0
else
	expect_line "$TMP/strict.log" "seccomp: filter installed on every thread: [0-9]+ rules, no rebuild" "filter installed (strict set under -no-reboot)"
fi

vmm_all rebuild
rc=$?
check_run rebuild $rc "seccomp, reboot allowed"
[ $sandboxed = 1 ] && expect_line "$TMP/rebuild.log" "seccomp: filter installed on every thread: [0-9]+ rules, machine rebuild allowed" "filter installed (rebuild set without -no-reboot)"

vmm_all off -disable-seccomp
rc=$?
check_run off $rc "-disable-seccomp"
expect_line "$TMP/off.log" "seccomp: disabled \(-disable-seccomp\)" "-disable-seccomp logged"

# A spinning guest: every thread (main loop, I/O thread, both vCPUs)
# runs under the filter; then QMP system_reset rebuilds the machine
# (files, sockets, tap, KVM set-up ioctls again) under it, and quit.
rm -f "$TMP/spin.qmp"
vmm_all spin -append "testguest.action=spin" &
pid=$!
timeout 30 python3 - "$TMP/spin.qmp" "$TMP/spin.out" "$sandboxed" >"$TMP/spin.py" 2>&1 <<'PY'
import json, os, socket, subprocess, sys, time
import qmpio
path, serial, sandboxed = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
for _ in range(200):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(path); break
    except OSError:
        time.sleep(0.05)
f = qmpio.QmpFile(s)
json.loads(f.readline())
seen = []   # events read while waiting for a reply (QEMU sends RESET first)
def cmd(c):
    f.write(json.dumps({'execute': c}) + '\n'); f.flush()
    evs = []
    while True:
        m = json.loads(f.readline())
        if 'event' in m:
            evs.append(m['event'])
            seen.append(m)
            continue
        return m, evs
def wait_event(name):
    for m in seen:
        if m.get('event') == name:
            seen.remove(m)
            return m
    while True:
        m = json.loads(f.readline())
        if m.get('event') == name:
            return m
def hellos():
    try:
        return open(serial).read().count('testguest: hello')
    except OSError:
        return 0
cmd('qmp_capabilities')
for _ in range(100):
    if hellos() >= 1: break
    time.sleep(0.05)
# The rebuilt machine opens the serial file again (truncating it): empty
# it now, so a hello afterwards can only come from the second boot.
os.truncate(serial, 0)
# The vmm's pid is the one whose cmdline names our QMP socket.
pid = None
for p in os.listdir('/proc'):
    if p.isdigit():
        try:
            argv = open('/proc/%s/cmdline' % p, 'rb').read().split(b'\0')
        except OSError:
            continue
        if argv and argv[0].endswith(b'vmm') and any(path.encode() in a for a in argv):
            # Not the migration helper it forks (core/spawn.h), which
            # shares its command line.
            try:
                if open('/proc/%s/comm' % p).read().strip() == 'vmm-helper':
                    continue
            except OSError:
                continue
            pid = p
def filters(pid):
    out = {}
    for t in os.listdir('/proc/%s/task' % pid):
        st = open('/proc/%s/task/%s/status' % (pid, t)).read()
        mode = [l.split()[1] for l in st.splitlines() if l.startswith('Seccomp:')][0]
        out[t] = mode
    return out
tasks = filters(pid)
print('threads', len(tasks), 'modes', sorted(set(tasks.values())))
print('reset', cmd('system_reset')[0])
print('event', wait_event('RESET')['data'])
for _ in range(100):
    if hellos() >= 2: break
    time.sleep(0.05)
print('hellos', hellos() + 1)
tasks = filters(pid)
print('after reset threads', len(tasks), 'modes', sorted(set(tasks.values())))
print('status', cmd('query-status')[0]['return']['status'])
print('quit', cmd('quit')[0])
PY
wait "$pid"
expect_rc $? 0 "QMP quit ends the spinning VM"
if [ $sandboxed = 1 ]; then
	# main, I/O thread, 2 vCPUs; mode 2 = filter.
	expect_line "$TMP/spin.py" "^threads [4-9] modes \['2'\]" "every thread runs under the filter (TSYNC + inherited)"
	expect_line "$TMP/spin.py" "^after reset threads [4-9] modes \['2'\]" "the rebuilt machine's threads too"
fi
expect_line "$TMP/spin.py" "^event \{'guest': False, 'reason': 'host-qmp-system-reset'\}" "system_reset: RESET event"
expect_line "$TMP/spin.py" "^hellos [2-9]" "the rebuilt machine booted the guest again"
expect_line "$TMP/spin.py" "^status running" "running after the reset"
expect_no_line "$TMP/spin.err" "blocked system call" "rebuild under the filter: nothing blocked"

# A reset before the device checks, then all of them on the rebuilt
# machine under the filter.  The console chardev waits for its client
# (wait=on) once, at start, which makes this deterministic: the QMP
# commands are queued before the first boot may start, so the reset is
# the first thing its loop handles; host backends live across the
# rebuild, so the second boot keeps the same console socket and client
# and runs to the guest's exit.
rm -f "$TMP/mid.qmp" "$TMP/mid.con"
CON_WAIT=on vmm_all mid &
pid=$!
timeout 30 python3 - "$TMP/mid.qmp" "$TMP/mid.con" >"$TMP/mid.py" 2>&1 <<'PY'
import json, os, socket, sys, time
def ident(path):
    st = os.stat(path)
    return (st.st_ino, st.st_ctime_ns)   # tmpfs reuses inode numbers
def connect(path, old=None):
    for _ in range(1000):
        try:
            if old is None or ident(path) != old:
                s = socket.socket(socket.AF_UNIX); s.connect(path)
                return s, ident(path)
        except OSError:
            pass
        time.sleep(0.01)
    sys.exit('no socket at ' + path)
q, _ = connect(sys.argv[1])
q.sendall(b'{"execute": "qmp_capabilities"}{"execute": "system_reset"}\n')
con1, ino = connect(sys.argv[2])
f = q.makefile('r')
while True:
    m = json.loads(f.readline())
    if m.get('event') == 'RESET':
        print('RESET', m['data']); break
# Same socket file, same connection: not closed by the rebuild.
con1.setblocking(False)
try:
    kept = con1.recv(4096, socket.MSG_PEEK) != b''
except BlockingIOError:
    kept = True
if ident(sys.argv[2]) == ino and kept:
    print('console kept')
for line in f:   # until the vmm exits
    pass
PY
wait "$pid"
rc=$?
expect_line "$TMP/mid.py" "^RESET" "reset before the device checks"
expect_line "$TMP/mid.py" "^console kept" "the rebuilt machine keeps its console socket and client"
check_run mid $rc "after a rebuild under the filter"
finish
