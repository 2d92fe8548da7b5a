#!/usr/bin/env bash
# Run every benchmark of a build and print their results as one table.
#   ci/bench.sh BUILD
# Each $BUILD/bench/bench_* program prints lines of the form
#   BENCH <name> <value> <unit> [vs <ref-name> <ref-value> <unit> ratio <r>]
# Figures, not pass/fail: a benchmark that fails is reported and skipped.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
found=0
for b in "$build"/bench/bench_*; do
	[ -x "$b" ] || continue
	found=1
	out=$(timeout 300 "$b" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "bench: $(basename "$b") failed (exit $rc)" >&2
		printf '%s\n' "$out" | tail -n 5 >&2
	fi
	printf '%s\n' "$out" | grep '^BENCH ' >>"$rows"
done
if [ $found -eq 0 ]; then
	echo "bench: no benchmarks in $build/bench (build them with make first)" >&2
	exit 1
fi
awk '
{
	name = $2; val = $3; unit = $4; ref = "-"; ratio = "-"
	for (i = 5; i <= NF; i++) {
		if ($i == "vs" && i + 3 <= NF) ref = $(i + 1) " " $(i + 2) " " $(i + 3)
		if ($i == "ratio" && i + 1 <= NF) ratio = $(i + 1)
	}
	n++; N[n] = name; V[n] = val; U[n] = unit; R[n] = ref; Q[n] = ratio
	if (length(name) > wn) wn = length(name)
	if (length(val) > wv) wv = length(val)
	if (length(unit) > wu) wu = length(unit)
	if (length(ref) > wr) wr = length(ref)
}
END {
	if (wn < 9) wn = 9; if (wv < 5) wv = 5; if (wu < 4) wu = 4; if (wr < 9) wr = 9
	fmt = "%-" wn "s  %" wv "s  %-" wu "s  %-" wr "s  %s\n"
	printf fmt, "benchmark", "value", "unit", "reference", "ratio"
	line = ""; for (i = 0; i < wn + wv + wu + wr + 13; i++) line = line "-"; print line
	for (i = 1; i <= n; i++) printf fmt, N[i], V[i], U[i], R[i], Q[i]
}' "$rows"
