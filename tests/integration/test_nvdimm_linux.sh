#!/usr/bin/env bash
# Debian's kernel reading our ACPI tables and booting from the nvdimm.
#  - Everywhere with /dev/kvm and the kernel built (make linux-images):
#    boot q35 with an nvdimm through PVH until the kernel has parsed the
#    MADT; it must list every table we built at the addresses we chose
#    (RSDP at 0xE0000 found by Linux itself), parse the IOAPIC and the
#    IRQ0 override, count our vCPUs, and print no ACPI error or warning.
#  - With vmx/svm: the Kata-style boot, kernel + initramfs + the nvdimm
#    rootfs (readonly=on, unarmed) + a virtio-blk disk: the rootfs init
#    must report its root on /dev/pmem0p1 with dax, read the disk, print
#    its marker and power off; the rootfs file must be unchanged.
. "$(dirname "$0")/kvm_common.sh"

[ -e /dev/kvm ] || { echo "SKIP: /dev/kvm is absent"; exit 77; }
[ -x "$VMM" ] || { echo "FAIL: $VMM not built"; exit 1; }
GI=$BUILD/guest-images
VMLINUX=$GI/linux/vmlinux
ROOTFS=$GI/rootfs.img
INITRAMFS=$GI/initramfs.cpio.gz
if [ ! -f "$VMLINUX" ]; then
	echo "SKIP: no guest kernel at $VMLINUX: run 'make linux-images'"
	exit 77
fi
[ -f "$ROOTFS" ] || { echo "FAIL: $ROOTFS not built (make guest-images)"; exit 1; }
cp "$ROOTFS" "$TMP/rootfs.img"
before=$(sha256sum <"$TMP/rootfs.img")

# --- the kernel parses our tables (stops once the MADT is in)
out=$TMP/acpi.out
timeout -k 5 120 "$VMM" -machine q35,accel=kvm,nvdimm=on -smp 2 \
	-m 512M,slots=2,maxmem=2G -kernel "$VMLINUX" \
	-append "console=ttyS0 earlyprintk=serial" \
	-object memory-backend-file,id=mem0,mem-path="$TMP/rootfs.img",size=64M,readonly=on \
	-device nvdimm,id=nv0,memdev=mem0,unarmed=on \
	-serial stdio -no-reboot >"$out" 2>"$TMP/acpi.err" &
pid=$!
for ((i = 0; i < 600; i++)); do
	grep -q 'smpboot: Allowing' "$out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
done
kill -TERM "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
tr -d '\r' <"$out" >"$out.txt" && mv "$out.txt" "$out"
expect_line "$out" 'ACPI: RSDP 0x00000000000E0000 000024 \(v02 VMMVMM\)' "Linux finds our RSDP at 0xE0000"
for t in XSDT FACP DSDT APIC MCFG NFIT; do
	expect_line "$out" "ACPI: $t 0x00000000000E[0-9A-F]{4} [0-9A-F]{6} \(v0[0-9] VMMVMM VMM $t" "Linux loads our $t"
done
expect_line "$out" 'ACPI: FACS 0x00000000000E[0-9A-F]{4} 000040' "Linux loads our FACS"
expect_line "$out" 'IOAPIC\[0\]: apic_id 0, version [0-9]+, address 0xfec00000, GSI 0-23' "IOAPIC from the MADT"
expect_line "$out" 'ACPI: INT_SRC_OVR \(bus 0 bus_irq 0 global_irq 2 dfl dfl\)' "IRQ0 -> GSI 2 override"
expect_line "$out" 'ACPI: INT_SRC_OVR \(bus 0 bus_irq 9 global_irq 9 high level\)' "SCI override: level, active high"
expect_line "$out" 'smpboot: Allowing 2 CPUs' "both vCPUs from the MADT"
expect_no_line "$out" 'ACPI (BIOS )?(Error|Warning)|ACPI Exception|\[Firmware Bug\].*ACPI|Invalid (length|checksum)' \
	"no ACPI complaints"

# --- the whole Kata-style boot, where the kernel can run at full speed
if ! has_hw_virt; then
	echo "SKIP: booting Linux from the nvdimm rootfs needs vmx/svm in /proc/cpuinfo (this KVM emulates guest kernel code)"
elif [ ! -f "$INITRAMFS" ]; then
	echo "SKIP: no initramfs at $INITRAMFS (make linux-images)"
else
	printf 'VMMDISKSIGNATURE' >"$TMP/disk.img"
	truncate -s 1M "$TMP/disk.img"
	timeout -k 5 300 "$VMM" -machine microvm,accel=kvm,nvdimm=on -smp 1 \
		-m 512M,slots=2,maxmem=2G -kernel "$VMLINUX" -initrd "$INITRAMFS" \
		-append "root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro ro rootfstype=ext4 console=ttyS0 panic=1" \
		-object memory-backend-file,id=mem0,mem-path="$TMP/rootfs.img",size=64M,readonly=on \
		-device nvdimm,id=nv0,memdev=mem0,unarmed=on \
		-drive id=d0,file="$TMP/disk.img",readonly=on \
		-device virtio-blk-device,drive=d0,id=blk0 \
		-serial stdio -no-reboot >"$TMP/boot.out" 2>"$TMP/boot.err"
	rc=$?
	tr -d '\r' <"$TMP/boot.out" >"$TMP/boot.txt"
	[ $rc -eq 0 ] && pass "guest powered off (exit 0)" || fail "vmm exit $rc"
	expect_line "$TMP/boot.txt" 'vmm-initramfs: mounted /dev/pmem0p1' "initramfs mounted the pmem partition"
	expect_line "$TMP/boot.txt" 'VMM-ROOTFS: root on pmem: ok' "root is the nvdimm"
	expect_line "$TMP/boot.txt" 'VMM-ROOTFS: dax: ok' "mounted with dax"
	expect_line "$TMP/boot.txt" 'VMM-ROOTFS: /dev/vda first bytes: VMMDISKSIGNATURE' "read the virtio-blk disk"
	expect_line "$TMP/boot.txt" 'VMM-ROOTFS-MARKER' "rootfs init reached its marker"
fi
after=$(sha256sum <"$TMP/rootfs.img")
[ "$before" = "$after" ] && pass "readonly rootfs file unchanged" || fail "the readonly rootfs file changed"
finish
