#!/usr/bin/env bash
# The guest images of guest-images/ (issue 7):
#  - rootfs.img: DOS label, partition 1 at 2 MiB, an ext4 that `e2fsck -n`
#    accepts, 4 KiB blocks (DAX), the fixed UUID, and debugfs shows the
#    expected files (init = rootfs-init.sh, busybox, its applet links);
#    rebuilding it gives the same bytes (reproducible);
#  - extract-vmlinux.sh finds and decompresses an ELF behind each
#    compression magic (synthetic images, so this needs no download);
#  - when `make linux-images` has run: the initramfs holds init, busybox,
#    /dev/console and every module of its load order with dependencies
#    before dependents, and vmlinux/vmlinuz are an ELF and a bzImage.
set -u
: "${BUILD:?}" "${ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
for tool in e2fsck debugfs sfdisk mkfs.ext4 cpio busybox; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
gi="$BUILD/guest-images"
img="$gi/rootfs.img"
[ -f "$img" ] || { echo "FAIL: $img not built (make guest-images)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# --- partition table
dump=$(sfdisk -d "$img" 2>&1)
grep -q '^label: dos' <<<"$dump" || bad "rootfs: not a DOS label: $dump"
grep -qE '1 : start= +4096, .*type=83' <<<"$dump" || bad "rootfs: partition 1 not at 2 MiB: $dump"
[ "$(grep -c ' : start=' <<<"$dump")" -eq 1 ] || bad "rootfs: expected one partition"

# --- the filesystem
dd if="$img" of="$tmp/p1.img" bs=1M skip=2 status=none
e2fsck -fn "$tmp/p1.img" >"$tmp/fsck.log" 2>&1 || { bad "e2fsck -n rejects the rootfs"; cat "$tmp/fsck.log"; }
sb=$(dumpe2fs -h "$tmp/p1.img" 2>/dev/null)
grep -qE '^Block size: +4096$' <<<"$sb" || bad "rootfs: block size is not 4096 (DAX)"
grep -qE '^Filesystem UUID: +564d4d00-7266-4000-8000-000000000001$' <<<"$sb" || bad "rootfs: UUID not the fixed one"
dbg() { debugfs -R "$1" "$tmp/p1.img" 2>/dev/null; }
dbg "cat /sbin/init" >"$tmp/init"
cmp -s "$tmp/init" "$ROOT/guest-images/rootfs-init.sh" || bad "rootfs: /sbin/init is not rootfs-init.sh"
dbg "stat /sbin/init" | grep -q 'Mode:  0755' || bad "rootfs: /sbin/init not executable"
dbg "cat /bin/busybox" >"$tmp/busybox"
cmp -s "$tmp/busybox" /bin/busybox || bad "rootfs: /bin/busybox differs from busybox-static"
for a in sh mount poweroff dd awk switch_root; do
	dbg "stat /bin/$a" | grep -q 'Fast link dest: "busybox"' || bad "rootfs: /bin/$a is not a link to busybox"
done
for d in dev proc sys tmp etc; do
	dbg "stat /$d" | grep -q 'Type: directory' || bad "rootfs: no /$d"
done
dbg "cat /etc/vmm-rootfs-release" | grep -q 'vmm nvdimm rootfs' || bad "rootfs: no release file"
grep -q 'VMM-ROOTFS-MARKER' "$tmp/init" || bad "rootfs: init prints no marker"
# Both init scripts run under busybox sh in the guest: they must parse.
for s in rootfs-init.sh initramfs-init.sh; do
	busybox sh -n "$ROOT/guest-images/$s" || bad "$s: busybox sh cannot parse it"
done

# --- reproducible: the same inputs give the same bytes
bash "$ROOT/guest-images/mk-rootfs.sh" "$tmp/again.img" >/dev/null
cmp -s "$img" "$tmp/again.img" || bad "rootfs: a rebuild differs (not reproducible)"

# --- extract-vmlinux on synthetic bzImages
printf '\177ELF\002\001\001' >"$tmp/elf"
head -c 70000 /bin/busybox >>"$tmp/elf"
for c in "gzip -9c" "xz -c" "zstd -qc" "lz4 -lc" "bzip2 -c"; do
	tool=${c%% *}
	command -v "$tool" >/dev/null || { echo "SKIP: extract-vmlinux $tool (not installed)"; continue; }
	{ head -c 4000 /dev/zero | tr '\0' k; $c <"$tmp/elf"; head -c 512 /dev/zero; } >"$tmp/bz"
	rm -f "$tmp/out"
	if bash "$ROOT/guest-images/extract-vmlinux.sh" "$tmp/bz" "$tmp/out" >/dev/null 2>&1 &&
	   cmp -s "$tmp/out" "$tmp/elf"; then :; else bad "extract-vmlinux: $tool image not extracted"; fi
done
head -c 9000 /bin/busybox | tail -c 8000 >"$tmp/junk"
bash "$ROOT/guest-images/extract-vmlinux.sh" "$tmp/junk" "$tmp/out2" >/dev/null 2>&1 &&
	bad "extract-vmlinux accepted a file with no kernel"

# --- kernel and initramfs, when built
if [ -f "$gi/linux/vmlinux" ] && [ -f "$gi/initramfs.cpio.gz" ]; then
	[ "$(head -c 4 "$gi/linux/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] ||
		bad "vmlinux is not an ELF"
	[ "$(dd if="$gi/linux/vmlinuz" bs=1 skip=514 count=4 status=none)" = HdrS ] ||
		bad "vmlinuz is not a bzImage (no HdrS)"
	mkdir "$tmp/ir"
	(cd "$tmp/ir" && zcat "$gi/initramfs.cpio.gz" | cpio -id --quiet 2>/dev/null)
	list=$(zcat "$gi/initramfs.cpio.gz" | cpio -tv --quiet 2>/dev/null)
	cmp -s "$tmp/ir/init" "$ROOT/guest-images/initramfs-init.sh" || bad "initramfs: /init is not initramfs-init.sh"
	cmp -s "$tmp/ir/bin/busybox" /bin/busybox || bad "initramfs: no busybox"
	grep -qE '^c.* 5, +1 .* dev/console$' <<<"$list" || bad "initramfs: no /dev/console"
	order=$(cat "$tmp/ir/lib/modules/load-order" 2>/dev/null)
	for m in nfit libnvdimm nd_pmem nd_btt virtio_mmio virtio_pci virtio_blk virtio_console; do
		grep -qx "$m.ko" <<<"$order" || bad "initramfs: $m missing from the load order"
	done
	while read -r m; do
		[ -f "$tmp/ir/lib/modules/$m" ] || bad "initramfs: $m listed but absent"
	done <<<"$order"
	pos() { grep -nx "$1.ko" <<<"$order" | cut -d: -f1; }
	[ "$(pos libnvdimm)" -lt "$(pos nfit)" ] && [ "$(pos libnvdimm)" -lt "$(pos nd_pmem)" ] &&
	[ "$(pos virtio)" -lt "$(pos virtio_mmio)" ] && [ "$(pos virtio_ring)" -lt "$(pos virtio_blk)" ] ||
		bad "initramfs: a module comes before its dependency"
	echo "kernel $(cat "$gi/linux/version"), initramfs with $(wc -l <<<"$order") modules: ok"
else
	echo "SKIP: kernel/initramfs not built (make linux-images downloads the kernel)"
fi
[ $fail -eq 0 ] && echo "rootfs: e2fsck, layout, files and reproducibility ok"
exit $fail
