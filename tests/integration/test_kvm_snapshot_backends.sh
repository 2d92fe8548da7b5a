#!/usr/bin/env bash
# Devices whose state lives partly outside vmm, saved and restored under
# KVM (issue 18 item 1): vhost-user (issue 16) and virtio-vsock.
# vhost-user: the test guest (testguest.vhu-snap) is saved in the middle
# of a device session with the rings live at the backend, the VMM quits,
# and a new vmm restores it against a NEW backend instance on a NEW
# socket serving the same image or directory; the guest goes on on the
# same rings and finishes its checks.
#  1. vhost-user-blk over qemu-storage-daemon, RAM in a memfd (so in the
#     stream): saved running between the read of sector 0 and the write
#     of sector 1; restored running at once; the write reaches the image.
#  2. vhost-user-fs over virtiofsd, Kata's template way: shared
#     file-backed RAM left in its file (x-ignore-shared), stopped, saved
#     after FUSE LOOKUP/OPEN/READ/RELEASE; restored stopped, then cont;
#     the guest's new FUSE session (INIT on the same ring), CREATE, WRITE
#     and FSYNC reach the host directory.
#  3. A backend that does not answer at the save (SIGSTOP): the save
#     fails after the bounded wait with one line naming the device, and
#     the VM runs on.
#  4. virtio-vsock (testguest.action=vsocksnap): saved with a connection
#     to a host listener open; the restored guest gets TRANSPORT_RESET on
#     its event queue, data on the old connection gets RST, and a new
#     connection reaches the restoring vmm's listener.  Another guest-cid
#     on the restoring command line is refused naming the field.
TMP_NAME=vmm-kvm-snap-backends
. "$(dirname "$0")/kvm_common.sh"
kvm_require
QSD=$(command -v qemu-storage-daemon || true)
VIRTIOFSD=/usr/lib/qemu/virtiofsd
if [ -z "$QSD" ] || [ ! -x "$VIRTIOFSD" ]; then
	echo "SKIP: qemu-storage-daemon or $VIRTIOFSD not installed (ci/deps.sh installs qemu-system-x86)"
	exit 77
fi
QMPPY="$(dirname "$0")/snap_qmp.py"
. "$(dirname "$0")/snap_common.sh"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT

wait_for() {
	local end=$((SECONDS + 10))
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

start_qsd() {   # start_qsd IMG SOCK
	"$QSD" --blockdev driver=file,node-name=f,filename="$1" \
		--export type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path="$2",writable=on \
		>>"$TMP/qsd.log" 2>&1 &
	BE_PID=$!
	PIDS+=("$BE_PID")
	wait_for test -S "$2"
}

start_fsd() {   # start_fsd DIR SOCK
	"$VIRTIOFSD" --socket-path="$2" -o source="$1" -o cache=none >>"$TMP/virtiofsd.log" 2>&1 &
	BE_PID=$!
	PIDS+=("$BE_PID")
	wait_for test -S "$2"
}

stop_be() { kill "$BE_PID" 2>/dev/null; wait "$BE_PID" 2>/dev/null; }

BASE=(-machine q35,accel=kvm -m 128M -kernel "$GUEST"
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot)
VHU=(-append "testguest.vhu-snap testguest.blk-write")

# save NAME VMM-ARGS... -- QMP-STEPS...: boot, "snap ready", steps, quit.
save() {
	local name=$1 args=()
	shift
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	rm -f "$TMP/$name.sock"
	VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" "${BASE[@]}" "${args[@]}" -serial file:"$TMP/$name.out" \
		-qmp unix:"$TMP/$name.sock",server,nowait 2>"$TMP/$name.err" &
	local pid=$!
	timeout 90 python3 "$QMPPY" "$TMP/$name.sock" "$TMP/$name.out" "$@" >"$TMP/$name.qmp" 2>&1
	wait $pid
	save_rc=$?
}


# --- 1. vhost-user-blk, RAM in the stream, saved running ---
make_disk "$TMP/disk.img"
MEMFD=(-object memory-backend-memfd,id=mem,size=128M -numa node,memdev=mem)
start_qsd "$TMP/disk.img" "$TMP/blk-a.sock" || fail "qemu-storage-daemon did not come up"
save b1 "${VHU[@]}" "${MEMFD[@]}" -chardev socket,id=c0,path="$TMP/blk-a.sock" \
	-device vhost-user-blk-pci,chardev=c0,num-queues=1,addr=0x3 -- \
	ready "save-running file:$TMP/b1.state" quit
expect_rc "$save_rc" 0 "blk: the saving VMM quit cleanly"
expect_line "$TMP/b1.qmp" '"status": "completed"' "blk: saved with the ring live at qemu-storage-daemon"
expect_line "$TMP/b1.out" "snap ready" "blk: paused after reading sector 0"
expect_line "$TMP/b1.err" "vhost-user: ring 0 stopped for the save at base 1$" "blk: qemu-storage-daemon stopped the ring after the one read (GET_VRING_BASE)"
stop_be
if dd if="$TMP/disk.img" bs=512 skip=1 count=1 2>/dev/null | grep -qa "VMM-TESTGUEST-WROTE"; then
	fail "blk: sector 1 was written before the save"
fi
start_qsd "$TMP/disk.img" "$TMP/blk-b.sock" || fail "the second qemu-storage-daemon did not come up"
restore r1 "${VHU[@]}" "${MEMFD[@]}" -chardev socket,id=c0,path="$TMP/blk-b.sock" \
	-device vhost-user-blk-pci,chardev=c0,num-queues=1,addr=0x3 -incoming file:"$TMP/b1.state"
expect_rc "$rc" 33 "blk: the restored guest finished every check"
expect_line "$out" "sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "blk: the sector 0 read before the save is intact"
expect_line "$TMP/r1.err" "vhost-user: ring 0 started at base 1$" "blk: the new backend started the ring where the old one stopped"
expect_line "$out" "^testguest: virtio-blk wrote sector1" "blk: the write after the restore completed on the same ring"
if dd if="$TMP/disk.img" bs=512 skip=1 count=1 2>/dev/null | grep -qa "VMM-TESTGUEST-WROTE-SECTOR-1"; then
	pass "blk: the new qemu-storage-daemon wrote the guest's sector 1 to the image"
else
	fail "blk: sector 1 of the image does not hold the guest's write"
fi
stop_be

# --- 2. vhost-user-fs, Kata's template: x-ignore-shared, stopped, cont ---
mkdir -p "$TMP/share"
printf 'VMM-VIRTIOFS-HELLO-FROM-HOST\n' >"$TMP/share/hello.txt"
RAMF=(-object memory-backend-file,id=mem,size=128M,mem-path="$TMP/template.ram",share=on
      -numa node,memdev=mem)
start_fsd "$TMP/share" "$TMP/fs-a.sock" || fail "virtiofsd did not come up"
save f1 "${VHU[@]}" "${RAMF[@]}" -chardev socket,id=c1,path="$TMP/fs-a.sock" \
	-device vhost-user-fs-pci,chardev=c1,tag=kataShared,addr=0x4 -- \
	ready "caps x-ignore-shared" "save exec:cat >$TMP/f1.state" quit
expect_line "$TMP/f1.qmp" '"status": "completed"' "fs: template saved with the request queue live at virtiofsd"
expect_line "$TMP/f1.out" "virtio-fs read hello.txt 'VMM-VIRTIOFS-HELLO-FROM-HOST.*match" "fs: FUSE read before the save"
expect_line "$TMP/f1.err" "vhost-user: ring 1 stopped for the save at base 5$" "fs: virtiofsd stopped the request queue after INIT, LOOKUP, OPEN, READ, RELEASE"
size=$(stat -c %s "$TMP/f1.state" 2>/dev/null || echo 0)
if [ "$size" -gt 0 ] && [ "$size" -lt 524288 ]; then
	pass "fs: the stream leaves RAM in its file ($size bytes)"
else
	fail "fs: stream of $size bytes"
fi
stop_be
start_fsd "$TMP/share" "$TMP/fs-b.sock" || fail "the second virtiofsd did not come up"
CONT=1 restore r2 "${VHU[@]}" "${RAMF[@]}" -chardev socket,id=c1,path="$TMP/fs-b.sock" \
	-device vhost-user-fs-pci,chardev=c1,tag=kataShared,addr=0x4 -incoming "exec:cat $TMP/f1.state"
expect_line "$TMP/r2.qmp" '"status": "paused"' "fs: restored stopped, as saved"
expect_rc "$rc" 33 "fs: the restored guest finished every check"
expect_line "$out" "virtio-fs init again after restore" "fs: a new FUSE session on the restored ring"
expect_line "$TMP/r2.err" "vhost-user: ring 1 started at base 5$" "fs: the new virtiofsd started the request queue at the saved base"
expect_line "$out" "virtio-fs wrote fromguest.txt 30 bytes, fsync ok" "fs: CREATE/WRITE/FSYNC through the new virtiofsd"
if [ "$(cat "$TMP/share/fromguest.txt" 2>/dev/null)" = "VMM-VIRTIOFS-WRITTEN-BY-GUEST" ]; then
	pass "fs: the host reads the file the restored guest wrote"
else
	fail "fs: $TMP/share/fromguest.txt does not hold the guest's bytes"
fi
stop_be

# --- 3. a backend that does not answer at the save (stopped): the save
# fails after the connection's bounded wait, with one line naming the
# device and ring; the VM runs on (the device is DEVICE_NEEDS_RESET) ---
start_qsd "$TMP/disk.img" "$TMP/blk-c.sock" || fail "qemu-storage-daemon did not come up"
rm -f "$TMP/g1.sock"
timeout -k 5 60 "$VMM" "${BASE[@]}" "${VHU[@]}" "${MEMFD[@]}" -chardev socket,id=c0,path="$TMP/blk-c.sock" \
	-device vhost-user-blk-pci,chardev=c0,num-queues=1,addr=0x3 -serial file:"$TMP/g1.out" \
	-qmp unix:"$TMP/g1.sock",server,nowait 2>"$TMP/g1.err" &
pid=$!
wait_for grep -qs "snap ready" "$TMP/g1.out" || fail "stalled: the guest never got to its pause"
kill -STOP "$BE_PID"
timeout 60 python3 "$QMPPY" "$TMP/g1.sock" "$TMP/g1.out" "save-running file:$TMP/g1.state" \
	"cmd query-status" quit >"$TMP/g1.qmp" 2>&1
wait $pid
kill -CONT "$BE_PID"
stop_be
expect_line "$TMP/g1.qmp" '"error-desc": "saving the devices: virtio-pci vhost-user-blk-pci.*: vhost-user backend: ring 0: the backend did not say where it stopped' "stalled: the save failed naming the device and ring"
expect_line "$TMP/g1.qmp" '"status": "running"' "stalled: the VM runs on"
[ "$(grep -c "migration failed" "$TMP/g1.err")" -eq 1 ] && pass "stalled: one 'migration failed' line" || fail "stalled: not one 'migration failed' line"

# --- 4. virtio-vsock: saved with a connection open ---
# listen PATH: a host listener the guest's connections to port 5678 reach
# (<uds>_5678): answers a line with "ack", keeps the connection open.
listen() {
	python3 - "$1" <<'PY' &
import os, socket, sys, threading
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(4)
def serve(c):
    buf = b""
    while b"\n" not in buf:
        d = c.recv(64)
        if not d:
            return
        buf += d
    c.sendall(b"ack\n")
    while c.recv(64):
        pass
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	PIDS+=($!)
	wait_for test -S "$1"
}
VS=(-append "testguest.action=vsocksnap")
listen "$TMP/vs-a.sock_5678" || fail "vsock: host listener did not come up"
save v1 "${VS[@]}" -device virtio-vsock-pci,guest-cid=7,uds="$TMP/vs-a.sock" -- \
	ready "save-running file:$TMP/v1.state" quit
expect_line "$TMP/v1.qmp" '"status": "completed"' "vsock: saved with a connection open"
expect_line "$TMP/v1.out" "vsock port 4000 host replied 'ack'" "vsock: the guest's connection was up before the save"
listen "$TMP/vs-b.sock_5678" || fail "vsock: second host listener did not come up"
restore r4 "${VS[@]}" -device virtio-vsock-pci,guest-cid=7,uds="$TMP/vs-b.sock" -incoming file:"$TMP/v1.state"
expect_rc "$rc" 33 "vsock: the restored guest finished its checks"
expect_line "$out" "vsock event id 0 \(TRANSPORT_RESET\)" "vsock: the restored guest got VIRTIO_VSOCK_EVENT_TRANSPORT_RESET"
expect_line "$out" "vsock old connection reset" "vsock: data on the connection of before gets RST"
expect_line "$out" "vsock port 4001 host replied 'ack'" "vsock: a new connection reaches the restoring vmm's listener"
expect_line "$TMP/r4.err" "virtio-vsock: restored; 1 host connection dropped" "vsock: the dropped connection is logged"
restore r5 "${VS[@]}" -device virtio-vsock-pci,guest-cid=8,uds="$TMP/vs-c.sock" -incoming file:"$TMP/v1.state"
expect_rc "$rc" 1 "vsock: another guest-cid is refused"
expect_line "$TMP/r5.err" "virtio-vsock.guest_cid: saved with guest-cid=7, this device has guest-cid=8" "vsock: the refusal names the field"
finish
