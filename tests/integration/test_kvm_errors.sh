#!/usr/bin/env bash
# Bad kernel files and impossible machines: a clear one-line error and
# exit 1 before any vCPU runs (so no guest output at all).
. "$(dirname "$0")/kvm_common.sh"
kvm_require

bad() { # bad NAME REGEX ARGS...
	local name=$1 re=$2
	shift 2
	timeout -k 5 30 "$VMM" -machine microvm,accel=kvm -m 64M -serial stdio "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err"
	local rc=$?
	expect_rc $rc 1 "$name: refused"
	expect_line "$TMP/$name.err" "$re" "$name: message"
	if [ -s "$TMP/$name.out" ]; then fail "$name: the guest ran"; fi
}

bad missing "-kernel '$TMP/nope': No such file" -kernel "$TMP/nope"
: >"$TMP/empty"
bad empty "empty file" -kernel "$TMP/empty"
head -c 4096 /dev/urandom >"$TMP/random"
bad notakernel "not a Linux kernel" -kernel "$TMP/random"
head -c 100 "$GUEST" >"$TMP/trunc.elf"
bad truncated_elf "truncated" -kernel "$TMP/trunc.elf"
# ELF whose segment lies beyond the file end.
size=$(stat -c %s "$GUEST")
head -c $((size / 2)) "$GUEST" >"$TMP/half.elf"
bad half_elf "truncated" -kernel "$TMP/half.elf"

# A bzImage header with protocol 2.04 (no 64-bit entry).
python3 - "$TMP/old.bz" <<'PY'
import struct, sys
d = bytearray(8192)
d[0x1f1] = 1                                  # setup_sects
struct.pack_into('<I', d, 0x1f4, 0x100)       # syssize (paragraphs)
struct.pack_into('<H', d, 0x1fe, 0xaa55)
d[0x200] = 0xeb; d[0x201] = 0x66
d[0x202:0x206] = b'HdrS'
struct.pack_into('<H', d, 0x206, 0x0204)
open(sys.argv[1], 'wb').write(d)
PY
bad old_protocol "boot protocol 2.04" -kernel "$TMP/old.bz"

# initrd bigger than guest RAM.
truncate -s 100M "$TMP/huge.initrd"
bad initrd_too_big "initrd.*do not fit.*raise -m" -kernel "$GUEST" -initrd "$TMP/huge.initrd"

bad no_kernel "no -kernel given" -name nokernel
finish
