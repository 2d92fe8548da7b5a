#!/usr/bin/env bash
# Line coverage of a COV=1 build (make coverage does the build):
#   ci/coverage.sh BUILD
# Runs the whole test suite (failures are reported but do not stop the
# report), captures with lcov, writes HTML to build/coverage/ and prints
# line coverage per directory and per file under devices/.
set -u
build=${1:-build/cov}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) bdir="$build" ;; *) bdir="$root/$build" ;; esac
out="$root/build/coverage"
info="$bdir/coverage.info"

if ! command -v lcov >/dev/null || ! command -v genhtml >/dev/null; then
	echo "coverage: lcov/genhtml missing (apt-get install lcov)" >&2
	exit 1
fi
if ! find "$bdir/obj" -name '*.gcno' -print -quit 2>/dev/null | grep -q .; then
	echo "coverage: no .gcno files under $bdir/obj: build with COV=1 first" >&2
	exit 1
fi

# Stale counters from an earlier run would inflate the figures.
find "$bdir/obj" -name '*.gcda' -delete
(cd "$root" && bash ci/run-tests.sh "$build")
test_rc=$?
[ $test_rc -ne 0 ] && echo "coverage: some tests failed (exit $test_rc); reporting anyway"

# gcc 12's gcov trips lcov 1.16 over a few constructs (and its geninfo
# prints "Subroutine ... redefined" noise); neither affects line counts.
# lcov 1.16 knows only these --ignore-errors keywords.
ign="--ignore-errors gcov,source,graph"
lcov_q() {
	lcov --quiet --rc lcov_branch_coverage=0 "$@" 2>&1 |
		grep -v -e 'WARNING' -e 'redefined at' -e 'ignored' >&2 || true
}
# A zero baseline from every .gcno, so files no test links at all show up
# as 0% instead of vanishing from the report.
lcov_q $ign --capture --initial --directory "$bdir/obj" --base-directory "$root" --output-file "$info.base"
lcov_q $ign --capture --directory "$bdir/obj" --base-directory "$root" --output-file "$info.run"
if [ -s "$info.base" ] && [ -s "$info.run" ]; then
	lcov_q $ign --add-tracefile "$info.base" --add-tracefile "$info.run" --output-file "$info.raw"
else
	cp "$info.run" "$info.raw" 2>/dev/null
fi
if [ ! -s "$info.raw" ]; then
	echo "coverage: lcov captured nothing" >&2
	exit 1
fi
lcov_q $ign --extract "$info.raw" "$root/core/*" "$root/devices/*" "$root/machine/*" "$root/kvm/*" "$root/sim/*" "$root/programs/*" --output-file "$info"
rm -rf "$out"
mkdir -p "$out"
genhtml --quiet --ignore-errors source --prefix "$root" --title vmm --output-directory "$out" "$info" >/dev/null 2>&1 ||
	genhtml --quiet --prefix "$root" --output-directory "$out" "$info" >/dev/null 2>&1 ||
	echo "coverage: genhtml failed" >&2
echo "HTML report: $out/index.html"
echo

awk -v root="$root/" '
/^SF:/ { f = substr($0, 4); sub("^" root, "", f); lf = lh = 0 }
/^LF:/ { lf = substr($0, 4) + 0 }
/^LH:/ { lh = substr($0, 4) + 0 }
/^end_of_record/ {
	F[f] += lf; H[f] += lh
}
END {
	ndirs = split("core devices devices/virtio devices/pci devices/acpi machine kvm sim programs", dirs, " ")
	printf "%-24s %8s %8s %8s\n", "directory", "lines", "hit", "cover"
	for (i = 1; i <= ndirs; i++) {
		d = dirs[i]; lf = lh = 0
		for (f in F) if (index(f, d "/") == 1) { lf += F[f]; lh += H[f] }
		label = (d == "devices") ? "devices (all)" : d
		if (lf) printf "%-24s %8d %8d %7.1f%%\n", label, lf, lh, 100 * lh / lf
		else printf "%-24s %8s %8s %8s\n", label, "-", "-", "-"
		tl += (d ~ /\//) ? 0 : lf; th += (d ~ /\//) ? 0 : lh
	}
	if (tl) printf "%-24s %8d %8d %7.1f%%\n", "total", tl, th, 100 * th / tl
	print ""
	printf "%-40s %8s %8s %8s\n", "devices/ file", "lines", "hit", "cover"
	n = 0
	for (f in F) if (index(f, "devices/") == 1) L[++n] = f
	# insertion sort: awk has no portable sort
	for (i = 2; i <= n; i++) { v = L[i]; j = i - 1; while (j > 0 && L[j] > v) { L[j + 1] = L[j]; j-- } L[j + 1] = v }
	for (i = 1; i <= n; i++) {
		f = L[i]
		printf "%-40s %8d %8d %7.1f%%\n", f, F[f], H[f], F[f] ? 100 * H[f] / F[f] : 0
	}
}' "$info"
