#!/bin/sh
# /init of the initramfs (guest-images/mk-initramfs.sh): load the nvdimm
# and virtio modules, mount the pmem root read-only (with DAX when the
# kernel allows it) and switch_root to it, as Kata's guests boot.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "vmm-initramfs: loading modules"
while read -r m; do
	insmod "/lib/modules/$m" 2>/dev/null || echo "vmm-initramfs: insmod $m failed"
done </lib/modules/load-order

root=/dev/pmem0p1
flags=dax
fstype=ext4
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	root=*) root=${arg#root=} ;;
	rootflags=*) flags=${arg#rootflags=} ;;
	rootfstype=*) fstype=${arg#rootfstype=} ;;
	esac
done
# Up to 10 s for the namespace (and its partition) to appear; a whole-disk
# filesystem on /dev/pmem0 works too.
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -b "$root" ] && [ -b /dev/pmem0 ]; then
	echo "vmm-initramfs: $root not found, trying /dev/pmem0"
	root=/dev/pmem0
fi
mkdir -p /newroot
if mount -t "$fstype" -o "ro,$flags" "$root" /newroot; then
	echo "vmm-initramfs: mounted $root ($flags)"
else
	noflags=$(echo "$flags" | tr ',' '\n' | grep -v '^dax' | paste -sd, -)
	echo "vmm-initramfs: mount with '$flags' failed, retrying without dax"
	mount -t "$fstype" -o "ro${noflags:+,$noflags}" "$root" /newroot || {
		echo "vmm-initramfs: FAILED to mount $root"
		poweroff -f
	}
fi
mount --move /dev /newroot/dev
umount /sys /proc
exec switch_root /newroot /sbin/init
