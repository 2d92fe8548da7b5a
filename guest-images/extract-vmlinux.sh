#!/usr/bin/env bash
# Extract the uncompressed vmlinux ELF from a bzImage, the way the kernel's
# scripts/extract-vmlinux does: find each compression format's magic in
# the image, decompress from there with the matching tool, and keep the
# first result that is an ELF file.
#   extract-vmlinux.sh VMLINUZ OUT
set -euo pipefail
img=$1 out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

is_elf() { [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; }

# Already an ELF (a vmlinux was given): copy it.
if is_elf "$img"; then cp "$img" "$out"; exit 0; fi

try() { # try MAGIC-HEX TOOL...
	local magic=$1; shift
	local offs
	offs=$(LC_ALL=C grep -aboP "$magic" "$img" | cut -d: -f1 | head -n 8) || true
	for off in $offs; do
		tail -c +$((off + 1)) "$img" | "$@" >"$tmp/vmlinux" 2>/dev/null || true
		if [ -s "$tmp/vmlinux" ] && is_elf "$tmp/vmlinux"; then
			mv "$tmp/vmlinux" "$out"
			echo "extract-vmlinux: $* at offset $off"
			exit 0
		fi
	done
}

try '\x1f\x8b\x08' gunzip -c
try '\xfd\x37\x7a\x58\x5a\x00' unxz -c
try 'BZh' bunzip2 -c
try '\x5d\x00\x00\x00' unlzma -c
try '\x89\x4c\x5a' lzop -dc
try '\x02\x21\x4c\x18' lz4 -dc
try '\x28\xb5\x2f\xfd' unzstd -c
echo "extract-vmlinux: no compressed ELF found in $img" >&2
exit 1
