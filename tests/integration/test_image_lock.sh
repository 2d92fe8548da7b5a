#!/bin/bash
# Image locking against QEMU and between vmm processes (issue 11 item 6):
# vmm takes QEMU's OFD lock bytes, so
#   - QEMU (qemu-system-x86_64 -S) holding an image makes vmm refuse it
#     with one line and exit 2 before the VM starts; with share-rw=on on
#     both sides vmm may have it; a read-only QEMU lets vmm readers in;
#   - vmm holding an image (the test guest spinning under KVM) makes QEMU
#     refuse it, and a second vmm, for drives and nvdimm files alike.
# Without qemu-system-x86_64 the QEMU parts print SKIP; without /dev/kvm
# the parts that need a running vmm do.
set -u
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# The QMP helpers' reader/writer (tests/integration/qmpio.py).
export PYTHONPATH="$ROOT/tests/integration${PYTHONPATH:+:$PYTHONPATH}"
BUILD=${BUILD:-$ROOT/build}
VMM=${VMM:-$BUILD/vmm}
GUEST=$BUILD/guest-images/testguest.elf
[ -x "$VMM" ] || { echo "FAIL: $VMM not built"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-lock-test.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
FAILS=0
SKIPS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
skip() { echo "SKIP: $*"; SKIPS=$((SKIPS + 1)); }

QEMU=$(command -v qemu-system-x86_64 || true)
KVM=yes
if [ ! -e /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then KVM=; fi
[ -f "$GUEST" ] || KVM=

printf 'LOCK-TEST-DISK' >"$TMP/disk.img"
truncate -s 1M "$TMP/disk.img"
printf 'LOCK-TEST-PMEM' >"$TMP/pmem.img"
truncate -s 2M "$TMP/pmem.img"

# wait_locked FILE: until some process holds an OFD lock on FILE (10 s).
wait_locked() {
	local ino i
	ino=$(stat -c %i "$1")
	for i in $(seq 100); do
		grep -q ":$ino " /proc/locks && return 0
		sleep 0.1
	done
	return 1
}
# qmp_ready SOCK PID: until QEMU's QMP at SOCK answers qmp_capabilities
# (its machine is built), PID dies, or 60 s pass.
qmp_ready() {
	timeout 60 python3 - "$1" "$2" <<'PY'
import json, os, socket, sys, time
import qmpio
path, pid = sys.argv[1], int(sys.argv[2])
while True:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(path); break
    except OSError:
        time.sleep(0.05)
f = qmpio.QmpFile(s); f.readline()
f.write(json.dumps({'execute': 'qmp_capabilities'}) + '\n'); f.flush()
while 'return' not in json.loads(f.readline()):
    pass
PY
}
# wait_line FILE REGEX: until FILE has a matching line (30 s).
wait_line() {
	local i
	for i in $(seq 300); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# refused NAME REGEX ARGS...: vmm exits 2 within 20 s with one stderr line
# matching REGEX and runs no guest.
refused() {
	local name=$1 re=$2 rc lines
	shift 2
	timeout -k 5 20 "$VMM" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	rc=$?
	lines=$(grep -c . "$TMP/$name.err")
	if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -qE "$re" "$TMP/$name.err"; then
		pass "$name: refused, exit 2: $(cat "$TMP/$name.err")"
	else
		fail "$name: exit $rc, $lines stderr line(s), want 2 and one line /$re/:"
		cat "$TMP/$name.err"
	fi
}
SIM=(-machine microvm,accel=sim -m 64M)
KVMARGS=(-machine microvm,accel=kvm -m 64M -kernel "$GUEST" -serial stdio
	 -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot)

# qemu_hold NAME DRIVE-OPTS DEVICE-OPTS [FILE]: QEMU, paused, holding
# FILE (disk.img).
qemu_hold() {
	local f=${4:-$TMP/disk.img}
	"$QEMU" -machine q35 -accel tcg -S -display none -nodefaults \
		-drive file="$f",format=raw,if=none,id=d0$2 \
		-device virtio-blk-pci,drive=d0$3 \
		-qmp unix:"$TMP/$1.qmp",server=on,wait=off >"$TMP/$1.qemu" 2>&1 &
	QPID=$!
	PIDS+=("$QPID")
	# QEMU takes its locks in steps while it opens the drive and
	# realizes the device; once QMP answers, the machine is built and
	# every lock is in place.
	if ! qmp_ready "$TMP/$1.qmp" "$QPID" || ! wait_locked "$f"; then
		fail "$1: QEMU took no lock on the image: $(cat "$TMP/$1.qemu")"
		return 1
	fi
}
qemu_stop() { kill "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; }

# ---- QEMU holds, vmm refuses ----
if [ -z "$QEMU" ]; then
	skip "qemu-system-x86_64 not installed: vmm against QEMU's locks not checked"
else
	if qemu_hold qemu-rw "" ""; then
		refused sim-vs-qemu 'drive id=d0.*"write" lock.*another process' \
			"${SIM[@]}" -drive id=d0,file="$TMP/disk.img" -device virtio-blk-device,drive=d0
		if [ -n "$KVM" ]; then
			refused kvm-vs-qemu 'drive id=d0.*lock.*another process' \
				"${KVMARGS[@]}" -drive id=d0,file="$TMP/disk.img" \
				-device virtio-blk-device,drive=d0
		fi
		qemu_stop
	fi
	if qemu_hold qemu-pmem "" "" "$TMP/pmem.img"; then
		refused nvdimm-vs-qemu 'nvdimm nv0: mem-path .*lock' \
			-machine q35,accel=sim,nvdimm=on -m 64M,slots=2,maxmem=1G \
			-object memory-backend-file,id=m0,mem-path="$TMP/pmem.img",size=2M,readonly=on \
			-device nvdimm,id=nv0,memdev=m0
		qemu_stop
	fi
	# share-rw=on on both sides: vmm gets the image QEMU writes.
	if qemu_hold qemu-srw "" ",share-rw=on"; then
		out=$(timeout -k 5 30 "$VMM" "${SIM[@]}" -drive id=d0,file="$TMP/disk.img" \
			-device virtio-blk-device,drive=d0,share-rw=on 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && echo "$out" | grep -q 'virtio-blk.*LOCK-TEST-DISK'; then
			pass "share-rw=on on both: vmm shares the image QEMU has"
		else
			fail "share-rw=on: exit $rc: $out"
		fi
		refused sim-vs-qemu-srw 'lock' "${SIM[@]}" -drive id=d0,file="$TMP/disk.img" \
			-device virtio-blk-device,drive=d0
		qemu_stop
	fi
	# A read-only QEMU: vmm readers share, vmm writers are refused.
	if qemu_hold qemu-ro ",readonly=on" ""; then
		out=$(timeout -k 5 30 "$VMM" "${SIM[@]}" -drive id=d0,file="$TMP/disk.img",readonly=on \
			-device virtio-blk-device,drive=d0 2>&1)
		rc=$?
		if [ $rc -eq 0 ]; then pass "read-only QEMU: a vmm reader shares the image"
		else fail "read-only QEMU: vmm reader exit $rc: $out"; fi
		if [ -n "$KVM" ]; then
			refused kvm-writer-vs-qemu-ro 'lock' "${KVMARGS[@]}" \
				-drive id=d0,file="$TMP/disk.img" -device virtio-blk-device,drive=d0
		fi
		qemu_stop
	fi
fi

# ---- vmm holds, QEMU and a second vmm refuse ----
if [ -z "$KVM" ]; then
	skip "KVM part: /dev/kvm is not usable (or the test guest is not built): no long-running vmm to hold an image"
else
	timeout -k 5 120 "$VMM" -machine q35,accel=kvm,nvdimm=on -m 64M,slots=2,maxmem=1G \
		-kernel "$GUEST" -append "testguest.action=spin" -serial stdio \
		-drive id=d0,file="$TMP/disk.img" -device virtio-blk-pci,drive=d0 \
		-object memory-backend-file,id=m0,mem-path="$TMP/pmem.img",size=2M,share=on \
		-device nvdimm,id=nv0,memdev=m0 >"$TMP/holder.out" 2>"$TMP/holder.err" &
	HPID=$!
	PIDS+=("$HPID")
	if ! wait_line "$TMP/holder.out" '^testguest: hello'; then
		fail "holder: the test guest did not start: $(cat "$TMP/holder.err")"
	else
		pass "holder: vmm runs with disk.img and pmem.img"
		refused vmm-vs-vmm-rw 'drive id=d0.*lock.*another process' \
			"${KVMARGS[@]}" -drive id=d0,file="$TMP/disk.img" -device virtio-blk-device,drive=d0
		refused vmm-vs-vmm-ro 'drive id=d0.*lock.*another process' \
			"${SIM[@]}" -drive id=d0,file="$TMP/disk.img",readonly=on \
			-device virtio-blk-device,drive=d0
		refused vmm-vs-vmm-nvdimm 'nvdimm nv0: mem-path .*lock' \
			-machine q35,accel=sim,nvdimm=on -m 64M,slots=2,maxmem=1G \
			-object memory-backend-file,id=m0,mem-path="$TMP/pmem.img",size=2M,readonly=on \
			-device nvdimm,id=nv0,memdev=m0
		refused vmm-drive-vs-vmm-nvdimm 'drive id=d0.*lock' \
			"${SIM[@]}" -drive id=d0,file="$TMP/pmem.img",readonly=on \
			-device virtio-blk-device,drive=d0
		if [ -z "$QEMU" ]; then
			skip "qemu-system-x86_64 not installed: QEMU against vmm's locks not checked"
		else
			for ro in "" ",readonly=on"; do
				timeout -k 5 20 "$QEMU" -machine q35 -accel tcg -S -display none \
					-nodefaults -drive file="$TMP/disk.img",format=raw,if=none,id=d0$ro \
					-device virtio-blk-pci,drive=d0 >"$TMP/q.out" 2>&1 &
				qp=$!
				# QEMU either exits (refused) or sits paused (a bug).
				for i in $(seq 100); do kill -0 $qp 2>/dev/null || break; sleep 0.1; done
				if kill -0 $qp 2>/dev/null; then
					kill $qp; wait $qp 2>/dev/null
					fail "QEMU$ro opened the image vmm holds"
				else
					wait $qp
					if grep -q 'Failed to get .*lock' "$TMP/q.out"; then
						pass "QEMU$ro refuses the image vmm holds: $(head -1 "$TMP/q.out")"
					else
						fail "QEMU$ro: $(cat "$TMP/q.out")"
					fi
				fi
			done
		fi
	fi
	kill "$HPID" 2>/dev/null
	wait "$HPID" 2>/dev/null
	# Gone with the process: the image is free again.
	out=$(timeout -k 5 30 "$VMM" "${SIM[@]}" -drive id=d0,file="$TMP/disk.img" \
		-device virtio-blk-device,drive=d0 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then pass "after the holder ended the image opens again"
	else fail "after the holder: exit $rc: $out"; fi
fi

[ "$SKIPS" -gt 0 ] && echo "($SKIPS part(s) skipped)"
if [ "$FAILS" -gt 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
exit 0
