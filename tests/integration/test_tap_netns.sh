#!/usr/bin/env bash
# virtio-net over a real tap device, both directions: inside a network
# namespace this test creates, the helper (test_netdev --tap-responder)
# runs virtio-net with the tap backend under the simulator, its sim guest
# at 10.0.0.2 answering ARP and echoing UDP; the host side (10.0.0.1)
# resolves it and exchanges datagrams with it through the kernel.
set -u
build=${BUILD:-build}
helper=$build/tests/test_netdev
skip() { echo "SKIP: $*"; exit 77; }
[ -x "$helper" ] || skip "$helper not built"
[ "$(id -u)" -eq 0 ] || skip "needs root for ip netns and /dev/net/tun"
command -v ip >/dev/null || skip "iproute2 (ip) not installed"
[ -c /dev/net/tun ] || skip "/dev/net/tun missing"
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || skip "python3 not installed"

ns=vmm-tap-$$
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"
out=$(mktemp)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -f "$out"
}
trap cleanup EXIT

ip netns exec "$ns" ip link set lo up
timeout 60 ip netns exec "$ns" "$helper" --tap-responder vmmtap0 3 >"$out" 2>&1 &
pid=$!
for _ in $(seq 100); do
	grep -q '^READY' "$out" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
grep -q '^READY vmmtap0' "$out" || { echo "FAIL: helper did not start"; cat "$out"; exit 1; }
ip netns exec "$ns" ip addr add 10.0.0.1/24 dev vmmtap0
ip netns exec "$ns" ip link set vmmtap0 up

ip netns exec "$ns" "$py" - <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.1", 0))
s.settimeout(1.0)
for i in range(3):
    msg = b"vmm-echo-%d" % i
    for attempt in range(10):
        s.sendto(msg, ("10.0.0.2", 7))
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            continue
        if data == msg and peer[0] == "10.0.0.2":
            print("echo %d ok" % i)
            break
    else:
        print("FAIL: no echo for datagram %d" % i)
        sys.exit(1)
PY
rc=$?
wait "$pid"
hrc=$?
pid=
cat "$out"
[ $rc -eq 0 ] || exit 1
[ $hrc -eq 0 ] || { echo "FAIL: helper exited $hrc"; exit 1; }
echo "tap netns: frames carried both ways"
