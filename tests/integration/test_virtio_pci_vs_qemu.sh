#!/usr/bin/env bash
# virtio-pci's three shapes against QEMU 7.2 on the same q35 devices:
# default (transitional), disable-modern=true (legacy), disable-legacy=on
# (modern), on pcie.0 and behind a pci-bridge.  QEMU's query-pci (after
# SeaBIOS numbered the bridge) gives each function's device id and
# whether BAR 0 is an I/O BAR and BAR 4 exists; the test guest under vmm
# prints the device ids it finds and reads a sector through every
# virtio-blk, the legacy ones through their I/O BAR.
. "$(dirname "$0")/kvm_common.sh"
kvm_require
QEMU=$(command -v qemu-system-x86_64 || true)
if [ -z "$QEMU" ]; then
	echo "SKIP: qemu-system-x86_64 not installed"; exit 77
fi

for i in 0 1 2 3; do make_disk "$TMP/d$i.img"; done
devs=(
	-device pci-bridge,bus=pcie.0,id=br0,chassis_nr=1,addr=2
	-device virtio-blk-pci,drive=d0,addr=3
	-device virtio-blk-pci,drive=d1,addr=4,disable-modern=true
	-device virtio-blk-pci,drive=d2,addr=5,disable-legacy=on
	-device virtio-blk-pci,drive=d3,bus=br0,addr=1,disable-modern=true
	-object rng-random,id=rng0,filename=/dev/urandom
	-device virtio-rng-pci,rng=rng0,addr=6
	-device virtio-serial-pci,addr=7,disable-modern=true
	-device virtio-balloon-pci,addr=8
)

# --- QEMU: query-pci once the firmware has numbered the bridge ---
qdrives=()
for i in 0 1 2 3; do qdrives+=(-drive "if=none,id=d$i,file=$TMP/d$i.img,format=raw,readonly=on"); done
timeout 90 "$QEMU" -machine q35,accel=kvm -cpu host,-arch-capabilities -m 64M \
	-nodefaults -display none -qmp unix:"$TMP/q.sock",server=on,wait=off \
	"${qdrives[@]}" "${devs[@]}" >"$TMP/qemu.log" 2>&1 &
qpid=$!
timeout 80 python3 - "$TMP/q.sock" >"$TMP/qemu.pci" 2>"$TMP/qemu.py.err" <<'PY'
import json, socket, sys, time
import qmpio
for _ in range(300):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); break
    except OSError:
        time.sleep(0.1)
f = qmpio.QmpFile(s); f.readline()
def cmd(c):
    f.write(json.dumps({'execute': c}) + '\n'); f.flush()
    while True:
        m = json.loads(f.readline())
        if 'return' in m or 'error' in m:
            return m.get('return')
cmd('qmp_capabilities')
# SeaBIOS numbers the bridge's secondary bus; until then nothing shows
# behind it.  Wait for that (slow under
# emulation on a loaded machine) until a deadline, not a count.
deadline = time.monotonic() + 240
while True:
    devs = cmd('query-pci')[0]['devices']
    br = [d for d in devs if 'pci_bridge' in d]
    done = br and br[0]['pci_bridge'].get('bus', {}).get('secondary', 0) != 0 \
        and br[0]['pci_bridge'].get('devices')
    if done or time.monotonic() > deadline:
        break
    time.sleep(0.1)
# Bridges are numbered 1, 2, ... in order on bus 0, by SeaBIOS and by the
# test guest alike; name a bridged function by that number.
def show(devs, bus=None):
    nbr = 0
    for d in devs:
        if d['id']['vendor'] == 0x1af4:
            bars = {r['bar']: r['type'] for r in d.get('regions', [])}
            print('%02x:%02x.%x 1af4:%04x io0=%s bar4=%s' % (
                d['bus'] if bus is None else bus, d['slot'], d['function'],
                d['id']['device'],
                'yes' if bars.get(0) == 'io' else 'no',
                'yes' if 4 in bars else 'no'))
        if 'pci_bridge' in d:
            nbr += 1
            show(d['pci_bridge'].get('devices', []), nbr)
show(devs)
cmd('quit')
PY
wait "$qpid"
if [ ! -s "$TMP/qemu.pci" ]; then
	echo "SKIP: QEMU under KVM gave no query-pci answer:"; cat "$TMP/qemu.log" "$TMP/qemu.py.err"; exit 77
fi
cat "$TMP/qemu.pci"

# --- vmm: the test guest lists the functions and reads the disks ---
vdrives=()
for i in 0 1 2 3; do vdrives+=(-drive "id=d$i,file=$TMP/d$i.img,readonly=on"); done
run_guest vmm -machine q35,accel=kvm -m 128M -kernel "$GUEST" -append q35 \
	"${vdrives[@]}" "${devs[@]}" -no-reboot
expect_rc $rc 33 "vmm: the test guest passed its checks"

while read -r addr id io0 bar4; do
	expect_line "$out" "^testguest: pci $addr $id" "$addr: device id $id as QEMU's"
	case $id in
	1af4:1001)
		if [ "$bar4" = "bar4=no" ]; then
			expect_line "$out" "^testguest: virtio-blk pci-legacy $addr sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" \
				"$addr: legacy-only (QEMU: $io0 $bar4): read through the I/O BAR"
		else
			expect_line "$out" "^testguest: virtio-blk pci $addr sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" \
				"$addr: transitional (QEMU: $io0 $bar4): read through the modern interface"
		fi ;;
	1af4:1042)
		expect_line "$out" "^testguest: virtio-blk pci $addr sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" \
			"$addr: modern-only (QEMU: $io0 $bar4)" ;;
	esac
done <"$TMP/qemu.pci"
[ "$(grep -c '1af4:' "$TMP/qemu.pci")" = 7 ] && pass "QEMU lists the 7 virtio functions" ||
	fail "QEMU listed $(grep -c '1af4:' "$TMP/qemu.pci") virtio functions"
finish
