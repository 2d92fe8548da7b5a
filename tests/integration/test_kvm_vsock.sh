#!/usr/bin/env bash
# virtio-vsock end to end under KVM (issue 14 §5): the test guest echoes
# the bytes of a connection the host opens through the unix socket
# (CONNECT <port> / OK <port>), then opens one to a host listener at
# <uds>_5678 and reads its reply, over virtio-mmio (microvm) and
# virtio-pci (q35: transitional, QEMU's id 0x1012, and modern-only); then
# device_add of vsock devices into root ports.  Also: vhost-vsock on a host without
# /dev/vhost-vsock is a one-line start-up error naming it, and QEMU 7.2
# (which has vhost-vsock only) is compared on the same options.
. "$(dirname "$0")/kvm_common.sh"

# --- option checks: need no KVM ---
vh_line="-machine microvm,accel=kvm -m 64M -kernel /dev/null"
if [ ! -e /dev/vhost-vsock ]; then
	timeout 20 "$VMM" $vh_line -device vhost-vsock-device,guest-cid=3 >"$TMP/vh.out" 2>&1
	rc=$?
	expect_rc $rc 2 "vhost-vsock without /dev/vhost-vsock refused as a configuration error"
	expect_line "$TMP/vh.out" "vhost-vsock-device: /dev/vhost-vsock: No such file or directory" "the error names /dev/vhost-vsock"
	[ "$(wc -l <"$TMP/vh.out")" -eq 1 ] && pass "one line" || fail "more than one line: $(cat "$TMP/vh.out")"
	echo "SKIP: the kernel vhost-vsock data path (this host has no /dev/vhost-vsock)"
	if command -v qemu-system-x86_64 >/dev/null; then
		timeout 20 qemu-system-x86_64 -machine q35,accel=tcg -nodefaults -display none \
			-device vhost-vsock-pci,guest-cid=3 -S >"$TMP/q.out" 2>&1 </dev/null
		qrc=$?
		if [ $qrc -ne 0 ] && grep -q "vhost-vsock" "$TMP/q.out"; then
			pass "QEMU 7.2 rejects vhost-vsock-pci here too ($(head -1 "$TMP/q.out"))"
		else
			fail "QEMU accepted vhost-vsock-pci without /dev/vhost-vsock (rc $qrc)"
		fi
	fi
fi
# An inherited fd that is not vhost-vsock is refused.
timeout 20 "$VMM" $vh_line -device vhost-vsock-device,guest-cid=3,vhostfd=7 7</dev/null >"$TMP/vf.out" 2>&1
expect_line "$TMP/vf.out" "vhostfd=7 is not /dev/vhost-vsock" "vhostfd=N of another file refused"
# The userspace device's options.
timeout 20 "$VMM" $vh_line -device virtio-vsock-device,guest-cid=2,uds=x >"$TMP/c.out" 2>&1
expect_line "$TMP/c.out" "guest-cid" "guest-cid=2 (the host's CID) refused"
timeout 20 "$VMM" $vh_line -device virtio-vsock-device,guest-cid=3 >"$TMP/u.out" 2>&1
expect_line "$TMP/u.out" "needs uds=PATH" "virtio-vsock without uds= refused"

kvm_require
# run_vsock NAME TRANSPORT DEVICE MACHINE-ARGS...: the guest's echo and
# its own connection, with vsock_host.py as the host side.
run_vsock() {
	local name=$1 tr=$2 dev=$3
	shift 3
	UDS=$TMP/$name.sock
	python3 "$(dirname "$0")/vsock_host.py" "$UDS" "$TMP/$name.out" \
		timeout -k 5 55 "$VMM" "$@" -cpu host -m 64M -smp 1 \
		-kernel "$GUEST" -append "console=ttyS0 testguest.action=vsock" \
		-device "$dev,guest-cid=7,uds=$UDS" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial stdio -no-reboot \
		>"$TMP/$name.host" 2>&1
	rc=$?
	cat "$TMP/$name.host"
	expect_rc $rc 33 "$name: guest and host side both passed"
	out=$TMP/$name.out
	expect_line "$out" "^testguest: vsock $tr 0x[0-9a-f]+ cid 7" "$name: guest reads its CID from config"
	expect_line "$out" "^testguest: vsock echoed 26 bytes" "$name: guest echoed the host's bytes"
	expect_line "$out" "^testguest: vsock host replied 'ack'" "$name: guest's connection to <uds>_5678 got the reply"
	expect_line "$TMP/$name.host" "^host: handshake reply 'OK [0-9]+" "$name: host got OK <port>"
	[ -e "$UDS" ] && fail "$name: vmm left $UDS behind" || pass "$name: vmm removed its socket"
}
run_vsock mmio mmio virtio-vsock-device -machine microvm,accel=kvm
run_vsock pci pci virtio-vsock-pci -machine q35,accel=kvm
run_vsock pci-modern pci virtio-vsock-pci,disable-legacy=on -machine q35,accel=kvm

# --- QMP device_add of vsock devices into pcie-root-ports (issue 15) ---
hp_vm() { # NAME EXTRA-ARGS...
	local name=$1
	shift
	VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" -machine q35,accel=kvm -m 128M -kernel "$GUEST" \
		-append "testguest.action=spin" \
		-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1,addr=2 \
		-device pcie-root-port,id=rp1,bus=pcie.0,chassis=2,slot=2,addr=3 \
		-qmp "unix:$TMP/$name.qmp,server,nowait" -serial "file:$TMP/$name.out" "$@" \
		>"$TMP/$name.log" 2>&1 &
	vpid=$!
}
hp_vm hp
PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$TMP" >"$TMP/hp.py.out" 2>&1 <<'PY'
import os, socket, sys
from hotplug_qmp import Qmp
tmp = sys.argv[1]
def check(what, cond, got=None):
    print(('ok: ' if cond else 'FAIL: ') + what + ('' if cond else ' got: %r' % (got,)))
q = Qmp(tmp + '/hp.qmp')
uds = tmp + '/hp.vsock'
r = q.cmd('device_add', {'driver': 'virtio-vsock-pci', 'id': 'vs0', 'bus': 'rp0',
                         'addr': '0x0', 'guest-cid': '5', 'uds': uds})
check('device_add virtio-vsock-pci into rp0', r == {'return': {}}, r)
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(uds)
    check('its socket accepts host peers', True)
except OSError as e:
    check('its socket accepts host peers', False, str(e))
s.close()
r = q.cmd('device_add', {'driver': 'vhost-vsock-pci', 'id': 'vh0', 'bus': 'rp1',
                         'addr': '0x0', 'guest-cid': '6'})
desc = r.get('error', {}).get('desc', '')
check('device_add vhost-vsock-pci refused naming /dev/vhost-vsock' if not os.path.exists('/dev/vhost-vsock')
      else 'device_add vhost-vsock-pci refused', 'error' in r and ('/dev/vhost-vsock' in desc or os.path.exists('/dev/vhost-vsock')), r)
r = q.cmd('device_add', {'driver': 'virtio-vsock-pci', 'id': 'vs1', 'bus': 'rp1',
                         'addr': '0x0', 'guest-cid': '5', 'uds': uds + '2'})
check('a second device with the same guest-cid refused', 'guest-cid=5 is already used' in r.get('error', {}).get('desc', ''), r)
r = q.cmd('device_add', {'driver': 'virtio-vsock-pci', 'id': 'vs1', 'bus': 'rp1',
                         'addr': '0x0', 'guest-cid': '6', 'uds': uds + '2'})
check('rp1 was left free by the refusals', r == {'return': {}}, r)
PY
cat "$TMP/hp.py.out"
grep -q '^FAIL' "$TMP/hp.py.out" && fail "vsock hot-plug (above)" || pass "vsock hot-plug"
kill "$vpid" 2>/dev/null; wait "$vpid" 2>/dev/null
[ -e "$TMP/hp.vsock" ] && fail "the hot-plugged device's socket left behind" || pass "the hot-plugged device's socket removed at exit"

hp_vm hpnr -no-reboot
PYTHONPATH=$ROOT/tests/integration timeout 60 python3 - "$TMP" >"$TMP/hpnr.py.out" 2>&1 <<'PY'
import sys
from hotplug_qmp import Qmp
tmp = sys.argv[1]
q = Qmp(tmp + '/hpnr.qmp')
r = q.cmd('device_add', {'driver': 'virtio-vsock-pci', 'id': 'vs0', 'bus': 'rp0',
                         'addr': '0x0', 'guest-cid': '5', 'uds': tmp + '/nr.vsock'})
ok = 'seccomp' in r.get('error', {}).get('desc', '')
print(('ok: ' if ok else 'FAIL: ') + 'a -no-reboot sandboxed VM refuses to hot-plug virtio-vsock: %r' % (r,))
r = q.cmd('query-status')
print(('ok: ' if 'return' in r else 'FAIL: ') + 'and lives on')
PY
kill "$vpid" 2>/dev/null; wait "$vpid" 2>/dev/null
if grep -q "seccomp: not installed in an ASan build" "$TMP/hpnr.log"; then
	echo "SKIP: sanitizer build: no seccomp filter, so -no-reboot does not limit vsock hot-plug"
else
	cat "$TMP/hpnr.py.out"
	grep -q '^FAIL' "$TMP/hpnr.py.out" && fail "vsock hot-plug with -no-reboot (above)" || pass "vsock hot-plug with -no-reboot"
fi
finish
