#!/usr/bin/env bash
# Issue 18 under KVM: the test guest (testguest.action=snap) is saved in
# the middle of its checks, the VMM quits, and a new vmm restores it with
# -incoming and the guest finishes every check (exit 33: none failed).
#  1. migrate file: of the running guest (migrate stops it), then
#     -incoming file: (all RAM in the stream), which runs at once; the
#     MIGRATION events and query-migrate shapes on the way;
#  2. Kata's templating: stop, x-ignore-shared with shared file-backed
#     RAM, migrate exec:cat>FILE; the stream holds no RAM; -incoming
#     "exec:cat FILE" maps the same RAM file again, and the restored VM
#     is stopped (as QEMU's: the saved one was) until QMP cont;
#  3. -incoming defer + QMP migrate-incoming (inmigrate until then);
#  4. refusals: a QEMU stream (QEVM), another -smp, a command that fails
#     (migration failed, the VM runs on);
#  5. the disk on an I/O thread (two queues, testguest.snap-blk): saved
#     with reads in flight on queue 0 -- kicked, in the ioeventfd or on
#     the I/O thread -- and one read on queue 1 published with no
#     doorbell (what a stream looks like when the doorbell was still in
#     the eventfd at the save); the restored guest gets both back.
# The guest sends "snap ready", then waits for a byte on COM1; the
# restored vmm's stdin gives it, so no step waits a fixed time.
TMP_NAME=vmm-kvm-snapshot
. "$(dirname "$0")/kvm_common.sh"
kvm_require
QMPPY="$(dirname "$0")/snap_qmp.py"
. "$(dirname "$0")/snap_common.sh"
DISK=$TMP/disk.img
make_disk "$DISK"
BASE=(-machine microvm,accel=kvm -m 128M -kernel "$GUEST"
      -append "testguest.action=snap"
      -drive id=d0,file="$DISK",readonly=on -device virtio-blk-device,drive=d0
      -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot)

# save NAME QMP-STEPS... (extra vmm args in SAVE_ARGS): boot, wait for
# "snap ready", run the steps, quit.
save() {
	local name=$1
	shift
	rm -f "$TMP/$name.sock"
	timeout -k 5 60 "$VMM" "${BASE[@]}" "${SAVE_ARGS[@]}" -serial file:"$TMP/$name.out" \
		-qmp unix:"$TMP/$name.sock",server,nowait 2>"$TMP/$name.err" &
	local pid=$!
	timeout 90 python3 "$QMPPY" "$TMP/$name.sock" "$TMP/$name.out" "$@" >"$TMP/$name.qmp" 2>&1
	wait $pid
	save_rc=$?
}

guest_finished() {
	expect_rc "$rc" 33 "$1: the restored guest finished every check"
	expect_line "$out" 'snap memory ok' "$1: guest memory came back"
	expect_line "$out" 'snap pit irq0 after restore [0-9]+ ticks' "$1: timer interrupts flow after the restore"
	expect_line "$out" "virtio-blk mmio .*VMM-TESTGUEST-DISK" "$1: virtio-blk works after the restore"
	expect_no_line "$out" 'testguest: hello' "$1: the guest did not boot again"
}

# 1. file:, RAM in the stream.
SAVE_ARGS=()
save s1 ready "caps events" "save-running file:$TMP/s1.state" quit
expect_rc "$save_rc" 0 "file: save: the VMM quit cleanly"
expect_line "$TMP/s1.qmp" '"event": "STOP"' "file: save: stop"
expect_line "$TMP/s1.qmp" '"data": \{"status": "setup"\}, "event": "MIGRATION"' "file: save: MIGRATION setup"
expect_line "$TMP/s1.qmp" '"data": \{"pass": 1\}, "event": "MIGRATION_PASS"' "file: save: MIGRATION_PASS 1"
expect_line "$TMP/s1.qmp" '"data": \{"status": "completed"\}, "event": "MIGRATION"' "file: save: MIGRATION completed"
expect_line "$TMP/s1.qmp" '"ram": \{.*"total": 134217728.*"status": "completed", "total-time": [0-9]+' "file: save: query-migrate completed with RAM totals"
size=$(stat -c %s "$TMP/s1.state" 2>/dev/null || echo 0)
# The guest's 1 MiB of pattern cannot be compressed away.
if [ "$size" -ge 1048576 ]; then pass "file: the stream holds the RAM ($size bytes)"; else fail "file: stream of $size bytes"; fi
restore r1 -incoming file:"$TMP/s1.state"
guest_finished "file:"

# 2. Kata's template: shared file-backed RAM left in its file.
RAM=$TMP/template.ram
SAVE_ARGS=(-object memory-backend-file,id=m0,size=128M,mem-path="$RAM",share=on
	   -numa node,memdev=m0)
save s2 ready "caps x-ignore-shared" "save exec:cat >$TMP/s2.state" quit
expect_line "$TMP/s2.qmp" '"status": "completed"' "x-ignore-shared: exec: save completed"
size=$(stat -c %s "$TMP/s2.state" 2>/dev/null || echo 0)
if [ "$size" -gt 0 ] && [ "$size" -lt 524288 ]; then
	pass "x-ignore-shared: the stream leaves RAM in its file ($size bytes)"
else
	fail "x-ignore-shared: stream of $size bytes"
fi
CONT=1 restore r2 "${SAVE_ARGS[@]}" -incoming "exec:cat $TMP/s2.state"
expect_line "$TMP/r2.qmp" '"status": "paused"' "x-ignore-shared: restored stopped, as saved"
guest_finished "x-ignore-shared"

# 3. -incoming defer, then migrate-incoming.
rm -f "$TMP/r3.sock"
mkfifo "$TMP/r3.in"
VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" "${BASE[@]}" -serial stdio -incoming defer \
	-qmp unix:"$TMP/r3.sock",server,nowait <"$TMP/r3.in" >"$TMP/r3.out" 2>"$TMP/r3.err" &
pid=$!
exec 7>"$TMP/r3.in"
timeout 60 python3 "$QMPPY" "$TMP/r3.sock" "$TMP/r3.out" "cmd query-status" "caps events" \
	"cmd migrate-incoming {\"uri\": \"file:$TMP/s1.state\"}" "cmd migrate-incoming {\"uri\": \"file:$TMP/s1.state\"}" \
	>"$TMP/r3.qmp" 2>&1
for i in $(seq 600); do
	grep -q 'restored' "$TMP/r3.err" 2>/dev/null && break
	sleep 0.05
done
printf 'g' >&7
exec 7>&-
wait $pid
rc=$?
out=$TMP/r3.out
expect_line "$TMP/r3.qmp" '"status": "inmigrate"' "defer: query-status says inmigrate"
expect_line "$TMP/r3.qmp" 'The incoming migration has already been started' "defer: a second migrate-incoming is refused"
guest_finished "defer"

# 5. Requests in flight on a disk served by an I/O thread.
BASE_PLAIN=("${BASE[@]}")
BASE=(-machine microvm,accel=kvm -m 128M -kernel "$GUEST"
      -append "testguest.action=snap testguest.snap-blk"
      -object iothread,id=io0 -drive id=d0,file="$DISK",readonly=on
      -device virtio-blk-device,drive=d0,iothread=io0,num-queues=2
      -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot)
SAVE_ARGS=()
save s7 ready "save-running file:$TMP/s7.state" quit
expect_rc "$save_rc" 0 "iothread: save: the VMM quit cleanly"
expect_line "$TMP/s7.qmp" '"status": "completed"' "iothread: save completed (nothing about I/O threads refused)"
restore r7 -incoming file:"$TMP/s7.state"
guest_finished "iothread"
expect_line "$out" 'snap blk in-flight reads ok after [0-9]+ requests' "iothread: the reads in flight at the save completed"
expect_line "$out" 'snap blk unnotified request completed' "iothread: a request with no doorbell seen is kicked after the restore"
BASE=("${BASE_PLAIN[@]}")

# 4. Refusals.
printf 'QEVM\0\0\0\3' >"$TMP/qemu.state"
restore r4 -incoming file:"$TMP/qemu.state"
expect_rc "$rc" 1 "a QEMU stream: vmm exits 1"
expect_line "$TMP/r4.err" 'QEMU migration stream \(QEVM\)' "a QEMU stream: said so"
restore r5 -smp 2 -incoming file:"$TMP/s1.state"
expect_rc "$rc" 1 "another -smp: vmm exits 1"
expect_line "$TMP/r5.err" 'vm.ncpus' "another -smp: the field is named"
SAVE_ARGS=()
save s6 ready "save-running exec:exit 3" "cmd query-status" quit
expect_line "$TMP/s6.qmp" '"error-desc": "the command .exit 3. exited with status 3", "status": "failed"' "a failing command: migration failed, with why"
expect_line "$TMP/s6.qmp" '"event": "STOP"' "a failing command: migrate stopped the running VM"
expect_line "$TMP/s6.qmp" '"event": "RESUME"' "a failing command: the VM resumes"
expect_line "$TMP/s6.qmp" '"status": "running"' "a failing command: running again"
finish
