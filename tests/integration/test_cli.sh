#!/usr/bin/env bash
# The vmm binary's command line as a user meets it: --help and --version,
# one-line errors with exit status 2 and nothing created on disk, the full
# Kata-style command line of the README accepted, and -dump-dtb readable by
# dtc.  Runs no guest, so it needs no KVM.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMM=${VMM:-$ROOT/build/vmm}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

out=$("$VMM" --version); rc=$?
[ $rc -eq 0 ] && [[ "$out" =~ ^vmm\ version\ [0-9] ]] && pass "--version" || fail "--version: rc=$rc '$out'"

"$VMM" --help >"$TMP/help" 2>&1; rc=$?
[ $rc -eq 0 ] || fail "--help exits $rc"
for opt in -name -uuid -machine -cpu -smp -m -kernel -initrd -append -drive \
	-device -object -netdev -chardev -serial -rtc -qmp -pidfile -daemonize \
	-D -disable-seccomp -mem-path -no-reboot -dump-dtb; do
	grep -qE -- "(^|[ |])$opt([ ,[|]|$)" "$TMP/help" || fail "--help does not list $opt"
done
pass "--help checked for every option"

# bad ARGS... MESSAGE-REGEX: exit status 2, one line on stderr naming the
# problem, nothing on stdout, no files created in the working directory.
bad() {
	local re=$1; shift
	local dir="$TMP/cwd.$RANDOM"; mkdir "$dir"
	(cd "$dir" && "$VMM" "$@" >"$TMP/out" 2>"$TMP/err"); local rc=$?
	local lines; lines=$(wc -l <"$TMP/err")
	if [ $rc -ne 2 ]; then fail "$* -> exit $rc, want 2"; return; fi
	if [ "$lines" -ne 1 ]; then fail "$* -> $lines stderr lines, want 1"; cat "$TMP/err"; return; fi
	grep -qE -- "$re" "$TMP/err" || { fail "$* -> '$(cat "$TMP/err")' does not match /$re/"; return; }
	grep -q "vmm: .*vmm: " "$TMP/err" && { fail "$* -> program name twice: $(cat "$TMP/err")"; return; }
	[ -z "$(ls -A "$dir")" ] || { fail "$* created $(ls -A "$dir")"; return; }
	pass "rejects $*"
}
bad "-smp.*300.*1-254" -smp 300 -pidfile vm.pid
bad "-smp" -smp 0 -D vm.log
bad "-m.*12Q" -m 12Q
bad "drive='nope'" -device virtio-blk-device,drive=nope -pidfile vm.pid
bad "netdev" -device virtio-net-device,netdev=n9
bad "chardev" -device virtconsole,chardev=c9
bad "memdev" -machine q35,nvdimm=on -device nvdimm,id=nv0,memdev=m9
bad "iops" -drive id=d0,file=x.img,throttling.iops-total=2000000
bad "d0" -drive id=d0,file=a.img -drive id=d0,file=b.img
bad "addr|0x3" -machine q35 -drive id=d0,file=a -drive id=d1,file=b \
	-device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3 \
	-device virtio-blk-pci,drive=d1,bus=pcie.0,addr=0x3
bad "unknown|-frobnicate" -frobnicate
bad "-uuid" -uuid not-a-uuid
bad "-machine|accel" -machine microvm,accel=xen
bad "-rtc" -rtc base=yesterday
# Values that would be accepted and ignored are refused with the reason.
bad "kernel_irqchip=off is not supported" -machine q35,kernel_irqchip=off
bad "vhostfds= needs vhost=on" -netdev tap,id=n0,fds=5,vhost=off,vhostfds=4
bad "driftfix=.fast. is not accepted .accepted: none, slew." -rtc base=utc,driftfix=fast
bad "accel=sim runs vmm's own device self-test" -machine microvm,accel=sim -kernel "$TMP/nonexistent"

# Configuration errors the board finds are exit 2 too, found before
# anything starts (so without /dev/kvm as well), one line, "vmm: " once.
head -c $((3 << 20)) /dev/zero >"$TMP/3m.img"
head -c $((4 << 20)) /dev/zero >"$TMP/4m.img"
rngs=(); for i in $(seq 14); do rngs+=(-object rng-random,id=r$i -device virtio-rng-device,rng=r$i); done
bad "at most 13" -machine microvm -kernel "$TMP/k" "${rngs[@]}"
bad "not a multiple of 2 MiB" -machine q35,nvdimm=on -m 64M,slots=1,maxmem=1G -kernel "$TMP/k" \
	-object memory-backend-file,id=m,mem-path="$TMP/3m.img",size=3M -device nvdimm,memdev=m
bad "maxmem" -machine q35,nvdimm=on -m 64M,slots=1,maxmem=66M -kernel "$TMP/k" \
	-object memory-backend-file,id=m,mem-path="$TMP/4m.img",size=4M -device nvdimm,memdev=m
bad "size=2097152 does not equal the size of" -machine q35,nvdimm=on -m 64M,slots=1,maxmem=1G \
	-kernel "$TMP/k" -object memory-backend-file,id=m,mem-path="$TMP/4m.img",size=2M -device nvdimm,memdev=m
bad "isa-debug-exit: ports 0x3f8-0x3f9 overlap the serial port COM1" -kernel "$TMP/k" \
	-serial null -device isa-debug-exit,iobase=0x3f8
bad "isa-debug-exit: ports 0x70-0x71 overlap the RTC" -kernel "$TMP/k" -device isa-debug-exit,iobase=0x70
bad "not on hugetlbfs" -kernel "$TMP/k" -mem-path "$TMP"
bad "accel=kvm needs a kernel" -machine microvm,accel=kvm
# The daemon's stdio is /dev/null: a console there is refused, as QEMU does.
bad "-serial stdio cannot be used with -daemonize" -kernel "$TMP/k" -serial stdio -daemonize
bad "implied by -nographic" -kernel "$TMP/k" -nographic -daemonize
bad "-chardev stdio,id=c0 cannot be used with -daemonize" -kernel "$TMP/k" -chardev stdio,id=c0 \
	-device virtconsole,chardev=c0 -daemonize

# The Kata-style command line from the README (microvm + q35 variants),
# stopped before any VM is created by -dump-dtb.
common=(-name sandbox-1 -uuid 977692f6-744c-4917-8ccd-ffad44020fe9
	-cpu host -smp 1,maxcpus=8 -m 512M,slots=10,maxmem=16811M -kernel vmlinux -initrd initrd.img
	-append "console=ttyS0 root=/dev/pmem0p1 rootflags=dax ro"
	-object memory-backend-file,id=mem0,mem-path=rootfs.img,size=256M,readonly=on
	-device nvdimm,id=nv0,memdev=mem0,unarmed=on
	-drive id=d0,file=disk.img,readonly=off,direct=off,throttling.iops-total=200
	-netdev tap,id=n0,ifname=tap0
	-object rng-random,id=rng0,filename=/dev/urandom
	-chardev socket,id=c0,path=console.sock,server,nowait -device virtconsole,chardev=c0
	-serial stdio -rtc base=utc -qmp unix:vmm.sock,server,nowait
	-nodefaults -no-user-config -nographic -vga none -realtime mlock=off
	-global kvm-pit.lost_tick_policy=discard -no-reboot)
for variant in mmio pci; do
	if [ $variant = mmio ]; then
		devs=(-machine microvm,accel=kvm,nvdimm=on -device virtio-blk-device,drive=d0,id=blk0
			-device virtio-net-device,netdev=n0,mac=52:54:00:12:34:56 -device virtio-rng-device,rng=rng0)
	else
		devs=(-machine q35,accel=kvm,nvdimm=on -device virtio-blk-pci,drive=d0,id=blk0,bus=pcie.0,addr=0x3
			-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 -device virtio-rng-pci,rng=rng0)
	fi
	"$VMM" "${common[@]}" "${devs[@]}" -dump-dtb "$TMP/$variant.dtb" >"$TMP/out" 2>&1; rc=$?
	if [ $rc -ne 0 ]; then fail "Kata command line ($variant): exit $rc: $(cat "$TMP/out")"; continue; fi
	pass "Kata command line ($variant) accepted"
	if command -v dtc >/dev/null; then
		dtc -I dtb -O dts "$TMP/$variant.dtb" >"$TMP/$variant.dts" 2>"$TMP/dtc.err" || fail "dtc rejects $variant.dtb"
		grep -q 'memory' "$TMP/$variant.dts" && grep -qi 'nvdimm\|pmem' "$TMP/$variant.dts" &&
			grep -q 'console=ttyS0 root=/dev/pmem0p1 rootflags=dax ro' "$TMP/$variant.dts" &&
			pass "dtc shows memory, nvdimm and bootargs ($variant)" || fail "dts lacks memory/nvdimm/bootargs ($variant)"
	else
		echo "SKIP: dtc (device-tree-compiler) not installed; DTB not decoded"
	fi
done

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
