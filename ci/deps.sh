#!/usr/bin/env bash
# Install the Debian 12 packages vmm needs, only when one is missing, so on a
# machine that has them this is a fast no-op.  `make test`/`make run` call it.
set -euo pipefail
pkgs=(
	build-essential libcmocka-dev libfdt-dev libseccomp-dev
	clang libclang-rt-14-dev lcov device-tree-compiler acpica-tools
	busybox-static e2fsprogs fdisk iproute2 python3 cpio
	kmod lz4 xz-utils zstd
	# Test dependency only (the oracle, and the real vhost-user backends
	# /usr/lib/qemu/virtiofsd and qemu-storage-daemon); never built against.
	qemu-system-x86
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "ci/deps.sh: installing ${missing[*]}"
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
