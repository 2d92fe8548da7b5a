#!/usr/bin/env bash
# What `make run` boots, picked by what this host can do, always saying
# which and why:
#   1. /dev/kvm with vmx/svm: Debian's kernel with the nvdimm rootfs, the
#      way Kata Containers boots its guests (README.md), with Kata's kernel
#      command line; the Linux images are built first when missing;
#   2. /dev/kvm without vmx/svm (nested, instruction-emulated): the test
#      guest under KVM, with a virtio-blk disk and the same kind of
#      read-only nvdimm (a Linux boot would stop after its early log);
#   3. no /dev/kvm: the same devices checked by the simulator self-test.
#   ci/run-default-vm.sh BUILD
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
B=$root/$build
VMM=$B/vmm
GI=$B/guest-images
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

[ -x "$VMM" ] || { echo "run: $VMM is not built (make all)"; exit 1; }

# Kata Containers' guest kernel parameters for an nvdimm rootfs.
KATA_APPEND="root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro ro rootfstype=ext4 console=ttyS0 panic=1"

# A small disk and an nvdimm image with recognisable first bytes.
printf 'VMM-TESTGUEST-DISK-SECTOR-0' >"$tmp/disk.img"
truncate -s 1M "$tmp/disk.img"
printf 'VMM-NVDIMM-SIG-0' >"$tmp/pmem.img"
truncate -s 2M "$tmp/pmem.img"

# The devices the test guest and the simulator self-test both check.
testdevs=(
	-drive id=d0,file="$tmp/disk.img",readonly=on
	-device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3
	-drive id=d1,file="$tmp/disk.img",readonly=on
	-device virtio-blk-device,drive=d1
	-object memory-backend-file,id=mem0,mem-path="$tmp/pmem.img",size=2M,readonly=on
	-device nvdimm,id=nv0,memdev=mem0,unarmed=on
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
)

kvm_ok=0
[ -r /dev/kvm ] && [ -w /dev/kvm ] && kvm_ok=1
hw_virt=0
grep -qwE 'vmx|svm' /proc/cpuinfo && hw_virt=1

# The Linux VM: the rootfs image read-only and unarmed as Kata maps it
# (many VMs may share it), a virtio-blk disk the rootfs init reads, an
# entropy source.  rootfs.img's size is a multiple of 2 MiB (mk-rootfs.sh).
linux_cmd() {
	local size
	size=$(stat -c %s "$GI/rootfs.img" 2>/dev/null || echo 64M)
	LINUX=("$VMM" -name default-vm -machine q35,accel=kvm,nvdimm=on -cpu host
		-smp 1,maxcpus=8 -m 512M,slots=2,maxmem=4G
		-kernel "$GI/linux/vmlinux" -initrd "$GI/initramfs.cpio.gz"
		-append "$KATA_APPEND"
		-object memory-backend-file,id=mem0,mem-path="$GI/rootfs.img",size="$size",readonly=on
		-device nvdimm,id=nv0,memdev=mem0,unarmed=on
		-drive id=d0,file="$tmp/disk.img",readonly=on
		-device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3
		-object rng-random,id=rng0,filename=/dev/urandom
		-device virtio-rng-device,rng=rng0
		-serial stdio -no-reboot)
}

if [ $kvm_ok = 1 ] && [ $hw_virt = 1 ]; then
	echo "run: /dev/kvm with hardware virtualization: booting Debian's kernel with the nvdimm rootfs"
	if [ ! -f "$GI/linux/vmlinux" ] || [ ! -f "$GI/initramfs.cpio.gz" ] ||
	   [ ! -f "$GI/rootfs.img" ]; then
		echo "run: building the Linux images first (make linux-images: apt-get download of the kernel)"
		make -C "$root" --no-print-directory BUILD="$build" linux-images ||
			echo "run: make linux-images failed"
	fi
	if [ -f "$GI/linux/vmlinux" ] && [ -f "$GI/rootfs.img" ] && [ -f "$GI/initramfs.cpio.gz" ]; then
		linux_cmd
		echo "run: kernel command line: $KATA_APPEND"
		"${LINUX[@]}" | tee "$tmp/linux.out"
		rc=${PIPESTATUS[0]}
		# The rootfs init prints its marker and powers off (ACPI S5:
		# exit 0); panic=1 + -no-reboot also exits 0, so look for it.
		if [ "$rc" = 0 ] && grep -q 'VMM-ROOTFS-MARKER' "$tmp/linux.out"; then
			echo "run: Linux booted from the nvdimm rootfs and powered off"
			exit 0
		fi
		echo "run: the Linux VM did not reach the rootfs marker (vmm exit $rc)"
		exit 1
	fi
	echo "run: the Linux images are unavailable (see above); falling back to the test guest"
fi

if [ $kvm_ok = 1 ]; then
	if [ $hw_virt = 0 ]; then
		echo "run: /dev/kvm is here but /proc/cpuinfo shows no vmx/svm: KVM is nested and emulates guest kernel code, so a Linux boot would not finish"
		linux_cmd
		echo "run: with vmx/svm this would boot Debian's kernel from the nvdimm rootfs (after make linux-images):"
		show=""
		for a in "${LINUX[@]}"; do
			case $a in *" "*) show+=" \"$a\"" ;; *) show+=" $a" ;; esac
		done
		echo "run:  $show"
		echo "run: booting the freestanding test guest under KVM instead (same machine type, virtio-blk, read-only nvdimm)"
	fi
	[ -f "$GI/testguest.elf" ] || { echo "run: $GI/testguest.elf is not built (make guest-images)"; exit 1; }
	"$VMM" -name default-vm -machine q35,accel=kvm,nvdimm=on -cpu host -smp 1 \
		-m 256M,slots=2,maxmem=1G -kernel "$GI/testguest.elf" \
		-append "console=ttyS0 make-run" \
		"${testdevs[@]}" \
		-serial stdio -no-reboot
	rc=$?
	# The test guest reports through debug-exit: 0x10 -> 33 all passed.
	case $rc in
	33) echo "run: test guest: every check passed"; exit 0 ;;
	35) echo "run: test guest: a check failed (see above)"; exit 1 ;;
	*) echo "run: vmm exited with status $rc"; exit 1 ;;
	esac
fi

echo "run: no usable /dev/kvm on this host: running the device self-test in the simulator (accel=sim)"
"$VMM" -name default-vm -machine q35,accel=sim,nvdimm=on -m 256M,slots=2,maxmem=1G \
	"${testdevs[@]}"
