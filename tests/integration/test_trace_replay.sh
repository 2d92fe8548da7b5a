#!/bin/bash
# Record/replay end to end with the real binaries: `vmm -trace-record`
# under accel=sim (the device self-test, microvm and q35) and under KVM
# (the test guest; SKIP: without /dev/kvm), `vmm-replay` must report a
# match for each; the header's machine description must be a device tree
# dtc prints, carrying the command line; a trace with one byte of a block
# read flipped must be reported as a divergence at the guest-memory write
# that carries it (exit 1); a damaged file is refused (exit 2); iothread=
# cannot be recorded (exit 2); a recorded boot of Debian's Linux kept
# under tests/fixtures replays whole, with or without /dev/kvm.
# ROOT, BUILD, VMM, GUEST, TMP (removed at exit), fail/pass, finish;
# the KVM parts check /dev/kvm themselves (the simulator parts run anyway).
TMP_NAME=vmm-trace-test
. "$(dirname "${BASH_SOURCE[0]}")/kvm_common.sh"
REPLAY=${REPLAY:-$BUILD/vmm-replay}

[ -x "$VMM" ] || { echo "FAIL: $VMM not built"; exit 1; }
[ -x "$REPLAY" ] || { echo "FAIL: $REPLAY not built"; exit 1; }

make_disk "$TMP/disk.img"

# replay_ok TRACE WHAT: vmm-replay must exit 0 with a match line.
replay_ok() {
	local out rc
	out=$(timeout 60 "$REPLAY" "$1" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q '^vmm-replay: match: [1-9][0-9]* events replayed'; then
		pass "$2: $out"
	else
		fail "$2: vmm-replay exit $rc: $out"
	fi
}

# ---- accel=sim ----
timeout -k 5 60 "$VMM" -machine microvm,accel=sim -m 64M \
	-drive id=d0,file="$TMP/disk.img" -device virtio-blk-device,drive=d0 \
	-trace-record "$TMP/sim.trace" >"$TMP/sim.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ -s "$TMP/sim.trace" ]; then pass "sim: recorded the self-test"
else fail "sim: record exit $rc"; cat "$TMP/sim.out"; fi
replay_ok "$TMP/sim.trace" "sim microvm replay"

timeout -k 5 60 "$VMM" -machine q35,accel=sim -m 64M \
	-drive id=d0,file="$TMP/disk.img" -device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3 \
	-trace-record "$TMP/q35.trace" >"$TMP/q35.out" 2>&1 || fail "sim q35: record failed"
replay_ok "$TMP/q35.trace" "sim q35 (virtio-pci) replay"

# Every device type the self-test drives (virtio net, rng, console and
# balloon, both transports, nvdimms, two COM ports, debug-exit).
printf 'SIM-SELFTEST-PMEM' >"$TMP/pmem.img"
truncate -s 2M "$TMP/pmem.img"
timeout -k 5 60 "$VMM" -machine q35,accel=sim,nvdimm=on -m 256M,slots=2,maxmem=1G -seed 11 \
	-serial stdio -serial file:"$TMP/com2.txt" \
	-drive id=d0,file="$TMP/disk.img" -device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3,serial=S0 \
	-drive id=d1,file="$TMP/disk.img",readonly=on -device virtio-blk-device,drive=d1 \
	-netdev tap,id=n0,ifname=vmmtrace0 -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 \
	-object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-pci,rng=rng0 \
	-chardev socket,id=c0,path="$TMP/console.sock",server,nowait \
	-device virtio-serial-pci,id=vs0 -device virtconsole,chardev=c0,id=vc0 \
	-device virtio-balloon-pci \
	-object memory-backend-file,id=mem0,mem-path="$TMP/pmem.img",size=2M,readonly=on \
	-device nvdimm,id=nv0,memdev=mem0 \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-trace-record "$TMP/all.trace" >"$TMP/all.out" 2>&1 || fail "sim every device: record failed"
replay_ok "$TMP/all.trace" "sim every device type replay"

# The header: a device tree with the original command line.
if "$REPLAY" --dump-dtb "$TMP/sim.trace" "$TMP/sim.dtb"; then
	if command -v dtc >/dev/null; then
		dts=$(dtc -I dtb -O dts "$TMP/sim.dtb" 2>/dev/null)
		if echo "$dts" | grep -q 'vmm,argv = .*-trace-record' &&
		   echo "$dts" | grep -q 'virtio,mmio'; then
			pass "--dump-dtb: dtc prints vmm,argv and the devices"
		else
			fail "--dump-dtb: dtc output lacks vmm,argv or the virtio-mmio node"
		fi
	else
		echo "SKIP: dtc not installed: the dumped header was not printed"
	fi
else
	fail "--dump-dtb failed"
fi

# One byte of the first block read flipped: the divergence is the
# guest-memory write of that data, the first gm-write after the read.
"$REPLAY" --list "$TMP/sim.trace" >"$TMP/list"
read_line=$(grep -m1 ' blk-read ' "$TMP/list")
read_no=${read_line%% *}
read_off=$(echo "$read_line" | sed -E 's/^[0-9]+ @([0-9]+) .*/\1/')
write_no=$(awk -v r="$read_no" '$1 > r && $3 == "gm-write" { print $1; exit }' "$TMP/list")
if [ -z "$read_no" ] || [ -z "$write_no" ]; then
	fail "corrupt: no blk-read/gm-write pair in the trace"
else
	cp "$TMP/sim.trace" "$TMP/bad.trace"
	pos=$((read_off + 40 + 1))   # payload byte 1: 'M' of VMM
	printf 'X' | dd of="$TMP/bad.trace" bs=1 seek=$pos conv=notrunc 2>/dev/null
	out=$(timeout 60 "$REPLAY" "$TMP/bad.trace" 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && echo "$out" | grep -q "^vmm-replay: divergence at event $write_no: expected gm-write .* byte 1 = 0x4d, got 0x58"; then
		pass "corrupt block read: divergence at event $write_no"
	else
		fail "corrupt block read: exit $rc, expected divergence at event $write_no: $out"
	fi
fi

# A damaged file is refused with a reason, not replayed.
head -c 100 "$TMP/sim.trace" >"$TMP/short.trace"
out=$("$REPLAY" "$TMP/short.trace" 2>&1)
rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q 'short.trace: .*truncated'; then
	pass "truncated trace refused: $out"
else
	fail "truncated trace: exit $rc: $out"
fi
out=$("$REPLAY" "$TMP/disk.img" 2>&1)
rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q 'bad magic'; then pass "not a trace: refused"
else fail "not a trace: exit $rc: $out"; fi

# The size bound: recording stops with a log line, the trace replays up
# to there and says so.
VMM_TRACE_LIMIT=10000 timeout -k 5 60 "$VMM" -machine microvm,accel=sim -m 64M -serial stdio \
	-trace-record "$TMP/lim.trace" >/dev/null 2>"$TMP/lim.err"
size=$(stat -c %s "$TMP/lim.trace")
out=$("$REPLAY" "$TMP/lim.trace" 2>&1)
if [ "$size" -le 10000 ] && grep -q 'size limit' "$TMP/lim.err" &&
   echo "$out" | grep -q 'match: .*stopped early'; then
	pass "size limit: $size bytes, replayed up to the stop"
else
	fail "size limit: $size bytes, log '$(cat "$TMP/lim.err")', replay '$out'"
fi

# A write error is an error (exit 1) naming the file.
out=$("$VMM" -machine microvm,accel=sim -m 64M -trace-record /dev/full 2>&1 >/dev/null)
rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "writing '/dev/full'"; then pass "write error reported"
else fail "write error: exit $rc: $out"; fi

# iothread= is refused (its ordering is not reproducible).
out=$("$VMM" -machine microvm,accel=sim -object iothread,id=io0 \
	-drive id=d0,file="$TMP/disk.img" -device virtio-blk-device,drive=d0,iothread=io0 \
	-trace-record "$TMP/io.trace" 2>&1)
rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q 'iothread'; then pass "iothread= refused"
else fail "iothread=: exit $rc: $out"; fi

# ---- real Linux traffic, with or without KVM: Debian's 6.1 kernel on
# microvm, recorded under KVM to this host's emulation limit
# (tests/fixtures/README.md).  The whole boot must replay, ending where
# the guest CPU ended it, and the trace must hold the kernel's COM1
# set-up and output and the PIT's IRQ0 edges. ----
fixture=$ROOT/tests/fixtures/linux-6.1-microvm.trace.gz
if gzip -dc "$fixture" >"$TMP/linux.trace" 2>"$TMP/linux.gz.err"; then
	out=$(timeout 120 "$REPLAY" "$TMP/linux.trace" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q '^vmm-replay: match: [1-9][0-9]* events' &&
	   echo "$out" | grep -q 'the guest CPU ended the run (machine request 4 status 1)$'; then
		pass "Linux 6.1 microvm fixture: $out"
	else
		fail "Linux 6.1 microvm fixture: exit $rc: $out"
	fi
	"$REPLAY" --list "$TMP/linux.trace" >"$TMP/linux.list" 2>&1
	lcr=$(grep -c 'bus pio 0x3fb write 1 byte(s) 0x83 ' "$TMP/linux.list")
	thr=$(grep -c 'bus pio 0x3f8 write ' "$TMP/linux.list")
	irq0=$(grep -c 'irq gsi 0 level 1' "$TMP/linux.list")
	if [ "$lcr" -ge 1 ] && [ "$thr" -ge 1000 ] && [ "$irq0" -ge 100 ]; then
		pass "Linux fixture holds earlyprintk's COM1 set-up, $thr characters, $irq0 PIT IRQ0 edges"
	else
		fail "Linux fixture: LCR set-ups $lcr, characters $thr, IRQ0 edges $irq0"
	fi
else
	fail "cannot read $fixture: $(cat "$TMP/linux.gz.err")"
fi

# ---- accel=kvm ----
if [ ! -e /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: KVM part: /dev/kvm is absent or not accessible"
elif [ ! -f "$GUEST" ]; then
	fail "$GUEST not built (make guest-images)"
else
	timeout -k 5 60 "$VMM" -machine microvm,accel=kvm -cpu host -m 128M \
		-kernel "$GUEST" -append "console=ttyS0 testguest microvm" \
		-drive id=d0,file="$TMP/disk.img",readonly=on -device virtio-blk-device,drive=d0 \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial stdio -no-reboot \
		-trace-record "$TMP/kvm.trace" >"$TMP/kvm.out" 2>&1
	rc=$?
	if [ $rc -eq 33 ]; then pass "kvm microvm: test guest passed while recorded"
	else fail "kvm microvm: exit $rc"; cat "$TMP/kvm.out"; fi
	replay_ok "$TMP/kvm.trace" "kvm microvm replay"

	timeout -k 5 60 "$VMM" -machine q35,accel=kvm -m 128M \
		-kernel "$GUEST" -append "console=ttyS0 testguest q35" \
		-drive id=d0,file="$TMP/disk.img",readonly=on \
		-device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3 \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial stdio -no-reboot \
		-trace-record "$TMP/kvmq.trace" >"$TMP/kvmq.out" 2>&1
	rc=$?
	[ $rc -eq 33 ] || fail "kvm q35: exit $rc"
	replay_ok "$TMP/kvmq.trace" "kvm q35 (virtio-pci, MSI-X) replay"

	# Change the recorded result of one serial status read.
	"$REPLAY" --list "$TMP/kvm.trace" >"$TMP/klist"
	line=$(grep -m1 'bus pio 0x3fd read' "$TMP/klist")
	no=${line%% *}
	off=$(echo "$line" | sed -E 's/^[0-9]+ @([0-9]+) .*/\1/')
	cp "$TMP/kvm.trace" "$TMP/kbad.trace"
	printf '\x01' | dd of="$TMP/kbad.trace" bs=1 seek=$((off + 40)) conv=notrunc 2>/dev/null
	out=$(timeout 60 "$REPLAY" "$TMP/kbad.trace" 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && echo "$out" | grep -q "^vmm-replay: divergence at event $no: expected bus pio 0x3fd read"; then
		pass "kvm: changed LSR read reported at event $no"
	else
		fail "kvm: changed LSR read: exit $rc: $out"
	fi
fi

finish
