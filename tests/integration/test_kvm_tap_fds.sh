#!/usr/bin/env bash
# Taps as Kata passes them, under KVM with the test guest: inside a
# network namespace this test makes, a launcher (python) opens the queues
# of a multi_queue tap the way Kata's runtime does (IFF_TAP|IFF_NO_PI|
# IFF_VNET_HDR|IFF_MULTI_QUEUE) and execs vmm with them inherited:
# -netdev tap,fds=A:B and virtio-net-pci,mq=on,vectors=6; then
# ifname=,queues=3, where vmm opens the queues itself.  The guest finds
# the function with its MSI-X table; vmm holds exactly the tap queues it
# was given.  Then every wrong kind of descriptor (a regular file, a
# pipe, a socket, /dev/null, a closed number) is refused in one line
# naming the option and the fd, before any vCPU runs; and vhost=on is
# refused naming /dev/vhost-net (kernel vhost-net itself is tested only
# where the host has it: a SKIP line here otherwise).
TMP_NAME=vmm-tapfds
. "$(dirname "$0")/kvm_common.sh"
kvm_require
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for ip netns and /dev/net/tun"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: iproute2 (ip) not installed"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: /dev/net/tun missing"; exit 77; }
ns=vmm-tapfd-$$
ip netns add "$ns" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
trap 'ip netns del "$ns" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

# launch N NAME OUT VMM-ARGS...: open N queues of tap NAME (0: none),
# replace @FDS@ in the arguments by their numbers, exec vmm with them
# inherited; it runs the test guest.  Sets rc; COM1 in OUT, stderr in
# OUT.err, the tap fds vmm held (from /proc, under -S before cont) in
# OUT.fds.
cat >"$TMP/launch.py" <<'PY'
import fcntl, json, os, signal, socket, struct, subprocess, sys, time
import qmpio
TUNSETIFF = 0x400454ca
n, name, out, qsock = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
argv = sys.argv[5:]
fds = []
for _ in range(n):
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH22x', name.encode(),
                0x0002 | 0x1000 | 0x4000 | 0x0100))
    os.set_inheritable(fd, True)
    fds.append(fd)
argv = [a.replace('@FDS@', ':'.join(map(str, fds))) for a in argv]
o = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
e = os.open(out + '.err', os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
pid = os.fork()
if pid == 0:
    os.dup2(o, 1)
    os.dup2(e, 2)
    os.execvp(argv[0], argv)
for fd in fds + [o, e]:
    os.close(fd)
# -S: the machine is built, its vCPUs wait for cont.  Count the tap
# queues vmm holds and note the tap's queue state, then let the guest run.
held = -1
s = socket.socket(socket.AF_UNIX)
end = time.time() + 30
while time.time() < end:
    try:
        s.connect(qsock)
        break
    except OSError:
        if os.waitpid(pid, os.WNOHANG)[0]:
            pid = 0
            break
        time.sleep(0.02)
if pid:
    f = qmpio.QmpFile(s)
    f.readline()
    for cmd in ('qmp_capabilities', 'cont'):
        if cmd == 'cont':
            link = subprocess.run(['ip', '-d', 'link', 'show', sys.argv[2]],
                                  capture_output=True, text=True).stdout
            open(out + '.link', 'w').write(link)
            held = 0
            for x in os.listdir('/proc/%d/fd' % pid):
                try:
                    held += os.readlink('/proc/%d/fd/%s' % (pid, x)) == '/dev/net/tun'
                except OSError:
                    pass
        f.write(json.dumps({'execute': cmd}) + '\n')
        f.flush()
        f.readline()
    end = time.time() + 60
    while True:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.time() > end:
            os.kill(pid, signal.SIGKILL)
            _, st = os.waitpid(pid, 0)
            break
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(st)
else:
    code = 99
open(out + '.fds', 'w').write('%d\n' % held)
sys.exit(code if code >= 0 else 98)
PY
launch() {
	local n=$1 name=$2 o=$3
	shift 3
	rm -f "$TMP/q.sock"
	timeout -k 5 90 ip netns exec "$ns" python3 "$TMP/launch.py" "$n" "$name" "$o" "$TMP/q.sock" \
		"$VMM" -machine q35,accel=kvm -m 64M -kernel "$GUEST" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -S -qmp "unix:$TMP/q.sock,server,nowait" \
		-serial stdio "$@"
	rc=$?
}

# Kata's line: two inherited queues, mq=on, vectors=6 (2 pairs + ctrl + config).
launch 2 kt0 "$TMP/fds.out" -netdev tap,id=network-0,fds=@FDS@ \
	-device driver=virtio-net-pci,netdev=network-0,mac=2a:2b:c6:b9:b8:28,mq=on,vectors=6,addr=4
expect_rc "$rc" 33 "fds=A:B with mq=on: the guest ran"
expect_line "$TMP/fds.out" 'testguest: msix 00:04\.0 6' "the guest finds virtio-net with 6 MSI-X vectors"
if [ "$(cat "$TMP/fds.out.fds")" = 2 ]; then pass "vmm holds the two tap queues"; else fail "vmm holds $(cat "$TMP/fds.out.fds") tap fds, want 2"; fi
# Until the guest's driver asks for more pairs (§5.1.6.5.5), one queue
# pair is in use: the other tap queue is detached, so the kernel steers
# nothing to it.
expect_line "$TMP/fds.out.link" 'multi_queue numqueues 1 numdisabled 1' "second tap queue detached until the driver enables it"

# vmm opens three queues of a named multi_queue tap itself.
launch 0 kq3 "$TMP/q3.out" -netdev tap,id=n0,ifname=kq3,queues=3 \
	-device virtio-net-pci,netdev=n0,mq=on,addr=4
expect_rc "$rc" 33 "ifname=,queues=3: the guest ran"
expect_line "$TMP/q3.out" 'testguest: msix 00:04\.0 8' "default vectors: 3 pairs + control + config"
if [ "$(cat "$TMP/q3.out.fds")" = 3 ]; then pass "vmm opened three tap queues"; else fail "vmm holds $(cat "$TMP/q3.out.fds") tap fds, want 3"; fi
expect_line "$TMP/q3.out.link" 'multi_queue numqueues 1 numdisabled 2' "two of three tap queues detached until the driver enables them"

# The guest drives multiqueue itself (testguest.action=net-mq): it
# negotiates MQ, asks for one pair too many (VIRTIO_NET_ERR), then for
# both (OK), and sends a frame on the second pair.  From the host: the
# frame on the tap, and both tap queues attached once the guest asked.
cat >"$TMP/netmq.py" <<'PY'
import fcntl, json, os, signal, socket, struct, subprocess, sys, time
import qmpio
TUNSETIFF = 0x400454ca
out, qsock = sys.argv[1], sys.argv[2]
argv = sys.argv[3:]
fds = []
for _ in range(2):
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH22x', b'kmq0', 0x0002 | 0x1000 | 0x4000 | 0x0100))
    os.set_inheritable(fd, True)
    fds.append(fd)
argv = [a.replace('@FDS@', ':'.join(map(str, fds))) for a in argv]
subprocess.run(['ip', 'link', 'set', 'kmq0', 'up'], check=True)
ps = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))
ps.bind(('kmq0', 0))
ps.settimeout(0.2)
o = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
pid = os.fork()
if pid == 0:
    os.dup2(o, 1)
    os.execvp(argv[0], argv)
for fd in fds + [o]:
    os.close(fd)
def link():
    return subprocess.run(['ip', '-d', 'link', 'show', 'kmq0'], capture_output=True, text=True).stdout
s = socket.socket(socket.AF_UNIX)
end = time.time() + 30
while True:
    try:
        s.connect(qsock)
        break
    except OSError:
        if time.time() > end or os.waitpid(pid, os.WNOHANG)[0]:
            print('vmm did not start'); sys.exit(1)
        time.sleep(0.02)
f = qmpio.QmpFile(s)
f.readline()
for cmd in ('qmp_capabilities', 'cont'):
    if cmd == 'cont':
        print('before cont:', 'numdisabled 1' in link())
    f.write(json.dumps({'execute': cmd}) + '\n'); f.flush(); f.readline()
got = False
end = time.time() + 60
while time.time() < end and not ('testguest: done' in open(out, errors='replace').read() and got):
    try:
        if b'VMM-MQ-LAST-PAIR' in ps.recv(2048):
            got = True
    except socket.timeout:
        pass
print('frame on the tap:', got)
print('after pairs-set:', 'numqueues 2 numdisabled 0' in link())
os.kill(pid, signal.SIGTERM)
_, st = os.waitpid(pid, 0)
print('vmm exit:', os.waitstatus_to_exitcode(st))
PY
rm -f "$TMP/q.sock"
timeout -k 5 120 ip netns exec "$ns" python3 "$TMP/netmq.py" "$TMP/mq.out" "$TMP/q.sock" \
	"$VMM" -machine q35,accel=kvm -m 64M -kernel "$GUEST" -append testguest.action=net-mq \
	-S -qmp "unix:$TMP/q.sock,server,nowait" -serial stdio \
	-netdev tap,id=n0,fds=@FDS@ -device virtio-net-pci,netdev=n0,mq=on,addr=4 >"$TMP/mq.res" 2>&1
expect_line "$TMP/mq.out" 'testguest: virtio-net mq slot 4 max pairs 2' "guest: MQ offered, max_virtqueue_pairs 2"
expect_line "$TMP/mq.out" 'testguest: virtio-net mq pairs-set 3 ack 1' "guest: 3 pairs of 2 refused (VIRTIO_NET_ERR)"
expect_line "$TMP/mq.out" 'testguest: virtio-net mq pairs-set 2 ack 0' "guest: 2 pairs set (VIRTIO_NET_OK)"
expect_line "$TMP/mq.out" 'testguest: done, 0 failed' "guest: all its checks passed"
expect_line "$TMP/mq.res" 'before cont: True' "one tap queue detached before the guest asked"
expect_line "$TMP/mq.res" 'frame on the tap: True' "the frame sent on pair 1 came out of the tap"
expect_line "$TMP/mq.res" 'after pairs-set: True' "both tap queues attached once the guest set 2 pairs"
expect_line "$TMP/mq.res" 'vmm exit: 0' "vmm ended quietly on SIGTERM"

# bad NAME REGEX SETUP VMM-ARGS: fd 5 set up by SETUP (a shell redirection
# or command), refused in one line before the guest runs.
bad() {
	local name=$1 re=$2 setup=$3
	shift 3
	(
		eval "$setup"
		# shellcheck disable=SC2086
		exec ${WRAP:-} timeout -k 5 30 "$VMM" -machine q35,accel=kvm -m 64M -kernel "$GUEST" \
			-serial stdio "$@"
	) >"$TMP/$name.out" 2>"$TMP/$name.err"
	local r=$?
	expect_rc $r 1 "$name: refused"
	expect_line "$TMP/$name.err" "$re" "$name: message"
	local n; n=$(wc -l <"$TMP/$name.err")
	if [ "$n" -eq 1 ]; then pass "$name: one line"; else fail "$name: $n lines: $(cat "$TMP/$name.err")"; fi
	if [ -s "$TMP/$name.out" ]; then fail "$name: the guest ran"; fi
}
NIC=(-device virtio-net-pci,netdev=n0,mq=on)
: >"$TMP/regular"
bad regular 'vmm: -netdev id=n0,fds=5: fd 5 is a regular file, not a tap' \
	'exec 5<"$TMP/regular"' -netdev tap,id=n0,fds=5 "${NIC[@]}"
bad pipe 'vmm: -netdev id=n0,fds=5: fd 5 is a pipe, not a tap' \
	'exec 5< <(true)' -netdev tap,id=n0,fds=5 "${NIC[@]}"
bad devnull 'vmm: -netdev id=n0,fd=5: fd 5 is not a tap \(TUNGETIFF' \
	'exec 5</dev/null' -netdev tap,id=n0,fd=5 "${NIC[@]}"
# (A high number: vmm's own descriptors may take the low ones first.)
bad closed 'vmm: -netdev id=n0,fds=60:5: fd 60 is not open' \
	'exec 5</dev/null 60<&-' -netdev tap,id=n0,fds=60:5 "${NIC[@]}"
# A unix socket on fd 5, put there by a wrapper that then execs vmm.
cat >"$TMP/sock5.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
os.dup2(s.fileno(), 5)
os.execvp(sys.argv[1], sys.argv[1:])
PY
WRAP="python3 $TMP/sock5.py" bad socket 'vmm: -netdev id=n0,fds=5: fd 5 is a socket, not a tap' \
	'' -netdev tap,id=n0,fds=5 "${NIC[@]}"
bad unattached 'fd 5 is /dev/net/tun attached to no interface' \
	'exec 5<>/dev/net/tun' -netdev tap,id=n0,fds=5 "${NIC[@]}"

# vhost=on: no silent fallback to the userspace device.
vbad() {
	local name=$1 re=$2
	shift 2
	(exec 4</dev/null 5<>/dev/net/tun
	 exec timeout -k 5 30 "$VMM" -machine q35,accel=kvm -m 64M -kernel "$GUEST" -serial stdio "$@") \
		>"$TMP/$name.out" 2>"$TMP/$name.err"
	local r=$?
	if [ "$r" -ne 0 ] && [ "$(wc -l <"$TMP/$name.err")" -eq 1 ] && grep -qE "$re" "$TMP/$name.err"; then
		pass "$name: refused in one line: $(cat "$TMP/$name.err")"
	else
		fail "$name: exit $r: $(cat "$TMP/$name.err")"
	fi
}
vbad vhostfd_not_vhost 'vhostfd=4 is not a vhost-net descriptor \(/dev/vhost-net\)' \
	-netdev tap,id=n0,vhost=on,vhostfds=4,fds=5 "${NIC[@]}"
if [ -e /dev/vhost-net ]; then
	vbad vhost_on 'vhost=on: vmm does not drive kernel vhost-net \(/dev/vhost-net\)' \
		-netdev tap,id=n0,vhost=on,ifname=kv0 "${NIC[@]}"
	echo "SKIP: kernel vhost-net data path: vmm does not drive /dev/vhost-net yet"
else
	vbad vhost_on 'vhost=on needs /dev/vhost-net, which this host lacks' \
		-netdev tap,id=n0,vhost=on,ifname=kv0 "${NIC[@]}"
	echo "SKIP: kernel vhost-net: this host has no /dev/vhost-net"
fi

[ "$FAILS" -eq 0 ] || { echo "$FAILS failure(s)"; exit 1; }
echo "tap fds: all checks passed"
