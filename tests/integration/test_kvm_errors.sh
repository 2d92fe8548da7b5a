#!/usr/bin/env bash
# Bad kernel files and impossible machines: a clear one-line error and
# exit 1 before any vCPU runs (so no guest output at all): a file that
# is no kernel, a boot protocol vmm does not know, a kernel or initrd
# that does not fit.
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
	local n
	n=$(wc -l <"$TMP/$name.err")
	if [ "$n" -eq 1 ]; then pass "$name: one line"; else fail "$name: $n lines on stderr"; cat "$TMP/$name.err"; fi
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

# A kernel that does not fit: Debian's vmlinux loads at 16 MiB, 24 MiB
# of it, into 16 MiB of RAM (only where make linux-images has run).
if [ -f "$BUILD/guest-images/linux/vmlinux" ]; then
	bad kernel_too_big "segment 0 at 0x1000000 .* outside guest RAM.*raise -m" \
		-kernel "$BUILD/guest-images/linux/vmlinux" -m 16M
fi
# Not a kernel of any boot protocol vmm knows: an ELF for another
# machine, an x86-64 ELF that is no executable.
python3 - "$TMP/arm.elf" "$TMP/rel.elf" <<'PY'
import struct, sys
def elf(machine, etype):
    h = bytearray(64)
    h[0:4] = b'\x7fELF'; h[4] = 2; h[5] = 1; h[6] = 1
    struct.pack_into('<HHI', h, 16, etype, machine, 1)
    struct.pack_into('<H', h, 52, 64)
    return bytes(h) + bytes(4096)
open(sys.argv[1], 'wb').write(elf(183, 2))    # EM_AARCH64, ET_EXEC
open(sys.argv[2], 'wb').write(elf(62, 1))     # EM_X86_64, ET_REL
PY
bad arm_elf "not an x86-64 executable ELF \(machine 183" -kernel "$TMP/arm.elf"
bad rel_elf "not an x86-64 executable ELF \(machine 62, type 1" -kernel "$TMP/rel.elf"

bad no_kernel "no -kernel given" -name nokernel
finish
