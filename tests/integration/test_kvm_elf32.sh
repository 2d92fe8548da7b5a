#!/usr/bin/env bash
# 32-bit PVH ELF kernels (Kata's line may name one; QEMU boots them): the
# test guest converted with `objcopy -O elf32-i386` keeps its PVH note and
# must run under vmm exactly as the 64-bit file does.  QEMU boots the same
# file; its first lines must match its own run of the 64-bit one.
TMP_NAME=vmm-elf32
. "$(dirname "$0")/kvm_common.sh"
kvm_require
command -v objcopy >/dev/null || { echo "SKIP: objcopy (binutils) not installed"; exit 77; }

objcopy -O elf32-i386 "$GUEST" "$TMP/guest32.elf" || { echo "FAIL: objcopy"; exit 1; }
head -c 5 "$TMP/guest32.elf" | od -An -tx1 | grep -q '7f 45 4c 46 01' ||
	fail "objcopy made no ELFCLASS32 file"

run_guest g64 -machine microvm,accel=kvm -m 64M -kernel "$GUEST"
expect_rc "$rc" 33 "64-bit test guest passes"
run_guest g32 -machine microvm,accel=kvm -m 64M -kernel "$TMP/guest32.elf"
expect_rc "$rc" 33 "32-bit PVH test guest passes"
# The RTC line carries the host's time of day: compare everything else.
lines() { tr -d '\r' <"$1" | grep -v '^testguest: rtc '; }
if diff <(lines "$TMP/g64.out") <(lines "$TMP/g32.out") >"$TMP/diff"; then
	pass "32-bit and 64-bit files print the same lines"
else
	fail "32-bit run differs:"; cat "$TMP/diff"
fi
run_guest q35 -machine q35,accel=kvm -m 64M -kernel "$TMP/guest32.elf"
expect_rc "$rc" 33 "32-bit PVH test guest passes on q35"

# Without the note a 32-bit file has no entry we can use: one line.
objcopy -R .note.pvh "$TMP/guest32.elf" "$TMP/nonote.elf" 2>/dev/null
if readelf -n "$TMP/nonote.elf" 2>/dev/null | grep -q Xen; then
	echo "SKIP: objcopy kept the PVH note; the no-note refusal is covered by test_boot_pvh"
else
	run_guest nonote -machine microvm,accel=kvm -m 64M -kernel "$TMP/nonote.elf"
	[ "$rc" != 0 ] && [ "$rc" != 33 ] && pass "32-bit file without PVH note refused (exit $rc)" ||
		fail "32-bit file without PVH note: exit $rc"
	expect_line "$TMP/nonote.err" "32-bit ELF kernel needs a PVH entry note" "the refusal names the note"
fi

QEMU=$(command -v qemu-system-x86_64 || true)
if [ -z "$QEMU" ]; then
	echo "SKIP: qemu-system-x86_64 not installed: QEMU's view of the 32-bit file not compared"
	finish
fi
# QEMU's microvm (rtc=on: the guest reads the clock) lacks a device the
# guest waits for later (its PIT is off by default), so compare the
# lines it prints up to the interrupt checks, waiting for them with a
# deadline, then stop it.
qemu_lines() {
	local k=$1 o=$2
	"$QEMU" -machine microvm,accel=kvm,rtc=on -cpu host,-arch-capabilities -m 64M \
		-nodefaults -display none -serial file:"$o" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$k" 2>"$o.err" &
	local pid=$! end=$((SECONDS + 120))
	until has_complete_line "$o" 'testguest: irq ioapic' || [ $SECONDS -ge $end ] ||
		! kill -0 $pid 2>/dev/null; do
		sleep 0.05
	done
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
	complete_lines "$o" | sed -n '1,/testguest: irq ioapic/p' | grep -v '^testguest: rtc '
}
qemu_lines "$GUEST" "$TMP/q64.out" >"$TMP/q64.lines"
qemu_lines "$TMP/guest32.elf" "$TMP/q32.out" >"$TMP/q32.lines"
expect_line "$TMP/q32.lines" 'testguest: irq ioapic' "QEMU boots the 32-bit PVH file"
if cmp -s "$TMP/q64.lines" "$TMP/q32.lines"; then
	pass "QEMU prints the same lines for both files"
else
	fail "QEMU: 32-bit and 64-bit runs differ"; diff "$TMP/q64.lines" "$TMP/q32.lines"
fi
finish
