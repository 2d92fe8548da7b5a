#!/usr/bin/env bash
# The documentation tells the truth about the interface, mechanically
# where it can: the parser's option table (core/config_parse.c), `vmm
# --help` and docs/cli.md name the same options; every document the
# project's docs refer to is in the repository (they stand alone); and a
# few claims the docs make about refused values are run.  Needs no KVM.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMM=${VMM:-$ROOT/build/vmm}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-docs.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

# Options the parser accepts: its table's names.
grep -oE '^\s*\{ "[A-Za-z-]+", OPT_' "$ROOT/core/config_parse.c" |
	grep -oE '"[A-Za-z-]+"' | tr -d '"' | sed 's/^/-/' | sort -u >"$TMP/parser"
[ -s "$TMP/parser" ] || { echo "FAIL: no options found in core/config_parse.c"; exit 1; }
# Options --help names: a dash word at the start of an item.
"$VMM" --help | grep -oE '(^|[ |])-[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ |]//' |
	sort -u >"$TMP/help"
# Options docs/cli.md names: `-opt`, `--opt` or a "### -opt" heading.
{ grep -oE '`--?[A-Za-z][A-Za-z0-9-]*' "$ROOT/docs/cli.md" | sed 's/^`-*/-/'
  grep -oE '^#+ -[A-Za-z][A-Za-z0-9-]*' "$ROOT/docs/cli.md" | sed 's/^#* //'
} | sort -u >"$TMP/docs"

# compare A B WHAT: every option in A is in B.
compare() {
	local missing
	missing=$(comm -23 "$TMP/$1" "$TMP/$2" | tr '\n' ' ')
	[ -z "$missing" ] && pass "$3" || fail "$3: missing $missing"
}
compare parser help "every option the parser accepts is in --help"
compare help parser "every option in --help is accepted by the parser"
compare parser docs "every option the parser accepts is in docs/cli.md"
compare docs parser "every option docs/cli.md names is accepted by the parser"

# The docs stand alone: every *.md they name exists in the repository.
cd "$ROOT" || exit 1
for doc in README.md docs/*.md; do
	for ref in $(grep -oE '[A-Za-z0-9_./-]+\.md\b' "$doc" | sort -u); do
		base=${ref##*/}
		if ! find . -path ./build -prune -o -name "$base" -print | grep -q .; then
			fail "$doc refers to $ref, which is not in the repository"
		fi
	done
done
pass "every .md file the docs name exists"
grep -rn "DESIGN\.md" README.md docs/ core/ devices/ machine/ kvm/ sim/ programs/ 2>/dev/null &&
	fail "DESIGN.md (not in the repository) is cited" || pass "no citation of DESIGN.md"

# Claims of docs/cli.md about refused values, run (exit 2, one line).
refused() {
	"$VMM" "$@" >/dev/null 2>"$TMP/err"; local rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ]; then
		pass "refused as documented: $*"
	else
		fail "docs/cli.md says '$*' is refused; exit $rc: $(cat "$TMP/err")"
	fi
}
refused -machine q35,kernel_irqchip=off -kernel k
refused -machine q35,kernel_irqchip=split -kernel k
refused -machine q35,mem-merge=on -kernel k
refused -machine q35,dump-guest-core=off -kernel k
refused -machine microvm,accel=sim -kernel k
refused -m 8000G -m 256M -kernel k
refused -rtc clock=vm -kernel k
refused -rtc driftfix=fast -kernel k
refused -realtime mlock=on -kernel k
refused -netdev tap,id=n,fds=3:4,vhostfds=4 -kernel k
refused -netdev tap,id=n,ifname=t,queues=8 -kernel k
refused -machine q35 -netdev tap,id=n,ifname=t -device virtio-net-pci,netdev=n,vectors=65 -kernel k
refused -serial stdio -daemonize -kernel k
refused -mem-path "$TMP" -kernel k

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
