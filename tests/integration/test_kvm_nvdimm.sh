#!/usr/bin/env bash
# NVDIMMs under KVM with the test guest (docs/nvdimm.md):
#   readonly=on  a guest write leaves the file's bytes unchanged (sha256),
#                the VMM lives on and logs the dropped write once;
#   share=on     the guest's write is in the file after the VMM exits, the
#                flush hint the NFIT points at reaches msync, and every way
#                the VM ends (debug-exit, ACPI S5, -no-reboot reset, SIGTERM,
#                QMP quit, an error exit) writes shared mappings back;
#   share=off    the guest sees its write, the file never does;
#   pmem-legacy=on  no NFIT, an e820 type 12 range the guest reads.
. "$(dirname "$0")/kvm_common.sh"
kvm_require

SIG='VMM-NVDIMM-SIG-0'

# vm NAME TIMEOUT BACKEND-OPTS MACHINE-OPTS APPEND [ARGS...]: the test guest
# with one 2 MiB nvdimm backed by $TMP/NAME.img; stdout/stderr to NAME.out/.err.
# exec: run in the background, $! is timeout(1) itself, which passes a
# SIGTERM on to the vmm.
vm() {
	local name=$1 t=$2 bopts=$3 mopts=$4 append=$5
	shift 5
	VMM_LOG_LEVEL=2 exec timeout "$t" "$VMM" -machine "$mopts" -m 64M,slots=2,maxmem=1G \
		-kernel "$GUEST" -append "$append" \
		-object memory-backend-file,id=m0,mem-path="$TMP/$name.img",size=2M$bopts \
		-device nvdimm,id=nv0,memdev=m0 \
		-serial stdio "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
}
# Foreground runs go through a subshell so exec does not end the script.
run() { (vm "$@"); }
sha() { sha256sum "$1" | cut -d' ' -f1; }
file_starts() { # file_starts FILE TEXT WHAT
	if [ "$(head -c ${#2} "$1")" = "$2" ]; then pass "$3"; else
		fail "$3 (file starts '$(head -c ${#2} "$1" | tr -c '[:print:]' .)')"; fi
}
written_back() { # written_back NAME WHAT
	expect_line "$TMP/$1.err" "nvdimm: 1 shared mapping\(s\) written back at exit" "$2: shared mapping msynced at exit"
}
DBG=(-device isa-debug-exit,iobase=0xf4,iosize=0x04)

# --- readonly=on: the write exits as MMIO to a read-only slot, dropped ---
make_pmem "$TMP/ro.img"
before=$(sha "$TMP/ro.img")
run ro 60 ",readonly=on" q35,accel=kvm,nvdimm=on \
	"testguest.nvdimm-write=GUEST-WROTE-THIS testguest.action=nvdimm" "${DBG[@]}" -no-reboot
expect_rc $? 33 "readonly: VMM survives the guest's writes, guest passed"
expect_line "$TMP/ro.out" "^testguest: nvdimm write 'GUEST-WROTE-THIS' at 0x[0-9a-f]+, 1 flush hint\(s\), readback '$SIG'" "readonly: guest reads the original bytes back"
if [ "$(sha "$TMP/ro.img")" = "$before" ]; then pass "readonly: file unchanged (sha256)"; else fail "readonly: file changed"; fi
n=$(grep -c "nvdimm nv0: guest write of .* to read-only memory dropped" "$TMP/ro.err")
if [ "$n" = 1 ]; then pass "readonly: dropped write logged once (16 writes)"; else fail "readonly: dropped-write line $n times, want 1"; cat "$TMP/ro.err"; fi
expect_line "$TMP/ro.err" "nvdimm nv0: 16 guest write\(s\) to read-only memory dropped" "readonly: all 16 byte writes counted"
expect_line "$TMP/ro.err" "nvdimm nv0: .* readonly private unarmed" "readonly: mapped read-only, reported unarmed"
expect_no_line "$TMP/ro.err" "shared mapping" "readonly: nothing to write back"

# --- share=on: the write reaches the file; the flush hint msyncs ---
make_pmem "$TMP/sh.img"
run sh 60 ",share=on" q35,accel=kvm,nvdimm=on \
	"testguest.nvdimm-write=GUEST-WROTE-THIS testguest.action=nvdimm" "${DBG[@]}" -no-reboot
expect_rc $? 33 "share=on: guest passed"
expect_line "$TMP/sh.out" "^testguest: nvdimm flush hint 0xfe000000" "share=on: NFIT flush hint at NVDIMM_FLUSH_BASE"
expect_line "$TMP/sh.out" "readback 'GUEST-WROTE-THIS'" "share=on: guest reads its write back"
file_starts "$TMP/sh.img" GUEST-WROTE-THIS "share=on: guest write is in the file after exit"
expect_line "$TMP/sh.err" "nvdimm: 1 guest flush\(es\) through the flush hints, 0 failed" "share=on: guest flush reached msync"
written_back sh "share=on, debug-exit"
# The guest's flush (a vCPU thread) and the write-back at exit (the main
# thread) both msync: the seccomp allowlist must keep allowing it.
if grep -q "seccomp: filter installed" "$TMP/sh.err"; then
	pass "share=on: flush and write-back ran under the seccomp filter"
else
	echo "note: no seccomp filter in this build/run; msync not checked under it"
fi
expect_line "$TMP/sh.err" "boot: e820: \[mem 0x00000000fe000000-0x00000000fe000fff\] reserved" "share=on: flush-hint page reserved in e820"

# --- share=off: a private copy-on-write view ---
make_pmem "$TMP/pr.img"
before=$(sha "$TMP/pr.img")
run pr 60 ",share=off" microvm,accel=kvm,nvdimm=on \
	"testguest.nvdimm-write=GUEST-WROTE-THIS testguest.action=nvdimm" "${DBG[@]}" -no-reboot
expect_rc $? 33 "share=off: guest passed"
expect_line "$TMP/pr.out" "readback 'GUEST-WROTE-THIS'" "share=off: guest sees its own write"
if [ "$(sha "$TMP/pr.img")" = "$before" ]; then pass "share=off: file unchanged (sha256)"; else fail "share=off: file changed"; fi

# --- pmem-legacy=on: e820 type 12, no NFIT ---
for m in microvm q35; do
	make_pmem "$TMP/lg-$m.img"
	run "lg-$m" 60 ",readonly=on" "$m,accel=kvm,nvdimm=on,pmem-legacy=on" \
		"testguest.action=nvdimm" "${DBG[@]}" -no-reboot
	expect_rc $? 33 "pmem-legacy ($m): guest passed"
	expect_line "$TMP/lg-$m.out" "^testguest: e820 pmem 0x[0-9a-f]+ size 0x200000 sig '$SIG'" "pmem-legacy ($m): guest reads the type 12 range"
	expect_line "$TMP/lg-$m.out" "^testguest: nfit none" "pmem-legacy ($m): no NFIT"
	expect_no_line "$TMP/lg-$m.out" "flush hint" "pmem-legacy ($m): no flush hints"
	expect_no_line "$TMP/lg-$m.err" "\[mem 0x00000000fe000000" "pmem-legacy ($m): no flush-hint e820 entry"
done

# --- every way out writes share=on mappings back ---
make_pmem "$TMP/s5.img"
run s5 30 ",share=on" microvm,accel=kvm,nvdimm=on "testguest.nvdimm-write=BY-S5 testguest.action=poweroff"
expect_rc $? 0 "ACPI S5 exits 0"
file_starts "$TMP/s5.img" BY-S5 "S5: write in the file"
written_back s5 "S5"

make_pmem "$TMP/rst.img"
run rst 30 ",share=on" microvm,accel=kvm,nvdimm=on "testguest.nvdimm-write=BY-RESET testguest.action=reboot" -no-reboot
expect_rc $? 0 "reset under -no-reboot exits 0"
file_starts "$TMP/rst.img" BY-RESET "-no-reboot reset: write in the file"
written_back rst "-no-reboot reset"

# Triple fault: a reset with vmx/svm; here KVM's emulator cannot deliver
# it and the vCPU stops with an internal error (exit 1): the error path.
make_pmem "$TMP/err.img"
run err 30 ",share=on" microvm,accel=kvm,nvdimm=on "testguest.nvdimm-write=BY-TRIPLE testguest.action=triplefault" -no-reboot
rc=$?
if has_hw_virt; then expect_rc $rc 0 "triple fault resets"; else expect_rc $rc 1 "triple fault ends in a KVM error exit"; fi
file_starts "$TMP/err.img" BY-TRIPLE "triple fault: write in the file"
written_back err "triple fault / error exit"

make_pmem "$TMP/term.img"
(vm term 30 ",share=on" microvm,accel=kvm,nvdimm=on "testguest.nvdimm-write=BY-SIGTERM testguest.action=spin") &
pid=$!
for _ in $(seq 100); do grep -q 'action spin' "$TMP/term.out" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$pid"   # timeout(1) passes it on to the vmm
wait "$pid"
expect_rc $? 0 "SIGTERM exits 0"
file_starts "$TMP/term.img" BY-SIGTERM "SIGTERM: write in the file"
written_back term "SIGTERM"

make_pmem "$TMP/qmp.img"
(vm qmp 30 ",share=on" microvm,accel=kvm,nvdimm=on "testguest.nvdimm-write=BY-QMP testguest.action=spin" \
	-qmp unix:"$TMP/qmp.sock",server,nowait) &
pid=$!
for _ in $(seq 100); do grep -q 'action spin' "$TMP/qmp.out" 2>/dev/null && break; sleep 0.1; done
timeout 20 python3 - "$TMP/qmp.sock" >"$TMP/qmp.py" 2>&1 <<'PY'
import json, socket, sys, time
import qmpio
for _ in range(100):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); break
    except OSError:
        time.sleep(0.1)
f = qmpio.QmpFile(s)
f.readline()
for cmd in ('qmp_capabilities', 'quit'):
    f.write(json.dumps({'execute': cmd}) + '\n'); f.flush()
    while True:
        m = json.loads(f.readline())
        print(json.dumps(m, sort_keys=True))
        if 'return' in m or 'error' in m:
            break
PY
wait "$pid"
expect_rc $? 0 "QMP quit exits 0"
file_starts "$TMP/qmp.img" BY-QMP "QMP quit: write in the file"
written_back qmp "QMP quit"
finish
