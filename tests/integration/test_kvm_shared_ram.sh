#!/usr/bin/env bash
# -numa node,memdev=ID takes guest RAM from that memory backend (issue 16
# step 1): a shared memory-backend-file holds the guest's bytes, memfd and
# a /dev/shm directory work, and two nodes split -m between them.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

run_guest file -machine q35,accel=kvm -m 128M -kernel "$GUEST" \
	-object memory-backend-file,id=m0,size=128M,mem-path="$TMP/ram.img",share=on \
	-numa node,memdev=m0 -no-reboot
expect_rc $rc 33 "memory-backend-file share=on: guest passed its checks"
# The test guest's ELF was loaded into guest RAM: with RAM in the file,
# its strings are in the file.
if [ -f "$TMP/ram.img" ] && grep -qa "testguest: " "$TMP/ram.img"; then
	pass "guest RAM is the backend file (the loaded guest is in it)"
else
	fail "guest RAM is not in $TMP/ram.img"
fi

run_guest memfd -machine microvm,accel=kvm -m 128M -kernel "$GUEST" \
	-object memory-backend-memfd,id=m0,size=128M -numa node,memdev=m0 -no-reboot
expect_rc $rc 33 "memory-backend-memfd: guest passed its checks"

run_guest shm -machine microvm,accel=kvm -m 128M -kernel "$GUEST" \
	-object memory-backend-file,id=m0,size=64M,mem-path=/dev/shm,share=on \
	-object memory-backend-memfd,id=m1,size=64M \
	-numa node,memdev=m0 -numa node,memdev=m1 -no-reboot
expect_rc $rc 33 "two nodes (/dev/shm directory + memfd): guest passed its checks"
expect_line "$out" "^testguest: e820 [0-9]+ entries, ram 0x7f9fc00 bytes" "two nodes: all 128 MiB of RAM in the e820 map"

[ "$FAILS" -eq 0 ] || exit 1
