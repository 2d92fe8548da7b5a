#!/usr/bin/env bash
# Run every libFuzzer harness for N seconds on its corpus (fuzz/corpus/NAME,
# seeds written by the unit tests' scenarios), ASan+UBSan on.
#   ci/fuzz.sh FUZZ_BUILD SECONDS
set -u
fb=$1 secs=$2
root=$(cd "$(dirname "$0")/.." && pwd)
rc=0
for f in "$root/$fb"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	seeds="$root/fuzz/corpus/${name#fuzz_}"
	work="$root/$fb/corpus/${name#fuzz_}"
	mkdir -p "$work"
	dirs=("$work"); [ -d "$seeds" ] && dirs+=("$seeds")
	echo "fuzz: $name for ${secs}s"
	if ! "$f" -max_total_time="$secs" -print_final_stats=0 -rss_limit_mb=2048 \
		-artifact_prefix="$root/$fb/$name-" "${dirs[@]}" >"$root/$fb/$name.log" 2>&1; then
		echo "FAIL: $name"; tail -n 60 "$root/$fb/$name.log"; rc=1
	else
		grep -E '^#[0-9]+.*DONE|Done [0-9]+ runs' "$root/$fb/$name.log" | tail -n 1
	fi
done
exit $rc
