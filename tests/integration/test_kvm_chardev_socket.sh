#!/usr/bin/env bash
# Unix socket chardevs as QEMU has them: without server they are clients
# that connect to whoever listens (virtiofsd's socket for Kata), a missing
# peer is a one-line "Failed to connect" before the VM starts, and no mode
# ever removes or takes over another program's live socket.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

# A peer server (another program): listens at $1, writes "ready" to
# stdout once listening, records what it receives into $2 and sends a
# greeting; keeps accepting until its stdin closes, then reports whether
# its socket file is still its own and still accepts connections.
PEER_PY='
import os, socket, sys, select
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(4)
ino = os.lstat(path).st_ino
print("ready", flush=True)
out = open(log, "wb")
conns = []
said = False
while True:
    r, _, _ = select.select([s, sys.stdin] + conns, [], [], 60)
    if not r:
        break
    if sys.stdin in r:
        # Told to stop: what vmm wrote before it exited is all in the
        # socket buffer, maybe unread yet.  Take what is there (a vmm
        # still running has nothing more in flight for us).
        for c in conns:
            c.setblocking(False)
            while True:
                try: d = c.recv(4096)
                except OSError: d = b""
                if not d: break
                out.write(d); out.flush()
        break
    for c in r:
        if c is s:
            cl, _ = s.accept(); conns.append(cl); print("conn", flush=True)
            try: cl.sendall(b"hello-from-peer\n")
            except OSError: pass  # a client that left at once
        else:
            try: d = c.recv(4096)
            except OSError: d = b""
            if d:
                out.write(d); out.flush()
                if not said and b"testguest: hello" in open(log, "rb").read():
                    said = True; print("hello", flush=True)
            else: conns.remove(c); c.close()
t = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    t.connect(path); live = True
except OSError:
    live = False
same = os.path.exists(path) and os.lstat(path).st_ino == ino
print("alive" if live and same else "gone", flush=True)
'

start_peer() { # start_peer PATH LOG: coproc PEER, waits for "ready"
	coproc PEER { python3 -c "$PEER_PY" "$1" "$2"; }
	local line=""
	read -r -t 10 line <&"${PEER[0]}"
	[ "$line" = ready ] || { fail "peer did not start"; finish; }
}

wait_peer() { # wait_peer WORD SECONDS: a line WORD from the peer in time
	local line="" end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		read -r -t $((end - SECONDS)) line <&"${PEER[0]}" || return 1
		[ "$line" = "$1" ] && return 0
	done
	return 1
}

stop_peer() { # sets peer_state to alive|gone
	local in=${PEER[1]} outfd=${PEER[0]} pid=$PEER_PID
	exec {in}>&-
	peer_state=""
	while read -r -t 10 peer_state <&"$outfd"; do
		case $peer_state in alive|gone) break ;; esac
	done
	wait "$pid"
}

# --- a client nobody listens to: one line, exit 1, the guest never ran ---
for spec in "-chardev socket,id=c0,path=$TMP/none.sock -serial chardev:c0" \
	    "-serial unix:$TMP/none.sock"; do
	# shellcheck disable=SC2086
	timeout -k 5 30 "$VMM" -machine microvm,accel=kvm -m 64M -kernel "$GUEST" \
		$spec >"$TMP/none.out" 2>"$TMP/none.err"
	expect_rc $? 1 "missing peer ($spec) refused"
	expect_line "$TMP/none.err" "Failed to connect to '$TMP/none.sock': No such file or directory" \
		"missing peer: QEMU's message"
	# One message (the log's "vmm: error:" echo of it aside).
	n=$(grep -vc "^vmm: error: " "$TMP/none.err")
	[ "$n" = 1 ] && pass "missing peer: one line" || fail "missing peer: $n lines"
	[ -s "$TMP/none.out" ] && fail "missing peer: the guest ran"
	[ -e "$TMP/none.sock" ] && fail "missing peer: vmm created the path"
done

# --- a server at another program's live socket: refused, nothing taken ---
start_peer "$TMP/peer.sock" "$TMP/peer1.log"
timeout -k 5 30 "$VMM" -machine microvm,accel=kvm -m 64M -kernel "$GUEST" \
	-chardev socket,id=c0,path="$TMP/peer.sock",server=on,wait=off \
	-serial chardev:c0 >"$TMP/srv.out" 2>"$TMP/srv.err"
expect_rc $? 1 "server on a live socket refused"
expect_line "$TMP/srv.err" "Failed to bind socket to '$TMP/peer.sock'" "server on a live socket: message"
stop_peer
[ "$peer_state" = alive ] && pass "the peer's socket survived a server vmm" ||
	fail "the peer's socket was taken: $peer_state"

# --- client mode: the guest's console reaches the peer; the peer's socket
# survives vmm's start and exit ---
rm -f "$TMP/peer.sock"
start_peer "$TMP/peer.sock" "$TMP/peer2.log"
timeout -k 5 60 "$VMM" -machine microvm,accel=kvm -cpu host -m 128M \
	-kernel "$GUEST" -append "console=ttyS0 testguest" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot \
	-serial unix:"$TMP/peer.sock" >"$TMP/cli.out" 2>"$TMP/cli.err"
rc=$?
expect_rc $rc 33 "client mode: the guest ran to its verdict"
stop_peer
[ "$peer_state" = alive ] && pass "the peer's socket survived vmm start and exit" ||
	fail "the peer's socket was removed or taken: $peer_state"
expect_line "$TMP/peer2.log" "^testguest: done, 0 failed" "client mode: guest output reached the peer"

# --- reconnect=1 under the seccomp sandbox (-no-reboot): vmm starts with
# nobody listening, connects when the peer comes, and again after the
# peer restarts.  The guest says hello and spins until vmm is stopped. ---
rm -f "$TMP/peer.sock"
timeout -k 5 120 "$VMM" -machine microvm,accel=kvm -cpu host -m 128M \
	-kernel "$GUEST" -append "console=ttyS0 testguest testguest.action=spin" \
	-no-reboot -serial unix:"$TMP/peer.sock",reconnect=1 >"$TMP/re.out" 2>"$TMP/re.err" &
vmm_pid=$!
start_peer "$TMP/peer.sock" "$TMP/peer3.log"
wait_peer conn 20 && pass "reconnect: connected once the peer listened" ||
	fail "reconnect: no connection from vmm"
wait_peer hello 60 && pass "reconnect: the guest's output arrived" ||
	fail "reconnect: guest output missing"
stop_peer
rm -f "$TMP/peer.sock"
start_peer "$TMP/peer.sock" "$TMP/peer4.log"
wait_peer conn 20 && pass "reconnect: connected again after the peer restarted" ||
	fail "reconnect: no reconnection after the peer restarted"
kill -0 "$vmm_pid" 2>/dev/null && pass "reconnect: vmm still running (sandbox allowed it)" ||
	fail "reconnect: vmm died: $(cat "$TMP/re.err")"
kill -TERM "$vmm_pid"
wait "$vmm_pid"
stop_peer
[ "$peer_state" = alive ] && pass "reconnect: the peer's socket survived vmm" ||
	fail "reconnect: the peer's socket was removed: $peer_state"
finish
