#!/usr/bin/env bash
# Bad kernel files and impossible machines: a clear one-line error, printed
# once, and exit 1 before any vCPU runs (so no guest output at all): a file
# that is no kernel, a boot protocol vmm does not know, a kernel or initrd
# that does not fit.  Then a termination signal while a wait=on socket
# waits for its client: the same quiet exit 0 as SIGTERM to a running VM,
# no error lines.
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
	local n; n=$(wc -l <"$TMP/$name.err")
	if [ "$n" -eq 1 ]; then pass "$name: one line"; else fail "$name: $n lines on stderr, want 1: $(cat "$TMP/$name.err")"; fi
	grep -q "vmm: .*vmm: " "$TMP/$name.err" && fail "$name: program name twice"
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
bad arm_elf "not an x86 executable ELF \(class 2, machine 183" -kernel "$TMP/arm.elf"
bad rel_elf "not an x86 executable ELF \(class 2, machine 62, type 1" -kernel "$TMP/rel.elf"


# No kernel is a configuration error: exit 2, before KVM is touched.
timeout -k 5 30 "$VMM" -machine microvm,accel=kvm -m 64M -name nokernel >"$TMP/nok.out" 2>"$TMP/nok.err"
expect_rc $? 2 "no -kernel: configuration error"
expect_line "$TMP/nok.err" "no -kernel given" "no -kernel: message"

for sig in INT TERM HUP; do
	sock="$TMP/wait-$sig.sock"
	"$VMM" -machine microvm,accel=kvm -m 64M -kernel "$GUEST" \
		-chardev socket,id=c0,path="$sock",server=on,wait=on \
		-device virtconsole,chardev=c0 >"$TMP/wait.out" 2>"$TMP/wait.err" &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	[ -S "$sock" ] || fail "SIG$sig: the socket never appeared"
	kill -$sig $pid
	rc=0
	for _ in $(seq 200); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
	if kill -0 $pid 2>/dev/null; then
		kill -KILL $pid; fail "SIG$sig while waiting: vmm did not exit"
	fi
	wait $pid; rc=$?
	expect_rc $rc 0 "SIG$sig while waiting for a wait=on client"
	if [ -s "$TMP/wait.err" ]; then
		fail "SIG$sig while waiting printed: $(cat "$TMP/wait.err")"
	fi
done
finish
