#!/usr/bin/env bash
# Every documented option (docs/cli.md), given a value that should change
# something, and the change observed -- not just that the option parses
# (STYLE.md 11: an accepted option does what it says).  One table; each
# row names how the effect is seen:
#   kvm  the test guest under KVM reports it on COM1 (its lines are
#        listed in guest-images/testguest/main.c), or vmm's -D log does
#   sim  the accel=sim device self-test reports it
#   dtb  -dump-dtb: what the machine would be built as, when nothing at
#        run time can see the option (topology, policies the guest does
#        not exercise)
#   ref  the value is refused (exit 2, one line) because vmm does not
#        implement it: its documented effect is the refusal
#   fn   a function below checks it (QMP, files, processes)
# A row whose method needs KVM prints a SKIP line when there is none.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# The QMP helpers' reader/writer (tests/integration/qmpio.py).
export PYTHONPATH="$ROOT/tests/integration${PYTHONPATH:+:$PYTHONPATH}"
BUILD=${BUILD:-$ROOT/build}
VMM=${VMM:-$BUILD/vmm}
GUEST=$BUILD/guest-images/testguest.elf
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-effects.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0 skips=0 rows=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
skip() { echo "SKIP: $*"; skips=$((skips + 1)); }
KVM=0
[ -r /dev/kvm ] && [ -w /dev/kvm ] && [ -f "$GUEST" ] && KVM=1

printf 'VMM-EFFECT-DISK-SECTOR-0' >"$TMP/disk.img"; truncate -s 1M "$TMP/disk.img"
printf 'VMM-NVDIMM-SIG-0' >"$TMP/pmem.img"; truncate -s 2M "$TMP/pmem.img"

# kvm ARGS...: the test guest with ARGS; COM1 and the -D log (info
# level) in $TMP/o, the exit status in $TMP/rc.
kvm() {
	VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" -kernel "$GUEST" -m 64M \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -D "$TMP/log" "$@" \
		>"$TMP/o" 2>&1
	echo $? >"$TMP/rc"
	cat "$TMP/log" >>"$TMP/o" 2>/dev/null
}
sim() { timeout 60 "$VMM" "$@" >"$TMP/o" 2>&1; echo $? >"$TMP/rc"; }
dtb() {
	"$VMM" -kernel k "$@" -dump-dtb "$TMP/d.dtb" >"$TMP/o" 2>&1
	echo $? >"$TMP/rc"
	dtc -I dtb -O dts "$TMP/d.dtb" >>"$TMP/o" 2>/dev/null
}
ref() {
	"$VMM" -kernel k "$@" >"$TMP/o" 2>&1; echo $? >"$TMP/rc"
	[ "$(cat "$TMP/rc")" = 2 ] && [ "$(wc -l <"$TMP/o")" = 1 ] || echo "not refused in one line" >>"$TMP/o"
}

# row METHOD OPTION REGEX ARGS...: run ARGS by METHOD; some line of the
# result must match REGEX.
row() {
	local method=$1 opt=$2 re=$3
	shift 3
	rows=$((rows + 1))
	if { [ "$method" = kvm ] || { [ "$method" = fn ] && [ "$1" != help ] && [ "$1" != seed ]; }; } && [ $KVM = 0 ]; then
		skip "$opt: needs a usable /dev/kvm and the test guest"; return
	fi
	if [ "$method" = dtb ] && ! command -v dtc >/dev/null; then
		skip "$opt: needs dtc to read -dump-dtb"; return
	fi
	"$method" "$@"
	if grep -qE -- "$re" "$TMP/o"; then
		pass "$opt: $re"
	else
		fail "$opt ($method $*): no line matching /$re/"; sed 's/^/    /' "$TMP/o" | head -40
	fi
}

fn_qmp() {
	rm -f "$TMP/q.sock"
	timeout -k 5 60 "$VMM" -kernel "$GUEST" -m 64M -append testguest.action=spin -serial none \
		-name qmp-effect -uuid 977692f6-744c-4917-8ccd-ffad44020fe9 \
		-qmp unix:"$TMP/q.sock",server,nowait -pidfile "$TMP/vm.pid" >/dev/null 2>&1 &
	local pid=$!
	timeout 30 python3 - "$TMP/q.sock" "$TMP/vm.pid" >"$TMP/o" 2>&1 <<'PY'
import json, os, socket, sys, time
import qmpio
for _ in range(400):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); break
    except OSError:
        time.sleep(0.05)
f = qmpio.QmpFile(s)
json.loads(f.readline())
def ex(c):
    f.write(json.dumps({'execute': c}) + '\n'); f.flush()
    while True:
        m = json.loads(f.readline())
        if 'return' in m or 'error' in m:
            return m
ex('qmp_capabilities')
print('name', ex('query-name')['return'].get('name'))
print('uuid', ex('query-uuid')['return'].get('UUID'))
pid = int(open(sys.argv[2]).read())
status = open('/proc/%d/status' % pid).read()
print('seccomp', [l.split()[1] for l in status.splitlines() if l.startswith('Seccomp:')][0])
print('pidfile', pid)
ex('quit')
PY
	wait $pid
}
fn_noseccomp() {
	rm -f "$TMP/q.sock"
	timeout -k 5 60 "$VMM" -kernel "$GUEST" -m 64M -append testguest.action=spin -serial none \
		-disable-seccomp -qmp unix:"$TMP/q.sock",server,nowait -pidfile "$TMP/vm.pid" >/dev/null 2>&1 &
	local pid=$!
	for _ in $(seq 200); do [ -s "$TMP/vm.pid" ] && [ -S "$TMP/q.sock" ] && break; sleep 0.05; done
	sleep 0.2  # the filter goes in before the vCPUs run; give them a moment
	grep '^Seccomp:' "/proc/$(cat "$TMP/vm.pid")/status" >"$TMP/o" 2>&1
	kill -TERM $pid; wait $pid
}
fn_daemonize() {
	(cd "$TMP" && timeout -k 5 30 "$VMM" -kernel "$GUEST" -m 64M -append testguest.action=spin \
		-serial file:d.out -pidfile d.pid -daemonize >/dev/null 2>&1)
	echo "parent exit $?" >"$TMP/o"
	local dpid; dpid=$(cat "$TMP/d.pid" 2>/dev/null)
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		echo "daemon alive after the parent returned" >>"$TMP/o"
		kill -TERM "$dpid"
		for _ in $(seq 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
	fi
}
fn_trace() {
	timeout -k 5 60 "$VMM" -kernel "$GUEST" -m 64M -serial none -device isa-debug-exit,iobase=0xf4 \
		-trace-record "$TMP/t.trace" >/dev/null 2>&1
	timeout 60 "$BUILD/vmm-replay" "$TMP/t.trace" >"$TMP/o" 2>&1; echo "replay exit $?" >>"$TMP/o"
}
fn_help() { "$VMM" --help >"$TMP/o" 2>&1; "$VMM" -version >>"$TMP/o" 2>&1; }
fn_chardev_wait() {
	rm -f "$TMP/c.sock"
	timeout -k 5 30 "$VMM" -kernel "$GUEST" -m 64M -serial none \
		-chardev socket,id=c0,path="$TMP/c.sock",server=on,wait=on -device virtconsole,chardev=c0 \
		>/dev/null 2>&1 &
	local pid=$!
	for _ in $(seq 200); do [ -S "$TMP/c.sock" ] && break; sleep 0.05; done
	sleep 0.3
	if kill -0 $pid 2>/dev/null; then echo "waiting for its client" >"$TMP/o"; else echo "did not wait" >"$TMP/o"; fi
	kill -TERM $pid; wait $pid
}
fn_serial_file() { kvm -serial file:"$TMP/com1.out"; cp "$TMP/com1.out" "$TMP/o" 2>/dev/null; }
fn_serial_none() { kvm -serial none; echo "guest lines on stdout: $(grep -c '^testguest' "$TMP/o")" >"$TMP/o"; }
fn_nodefaults() { kvm -nodefaults -nographic; echo "guest lines on stdout: $(grep -c '^testguest' "$TMP/o")" >"$TMP/o"; }
fn_noreboot() {
	kvm -no-reboot -serial stdio -append testguest.action=reboot
	echo "exit $(cat "$TMP/rc"), $(grep -c 'testguest: hello' "$TMP/o") boot(s)" >"$TMP/o"
}
fn_seed() {
	local a b
	sim -machine microvm,accel=sim -seed 0 -object rng-random,id=r0 -device virtio-rng-device,rng=r0
	a=$(grep -oE 'read 64\+64 bytes \([0-9a-f]+' "$TMP/o")
	sim -machine microvm,accel=sim -seed 7 -object rng-random,id=r0 -device virtio-rng-device,rng=r0
	b=$(grep -oE 'read 64\+64 bytes \([0-9a-f]+' "$TMP/o")
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ] && echo "seed 7 gives other bytes than seed 0" >"$TMP/o"
}
fn() { "fn_$1"; }

# --- machine -------------------------------------------------------------
row dtb  -name         'vmm,name = "effect-vm"' -name effect-vm
row dtb  -uuid         'vmm,uuid = <0x977692f6 0x744c4917' -uuid 977692f6-744c-4917-8ccd-ffad44020fe9
row kvm  "-machine q35" 'testguest: pci 00:00.0 8086:29c0' -machine q35 -serial stdio
row kvm  "-machine microvm" 'testguest: pci 0 functions' -machine microvm -serial stdio
row sim  "-machine accel=sim" 'selftest: accel=sim, q35' -machine q35,accel=sim
row kvm  -enable-kvm   'testguest: done, 0 failed' -enable-kvm -machine microvm -serial stdio
row kvm  "-machine nvdimm=on + -device nvdimm" "testguest: nvdimm 0x[0-9a-f]+ size 0x200000 sig 'VMM-NVDIMM-SIG-0" \
	-machine q35,nvdimm=on -m 64M,slots=1,maxmem=1G -serial stdio \
	-object memory-backend-file,id=m0,mem-path="$TMP/pmem.img",size=2M -device nvdimm,id=nv0,memdev=m0
row kvm  "-machine pmem-legacy=on" 'boot: e820: .* persistent \(type 12\)' \
	-machine q35,nvdimm=on,pmem-legacy=on -m 64M,slots=1,maxmem=1G -serial stdio \
	-object memory-backend-file,id=m0,mem-path="$TMP/pmem.img",size=2M -device nvdimm,id=nv0,memdev=m0
row ref  "-machine kernel_irqchip=off" 'kernel_irqchip=off is not supported' -machine q35,kernel_irqchip=off
row ref  "-machine mem-merge=on" 'mem-merge=on is not supported' -machine mem-merge=on
row ref  "-machine dump-guest-core=off" 'dump-guest-core=off is not supported' -machine dump-guest-core=off
row kvm  "-cpu host,pmu=off" 'testguest: cpuid pmu version 0 counters 0' -cpu host,pmu=off -serial stdio
row dtb  -smp          'cpu@2 ' -smp 3,maxcpus=4
row kvm  -m            'testguest: e820 [0-9]+ entries, ram 0x4f' -m 80M -serial stdio
row ref  -mem-path     'not on hugetlbfs' -mem-path "$TMP"
row kvm  -numa         'guest RAM 0x0\+0x4000000 from -numa memdev \(shared\)' -m 64M -object memory-backend-memfd,id=r,size=64M -numa node,memdev=r -serial stdio
row kvm  "-rtc base=DATE" 'testguest: rtc 2006-06-17 00:0' -rtc base=2006-06-17 -serial stdio
row kvm  "-rtc base=localtime" 'testguest: rtc ....-..-.. ..:..' -rtc base=localtime,clock=host -serial stdio
row dtb  "-rtc driftfix=slew" 'driftfix = "slew"' -rtc driftfix=slew
row dtb  -global       'lost-tick-policy = "discard"' -global kvm-pit.lost_tick_policy=discard
row fn   -seed         '^seed 7 gives other bytes than seed 0$' seed

# --- boot ------------------------------------------------------------------
row kvm  -kernel       'testguest: hello' -serial stdio
row kvm  -append       "cmdline 'effect=1 x'" -append "effect=1 x" -serial stdio
row kvm  -initrd       'boot: .*initrd 0x[0-9a-f]+\+1048576' -initrd "$TMP/disk.img" -serial stdio

# --- backends and devices ----------------------------------------------------
row kvm  "-drive + virtio-blk-pci" "testguest: virtio-blk pci 00:0..0 sector0 'VMM-EFFECT-DISK-SECTOR-0" \
	-machine q35 -serial stdio -drive id=d0,file="$TMP/disk.img" -device virtio-blk-pci,drive=d0
row sim  "-drive readonly=on" 'readonly=on: VIRTIO_BLK_F_RO offered, a write fails' -machine q35,accel=sim \
	-drive id=d0,file="$TMP/disk.img",readonly=on -device virtio-blk-pci,drive=d0
row sim  "-drive cache=unsafe" 'kept in memory' -machine microvm,accel=sim \
	-drive id=d0,file="$TMP/disk.img",cache=unsafe -device virtio-blk-device,drive=d0
row dtb  "-drive throttling.iops-total" 'vmm,iops-total = <0x05>' \
	-drive id=d0,file=x,throttling.iops-total=5 -device virtio-blk-device,drive=d0
row sim  "virtio-blk serial=" 'GET_ID "EFFECT-SER"' -machine microvm,accel=sim \
	-drive id=d0,file="$TMP/disk.img" -device virtio-blk-device,drive=d0,serial=EFFECT-SER
row sim  "-netdev loop + virtio-net mac=" 'netdev n0 \(in-memory loop\), mac 52:54:00:aa:bb:cc, link up' \
	-machine microvm,accel=sim -netdev loop,id=n0 -device virtio-net-device,netdev=n0,mac=52:54:00:aa:bb:cc
row kvm  "-netdev vhost=on" 'vmm: -netdev id=n0: vhost=on.*/dev/vhost-net' -netdev tap,id=n0,ifname=t0,vhost=on \
	-device virtio-net-device,netdev=n0
row kvm  "virtio-net mq=on" 'testguest: msix 00:01.0 4[[:space:]]*$' -machine q35 -serial stdio \
	-netdev loop,id=n0 -device virtio-net-pci,netdev=n0,mq=on
row kvm  "virtio-net mq=off" 'testguest: msix 00:01.0 3[[:space:]]*$' -machine q35 -serial stdio \
	-netdev loop,id=n0 -device virtio-net-pci,netdev=n0
row sim  "-object rng-random + virtio-rng" 'virtio-rng over virtio-pci: read' -machine q35,accel=sim \
	-object rng-random,id=r0 -device virtio-rng-pci,rng=r0
row sim  "virtio-balloon" 'virtio-balloon over virtio-mmio: target' -machine microvm,accel=sim \
	-device virtio-balloon-device
row sim  "virtconsole (two ports)" 'virtio-console over virtio-mmio: 2 port\(s\)' -machine microvm,accel=sim \
	-chardev null,id=c0 -chardev null,id=c1 -device virtconsole,chardev=c0 -device virtconsole,chardev=c1
row kvm  "vectors=0" 'testguest: msix 00:01.0 none' -machine q35 -serial stdio \
	-object rng-random,id=r0 -device virtio-rng-pci,rng=r0,vectors=0
row kvm  "vectors=3" 'testguest: msix 00:01.0 3[[:space:]]*$' -machine q35 -serial stdio \
	-object rng-random,id=r0 -device virtio-rng-pci,rng=r0,vectors=3
row kvm  "vectors (default: queues + 1)" 'testguest: msix 00:01.0 2[[:space:]]*$' -machine q35 -serial stdio \
	-object rng-random,id=r0 -device virtio-rng-pci,rng=r0
row kvm  "virtio-*-pci addr=" 'testguest: pci 00:07.0 1af4:1005' -machine q35 -serial stdio \
	-object rng-random,id=r0 -device virtio-rng-pci,rng=r0,addr=7
row kvm  pci-bridge    'testguest: pci-bridge 00:02.0 bus 01' -machine q35 -serial stdio \
	-device pci-bridge,id=br0,chassis_nr=1,addr=2 -object rng-random,id=r0 -device virtio-rng-pci,rng=r0,bus=br0,addr=1
row dtb  -object-iothread 'vmm,iothread = "io0"' -object iothread,id=io0 \
	-drive id=d0,file=x -device virtio-blk-device,drive=d0,iothread=io0

# --- host side -----------------------------------------------------------------
row fn   "-serial file:" "^testguest: done, 0 failed" serial_file
row fn   "-serial none" '^guest lines on stdout: 0$' serial_none
row kvm  -nographic    'testguest: hello' -nographic
row fn   "-nodefaults (with -nographic)" '^guest lines on stdout: 0$' nodefaults
row kvm  -D            'vmm: info: boot:' -serial none
row fn   -no-reboot    '^exit 0, 1 boot' noreboot
row dtb  -dump-dtb     'compatible = "vmm,microvm"'

row fn   "-qmp, -name, -uuid (QMP)" '^name qmp-effect$' qmp
grep -q '^uuid 977692f6-744c-4917-8ccd-ffad44020fe9$' "$TMP/o" && pass "-uuid: query-uuid" || { [ $KVM = 0 ] || fail "-uuid: query-uuid"; }
if grep -q '^seccomp 2$' "$TMP/o"; then
	pass "seccomp filter on by default"
elif grep -q '^seccomp 0$' "$TMP/o" && nm "$VMM" 2>/dev/null | grep -q __asan_init; then
	skip "sanitizer build: the vmm runs without its seccomp filter"
elif [ $KVM = 1 ]; then
	fail "no seccomp filter by default"
fi
grep -qE '^pidfile [0-9]+$' "$TMP/o" && pass "-pidfile: holds the pid" || { [ $KVM = 0 ] || fail "-pidfile"; }
if [ $KVM = 1 ]; then
	row fn -disable-seccomp '^Seccomp:[[:space:]]+0$' noseccomp
	row fn -daemonize 'daemon alive after the parent returned' daemonize
	row fn -trace-record 'replay exit 0' trace
	row fn "-chardev socket,server=on,wait=on" 'waiting for its client' chardev_wait
else
	skip "-disable-seccomp, -daemonize, -trace-record, -chardev wait=on: need a usable /dev/kvm"
fi
row fn   "--help, -version" 'vmm version [0-9]' help
row ref  "-realtime mlock=on" 'mlock=on is not supported' -realtime mlock=on
row ref  "-vga std" "'std' is not supported" -vga std
row ref  "accel=sim with -kernel" 'no guest code' -machine accel=sim

echo "$rows rows, $fails failed, $skips skipped"
[ $fails -eq 0 ] || exit 1
