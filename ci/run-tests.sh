#!/usr/bin/env bash
# Run the unit tests (cmocka binaries) and the integration tests (scripts
# that drive the real vmm binary) of one build directory, then print one
# summary line: "N passed, N failed, N skipped".
#   ci/run-tests.sh BUILD [unit|integration]
# Integration scripts exit 0 (pass), 77 (skip: they print "SKIP: why") or
# anything else (fail).  Every test runs under a timeout.
set -u
build=${1:-build}
which=${2:-all}
root=$(cd "$(dirname "$0")/.." && pwd)
export BUILD="$root/$build" VMM="$root/$build/vmm" ROOT="$root"
export CMOCKA_MESSAGE_OUTPUT=stdout
passed=0 failed=0 skipped=0
failures=()
logdir="$root/$build/test-logs"
mkdir -p "$logdir"

if [ "$which" != integration ]; then
	for t in "$root/$build"/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		out="$logdir/$name.log"
		timeout 300 "$t" >"$out" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
		passed=$((passed + p))
		if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		failed=$((failed + f))
		if [ $rc -ne 0 ]; then
			failures+=("$name")
			echo "FAIL: $name (exit $rc)"; tail -n 40 "$out"
		else
			echo "ok:   $name ($p tests)"
		fi
	done
fi

if [ "$which" != unit ]; then
	for t in "$root"/tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		out="$logdir/$name.log"
		timeout 600 bash "$t" >"$out" 2>&1
		rc=$?
		if [ $rc -eq 0 ]; then
			passed=$((passed + 1)); echo "ok:   $name"
			grep -h '^SKIP:' "$out" || true
		elif [ $rc -eq 77 ]; then
			skipped=$((skipped + 1)); echo "skip: $name"
			grep -h '^SKIP:' "$out" || echo "SKIP: $name (no reason printed)"
		else
			failed=$((failed + 1)); failures+=("$name")
			echo "FAIL: $name (exit $rc)"; tail -n 40 "$out"
		fi
	done
fi

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
