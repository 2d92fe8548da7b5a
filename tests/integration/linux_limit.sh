# Shared by test_linux_boot_microvm.sh and test_linux_boot_q35.sh:
# Debian's 6.1 kernel under vmm, recorded, as far as this host lets any
# VMM go, and the same kernel and command line under QEMU to compare.
#
# This host's KVM is nested without VMX/SVM: it instruction-emulates all
# guest ring-0 code (~2M instructions/s) and cannot emulate int3.  Linux
# gets through e820, ACPI, the APIC/IOAPIC set-up, the timers and the
# consoles, and stops at the alternatives self-test's int3 right after
# "x86/fpu: x87 FPU will use FXSAVE": vmm with "KVM internal error
# (suberror 1)", QEMU 7.2 with "KVM internal error. Suberror: 1".  That
# line is LIMIT_LINE.  On a host with vmx/svm the kernel goes past it: the
# VMs are stopped there, and test_linux_boot.sh's full boot to userspace
# covers the rest.
. "$(dirname "${BASH_SOURCE[0]}")/kvm_common.sh"

LIMIT_LINE='x86/fpu: x87 FPU will use FXSAVE'

# The kernel command line, the same for vmm and QEMU:
#   console=ttyS0 earlyprintk=serial  every line on COM1 from the start
#   panic=-1 (with -no-reboot)        a panic ends the VM at once
# and this host's limits (its instruction emulator's, not vmm's; QEMU
# needs them just the same):
#   noxsave         KVM's emulator has no xsave/xrstor: without it the
#                   kernel enables XSAVE and stops at the first xsave,
#                   right after "x86/fpu: Supporting XSAVE feature ...".
#                   6.1 still honours it (cpu_parse_early_param()) though
#                   it also lists it under "Unknown kernel command line
#                   parameters"; with it the kernel uses FXSAVE, as
#                   LIMIT_LINE says.
#   clearcpuid=cx16 KVM's emulator has no cmpxchg16b: without it SLUB's
#                   first double-word cmpxchg stops the VM right after the
#                   "Memory: ..." line.
# (tsc=reliable and no_timer_check are not needed: a q35 boot without
# them got to the FPU set-up that prints LIMIT_LINE all the same.)
LIMIT_APPEND="console=ttyS0 earlyprintk=serial noxsave clearcpuid=cx16 panic=-1"

# Generous: a boot to LIMIT_LINE takes 100-210 s of wall time here with
# a core to itself, and more than twice that on a machine loaded with
# other work; ci/run-tests.sh gives each script 600 s.
LIMIT_SECS=${LIMIT_SECS:-540}

# Debian's kernel and the initramfs are the same for every build flavour:
# under check-asan (BUILD=build/asan) take the plain build's, which
# make test fetched just before.
GI=$BUILD/guest-images
if [ ! -f "$GI/linux/vmlinux" ] && [ -f "$ROOT/build/guest-images/linux/vmlinux" ]; then
	GI=$ROOT/build/guest-images
fi
VMLINUX=$GI/linux/vmlinux
INITRAMFS=$GI/initramfs.cpio.gz
REPLAY=${REPLAY:-$BUILD/vmm-replay}
QEMU=${QEMU:-qemu-system-x86_64}

limit_require() {
	kvm_require
	[ -x "$REPLAY" ] || { echo "FAIL: $REPLAY not built"; exit 1; }
	if [ ! -f "$VMLINUX" ] || [ ! -f "$INITRAMFS" ]; then
		echo "SKIP: no guest kernel/initramfs under $GI: run 'make linux-images'"
		exit 77
	fi
}

# Under ASan (make check-asan) the same scripts run a second time.
is_asan_build() {
	ldd "$VMM" 2>/dev/null | grep -q libasan || case $BUILD in */asan) true ;; *) false ;; esac
}

have_qemu() {
	command -v "$QEMU" >/dev/null 2>&1
}

# vmm_start NAME VMM-ARGS...: vmm with the kernel, the initramfs and
# LIMIT_APPEND, recording NAME.trace; output in NAME.out/.err.  Sets
# VMM_PID.
vmm_start() {
	local name=$1
	shift
	VMM_LOG_LEVEL=2 timeout -k 5 "$LIMIT_SECS" "$VMM" "$@" -kernel "$VMLINUX" \
		-initrd "$INITRAMFS" -append "$LIMIT_APPEND" -serial stdio -no-reboot \
		-trace-record "$TMP/$name.trace" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	VMM_PID=$!
}

# qemu_start NAME QEMU-ARGS...: the same for QEMU (KVM, the host CPU
# without arch-capabilities: QEMU 7.2 aborts here setting MSR 0x10a).
# Sets QEMU_PID.
qemu_start() {
	local name=$1
	shift
	timeout -k 5 "$LIMIT_SECS" "$QEMU" "$@" -enable-kvm -cpu host,-arch-capabilities \
		-kernel "$VMLINUX" -initrd "$INITRAMFS" -append "$LIMIT_APPEND" \
		-nodefaults -no-user-config -nographic -display none -monitor none \
		-serial stdio -no-reboot >"$TMP/$name.out" 2>"$TMP/$name.err" &
	QEMU_PID=$!
}

# wait_limit NAME PID STOPPED-RE: wait until NAME has printed LIMIT_LINE
# whole and then (without vmx/svm) reported the emulation-limit stop on
# stderr (a complete line matching STOPPED-RE), or has ended, or
# LIMIT_SECS passed.  Then stop it if it still runs (QEMU pauses on an
# internal error; with vmx/svm the kernel goes on).  Sets REACHED=1 when
# LIMIT_LINE was printed.
wait_limit() {
	local name=$1 pid=$2 stopped=$3 i
	REACHED=0
	for ((i = 0; i < LIMIT_SECS * 2; i++)); do
		if has_complete_line "$TMP/$name.out" "$LIMIT_LINE"; then
			REACHED=1
			if has_hw_virt || has_complete_line "$TMP/$name.err" "$stopped"; then
				break
			fi
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	has_complete_line "$TMP/$name.out" "$LIMIT_LINE" && REACHED=1
	complete_lines "$TMP/$name.out" >"$TMP/$name.log"
}

# The kernel's own lines of a log: from the banner on (QEMU's firmware
# prints first), timestamps stripped.
kernel_lines() {
	sed -n '/Linux version [0-9]/,$p' "$1" | sed -e 's/^.*\(Linux version [0-9]\)/\1/' \
		-e 's/^\[ *[0-9]*\.[0-9]*\] //'
}

# Up to and including LIMIT_LINE.
kernel_lines_to_limit() {
	kernel_lines "$1" | sed "\\#$LIMIT_LINE#q"
}

# A kernel in trouble: an oops, BUG, a divide error (issue 12), a panic
# or a WARN() splat.  The one pr_warn text with "WARNING" in it that this
# host shows is named: RETBleed's mitigation advice depends on the host
# CPU's ARCH_CAPABILITIES, which vmm passes through (QEMU runs here with
# -arch-capabilities and prints MDS/KPTI lines instead).
BAD_RE='Oops|\<BUG\>|divide error|Kernel panic|general protection fault|WARNING|Call Trace'
BAD_OK_RE='^RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks'

# check_vm NAME WHO: the boot reached LIMIT_LINE with no bad line before
# it; else fail and show the last 20 lines of both logs (NAME and
# NAME-qemu when there is one).
check_vm() {
	local name=$1 who=$2 bad
	bad=$(kernel_lines_to_limit "$TMP/$name.log" | grep -vE "$BAD_OK_RE" | grep -E "$BAD_RE" | head -n 5)
	if [ "$REACHED" = 1 ] && [ -z "$bad" ]; then
		pass "$name: $who reached '$LIMIT_LINE' with no Oops/BUG/divide error/panic/WARNING"
		return 0
	fi
	if [ "$REACHED" = 1 ]; then
		fail "$name: $who reached '$LIMIT_LINE' but the kernel reported: $bad"
	else
		fail "$name: $who stopped short of '$LIMIT_LINE'"
	fi
	show_tails "$name"
	return 1
}

show_tails() {
	local f
	for f in "$TMP/$1".out "$TMP/$1".err "$TMP/$1"-qemu.out "$TMP/$1"-qemu.err; do
		[ -f "$f" ] || continue
		echo "--- last 20 lines of $(basename "$f"):"
		tr -d '\r' <"$f" | tail -n 20
	done
}

# The emulation-limit stop: vmm ends itself with this on stderr.
VMM_STOPPED_RE='KVM internal error \(suberror 1\)'
# QEMU prints this, then its register dump ending in "Code=...", then
# pauses.
QEMU_STOPPED_RE='^Code='

check_vmm_stop() {
	local name=$1
	if has_hw_virt; then
		return 0
	fi
	if grep -qE "$VMM_STOPPED_RE" "$TMP/$name.err"; then
		pass "$name: vmm stopped at the host's emulation limit ($(grep -oE 'KVM internal error[^)]*\)' "$TMP/$name.err" | head -n 1))"
	else
		fail "$name: vmm did not stop at the emulation limit"
		show_tails "$name"
	fi
}

# subsystems FILE DROP-RE: the sequence of kernel subsystems a log shows
# up to LIMIT_LINE: each line's first word (its printk prefix: "ACPI:",
# "x86/fpu:", "rcu:", ...), without trailing ':' and "[N]" indexes,
# repeats collapsed, lines matching DROP-RE (the named differences)
# left out.
subsystems() {
	kernel_lines_to_limit "$1" | grep -vE "$2" |
		awk '{ w = $1; sub(/:$/, "", w); gsub(/\[[0-9]+\]/, "", w);
		       if (w != "" && w != last) print w; last = w }'
}

# compare_qemu NAME DROP-RE WHY: vmm's and QEMU's subsystem sequences
# must be equal once the lines named in DROP-RE (WHY says why) are left
# out.
compare_qemu() {
	local name=$1 drop=$2
	subsystems "$TMP/$name.log" "$drop" >"$TMP/$name.subsys"
	subsystems "$TMP/$name-qemu.log" "$drop" >"$TMP/$name-qemu.subsys"
	if [ -s "$TMP/$name.subsys" ] && diff -u "$TMP/$name-qemu.subsys" "$TMP/$name.subsys" >"$TMP/$name.subsys.diff"; then
		pass "$name: same $(wc -l <"$TMP/$name.subsys") kernel subsystems in the same order as QEMU, to '$LIMIT_LINE'"
	else
		fail "$name: the kernel's subsystem sequence differs from QEMU's (- QEMU, + vmm):"
		cat "$TMP/$name.subsys.diff"
		show_tails "$name"
	fi
}

# replay_check NAME: the trace of NAME replays in the simulator with no
# divergence, to its end; the listing goes to NAME.list.
replay_check() {
	local name=$1 out rc
	out=$(timeout 120 "$REPLAY" "$TMP/$name.trace" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q '^vmm-replay: match: ' &&
	   ! echo "$out" | grep -q 'stopped early'; then
		pass "$name: replay: $out"
	else
		fail "$name: replay exit $rc: $out"
	fi
	timeout 120 "$REPLAY" --list "$TMP/$name.trace" >"$TMP/$name.list" 2>&1
}

# trace_has NAME MIN REGEX WHAT: at least MIN records of NAME's trace
# listing match REGEX.
trace_has() {
	local n
	n=$(grep -cE -- "$3" "$TMP/$1.list")
	if [ "$n" -ge "$2" ]; then
		pass "$1: trace holds $4 ($n records)"
	else
		fail "$1: trace holds $n records of $4, expected at least $2"
	fi
}

# keep_artifacts: with LINUX_LIMIT_KEEP=DIR, copy the logs and traces
# there (tests/fixtures/README.md: how the Linux fixture is made).
keep_artifacts() {
	[ -n "${LINUX_LIMIT_KEEP:-}" ] || return 0
	mkdir -p "$LINUX_LIMIT_KEEP" &&
		cp "$TMP"/*.out "$TMP"/*.err "$TMP"/*.trace "$LINUX_LIMIT_KEEP"/ 2>/dev/null
	echo "kept logs and traces in $LINUX_LIMIT_KEEP"
}

# What any Linux boot to LIMIT_LINE puts in the trace.  RTC (CMOS)
# reads, the 8250 driver's UART probe and PCI ECAM enumeration come after
# LIMIT_LINE (kvm-clock gives the kernel its wall clock; the rest are
# initcalls), so they are only in a trace of a full boot.
trace_common_checks() {
	local name=$1
	# earlyprintk=serial's early_serial_init(): DLAB on, divisor 12
	# (its default 9600 baud), 8N1 -- then one THR write per character,
	# each after an LSR poll.
	trace_has "$name" 1 'bus pio 0x3fb write 1 byte\(s\) 0x83 ' "COM1 set-up by earlyprintk (LCR DLAB)"
	trace_has "$name" 1 'bus pio 0x3f8 write 1 byte\(s\) 0xc ' "COM1 divisor latch (9600 baud)"
	trace_has "$name" 1000 'bus pio 0x3fd read ' "COM1 LSR polls"
	trace_has "$name" 1000 'bus pio 0x3f8 write ' "COM1 transmitted characters"
	# The PIT's channel 0 counts from reset (as on a PC): its IRQ0
	# edges reach GSI 0 all through the boot.
	trace_has "$name" 100 'irq gsi 0 level 1' "PIT IRQ0 edges"
	trace_has "$name" 100 'timer-fire ' "device timer firings"
}
