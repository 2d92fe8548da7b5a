#!/usr/bin/env bash
# Acceptance of Kata's own QEMU command line (../shared/seeds/
# kata-qemu-command-line.txt), changing only paths and descriptors:
# kata_line.py opens the fds the line names (3 vhost-vsock, 4 vhost-net,
# 5 a tap queue), starts virtiofsd on the vhost-fs socket, and execs vmm
# with the line's -daemonize.  The kernel is the test guest, which finds
# every device on the line and replays its report on the virtconsole
# (console=hvc0).  A host facility this machine lacks (vhost-vsock,
# vhost-net) must be refused with one line naming it, and the variant
# without that device goes on.  QEMU 7.2 runs the same variants where
# installed: accept/reject must match (named differences: -cpu host needs
# -arch-capabilities on this host, and QEMU 7.2 dropped -realtime, so it
# gets -overcommit mem-lock=off instead).
TMP_NAME=vmm-kata-line
. "$(dirname "$0")/kvm_common.sh"
kvm_require
SEED=${SEED:-$ROOT/../shared/seeds/kata-qemu-command-line.txt}
[ -f "$SEED" ] || { echo "SKIP: $SEED not found (../shared beside the clone)"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to make the tap the line's fds=5 names"; exit 77; }

py() { timeout -k 5 400 python3 "$(dirname "$0")/kata_line.py" "$SEED" "$1" "$GUEST" "$2" "$3"; }

mkdir -p "$TMP/vmm" "$TMP/qemu"
py "$TMP/vmm" "$VMM" vmm >"$TMP/vmm.res" 2>"$TMP/vmm.py"
cat "$TMP/vmm.res"
grep '^SKIP:' "$TMP/vmm.res" | grep -q 'no tap device' && exit 77
for r in $(grep -o 'refused=[A-Za-z]* one-line-naming-it=[A-Za-z]*' "$TMP/vmm.res" | tr ' ' '_'); do
	[ "$r" = refused=True_one-line-naming-it=True ] && pass "missing host facility refused by name" ||
		fail "missing host facility: $r"
done
expect_line "$TMP/vmm.res" '^started=True' "vmm starts Kata's line"
expect_line "$TMP/vmm.res" '^status=running' "query-status running"
expect_line "$TMP/vmm.res" '^report=yes' "the guest's report came over the virtconsole"
expect_line "$TMP/vmm.res" '^exited=True pidfile-removed=True' "quit ends the daemon, pidfile removed"
R=$TMP/vmm/report.txt
if [ -f "$R" ]; then
	expect_line "$R" '^testguest: pci-bridge 00:02\.0 bus' "guest: the pci-bridge at addr=2"
	expect_line "$R" '^testguest: pci [0-9a-f:.]+ 1af4:1003$' "guest: virtio-serial (legacy)"
	expect_line "$R" '^testguest: pci [0-9a-f:.]+ 1af4:1004$' "guest: virtio-scsi (legacy)"
	expect_line "$R" '^testguest: pci [0-9a-f:.]+ 1af4:1005$' "guest: virtio-rng (transitional)"
	expect_line "$R" '^testguest: pci [0-9a-f:.]+ 1af4:1000$' "guest: virtio-net (legacy)"
	if grep -q 'vhost-user-fs-pci dropped' "$TMP/vmm.res"; then :; else
		expect_line "$R" '^testguest: pci [0-9a-f:.]+ 1af4:105a$' "guest: vhost-user-fs"
		expect_line "$R" "^testguest: virtio-fs read hello.txt 'VMM-VIRTIOFS-HELLO-FROM-HOST.*match" \
			"guest: reads the shared directory through virtiofsd"
	fi
	if grep -q 'SKIP: this host has no /dev/vhost-vsock' "$TMP/vmm.res"; then :; else
		expect_line "$R" '^testguest: pci [0-9a-f:.]+ 1af4:1012$' "guest: vsock"
	fi
	expect_line "$R" "^testguest: nvdimm 0x[0-9a-f]+ size 0x10000000 sig 'VMM-NVDIMM-SIG-0'" "guest: the nvdimm rootfs"
	expect_line "$R" '^testguest: done, 0 failed' "guest: every check passed"
fi

QEMU=$(command -v qemu-system-x86_64 || true)
if [ -z "$QEMU" ]; then
	echo "SKIP: qemu-system-x86_64 not installed: accept/reject not compared"
	finish
fi
py "$TMP/qemu" "$QEMU" qemu >"$TMP/qemu.res" 2>"$TMP/qemu.py"
# Accept/reject per variant, as QEMU decides it (not the wording).
verdicts() { grep -oE '^(variant-[a-z-]+ refused=[A-Za-z]+|started=[A-Za-z]+)' "$1"; }
if diff <(verdicts "$TMP/qemu.res") <(verdicts "$TMP/vmm.res") >"$TMP/verdicts.diff"; then
	pass "QEMU 7.2 accepts and refuses the same variants"
else
	fail "accept/reject differs from QEMU 7.2:"; cat "$TMP/verdicts.diff" "$TMP/qemu.res"
fi
finish
