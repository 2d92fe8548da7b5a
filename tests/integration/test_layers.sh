#!/usr/bin/env bash
# The layers read one way (docs/layers.md): ci/check-layers.sh finds no
# include that points up or across, and it does find each kind of wrong
# one when a copy of the tree is given one.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-layers.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

out=$(bash "$ROOT/ci/check-layers.sh" "$ROOT" 2>&1); rc=$?
[ $rc -eq 0 ] && pass "the tree's includes point down" || fail "wrong-way includes:
$out"

# Each case: a file, an include to add to it, and the words the check must
# print.  A copy of the layer directories gets the one bad line.
cases=(
	"core/log.c|machine/board.h|core (layer 1) may not use machine"
	"devices/serial.c|sim/sim.h|devices (layer 2) may not use sim"
	"devices/virtio/blk.c|kvm/kvm.h|devices (layer 2) may not use kvm"
	"machine/board.c|kvm/kvm.h|machine (layer 3) may not use kvm"
	"kvm/kvm_vm.c|sim/sim.h|kvm (layer 4) may not use sim"
	"sim/sim.c|kvm/kvm.h|sim (layer 4) may not use kvm"
	"sim/sim.c|programs/none.h|sim (layer 4) may not use programs"
	"devices/rtc.c|../kvm/kvm.h|not with .."
)
for c in "${cases[@]}"; do
	IFS='|' read -r file inc want <<<"$c"
	rm -rf "$TMP/tree"; mkdir -p "$TMP/tree"
	cp -r "$ROOT"/{core,devices,machine,kvm,sim,programs} "$TMP/tree/"
	printf '#include "%s"\n' "$inc" >>"$TMP/tree/$file"
	out=$(bash "$ROOT/ci/check-layers.sh" "$TMP/tree" 2>&1); rc=$?
	if [ $rc -ne 0 ] && grep -qF "$want" <<<"$out" && grep -qF "$file" <<<"$out"; then
		pass "$file including $inc is refused"
	else
		fail "$file including $inc: rc=$rc, output: $out"
	fi
done
# Downward and same-group includes stay allowed.
rm -rf "$TMP/tree"; mkdir -p "$TMP/tree"
cp -r "$ROOT"/{core,devices,machine,kvm,sim,programs} "$TMP/tree/"
printf '#include "devices/pci/pci.h"\n#include "core/gm.h"\n' >>"$TMP/tree/devices/virtio/blk.c"
printf '#include "machine/board.h"\n#include "devices/serial.h"\n' >>"$TMP/tree/sim/sim.c"
bash "$ROOT/ci/check-layers.sh" "$TMP/tree" >/dev/null 2>&1 &&
	pass "downward and same-group includes are allowed" ||
	fail "a downward include was refused"

[ $fails -eq 0 ] || exit 1
