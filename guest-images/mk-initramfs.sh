#!/usr/bin/env bash
# The initramfs for the nvdimm boot: busybox-static, initramfs-init.sh as
# /init, and the kernel modules this boot needs taken from the same kernel
# package (fetch-kernel.sh), with their dependencies resolved from its
# modules.dep and written in load order to /lib/modules/load-order.
# Reproducible: fixed mtimes, sorted newc cpio with renumbered inodes and
# root ownership, gzip without a timestamp.
#   mk-initramfs.sh KERNEL_DIR OUT.cpio.gz
set -euo pipefail
kdir=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
if [ ! -f "$kdir/version" ]; then
	echo "initramfs: no kernel in $kdir (fetch-kernel.sh could not fetch one): skipped"
	exit 0
fi
ver=$(cat "$kdir/version")
mods="$kdir/root/lib/modules/$ver"
wanted="nfit libnvdimm nd_pmem nd_btt nd_e820 dax virtio_mmio virtio_pci virtio_blk virtio_console"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t=$tmp/tree
mkdir -p "$t"/{bin,sbin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$t/bin/busybox"
for a in $("$t/bin/busybox" --list | LC_ALL=C sort); do
	[ "$a" = busybox ] && continue
	ln -sf busybox "$t/bin/$a"
done
install -m 0755 "$here/initramfs-init.sh" "$t/init"
# The kernel opens /dev/console of the initramfs for init's stdio before
# anything mounts devtmpfs: without the node the init's output is lost.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 600 "$t/dev/console" c 5 1
	mknod -m 666 "$t/dev/null" c 1 3
else
	echo "initramfs: not root: no /dev/console node (init output may be lost)"
fi

# Depth-first over modules.dep: every module after its dependencies.
declare -A seen=()
order=()
visit() {
	local path=$1 dep
	[ -n "${seen[$path]:-}" ] && return
	seen[$path]=1
	for dep in $(awk -v p="$path:" '$1 == p { $1 = ""; print }' "$mods/modules.dep"); do
		visit "$dep"
	done
	order+=("$path")
}
for m in $wanted; do
	alt=${m//_/-}
	path=$(awk -F: -v a="/$m.ko" -v b="/$alt.ko" \
		'{ n = $1; sub(/\.(xz|zst|gz)$/, "", n) }
		 substr(n, length(n) - length(a) + 1) == a ||
		 substr(n, length(n) - length(b) + 1) == b { print $1; exit }' "$mods/modules.dep")
	if [ -z "$path" ]; then
		if grep -qE "/($m|$alt)\.ko" "$mods/modules.builtin"; then
			echo "initramfs: $m is built into $ver"
			continue
		fi
		echo "initramfs: module $m not in $ver"; exit 1
	fi
	visit "$path"
done
for p in "${order[@]}"; do
	name=$(basename "$p")
	case "$name" in
	*.ko.xz) xz -dc "$mods/$p" >"$t/lib/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -qdc "$mods/$p" >"$t/lib/modules/${name%.zst}"; name=${name%.zst} ;;
	*) cp "$mods/$p" "$t/lib/modules/$name" ;;
	esac
	echo "$name" >>"$t/lib/modules/load-order"
done
echo "initramfs: modules: $(tr '\n' ' ' <"$t/lib/modules/load-order")"

find "$t" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$t" && find . | LC_ALL=C sort |
	cpio --quiet -o -H newc --reproducible -R 0:0) | gzip -n -9 >"$tmp/initramfs.cpio.gz"
mv "$tmp/initramfs.cpio.gz" "$out"
echo "initramfs: $out"
