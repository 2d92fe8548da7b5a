#!/bin/bash
# Start-up never hangs on a host file, and gives way to signals (issue 11
# item 7).
#   - A FIFO as -kernel, -initrd, -drive file=, an nvdimm mem-path or an
#     rng-random filename is refused at once: one line naming the option,
#     exit 2, well inside a 10 s timeout (it used to block in open()).
#   - A start-up step that does block (-serial file: on a FIFO nobody
#     reads, a wait=on chardev nobody connects to) ends on SIGTERM or
#     SIGINT: the VMM exits 0 as for a signal while running, removes its
#     pidfile and QMP socket, and prints no "Interrupted system call".
# The parts that boot under KVM print SKIP without /dev/kvm; the
# simulator parts run everywhere.
set -u
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
VMM=${VMM:-$BUILD/vmm}
GUEST=$BUILD/guest-images/testguest.elf
[ -x "$VMM" ] || { echo "FAIL: $VMM not built"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-startup-test.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
KVM=yes
if [ ! -e /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ] || [ ! -f "$GUEST" ]; then
	KVM=
	echo "SKIP: KVM parts: /dev/kvm is not usable (or the test guest is not built)"
fi
mkfifo "$TMP/fifo"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# fifo_refused NAME REGEX ARGS...: one stderr line matching REGEX, exit 2,
# in under 5 s (the timeout is only the backstop for a hang).
fifo_refused() {
	local name=$1 re=$2 rc t0 ms lines
	shift 2
	t0=$(now_ms)
	timeout -k 2 10 "$VMM" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
	rc=$?
	ms=$(( $(now_ms) - t0 ))
	lines=$(grep -c . "$TMP/$name.err")
	if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -qE -- "$re" "$TMP/$name.err" &&
	   [ $ms -lt 5000 ]; then
		pass "$name: refused in $ms ms: $(cat "$TMP/$name.err")"
	else
		fail "$name: exit $rc after $ms ms, $lines stderr line(s) (want 2, one line /$re/):"
		cat "$TMP/$name.err"
	fi
}

F=$TMP/fifo
fifo_refused sim-drive "^vmm: -drive id=d0,file=$F: not a regular file or block device$" \
	-machine microvm,accel=sim -m 64M -drive id=d0,file="$F" -device virtio-blk-device,drive=d0
fifo_refused sim-drive-ro "^vmm: -drive id=d0,file=$F: not a regular file" \
	-machine microvm,accel=sim -m 64M -drive id=d0,file="$F",readonly=on -device virtio-blk-device,drive=d0
fifo_refused sim-nvdimm "^(vmm: )?nvdimm nv0: mem-path '$F' is not a regular file$" \
	-machine q35,accel=sim,nvdimm=on -m 64M,slots=2,maxmem=1G \
	-object memory-backend-file,id=m0,mem-path="$F",size=2M,share=on -device nvdimm,id=nv0,memdev=m0
if [ -n "$KVM" ]; then
	K=(-machine microvm,accel=kvm -m 64M -serial stdio -no-reboot)
	fifo_refused kernel "^vmm: -kernel '$F': not a regular file$" "${K[@]}" -kernel "$F"
	fifo_refused initrd "^vmm: -initrd '$F': not a regular file$" "${K[@]}" -kernel "$GUEST" -initrd "$F"
	fifo_refused drive "^vmm: -drive id=d0,file=$F: not a regular file or block device$" \
		"${K[@]}" -kernel "$GUEST" -drive id=d0,file="$F",direct=on -device virtio-blk-device,drive=d0
	fifo_refused rng "^vmm: -object rng-random,filename=$F: not a character device or regular file$" \
		"${K[@]}" -kernel "$GUEST" -object rng-random,id=r0,filename="$F" -device virtio-rng-device,rng=r0
	fifo_refused nvdimm "^(vmm: )?nvdimm nv0: mem-path '$F' is not a regular file$" \
		-machine q35,accel=kvm,nvdimm=on -m 64M,slots=2,maxmem=1G -kernel "$GUEST" -serial stdio \
		-object memory-backend-file,id=m0,mem-path="$F",size=2M,readonly=on -device nvdimm,id=nv0,memdev=m0
fi

# ---- signals during a start-up step that blocks ----
# blocked_then_signal NAME SIGNAL WCHAN-REGEX ARGS...: start vmm, wait
# (10 s deadline) until its main thread sleeps in the kernel at WCHAN, send
# SIGNAL, and expect it gone within 5 s, exit 0, its files removed.
blocked_then_signal() {
	local name=$1 sig=$2 wre=$3 pid i w rc gone=
	shift 3
	rm -f "$TMP/$name.pid" "$TMP/$name.qmp"
	"$VMM" -pidfile "$TMP/$name.pid" -qmp unix:"$TMP/$name.qmp",server,nowait "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
	pid=$!
	PIDS+=("$pid")
	for i in $(seq 100); do
		w=$(cat "/proc/$pid/wchan" 2>/dev/null)
		echo "$w" | grep -qE "$wre" && break
		sleep 0.1
	done
	if ! echo "$w" | grep -qE "$wre"; then
		fail "$name: vmm never blocked in start-up (wchan '$w')"; cat "$TMP/$name.err"
		return
	fi
	kill -"$sig" "$pid"
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { gone=yes; break; }
		sleep 0.1
	done
	if [ -z "$gone" ]; then
		fail "$name: still running 5 s after SIG$sig (blocked in '$w')"
		kill -KILL "$pid"; wait "$pid" 2>/dev/null
		return
	fi
	wait "$pid"
	rc=$?
	if [ $rc -eq 0 ] && [ ! -e "$TMP/$name.pid" ] && [ ! -e "$TMP/$name.qmp" ] &&
	   ! grep -q 'Interrupted system call' "$TMP/$name.err"; then
		pass "$name: SIG$sig ended the blocked start-up (exit 0, pidfile and QMP socket removed)"
	else
		fail "$name: after SIG$sig exit $rc, pidfile $( [ -e "$TMP/$name.pid" ] && echo left || echo removed), qmp $( [ -e "$TMP/$name.qmp" ] && echo left || echo removed):"
		cat "$TMP/$name.err"
	fi
}

if [ -n "$KVM" ]; then
	K=(-machine microvm,accel=kvm -m 64M -kernel "$GUEST" -no-reboot)
	# open() of a FIFO nobody reads: the kernel's wait_for_partner.
	blocked_then_signal serial-fifo-term TERM 'wait_for_partner|fifo' "${K[@]}" -serial file:"$F"
	blocked_then_signal serial-fifo-int INT 'wait_for_partner|fifo' "${K[@]}" -serial file:"$F"
	# A server chardev waiting for its first client.
	blocked_then_signal chardev-wait TERM 'poll|select' "${K[@]}" -serial stdio \
		-chardev socket,id=c0,path="$TMP/con.sock",server=on,wait=on \
		-device virtio-serial-device -device virtconsole,chardev=c0
fi

if [ "$FAILS" -gt 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
exit 0
