#!/usr/bin/env bash
# Run the unit tests (cmocka binaries) and the integration tests (scripts
# that drive the real vmm binary) of one build directory, then print every
# skip with its reason and one summary line: "N passed, N failed, N skipped".
#   ci/run-tests.sh BUILD [unit|integration]
# Every test runs under a timeout.  What counts:
# - A cmocka binary: each test it reports OK is a pass, each FAILED test a
#   failure (at least one if the binary exits non-zero), each SKIPPED test a
#   skip.  Tests skip through SKIP_BECAUSE (tests/unit/skip.h), which prints
#   "SKIP: reason" before cmocka's "[  SKIPPED ] name"; the two are paired.
# - An integration script exits 0 (pass), 77 (skipped whole) or anything
#   else (fail).  Every "SKIP: reason" line it prints is one skipped check:
#   a script that exits 0 but skipped some of its parts counts one pass for
#   what ran plus one skip per SKIP line; one that exits 77 counts one skip
#   per SKIP line (at least one).
set -u
build=${1:-build}
which=${2:-all}
root=$(cd "$(dirname "$0")/.." && pwd)
export BUILD="$root/$build" VMM="$root/$build/vmm" ROOT="$root"
export CMOCKA_MESSAGE_OUTPUT=stdout
passed=0 failed=0 skipped=0
failures=()
skips=()
logdir="$root/$build/test-logs"
mkdir -p "$logdir"

# cmocka_skips NAME LOG: one "NAME:test: reason" line per skipped test.  A
# "SKIP:" line belongs to the test that is running; cmocka's closing list
# of skipped names (after "[  SKIPPED ] N test(s), listed below:") follows
# no "[ RUN      ]" line, so it is not counted twice.
cmocka_skips() {
	awk -v bin="$1" '
	/^\[ RUN      \] / { cur = substr($0, 14); why = ""; next }
	/^SKIP: / && cur != "" { why = substr($0, 7); next }
	/^\[  SKIPPED \] / {
		t = substr($0, 14)
		if (cur != "" && t == cur)
			print bin ":" t ": " (why != "" ? why : "(no reason printed)")
		cur = ""; next
	}
	/^\[       OK \] |^\[  FAILED  \] |^\[  ERROR   \] / { cur = "" }
	' "$2"
}

if [ "$which" != integration ]; then
	for t in "$root/$build"/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		out="$logdir/$name.log"
		timeout 300 "$t" >"$out" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
		mapfile -t sk < <(cmocka_skips "$name" "$out")
		passed=$((passed + p))
		skipped=$((skipped + ${#sk[@]}))
		skips+=("${sk[@]}")
		if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		failed=$((failed + f))
		if [ $rc -ne 0 ]; then
			failures+=("$name")
			echo "FAIL: $name (exit $rc)"; tail -n 40 "$out"
		elif [ ${#sk[@]} -gt 0 ]; then
			echo "ok:   $name ($p tests, ${#sk[@]} skipped)"
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
		mapfile -t sk < <(sed -n 's/^SKIP: *//p' "$out")
		if [ $rc -eq 77 ] && [ ${#sk[@]} -eq 0 ]; then
			sk=("(no reason printed)")
		fi
		if [ $rc -eq 0 ] || [ $rc -eq 77 ]; then
			for s in "${sk[@]}"; do skips+=("$name: $s"); done
			skipped=$((skipped + ${#sk[@]}))
		fi
		if [ $rc -eq 0 ]; then
			passed=$((passed + 1))
			if [ ${#sk[@]} -gt 0 ]; then
				echo "ok:   $name (${#sk[@]} part(s) skipped)"
			else
				echo "ok:   $name"
			fi
		elif [ $rc -eq 77 ]; then
			echo "skip: $name"
		else
			failed=$((failed + 1)); failures+=("$name")
			echo "FAIL: $name (exit $rc)"; tail -n 40 "$out"
		fi
	done
fi

for s in "${skips[@]}"; do echo "SKIP: $s"; done
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
