#!/bin/sh
# /sbin/init of the nvdimm rootfs (guest-images/mk-rootfs.sh): report what
# the guest sees, in lines a test can match, then power off.
export PATH=/bin:/sbin
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "VMM-ROOTFS: init started"
root=$(awk '$2 == "/" { l = $0 } END { print l }' /proc/mounts)
echo "VMM-ROOTFS: root mount: $root"
case "$root" in
/dev/pmem0*) echo "VMM-ROOTFS: root on pmem: ok" ;;
*) echo "VMM-ROOTFS: root on pmem: FAIL" ;;
esac
case "$root" in
*dax*) echo "VMM-ROOTFS: dax: ok" ;;
*) echo "VMM-ROOTFS: dax: FAIL" ;;
esac
disk=
for d in /dev/vda /dev/vdb; do
	[ -b "$d" ] && { disk=$d; break; }
done
if [ -n "$disk" ]; then
	sig=$(dd if="$disk" bs=16 count=1 2>/dev/null | tr -cd 'A-Za-z0-9 _.-')
	echo "VMM-ROOTFS: $disk first bytes: $sig"
else
	echo "VMM-ROOTFS: no virtio-blk disk"
fi
cat /etc/vmm-rootfs-release
echo "VMM-ROOTFS-MARKER: booted from the nvdimm rootfs, powering off"
sync
poweroff -f
