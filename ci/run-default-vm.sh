#!/usr/bin/env bash
# What `make run` boots, picked by what this host can do, always saying
# which and why:
#   1. /dev/kvm with vmx/svm: Debian's kernel with the nvdimm rootfs, the
#      way Kata Containers boots its guests (DESIGN.md's command line);
#   2. /dev/kvm without vmx/svm (nested, instruction-emulated): the test
#      guest under KVM, with a virtio-blk disk and an nvdimm;
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

# A small disk and an nvdimm image with recognisable first bytes.
printf 'VMM-TESTGUEST-DISK-SECTOR-0' >"$tmp/disk.img"
truncate -s 1M "$tmp/disk.img"
printf 'VMM-NVDIMM-SIG-0' >"$tmp/pmem.img"
truncate -s 2M "$tmp/pmem.img"

kvm_ok=0
[ -r /dev/kvm ] && [ -w /dev/kvm ] && kvm_ok=1
hw_virt=0
grep -qwE 'vmx|svm' /proc/cpuinfo && hw_virt=1

if [ $kvm_ok = 1 ] && [ $hw_virt = 1 ]; then
	echo "run: /dev/kvm with hardware virtualization: booting Debian's kernel with the nvdimm rootfs"
	if [ ! -f "$GI/linux/vmlinux" ] || [ ! -f "$GI/initramfs.cpio.gz" ]; then
		echo "run: fetching and building the Linux images (make linux-images)"
		make -C "$root" --no-print-directory BUILD="$build" linux-images || exit 1
	fi
	if [ -f "$GI/linux/vmlinux" ] && [ -f "$GI/rootfs.img" ] && [ -f "$GI/initramfs.cpio.gz" ]; then
		size=$(stat -c %s "$GI/rootfs.img")
		exec "$VMM" -name default-vm -machine q35,accel=kvm,nvdimm=on -cpu host \
			-smp 1,maxcpus=8 -m 512M,slots=2,maxmem=4G \
			-kernel "$GI/linux/vmlinux" -initrd "$GI/initramfs.cpio.gz" \
			-append "root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro ro rootfstype=ext4 console=ttyS0 panic=1 reboot=k" \
			-object memory-backend-file,id=mem0,mem-path="$GI/rootfs.img",size="$size",readonly=on \
			-device nvdimm,id=nv0,memdev=mem0,unarmed=on \
			-drive id=d0,file="$tmp/disk.img",readonly=on \
			-device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3 \
			-object rng-random,id=rng0,filename=/dev/urandom \
			-device virtio-rng-device,rng=rng0 \
			-serial stdio -no-reboot
	fi
	echo "run: the Linux images are unavailable (apt-get download failed?); falling back to the test guest"
fi

if [ $kvm_ok = 1 ]; then
	if [ $hw_virt = 0 ]; then
		echo "run: /dev/kvm is here but /proc/cpuinfo shows no vmx/svm: KVM is nested and emulates guest kernel code, so a Linux boot would not finish; booting the test guest under KVM instead"
	fi
	[ -f "$GI/testguest.elf" ] || { echo "run: $GI/testguest.elf is not built (make guest-images)"; exit 1; }
	"$VMM" -name default-vm -machine q35,accel=kvm,nvdimm=on -cpu host -smp 1 \
		-m 256M,slots=2,maxmem=1G -kernel "$GI/testguest.elf" \
		-append "console=ttyS0 make-run" \
		-drive id=d0,file="$tmp/disk.img",readonly=on \
		-device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3 \
		-drive id=d1,file="$tmp/disk.img",readonly=on \
		-device virtio-blk-device,drive=d1 \
		-object memory-backend-file,id=mem0,mem-path="$tmp/pmem.img",size=2M,readonly=on \
		-device nvdimm,id=nv0,memdev=mem0,unarmed=on \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
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
	-drive id=d0,file="$tmp/disk.img",readonly=on \
	-device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3 \
	-drive id=d1,file="$tmp/disk.img",readonly=on \
	-device virtio-blk-device,drive=d1 \
	-object memory-backend-file,id=mem0,mem-path="$tmp/pmem.img",size=2M,readonly=on \
	-device nvdimm,id=nv0,memdev=mem0,unarmed=on \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
