#!/usr/bin/env bash
# Host backends live across a guest reset (the machine is rebuilt, its
# backends are not): a -serial file holds every boot's output in order,
# a socket client connected before the reset keeps receiving after it,
# and a wait=on socket blocks only the first start.  With the default
# seccomp filter and with -disable-seccomp.  Also: vCPU threads carry
# their names (vcpu0, vcpu1) with and without -no-reboot.
. "$(dirname "$0")/kvm_common.sh"
kvm_require
export VMM_LOG_LEVEL=2   # info lines: the rebuilds and the filter
SANITIZER='ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:'

# The guest's markers in FILE, one letter per line: h (hello), r (action
# reboot).  Every boot prints h then r; a truncated file starts late.
markers() {
	grep -oE '^testguest: (hello|action reboot)' "$1" |
		sed -e 's/.*hello/h/' -e 's/.*action reboot/r/' | tr -d '\n'
}

# boots_in_order FILE WHAT: at least two boots, each h then r, none
# missing in between (the last may be cut short by the timeout).
boots_in_order() {
	local m n
	m=$(markers "$1")
	n=$(grep -c '^testguest: hello' "$1")
	if [ "$n" -ge 2 ] && echo "$m" | grep -qE '^(hr)+h?$'; then
		pass "$2 ($n boots)"
	else
		fail "$2 (boots $n, markers '$m')"; echo "--- output:"; cat "$1"; echo "---"
	fi
}

for mode in filter nofilter; do
	extra=()
	[ "$mode" = nofilter ] && extra=(-disable-seccomp)

	# -serial file: the file is opened once; the guest resets until the
	# timeout ends the VM.
	printf 'stale-content-from-before\n' >"$TMP/f-$mode.out"
	timeout -k 2 4 "$VMM" -machine microvm,accel=kvm -m 64M -kernel "$GUEST" \
		-append "testguest.action=reboot" ${extra[@]+"${extra[@]}"} \
		-serial file:"$TMP/f-$mode.out" >/dev/null 2>"$TMP/f-$mode.err"
	boots_in_order "$TMP/f-$mode.out" "$mode: -serial file: keeps every boot's output"
	expect_no_line "$TMP/f-$mode.out" "stale-content" "$mode: the file was truncated once, at start"
	expect_line "$TMP/f-$mode.err" "guest reset: rebooting" "$mode: the machine was rebuilt"

	# A unix socket chardev with wait=on: the VMM waits for the client
	# once; the same connection carries every boot's output.
	sock=$TMP/s-$mode.sock
	timeout -k 2 6 "$VMM" -machine q35,accel=kvm -m 64M -kernel "$GUEST" \
		-append "testguest.action=reboot" ${extra[@]+"${extra[@]}"} \
		-chardev socket,id=con0,path="$sock",server=on,wait=on \
		-serial chardev:con0 >/dev/null 2>"$TMP/s-$mode.err" &
	vpid=$!
	timeout 10 python3 - "$sock" >"$TMP/s-$mode.out" 2>"$TMP/s-$mode.py" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("no socket")
s.settimeout(0.5)
buf = b''
end = time.time() + 3.5
while time.time() < end:
    try:
        d = s.recv(4096)
    except socket.timeout:
        continue
    if not d:
        break
    buf += d
sys.stdout.write(buf.decode('latin-1').replace('\r', ''))
PY
	wait "$vpid"
	boots_in_order "$TMP/s-$mode.out" "$mode: one socket client sees output of every boot"
	expect_line "$TMP/s-$mode.err" "guest reset: rebooting" "$mode: the socket machine was rebuilt"
	expect_no_line "$TMP/f-$mode.err" "$SANITIZER" "$mode: file run: no sanitizer report"
	expect_no_line "$TMP/s-$mode.err" "$SANITIZER" "$mode: socket run: no sanitizer report"
done

# -trace-record goes on across every reset: each rebuilt machine hooks
# the same backends again (docs/trace-format.md "Across a reset"), and
# vmm-replay replays every boot the recording holds (the timeout ends the
# last one, anywhere).
timeout -k 2 4 "$VMM" -machine microvm,accel=kvm -m 64M -kernel "$GUEST" \
	-append "testguest.action=reboot" -trace-record "$TMP/t.trace" \
	-serial file:"$TMP/t.out" >/dev/null 2>"$TMP/t.err"
boots_in_order "$TMP/t.out" "-trace-record: the file keeps every boot's output"
expect_no_line "$TMP/t.err" "the trace ends" "-trace-record: the trace goes on across the resets"
expect_no_line "$TMP/t.err" "$SANITIZER" "-trace-record: no sanitizer report"
rout=$(timeout 60 "${REPLAY:-$BUILD/vmm-replay}" "$TMP/t.trace" 2>&1)
if echo "$rout" | grep -qE '^vmm-replay: match: .*[0-9]+ boots \([1-9][0-9]* resets\)'; then
	pass "-trace-record: every boot replays ($rout)"
else
	fail "-trace-record: replay: $rout"
fi

# vCPU thread names, set by each thread itself (no /proc write, which
# -no-reboot's filter refuses).
for nr in reboot noreboot; do
	extra=()
	[ "$nr" = noreboot ] && extra=(-no-reboot)
	rm -f "$TMP/n.pid" "$TMP/n-$nr.out"
	timeout -k 2 20 "$VMM" -machine microvm,accel=kvm -m 64M -smp 2 -kernel "$GUEST" \
		-append "testguest.action=spin" ${extra[@]+"${extra[@]}"} \
		-serial file:"$TMP/n-$nr.out" -pidfile "$TMP/n.pid" \
		>/dev/null 2>"$TMP/n-$nr.err" &
	tpid=$!
	for _ in $(seq 100); do grep -q 'action spin' "$TMP/n-$nr.out" 2>/dev/null && break; sleep 0.1; done
	vpid=$(cat "$TMP/n.pid" 2>/dev/null)
	names=$(cat /proc/"$vpid"/task/*/comm 2>/dev/null | sort | tr '\n' ' ')
	if echo "$names" | grep -qw vcpu0 && echo "$names" | grep -qw vcpu1; then
		pass "$nr: vCPU threads named ($names)"
	else
		fail "$nr: vCPU thread names missing (threads: '$names')"; cat "$TMP/n-$nr.err"
	fi
	expect_line "$TMP/n-$nr.err" "seccomp: " "$nr: the seccomp filter is in"
	kill -TERM "$tpid" 2>/dev/null
	wait "$tpid"
	expect_rc $? 0 "$nr: SIGTERM ends the VM"
done
finish
