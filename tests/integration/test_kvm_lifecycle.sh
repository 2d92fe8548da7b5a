#!/usr/bin/env bash
# How a VM ends, and what the exit status says: i8042 reset and ACPI
# power-off (with and without -no-reboot), SIGTERM, -pidfile, -daemonize,
# -D log file, and triple fault where hardware virtualization exists.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

run() { # run NAME TIMEOUT ARGS...
	local name=$1 t=$2
	shift 2
	timeout "$t" "$VMM" -machine microvm,accel=kvm -m 64M -kernel "$GUEST" \
		-serial stdio "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
}

run reboot 30 -no-reboot -append "testguest.action=reboot"
expect_rc $? 0 "i8042 reset under -no-reboot exits 0"
expect_line "$TMP/reboot.out" "^testguest: action reboot" "guest asked for the reset"

# Without -no-reboot the machine is rebuilt and the guest boots again
# (and resets again, until the timeout).
run reboot2 3 -append "testguest.action=reboot"
n=$(grep -c '^testguest: hello' "$TMP/reboot2.out")
if [ "$n" -ge 2 ]; then pass "reset reboots the guest ($n boots in 3 s)"; else fail "reset did not reboot (boots: $n)"; fi

run poweroff 30 -append "testguest.action=poweroff"
expect_rc $? 0 "ACPI soft-off exits 0"

# SIGTERM ends the VM cleanly (exit 0, pidfile removed).
timeout -k 5 30 "$VMM" -machine microvm,accel=kvm -m 64M -kernel "$GUEST" \
	-append "testguest.action=spin" -serial file:"$TMP/spin.out" \
	-pidfile "$TMP/vm.pid" >/dev/null 2>"$TMP/spin.err" &
pid=$!
for _ in $(seq 50); do grep -q 'action spin' "$TMP/spin.out" 2>/dev/null && break; sleep 0.1; done
# $pid is timeout(1); the vmm is its child.
vpid=$(cat "$TMP/vm.pid" 2>/dev/null)
if [ -n "$vpid" ] && [ "$(ps -o ppid= -p "$vpid" | tr -d ' ')" = "$pid" ]; then pass "-pidfile holds the vmm pid"; else fail "-pidfile missing or wrong ('$vpid')"; fi
expect_line "$TMP/spin.out" "^testguest: action spin" "-serial file: gets the guest output"
kill -TERM "$pid"
wait "$pid"
expect_rc $? 0 "SIGTERM shuts the VM down"
if [ ! -e "$TMP/vm.pid" ]; then pass "pidfile removed on exit"; else fail "pidfile left behind"; fi

# -daemonize: the parent returns once the VM runs; the daemon keeps the
# pidfile and writes the log given with -D.
timeout -k 5 30 "$VMM" -machine microvm,accel=kvm -m 64M -kernel "$GUEST" \
	-append "testguest.action=spin" -serial file:"$TMP/daemon.out" \
	-pidfile "$TMP/d.pid" -daemonize -D "$TMP/d.log" >/dev/null 2>&1
expect_rc $? 0 "-daemonize parent exits 0"
for _ in $(seq 50); do [ -s "$TMP/d.pid" ] && break; sleep 0.1; done
dpid=$(cat "$TMP/d.pid" 2>/dev/null)
if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
	pass "daemon running (pid $dpid)"
	kill -TERM "$dpid"
	for _ in $(seq 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$dpid" 2>/dev/null; then fail "daemon ignored SIGTERM"; kill -KILL "$dpid"; else pass "daemon stopped on SIGTERM"; fi
else
	fail "no daemon after -daemonize"
fi
[ -f "$TMP/d.log" ] && pass "-D log file created" || fail "-D log file missing"

# -daemonize with relative paths: they mean the starting directory, as
# with QEMU, although the daemon moves to "/" (and reopens the kernel on
# a reset).  Nothing may appear under /.
mkdir -p "$TMP/rel"
cp "$GUEST" "$TMP/rel/guest.elf"
for f in vm.pid console.out vm.log; do
	[ -e "/$f" ] && { echo "SKIP: /$f exists already: relative -daemonize paths not checked"; f=; break; }
done
if [ -n "$f" ]; then
	(cd "$TMP/rel" && timeout -k 5 30 "$VMM" -machine microvm,accel=kvm -m 64M \
		-kernel guest.elf -append "testguest.action=spin" -serial file:console.out \
		-pidfile vm.pid -daemonize -D vm.log >/dev/null 2>"$TMP/rel.err")
	expect_rc $? 0 "-daemonize with relative paths: parent exits 0"
	for _ in $(seq 100); do grep -q "action spin" "$TMP/rel/console.out" 2>/dev/null && break; sleep 0.1; done
	expect_line "$TMP/rel/console.out" "action spin" "relative -serial file: and -kernel are the starting directory's"
	[ -s "$TMP/rel/vm.pid" ] && pass "relative -pidfile written in the starting directory" || fail "no $TMP/rel/vm.pid"
	[ -f "$TMP/rel/vm.log" ] && pass "relative -D log in the starting directory" || fail "no $TMP/rel/vm.log"
	for f in vm.pid console.out vm.log; do
		if [ -e "/$f" ]; then fail "/$f created by the daemon"; rm -f "/$f"; fi
	done
	rpid=$(cat "$TMP/rel/vm.pid" 2>/dev/null)
	if [ -n "$rpid" ] && kill -0 "$rpid" 2>/dev/null; then
		kill -TERM "$rpid"
		for _ in $(seq 50); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$rpid" 2>/dev/null && { fail "relative daemon ignored SIGTERM"; kill -KILL "$rpid"; }
		[ -e "$TMP/rel/vm.pid" ] && fail "relative pidfile left behind" || pass "relative pidfile removed on exit"
	else
		fail "no daemon with relative paths: $(cat "$TMP/rel.err")"
	fi
fi

# QMP: the control socket answers and "quit" ends the VM with exit 0
# after a SHUTDOWN event, as with QEMU.
timeout -k 5 30 "$VMM" -machine microvm,accel=kvm -m 64M -smp 2 -kernel "$GUEST" \
	-append "testguest.action=spin" -serial none -device virtio-balloon-device \
	-qmp unix:"$TMP/qmp.sock",server,nowait >/dev/null 2>"$TMP/qmp.err" &
qpid=$!
timeout 20 python3 - "$TMP/qmp.sock" >"$TMP/qmp.out" 2>&1 <<'PY'
import json, socket, sys, time
import qmpio
for _ in range(100):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); break
    except OSError:
        time.sleep(0.1)
f = qmpio.QmpFile(s)
print("greeting", "QMP" in json.loads(f.readline()))
for cmd in ('qmp_capabilities', 'query-status', 'query-cpus-fast',
            'query-balloon', 'stop', 'query-status', 'cont', 'quit'):
    f.write(json.dumps({'execute': cmd}) + '\n'); f.flush()
    while True:
        m = json.loads(f.readline())
        print(json.dumps(m, sort_keys=True))
        if 'return' in m or 'error' in m:
            break
PY
wait "$qpid"
expect_rc $? 0 "QMP quit ends the VM"
expect_line "$TMP/qmp.out" '^greeting True' "QMP greeting"
expect_line "$TMP/qmp.out" '"status": "running"' "QMP query-status"
expect_line "$TMP/qmp.out" '"event": "STOP"' "QMP stop pauses (STOP event)"
expect_line "$TMP/qmp.out" '"status": "paused"' "QMP query-status while stopped"
expect_line "$TMP/qmp.out" '"event": "RESUME"' "QMP cont resumes (RESUME event)"
expect_line "$TMP/qmp.out" '"event": "SHUTDOWN"' "QMP SHUTDOWN event on quit"
expect_line "$TMP/qmp.out" '"cpu-index": 1.*"thread-id": [1-9]' "QMP query-cpus-fast: both vCPU threads"
expect_line "$TMP/qmp.out" '"actual": 67108864' "QMP query-balloon: all 64 MiB with the balloon empty"

if has_hw_virt; then
	run triple 30 -no-reboot -append "testguest.action=triplefault"
	expect_rc $? 0 "triple fault resets (exit 0 under -no-reboot)"
else
	echo "SKIP: triple-fault reset needs vmx/svm (instruction-emulated KVM cannot deliver it here)"
fi
finish
