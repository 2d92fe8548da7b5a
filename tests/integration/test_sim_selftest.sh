#!/usr/bin/env bash
# The real `vmm -machine ...,accel=sim` (what `make run` falls back to
# without /dev/kvm) with every device type on q35 and on microvm: every
# device must report its "selftest: ok:" line, no FAIL, exit 0; the run
# is the same for the same -seed; the image and nvdimm files, the tap, the
# console socket and file the command line names are left untouched
# (the self-test stands in-memory backends in for them).  A broken disk
# (empty image) must give a FAIL line and exit 1.  Needs no KVM.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMM=${VMM:-$ROOT/build/vmm}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-simst.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

[ -x "$VMM" ] || { echo "FAIL: $VMM is not built"; exit 1; }

printf 'SIM-SELFTEST-DISK' >"$TMP/disk.img"
truncate -s 1M "$TMP/disk.img"
printf 'SIM-SELFTEST-PMEM' >"$TMP/pmem.img"
truncate -s 2M "$TMP/pmem.img"
printf 'SIM-SELFTEST-PMEM' >"$TMP/pmem2.img"
truncate -s 2M "$TMP/pmem2.img"
: >"$TMP/empty.img"
sums() { md5sum "$TMP/disk.img" "$TMP/pmem.img" "$TMP/pmem2.img"; }
before=$(sums)

# run NAME ARGS...: the self-test, output in $TMP/NAME.out, status in rc.
run() {
	local name=$1; shift
	timeout -k 5 60 "$VMM" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	rc=$?
}

# expect NAME PATTERN...: each fixed string is an ok line of NAME's run.
expect() {
	local name=$1; shift
	for p in "$@"; do
		grep -qF -- "selftest: ok: $p" "$TMP/$name.out" ||
			fail "$name: no 'ok: $p' line"
	done
}

# Every device type, q35: virtio-pci for most, virtio-mmio for some.
q35=(-machine q35,accel=sim,nvdimm=on -m 256M,slots=2,maxmem=1G -seed 11
	-serial stdio -serial file:"$TMP/com2.txt"
	-drive id=d0,file="$TMP/disk.img",readonly=off
	-device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3,serial=VMM-SIM-0
	-drive id=d1,file="$TMP/disk.img",readonly=on
	-device virtio-blk-device,drive=d1
	-netdev tap,id=n0,ifname=vmmsimst0
	-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56
	-object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-pci,rng=rng0
	-chardev socket,id=c0,path="$TMP/console.sock",server,nowait
	-device virtio-serial-pci,id=vs0 -device virtconsole,chardev=c0,id=vc0
	-device virtio-balloon-pci
	-object memory-backend-file,id=mem0,mem-path="$TMP/pmem.img",size=2M,readonly=on
	-device nvdimm,id=nv0,memdev=mem0,unarmed=on
	-object memory-backend-file,id=mem1,mem-path="$TMP/pmem2.img",size=2M,share=on
	-device nvdimm,id=nv1,memdev=mem1
	-device isa-debug-exit,iobase=0xf4,iosize=0x04)
run q35 "${q35[@]}"
[ "$rc" -eq 0 ] || { fail "q35: exit $rc"; cat "$TMP/q35.out" "$TMP/q35.err"; }
expect q35 \
	"serial: COM1 at 0x3f8" "serial: COM2 at 0x2f8" "rtc: 2026-01-01" \
	"pit: IRQ0 mode 2 divisor 1193: 11 edges, intervals 999847-999848 ns" \
	"i8042: self-test 0x55" "pci: 6 functions on bus 0, 5 virtio, 5 of 5" \
	"acpi: RSDP at 0xe0000, XSDT lists 5 tables [FACP APIC MCFG NFIT SRAT], checksums ok" \
	"acpi-pm: PM timer at 0x608" \
	"acpi-memhp: 2 memory slots, 0 DIMMs at their layout places" \
	"virtio-blk over virtio-pci: sector 0 \"SIM-SELFTEST-DISK" \
	"virtio-blk over virtio-mmio: sector 0 \"SIM-SELFTEST-DISK" \
	"virtio-net over virtio-pci: netdev n0 (tap replaced by an in-memory loop" \
	"virtio-rng over virtio-pci: read 64+64 bytes" \
	"virtio-console over virtio-pci: 1 port(s): DEVICE_READY, PORT_ADD 1, PORT_READY, CONSOLE_PORT 1, PORT_NAME 1 of 1, PORT_OPEN 1; port 0: 37 bytes reached the chardev, 12 bytes back received" \
	"virtio-balloon over virtio-pci: target 4 pages" \
	"nvdimm at 0x100000000: \"SIM-SELFTEST-PME" "nvdimm at 0x100200000" \
	"isa-debug-exit at 0xf4: writing 0x10 requests exit status 33"
grep -qF 'GET_ID "VMM-SIM-0", write+flush+read back of sector 2047 ok' "$TMP/q35.out" ||
	fail "q35: virtio-blk write/GET_ID line"
for p in 'channel 2 gate and OUT2 via port 0x61 ok' \
	'bytes transmitted, receive with interrupt ok'; do
	grep -qF -- "$p" "$TMP/q35.out" || fail "q35: no '$p'"
done
grep -qF 'share=on: no store' "$TMP/q35.out" || fail "q35: share=on nvdimm written?"
n=$(grep -c '^selftest: ok: ' "$TMP/q35.out")
[ "$n" -eq 18 ] || fail "q35: $n ok lines, want 18"
grep -q 'FAIL' "$TMP/q35.out" && fail "q35: a check failed: $(grep FAIL "$TMP/q35.out")"
grep -qF 'selftest: 18 checks, 0 failed' "$TMP/q35.out" || fail "q35: summary line"
[ $fails -eq 0 ] && pass "q35: every device type checked, exit 0"

# Same seed: byte-identical report.
run q35b "${q35[@]}"
cmp -s "$TMP/q35.out" "$TMP/q35b.out" && pass "q35: same seed, same report" ||
	fail "q35: two runs with -seed 11 differ"

# Every device type, microvm (virtio-mmio only, hardware-reduced ACPI).
micro=(-machine microvm,accel=sim,nvdimm=on -m 64M,slots=2,maxmem=1G -seed 3
	-serial stdio
	-drive id=d0,file="$TMP/disk.img",throttling.iops-total=200
	-device virtio-blk-device,drive=d0
	-netdev tap,id=n0,ifname=vmmsimst1 -device virtio-net-device,netdev=n0
	-object rng-random,id=rng0 -device virtio-rng-device,rng=rng0
	-chardev file,id=c0,path="$TMP/console.txt"
	-device virtio-serial-device -device virtconsole,chardev=c0
	-device virtio-balloon-device
	-object memory-backend-file,id=mem0,mem-path="$TMP/pmem.img",size=2M,share=off
	-device nvdimm,id=nv0,memdev=mem0
	-device isa-debug-exit)
f0=$fails
run micro "${micro[@]}"
[ "$rc" -eq 0 ] || { fail "microvm: exit $rc"; cat "$TMP/micro.out" "$TMP/micro.err"; }
expect micro \
	"serial: COM1" "rtc:" "pit: IRQ0" "i8042:" \
	"acpi: RSDP at 0xe0000, XSDT lists 4 tables [FACP APIC NFIT SRAT], checksums ok" \
	"virtio-blk over virtio-mmio" "virtio-net over virtio-mmio" \
	"virtio-rng over virtio-mmio" "virtio-console over virtio-mmio: 1 port(s)" \
	"virtio-balloon over virtio-mmio" "nvdimm at 0x100000000" \
	"isa-debug-exit at 0x501" "acpi-memhp: 2 memory slots"
grep -q 'FAIL' "$TMP/micro.out" && fail "microvm: $(grep FAIL "$TMP/micro.out")"
grep -q 'selftest: ok: pci' "$TMP/micro.out" && fail "microvm: has a PCI bus?"
[ $fails -eq $f0 ] && pass "microvm: every device type checked, exit 0"

# Nothing of the host was touched.
f0=$fails
[ "$(sums)" = "$before" ] || fail "an image file changed"
for f in console.sock console.txt com2.txt; do
	[ -e "$TMP/$f" ] && fail "$f was created"
done
for t in vmmsimst0 vmmsimst1; do
	[ -e "/sys/class/net/$t" ] && fail "tap $t exists"
done
[ $fails -eq $f0 ] && pass "images unchanged; no socket, file or tap created"

# A broken device: an empty disk has no sector 0.
run broken -machine microvm,accel=sim -m 32M \
	-drive id=d0,file="$TMP/empty.img" -device virtio-blk-device,drive=d0
if [ "$rc" -eq 1 ] && grep -q '^selftest: FAIL: virtio-blk over virtio-mmio' "$TMP/broken.out"; then
	pass "empty disk: FAIL line, exit 1"
else
	fail "empty disk: exit $rc"; cat "$TMP/broken.out"
fi

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all sim self-test checks passed"
