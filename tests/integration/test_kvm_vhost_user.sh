#!/usr/bin/env bash
# vhost-user end to end under KVM (issue 16): qemu-storage-daemon's
# vhost-user-blk export and virtiofsd serve the test guest; the guest's
# writes reach the host; a backend killed under a running guest leaves
# vmm alive and the guest sees DEVICE_NEEDS_RESET; guest RAM that is not
# shareable is refused before the VM starts.
. "$(dirname "$0")/kvm_common.sh"
kvm_require
QSD=$(command -v qemu-storage-daemon || true)
VIRTIOFSD=/usr/lib/qemu/virtiofsd
if [ -z "$QSD" ] || [ ! -x "$VIRTIOFSD" ]; then
	echo "SKIP: qemu-storage-daemon or $VIRTIOFSD not installed (ci/deps.sh installs qemu-system-x86)"
	exit 77
fi
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT

# wait_for COND-CMD...: poll up to 10 s for a condition (no fixed sleeps).
wait_for() {
	local end=$((SECONDS + 10))
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

start_qsd() {   # start_qsd IMG SOCK [on|off]
	"$QSD" --blockdev driver=file,node-name=f,filename="$1" \
		--export type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path="$2",writable="${3:-on}" \
		>"$TMP/qsd.log" 2>&1 &
	QSD_PID=$!
	PIDS+=("$QSD_PID")
	wait_for test -S "$2"
}

SHARED=(-object memory-backend-memfd,id=mem,size=128M -numa node,memdev=mem)

# --- not shareable: refused before the VM starts, one line ---
"$VMM" -machine q35,accel=kvm -m 128M -kernel "$GUEST" \
	-chardev socket,id=c0,path="$TMP/none.sock" -device vhost-user-blk-pci,chardev=c0 \
	>"$TMP/refused.out" 2>&1
rc=$?
expect_rc $rc 2 "anonymous guest RAM: vhost-user-blk refused"
expect_line "$TMP/refused.out" "guest RAM is not shareable.*-object memory-backend-memfd.*-numa node,memdev=" "refusal names the -object/-numa options"
[ "$(wc -l <"$TMP/refused.out")" -eq 1 ] && pass "refusal is one line" || fail "refusal is not one line"

# --- vhost-user-blk: read sector 0, write sector 1 ---
make_disk "$TMP/disk.img"
start_qsd "$TMP/disk.img" "$TMP/blk.sock" || fail "qemu-storage-daemon did not come up"
run_guest blk -machine q35,accel=kvm -m 128M -kernel "$GUEST" "${SHARED[@]}" \
	-append "testguest.blk-write" \
	-chardev socket,id=c0,path="$TMP/blk.sock" -device vhost-user-blk-pci,chardev=c0,num-queues=1 \
	-no-reboot
expect_rc $rc 33 "vhost-user-blk: guest passed its checks"
expect_line "$out" "^testguest: virtio-blk pci 00:0[0-9a-f].0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "vhost-user-blk: sector 0 read through qemu-storage-daemon"
expect_line "$out" "^testguest: virtio-blk wrote sector1" "vhost-user-blk: sector 1 written"
if dd if="$TMP/disk.img" bs=512 skip=1 count=1 2>/dev/null | grep -qa "VMM-TESTGUEST-WROTE-SECTOR-1"; then
	pass "vhost-user-blk: the host sees the guest's write"
else
	fail "vhost-user-blk: sector 1 of the image does not hold the guest's write"
fi
kill "$QSD_PID" 2>/dev/null; wait "$QSD_PID" 2>/dev/null

# --- a read-only export stays read-only: the guest's write fails ---
make_disk "$TMP/ro.img"
start_qsd "$TMP/ro.img" "$TMP/ro.sock" off || fail "qemu-storage-daemon did not come up"
run_guest ro -machine q35,accel=kvm -m 128M -kernel "$GUEST" "${SHARED[@]}" \
	-append "testguest.blk-write" \
	-chardev socket,id=c0,path="$TMP/ro.sock" -device vhost-user-blk-pci,chardev=c0 \
	-no-reboot
expect_line "$out" "^testguest: virtio-blk pci 00:0[0-9a-f].0 sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "read-only export: sector 0 read"
expect_line "$out" "^testguest: virtio-blk write FAIL" "read-only export: the guest's write is refused"
if dd if="$TMP/ro.img" bs=512 skip=1 count=1 2>/dev/null | grep -qa "VMM-TESTGUEST-WROTE"; then
	fail "read-only export: the image was written"
else
	pass "read-only export: the image is unchanged"
fi
kill "$QSD_PID" 2>/dev/null; wait "$QSD_PID" 2>/dev/null

# --- vhost-user-blk-device: the same over virtio-mmio (microvm) ---
start_qsd "$TMP/disk.img" "$TMP/blk1.sock" || fail "qemu-storage-daemon did not come up"
run_guest mmio -machine microvm,accel=kvm -m 128M -kernel "$GUEST" "${SHARED[@]}" \
	-chardev socket,id=c0,path="$TMP/blk1.sock" -device vhost-user-blk-device,chardev=c0 \
	-no-reboot
expect_rc $rc 33 "vhost-user-blk-device: guest passed its checks"
expect_line "$out" "^testguest: virtio-blk mmio 0x[0-9a-f]+ sector0 'VMM-TESTGUEST-DISK-SECTOR-0'" "vhost-user-blk-device: sector 0 over virtio-mmio"
kill "$QSD_PID" 2>/dev/null; wait "$QSD_PID" 2>/dev/null

# --- the backend killed under a running guest ---
start_qsd "$TMP/disk.img" "$TMP/blk2.sock" || fail "qemu-storage-daemon did not come up"
out=$TMP/kill.out
timeout -k 5 60 "$VMM" -machine q35,accel=kvm -m 128M -kernel "$GUEST" "${SHARED[@]}" \
	-append "testguest.blk-wait-reset" \
	-chardev socket,id=c0,path="$TMP/blk2.sock" -device vhost-user-blk-pci,chardev=c0 \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial stdio -no-reboot \
	>"$out" 2>"$TMP/kill.err" &
VMM_PID=$!
wait_for grep -q "waiting for needs-reset" "$out" || fail "guest never got to its wait"
{ kill -9 "$QSD_PID"; wait "$QSD_PID"; } 2>/dev/null
wait "$VMM_PID"
rc=$?
expect_rc $rc 33 "backend killed: vmm stayed up and the guest finished"
expect_line "$out" "^testguest: virtio-blk needs-reset seen" "backend killed: the guest saw DEVICE_NEEDS_RESET"
expect_line "$TMP/kill.err" "backend broken" "backend killed: one log line"
[ "$(grep -c "backend broken" "$TMP/kill.err")" -eq 1 ] && pass "backend killed: logged once" || fail "backend killed: logged more than once"

# --- virtio-fs through virtiofsd ---
mkdir -p "$TMP/share"
printf 'VMM-VIRTIOFS-HELLO-FROM-HOST\n' >"$TMP/share/hello.txt"
"$VIRTIOFSD" --socket-path="$TMP/fs.sock" -o source="$TMP/share" -o cache=none \
	>"$TMP/virtiofsd.log" 2>&1 &
PIDS+=($!)
wait_for test -S "$TMP/fs.sock" || fail "virtiofsd did not come up"
run_guest fs -machine q35,accel=kvm -m 128M -kernel "$GUEST" \
	-object memory-backend-file,id=mem,size=128M,mem-path=/dev/shm,share=on -numa node,memdev=mem \
	-chardev socket,id=c1,path="$TMP/fs.sock" \
	-device vhost-user-fs-pci,chardev=c1,tag=kataShared,num-request-queues=1,queue-size=128 \
	-no-reboot
expect_rc $rc 33 "virtio-fs: guest passed its checks"
expect_line "$out" "^testguest: virtio-fs read hello.txt 'VMM-VIRTIOFS-HELLO-FROM-HOST.*match" "virtio-fs: FUSE INIT/LOOKUP/OPEN/READ/RELEASE of the host's file"
expect_line "$out" "^testguest: virtio-fs wrote fromguest.txt 30 bytes, fsync ok" "virtio-fs: CREATE/WRITE/FSYNC/RELEASE"
if [ "$(cat "$TMP/share/fromguest.txt" 2>/dev/null)" = "VMM-VIRTIOFS-WRITTEN-BY-GUEST" ]; then
	pass "virtio-fs: the host reads the guest's file"
else
	fail "virtio-fs: $TMP/share/fromguest.txt does not hold the guest's bytes"
fi

# --- tag= over 36 bytes: a command-line error ---
"$VMM" -machine q35,accel=kvm -m 128M -kernel "$GUEST" "${SHARED[@]}" \
	-chardev socket,id=c1,path="$TMP/fs.sock" \
	-device vhost-user-fs-pci,chardev=c1,tag=0123456789012345678901234567890123456 \
	>"$TMP/tag.out" 2>&1
expect_rc $? 2 "virtio-fs: a 37-byte tag is refused"

[ "$FAILS" -eq 0 ] || exit 1
