#!/bin/bash
# vmm-replay opens no host path a trace names (issue 11 item 1).  Traces
# are recorded (the accel=sim self-test, and the test guest under KVM)
# with a share=on nvdimm mem-path, a drive, -serial file:, a chardev
# socket path, an rng-random filename, a tap ifname, -D and -pidfile,
# all under $TMP/rec/.  The trace is then edited to name $TMP/vic/
# instead, where real files of other content wait (and where the files
# the recording created do not exist).  Replay, --list and --dump-dtb
# must leave every file in vic/ byte-for-byte unchanged, create none,
# and (under strace, when it is installed) make no system call that
# names a path in vic/ at all.
# ROOT, BUILD, VMM, GUEST, TMP (removed at exit), fail/pass, finish;
# the KVM parts check /dev/kvm themselves (the simulator parts run anyway).
TMP_NAME=vmm-replay-host
. "$(dirname "${BASH_SOURCE[0]}")/kvm_common.sh"
REPLAY=${REPLAY:-$BUILD/vmm-replay}

[ -x "$VMM" ] || { echo "FAIL: $VMM not built"; exit 1; }
[ -x "$REPLAY" ] || { echo "FAIL: $REPLAY not built"; exit 1; }
STRACE=$(command -v strace || true)
# LeakSanitizer cannot run under ptrace: off for the traced runs (ASan
# builds, make check-asan); everything else stays as set.
STRACE_ENV=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
[ -n "$STRACE" ] || echo "SKIP: strace not installed: only file contents and the directory listing are checked"

# Same-length directory names, so the trace can be edited in place.
mkdir "$TMP/rec" "$TMP/vic"
mkfiles() { # mkfiles DIR TAG
	printf 'PMEM-%s' "$2" >"$1/pmem.img"; truncate -s 2M "$1/pmem.img"
	printf 'DISK-%s' "$2" >"$1/disk.img"; truncate -s 1M "$1/disk.img"
	head -c 4096 /dev/zero | tr '\0' "$3" >"$1/rng.bin"
}
mkfiles "$TMP/rec" REC a
mkfiles "$TMP/vic" VICTIM v
snapshot() { (cd "$TMP/vic" && find . -printf '%p %y %s %T@\n' | sort && sha256sum ./*); }

# check_replays TRACE WHAT: every replay path on the edited copy.
check_replays() {
	local tr=$1 what=$2 edited=$TMP/edited.trace before after out rc
	# Every occurrence of the recording's directory, renamed.
	perl -0777 -pe "s{\\Q$TMP/rec/\\E}{$TMP/vic/}g" "$tr" >"$edited"
	if ! grep -qaF "$TMP/vic/pmem.img" "$edited" || grep -qaF "$TMP/rec/" "$edited"; then
		fail "$what: the edited trace does not name vic/ in place of rec/"
		return
	fi
	before=$(snapshot)
	local run=("$REPLAY" "$edited")
	[ -n "$STRACE" ] && run=("${STRACE_ENV[@]}" "$STRACE" -f -qq -o "$TMP/st.replay" -e trace=%file,%desc "${run[@]}")
	out=$(timeout 60 "${run[@]}" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q '^vmm-replay: match: '; then
		pass "$what: replay of the edited trace matches"
	else
		fail "$what: replay exit $rc: $out"
	fi
	run=("$REPLAY" --list "$edited")
	[ -n "$STRACE" ] && run=("${STRACE_ENV[@]}" "$STRACE" -f -qq -o "$TMP/st.list" -e trace=%file,%desc "${run[@]}")
	timeout 60 "${run[@]}" >"$TMP/list.out" 2>&1 || fail "$what: --list failed"
	run=("$REPLAY" --dump-dtb "$edited" "$TMP/out.dtb")
	[ -n "$STRACE" ] && run=("${STRACE_ENV[@]}" "$STRACE" -f -qq -o "$TMP/st.dtb" -e trace=%file,%desc "${run[@]}")
	timeout 60 "${run[@]}" >/dev/null 2>&1 || fail "$what: --dump-dtb failed"
	after=$(snapshot)
	if [ "$before" = "$after" ]; then
		pass "$what: every file in vic/ unchanged (bytes, size, mtime), none created"
	else
		fail "$what: vic/ changed:"; diff <(echo "$before") <(echo "$after")
	fi
	if [ -n "$STRACE" ]; then
		local s
		for s in replay list dtb; do
			if grep -F "$TMP/vic/" "$TMP/st.$s" >"$TMP/st.hits"; then
				fail "$what: $s made system calls naming vic/:"; head -5 "$TMP/st.hits"
			else
				pass "$what: $s made no system call naming a path from the trace"
			fi
		done
	fi
}

# ---- a self-test recording ----
R=$TMP/rec
timeout -k 5 60 "$VMM" -machine q35,accel=sim,nvdimm=on -m 256M,slots=2,maxmem=1G \
	-serial stdio -serial file:"$R/com2.txt" \
	-drive id=d0,file="$R/disk.img" -device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3 \
	-netdev tap,id=n0,ifname=vmmrechost0 -device virtio-net-pci,netdev=n0 \
	-object rng-random,id=rng0,filename="$R/rng.bin" -device virtio-rng-pci,rng=rng0 \
	-chardev socket,id=c0,path="$R/console.sock",server,nowait \
	-device virtio-serial-pci,id=vs0 -device virtconsole,chardev=c0,id=vc0 \
	-object memory-backend-file,id=mem0,mem-path="$R/pmem.img",size=2M,share=on \
	-device nvdimm,id=nv0,memdev=mem0 \
	-D "$R/vm.log" -pidfile "$R/vm.pid" \
	-trace-record "$TMP/sim.trace" >"$TMP/sim.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ -s "$TMP/sim.trace" ]; then
	pass "sim: recorded the self-test"
	check_replays "$TMP/sim.trace" "self-test trace"
else
	fail "sim: record exit $rc"; cat "$TMP/sim.out"
fi

# ---- a KVM recording ----
if [ ! -e /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: KVM part: /dev/kvm is absent or not accessible"
elif [ ! -f "$GUEST" ]; then
	fail "$GUEST not built (make guest-images)"
else
	rm -f "$R/com2.txt" "$R/vm.log" "$R/vm.pid"
	timeout -k 5 60 "$VMM" -machine q35,accel=kvm,nvdimm=on -m 64M,slots=2,maxmem=1G \
		-kernel "$GUEST" -append "testguest.nvdimm-write=GUEST-WROTE-THIS testguest.action=nvdimm" \
		-object memory-backend-file,id=m0,mem-path="$R/pmem.img",size=2M,share=on \
		-device nvdimm,id=nv0,memdev=m0 \
		-drive id=d0,file="$R/disk.img" -device virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3 \
		-object rng-random,id=rng0,filename="$R/rng.bin" -device virtio-rng-pci,rng=rng0 \
		-serial stdio -serial file:"$R/com2.txt" -D "$R/vm.log" -pidfile "$R/vm.pid" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot \
		-trace-record "$TMP/kvm.trace" >"$TMP/kvm.out" 2>&1
	rc=$?
	if [ $rc -eq 33 ]; then
		pass "kvm: test guest passed while recorded"
		check_replays "$TMP/kvm.trace" "KVM trace"
	else
		fail "kvm: record exit $rc"; cat "$TMP/kvm.out"
	fi
fi

finish
