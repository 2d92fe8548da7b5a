#!/usr/bin/env bash
# The test runner tells the truth (ci/run-tests.sh): run on a throw-away
# tree with fake unit binaries and integration scripts, it counts each
# cmocka test that passed, failed or skipped, each SKIP line of a script
# that partly skipped, and a whole-script skip; it prints every skip with
# its reason above the closing "N passed, N failed, N skipped" line, which
# CI reads and which must keep that exact form.  The cmocka binaries are
# real ones, built here with tests/unit/skip.h, so cmocka's own output
# format is what is parsed.  Also: no unit test skips without a reason.
# This script's own output never starts a line with "SKIP:" (the runner
# running it would count those); the inner runs' output is indented.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-runner.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
CC=${CC:-cc}

# A fake project: the runner copied in, an empty build directory.
mk_tree() {
	rm -rf "$TMP/root"
	mkdir -p "$TMP/root/ci" "$TMP/root/b/tests" "$TMP/root/tests/integration"
	cp "$ROOT/ci/run-tests.sh" "$TMP/root/ci/"
}
unit_c() { # unit_c NAME BODY: a cmocka binary named NAME from BODY
	cat >"$TMP/$1.c" <<EOF
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "tests/unit/skip.h"
$2
EOF
	"$CC" -I"$ROOT" -o "$TMP/root/b/tests/$1" "$TMP/$1.c" -lcmocka ||
		{ echo "FAIL: cannot build $1 with $CC and cmocka"; exit 1; }
}
script() { # script NAME BODY: an integration script
	printf '#!/usr/bin/env bash\n%s\n' "$2" >"$TMP/root/tests/integration/$1.sh"
}
run_runner() { # output in $TMP/out, status in rc
	bash "$TMP/root/ci/run-tests.sh" b "$@" >"$TMP/out" 2>&1
	rc=$?
}
show() { sed 's/^/  | /' "$TMP/out"; }
has() { grep -qxF -- "$1" "$TMP/out"; }
last_is() {
	local got; got=$(tail -n 1 "$TMP/out")
	if [ "$got" = "$1" ]; then pass "$2: \"$1\""; else
		fail "$2: closing line \"$got\", want \"$1\""; show; fi
}

CMOCKA_TESTS='
static void t_ok1(void **s) { (void)s; assert_int_equal(1, 1); }
static void t_ok2(void **s) { (void)s; assert_true(1); }
static void t_why(void **s) { (void)s; SKIP_BECAUSE("no %s here", "widget"); }
static void t_bare(void **s) { (void)s; skip(); }'

# --- 1. Unit binaries: passes, reasoned and bare skips, no failure.
mk_tree
unit_c test_alpha "$CMOCKA_TESTS
int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(t_ok1), cmocka_unit_test(t_why),
		cmocka_unit_test(t_ok2), cmocka_unit_test(t_bare) };
	return cmocka_run_group_tests(t, NULL, NULL);
}"
run_runner unit
[ $rc -eq 0 ] && pass "skips alone do not fail the run" || { fail "rc $rc with no failure"; show; }
last_is "2 passed, 0 failed, 2 skipped" "cmocka skips are counted, not passed"
has "SKIP: test_alpha:t_why: no widget here" && pass "a SKIP_BECAUSE reason is shown with its test" ||
	{ fail "the reasoned skip is not listed"; show; }
has "SKIP: test_alpha:t_bare: (no reason printed)" && pass "a bare skip() is shown as unexplained" ||
	{ fail "the bare skip is not listed"; show; }
[ "$(grep -c '^SKIP: ' "$TMP/out")" -eq 2 ] && pass "cmocka's closing list of skipped names is not counted twice" ||
	{ fail "skip lines counted more than once"; show; }
grep -qxF "ok:   test_alpha (2 tests, 2 skipped)" "$TMP/out" && pass "the per-binary line says what skipped" ||
	{ fail "per-binary line"; show; }

# --- 2. Integration scripts: whole, partial and unexplained skips.
mk_tree
script test_clean 'echo "all fine"; exit 0'
script test_partial 'echo "SKIP: part one needs a frobnicator"; echo "ok: part two"
echo "SKIP: part three needs vmx"; exit 0'
script test_whole 'echo "SKIP: no /dev/kvm"; exit 77'
script test_mute 'exit 77'
run_runner integration
[ $rc -eq 0 ] && pass "skipped scripts do not fail the run" || { fail "rc $rc"; show; }
last_is "2 passed, 0 failed, 4 skipped" "a partial script counts its pass and each SKIP line"
for want in "SKIP: test_partial: part one needs a frobnicator" \
	    "SKIP: test_partial: part three needs vmx" \
	    "SKIP: test_whole: no /dev/kvm" \
	    "SKIP: test_mute: (no reason printed)"; do
	has "$want" && pass "listed: ${want#SKIP: }" || { fail "not listed: $want"; show; }
done
# Every skip line sits above the closing line, which comes last.
n=$(wc -l <"$TMP/out"); s=$(grep -n '^SKIP: ' "$TMP/out" | tail -n 1 | cut -d: -f1)
[ "${s:-0}" -lt "$n" ] && pass "the skips are listed before the summary" || { fail "order"; show; }

# --- 3. Failures: a failing cmocka test, a crashing binary, a failing
# script (whose SKIP lines do not count: it failed).
mk_tree
unit_c test_beta "$CMOCKA_TESTS
static void t_bad(void **s) { (void)s; assert_int_equal(1, 2); }
int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(t_ok1), cmocka_unit_test(t_bad),
		cmocka_unit_test(t_why) };
	return cmocka_run_group_tests(t, NULL, NULL);
}"
printf '#!/bin/sh\nkill -SEGV $$\n' >"$TMP/root/b/tests/test_crash"
chmod +x "$TMP/root/b/tests/test_crash"
script test_broken 'echo "SKIP: one part"; echo "FAIL: the other"; exit 1'
script test_fine 'exit 0'
run_runner
[ $rc -ne 0 ] && pass "failures fail the run" || { fail "rc 0 with failures"; show; }
last_is "2 passed, 3 failed, 1 skipped" "failed tests, a crash and a failed script"
has "failed: test_beta test_crash test_broken" && pass "the failed names are listed" || { fail "failed list"; show; }
has "SKIP: test_beta:t_why: no widget here" && pass "a skip next to a failure still shows" || { fail "skip lost"; show; }

# --- 4. The real unit tests skip only through SKIP_BECAUSE, so every
# skip the runner prints has its reason.
bare=$(grep -nE '(^|[^_[:alnum:]])skip\(\)' "$ROOT"/tests/unit/*.c)
[ -z "$bare" ] && pass "no unit test calls skip() without a reason" ||
	fail "use SKIP_BECAUSE(reason) instead of skip():
$bare"

[ $fails -eq 0 ] || exit 1
