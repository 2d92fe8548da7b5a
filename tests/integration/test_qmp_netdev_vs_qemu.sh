#!/usr/bin/env bash
# Kata's NIC hot-plug over QMP, against QEMU 7.2: getfd of each tap
# queue (SCM_RIGHTS), netdev_add with fds=NAME:NAME, device_add
# virtio-net-pci with mq=on and vectors= on a pcie-root-port, and
# netdev_del, with the argument errors around them.  QEMU runs paused
# (-S) on q35; vmm runs the test guest spinning; both inside a network
# namespace this test makes, where the taps are opened the way Kata's
# runtime opens them (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR|IFF_MULTI_QUEUE).
# The replies (error class and words, return shapes) must match, with fd
# numbers masked.  Two commands are left out of the comparison, each for
# a named reason:
#  - netdev_del of a netdev a device still uses: QEMU 7.2 accepts it and
#    leaves the NIC with its link down; vmm refuses (docs/qmp.md);
#  - netdev_add with vhost=on on a host without /dev/vhost-net: QEMU 7.2
#    warns and then aborts (net_client_init1: Assertion `nc' failed);
#    vmm answers with an error naming /dev/vhost-net.
# Both are checked on vmm's side alone.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
VMM=${VMM:-$BUILD/vmm}
GUEST=$BUILD/guest-images/testguest.elf
QEMU=$(command -v qemu-system-x86_64 || true)
skip() { echo "SKIP: $*"; exit 77; }
[ -n "$QEMU" ] || skip "qemu-system-x86_64 not installed"
[ -e /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not usable"
[ "$(id -u)" -eq 0 ] || skip "needs root for ip netns and /dev/net/tun"
command -v ip >/dev/null || skip "iproute2 (ip) not installed"
[ -c /dev/net/tun ] || skip "/dev/net/tun missing"
[ -x "$VMM" ] && [ -f "$GUEST" ] || { echo "FAIL: $VMM or $GUEST not built"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-qmp-netdev.XXXXXX")
ns=vmm-qnd-$$
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"

seq_run() { # SOCK OUT SIDE
	PYTHONPATH=$ROOT/tests/integration timeout 60 ip netns exec "$ns" python3 - "$1" "$3" "${4:-}" >"$2" 2>"$2.err" <<'PY'
import fcntl, json, os, re, struct, sys
from hotplug_qmp import Qmp
side = sys.argv[2]
TUNSETIFF = 0x400454ca
def tap(name):
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH22x', name.encode(),
                0x0002 | 0x1000 | 0x4000 | 0x0100))
    return fd
q = Qmp(sys.argv[1])
def shape(v):
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(x) for x in v]
    return type(v).__name__
def show(name, args, r, mask=False):
    if 'error' in r:
        out = dict(r['error'])
        out['desc'] = re.sub(r'FD \d+|fd \d+', 'FD N', out['desc'])
        if mask:
            out['desc'] = '(masked)'
    else:
        out = shape(r['return'])
    print(name, json.dumps(args, sort_keys=True), '->', json.dumps(out, sort_keys=True))
t0, t1, t2, t3 = tap('kt0'), tap('kt0'), tap('kt1'), tap('kt2')
rp, wp = os.pipe()
for n, fd in (('fd-tap0', t0), ('fd-tap1', t1), ('fd-tap2', t2), ('fd-pipe', rp), ('fd-tap3', t3)):
    show('getfd', {'fdname': n}, q.getfd(n, fd))
for fd in (t0, t1, t2, t3, rp, wp):
    os.close(fd)
nic = {'driver': 'virtio-net-pci', 'netdev': 'n0', 'id': 'net0', 'bus': 'rp0', 'addr': '0x0',
       'mq': 'on', 'vectors': '6', 'romfile': '', 'mac': '52:54:00:12:34:56'}
seq = [
    ('netdev_add', {}), ('netdev_add', {'id': 'n0'}), ('netdev_add', {'type': 'tap'}),
    ('netdev_add', {'type': 'nope', 'id': 'n0'}),
    ('netdev_add', {'type': 'tap', 'id': '0bad'}),
    ('netdev_add', {'type': 'tap', 'id': 'n0', 'fds': 'nope'}),
    ('netdev_add', {'type': 'tap', 'id': 'n0', 'fds': 5}),
    ('netdev_add', {'type': 'tap', 'id': 'n0', 'fds': 'fd-tap0:fd-tap1', 'x': 1}),
    ('netdev_add', {'type': 'tap', 'id': 'n0', 'fds': 'fd-tap0:fd-tap1', 'vhostfds': 'fd-tap3'}),
    ('netdev_add', {'type': 'tap', 'id': 'n0', 'fds': 'fd-tap0:fd-tap1', 'queues': 2}),
    ('netdev_add', {'type': 'tap', 'id': 'n0', 'fds': 'fd-pipe'}, 'mask'),
    ('closefd', {'fdname': 'fd-pipe'}),
    ('netdev_add', {'type': 'tap', 'id': 'n0', 'fds': 'fd-tap0:fd-tap1'}),
    ('netdev_add', {'type': 'tap', 'id': 'n0', 'fds': 'fd-tap2'}),
    ('netdev_add', {'type': 'tap', 'id': 'n1', 'fd': 'fd-tap2'}),
    ('device_add', dict(nic, netdev='zz')),
    ('device_add', nic),
    ('device_add', dict(nic, id='net1', bus='rp1', netdev='n0')),
    ('netdev_del', {}), ('netdev_del', {'id': 'zz'}),
    ('netdev_del', {'id': 'n1'}), ('netdev_del', {'id': 'n1'}),
    ('qom-get', {'path': '/machine/peripheral/net0', 'property': 'addr'}),
]
for item in seq:
    name, args = item[0], item[1]
    show(name, args, q.cmd(name, args), len(item) > 2)
if side == 'vmm':
    # Checked here alone (see the header for why not against QEMU).
    r = q.cmd('netdev_del', {'id': 'n0'})
    print('vmm-only in-use netdev_del:', r.get('error', {}).get('desc'), file=sys.stderr)
    assert 'in use by device' in r['error']['desc'], r
    t = tap('kt3')
    q.getfd('fd-v', t)
    os.close(t)
    t = tap('kt3')
    q.getfd('fd-t', t)
    os.close(t)
    r = q.cmd('netdev_add', {'type': 'tap', 'id': 'v0', 'vhost': True,
                             'fds': 'fd-t', 'vhostfds': 'fd-v'})
    print('vmm-only vhost:', r.get('error', {}).get('desc'), file=sys.stderr)
    assert '/dev/vhost-net' in r['error']['desc'], r
    # Both descriptors were consumed: closed, their names gone.
    assert 'error' in q.cmd('closefd', {'fdname': 'fd-t'})
    assert 'error' in q.cmd('closefd', {'fdname': 'fd-v'})
    # No descriptor leaks: vmm holds n0's two queues and the fd-tap3
    # getfd never used, nothing else on /dev/net/tun.
    vpid = int(open(sys.argv[3]).read())
    def tuns():
        n = 0
        for f in os.listdir('/proc/%d/fd' % vpid):
            try:
                n += os.readlink('/proc/%d/fd/%s' % (vpid, f)) == '/dev/net/tun'
            except OSError:
                pass
        return n
    assert tuns() == 3, tuns()
    assert q.cmd('closefd', {'fdname': 'fd-tap3'}) == {'return': {}}
    assert tuns() == 2, tuns()
    # A device_add that fails rolls back; its netdev stays until
    # netdev_del, which closes its descriptor.
    t = tap('kt4')
    q.getfd('fd-x', t)
    os.close(t)
    assert q.cmd('netdev_add', {'type': 'tap', 'id': 'n5', 'fds': 'fd-x'}) == {'return': {}}
    r = q.cmd('device_add', dict(nic, id='net5', netdev='n5'))
    assert 'error' in r, r
    assert tuns() == 3, tuns()
    assert q.cmd('netdev_del', {'id': 'n5'}) == {'return': {}}
    assert tuns() == 2, tuns()
    # The same when the device's own options are refused.
    t = tap('kt5')
    q.getfd('fd-y', t)
    os.close(t)
    assert q.cmd('netdev_add', {'type': 'tap', 'id': 'n6', 'fds': 'fd-y'}) == {'return': {}}
    r = q.cmd('device_add', dict(nic, id='net6', netdev='n6', bus='rp1', vectors='65'))
    assert 'error' in r, r
    assert q.cmd('netdev_del', {'id': 'n6'}) == {'return': {}}
    assert tuns() == 2, tuns()
    print('vmm-only checks passed', file=sys.stderr)
print('events:', sorted(e['event'] for e in q.events))
q.cmd('quit')
PY
}

HPDEV="-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1,addr=2
	-device pcie-root-port,id=rp1,bus=pcie.0,chassis=2,slot=2,addr=3"
# shellcheck disable=SC2086
timeout 90 ip netns exec "$ns" "$QEMU" -M q35 -S -enable-kvm -cpu host,-arch-capabilities \
	-m 256M -nodefaults -display none $HPDEV \
	-qmp "unix:$TMP/q.sock,server=on,wait=off" >"$TMP/q.log" 2>&1 &
pid=$!
seq_run "$TMP/q.sock" "$TMP/q.out" qemu
wait "$pid"; pid=
# shellcheck disable=SC2086
timeout 90 ip netns exec "$ns" "$VMM" -machine q35,accel=kvm -m 256M -kernel "$GUEST" \
	-append testguest.action=spin $HPDEV -serial none \
	-qmp "unix:$TMP/v.sock,server,nowait" -pidfile "$TMP/v.pid" >"$TMP/v.log" 2>&1 &
pid=$!
seq_run "$TMP/v.sock" "$TMP/v.out" vmm "$TMP/v.pid"
wait "$pid"; vrc=$?; pid=
rc=0
if ! diff -u "$TMP/q.out" "$TMP/v.out"; then
	echo "FAIL: netdev replies differ from QEMU's (- qemu q35 -S, + vmm)"
	rc=1
fi
if ! grep -q 'vmm-only checks passed' "$TMP/v.out.err"; then
	echo "FAIL: vmm-only checks"; cat "$TMP/v.out.err"; rc=1
fi
if [ "$vrc" -ne 0 ]; then
	echo "FAIL: vmm exited $vrc"; cat "$TMP/v.log"; rc=1
fi
[ $rc -eq 0 ] && echo "ok: getfd/netdev_add/device_add virtio-net-pci mq=on/netdev_del as QEMU 7.2: $(grep -c -- '->' "$TMP/v.out") commands"
exit $rc
