#!/usr/bin/env bash
# QMP system_reset, system_powerdown and quit against the real vmm running
# the test guest (which spins after its hello line), on microvm and q35:
#  - system_reset: RESET {guest: false, reason: host-qmp-system-reset},
#    then the reply (QEMU 7.2's order, measured: docs/qmp.md); the machine
#    is rebuilt and the guest boots again, on the same QMP connection;
#    under -no-reboot SHUTDOWN instead and the vmm exits 0 (QEMU's
#    behaviour);
#  - a guest-initiated reset: RESET {guest: true, reason: guest-reset}
#    for every reboot, the client staying connected;
#  - system_powerdown: POWERDOWN, then the reply, and the ACPI power
#    button pressed (the guest's reaction needs a full ACPI OS; the
#    register and interrupt level is tests/unit/test_acpi_pm.c);
#  - SIGTERM/SIGINT/SIGHUP: SHUTDOWN {guest: false, reason: host-signal};
#  - balloon without a balloon device: DeviceNotActive before the value
#    is looked at.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

# start NAME MACHINE ARGS...: a spinning guest with a QMP socket.
start() {
	local name=$1 machine=$2
	shift 2
	rm -f "$TMP/$name.sock"
	VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" -machine "$machine",accel=kvm -m 64M \
		-kernel "$GUEST" -append "testguest.action=spin" \
		-serial file:"$TMP/$name.out" -qmp unix:"$TMP/$name.sock",server,nowait \
		-D "$TMP/$name.log" "$@" >/dev/null 2>"$TMP/$name.err" &
}

# client NAME SCRIPT: run the QMP client with the step list SCRIPT (one
# step, ';'-separated: a command or a raw JSON object, "wait EVENT" (an
# event seen while waiting for a reply counts), "boot" (wait for the
# guest's spin line), "truncate" (the serial file), "signal SIG" (to
# $VMMPID), "eof" (read to the close)).  Prints
# every reply and event in order, compact JSON, one per line.
client() {
	timeout 40 python3 - "$TMP/$1.sock" "$TMP/$1.out" "$2" >"$TMP/$1.py" 2>&1 <<'PY'
import json, os, signal, socket, sys, time
import qmpio
path, serial, script = sys.argv[1], sys.argv[2], sys.argv[3]
seen = []
for _ in range(400):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(path); break
    except OSError:
        time.sleep(0.05)
f = qmpio.QmpFile(s)
json.loads(f.readline())
def show(m):
    m.pop('timestamp', None)
    print(json.dumps(m, sort_keys=True), flush=True)
def read():
    m = json.loads(f.readline())
    show(m)
    if 'event' in m:
        seen.append(m['event'])
    return m
def boot():
    for _ in range(200):
        try:
            if 'testguest: action spin' in open(serial).read():
                print('booted', flush=True); return
        except OSError:
            pass
        time.sleep(0.05)
    print('no boot', flush=True)
for step in script.split(';'):
    step = step.strip()
    if step == 'boot':
        boot()
    elif step == 'truncate':
        os.truncate(serial, 0)   # a later hello comes from a new boot
    elif step.startswith('wait '):
        while step[5:] not in seen:
            read()
        seen.remove(step[5:])
    elif step.startswith('signal '):
        os.kill(int(os.environ['VMMPID']), getattr(signal, 'SIG' + step[7:]))
    elif step.startswith('burst '):  # several commands in one write
        cmds = step[6:].split()
        f.write(''.join(json.dumps({'execute': c}) + '\n' for c in cmds)); f.flush()
        n = 0
        while n < len(cmds):
            m = read()
            n += 'return' in m or 'error' in m
    elif step == 'eof':   # whatever is left, then the close
        for line in f:
            show(json.loads(line))
        print('eof', flush=True)
    else:
        msg = step if step.startswith('{') else json.dumps({'execute': step})
        f.write(msg + '\n'); f.flush()
        while True:
            m = read()
            if 'return' in m or 'error' in m:
                break
PY
}

# expect_order FILE FIRST SECOND WHAT: the line matching FIRST comes
# before the one matching SECOND.
expect_order() {
	local a b
	a=$(grep -nE -- "$2" "$1" | head -1 | cut -d: -f1)
	b=$(grep -nE -- "$3" "$1" | head -1 | cut -d: -f1)
	if [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]; then pass "$4"; else fail "$4 (lines '$a' '$b')"; echo "--- output:"; cat "$1"; echo "---"; fi
}

# event_then_reply FILE EVENT-REGEX WHAT: every line matching the event
# is followed directly by the command's empty reply (QEMU 7.2's order).
event_then_reply() {
	local n bad
	n=$(grep -cE -- "$2" "$1")
	bad=$(grep -A1 -E -- "$2" "$1" | grep -vE -- "$2" | grep -vcE '^(\{"return": \{\}\}|--)$')
	if [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]; then pass "$3"; else fail "$3 ($n events, $bad not followed by the reply)"; cat "$1"; fi
}

RESET_HOST='"data": \{"guest": false, "reason": "host-qmp-system-reset"\}, "event": "RESET"'

# --- microvm: reset, reset again, powerdown, quit -----------------------
start mv microvm -smp 2 -device virtio-balloon-device
pid=$!
client mv "qmp_capabilities; boot; truncate; system_reset; wait RESET; boot; query-status; truncate; system_reset; wait RESET; boot; system_powerdown; wait POWERDOWN; query-status; quit; eof"
wait "$pid"
expect_rc $? 0 "microvm: quit after two resets and a powerdown"
out=$TMP/mv.py
n=$(grep -cE "$RESET_HOST" "$out")
[ "$n" = 2 ] && pass "microvm: two RESET events (guest: false, host-qmp-system-reset)" || fail "microvm: $n RESET events"
[ "$(grep -c '^booted' "$out")" = 3 ] && pass "microvm: the guest booted three times" || { fail "microvm: boots"; cat "$out"; }
event_then_reply "$out" "$RESET_HOST" "microvm: RESET, then system_reset's reply (QEMU 7.2's order)"
event_then_reply "$out" '^\{"event": "POWERDOWN"\}' "microvm: POWERDOWN, then system_powerdown's reply"
expect_line "$out" '"return": \{"running": true, "singlestep": false, "status": "running"\}' "microvm: running after the reset"
expect_line "$out" '^\{"event": "POWERDOWN"\}' "microvm: POWERDOWN event"
expect_line "$TMP/mv.log" "acpi: power button pressed" "microvm: the ACPI power button (GED) was pressed"
expect_line "$out" 'host-qmp-quit"\}, "event": "SHUTDOWN"' "microvm: SHUTDOWN on quit"
expect_line "$out" '^eof' "microvm: the socket closes after quit"
expect_no_line "$TMP/mv.err" "blocked system call" "microvm: nothing blocked by seccomp"

# --- q35: the fixed power button, then a reset ---------------------------
start q35 q35 -device virtio-balloon-pci
pid=$!
client q35 "qmp_capabilities; boot; system_powerdown; wait POWERDOWN; truncate; system_reset; wait RESET; boot; query-balloon; quit"
wait "$pid"
expect_rc $? 0 "q35: quit"
expect_line "$TMP/q35.log" "acpi: power button pressed" "q35: the ACPI power button (PM1 PWRBTN) was pressed"
expect_line "$TMP/q35.py" "$RESET_HOST" "q35: RESET event"
[ "$(grep -c '^booted' "$TMP/q35.py")" = 2 ] && pass "q35: the guest booted again" || fail "q35: boots"
expect_line "$TMP/q35.py" '"return": \{"actual": 67108864\}' "q35: the rebuilt machine's balloon answers"

# --- -no-reboot: system_reset ends the VM --------------------------------
start nr microvm -no-reboot
pid=$!
client nr "qmp_capabilities; boot; {\"execute\": \"balloon\", \"arguments\": {\"value\": 0}}; system_reset; eof"
wait "$pid"
expect_rc $? 0 "-no-reboot: system_reset exits 0"
expect_line "$TMP/nr.py" '"data": \{"guest": false, "reason": "host-qmp-system-reset"\}, "event": "SHUTDOWN"' "-no-reboot: SHUTDOWN (host-qmp-system-reset)"
expect_no_line "$TMP/nr.py" '"event": "RESET"' "-no-reboot: no RESET event"
event_then_reply "$TMP/nr.py" '"event": "SHUTDOWN"' "-no-reboot: SHUTDOWN, then the reply (QEMU 7.2's order)"
expect_line "$TMP/nr.py" '^eof' "-no-reboot: the socket closes"
expect_line "$TMP/nr.py" '"class": "DeviceNotActive", "desc": "No balloon device has been activated"' \
	"balloon 0 without a balloon device: DeviceNotActive (checked before the value, as QEMU)"

# --- SIGTERM/SIGINT/SIGHUP: SHUTDOWN says the host asked -----------------
for sig in TERM INT HUP; do
	start sig$sig microvm
	pid=$!
	VMMPID=$pid client sig$sig "qmp_capabilities; boot; signal $sig; eof"
	wait "$pid"
	expect_rc $? 0 "SIG$sig: exit 0"
	expect_line "$TMP/sig$sig.py" '"data": \{"guest": false, "reason": "host-signal"\}, "event": "SHUTDOWN"' \
		"SIG$sig: SHUTDOWN {guest: false, reason: host-signal}, as QEMU"
	expect_no_line "$TMP/sig$sig.py" 'guest-shutdown' "SIG$sig: not reported as a guest shutdown"
done

# --- system_reset and quit in one write: quit wins, the VM exits ---------
start burst microvm
pid=$!
client burst "qmp_capabilities; boot; burst system_reset quit; eof"
wait "$pid"
expect_rc $? 0 "system_reset then quit in one write: vmm exits 0"
expect_line "$TMP/burst.py" 'host-qmp-quit"\}, "event": "SHUTDOWN"' "system_reset then quit: SHUTDOWN (host-qmp-quit)"
expect_line "$TMP/burst.py" '^eof' "system_reset then quit: the socket closes"

# --- a guest that resets itself: RESET (guest: true) on each reboot ------
rm -f "$TMP/gr.sock"
VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" -machine microvm,accel=kvm -m 64M \
	-kernel "$GUEST" -append "testguest.action=reboot" -serial none \
	-qmp unix:"$TMP/gr.sock",server,nowait >/dev/null 2>"$TMP/gr.err" &
pid=$!
client gr "qmp_capabilities; wait RESET; wait RESET; wait RESET; query-status; quit"
wait "$pid"
expect_rc $? 0 "guest resets: quit"
n=$(grep -c '"data": {"guest": true, "reason": "guest-reset"}, "event": "RESET"' "$TMP/gr.py")
[ "$n" -ge 3 ] && pass "guest resets: $n RESET events (guest: true) on one connection" || { fail "guest resets: $n RESET events"; cat "$TMP/gr.py"; }
finish
