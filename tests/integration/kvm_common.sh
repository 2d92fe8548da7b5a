# Shared by tests/integration/test_kvm_*.sh: skip without a usable
# /dev/kvm, find the vmm binary and the test guest, run the guest, make
# scratch files, and check guest output line by line.
set -u
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
VMM=${VMM:-$BUILD/vmm}
# The QMP helpers' reader/writer (qmpio.py) for the scripts' Python.
export PYTHONPATH="$ROOT/tests/integration${PYTHONPATH:+:$PYTHONPATH}"
GUEST=$BUILD/guest-images/testguest.elf

kvm_require() {
	if [ ! -e /dev/kvm ]; then
		echo "SKIP: /dev/kvm is absent (no KVM on this host); the simulator tests cover the devices"
		exit 77
	fi
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "SKIP: /dev/kvm is not accessible to $(id -un) (add the user to the kvm group)"
		exit 77
	fi
	[ -x "$VMM" ] || { echo "FAIL: $VMM not built"; exit 1; }
	[ -f "$GUEST" ] || { echo "FAIL: $GUEST not built (make guest-images)"; exit 1; }
}

has_hw_virt() {
	grep -qwE 'vmx|svm' /proc/cpuinfo
}

# TMP_NAME: the scratch directory's prefix, to tell the scripts' apart.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/${TMP_NAME:-vmm-kvm-test}.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

# expect_line FILE REGEX WHAT: one line of FILE must match REGEX (ERE).
expect_line() {
	if grep -qE -- "$2" "$1"; then pass "$3"; else fail "$3 (no line matching /$2/)"; echo "--- output:"; cat "$1"; echo "---"; fi
}
expect_no_line() {
	if grep -qE -- "$2" "$1"; then fail "$3 (unexpected /$2/)"; else pass "$3"; fi
}
expect_rc() {
	if [ "$1" = "$2" ]; then pass "$3 (exit $1)"; else fail "$3: exit $1, expected $2"; fi
}

# run_guest NAME VMM-ARGS...: one VM of the test guest under a 60 s
# timeout, with the debug-exit device it reports its verdict through
# (exit 33 all checks passed, 35 one failed) and COM1, where it prints
# its lines, on stdout.  Sets out=$TMP/NAME.out and rc; stderr goes to
# $TMP/NAME.err.
run_guest() {
	local name=$1
	shift
	out=$TMP/$name.out
	timeout -k 5 60 "$VMM" "$@" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-serial stdio >"$out" 2>"$TMP/$name.err"
	rc=$?
}

# A disk whose sector 0 starts with a known string, and a 2 MiB nvdimm
# image with a signature.
make_disk() {
	printf 'VMM-TESTGUEST-DISK-SECTOR-0' >"$1"
	truncate -s 1M "$1"
}
make_pmem() {
	printf 'VMM-NVDIMM-SIG-0' >"$1"
	truncate -s 2M "$1"
}

# complete_lines FILE: the lines of FILE that have their newline, CRs
# dropped.  FILE may still be written: a line still being printed is
# not a line yet (a serial console writes a byte at a time).
complete_lines() {
	local s
	s=$(cat "$1" 2>/dev/null; echo .)
	s=${s%.}
	case $s in
	*$'\n') ;;
	*$'\n'*) s=${s%$'\n'*}$'\n' ;;
	*) s= ;;
	esac
	printf '%s' "$s" | tr -d '\r'
}

# has_complete_line FILE REGEX: some complete line of FILE matches (ERE).
has_complete_line() {
	complete_lines "$1" | grep -qE -- "$2"
}

finish() {
	if [ "$FAILS" -gt 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
	exit 0
}
