#!/usr/bin/env bash
# Record/replay across a snapshot and across a reset under KVM (issue 18
# item 7), with the test guest:
#  1. a guest saved mid-test (testguest.action=snap) is restored with
#     -trace-record, by -incoming file:, exec: and defer + QMP
#     migrate-incoming; it finishes every check, and vmm-replay replays
#     each trace from its state record with zero divergence;
#  2. a guest that asks for a reset through the i8042 (snapwait's 'r')
#     is recorded across the reset; the second boot ends the VM through
#     the debug-exit, and vmm-replay replays both boots, the rebuild in
#     between, with zero divergence;
#  3. the same with the reset asked for over QMP (system_reset);
#  4. after QMP object-add changed the machine, a reset ends the trace
#     (replay rebuilds only the recorded command line), with a log line;
#     the first boot still replays.
# The guest says "snap ready" and waits for a byte on COM1 (the vmm's
# stdin), so no step waits a fixed time.
TMP_NAME=vmm-kvm-trace-restore
. "$(dirname "$0")/kvm_common.sh"
kvm_require
REPLAY=${REPLAY:-$BUILD/vmm-replay}
[ -x "$REPLAY" ] || { echo "FAIL: $REPLAY not built"; exit 1; }
QMPPY="$(dirname "$0")/snap_qmp.py"
DISK=$TMP/disk.img
make_disk "$DISK"
BASE=(-machine microvm,accel=kvm -m 128M -kernel "$GUEST"
      -drive id=d0,file="$DISK",readonly=on -device virtio-blk-device,drive=d0
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)

# replay_ok TRACE WHAT [REGEX]: vmm-replay exits 0 with a match line
# (matching REGEX too, when given).
replay_ok() {
	local out rc
	out=$(timeout 60 "$REPLAY" "$1" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -qE "^vmm-replay: match: [1-9][0-9]* events replayed${3:-}"; then
		pass "$2: $out"
	else
		fail "$2: vmm-replay exit $rc: $out"
	fi
}

# wait_lines FILE REGEX N PID: until FILE has N lines matching REGEX (or
# the vmm is gone, or 30 s passed).
wait_lines() {
	local i
	for i in $(seq 600); do
		[ "$(grep -cE -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# ---- 1. restored, then recorded ----
rm -f "$TMP/s.sock"
timeout -k 5 60 "$VMM" "${BASE[@]}" -append "testguest.action=snap" -no-reboot \
	-serial file:"$TMP/s.out" -qmp unix:"$TMP/s.sock",server,nowait 2>"$TMP/s.err" &
pid=$!
timeout 90 python3 "$QMPPY" "$TMP/s.sock" "$TMP/s.out" ready \
	"save-running file:$TMP/s.state" quit >"$TMP/s.qmp" 2>&1
wait $pid
expect_line "$TMP/s.qmp" '"status": "completed"' "the test guest was saved mid-test"

# restore NAME VMM-ARGS...: a recorded restore; the byte the guest waits
# for goes in once the state is loaded.  With QMP=1 a socket, and
# migrate-incoming of the saved file over it (-incoming defer).
restore() {
	local name=$1
	shift
	out=$TMP/$name.out
	rm -f "$TMP/$name.in" "$TMP/$name.sock"
	mkfifo "$TMP/$name.in"
	local q=()
	[ "${QMP:-0}" = 1 ] && q=(-qmp unix:"$TMP/$name.sock",server,nowait)
	VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" "${BASE[@]}" -append "testguest.action=snap" \
		-no-reboot "$@" "${q[@]}" -serial stdio -trace-record "$TMP/$name.trace" \
		<"$TMP/$name.in" >"$out" 2>"$TMP/$name.err" &
	local pid=$!
	exec 7>"$TMP/$name.in"
	if [ "${QMP:-0}" = 1 ]; then
		timeout 60 python3 "$QMPPY" "$TMP/$name.sock" "$out" \
			"cmd migrate-incoming {\"uri\": \"file:$TMP/s.state\"}" >"$TMP/$name.qmp" 2>&1
	fi
	wait_lines "$TMP/$name.err" 'restored' 1 $pid
	(printf 'g' >&7) 2>/dev/null
	exec 7>&-
	wait $pid
	rc=$?
}

for mode in file exec defer; do
	case $mode in
	file) restore r-file -incoming file:"$TMP/s.state" ;;
	exec) restore r-exec -incoming "exec:cat $TMP/s.state" ;;
	defer) QMP=1 restore r-defer -incoming defer ;;
	esac
	expect_rc "$rc" 33 "$mode: the restored, recorded guest finished every check"
	expect_no_line "$out" 'testguest: hello' "$mode: the guest did not boot again"
	expect_no_line "$TMP/r-$mode.err" 'cannot be used with' "$mode: -trace-record with -incoming is not refused"
	"$REPLAY" --list "$TMP/r-$mode.trace" >"$TMP/r-$mode.list" 2>&1
	expect_line "$TMP/r-$mode.list" '^[0-9]+ @[0-9]+ state ' "$mode: the trace holds the restore as a state record"
	replay_ok "$TMP/r-$mode.trace" "$mode: the restored guest's trace replays from its snapshot"
done

# ---- 2. a guest reset (i8042 0xFE) in the middle of a recording ----
mkfifo "$TMP/g.in"
VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" "${BASE[@]}" -append "testguest.action=snapwait" \
	-serial stdio -trace-record "$TMP/g.trace" <"$TMP/g.in" >"$TMP/g.out" 2>"$TMP/g.err" &
pid=$!
exec 7>"$TMP/g.in"
wait_lines "$TMP/g.out" 'snap ready' 1 $pid && (printf 'r' >&7) 2>/dev/null
wait_lines "$TMP/g.out" 'snap ready' 2 $pid && (printf 'g' >&7) 2>/dev/null
exec 7>&-
wait $pid
rc=$?
expect_rc "$rc" 33 "guest reset: the second boot ended through the debug-exit"
n=$(grep -c 'testguest: hello' "$TMP/g.out")
[ "$n" = 2 ] && pass "guest reset: two boots" || fail "guest reset: $n boots"
expect_line "$TMP/g.err" 'guest reset: rebooting' "guest reset: the machine was rebuilt"
expect_no_line "$TMP/g.err" 'the trace ends' "guest reset: the trace did not end at the reset"
replay_ok "$TMP/g.trace" "guest reset: both boots replay" ' .*2 boots \(1 resets\)'

# ---- 3. a reset asked for over QMP (system_reset) ----
mkfifo "$TMP/q.in"
rm -f "$TMP/q.sock"
VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" "${BASE[@]}" -append "testguest.action=snapwait" \
	-serial stdio -qmp unix:"$TMP/q.sock",server,nowait -trace-record "$TMP/q.trace" \
	<"$TMP/q.in" >"$TMP/q.out" 2>"$TMP/q.err" &
pid=$!
exec 7>"$TMP/q.in"
timeout 60 python3 "$QMPPY" "$TMP/q.sock" "$TMP/q.out" ready "cmd system_reset" >"$TMP/q.qmp" 2>&1
wait_lines "$TMP/q.out" 'snap ready' 2 $pid && (printf 'g' >&7) 2>/dev/null
exec 7>&-
wait $pid
rc=$?
expect_rc "$rc" 33 "system_reset: the second boot ended through the debug-exit"
replay_ok "$TMP/q.trace" "system_reset: both boots replay" ' .*2 boots \(1 resets\)'

# ---- 4. hot-plug changed the machine: the reset ends the trace ----
mkfifo "$TMP/h.in"
rm -f "$TMP/h.sock"
VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" "${BASE[@]}" -append "testguest.action=snapwait" \
	-serial stdio -qmp unix:"$TMP/h.sock",server,nowait -trace-record "$TMP/h.trace" \
	<"$TMP/h.in" >"$TMP/h.out" 2>"$TMP/h.err" &
pid=$!
exec 7>"$TMP/h.in"
timeout 60 python3 "$QMPPY" "$TMP/h.sock" "$TMP/h.out" ready \
	'cmd object-add {"qom-type": "memory-backend-ram", "id": "m1", "size": 1048576}' \
	"cmd system_reset" >"$TMP/h.qmp" 2>&1
wait_lines "$TMP/h.out" 'snap ready' 2 $pid && (printf 'g' >&7) 2>/dev/null
exec 7>&-
wait $pid
rc=$?
expect_rc "$rc" 33 "object-add, reset: the second boot ended through the debug-exit"
expect_line "$TMP/h.err" 'trace: the guest reset after QMP changed the machine \(hot-plug\); the trace ends here' \
	"object-add, reset: the trace ends at the reset, saying why"
replay_ok "$TMP/h.trace" "object-add, reset: the first boot replays" ' \([0-9]+ bus accesses, [0-9]+ timer firings and backend deliveries\)$'
finish
