#!/usr/bin/env bash
# Debian's kernel under our boot protocols.  Everywhere with /dev/kvm:
# PVH into the uncompressed vmlinux must print the banner, exactly our
# command line and an e820 map equal to the one vmm built (vmm logs it at
# info level); the bzImage (vmlinuz, 64-bit entry) the same with
# VMM_SLOW_TESTS=1, since under instruction emulation decompressing takes
# minutes.  With vmx/svm: the full boot of kernel + initramfs.  The boots
# as far as a host without vmx/svm goes, next to QEMU and replayed, are
# test_linux_boot_microvm.sh and test_linux_boot_q35.sh.
. "$(dirname "$0")/kvm_common.sh"

[ -e /dev/kvm ] || { echo "SKIP: /dev/kvm is absent"; exit 77; }
[ -x "$VMM" ] || { echo "FAIL: $VMM not built"; exit 1; }
LDIR=$BUILD/guest-images/linux
VMLINUX=$LDIR/vmlinux
VMLINUZ=$LDIR/vmlinuz
if [ ! -f "$VMLINUX" ]; then
	echo "SKIP: no guest kernel at $VMLINUX: run 'make linux-images' (apt-get download linux-image-cloud-amd64)"
	exit 77
fi

# The first line setup_arch() prints once the e820 map is out
# (x86_report_nx(): "NX (Execute Disable) protection: active", or
# "... missing in CPU!"): the map is complete when it is.
E820_DONE='NX \(Execute Disable\) protection'
E820_DONE_TEXT='NX (Execute Disable) protection'

# early_boot NAME KERNEL SECONDS VMM-ARGS...: boot until the kernel has
# printed its e820 map and then the E820_DONE line, whole, then stop the
# VM.  Only complete lines count: under load the serial console is read
# while a line is still being printed.
early_boot() {
	local name=$1 kernel=$2 secs=$3
	shift 3
	local cmdline="console=ttyS0 earlyprintk=serial vmm.test=$name"
	VMM_LOG_LEVEL=2 timeout "$secs" "$VMM" -kernel "$kernel" -append "$cmdline" \
		-serial stdio "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	local pid=$! i reached=0
	for ((i = 0; i < secs * 5; i++)); do
		if has_complete_line "$TMP/$name.out" "$E820_DONE"; then
			reached=1
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# The serial console ends lines with CR LF; a line cut by the stop
	# is no line.
	complete_lines "$TMP/$name.out" >"$TMP/$name.txt" && mv "$TMP/$name.txt" "$TMP/$name.out"
	if [ $reached = 1 ]; then
		pass "$name: reached '$E820_DONE_TEXT' after the e820 map"
	else
		fail "$name: the kernel stopped before '$E820_DONE_TEXT'"
		tail -n 20 "$TMP/$name.out" "$TMP/$name.err"
	fi
	expect_line "$TMP/$name.out" "Linux version [0-9]" "$name: kernel banner"
	expect_line "$TMP/$name.out" "Command line: $cmdline\$" "$name: exactly our command line"
	sed -n 's/.*BIOS-e820: \[mem \(0x[0-9a-f]*-0x[0-9a-f]*\)\] \(.*\)$/\1 \2/p' \
		"$TMP/$name.out" >"$TMP/$name.kernel-e820"
	sed -n 's/.*boot: e820: \[mem \(0x[0-9a-f]*-0x[0-9a-f]*\)\] \(.*\)$/\1 \2/p' \
		"$TMP/$name.err" >"$TMP/$name.vmm-e820"
	if [ -s "$TMP/$name.vmm-e820" ] && diff -u "$TMP/$name.vmm-e820" "$TMP/$name.kernel-e820"; then
		pass "$name: the kernel's e820 map equals ours ($(wc -l <"$TMP/$name.vmm-e820") entries)"
	else
		fail "$name: e820 maps differ (or none printed)"
		tail -n 20 "$TMP/$name.out" "$TMP/$name.err"
	fi
}

early_boot pvh "$VMLINUX" 240 -machine microvm,accel=kvm -m 512M
# q35, 4 GiB (RAM split around the hole), a legacy-pmem nvdimm (type 12).
printf 'PMEM' >"$TMP/pmem.img"
truncate -s 2M "$TMP/pmem.img"
early_boot pvh-q35 "$VMLINUX" 240 -machine q35,accel=kvm,nvdimm=on,pmem-legacy=on \
	-m 4G,slots=2,maxmem=8G \
	-object memory-backend-file,id=m0,mem-path="$TMP/pmem.img",size=2M,readonly=on \
	-device nvdimm,id=nv0,memdev=m0
grep -q 'persistent (type 12)' "$TMP/pvh-q35.kernel-e820" &&
	pass "pvh-q35: pmem-legacy nvdimm is e820 type 12" ||
	fail "pvh-q35: no type-12 entry"

if [ "${VMM_SLOW_TESTS:-0}" = 1 ] && [ -f "$VMLINUZ" ]; then
	early_boot bzimage "$VMLINUZ" 500 -machine microvm,accel=kvm -m 512M
else
	echo "SKIP: bzImage boot (minutes of decompression under emulation): set VMM_SLOW_TESTS=1 (make slow-test)"
fi

INITRAMFS=$BUILD/guest-images/initramfs.cpio.gz
if has_hw_virt && [ -f "$INITRAMFS" ]; then
	# Full boot: the initramfs's init announces itself and powers off.
	timeout -k 5 300 "$VMM" -machine microvm,accel=kvm -m 512M -kernel "$VMLINUX" \
		-initrd "$INITRAMFS" -append "console=ttyS0 panic=-1 reboot=k" \
		-serial stdio -no-reboot >"$TMP/full.out" 2>"$TMP/full.err"
	expect_rc $? 0 "full boot: guest powered off"
	expect_line "$TMP/full.out" "vmm-initramfs:" "full boot: userspace ran"
elif ! has_hw_virt; then
	echo "SKIP: full Linux boot needs vmx/svm in /proc/cpuinfo (this KVM emulates guest kernel code)"
else
	echo "SKIP: full Linux boot: no initramfs at $INITRAMFS (make linux-images)"
fi
finish
