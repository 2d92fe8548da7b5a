#!/usr/bin/env bash
# The nvdimm rootfs: a raw disk image with a DOS partition table whose
# partition 1 starts at 2 MiB (DAX maps pmem in 2 MiB pages), holding an
# ext4 filesystem (4 KiB blocks, as DAX requires) made by `mkfs.ext4 -d`
# from a busybox-static tree whose /sbin/init is rootfs-init.sh.
# Reproducible: fixed mtimes (SOURCE_DATE_EPOCH), UUID, hash seed, disk id
# and mke2fs clock, so the same inputs give the same bytes.
#   mk-rootfs.sh OUT.img [SIZE_MIB]
set -euo pipefail
out=$1
size_mib=${2:-64}
here=$(cd "$(dirname "$0")" && pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
uuid=564d4d00-7266-4000-8000-000000000001   # "VMM\0" "rf"
seed=564d4d00-6861-4000-8000-000000000002
busybox=$(command -v busybox)
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	[ -x /bin/busybox ] || { echo "mk-rootfs: busybox-static is needed"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t=$tmp/tree
mkdir -p "$t"/{bin,sbin,dev,proc,sys,tmp,etc,root,mnt,var}
cp /bin/busybox "$t/bin/busybox"
for a in $("$t/bin/busybox" --list | LC_ALL=C sort); do
	[ "$a" = busybox ] && continue
	ln -sf busybox "$t/bin/$a"
done
install -m 0755 "$here/rootfs-init.sh" "$t/sbin/init"
printf 'vmm nvdimm rootfs (busybox %s)\n' \
	"$("$t/bin/busybox" | head -n 1 | awk '{print $2}')" >"$t/etc/vmm-rootfs-release"
echo 'root:x:0:0:root:/root:/bin/sh' >"$t/etc/passwd"
echo 'root:x:0:' >"$t/etc/group"
chmod 1777 "$t/tmp"
find "$t" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

part_mib=$((size_mib - 2))
mkfs.ext4 -q -F -b 4096 -I 256 -L vmm-rootfs -U "$uuid" \
	-E "hash_seed=$seed,root_owner=0:0" -d "$t" "$tmp/part.img" "${part_mib}M" >/dev/null
# mke2fs 1.47.0 copies each file's ctime (which touch cannot set) into the
# inode: pin ctime, and the nanosecond halves of every time, to the epoch.
(cd "$t" && find . -mindepth 1 | LC_ALL=C sort) | while read -r p; do
	p=${p#.}
	for f in ctime ctime_extra mtime_extra atime_extra crtime crtime_extra; do
		case $f in *_extra) v=0 ;; *) v=@$SOURCE_DATE_EPOCH ;; esac
		echo "sif \"$p\" $f $v"
	done
done >"$tmp/fix.cmds"
for f in ctime ctime_extra mtime_extra atime_extra crtime crtime_extra; do
	case $f in *_extra) v=0 ;; *) v=@$SOURCE_DATE_EPOCH ;; esac
	echo "sif / $f $v"
done >>"$tmp/fix.cmds"
debugfs -w -f "$tmp/fix.cmds" "$tmp/part.img" >"$tmp/fix.log" 2>&1
if grep -qiE 'error|invalid|not found|bad ' "$tmp/fix.log"; then
	echo "mk-rootfs: debugfs could not pin the times:"; grep -iE 'error|invalid|not found|bad ' "$tmp/fix.log" | head; exit 1
fi

truncate -s "${size_mib}M" "$tmp/disk.img"
# label-id fixes the MBR disk signature; start=4096 sectors = 2 MiB.
printf 'label: dos\nlabel-id: 0x564d4d01\nunit: sectors\n\nstart=4096, type=83\n' |
	sfdisk -q "$tmp/disk.img"
dd if="$tmp/part.img" of="$tmp/disk.img" bs=1M seek=2 conv=notrunc,sparse status=none
mv "$tmp/disk.img" "$out"
echo "rootfs: $out (${size_mib} MiB, ext4 at 2 MiB)"
